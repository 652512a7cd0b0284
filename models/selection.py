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
    Stake[p, t] ∈ [0, 1]          share taken (only for projects whose stake may vary)
Linear forms (m.forms, arrays over STARTS; see models/linear.py)
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

import numpy as np
import pyomo.core as pyo

from optimizer.data import Pipeline, Project

from .linear import Columns, Linear, LinearRows

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


class Forms:
    """The selection family's linear forms, as arrays over STARTS (k = one (p, t) pair).

    ``proj[k]`` is the position of k's project in PROJECTS, ``ids[k]`` its project_id, ``year[k]``
    its start year, ``start_col[k]`` the column of start(p, t) and stake[p, t] =
    ``stake_coef[k] × x[stake_col[k]]``.
    """

    def __init__(self, m, data: Pipeline, select_cols, start_cols: dict, stake_cols: dict):
        projects = data.projects
        self.n = len(projects)
        self.position = {p.project_id: i for i, p in enumerate(projects)}
        self.capex = np.array([p.capex for p in projects], dtype=float)
        self.npv = np.array([p.npv for p in projects], dtype=float)
        self.select_col = select_cols
        keys = list(m.STARTS)
        self.keys = keys
        self.proj = np.array([self.position[p] for p, _ in keys], dtype=np.int64)
        self.ids = np.array([p for p, _ in keys], dtype=object)
        #: optimizer.solve.extract's Choice of each start funded at its fixed stake, once made
        self.choices = np.full(len(keys), None, dtype=object)
        self.year = np.array([t for _, t in keys], dtype=np.int64)
        self.start_col = np.array([start_cols.get(k, select_cols[self.position[k[0]]]) for k in keys],
                                  dtype=np.int64)
        varying = np.array([k in stake_cols for k in keys], dtype=bool)
        self.varying = varying
        self.stake_col = np.where(varying, [stake_cols.get(k, -1) for k in keys], self.start_col).astype(np.int64)
        max_stake = np.array([p.max_stake for p in projects], dtype=float)
        self.stake_coef = np.where(varying, 1.0, max_stake[self.proj])
        self.delay = np.array([data.delay_factor(projects[i], t) for i, t in zip(self.proj.tolist(), self.year.tolist())],
                              dtype=float)
        self.index = {k: i for i, k in enumerate(keys)}

    def per_start(self, weights: np.ndarray) -> Linear:
        """Σ_(p,t) weights[k] × stake[p, t] (zero weights left out)."""
        keep = weights != 0.0
        return Linear(self.stake_col[keep], (weights * self.stake_coef)[keep])

    def committed(self, weights=None) -> Linear:
        """Σ_p weights[p] × committed[p] (all ones: the total commitments)."""
        w = self.capex if weights is None else np.asarray(weights, dtype=float) * self.capex
        return self.per_start(w[self.proj])

    def committed_of(self, pid: str) -> Linear:
        w = np.zeros(self.n)
        w[self.position[pid]] = 1.0
        return self.committed(w)

    def stake(self, pid: str, t: int) -> Linear:
        k = self.index[pid, t]
        return Linear.of(int(self.stake_col[k]), float(self.stake_coef[k]))

    def npv_value(self, npv=None) -> Linear:
        """Σ_p npv_value[p], with the workbook's NPVs or those given (one per project)."""
        v = self.npv if npv is None else np.asarray(npv, dtype=float)
        return self.per_start(v[self.proj] * self.delay)


def add_to(m: pyo.ConcreteModel, data: Pipeline, settings) -> None:
    projects = {p.project_id: p for p in data.projects}
    windows = {pid: data.start_years(p) for pid, p in projects.items()}
    m.PROJECTS = pyo.Set(initialize=list(projects), ordered=True)
    starts = [(pid, t) for pid, years in windows.items() for t in years]
    m.STARTS = pyo.Set(initialize=starts, dimen=2, ordered=True)
    varying_keys = [(pid, t) for pid, t in starts if varies(projects[pid])]
    m.VARYING = pyo.Set(initialize=varying_keys, dimen=2, ordered=True)
    multi = [pid for pid, years in windows.items() if len(years) > 1]
    multi_keys = [(pid, t) for pid in multi for t in windows[pid]]
    m.MULTI_STARTS = pyo.Set(initialize=multi_keys, dimen=2, ordered=True)

    m.columns = cols = Columns()
    m.Select = pyo.Var(m.PROJECTS, domain=pyo.Binary)
    m.Start = pyo.Var(m.MULTI_STARTS, domain=pyo.Binary)
    m.Stake = pyo.Var(m.VARYING, domain=pyo.NonNegativeReals, bounds=(0, 1))
    select = cols.add(m.Select)
    start_cols = dict(zip(multi_keys, cols.add(m.Start).tolist()))
    stake_cols = dict(zip(varying_keys, cols.add(m.Stake).tolist()))
    m.forms = f = Forms(m, data, select, start_cols, stake_cols)
    pos = f.position

    m.One_Start = LinearRows(cols, multi, [
        Linear(np.array([select[pos[p]]] + [start_cols[p, t] for t in windows[p]]),
               np.array([1.0] + [-1.0] * len(windows[p]))) for p in multi], lower=0.0, upper=0.0)
    floor = stake_floors(data)
    f.stake_floor = np.array([floor[p] for p, _ in starts], dtype=float)
    f.max_stake = np.array([projects[p].max_stake for p, _ in starts], dtype=float)
    vk = [f.index[k] for k in varying_keys]
    m.Stake_Min = LinearRows(cols, varying_keys, [
        Linear(np.array([stake_cols[key], f.start_col[k]]), np.array([1.0, -floor[key[0]]]))
        for key, k in zip(varying_keys, vk)], lower=0.0)
    m.Stake_Max = LinearRows(cols, varying_keys, [
        Linear(np.array([stake_cols[key], f.start_col[k]]), np.array([1.0, -projects[key[0]].max_stake]))
        for key, k in zip(varying_keys, vk)], upper=0.0)

    # spending by calendar year, in one pass over (p, t, project year)
    k_of, amount_of, year_of = [], [], []
    for k, (pid, t) in enumerate(starts):
        for j, amount in enumerate(projects[pid].schedule):
            if amount:
                k_of.append(k)
                amount_of.append(amount)
                year_of.append(t + j)
    k_of = np.array(k_of, dtype=np.int64)
    year_of = np.array(year_of, dtype=np.int64)
    weight = np.array(amount_of, dtype=float) * f.stake_coef[k_of] if len(k_of) else np.zeros(0)
    years = sorted(set(data.fund.years) | set(year_of.tolist()) | {b.year for b in data.budget})
    m.YEARS = pyo.Set(initialize=years, ordered=True)
    order = np.argsort(year_of, kind="stable")
    lo = np.searchsorted(year_of[order], years, "left")
    hi = np.searchsorted(year_of[order], years, "right")
    m.spend = {y: Linear(f.stake_col[k_of[order[a:b]]], weight[order[a:b]]) for y, a, b in zip(years, lo, hi)}

    def fixed(keys, level):
        return LinearRows(cols, keys, [Linear.of(int(select[pos[p]])) for p in keys], lower=level, upper=level)

    m.Must_Fund = fixed([pid for pid, p in projects.items() if p.decision == "must fund"], 1.0)
    m.Exclude = fixed([pid for pid, p in projects.items() if p.decision == "exclude"], 0.0)
    m.Approval_Screen = fixed([pid for pid, p in projects.items() if not data.approved(p)], 0.0)
    m.Esg_Screen = fixed([pid for pid, p in projects.items() if data.screened_by_esg(p)], 0.0)

    m.register_money("npv", f.npv_value())
    for kind, attr in (("strategic", "strategic_score"), ("jobs", "jobs")):
        w = np.array([getattr(p, attr) or 0.0 for p in data.projects], dtype=float)
        m.register(kind, f.per_start(w[f.proj]))
