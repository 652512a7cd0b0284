"""Fund debt (leverage) with its safeguards.

Sets
    YEARS                          y, calendar years
    LEVERAGE_PROJECTS ⊆ PROJECTS   projects that are leverage_eligible and whose sector allows leverage
Parameters
    max_leverage, max_ltv, debt_cost, debt_limit[y] (Budget)
Variables
    Debt[y] ≥ 0                    debt drawn in year y
Expressions
    debt_total = Σ_y Debt[y]
Constraints
    Debt_Leverage:      debt_total ≤ max_leverage × equity
    Debt_LTV:           debt_total ≤ max_ltv × Σ_(p ∈ LEVERAGE_PROJECTS) committed[p]
    Debt_Year_Limit[y]: Debt[y] ≤ debt_limit[y]
    Debt_Use[y]:        Debt[y] ≤ spend[y]         (debt is drawn to pay for that year's spending)
Objective term (npv)
    − debt_cost × debt_total
The capital family uses debt_total: Σ_p committed[p] ≤ equity + debt_total.
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import Pipeline


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    fund = data.fund
    if fund.max_leverage <= 0:
        return
    m.LEVERAGE_PROJECTS = pyo.Set(initialize=data.leverage_projects(), ordered=True)
    m.max_leverage = pyo.Param(initialize=fund.max_leverage, mutable=True)
    m.Debt = pyo.Var(m.YEARS, domain=pyo.NonNegativeReals)
    m.debt_total.expr = sum(m.Debt[y] for y in m.YEARS)
    m.Debt_Leverage = pyo.Constraint(expr=m.debt_total <= m.max_leverage * m.equity)
    m.Debt_LTV = pyo.Constraint(
        expr=m.debt_total <= fund.max_ltv * sum(m.committed[p] for p in m.LEVERAGE_PROJECTS))
    limits = {b.year: b.debt_limit for b in data.budget if b.debt_limit is not None}
    m.Debt_Year_Limit = pyo.Constraint(list(limits), rule=lambda m, y: m.Debt[y] <= limits[y])
    m.Debt_Use = pyo.Constraint(m.YEARS, rule=lambda m, y: m.Debt[y] <= m.spend[y])
    if fund.debt_cost:
        m.register_money("debt_cost", -fund.debt_cost * m.debt_total)
