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


def explain(m, solver: Solver, data: Pipeline, best: Outcome, objective_of,
            progress=None, values=None) -> tuple[dict[str, Figure], dict[str, Figure]]:
    """(removal cost per funded project, break-even NPV per project that could enter).

    ``values``: the run's solution per HiGHS column (:meth:`Solver.values` right after the run's
    solve), from which each re-solve gets a first incumbent.
    """
    objective = objective_of(best)
    guess = Incumbents(m, solver, data, best, values) if values is not None else None
    funded = [p for p in best.choices if data.by_id[p].decision != "must fund"]
    candidates = [p for p in data.ids if p not in best.choices and can_enter(data, p)]
    limit = data.fund.explain_limit
    removal: dict[str, Figure] = {p: Figure(None, True) for p in best.choices if p not in funded}
    entry: dict[str, Figure] = {}
    order_out, order_in = list(funded), list(candidates)
    estimates_out: dict[str, float | None] = {}
    estimates_in: dict[str, float | None] = {}
    if len(funded) > limit or len(candidates) > limit:
        estimates_out, estimates_in = _lp_estimates(m, solver, data, funded, candidates, solver.settings)
        order_out.sort(key=lambda p: (estimates_out.get(p) is None, estimates_out.get(p) or 0.0))
        order_in.sort(key=lambda p: (estimates_in.get(p) is None, estimates_in.get(p) or 0.0))
    per_npv = npv_weight(data)
    out_exact = order_out[:limit]
    in_exact = order_in[:limit] if per_npv is not None else []
    jobs = [(m.Select[p], 0, guess and guess.without(p)) for p in out_exact]
    jobs += [(m.Select[p], 1, guess and guess.with_(p)) for p in in_exact]
    forced: dict[tuple[str, int], float | None] = {}
    keys = [(p, 0) for p in out_exact] + [(p, 1) for p in in_exact]
    for i, outcome in solver.solve_each_fixed(m, jobs):
        forced[keys[i]] = objective_of(outcome) if outcome.solved else None
        if progress:
            progress(i + 1, len(jobs))
    for p in order_out:
        if (p, 0) in forced:
            value = forced[p, 0]
            # a re-solve can beat the run's portfolio by up to its mip_gap: never a negative cost
            removal[p] = Figure(None if value is None else max(0.0, objective - value), True)
        else:
            removal[p] = Figure(estimates_out.get(p), False)
    for p in order_in:
        npv = data.by_id[p].npv
        if per_npv is None:  # the objective does not count NPV: no NPV makes the project enter
            entry[p] = Figure(None, True)
        elif (p, 1) in forced:
            value = forced[p, 1]
            entry[p] = Figure(None if value is None else npv + max(0.0, objective - value) / per_npv, True)
        else:
            loss = estimates_in.get(p)
            entry[p] = Figure(None if loss is None else npv + loss / per_npv, False)
    return removal, entry


#: up to this many estimates, each is an LP re-solve; beyond, they come from the LP's reduced costs
LP_RESOLVE_LIMIT = 500


def _relaxation(solver: Solver, settings):
    """The built model's LP relaxation as a separate highspy instance, solved; None if not optimal."""
    import highspy
    import numpy as np

    from ..solve import new_highs

    lp = new_highs()
    lp.passModel(solver.highs().getModel())
    n = lp.getNumCol()
    lp.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
    lp.setOptionValue("time_limit", float(settings.time_limit_s))
    lp.run()
    return lp if lp.getModelStatus() == highspy.HighsModelStatus.kOptimal else None


def _lp_estimates(m, solver: Solver, data: Pipeline, funded, candidates, settings):
    """LP-relaxation estimates: loss in objective when each project is forced out / in.

    The relaxation is copied out of the solved HiGHS model once. Up to ``LP_RESOLVE_LIMIT``
    estimates, each is the LP re-solved (warm, dual simplex) with Select[p] fixed: the exact loss
    of the relaxation, None when the relaxation has no solution with p forced in. Beyond that,
    each is the reduced-cost bound of the one LP: forcing columns S of p from x* to v loses at
    least Σ_(j∈S) d_j (x*_j − v_j) (the LP's duals stay feasible), minimised over p's start years
    and stake ends when forced in — a lower bound on the relaxation's loss, from one solve.
    """
    import highspy

    lp = _relaxation(solver, settings)
    if lp is None:
        return {}, {}
    base = lp.getInfo().objective_function_value
    select = dict(zip(m.PROJECTS, solver.columns([m.Select[p] for p in m.PROJECTS])))
    if len(funded) + len(candidates) > LP_RESOLVE_LIMIT:
        return _reduced_cost_estimates(m, solver, data, lp, select, funded, candidates)
    lower, upper = lp.getLp().col_lower_, lp.getLp().col_upper_

    def loss(pid: str, level: int) -> float | None:
        j = select[pid]
        lp.changeColBounds(j, float(level), float(level))
        lp.run()
        ok = lp.getModelStatus() == highspy.HighsModelStatus.kOptimal
        value = lp.getInfo().objective_function_value
        lp.changeColBounds(j, lower[j], upper[j])
        return max(0.0, base - value) if ok else None

    out = {p: loss(p, 0) for p in funded}
    return out, {p: loss(p, 1) for p in candidates}


def _reduced_cost_estimates(m, solver: Solver, data: Pipeline, lp, select: dict, funded, candidates):
    from models.selection import stake_floors

    sol = lp.getSolution()
    x, d = sol.col_value, sol.col_dual
    sign = 1.0 if lp.getLp().sense_ == lp.getLp().sense_.kMaximize else -1.0
    floors = stake_floors(data)
    starts: dict[str, list] = {}
    for p, t in m.STARTS:
        starts.setdefault(p, []).append(t)
    from models.selection import start

    start_col = dict(zip(m.STARTS, solver.columns([start(m, *k) for k in m.STARTS])))
    stake_col = dict(zip(m.VARYING, solver.columns([m.Stake[k] for k in m.VARYING])))

    def loss(moves) -> float:  # the bound for moving each column j from x*_j to v
        return sign * sum(d[j] * (x[j] - v) for j, v in moves)

    def out(pid: str) -> float:
        moves = list({select[pid]: 0.0, **{start_col[pid, t]: 0.0 for t in starts[pid]}}.items())
        moves += [(stake_col[pid, t], 0.0) for t in starts[pid] if (pid, t) in stake_col]
        return max(0.0, loss(moves))

    def enter(pid: str) -> float:
        best = None
        for t in starts[pid]:
            moves = list({select[pid]: 1.0, **{start_col[pid, u]: 1.0 if u == t else 0.0 for u in starts[pid]}}.items())
            moves += [(stake_col[pid, u], 0.0) for u in starts[pid] if u != t and (pid, u) in stake_col]
            ends = [floors[pid], data.by_id[pid].max_stake] if (pid, t) in stake_col else [None]
            for end in ends:
                value = loss(moves + ([] if end is None else [(stake_col[pid, t], end)]))
                best = value if best is None else min(best, value)
        return max(0.0, best)

    return {p: out(p) for p in funded}, {p: enter(p) for p in candidates}
