"""Yearly capital limits from the Budget sheet.

Sets
    BUDGET_YEARS ⊆ YEARS     y: years with a capital_limit
Parameters
    capital_limit[y] (mutable)
Constraints
    Budget_Capital[y]:  spend[y] ≤ capital_limit[y]
        spend[y] = Σ_(p,t) stake[p, t] × schedule[p][y − t] (see selection), so a project's
        CapexSchedule row (or capex / duration per year) is placed from its start year on.
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import Pipeline

from .linear import LinearRows


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    limits = {b.year: b.capital_limit for b in data.budget if b.capital_limit is not None}
    if not limits:
        return
    years = sorted(limits)
    m.BUDGET_YEARS = pyo.Set(initialize=years, ordered=True)
    m.capital_limit = pyo.Param(m.BUDGET_YEARS, initialize=limits, mutable=True)
    m.Budget_Capital = LinearRows(m.columns, years, [m.spend[y] for y in years],
                                  upper=[m.capital_limit[y] for y in years])
