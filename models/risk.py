"""Risk and concentration screens on the portfolio. Shares are of total commitments.

Parameters (Fund)
    max_avg_risk (mutable: the risk frontier re-solves over it; built at 5, no cap, when the
        Fund sheet has none and ModelSettings.frontier = "risk"),
    max_project_share, max_speculative_share, jp_content_min, jp_content_max
    risk[p], jp_content[p] (blank = 0), speculative[s] (Sectors)
Constraints
    Average_Risk:          Σ_p committed[p] × risk[p] − max_avg_risk × Σ_p committed[p] ≤ 0
    Project_Share_Max[p]:  committed[p] − max_project_share × Σ_q committed[q] ≤ 0
    Speculative_Share:     Σ_(p in speculative sectors) committed[p] − max_speculative_share × Σ_p committed[p] ≤ 0
    Jp_Content_Min:        Σ_p committed[p] × (jp_content[p] − jp_content_min) ≥ 0
    Jp_Content_Max:        Σ_p committed[p] × (jp_content[p] − jp_content_max) ≤ 0
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from optimizer.data import Pipeline

from .linear import LinearRows


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    fund = data.fund
    f = m.forms
    cols = m.columns
    total = m.total_committed
    if fund.max_avg_risk is not None or getattr(settings, "frontier", None) == "risk":
        cap = fund.max_avg_risk if fund.max_avg_risk is not None else 5.0
        m.max_avg_risk = pyo.Param(initialize=cap, mutable=True)
        risk = np.array([p.risk or 0.0 for p in data.projects], dtype=float)
        m.Average_Risk = LinearRows(cols, [None], [f.committed(risk)], upper=0.0,
                                    terms=[(0, m.max_avg_risk, -total)])
    if fund.max_project_share is not None and fund.max_project_share < 1:
        share = fund.max_project_share
        m.Project_Share_Max = LinearRows(cols, list(m.PROJECTS),
                                         [f.committed_of(p) - share * total for p in m.PROJECTS], upper=0.0)
    if fund.max_speculative_share is not None and fund.max_speculative_share < 1:
        spec = set(data.speculative_projects())
        if spec:
            w = np.array([1.0 if p.project_id in spec else 0.0 for p in data.projects])
            m.Speculative_Share = LinearRows(cols, [None], [f.committed(w - fund.max_speculative_share)], upper=0.0)
    content = np.array([p.jp_content or 0.0 for p in data.projects], dtype=float)
    if fund.jp_content_min:
        m.Jp_Content_Min = LinearRows(cols, [None], [f.committed(content - fund.jp_content_min)], lower=0.0)
    if fund.jp_content_max is not None and fund.jp_content_max < 1:
        m.Jp_Content_Max = LinearRows(cols, [None], [f.committed(content - fund.jp_content_max)], upper=0.0)
