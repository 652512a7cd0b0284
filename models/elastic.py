"""The elastic model: every relaxable rule gets a slack, so an infeasible workbook still solves
and the slacks say which rules conflict and by how much.

For each relaxable constraint c (lower ≤ body ≤ upper):
    body ≤ upper + Slack⁺[c]      body ≥ lower − Slack⁻[c]      Slack ≥ 0
Objective (minimize):  Σ_c weight[c] × (Slack⁺[c] + Slack⁻[c])
weights put each rule's unit on one scale: money slacks / Σ capex, count slacks (locks,
rules, project counts) × 1, so one broken lock weighs as much as the whole pipeline's capex.
Hard screens (approvals, ESG, exclusions) and the model's own bookkeeping (start choice, stake
bounds) are never relaxed: they say what may be funded at all.
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import Pipeline

#: relaxable constraint components and their unit: money, count, score (× money) or risk (× money)
RELAXABLE = {
    "Equity_Capital": "money", "Budget_Capital": "money", "Sector_Share_Min": "money",
    "Sector_Share_Max": "money", "Sector_Projects_Min": "count", "Sector_Projects_Max": "count",
    "Must_Fund": "count", "Rule_Requires": "count", "Rule_Together": "count", "Rule_Excludes": "count",
    "Rule_At_Most": "count", "Rule_At_Least": "count", "Debt_Leverage": "money", "Debt_LTV": "money",
    "Debt_Year_Limit": "money", "Investor_Min": "money", "Average_Risk": "risk", "Project_Share_Max": "money",
    "Speculative_Share": "money", "Jp_Content_Min": "money", "Jp_Content_Max": "money",
    "Nation_Satisfaction": "score",
}


def relax(m: pyo.ConcreteModel, data: Pipeline, only: set[str] | None = None) -> dict:
    """Replace each relaxable constraint (of the components in ``only``, or all) by its elastic
    version; set the minimize-slack objective. Returns {(component, index): (upper slack, lower slack)}."""
    scale = max(1.0, sum(p.capex * p.max_stake for p in data.projects))
    weight = {"money": 1.0 / scale, "count": 1.0, "risk": 1.0 / (5 * scale), "score": 1.0 / (10 * scale)}
    m.SlackUp = pyo.Var(pyo.Any, domain=pyo.NonNegativeReals, dense=False)
    m.SlackDown = pyo.Var(pyo.Any, domain=pyo.NonNegativeReals, dense=False)
    m.Elastic = pyo.ConstraintList()
    slacks: dict = {}
    terms = []
    for name, unit in RELAXABLE.items():
        if only is not None and name not in only:
            continue
        comp = getattr(m, name, None)
        if comp is None:
            continue
        for idx in list(comp):
            c = comp[idx]
            if not c.active:
                continue
            key = (name, idx)
            up = down = None
            if c.upper is not None:
                up = m.SlackUp[key]
                m.Elastic.add(c.body <= c.upper + up)
                terms.append(weight[unit] * up)
            if c.lower is not None:
                down = m.SlackDown[key]
                m.Elastic.add(c.body >= c.lower - down)
                terms.append(weight[unit] * down)
            c.deactivate()
            slacks[key] = (up, down)
    if hasattr(m, "Objective"):
        m.del_component(m.Objective)
    m.Objective = pyo.Objective(expr=sum(terms) if terms else 0.0, sense=pyo.minimize)
    return slacks
