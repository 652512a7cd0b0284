"""models/selection.py start windows: the model chooses each project's start year in
earliest_start … latest_start; each year of delay divides its NPV by (1 + discount_rate) and
moves its spending (CapexSchedule row, or capex / duration per year) with it.

Each instance is a real workbook solved end to end by run_workbook(..., verify=True) with
mip_gap 0 on Fund; the optimum is computed by hand in the comment. planning_start is 2027.
"""

from __future__ import annotations


import pytest

from helpers import project, sheet_rows, solve


def starts(result) -> dict[str, int]:
    return {p: c.start_year for p, c in result.outcome.choices.items()}


# A: capex 10, NPV 10, may start 2027 or 2028.  B: capex 8, NPV 12, starts 2027 (no window).
# Budget: 2027 capital_limit 10. Equity 300 never binds.
SLIP = [project("A", 10, 10, earliest_start=2027, latest_start=2028), project("B", 8, 12)]
BUDGET_2027 = [{"year": 2027, "capital_limit": 10}]


def test_a_project_slips_a_year_to_fit_the_yearly_budget(tmp_path):
    # Both in 2027 spend 18 > 10. B (12) keeps 2027 and A slips to 2028: 10 / 1.06 = 9.433962…
    # Total 12 + 10 / 1.06 = 21.433962…; A alone in 2027 (10) or B alone (12) is worse.
    result = solve(tmp_path, projects=SLIP, budget=BUDGET_2027)
    assert result.report.objective == pytest.approx(12 + 10 / 1.06)
    assert starts(result) == {"A": 2028, "B": 2027}
    portfolio = {r["project_id"]: r for r in sheet_rows(result.output, "Portfolio")}
    assert portfolio["A"]["start_year"] == 2028
    assert portfolio["B"]["start_year"] == 2027
    assert portfolio["A"]["npv"] == pytest.approx(10 / 1.06)
    assert portfolio["A"]["npv_full"] == pytest.approx(10)
    assert portfolio["B"]["npv"] == pytest.approx(12)
    capital = {r["year"]: r for r in sheet_rows(result.output, "Capital")}
    assert capital[2027]["spending"] == pytest.approx(8)
    assert capital[2028]["spending"] == pytest.approx(10)
    assert capital[2027]["capital_limit"] == pytest.approx(10)


def test_the_yearly_budget_binds(tmp_path):
    # Without the Budget sheet both start in 2027 and nothing is discounted: 10 + 12 = 22.
    result = solve(tmp_path, projects=SLIP)
    assert result.report.objective == pytest.approx(22)
    assert starts(result) == {"A": 2027, "B": 2027}
    capital = {r["year"]: r for r in sheet_rows(result.output, "Capital")}
    assert capital[2027]["spending"] == pytest.approx(18)


@pytest.mark.parametrize("rate", [0.06, 0.10])
def test_two_years_of_delay_with_a_spread_schedule(tmp_path, rate):
    # A (capex 10, duration 2: 5 a year) may start 2027–2029; B (8, NPV 12) starts 2027.
    # Budget: 2027 ≤ 10, 2028 ≤ 4. A from 2027 spends 8 + 5 = 13 > 10 in 2027; from 2028 it
    # spends 5 > 4 in 2028; from 2029 it spends 5 in 2029 and 5 in 2030 (no limits): fits.
    # Optimum 12 + 10 / (1 + rate)^2; A alone from 2027 (10) and B alone (12) are worse.
    projects = [project("A", 10, 10, earliest_start=2027, latest_start=2029, duration=2), project("B", 8, 12)]
    budget = [{"year": 2027, "capital_limit": 10}, {"year": 2028, "capital_limit": 4}]
    result = solve(tmp_path, projects=projects, budget=budget, fund={"discount_rate": rate})
    assert result.report.objective == pytest.approx(12 + 10 / (1 + rate) ** 2)
    assert starts(result) == {"A": 2029, "B": 2027}
    capital = {r["year"]: r["spending"] for r in sheet_rows(result.output, "Capital")}
    assert capital[2027] == pytest.approx(8)
    assert capital[2028] == pytest.approx(0)
    assert capital[2029] == pytest.approx(5)
    assert capital[2030] == pytest.approx(5)
    portfolio = {r["project_id"]: r for r in sheet_rows(result.output, "Portfolio")}
    assert portfolio["A"]["start_year"] == 2029
    assert portfolio["A"]["npv"] == pytest.approx(10 / (1 + rate) ** 2)


def test_latest_start_limits_the_slip(tmp_path):
    # As the first case, but A must start in 2027 (latest_start 2027): it cannot slip, so the
    # fund takes B (12) alone; A's 10 is lost. earliest = latest: nothing is discounted.
    projects = [project("A", 10, 10, earliest_start=2027, latest_start=2027), project("B", 8, 12)]
    result = solve(tmp_path, projects=projects, budget=BUDGET_2027)
    assert result.report.objective == pytest.approx(12)
    assert result.outcome.selected == ["B"]


def test_a_later_window_is_not_discounted_at_its_earliest_start(tmp_path):
    # C may start 2029–2030 (earliest 2029); starting in 2029 is no delay: NPV 7 in full.
    # Budget 2029 ≤ 0 pushes it to 2030: 7 / 1.06.
    projects = [project("C", 5, 7, earliest_start=2029, latest_start=2030)]
    free = solve(tmp_path, "free", projects=projects)
    assert free.report.objective == pytest.approx(7)
    assert starts(free) == {"C": 2029}
    pushed = solve(tmp_path, "pushed", projects=projects, budget=[{"year": 2029, "capital_limit": 0}])
    assert pushed.report.objective == pytest.approx(7 / 1.06)
    assert starts(pushed) == {"C": 2030}
