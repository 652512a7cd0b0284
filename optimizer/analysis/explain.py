"""Why each project is in or out, in money: removal cost and break-even NPV (SPEC §2).

* ``removal_cost[p]`` of a funded project = objective − best objective with p forced out.
* ``break_even_npv[p]`` of a project left out although it could be funded =
  its NPV + (objective − best objective with p forced in): the NPV at which it would enter.

Both are exact re-solves of the one built model (Select[p] fixed, then freed). At most
``explain_limit`` exact re-solves of each kind are made, taken nearest the margin first
(smallest estimated removal cost; smallest estimated loss when forced in); the others are
estimated from the LP relaxation and marked ``estimated``: up to ``LP_RESOLVE_LIMIT`` of them
by re-solving the relaxation (the same two re-solves with integrality relaxed), beyond that from
its reduced costs (one LP for all; a lower bound on the relaxation's loss).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data import Pipeline
from ..solve import Outcome, Solver


@dataclass(frozen=True)
class Figure:
    value: float | None  # None: forcing the project in (or out) leaves no feasible portfolio
    exact: bool


class Incumbents:
    """First guesses for the forced re-solves, made from the run's own portfolio.

    Forced out: the portfolio without p. Forced in: the portfolio with p at its first start year
    and full stake, less the funded projects of lowest NPV per unit committed (locks kept) until
    as much is freed as p commits. HiGHS takes a guess only when it satisfies every rule (it may
    complete the continuous part); a good one lets the re-solve stop at the first proof.
    """

    def __init__(self, m, solver: Solver, data: Pipeline, best: Outcome, values):
        from models.selection import start

        self.values = values
        self.data = data
        self.best = best
        self.cols: dict[str, list[int]] = {}
        self.first: dict[str, list[int]] = {}
        keys = [(p, t) for p, t in m.STARTS]
        start_cols = solver.columns([start(m, p, t) for p, t in keys])
        stake_cols = dict(zip(m.VARYING, solver.columns([m.Stake[k] for k in m.VARYING])))
        select = dict(zip(m.PROJECTS, solver.columns([m.Select[p] for p in m.PROJECTS])))
        for (p, t), j in zip(keys, start_cols):
            cols = self.cols.setdefault(p, [select[p]])
            if j not in cols:
                cols.append(j)
            if (p, t) in stake_cols:
                cols.append(stake_cols[p, t])
            if p not in self.first:
                self.first[p] = [(select[p], 1.0), (j, 1.0)] + (
                    [(stake_cols[p, t], data.by_id[p].max_stake)] if (p, t) in stake_cols else [])
        ratio = {p: data.by_id[p].npv / max(data.by_id[p].capex * c.stake, 1e-12) for p, c in best.choices.items()}
        self.droppable = sorted((p for p in best.choices if data.by_id[p].decision != "must fund"),
                                key=lambda p: ratio[p])

    def without(self, pid: str):
        v = self.values.copy()
        v[self.cols[pid]] = 0.0
        return v

    def with_(self, pid: str):
        v = self.values.copy()
        for j, x in self.first[pid]:
            v[j] = x
        need = self.data.by_id[pid].capex * self.data.by_id[pid].max_stake
        for q in self.droppable:
            if need <= 1e-9:
                break
            v[self.cols[q]] = 0.0
            need -= self.data.by_id[q].capex * self.best.choices[q].stake
        return v


def npv_weight(data: Pipeline) -> float | None:
    """Objective units per unit of NPV: 1 for npv, its weight for weighted; None when NPV does not count."""
    if data.fund.objective == "npv":
        return 1.0
    if data.fund.objective == "weighted":
        from ..workbook.validate import parse_weights

        w = parse_weights(data.fund.objective_weights or "npv=1")[0].get("npv", 0.0)
        return w if w > 0 else None
    return None


def can_enter(data: Pipeline, pid: str) -> bool:
    p = data.by_id[pid]
    return p.decision != "exclude" and data.approved(p) and not data.screened_by_esg(p)


@dataclass
class _Plan:
    """Which projects get an exact re-solve, in what order, and the estimates of the others."""

    order_out: list[str]
    order_in: list[str]
    estimates_out: dict[str, float | None]
    estimates_in: dict[str, float | None]
    keys: list[tuple[str, int]]  # (project, 0: forced out / 1: forced in), one per exact re-solve
    jobs: list[tuple]            # (Select[p], level, first incumbent), as Solver.solve_each_fixed takes them


def _plan(m, solver: Solver, data: Pipeline, best: Outcome, values=None, relaxed=None) -> _Plan:
    funded = [p for p in best.choices if data.by_id[p].decision != "must fund"]
    candidates = [p for p in data.ids if p not in best.choices and can_enter(data, p)]
    limit = data.fund.explain_limit
    order_out, order_in = list(funded), list(candidates)
    estimates_out: dict[str, float | None] = {}
    estimates_in: dict[str, float | None] = {}
    if len(funded) > limit or len(candidates) > limit:
        estimates_out, estimates_in = _lp_estimates(m, solver, data, funded, candidates, solver.settings, relaxed)
        order_out.sort(key=lambda p: (estimates_out.get(p) is None, estimates_out.get(p) or 0.0))
        order_in.sort(key=lambda p: (estimates_in.get(p) is None, estimates_in.get(p) or 0.0))
    out_exact = order_out[:limit]
    in_exact = order_in[:limit] if npv_weight(data) is not None else []
    guess = Incumbents(m, solver, data, best, values) if values is not None and (out_exact or in_exact) else None
    jobs = [(m.Select[p], 0, guess and guess.without(p)) for p in out_exact]
    jobs += [(m.Select[p], 1, guess and guess.with_(p)) for p in in_exact]
    keys = [(p, 0) for p in out_exact] + [(p, 1) for p in in_exact]
    return _Plan(order_out, order_in, estimates_out, estimates_in, keys, jobs)


def exact_jobs(m, solver: Solver, data: Pipeline, best: Outcome, values=None, relaxed=None) -> list[tuple]:
    """The exact re-solves :func:`explain` makes, in its order: ``((project, level), job)`` with
    level 0 for a removal cost (forced out), 1 for a break-even NPV (forced in), and ``job`` as
    :meth:`Solver.solve_each_fixed` takes it (benchmarks/bench_analyses.py times them)."""
    plan = _plan(m, solver, data, best, values, relaxed)
    return list(zip(plan.keys, plan.jobs))


def explain(m, solver: Solver, data: Pipeline, best: Outcome, objective_of,
            progress=None, values=None, relaxed=None) -> tuple[dict[str, Figure], dict[str, Figure]]:
    """(removal cost per funded project, break-even NPV per project that could enter).

    ``values``: the run's solution per HiGHS column (:meth:`Solver.values` right after the run's
    solve), from which each re-solve gets a first incumbent; ``relaxed``: the run's LP relaxation
    (:attr:`Solver.relaxed` right after it), from which the estimates come.
    """
    objective = objective_of(best)
    locked = {p for p in best.choices if data.by_id[p].decision == "must fund"}
    removal: dict[str, Figure] = {p: Figure(None, True) for p in best.choices if p in locked}
    entry: dict[str, Figure] = {}
    plan = _plan(m, solver, data, best, values, relaxed)
    per_npv = npv_weight(data)
    forced: dict[tuple[str, int], float | None] = {}
    for i, outcome in solver.solve_each_fixed(m, plan.jobs):
        forced[plan.keys[i]] = objective_of(outcome) if outcome.solved else None
        if progress:
            progress(i + 1, len(plan.jobs))
    for p in plan.order_out:
        if (p, 0) in forced:
            value = forced[p, 0]
            # a re-solve can beat the run's portfolio by up to its mip_gap: never a negative cost
            removal[p] = Figure(None if value is None else max(0.0, objective - value), True)
        else:
            removal[p] = Figure(plan.estimates_out.get(p), False)
    for p in plan.order_in:
        npv = data.by_id[p].npv
        if per_npv is None:  # the objective does not count NPV: no NPV makes the project enter
            entry[p] = Figure(None, True)
        elif (p, 1) in forced:
            value = forced[p, 1]
            entry[p] = Figure(None if value is None else npv + max(0.0, objective - value) / per_npv, True)
        else:
            loss = plan.estimates_in.get(p)
            entry[p] = Figure(None if loss is None else npv + loss / per_npv, False)
    return removal, entry


#: up to this many estimates, each is an LP re-solve; beyond, they come from the LP's reduced costs
LP_RESOLVE_LIMIT = 500


def _relaxation(solver: Solver, settings, model=None, threads: int | None = None):
    """The built model's LP relaxation (``model``: as ``getModel()`` gave it) as a separate highspy
    instance, solved; None if not optimal."""
    import highspy
    import numpy as np

    from ..solve import new_highs

    lp = new_highs()
    if threads:
        lp.setOptionValue("threads", threads)
    lp.passModel(solver.highs().getModel() if model is None else model)
    n = lp.getNumCol()
    lp.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
    lp.setOptionValue("time_limit", float(settings.time_limit_s))
    lp.run()
    return lp if lp.getModelStatus() == highspy.HighsModelStatus.kOptimal else None


def _lp_estimates(m, solver: Solver, data: Pipeline, funded, candidates, settings, relaxed=None):
    """LP-relaxation estimates: loss in objective when each project is forced out / in.

    Up to ``LP_RESOLVE_LIMIT`` estimates, each is the LP re-solved (warm, dual simplex, on copies of
    the relaxation side by side: optimizer/copies.py) with Select[p] fixed: the exact loss of
    the relaxation, None when the relaxation has no solution with p forced in. Beyond that, each
    is the reduced-cost bound of the one LP (``relaxed``: the run's own relaxation, as
    :attr:`Solver.relaxed` kept it; solved here when not given): forcing columns S of p from x* to
    v loses at least Σ_(j∈S) d_j (x*_j − v_j) (the LP's duals stay feasible), minimised over p's
    start years and stake ends when forced in — a lower bound on the relaxation's loss.
    """
    import numpy as np

    if len(funded) + len(candidates) > LP_RESOLVE_LIMIT:
        if relaxed is None:
            lp = _relaxation(solver, settings)
            if lp is None:
                return {}, {}
            sol = lp.getSolution()
            relaxed = (np.asarray(sol.col_value), np.asarray(sol.col_dual))
        return _reduced_cost_estimates(m, data, relaxed, 1.0 if solver.maximizing else -1.0, funded, candidates)
    from ..copies import side_by_side
    from ..solve import release_thread

    select = dict(zip(m.PROJECTS, solver.columns([m.Select[p] for p in m.PROJECTS])))
    asked = [(p, 0) for p in funded] + [(p, 1) for p in candidates]
    bounds = {k: solver.fixed_bounds(select[k[0]], k[1]) for k in asked}
    # in as many parts as there are copies (a thread here, forked processes), each part every
    # n-th estimate in order on its own relaxation: the same parts, so the same warm starts and
    # the same figures, whichever copy takes a part
    copies = solver.copies(None, len(asked))
    parts = [asked[k::copies] for k in range(copies)]
    model = solver.highs().getModel()

    def solve_all(claim, put) -> None:
        while (k := claim()) is not None:
            try:
                put(k, _losses(solver, settings, model, parts[k], select, bounds))
            except Exception as exc:  # noqa: BLE001 — raised in the caller's thread
                put(k, exc)

    losses: dict = {}
    for _, got in side_by_side(len(parts), copies, solve_all, release_thread):
        if isinstance(got, Exception):
            raise got
        if got is None:  # the relaxation has no optimum: no estimates
            return {}, {}
        losses.update(got)
    return {p: losses[p, 0] for p in funded}, {p: losses[p, 1] for p in candidates}


def _losses(solver: Solver, settings, model, asked, select, bounds) -> dict | None:
    """The relaxation's loss for each (project, level) of ``asked``, re-solved one after another
    from the last basis (dual simplex) on a copy of its own (one HiGHS thread); None when the
    relaxation itself has no optimum."""
    import highspy

    lp = _relaxation(solver, settings, model, threads=1)
    if lp is None:
        return None
    base = lp.getInfo().objective_function_value
    held = lp.getLp()
    lower, upper = held.col_lower_, held.col_upper_
    optimal = highspy.HighsModelStatus.kOptimal
    out = {}
    for key in asked:
        j = select[key[0]]
        lp.changeColBounds(j, *bounds[key])
        lp.run()
        ok = lp.getModelStatus() == optimal
        value = lp.getInfo().objective_function_value
        lp.changeColBounds(j, lower[j], upper[j])
        out[key] = max(0.0, base - value) if ok else None
    return out


def _reduced_cost_estimates(m, data: Pipeline, relaxed, sign: float, funded, candidates):
    """The reduced-cost bounds of :func:`_lp_estimates`, for every project at once (numpy over the
    model's starts: m.forms)."""
    import numpy as np

    x, d = (np.asarray(a, dtype=float) for a in relaxed)
    f = m.forms
    n = f.n
    sel = f.select_col[f.proj]
    multi = f.start_col != sel
    varying = f.varying
    st = f.start_col
    sk = np.where(varying, f.stake_col, 0)
    dx_sel = (d * x)[f.select_col]
    dx_start = np.where(multi, (d * x)[st], 0.0)
    dx_stake = np.where(varying, (d * x)[sk], 0.0)
    per_start = np.bincount(f.proj, weights=dx_start, minlength=n)
    per_stake = np.bincount(f.proj, weights=dx_stake, minlength=n)
    # forced out: every column of p from x* to 0
    out = np.maximum(0.0, sign * (dx_sel + per_start + per_stake))
    # forced in from start k (and, with a varying stake, at either end of its range)
    base = d[f.select_col] * (x[f.select_col] - 1.0)
    common = base[f.proj] + per_start[f.proj] - dx_start + np.where(multi, d[st] * (x[st] - 1.0), 0.0) \
        + per_stake[f.proj] - dx_stake
    ends = [np.where(varying, d[sk] * (x[sk] - e), 0.0) for e in (f.stake_floor, f.max_stake)]
    per_k = np.minimum(sign * (common + ends[0]), sign * (common + ends[1]))
    enter = np.full(n, np.inf)
    np.minimum.at(enter, f.proj, per_k)
    enter = np.maximum(0.0, enter)
    pos = f.position
    return {p: float(out[pos[p]]) for p in funded}, {p: float(enter[pos[p]]) for p in candidates}
