"""Sector balance from the Sectors sheet. Shares are of total commitments.

Sets
    SECTORS                   s, sectors with a limit
    PROJECTS_IN[s]            projects of sector s
Parameters
    min_share[s], max_share[s], min_projects[s], max_projects[s]
Constraints
    Sector_Share_Min[s]:     Σ_(p∈s) committed[p] − min_share[s] × Σ_p committed[p] ≥ 0
    Sector_Share_Max[s]:     Σ_(p∈s) committed[p] − max_share[s] × Σ_p committed[p] ≤ 0
    Sector_Projects_Min[s]:  Σ_(p∈s) Select[p] ≥ min_projects[s]
    Sector_Projects_Max[s]:  Σ_(p∈s) Select[p] ≤ max_projects[s]
A listed sector without projects cannot reach a min_projects of 1 or more: its row is the empty
sum ≥ min_projects, which no portfolio satisfies (the diagnosis then names it).
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from optimizer.data import Pipeline

from .linear import Linear, LinearRows


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    if not data.sectors:
        return
    f = m.forms
    sector_of = np.array([p.sector for p in data.projects], dtype=object)
    limits = {s.sector: s for s in data.sectors}
    m.SECTORS = pyo.Set(initialize=list(limits), ordered=True)

    def share(s: str, k: float) -> Linear:  # Σ_(p∈s) committed[p] − k × Σ_p committed[p]
        return f.committed((sector_of == s).astype(float) - k)

    def count(s: str) -> Linear:
        members = np.flatnonzero(sector_of == s)
        return Linear(f.select_col[members], np.ones(len(members)))

    lo = [s for s, v in limits.items() if v.min_share]
    m.Sector_Share_Min = LinearRows(m.columns, lo, [share(s, limits[s].min_share) for s in lo], lower=0.0)
    hi = [s for s, v in limits.items() if v.max_share is not None and v.max_share < 1]
    m.Sector_Share_Max = LinearRows(m.columns, hi, [share(s, limits[s].max_share) for s in hi], upper=0.0)
    size = {s: int(np.sum(sector_of == s)) for s in limits}
    cmin = [s for s, v in limits.items() if v.min_projects]
    m.Sector_Projects_Min = LinearRows(m.columns, cmin, [count(s) for s in cmin],
                                       lower=[float(limits[s].min_projects) for s in cmin])
    cmax = [s for s, v in limits.items() if v.max_projects is not None and v.max_projects < size[s]]
    m.Sector_Projects_Max = LinearRows(m.columns, cmax, [count(s) for s in cmax],
                                       upper=[float(limits[s].max_projects) for s in cmax])
