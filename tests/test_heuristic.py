"""optimizer/heuristic.py: the LP bound, rounded portfolios and the core sub-MIP.

The heuristic may end a solve without branch and bound only when its portfolio is within the
gap of the LP bound. Checked here against HiGHS's own proof (the search alone, mip_gap 0) on
seeded pipelines big enough for every step to run (rounding, the greedy fill, the core of
projects nearest the margin), with start windows, partial stakes, debt and sector shares:

* a portfolio it calls optimal is within mip_gap of the proven optimum, and satisfies every rule
  (the invariant checker, from the written workbook);
* its bound is at least the proven optimum;
* an infeasible relaxation is reported infeasible, as HiGHS finds the MIP.
"""

from __future__ import annotations


import numpy as np
import pytest

from models.portfolio import build
from optimizer import heuristic
from optimizer.data import BudgetYear, Fund, Pipeline, Project, SectorLimit
from optimizer.solve import Solver, SolverSettings

SECTORS = ("Energy", "Chips", "Ports", "Water")
SEARCH_ONLY = dict(heuristic_min_integers=10**9)


def knapsack(seed: int, n: int, tightness: float = 0.4) -> Pipeline:
    rng = np.random.default_rng(seed)
    projects = []
    for j in range(n):
        sched = tuple(float(v) for v in rng.integers(1, 100, size=3))
        capex = sum(sched)
        npv = float(int(capex / 3 + 50 * rng.random()))
        window = rng.random() < 0.3
        varying = rng.random() < 0.2
        projects.append(Project(f"K{j:03d}", f"Project {j}", SECTORS[int(rng.integers(0, 4))], capex, npv, sched,
                                row=j + 2, earliest_start=2027 if window else None,
                                latest_start=2028 if window else None,
                                min_stake=0.4 if varying else 1.0, max_stake=1.0,
                                leverage_eligible=bool(rng.random() < 0.5)))
    total = [sum(p.schedule[k] for p in projects) for k in range(3)]
    budget = tuple(BudgetYear(2027 + y, y + 2, capital_limit=float(int(tightness * total[min(y, 2)])))
                   for y in range(4))
    fund = Fund(planning_start=2027, equity_capital=float(int(0.8 * tightness * sum(total))), max_leverage=0.1,
                max_ltv=0.5, debt_cost=0.02, mip_gap=1e-4)
    sectors = (SectorLimit("Energy", 2, max_share=0.35), SectorLimit("Water", 3, min_share=0.1))
    return Pipeline(projects=tuple(projects), fund=fund, budget=budget, sectors=sectors)


def proven(data: Pipeline) -> float:
    o = Solver(SolverSettings(mip_gap=0.0, time_limit_s=120.0, **SEARCH_ONLY)).solve(build(data))
    assert o.status == "optimal"
    return o.objective


@pytest.mark.parametrize("seed,n", [(s, n) for s, n in zip(range(10), (40, 60, 80, 150, 200, 150, 90, 250, 120, 180))])
def test_a_portfolio_called_optimal_is_within_the_gap_of_the_proof(seed, n):
    data = knapsack(seed, n)
    settings = SolverSettings(mip_gap=1e-4, time_limit_s=60.0)
    m = build(data)
    solver = Solver(settings)
    c = solver._compiled(m)
    found = heuristic.solve(c.h, c.structure(), settings)
    best = proven(data)
    assert found.bound >= best - 1e-6
    if found.status == "optimal":
        assert found.objective >= best - 1e-4 * abs(found.objective) - 1e-6
        assert found.objective <= best + 1e-6
    # and the whole solve (heuristic, then the search when needed) meets the gap
    o = solver.solve(m)
    assert o.status == "optimal" and o.objective >= best - 1e-4 * abs(best) - 1e-6


def test_the_heuristic_settles_large_pipelines_without_a_search():
    """On a 600-project pipeline the rounded portfolio or the core meets the gap: no search."""
    data = knapsack(7, 600, tightness=0.5)
    settings = SolverSettings(mip_gap=1e-3, time_limit_s=60.0)
    m = build(data)
    c = Solver(settings)._compiled(m)
    found = heuristic.solve(c.h, c.structure(), settings)
    assert found.status == "optimal"
    assert found.bound - found.objective <= 1e-3 * found.objective
    assert found.objective <= proven(data) + 1e-6


def test_the_written_portfolio_satisfies_every_rule(tmp_path):
    """End to end through the workbook: a portfolio the heuristic settles passes the invariant checker."""
    from helpers import make_workbook
    from optimizer.runner import run_workbook

    data = knapsack(3, 200)
    projects = [{"project_id": p.project_id, "name": p.name, "sector": p.sector, "capex": p.capex, "npv": p.npv,
                 "min_stake": p.min_stake, "earliest_start": p.earliest_start, "latest_start": p.latest_start,
                 "leverage_eligible": "yes" if p.leverage_eligible else "no"} for p in data.projects]
    path = make_workbook(tmp_path / "k.xlsx", projects, schedule={p.project_id: list(p.schedule) for p in data.projects},
                         budget=[{"year": b.year, "capital_limit": b.capital_limit} for b in data.budget],
                         sectors=[{"sector": "Energy", "max_share": 0.35}, {"sector": "Water", "min_share": 0.1},
                                  {"sector": "Chips"}, {"sector": "Ports"}],
                         fund={"equity_capital": data.fund.equity_capital, "max_leverage": 0.1, "max_ltv": 0.5,
                               "debt_cost": 0.02, "mip_gap": 1e-4, "alternatives": 1, "explain_limit": 0})
    result = run_workbook(path, tmp_path / "out.xlsx", verify=True)
    assert result.verify_problems == []
    assert result.outcome.objective >= proven(data) * (1 - 1e-4) - 1e-6


def test_an_infeasible_relaxation_is_infeasible():
    data = knapsack(1, 80)
    locked = tuple(Project(**{**p.__dict__, "decision": "must fund"}) if i < 60 else p
                   for i, p in enumerate(data.projects))
    data = Pipeline(projects=locked, fund=data.fund, budget=data.budget, sectors=data.sectors)
    settings = SolverSettings(mip_gap=1e-4, time_limit_s=30.0)
    m = build(data)
    c = Solver(settings)._compiled(m)
    assert heuristic.solve(c.h, c.structure(), settings).status == "infeasible"
    assert Solver(SolverSettings(**SEARCH_ONLY)).solve(build(data)).status == "infeasible"


def test_a_start_highs_values_wrongly_is_dropped():
    """HiGHS 1.16 values this start at 935 in its presolved space (the columns give 740) and stops
    there, "optimal"; run_mip notices that the objective is not the returned columns' value and
    solves again without the start: 807, the true optimum (P01 + P02 + P07 + P09)."""
    import highspy

    from optimizer.solve import new_highs

    cost = [162, 195, 231, 177, 72, 64, 270, 56, 180]
    rows = {  # row: (lower, upper, {column: coefficient})
        "fixed out": (0, 0, {2: 1}),
        "equity": (-highspy.kHighsInf, 252.6, {0: 54, 1: 39, 2: 33, 3: 59, 4: 12, 5: 32, 6: 45, 7: 7, 8: 20}),
        "2027": (-highspy.kHighsInf, 92.9, {0: 18, 1: 39, 2: 16.5, 3: 59, 4: 12, 5: 16, 6: 15, 7: 7, 8: 20}),
        "2028": (-highspy.kHighsInf, 35.2, {0: 18, 2: 16.5, 5: 16, 6: 15}),
    }
    h = new_highs()
    n = len(cost)
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(cost, dtype=float))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.ones(n, dtype=np.uint8))
    h.changeColBounds(3, 0, 0)
    h.changeColBounds(6, 1, 1)
    for lo, up, coefs in rows.values():
        h.addRow(lo, up, len(coefs), np.array(list(coefs), dtype=np.int32), np.array(list(coefs.values()), dtype=float))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.setOptionValue("mip_rel_gap", 0.0)
    start = [1, 0, 0, 0, 1, 0, 1, 1, 1]
    heuristic.run_mip(h, start)
    x = np.array(h.getSolution().col_value)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(807)
    assert float(np.dot(cost, x)) == pytest.approx(807)
