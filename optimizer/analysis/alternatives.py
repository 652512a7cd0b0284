"""Ranked alternatives: the K best distinct portfolios, best first.

Portfolio k+1 is the best portfolio that differs from each of portfolios 1..k by at least
``min_difference`` projects (no-good cuts on Select, added to the one built model and
removed afterwards):

    Σ_(p ∈ S_j) (1 − Select[p]) + Σ_(p ∉ S_j) Select[p] ≥ min_difference     for j = 1..k
"""

from __future__ import annotations

from ..data import Pipeline
from ..solve import Outcome, Solver


def alternatives(m, solver: Solver, data: Pipeline, first: Outcome, count: int) -> list[Outcome]:
    """Portfolios 2..count (fewer when no more exist); portfolio 1 is ``first``."""
    import pyomo.core as pyo

    found = [first]
    d = max(1, data.fund.min_difference)
    m.Alternative_Cut = pyo.ConstraintList()
    try:
        while len(found) < count:
            chosen = set(found[-1].choices)
            m.Alternative_Cut.add(sum(1 - m.Select[p] for p in chosen)
                                  + sum(m.Select[p] for p in m.PROJECTS if p not in chosen) >= d)
            outcome = solver.solve(m)
            if not outcome.solved:
                break
            found.append(outcome)
    finally:
        m.del_component(m.Alternative_Cut)
    return found[1:]
