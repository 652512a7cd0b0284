"""models/investors.py: capital beyond the two governments.

    Commit[i] = 0 or in [min_commitment, max_commitment];  equity = equity_capital + Σ Commit;
    objective npv − Σ required_return × Commit;  while investor i commits anything the
    commitment-weighted average risk ≤ its max_avg_risk.

The government equity is split us_equity_share : (1 − us_equity_share), shown on the Nations
(government_equity) and Sources sheets. Each instance is a real workbook solved end to end by
run_workbook(..., verify=True) with mip_gap 0 on Fund; the optimum is computed by hand.
"""

from __future__ import annotations


import pytest

from helpers import project, sheet_rows, solve, summary


def investor(name="Nippon Life", **extra):
    return {"investor": name, "type": "institutional", "nation": "JP", **extra}


# equity 100 (US 60 %, Japan 40 %). A (60, NPV 20) and B (50, NPV 18) need 110.
PAIR = [project("A", 60, 20), project("B", 50, 18)]
FUND = {"equity_capital": 100, "us_equity_share": 0.6}


def test_min_commitment_and_required_return(tmp_path):
    # The investor (min 15, max 40, required_return 0.1) lets the fund take A + B (110): the fund
    # needs 10 but the investor puts in at least 15, cost 0.1 × 15 = 1.5.
    # Objective 38 − 1.5 = 36.5 (A alone without the investor: 20).
    result = solve(tmp_path, projects=PAIR, fund=FUND,
                   investors=[investor(min_commitment=15, max_commitment=40, required_return=0.1)])
    assert result.report.objective == pytest.approx(36.5)
    assert set(result.outcome.selected) == {"A", "B"}
    assert result.outcome.investors == pytest.approx({"Nippon Life": 15})
    s = summary(result)
    assert s["investor equity"] == pytest.approx(15)
    assert s["investor returns"] == pytest.approx(1.5)
    assert s["equity"] == pytest.approx(115)
    assert s["NPV of portfolio"] == pytest.approx(38)
    # government equity split 60 : 40, the Japanese investor counted on Japan's side
    nations = {r["nation"]: r for r in sheet_rows(result.output, "Nations")}
    assert nations["US"]["government_equity"] == pytest.approx(60)
    assert nations["JP"]["government_equity"] == pytest.approx(40)
    assert nations["US"]["investor_equity"] == pytest.approx(0)
    assert nations["JP"]["investor_equity"] == pytest.approx(15)
    assert nations["JP"]["equity"] == pytest.approx(55)
    sources = {r["source"]: r for r in sheet_rows(result.output, "Sources")}
    assert sources["US government equity"]["amount"] == pytest.approx(60)
    assert sources["Japan government equity"]["amount"] == pytest.approx(40)
    assert sources["Nippon Life"]["amount"] == pytest.approx(15)
    assert sources["Nippon Life"]["cost"] == pytest.approx(1.5)


def test_min_commitment_binds(tmp_path):
    # min_commitment 0: the investor puts in just the 10 needed, 38 − 1 = 37 > 36.5.
    result = solve(tmp_path, projects=PAIR, fund=FUND,
                   investors=[investor(min_commitment=0, max_commitment=40, required_return=0.1)])
    assert result.report.objective == pytest.approx(37)
    assert result.outcome.investors == pytest.approx({"Nippon Life": 10})


def test_max_commitment_binds(tmp_path):
    # max_commitment 5 < the 10 needed: A alone, 20, and the investor stays out (it only costs).
    result = solve(tmp_path, projects=PAIR, fund=FUND,
                   investors=[investor(max_commitment=5, required_return=0.1)])
    assert result.report.objective == pytest.approx(20)
    assert result.outcome.selected == ["A"]
    assert result.outcome.investors == {}
    # and without the investor at all: 20 too, so the investor is worth 36.5 − 20 in the first case
    alone = solve(tmp_path, "alone", projects=PAIR, fund=FUND)
    assert alone.report.objective == pytest.approx(20)


def test_us_equity_share_on_nations_and_sources(tmp_path):
    # us_equity_share 0.25 of equity 100: US 25, Japan 75; no investors, A alone (20).
    result = solve(tmp_path, projects=PAIR, fund={"equity_capital": 100, "us_equity_share": 0.25})
    nations = {r["nation"]: r for r in sheet_rows(result.output, "Nations")}
    assert nations["US"]["government_equity"] == pytest.approx(25)
    assert nations["JP"]["government_equity"] == pytest.approx(75)
    assert nations["US"]["equity_share"] == pytest.approx(0.25)
    sources = {r["source"]: r["amount"] for r in sheet_rows(result.output, "Sources")}
    assert sources["US government equity"] == pytest.approx(25)
    assert sources["Japan government equity"] == pytest.approx(75)


# Risk: A (60, NPV 20, risk 4), B (50, 18, risk 2), C (50, 15, risk 2); equity 100.
RISKY = [project("A", 60, 20, risk=4), project("B", 50, 18, risk=2), project("C", 50, 15, risk=2)]


def test_investor_risk_cap_makes_the_fund_prefer_a_safer_portfolio(tmp_path):
    # Investor: max 50, required_return 0.1, max_avg_risk 3.
    # Without the investor (≤ 100): B + C = 33 (A + anything is 110).
    # With it: A + B = 110 → 10 from the investor, 38 − 1 = 37, but the average risk is
    # (60 × 4 + 50 × 2) / 110 = 3.09 > 3, so the investor cannot be in; A + C likewise.
    # Optimum 33: B + C, investor out.
    result = solve(tmp_path, projects=RISKY, fund={"equity_capital": 100},
                   investors=[investor(max_commitment=50, required_return=0.1, max_avg_risk=3)])
    assert result.report.objective == pytest.approx(33)
    assert set(result.outcome.selected) == {"B", "C"}
    assert result.outcome.investors == {}
    # the cap binds: without it, A + B with 10 from the investor: 37
    free = solve(tmp_path, "free", projects=RISKY, fund={"equity_capital": 100},
                 investors=[investor(max_commitment=50, required_return=0.1)])
    assert free.report.objective == pytest.approx(37)
    assert set(free.outcome.selected) == {"A", "B"}
    assert free.outcome.investors == pytest.approx({"Nippon Life": 10})
    # a cap of 3.1 admits A + B (3.09): 37 again
    loose = solve(tmp_path, "loose", projects=RISKY, fund={"equity_capital": 100},
                  investors=[investor(max_commitment=50, required_return=0.1, max_avg_risk=3.1)])
    assert loose.report.objective == pytest.approx(37)


def test_investor_risk_cap_makes_the_fund_forgo_the_investor(tmp_path):
    # A (100, NPV 40, risk 4), B (40, NPV 10, risk 1); equity 100; investor max 50, return 0.1, cap 3.
    # A + B (140) needs 40 from the investor: 50 − 4 = 46, but the average risk is
    # (400 + 40) / 140 = 3.14 > 3. The fund keeps the risky A alone on its own equity (average
    # risk 4: the cap holds only while the investor is in): 40. B alone: 10.
    projects = [project("A", 100, 40, risk=4), project("B", 40, 10, risk=1)]
    result = solve(tmp_path, projects=projects, fund={"equity_capital": 100},
                   investors=[investor(max_commitment=50, required_return=0.1, max_avg_risk=3)])
    assert result.report.objective == pytest.approx(40)
    assert result.outcome.selected == ["A"]
    assert result.outcome.investors == {}
    sources = {r["source"]: r["amount"] for r in sheet_rows(result.output, "Sources")}
    assert sources["Nippon Life"] == pytest.approx(0)
    assert summary(result)["average risk"] == pytest.approx(4)
    free = solve(tmp_path, "free", projects=projects, fund={"equity_capital": 100},
                 investors=[investor(max_commitment=50, required_return=0.1)])
    assert free.report.objective == pytest.approx(46)
