"""Why each project is in or out, in money: removal cost and break-even NPV (SPEC §2).

* ``removal_cost[p]`` of a funded project = objective − best objective with p forced out.
* ``break_even_npv[p]`` of a project left out although it could be funded =
  its NPV + (objective − best objective with p forced in): the NPV at which it would enter.

Both are exact re-solves of the one built model (Select[p] fixed, then freed). At most
``explain_limit`` exact re-solves of each kind are made, taken nearest the margin first
(smallest estimated removal cost; smallest estimated loss when forced in); the others are
estimated from the LP relaxation (the same two re-solves with integrality relaxed) and
marked ``estimated``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data import Pipeline
from ..solve import Outcome, Solver


@dataclass(frozen=True)
class Figure:
    value: float | None  # None: forcing the project in (or out) leaves no feasible portfolio
    exact: bool


def _forced(m, solver: Solver, pid: str, level: int, report_value) -> float | None:
    outcome = solver.solve_with_fixed(m, m.Select[pid], level)
    return report_value(outcome) if outcome.solved else None


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
            progress=None) -> tuple[dict[str, Figure], dict[str, Figure]]:
    """(removal cost per funded project, break-even NPV per project that could enter)."""
    objective = objective_of(best)
    funded = [p for p in best.choices if data.by_id[p].decision != "must fund"]
    candidates = [p for p in data.ids if p not in best.choices and can_enter(data, p)]
    limit = data.fund.explain_limit
    removal: dict[str, Figure] = {p: Figure(None, True) for p in best.choices if p not in funded}
    entry: dict[str, Figure] = {}
    order_out, order_in = list(funded), list(candidates)
    estimates_out: dict[str, float | None] = {}
    estimates_in: dict[str, float | None] = {}
    if len(funded) > limit or len(candidates) > limit:
        estimates_out, estimates_in = _lp_estimates(m, data, funded, candidates, solver.settings)
        order_out.sort(key=lambda p: (estimates_out.get(p) is None, estimates_out.get(p) or 0.0))
        order_in.sort(key=lambda p: (estimates_in.get(p) is None, estimates_in.get(p) or 0.0))
    total = min(limit, len(order_out)) + min(limit, len(order_in))
    done = 0
    for i, p in enumerate(order_out):
        if i < limit:
            value = _forced(m, solver, p, 0, objective_of)
            # a re-solve can beat the run's portfolio by up to its mip_gap: never a negative cost
            removal[p] = Figure(None if value is None else max(0.0, objective - value), True)
            done += 1
            if progress:
                progress(done, total)
        else:
            removal[p] = Figure(estimates_out.get(p), False)
    per_npv = npv_weight(data)
    for i, p in enumerate(order_in):
        npv = data.by_id[p].npv
        if per_npv is None:  # the objective does not count NPV: no NPV makes the project enter
            entry[p] = Figure(None, True)
            continue
        if i < limit:
            value = _forced(m, solver, p, 1, objective_of)
            entry[p] = Figure(None if value is None else npv + max(0.0, objective - value) / per_npv, True)
            done += 1
            if progress:
                progress(done, total)
        else:
            loss = estimates_in.get(p)
            entry[p] = Figure(None if loss is None else npv + loss / per_npv, False)
    return removal, entry


def _lp_estimates(m, data: Pipeline, funded, candidates, settings):
    """LP-relaxation estimates: loss in objective when each project is forced out / in."""
    import pyomo.environ as pyo

    relaxed = m.clone()
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(relaxed)
    lp = Solver(settings)
    base = lp.solve(relaxed)
    if not base.solved:
        return {}, {}

    def loss(pid: str, level: int) -> float | None:
        out = lp.solve_with_fixed(relaxed, relaxed.Select[pid], level)
        return None if not out.solved else max(0.0, base.objective - out.objective)

    return ({p: loss(p, 0) for p in funded}, {p: loss(p, 1) for p in candidates})
