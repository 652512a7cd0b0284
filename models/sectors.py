"""Sector balance from the Sectors sheet. Shares are of total commitments.

Sets
    SECTORS                   s, sectors with a limit
    PROJECTS_IN[s]            projects of sector s
Parameters
    min_share[s], max_share[s], min_projects[s], max_projects[s]
Constraints
    Sector_Share_Min[s]:     Σ_(p∈s) committed[p] ≥ min_share[s] × Σ_p committed[p]
    Sector_Share_Max[s]:     Σ_(p∈s) committed[p] ≤ max_share[s] × Σ_p committed[p]
    Sector_Projects_Min[s]:  Σ_(p∈s) Select[p] ≥ min_projects[s]
    Sector_Projects_Max[s]:  Σ_(p∈s) Select[p] ≤ max_projects[s]
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import Pipeline


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    if not data.sectors:
        return
    members: dict[str, list[str]] = {}
    for p in data.projects:
        members.setdefault(p.sector, []).append(p.project_id)
    limits = {s.sector: s for s in data.sectors}
    m.SECTORS = pyo.Set(initialize=list(limits), ordered=True)

    def committed_in(m, s):
        return sum(m.committed[p] for p in members.get(s, ()))

    def count_in(m, s):
        return sum(m.Select[p] for p in members.get(s, ()))

    def share_min(m, s):
        v = limits[s].min_share
        return pyo.Constraint.Skip if not v else committed_in(m, s) >= v * m.total_committed

    def share_max(m, s):
        v = limits[s].max_share
        return pyo.Constraint.Skip if v is None or v >= 1 else committed_in(m, s) <= v * m.total_committed

    def count_min(m, s):
        v = limits[s].min_projects
        if not v:
            return pyo.Constraint.Skip
        if not members.get(s):  # a listed sector without projects can never reach v ≥ 1
            return pyo.Constraint.Infeasible
        return count_in(m, s) >= v

    def count_max(m, s):
        v = limits[s].max_projects
        if v is None or v >= len(members.get(s, ())):
            return pyo.Constraint.Skip
        return count_in(m, s) <= v

    m.Sector_Share_Min = pyo.Constraint(m.SECTORS, rule=share_min)
    m.Sector_Share_Max = pyo.Constraint(m.SECTORS, rule=share_max)
    m.Sector_Projects_Min = pyo.Constraint(m.SECTORS, rule=count_min)
    m.Sector_Projects_Max = pyo.Constraint(m.SECTORS, rule=count_max)
