"""models/agreement.py and optimizer/analysis/agreement.py: the two-nation agreement.

    V[n] = Σ score_n × committed;  ideal V*[n] = the largest V[n] of any portfolio obeying every
    other rule (approvals included, min_nation_satisfaction excluded);  satisfaction = V / V*;
    min_nation_satisfaction θ: V[n] ≥ θ × V*[n];  maxmin_satisfaction maximizes min_n V[n]/V*[n],
    ties broken by NPV;  price of agreement = objective without the agreement rules (approvals,
    satisfaction) − objective with them.

Each instance is a real workbook solved end to end by run_workbook(..., verify=True) with
mip_gap 0 on Fund; the ideals and the optimum are computed by hand in the comment.
"""

from __future__ import annotations


import pytest

from helpers import project, sheet_rows, summary
from helpers import solve as _solve


def nations(result) -> dict:
    return {r["nation"]: r for r in sheet_rows(result.output, "Nations")}


# ----------------------------------------------------------------------------- approvals
# equity 300 (never binds); capex 10 each.
#   A 8 yes/yes   B 6 yes/no   C 5 no/yes   D 4 no/no   (us_approval / jp_approval)
APPROVALS = [project("A", 10, 8, us_approval="yes", jp_approval="yes"),
             project("B", 10, 6, us_approval="yes", jp_approval="no"),
             project("C", 10, 5, us_approval="no", jp_approval="yes"),
             project("D", 10, 4, us_approval="no", jp_approval="no")]


@pytest.mark.parametrize("rule, expected, selected, price", [
    # both: A only → 8; without approvals all four: 23; price 23 − 8 = 15
    ("both", 8, {"A"}, 15),
    # either: A, B, C → 19; price 23 − 19 = 4
    ("either", 19, {"A", "B", "C"}, 4),
    # none: nothing checked → 23; no agreement rule is on, so no price
    ("none", 23, {"A", "B", "C", "D"}, None),
])
def test_approval_rule_and_its_price(tmp_path, rule, expected, selected, price):
    result = solve(tmp_path, projects=APPROVALS, fund={"approval_rule": rule})
    assert result.report.objective == pytest.approx(expected)
    assert set(result.outcome.selected) == selected
    s = summary(result)
    if price is None:
        assert s["price of agreement"] is None
    else:
        assert s["price of agreement"] == pytest.approx(price)


# ----------------------------------------------------------------------------- satisfaction
# equity 100, capex 50 each: at most two projects. No approval columns.
#        NPV  us  jp
#   A    30   10   0
#   B    25    8   2
#   C    10    0  10
#   D    12    2   6
# V_US of the pairs (score × 50): AB 900, AC 500, AD 600, BC 400, BD 500, CD 100 → ideal 900 (AB)
# V_JP:                            AB 100, AC 500, AD 300, BC 600, BD 400, CD 800 → ideal 800 (CD)
# NPV:                             AB 55,  AC 40,  AD 42,  BC 35,  BD 37,  CD 22
SCORED = [project("A", 50, 30, us_score=10, jp_score=0), project("B", 50, 25, us_score=8, jp_score=2),
          project("C", 50, 10, us_score=0, jp_score=10), project("D", 50, 12, us_score=2, jp_score=6)]


def test_min_nation_satisfaction(tmp_path):
    # θ 0.5: US ≥ 450, Japan ≥ 400. AB (JP 100) ✗, AC (500, 500) ✓ 40, AD (JP 300) ✗,
    # BC (US 400) ✗, BD (500, 400) ✓ 37, CD (US 100) ✗; every single project fails one nation.
    # Optimum 40, A + C: US 500 / 900 = 0.5556, Japan 500 / 800 = 0.625.
    # Price of agreement: 55 (A + B, no satisfaction rule) − 40 = 15.
    result = solve(tmp_path, projects=SCORED, fund={"equity_capital": 100, "min_nation_satisfaction": 0.5})
    assert result.report.objective == pytest.approx(40)
    assert set(result.outcome.selected) == {"A", "C"}
    n = nations(result)
    assert n["US"]["score_value"] == pytest.approx(500)
    assert n["US"]["ideal_score_value"] == pytest.approx(900)
    assert n["US"]["satisfaction"] == pytest.approx(5 / 9)
    assert n["JP"]["score_value"] == pytest.approx(500)
    assert n["JP"]["ideal_score_value"] == pytest.approx(800)
    assert n["JP"]["satisfaction"] == pytest.approx(0.625)
    for row in n.values():
        assert row["satisfaction"] >= 0.5
        assert row["min_satisfaction"] == pytest.approx(0.5)
    s = summary(result)
    assert s["US satisfaction"] == pytest.approx(5 / 9)
    assert s["Japan satisfaction"] == pytest.approx(0.625)
    assert s["price of agreement"] == pytest.approx(15)


def test_min_nation_satisfaction_binds(tmp_path):
    # Without the rule: A + B, 55; the ideals are still reported (scores are given).
    result = solve(tmp_path, projects=SCORED, fund={"equity_capital": 100})
    assert result.report.objective == pytest.approx(55)
    assert set(result.outcome.selected) == {"A", "B"}
    n = nations(result)
    assert n["US"]["ideal_score_value"] == pytest.approx(900)
    assert n["JP"]["satisfaction"] == pytest.approx(100 / 800)


# A is approved by the US only; everything else by both.
def approved(rule_a_jp="no"):
    out = []
    for p in SCORED:
        jp = rule_a_jp if p["project_id"] == "A" else "yes"
        out.append({**p, "us_approval": "yes", "jp_approval": jp})
    return out


@pytest.mark.parametrize("rule, theta, expected, selected, ideal_us, price", [
    # both, θ 0.5: A is out, so the US ideal is the best pair without A: BD 500 (Japan's: CD 800).
    # US ≥ 250, Japan ≥ 400: BC (400, 600) 35 ✓, BD (500, 400) 37 ✓, CD (US 100) ✗ → 37, B + D.
    # Price: 55 (A + B, neither approvals nor satisfaction) − 37 = 18.
    ("both", 0.5, 37, {"B", "D"}, 500, 18),
    # both, θ 0.6: US ≥ 300, Japan ≥ 480: BC ✓ 35, BD (JP 400) ✗ → 35, B + C. (Had the US ideal
    # ignored the approvals, 900, the US would need 540 and no portfolio would do.) Price 20.
    ("both", 0.6, 35, {"B", "C"}, 500, 20),
    # either: A is approved (US yes) → as without approvals: A + C, 40; price 55 − 40 = 15.
    ("either", 0.5, 40, {"A", "C"}, 900, 15),
    # none: the same, 40; the satisfaction rule is still an agreement rule, price 15.
    ("none", 0.5, 40, {"A", "C"}, 900, 15),
])
def test_ideals_obey_the_approvals(tmp_path, rule, theta, expected, selected, ideal_us, price):
    fund = {"equity_capital": 100, "min_nation_satisfaction": theta, "approval_rule": rule}
    result = solve(tmp_path, projects=approved(), fund=fund)
    assert result.report.objective == pytest.approx(expected)
    assert set(result.outcome.selected) == selected
    n = nations(result)
    assert n["US"]["ideal_score_value"] == pytest.approx(ideal_us)
    assert n["JP"]["ideal_score_value"] == pytest.approx(800)
    for row in n.values():
        assert row["satisfaction"] >= theta - 1e-9
    assert summary(result)["price of agreement"] == pytest.approx(price)


# ----------------------------------------------------------------------------- maxmin
# equity 100, capex 50 each (two projects at most).
#        NPV  us  jp
#   P    10   10   0
#   Q    10    0  10
#   R    20    5   5
#   S     4    5   5
# Ideals: US P + R (or P + S) = 500 + 250 = 750; Japan Q + R = 750.
# min satisfaction of the pairs: PQ min(500, 500)/750 = 2/3 (NPV 20); RS 500/750 = 2/3 (NPV 24);
# PR, PS: Japan 250/750 = 1/3; QR, QS: US 1/3; single projects ≤ 1/3.
MAXMIN = [project("P", 50, 10, us_score=10, jp_score=0), project("Q", 50, 10, us_score=0, jp_score=10),
          project("R", 50, 20, us_score=5, jp_score=5), project("S", 50, 4, us_score=5, jp_score=5)]


def test_maxmin_satisfaction_breaks_ties_by_npv(tmp_path):
    # Best smaller satisfaction 2/3, reached by P + Q (NPV 20) and R + S (NPV 24): the tie goes
    # to the higher NPV, R + S. Objective (reported) = 2/3.
    # Price of agreement (in NPV for maxmin): best NPV without the rule P + R or Q + R = 30,
    # minus 24 = 6.
    result = solve(tmp_path, projects=MAXMIN, fund={"equity_capital": 100, "objective": "maxmin_satisfaction"})
    assert result.report.objective == pytest.approx(2 / 3)
    assert set(result.outcome.selected) == {"R", "S"}
    s = summary(result)
    assert s["objective value"] == pytest.approx(2 / 3)
    assert s["NPV of portfolio"] == pytest.approx(24)
    assert s["US satisfaction"] == pytest.approx(2 / 3)
    assert s["Japan satisfaction"] == pytest.approx(2 / 3)
    assert s["price of agreement"] == pytest.approx(6)
    n = nations(result)
    assert n["US"]["ideal_score_value"] == pytest.approx(750)
    assert n["JP"]["ideal_score_value"] == pytest.approx(750)


def test_maxmin_satisfaction_differs_from_npv(tmp_path):
    # The npv objective takes P + R or Q + R (30) with a smaller satisfaction of 1/3.
    result = solve(tmp_path, projects=MAXMIN, fund={"equity_capital": 100})
    assert result.report.objective == pytest.approx(30)
    sats = [row["satisfaction"] for row in nations(result).values()]
    assert min(sats) == pytest.approx(1 / 3)


def test_maxmin_with_a_floor(tmp_path):
    # maxmin and min_nation_satisfaction 0.6 together: R + S (2/3 ≥ 0.6) is still the answer.
    result = solve(tmp_path, projects=MAXMIN, fund={"equity_capital": 100, "objective": "maxmin_satisfaction",
                                                  "min_nation_satisfaction": 0.6})
    assert result.report.objective == pytest.approx(2 / 3)
    assert set(result.outcome.selected) == {"R", "S"}
    assert summary(result)["price of agreement"] == pytest.approx(6)


def solve(tmp_path, name: str = "case", **workbook):
    # maxmin_satisfaction: the solver's last objective is the NPV tie-break, not the reported one
    return _solve(tmp_path, name, check_objective=False, **workbook)


# ----------------------------------------------------------------------------- estimated (explain_limit 0)
# equity 90, capex 50 each: one project at most. D is not approved by the US.
#   exact ideals: US A 500, JP C 500 (D is out); NPV optimum A 30: US 500 / 500 = 1, JP 0 / 500 = 0.
#   LP relaxations: US A + 0.8 B = 500 + 320 = 820; JP C + 0.8 B = 500 + 80 = 580; without the
#   approvals NPV A + 0.8 B = 30 + 20 = 50, so the price of agreement is at most 50 − 30 = 20
#   (exactly 0: A alone is best either way).
ESTIMATED = [project("A", 50, 30, us_score=10, jp_score=0, us_approval="yes", jp_approval="yes"),
             project("B", 50, 25, us_score=8, jp_score=2, us_approval="yes", jp_approval="yes"),
             project("C", 50, 10, us_score=0, jp_score=10, us_approval="yes", jp_approval="yes"),
             project("D", 50, 12, us_score=2, jp_score=6, us_approval="no", jp_approval="yes")]


def test_explain_limit_0_estimates_the_agreement_figures_from_lp_bounds(tmp_path):
    est = solve(tmp_path, "estimated", projects=ESTIMATED, fund={"equity_capital": 90, "explain_limit": 0})
    exact = solve(tmp_path, "exact", projects=ESTIMATED, fund={"equity_capital": 90, "explain_limit": 1})
    assert est.report.objective == pytest.approx(30) and exact.report.objective == pytest.approx(30)
    n_est, n_exact = nations(est), nations(exact)
    assert n_exact["US"]["ideal_score_value"] == pytest.approx(500) and n_exact["US"]["ideal_basis"] == "exact"
    assert n_exact["JP"]["ideal_score_value"] == pytest.approx(500)
    assert n_est["US"]["ideal_score_value"] == pytest.approx(820)
    assert n_est["JP"]["ideal_score_value"] == pytest.approx(580)
    assert n_est["US"]["ideal_basis"].startswith("estimated")
    assert n_est["US"]["satisfaction"] == pytest.approx(500 / 820)
    assert n_exact["US"]["satisfaction"] == pytest.approx(1)
    s_est, s_exact = summary(est), summary(exact)
    assert s_exact["price of agreement"] == pytest.approx(0, abs=1e-9)
    assert s_est["price of agreement"] == pytest.approx(20)
    assert "estimated" in s_est["agreement figures"] and "agreement figures" not in s_exact


def test_a_satisfaction_rule_keeps_the_ideals_exact_with_explain_limit_0(tmp_path):
    # min_nation_satisfaction 0 holds for every portfolio, but the rule is on: its ideals are exact
    result = solve(tmp_path, projects=ESTIMATED,
                   fund={"equity_capital": 90, "explain_limit": 0, "min_nation_satisfaction": 0})
    n = nations(result)
    assert n["US"]["ideal_score_value"] == pytest.approx(500) and n["JP"]["ideal_score_value"] == pytest.approx(500)
    assert "agreement figures" not in summary(result)
