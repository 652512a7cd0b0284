"""models/leverage.py: fund debt and its safeguards.

    Σ committed ≤ equity + debt;  debt ≤ max_leverage × equity;
    debt ≤ max_ltv × Σ committed of leverage-eligible projects (leverage_eligible = yes and the
    sector's leverage_allowed is not no);  Debt[y] ≤ debt_limit[y] (Budget) and ≤ spend[y];
    objective npv − debt_cost × debt.

Each instance is a real workbook solved end to end by run_workbook(..., verify=True) with
mip_gap 0 on Fund; the optimum is computed by hand in the comment. planning_start is 2027.
"""

from __future__ import annotations


import pytest

from helpers import project, sheet_rows, solve, summary


def debt(result) -> float:
    return sum(result.outcome.debt.values())


# equity 100; A and B (capex 60 each, leverage-eligible) do not both fit on equity alone.
LEVERAGE = {"equity_capital": 100, "max_leverage": 0.5, "debt_cost": 0.05, "max_ltv": 0.6}
PAIR = [project("A", 60, 20, leverage_eligible="yes"), project("B", 60, 18, leverage_eligible="yes")]


def test_debt_lets_the_fund_take_one_more_project(tmp_path):
    # A + B commit 120 = 100 equity + 20 debt. Leverage 20 ≤ 0.5 × 100 = 50; LTV 20 ≤ 0.6 × 120 = 72.
    # Debt costs 0.05 a unit, so no more than 20 is drawn. Objective 20 + 18 − 0.05 × 20 = 37.
    # (A alone, no debt: 20.)
    result = solve(tmp_path, projects=PAIR, fund=LEVERAGE)
    assert result.report.objective == pytest.approx(37)
    assert set(result.outcome.selected) == {"A", "B"}
    assert debt(result) == pytest.approx(20)
    s = summary(result)
    assert s["objective value"] == pytest.approx(37)
    assert s["debt"] == pytest.approx(20)
    assert s["leverage (debt / equity)"] == pytest.approx(20 / 100)
    assert s["loan to value (debt / leverage-eligible commitments)"] == pytest.approx(20 / 120)
    assert s["debt cost"] == pytest.approx(1.0)
    assert s["NPV of portfolio"] == pytest.approx(38)
    sources = {r["source"]: r for r in sheet_rows(result.output, "Sources")}
    assert sources["fund debt"]["amount"] == pytest.approx(20)
    assert sources["fund debt"]["cost"] == pytest.approx(1.0)
    capital = {r["year"]: r for r in sheet_rows(result.output, "Capital")}
    assert capital[2027]["debt_drawn"] == pytest.approx(20)
    assert capital[2027]["equity_drawn"] == pytest.approx(100)


def test_without_leverage_the_fund_takes_one_project(tmp_path):
    # max_leverage 0 (the default): no debt, A alone, 20. Debt is worth 37 − 20 = 17.
    result = solve(tmp_path, projects=PAIR, fund={**LEVERAGE, "max_leverage": 0})
    assert result.report.objective == pytest.approx(20)
    assert result.outcome.selected == ["A"]
    assert debt(result) == 0
    # and max_leverage 0.1 allows 10 < 20: the cap on debt / equity binds, A alone again
    capped = solve(tmp_path, "capped", projects=PAIR, fund={**LEVERAGE, "max_leverage": 0.1})
    assert capped.report.objective == pytest.approx(20)


# A's sector (Mining) does not allow leverage: A cannot back debt even though it is eligible.
MINING = [project("A", 60, 20, sector="Mining", leverage_eligible="yes"),
          project("B", 60, 18, leverage_eligible="yes")]


def test_ltv_counts_only_projects_whose_sector_allows_leverage(tmp_path):
    # max_ltv 0.3: A + B need debt 20, but only B's 60 backs it: 0.3 × 60 = 18 < 20, so the pair
    # is out; A alone (no debt) 20 beats B alone 18. Objective 20, no debt.
    sectors = [{"sector": "Mining", "leverage_allowed": "no"}, {"sector": "Energy"}]
    result = solve(tmp_path, projects=MINING, sectors=sectors, fund={**LEVERAGE, "max_ltv": 0.3})
    assert result.report.objective == pytest.approx(20)
    assert result.outcome.selected == ["A"]
    assert debt(result) == 0
    # the safeguard binds: were Mining allowed, 0.3 × 120 = 36 ≥ 20 and the pair is taken: 37
    allowed = [{"sector": "Mining", "leverage_allowed": "yes"}, {"sector": "Energy"}]
    free = solve(tmp_path, "free", projects=MINING, sectors=allowed, fund={**LEVERAGE, "max_ltv": 0.3})
    assert free.report.objective == pytest.approx(37)
    # and with max_ltv 0.4, B alone backs 0.4 × 60 = 24 ≥ 20: the pair again, 37
    wider = solve(tmp_path, "wider", projects=MINING, sectors=sectors, fund={**LEVERAGE, "max_ltv": 0.4})
    assert wider.report.objective == pytest.approx(37)
    assert summary(wider)["loan to value (debt / leverage-eligible commitments)"] == pytest.approx(20 / 60)


def test_ltv_counts_only_leverage_eligible_projects(tmp_path):
    # B not leverage_eligible: only A's 60 backs debt; max_ltv 0.3 → 18 < 20: A alone, 20.
    projects = [project("A", 60, 20, leverage_eligible="yes"), project("B", 60, 18, leverage_eligible="no")]
    result = solve(tmp_path, projects=projects, fund={**LEVERAGE, "max_ltv": 0.3})
    assert result.report.objective == pytest.approx(20)
    assert result.outcome.selected == ["A"]


def test_ltv_binding_sets_the_stake_and_the_debt(tmp_path):
    # C: capex 200, NPV 80, stake 0 … 1, eligible; equity 50, max_leverage 2 (debt ≤ 100),
    # max_ltv 0.5, debt_cost 0.05. 200 s ≤ 50 + D and D ≤ 0.5 × 200 s ⇒ 100 s ≤ 50 ⇒ s ≤ 0.5;
    # each unit of stake is worth 80 − 0.05 × debt > 0, so s = 0.5, D = 50 (leverage 50 ≤ 100).
    # Objective 0.5 × 80 − 0.05 × 50 = 37.5.
    projects = [project("C", 200, 80, leverage_eligible="yes", min_stake=0, max_stake=1)]
    fund = {"equity_capital": 50, "max_leverage": 2, "max_ltv": 0.5, "debt_cost": 0.05}
    result = solve(tmp_path, projects=projects, fund=fund)
    assert result.report.objective == pytest.approx(37.5)
    assert result.outcome.choices["C"].stake == pytest.approx(0.5)
    assert debt(result) == pytest.approx(50)
    assert summary(result)["loan to value (debt / leverage-eligible commitments)"] == pytest.approx(0.5)
    # max_ltv 0.75: LTV allows 150 s, leverage caps debt at 100: 200 s ≤ 150 → s = 0.75, D = 100,
    # 60 − 5 = 55; the leverage cap binds instead (leverage 100 / 50 = 2).
    wider = solve(tmp_path, "wider", projects=projects, fund={**fund, "max_ltv": 0.75})
    assert wider.report.objective == pytest.approx(55)
    assert wider.outcome.choices["C"].stake == pytest.approx(0.75)
    assert summary(wider)["leverage (debt / equity)"] == pytest.approx(2)


# A, B (2027, 60 each) and C (capex 20, NPV 5, starts 2028), all eligible.
YEARLY = PAIR + [project("C", 20, 5, earliest_start=2028, leverage_eligible="yes")]


def test_yearly_debt_limit_binds(tmp_path):
    # No debt_limit: all three, 140 = 100 + debt 40 (≤ 50 leverage, ≤ 0.6 × 140 = 84 LTV):
    # 20 + 18 + 5 − 0.05 × 40 = 41.
    free = solve(tmp_path, "free", projects=YEARLY, fund=LEVERAGE)
    assert free.report.objective == pytest.approx(41)
    assert debt(free) == pytest.approx(40)
    # debt_limit 10 in 2027: debt 2027 ≤ 10 and 2028 ≤ its spending (C: 20) → at most 30 < 40,
    # and A + B need 20 with 2028's spending 0 → at most 10. A + C (80, no debt) = 25 beats
    # B + C = 23. Objective 25, no debt.
    capped = solve(tmp_path, "capped", projects=YEARLY, fund=LEVERAGE, budget=[{"year": 2027, "debt_limit": 10}])
    assert capped.report.objective == pytest.approx(25)
    assert set(capped.outcome.selected) == {"A", "C"}
    assert debt(capped) == 0
    # debt_limit 20 in each year: 20 + 20 = 40 is just enough: 41, debt 20 in 2027 and 20 in 2028.
    both = solve(tmp_path, "both", projects=YEARLY, fund=LEVERAGE,
                 budget=[{"year": 2027, "debt_limit": 20}, {"year": 2028, "debt_limit": 20}])
    assert both.report.objective == pytest.approx(41)
    assert both.outcome.debt == pytest.approx({2027: 20, 2028: 20})
    capital = {r["year"]: r for r in sheet_rows(both.output, "Capital")}
    assert capital[2027]["debt_drawn"] == pytest.approx(20)
    assert capital[2028]["debt_drawn"] == pytest.approx(20)
    assert capital[2027]["debt_limit"] == pytest.approx(20)
    assert summary(both)["debt"] == pytest.approx(40)
