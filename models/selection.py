"""Project selection, start years, stakes, locks and screens.

Sets
    PROJECTS                      p, every candidate project
    STARTS ⊆ PROJECTS × years     (p, t): t in p's start window
                                  (earliest_start … latest_start; planning_start when none)
Parameters
    capex[p], npv[p], schedule[p][k] (spending in project year k = 0, 1, …; Σ_k = capex[p])
    min_stake[p], max_stake[p], discount_rate
Variables
    Select[p] ∈ {0, 1}            p is funded
    Start[p, t] ∈ {0, 1}          p starts in year t, for projects with two or more start years;
                                  a project with one start year starts when selected, so there
                                  start(p, t) is Select[p] itself (no second column, no row)
    Stake[p, t] ≥ 0               share taken (only for projects whose stake may vary)
Expressions
    stake[p, t]   = Stake[p, t] if p's stake may vary, else max_stake[p] × start(p, t)
    committed[p]  = Σ_t stake[p, t] × capex[p]
    spend[y]      = Σ_(p,t) stake[p, t] × schedule[p][y − t]
    npv_value[p]  = Σ_t stake[p, t] × npv[p] / (1 + discount_rate)^(t − earliest_start[p])
Constraints
    One_Start[p]:        Select[p] = Σ_t Start[p, t]      (projects with two or more start years)
    Stake_Min[p, t]:     Stake[p, t] ≥ stake_floor[p] × start(p, t)
                         stake_floor[p] = min_stake[p], except that a project with min_stake 0
                         that a lock or a count can force in (decision = must fund, named on a
                         Rules row, or in a sector with min_projects) gets MIN_SHARE: "funded"
                         then means a positive share, so a 0 % stake cannot satisfy the rule.
                         (min_stake 0 = out, or any share up to max_stake; a stake of 0 is out.)
    Stake_Max[p, t]:     Stake[p, t] ≤ max_stake[p] × start(p, t)
    Must_Fund[p]:        Select[p] = 1          (decision = must fund)
    Exclude[p]:          Select[p] = 0          (decision = exclude)
    Approval_Screen[p]:  Select[p] = 0          (not approved under approval_rule)
    Esg_Screen[p]:       Select[p] = 0          (esg_score < min_esg_score)
Objective terms
    npv        Σ_p npv_value[p]
    strategic  Σ_(p,t) stake[p, t] × strategic_score[p]
    jobs       Σ_(p,t) stake[p, t] × jobs[p]
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import Pipeline, Project


#: the smallest share that counts as funded for a min_stake-0 project a rule can force in
MIN_SHARE = 1e-5


def varies(p: Project) -> bool:
    return p.min_stake < p.max_stake


def stake_floors(data: Pipeline) -> dict[str, float]:
    """stake_floor[p]: min_stake, or MIN_SHARE where min_stake is 0 and a rule may force p in."""
    in_rules = {q for r in data.rules for q in r.projects}
    counted = {s.sector for s in data.sectors if s.min_projects}
    floors = {}
    for p in data.projects:
        forced = p.decision == "must fund" or p.project_id in in_rules or p.sector in counted
        floors[p.project_id] = MIN_SHARE if (p.min_stake <= 0 and forced and varies(p)) else p.min_stake
    return floors


def start(m: pyo.ConcreteModel, p: str, t: int):
    """The variable that says p starts in year t: Start[p, t], or Select[p] for a single start year."""
    return m.Start[p, t] if (p, t) in m.MULTI_STARTS else m.Select[p]


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    projects = {p.project_id: p for p in data.projects}
    m.PROJECTS = pyo.Set(initialize=list(projects), ordered=True)
    starts = [(pid, t) for pid, p in projects.items() for t in data.start_years(p)]
    m.STARTS = pyo.Set(initialize=starts, dimen=2, ordered=True)
    m.VARYING = pyo.Set(initialize=[(pid, t) for pid, t in starts if varies(projects[pid])], dimen=2, ordered=True)

    multi = {pid for pid, p in projects.items() if len(data.start_years(p)) > 1}
    m.MULTI_STARTS = pyo.Set(initialize=[(pid, t) for pid, t in starts if pid in multi], dimen=2, ordered=True)
    m.Start = pyo.Var(m.MULTI_STARTS, domain=pyo.Binary)
    m.Select = pyo.Var(m.PROJECTS, domain=pyo.Binary)
    m.Stake = pyo.Var(m.VARYING, domain=pyo.NonNegativeReals, bounds=(0, 1))

    m.One_Start = pyo.Constraint(
        sorted(multi, key=list(projects).index),
        rule=lambda m, p: m.Select[p] == sum(m.Start[p, t] for t in data.start_years(projects[p])))
    floor = stake_floors(data)
    m.Stake_Min = pyo.Constraint(
        m.VARYING, rule=lambda m, p, t: m.Stake[p, t] >= floor[p] * start(m, p, t))
    m.Stake_Max = pyo.Constraint(
        m.VARYING, rule=lambda m, p, t: m.Stake[p, t] <= projects[p].max_stake * start(m, p, t))

    def stake(m, p, t):
        if (p, t) in m.VARYING:
            return m.Stake[p, t]
        return projects[p].max_stake * start(m, p, t)

    m.stake = pyo.Expression(m.STARTS, rule=stake)
    m.committed = pyo.Expression(
        m.PROJECTS, rule=lambda m, p: sum(m.stake[p, t] for t in data.start_years(projects[p])) * projects[p].capex)
    m.npv_value = pyo.Expression(
        m.PROJECTS, rule=lambda m, p: sum(m.stake[p, t] * projects[p].npv * data.delay_factor(projects[p], t)
                                          for t in data.start_years(projects[p])))

    # spending by calendar year, built in one pass over (p, t, k)
    terms: dict[int, list] = {}
    for pid, t in starts:
        for k, amount in enumerate(projects[pid].schedule):
            if amount:
                terms.setdefault(t + k, []).append((pid, t, amount))
    years = sorted(set(data.fund.years) | set(terms) | {b.year for b in data.budget})
    m.YEARS = pyo.Set(initialize=years, ordered=True)
    m.spend = pyo.Expression(m.YEARS, rule=lambda m, y: sum(a * m.stake[p, t] for p, t, a in terms.get(y, ())))

    must = [pid for pid, p in projects.items() if p.decision == "must fund"]
    excluded = [pid for pid, p in projects.items() if p.decision == "exclude"]
    m.Must_Fund = pyo.Constraint(must, rule=lambda m, p: m.Select[p] == 1)
    m.Exclude = pyo.Constraint(excluded, rule=lambda m, p: m.Select[p] == 0)
    unapproved = [pid for pid, p in projects.items() if not data.approved(p)]
    m.Approval_Screen = pyo.Constraint(unapproved, rule=lambda m, p: m.Select[p] == 0)
    low_esg = [pid for pid, p in projects.items() if data.screened_by_esg(p)]
    m.Esg_Screen = pyo.Constraint(low_esg, rule=lambda m, p: m.Select[p] == 0)

    m.register_money("npv", sum(m.npv_value[p] for p in m.PROJECTS))
    for kind, attr in (("strategic", "strategic_score"), ("jobs", "jobs")):
        m.register(kind, sum(m.stake[p, t] * (getattr(projects[p], attr) or 0.0) for p, t in m.STARTS))
