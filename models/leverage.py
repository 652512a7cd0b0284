"""Fund debt (leverage) with its safeguards.

Sets
    YEARS                          y, calendar years
    LEVERAGE_PROJECTS ⊆ PROJECTS   projects that are leverage_eligible and whose sector allows leverage
Parameters
    max_leverage (mutable), max_ltv, debt_cost, debt_limit[y] (Budget), equity_capital
Variables
    Debt[y] ≥ 0                    debt drawn in year y
Linear forms
    debt_total = Σ_y Debt[y]
Constraints
    Debt_Leverage:      debt_total − max_leverage × investor_equity ≤ max_leverage × equity_capital
                        (debt_total ≤ max_leverage × equity)
    Debt_LTV:           debt_total ≤ max_ltv × Σ_(p ∈ LEVERAGE_PROJECTS) committed[p]
    Debt_Year_Limit[y]: Debt[y] ≤ debt_limit[y]
    Debt_Use[y]:        Debt[y] ≤ spend[y]         (debt is drawn to pay for that year's spending)
Objective term (npv)
    − debt_cost × debt_total
The capital family uses debt_total: Σ_p committed[p] ≤ equity + debt_total.
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from optimizer.data import Pipeline

from .linear import Linear, LinearRows


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    fund = data.fund
    if fund.max_leverage <= 0:
        return
    cols = m.columns
    m.LEVERAGE_PROJECTS = pyo.Set(initialize=data.leverage_projects(), ordered=True)
    m.max_leverage = pyo.Param(initialize=fund.max_leverage, mutable=True)
    m.Debt = pyo.Var(m.YEARS, domain=pyo.NonNegativeReals)
    debt = dict(zip(m.YEARS, cols.add(m.Debt).tolist()))
    m.debt_total = Linear(np.array(list(debt.values())), np.ones(len(debt)))
    m.Debt_Leverage = LinearRows(cols, [None], [m.debt_total], upper=[m.max_leverage * m.equity_capital],
                                 terms=[(0, m.max_leverage, -m.investor_equity)])
    eligible = np.zeros(m.forms.n)
    for p in m.LEVERAGE_PROJECTS:
        eligible[m.forms.position[p]] = 1.0
    m.Debt_LTV = LinearRows(cols, [None], [m.debt_total - fund.max_ltv * m.forms.committed(eligible)], upper=0.0)
    limits = {b.year: b.debt_limit for b in data.budget if b.debt_limit is not None}
    m.Debt_Year_Limit = LinearRows(cols, list(limits), [Linear.of(debt[y]) for y in limits],
                                   upper=list(limits.values()))
    m.Debt_Use = LinearRows(cols, list(m.YEARS), [Linear.of(debt[y]) - m.spend[y] for y in m.YEARS], upper=0.0)
    if fund.debt_cost:
        m.register_money("debt_cost", -fund.debt_cost * m.debt_total)
