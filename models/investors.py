"""Capital beyond the two governments: institutional, retail and other investors.

Sets
    INVESTORS                 i, rows of the Investors sheet
Parameters
    min_commitment[i], max_commitment[i], required_return[i], max_avg_risk[i], risk[p]
Variables
    Commit[i] ≥ 0             equity investor i puts in
    InvestorIn[i] ∈ {0, 1}    investor i takes part
Expressions
    investor_equity = Σ_i Commit[i]      (added to equity by the capital family)
Constraints
    Investor_Min[i]:   Commit[i] ≥ min_commitment[i] × InvestorIn[i]
    Investor_Max[i]:   Commit[i] ≤ max_commitment[i] × InvestorIn[i]
                       (no max: the pipeline's total capex, or min_commitment if larger, bounds it)
    Investor_Risk[i]:  Σ_p committed[p] × risk[p] ≤ max_avg_risk[i] × Σ_p committed[p] + M_i × (1 − InvestorIn[i])
                       M_i = Σ_p capex[p] × max(0, risk[p] − max_avg_risk[i]); so the cap on the
                       commitment-weighted average risk holds whenever investor i commits anything
Objective term (npv)
    − Σ_i required_return[i] × Commit[i]
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import Pipeline


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    if not data.investors:
        m.investor_equity = pyo.Expression(expr=0.0)
        return
    inv = {i.investor: i for i in data.investors}
    capex = {p.project_id: p.capex * p.max_stake for p in data.projects}
    total_capex = sum(capex.values())
    m.INVESTORS = pyo.Set(initialize=list(inv), ordered=True)
    m.Commit = pyo.Var(m.INVESTORS, domain=pyo.NonNegativeReals)
    m.InvestorIn = pyo.Var(m.INVESTORS, domain=pyo.Binary)
    m.investor_equity = pyo.Expression(expr=sum(m.Commit[i] for i in m.INVESTORS))
    m.Investor_Min = pyo.Constraint(
        m.INVESTORS, rule=lambda m, i: m.Commit[i] >= inv[i].min_commitment * m.InvestorIn[i]
        if inv[i].min_commitment else pyo.Constraint.Skip)
    m.Investor_Max = pyo.Constraint(
        m.INVESTORS, rule=lambda m, i: m.Commit[i] <= (inv[i].max_commitment if inv[i].max_commitment is not None
                                                       else max(total_capex, inv[i].min_commitment)) * m.InvestorIn[i])

    def risk_cap(m, i):
        cap = inv[i].max_avg_risk
        if cap is None:
            return pyo.Constraint.Skip
        big_m = sum(capex[p.project_id] * max(0.0, (p.risk or 0.0) - cap) for p in data.projects)
        if big_m <= 0:
            return pyo.Constraint.Skip
        return (sum(m.committed[p.project_id] * ((p.risk or 0.0) - cap) for p in data.projects)
                <= big_m * (1 - m.InvestorIn[i]))

    m.Investor_Risk = pyo.Constraint(m.INVESTORS, rule=risk_cap)
    cost = [(i, inv[i].required_return) for i in inv if inv[i].required_return]
    if cost:
        m.register_money("investor_returns", -sum(r * m.Commit[i] for i, r in cost))
