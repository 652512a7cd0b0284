"""models/portfolio.py objectives: the Fund sheet's objective sums the registered terms.

    npv        Σ stake × NPV after delay − debt_cost × debt − Σ required_return × commitment
    strategic  Σ stake × strategic_score
    jobs       Σ stake × jobs
    weighted   Σ weight[k] × term[k] over objective_weights, e.g. "npv=1, strategic=0.1"

Each instance is a real workbook solved end to end by run_workbook(..., verify=True) with
mip_gap 0 on Fund; the optimum is computed by hand in the comment.
"""

from __future__ import annotations


import pytest

from helpers import project, solve, summary


# equity 100.
#        capex  NPV  strategic  jobs
#   A     60    30      40      1000
#   B     40    20      80       500
#   C     40    18      70      3000
#   D     20     9      10       200
# Portfolios within 100 (the rest are subsets of these, each worth less on every measure):
#              NPV  strategic  jobs   npv + 0.1 × strategic
#   A + B       50     120     1500          62
#   A + C       48     110     4000          59
#   A + D       39      50     1200          44
#   B + C + D   47     160     3700          63
PROJECTS = [project("A", 60, 30, strategic_score=40, jobs=1000),
            project("B", 40, 20, strategic_score=80, jobs=500),
            project("C", 40, 18, strategic_score=70, jobs=3000),
            project("D", 20, 9, strategic_score=10, jobs=200)]
FUND = {"equity_capital": 100}


@pytest.mark.parametrize("objective, weights, expected, selected", [
    ("npv", None, 50, {"A", "B"}),
    ("strategic", None, 160, {"B", "C", "D"}),
    ("jobs", None, 4000, {"A", "C"}),
    ("weighted", "npv=1, strategic=0.1", 63, {"B", "C", "D"}),
])
def test_each_objective_has_its_own_optimum(tmp_path, objective, weights, expected, selected):
    fund = {**FUND, "objective": objective, **({"objective_weights": weights} if weights else {})}
    result = solve(tmp_path, projects=PROJECTS, fund=fund)
    assert result.report.objective == pytest.approx(expected)
    assert set(result.outcome.selected) == selected
    s = summary(result)
    assert s["objective"] == objective
    assert s["objective value"] == pytest.approx(expected)


def test_weighted_weights_matter(tmp_path):
    # npv=1, strategic=0.05: A + B 50 + 6 = 56, B + C + D 47 + 8 = 55, A + C 53.5 → 56, A + B.
    result = solve(tmp_path, projects=PROJECTS,
                   fund={**FUND, "objective": "weighted", "objective_weights": "npv=1, strategic=0.05"})
    assert result.report.objective == pytest.approx(56)
    assert set(result.outcome.selected) == {"A", "B"}
    # jobs only by weight: "jobs=0.01, npv=1": A + C 48 + 40 = 88, B + C + D 47 + 37 = 84,
    # A + B 50 + 15 = 65 → 88, A + C
    jobs = solve(tmp_path, "jobs", projects=PROJECTS,
                 fund={**FUND, "objective": "weighted", "objective_weights": "jobs=0.01, npv=1"})
    assert jobs.report.objective == pytest.approx(88)
    assert set(jobs.outcome.selected) == {"A", "C"}


def test_strategic_and_jobs_scale_with_stake(tmp_path):
    # E (capex 100, strategic 90, jobs 1000, stake 0 … 1) and F (capex 50, strategic 30, whole);
    # equity 80. strategic: F (50) + E at 0.3 → 30 + 27 = 57 vs E at 0.8 → 72: the better
    # per unit of capital is E (0.9 vs 0.6): E 0.8, 72. jobs: E 10 a unit, F (jobs 800) 16 a unit:
    # F + E at 0.3 → 800 + 300 = 1100 vs E 0.8 → 800: 1100, F and E at 0.3.
    projects = [project("E", 100, 10, strategic_score=90, jobs=1000, min_stake=0, max_stake=1),
                project("F", 50, 5, strategic_score=30, jobs=800)]
    strategic = solve(tmp_path, "strategic", projects=projects, fund={"equity_capital": 80, "objective": "strategic"})
    assert strategic.report.objective == pytest.approx(72)
    assert {p: c.stake for p, c in strategic.outcome.choices.items()} == pytest.approx({"E": 0.8})
    jobs = solve(tmp_path, "jobs", projects=projects, fund={"equity_capital": 80, "objective": "jobs"})
    assert jobs.report.objective == pytest.approx(1100)
    assert {p: c.stake for p, c in jobs.outcome.choices.items()} == pytest.approx({"E": 0.3, "F": 1})


def test_npv_objective_includes_debt_cost_and_investor_returns(tmp_path):
    # equity 100; A (60, NPV 30) and B (60, NPV 25), both leverage-eligible, need 20 more.
    # Investor (max 10, required_return 0.02) is cheaper than debt (debt_cost 0.05), so it puts in
    # its 10 and the fund borrows 10 (≤ 0.5 × 110 leverage, ≤ 0.6 × 120 LTV).
    # Objective 55 − 0.02 × 10 − 0.05 × 10 = 54.3.
    projects = [project("A", 60, 30, leverage_eligible="yes"), project("B", 60, 25, leverage_eligible="yes")]
    fund = {"equity_capital": 100, "max_leverage": 0.5, "debt_cost": 0.05}
    investors = [{"investor": "Pension", "nation": "US", "max_commitment": 10, "required_return": 0.02}]
    result = solve(tmp_path, projects=projects, fund=fund, investors=investors)
    assert result.report.objective == pytest.approx(54.3)
    assert sum(result.outcome.debt.values()) == pytest.approx(10)
    assert result.outcome.investors == pytest.approx({"Pension": 10})
    s = summary(result)
    assert s["objective value"] == pytest.approx(54.3)
    assert s["NPV of portfolio"] == pytest.approx(55)
    assert s["debt cost"] == pytest.approx(0.5)
    assert s["investor returns"] == pytest.approx(0.2)
    # the financing terms are in the objective the solver maximized, not only in the report
    assert result.outcome.objective == pytest.approx(54.3)
    # weighted "npv=1" is the same objective, financing costs included
    weighted = solve(tmp_path, "weighted", projects=projects, investors=investors,
                     fund={**fund, "objective": "weighted", "objective_weights": "npv=1, strategic=0"})
    assert weighted.report.objective == pytest.approx(54.3)
    # with a dearer investor (0.08 > debt 0.05) the fund borrows all 20: 55 − 1 = 54
    dear = solve(tmp_path, "dear", projects=projects, fund=fund,
                 investors=[{**investors[0], "required_return": 0.08}])
    assert dear.report.objective == pytest.approx(54)
    assert dear.outcome.investors == {}
