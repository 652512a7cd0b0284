"""models/selection.py stakes: min_stake / max_stake let the fund take a share of a project.

committed[p] = stake × capex and the NPV term is stake × NPV, so equity, sector shares and
every other share-based rule see the stake, not the whole project. Each instance is a real
workbook solved end to end by run_workbook(..., verify=True) with mip_gap 0 on Fund, the
invariant checker finding nothing; the optimum is computed by hand in the comment.
"""

from __future__ import annotations


import pytest

from helpers import project, sheet_rows, solve


def stakes(result) -> dict[str, float]:
    return {p: c.stake for p, c in result.outcome.choices.items()}


# equity 100
#   A  capex 80, NPV 40, stake 0.25 … 1   (0.50 NPV per unit of capital)
#   B  capex 60, NPV 36, all or nothing   (0.60 per unit)
#   C  capex 50, NPV 20, stake 0.5 … 0.8  (0.40 per unit)
KNAPSACK = [project("A", 80, 40, min_stake=0.25, max_stake=1),
            project("B", 60, 36),
            project("C", 50, 20, min_stake=0.5, max_stake=0.8)]


def test_partial_stake_fills_the_equity(tmp_path):
    # With B (60, 36) the 40 left go to the better per-unit project A: stake 40/80 = 0.5 → 20;
    # C at 0.8 (40) would give 16 only. 36 + 20 = 56.
    # Without B: A at 1 (80) leaves 20 < C's minimum 0.5 × 50 = 25 → 40; A at 0.9375 + C at 0.5
    # → 37.5 + 10 = 47.5; C alone ≤ 16. Optimum 56: B 1, A 0.5 (committed 40, NPV 20), C out.
    result = solve(tmp_path, projects=KNAPSACK, fund={"equity_capital": 100})
    assert result.report.objective == pytest.approx(56)
    assert stakes(result) == pytest.approx({"A": 0.5, "B": 1.0})
    rows = {r["project_id"]: r for r in sheet_rows(result.output, "Portfolio")}
    assert rows["A"]["stake"] == pytest.approx(0.5)
    assert rows["A"]["committed"] == pytest.approx(40)
    assert rows["A"]["npv"] == pytest.approx(20)
    assert rows["B"]["committed"] == pytest.approx(60)
    summary = {r["item"]: r["value"] for r in sheet_rows(result.output, "Summary")}
    assert summary["commitments"] == pytest.approx(100)
    assert summary["NPV of portfolio"] == pytest.approx(56)


def test_stakes_bind(tmp_path):
    # All or nothing (no stake columns): A (80) + nothing fits → 40; B + C at 1 is 110 > 100;
    # best is B alone 36 or A alone 40 → 40. Allowing shares is worth 56 − 40 = 16.
    whole = [{k: v for k, v in p.items() if k not in ("min_stake", "max_stake")} for p in KNAPSACK]
    result = solve(tmp_path, "whole", projects=whole, fund={"equity_capital": 100})
    assert result.report.objective == pytest.approx(40)
    assert result.outcome.selected == ["A"]


def test_max_stake_caps_and_min_stake_floors(tmp_path):
    # equity 300 (never binds). D: stake ≤ 0.6 → committed 0.6 × 80 = 48, NPV 0.6 × 40 = 24.
    # E: capex 200, NPV 50, stake ≥ 0.75 (150 of capital); F: capex 100, NPV 60, whole.
    # D (48) + F (100) + E at its maximum 1 (200) = 348 > 300, so E's stake is what is left:
    # (300 − 148) / 200 = 0.76 ≥ 0.75 → NPV 38. Total 24 + 60 + 38 = 122.
    # (Dropping D: E at 1 → 50 + 60 = 110 < 122.)
    projects = [project("D", 80, 40, min_stake=0.2, max_stake=0.6),
                project("E", 200, 50, min_stake=0.75, max_stake=1),
                project("F", 100, 60)]
    result = solve(tmp_path, projects=projects, fund={"equity_capital": 300})
    assert result.report.objective == pytest.approx(122)
    assert stakes(result) == pytest.approx({"D": 0.6, "E": 0.76, "F": 1.0})
    # a floor that no longer fits: equity 240 leaves E 240 − 148 = 92 < 150, so E must go
    # (E at 0.75 (150) + F (100) = 250 > 240 too). D + F = 84; E at (240 − 48) / 200 = 0.96
    # + D → 48 + 24 = 72; E at 1 alone → 50. Optimum 84: D 0.6 and F.
    tight = solve(tmp_path, "tight", projects=projects, fund={"equity_capital": 240})
    assert tight.report.objective == pytest.approx(84)
    assert stakes(tight) == pytest.approx({"D": 0.6, "F": 1.0})


def test_only_max_stake_given_means_all_or_nothing_at_that_share(tmp_path):
    # max_stake 0.5 without min_stake: the fund takes exactly half or nothing (validate.py).
    # G: capex 100, NPV 30 → half: committed 50, NPV 15. Equity 40 < 50 → nothing fits, 0;
    # equity 60 → 15 (a share of 0.4 would fit 40 but is not allowed).
    projects = [project("G", 100, 30, max_stake=0.5)]
    none = solve(tmp_path, "none", projects=projects, fund={"equity_capital": 40})
    assert none.report.objective == pytest.approx(0)
    assert none.outcome.selected == []
    half = solve(tmp_path, "half", projects=projects, fund={"equity_capital": 60})
    assert half.report.objective == pytest.approx(15)
    assert stakes(half) == pytest.approx({"G": 0.5})


# Sector max_share is of total commitments, and a stake scales a project's commitments.
#   H (Energy, capex 100, NPV 50, stake 0.1 … 1)   J (Transport, capex 40, NPV 10, whole)
# Energy max_share 0.6; equity 300.
SHARE_PROJECTS = [project("H", 100, 50, min_stake=0.1, max_stake=1), project("J", 40, 10, sector="Transport")]
SHARE_SECTORS = [{"sector": "Energy", "max_share": 0.6}, {"sector": "Transport"}]


def test_sector_share_scales_with_stake(tmp_path):
    # H alone is 100 % Energy: only H = 0 fits. With J: 100 s ≤ 0.6 × (100 s + 40) ⇔ s ≤ 0.6.
    # H at 0.6 (committed 60, NPV 30) + J (40, 10) = 40; Energy share 60 / 100 = 0.6 exactly.
    # J alone: 10. Optimum 40. (All or nothing, H could never enter: 100/140 = 0.71 > 0.6.)
    result = solve(tmp_path, projects=SHARE_PROJECTS, sectors=SHARE_SECTORS)
    assert result.report.objective == pytest.approx(40)
    assert stakes(result) == pytest.approx({"H": 0.6, "J": 1.0})
    sectors = {r["sector"]: r for r in result.report.sectors}
    assert sectors["Energy"]["committed"] == pytest.approx(60)
    assert sectors["Energy"]["share"] == pytest.approx(0.6)
    # the rule binds: without it H is taken whole, 50 + 10 = 60
    free = solve(tmp_path, "free", projects=SHARE_PROJECTS, sectors=[{"sector": "Energy"}, {"sector": "Transport"}])
    assert free.report.objective == pytest.approx(60)
    assert free.report.objective > result.report.objective


def test_equity_scales_with_stake(tmp_path):
    # The equity rule counts committed = stake × capex: K (capex 200, NPV 80, stake 0 … 1) and
    # equity 50 → stake 0.25, NPV 20 (committed 50). With equity 300 → stake 1, NPV 80.
    projects = [project("K", 200, 80, min_stake=0, max_stake=1)]
    small = solve(tmp_path, "small", projects=projects, fund={"equity_capital": 50})
    assert small.report.objective == pytest.approx(20)
    assert stakes(small) == pytest.approx({"K": 0.25})
    large = solve(tmp_path, "large", projects=projects, fund={"equity_capital": 300})
    assert large.report.objective == pytest.approx(80)


def test_a_zero_stake_is_out(tmp_path):
    # min_stake 0 means "out, or any share up to max_stake". L (capex 100, NPV −5, stake 0 … 1)
    # is worth taking at no share at all; M (capex 100, NPV 10) is whole. Equity 100: M alone, 10.
    # L must appear on Rejected, not on Portfolio with a stake of 0.
    projects = [project("L", 100, -5, min_stake=0, max_stake=1), project("M", 100, 10)]
    result = solve(tmp_path, projects=projects, fund={"equity_capital": 100})
    assert result.report.objective == pytest.approx(10)
    assert result.report.selected == ["M"]
    assert [r["project_id"] for r in sheet_rows(result.output, "Portfolio")] == ["M"]
    assert [r["project_id"] for r in sheet_rows(result.output, "Rejected")] == ["L"]
    assert {r["item"]: r["value"] for r in sheet_rows(result.output, "Summary")}["projects funded"] == 1


def test_a_zero_stake_cannot_satisfy_a_lock_or_a_count(tmp_path):
    # K (capex 100, NPV −5, stake 0 … 1) is must fund; L (100, NPV 10) is whole; equity 150.
    # Funding K means a positive share, so the solver may not meet the lock with a stake of 0:
    # K gets the smallest share that counts, MIN_SHARE = 1e-5 (selection.py), and L fits beside it.
    # Objective 10 − 5 × 1e-5 = 9.99995; K is on Portfolio (not Rejected) with that share.
    from models.selection import MIN_SHARE

    projects = [project("K", 100, -5, min_stake=0, max_stake=1, decision="must fund"), project("L", 100, 10)]
    result = solve(tmp_path, projects=projects, fund={"equity_capital": 150})
    assert result.report.objective == pytest.approx(10 - 5 * MIN_SHARE, abs=1e-9)
    assert stakes(result) == pytest.approx({"K": MIN_SHARE, "L": 1.0}, abs=1e-12)
    assert {r["project_id"] for r in sheet_rows(result.output, "Portfolio")} == {"K", "L"}
    # the same through a Rules row: L requires K → K at the smallest share, 9.99995
    free = [project("K", 100, -5, min_stake=0, max_stake=1), project("L", 100, 10)]
    required = solve(tmp_path, "requires", projects=free, fund={"equity_capital": 150},
                     rules=[{"rule": "requires", "projects": "L, K"}])
    assert required.report.objective == pytest.approx(10 - 5 * MIN_SHARE, abs=1e-9)
    # equity 100: L (100) and any positive share of K do not fit together, so L cannot be taken
    # (before the floor, K at 0 % "satisfied" the rule and L was funded: 10)
    tight = solve(tmp_path, "tight", projects=free, fund={"equity_capital": 100},
                  rules=[{"rule": "requires", "projects": "L, K"}])
    assert tight.report.objective == pytest.approx(0)
    assert tight.report.selected == []
