"""Two-nation agreement analyses on one built model, re-solved (persistent HiGHS).

* ``ideal_values``: each nation's ideal score value V*[n] (SPEC §2): the model re-solved with
  V[n] as the objective and the satisfaction rules off; the values are stored in the model's
  mutable ``ideal[n]`` so that Nation_Satisfaction and maxmin_satisfaction use them.
* ``price_of_agreement``: the objective with the agreement rules (approvals, satisfaction)
  removed, minus the objective with them.

Each is a variant of the one built model (a change and its undo); the runner hands the two
ideals and the unagreed model to :meth:`optimizer.solve.Solver.solve_variants` together, so they
are solved side by side on the cores.
"""

from __future__ import annotations

from ..data import NATIONS, Pipeline
from ..errors import InfeasibleError, TimeLimitError
from ..solve import INFEASIBLE, TIME_LIMIT, Solver


def has_scores(data: Pipeline) -> bool:
    return any(p.us_score or p.jp_score for p in data.projects)


def ideal_variants(m, data: Pipeline) -> list:
    """One model variant per nation: V[n] as the objective, the satisfaction rules off."""
    from models.portfolio import satisfaction_rules, set_objective, set_objective_expr

    def variant(n: str):
        def change():
            for c in satisfaction_rules(m):
                c.deactivate()
            set_objective_expr(m, m.score_value[n])

        def undo():
            for c in satisfaction_rules(m):
                c.activate()
            set_objective(m, data, data.fund.objective)

        return change, undo

    return [variant(n) for n in NATIONS]


def store_ideals(m, solver: Solver, data: Pipeline, outcomes) -> dict[str, float]:
    """The nations' ideals from their variants' outcomes, kept in the model's ``ideal[n]``."""
    from .diagnosis import diagnose

    ideals: dict[str, float] = {}
    for n, outcome in zip(NATIONS, outcomes):
        if outcome.status == INFEASIBLE:
            raise InfeasibleError(diagnose(data, solver.settings))
        if outcome.status == TIME_LIMIT:
            raise TimeLimitError(f"the time limit ran out while finding {n}'s ideal portfolio")
        # the best portfolio found, within the run's mip_gap (exact when mip_gap = 0)
        ideals[n] = max(0.0, float(outcome.objective))
    if hasattr(m, "ideal"):
        for n, v in ideals.items():
            m.ideal[n] = v
    return ideals


def ideal_values(m, solver: Solver, data: Pipeline) -> dict[str, float]:
    return store_ideals(m, solver, data, solver.solve_variants(m, ideal_variants(m, data)))


def unagreed_variant(m, data: Pipeline):
    """The model without the agreement rules (approvals, satisfaction), under the fund's objective
    (NPV for maxmin_satisfaction); None when no agreement rule is on."""
    from models.portfolio import agreement_rules, set_objective

    rules = [c for c in agreement_rules(m) if len(c) > 0 or not c.is_indexed()]
    if not rules:
        return None
    kind = "npv" if data.fund.objective == "maxmin_satisfaction" else data.fund.objective

    def change():
        for c in rules:
            c.deactivate()
        set_objective(m, data, kind)

    def undo():
        for c in rules:
            c.activate()
        set_objective(m, data, data.fund.objective)

    return change, undo


def price_from(unagreed, objective: float) -> float | None:
    """Price of agreement: the objective without the agreement rules minus ``objective``."""
    if unagreed is None or not unagreed.solved:
        return None
    return float(unagreed.objective) - objective


def price_of_agreement(m, solver: Solver, data: Pipeline, objective: float) -> float | None:
    """None when no agreement rule is on. Uses the fund's objective (NPV for maxmin_satisfaction)."""
    variant = unagreed_variant(m, data)
    if variant is None:
        return None
    return price_from(solver.solve_variants(m, [variant])[0], objective)


def best_npv_at_maxmin(m, solver: Solver, data: Pipeline, first):
    """Among portfolios reaching the best smaller satisfaction, the one of highest NPV.

    ``maxmin_satisfaction`` alone leaves many ties; the committee wants the most valuable of
    them, so the smaller satisfaction is held at its optimum and the NPV objective re-solved.
    """
    import pyomo.core as pyo

    from models.portfolio import set_objective

    if not first.solved:
        return first
    best = m.MinSatisfaction.value or 0.0
    m.Maxmin_Hold = pyo.Constraint(expr=m.MinSatisfaction >= best - 1e-7)
    try:
        set_objective(m, data, "npv")
        second = solver.solve(m)
    finally:
        m.del_component(m.Maxmin_Hold)
        set_objective(m, data, data.fund.objective)
    if not second.solved:
        return first
    from dataclasses import replace

    return replace(second, objective=first.objective, bound=first.bound, gap=first.gap)
