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

import numpy as np
import pyomo.core as pyo

from optimizer.data import Pipeline

from .linear import Linear, LinearRows


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    if not data.investors:
        m.investor_equity = Linear()
        return
    inv = {i.investor: i for i in data.investors}
    names = list(inv)
    total_capex = sum(p.capex * p.max_stake for p in data.projects)
    m.INVESTORS = pyo.Set(initialize=names, ordered=True)
    m.Commit = pyo.Var(m.INVESTORS, domain=pyo.NonNegativeReals)
    m.InvestorIn = pyo.Var(m.INVESTORS, domain=pyo.Binary)
    commit = dict(zip(names, m.columns.add(m.Commit).tolist()))
    member = dict(zip(names, m.columns.add(m.InvestorIn).tolist()))
    m.investor_equity = Linear(np.array([commit[i] for i in names]), np.ones(len(names)))

    def pair(i: str, k: float) -> Linear:  # Commit[i] − k × InvestorIn[i]
        return Linear(np.array([commit[i], member[i]]), np.array([1.0, -k]))

    floors = [i for i in names if inv[i].min_commitment]
    m.Investor_Min = LinearRows(m.columns, floors, [pair(i, inv[i].min_commitment) for i in floors], lower=0.0)
    cap = {i: inv[i].max_commitment if inv[i].max_commitment is not None else max(total_capex, inv[i].min_commitment)
           for i in names}
    m.Investor_Max = LinearRows(m.columns, names, [pair(i, cap[i]) for i in names], upper=0.0)

    risk = np.array([p.risk or 0.0 for p in data.projects], dtype=float)
    capex = np.array([p.capex * p.max_stake for p in data.projects], dtype=float)
    capped, forms, big = [], [], []
    for i in names:
        c = inv[i].max_avg_risk
        if c is None:
            continue
        big_m = float(np.sum(capex * np.maximum(0.0, risk - c)))
        if big_m <= 0:
            continue
        capped.append(i)
        forms.append(m.forms.committed(risk - c) + Linear.of(member[i], big_m))
        big.append(big_m)
    m.Investor_Risk = LinearRows(m.columns, capped, forms, upper=big)
    cost = [(commit[i], inv[i].required_return) for i in names if inv[i].required_return]
    if cost:
        m.register_money("investor_returns", Linear(np.array([j for j, _ in cost]), -np.array([r for _, r in cost])))
