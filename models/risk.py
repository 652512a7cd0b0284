"""Risk and concentration screens on the portfolio. Shares are of total commitments.

Parameters (Fund)
    max_avg_risk (mutable: the risk frontier re-solves over it; built at 5, no cap, when the
        Fund sheet has none and ModelSettings.frontier = "risk"),
    max_project_share, max_speculative_share, jp_content_min, jp_content_max
    risk[p], jp_content[p] (blank = 0), speculative[s] (Sectors)
Constraints
    Average_Risk:          Σ_p committed[p] × risk[p] ≤ max_avg_risk × Σ_p committed[p]
    Project_Share_Max[p]:  committed[p] ≤ max_project_share × Σ_q committed[q]
    Speculative_Share:     Σ_(p in speculative sectors) committed[p] ≤ max_speculative_share × Σ_p committed[p]
    Jp_Content_Min:        Σ_p committed[p] × jp_content[p] ≥ jp_content_min × Σ_p committed[p]
    Jp_Content_Max:        Σ_p committed[p] × jp_content[p] ≤ jp_content_max × Σ_p committed[p]
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import Pipeline


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    fund = data.fund
    projects = data.projects
    total = m.total_committed
    if fund.max_avg_risk is not None or getattr(settings, "frontier", None) == "risk":
        cap = fund.max_avg_risk if fund.max_avg_risk is not None else 5.0
        m.max_avg_risk = pyo.Param(initialize=cap, mutable=True)
        m.Average_Risk = pyo.Constraint(
            expr=sum(m.committed[p.project_id] * ((p.risk or 0.0) - m.max_avg_risk) for p in projects) <= 0)
    if fund.max_project_share is not None and fund.max_project_share < 1:
        m.Project_Share_Max = pyo.Constraint(
            m.PROJECTS, rule=lambda m, p: m.committed[p] <= fund.max_project_share * total)
    if fund.max_speculative_share is not None and fund.max_speculative_share < 1:
        spec = data.speculative_projects()
        if spec:
            m.Speculative_Share = pyo.Constraint(
                expr=sum(m.committed[p] for p in spec) <= fund.max_speculative_share * total)
    if fund.jp_content_min:
        m.Jp_Content_Min = pyo.Constraint(
            expr=sum(m.committed[p.project_id] * ((p.jp_content or 0.0) - fund.jp_content_min) for p in projects) >= 0)
    if fund.jp_content_max is not None and fund.jp_content_max < 1:
        m.Jp_Content_Max = pyo.Constraint(
            expr=sum(m.committed[p.project_id] * ((p.jp_content or 0.0) - fund.jp_content_max) for p in projects) <= 0)
