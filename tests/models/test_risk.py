"""models/risk.py and the ESG screen: portfolio-wide risk and concentration screens.
Shares and averages are of total commitments (commitment-weighted, not per project).

    Σ committed × risk ≤ max_avg_risk × Σ committed;   committed[p] ≤ max_project_share × Σ committed;
    Σ_(speculative sectors) committed ≤ max_speculative_share × Σ committed;
    jp_content_min × Σ committed ≤ Σ committed × jp_content ≤ jp_content_max × Σ committed;
    esg_score < min_esg_score → out.

Each instance is a real workbook solved end to end by run_workbook(..., verify=True) with
mip_gap 0 on Fund; the optimum is computed by hand in the comment, and a second solve without
the rule shows that it binds.
"""

from __future__ import annotations


import pytest

from helpers import project, solve, summary


def binding(result) -> set[str]:
    return {r["rule"] for r in result.report.constraints if r["binding"] == "yes"}


# ----------------------------------------------------------------------------- average risk
# equity 100.   A 60 / NPV 30 / risk 5   B 40 / 16 / 1   C 40 / 14 / 2   D 20 / 6 / 3
# Within 100: A + B 46, A + C 44, A + D 36, B + C + D 36, B + C 30, …
RISK = [project("A", 60, 30, risk=5), project("B", 40, 16, risk=1),
        project("C", 40, 14, risk=2), project("D", 20, 6, risk=3)]


def test_max_avg_risk_is_commitment_weighted(tmp_path):
    # max_avg_risk 3. A + B: (60 × 5 + 40 × 1) / 100 = 3.4 ✗ (its plain average (5 + 1) / 2 = 3
    # would pass); A + C 3.8 ✗; A + D 4.5 ✗; A alone 5 ✗. B + C + D: (40 + 80 + 60) / 100 = 1.8 ✓
    # → 36, the best without A. Optimum 36, B + C + D.
    result = solve(tmp_path, projects=RISK, fund={"equity_capital": 100, "max_avg_risk": 3})
    assert result.report.objective == pytest.approx(36)
    assert set(result.outcome.selected) == {"B", "C", "D"}
    assert summary(result)["average risk"] == pytest.approx(1.8)
    free = solve(tmp_path, "free", projects=RISK, fund={"equity_capital": 100})
    assert free.report.objective == pytest.approx(46)
    assert summary(free)["average risk"] == pytest.approx(3.4)


def test_max_avg_risk_with_a_partial_stake(tmp_path):
    # A may be taken in part (stake s in 0 … 1); max_avg_risk 3, equity 100. For each set of
    # whole projects, A's stake is the largest s with 60 s + capital ≤ 100 and
    # 300 s + Σ capex × risk ≤ 3 (60 s + capital) ⇔ 120 s ≤ 3 × capital − Σ capex × risk:
    #   none 0 │ B: s ≤ 2/3 → 20 + 16 = 36 │ C: s ≤ 1/3 → 10 + 14 = 24 │ D: s ≤ 0 → 6
    #   B + C: s ≤ 1/3 (capital) → 10 + 30 = 40 │ B + D: s ≤ 2/3 (both) → 20 + 22 = 42
    #   C + D: s ≤ 1/3 → 10 + 20 = 30 │ B + C + D: s = 0 → 36
    # Optimum 42: A at 2/3 (committed 40), B, D; average risk (200 + 40 + 60) / 100 = 3, binding.
    projects = [{**RISK[0], "min_stake": 0, "max_stake": 1}, *RISK[1:]]
    result = solve(tmp_path, projects=projects, fund={"equity_capital": 100, "max_avg_risk": 3})
    assert result.report.objective == pytest.approx(42)
    stakes = {p: c.stake for p, c in result.outcome.choices.items()}
    assert stakes == pytest.approx({"A": 2 / 3, "B": 1, "D": 1})
    assert summary(result)["average risk"] == pytest.approx(3)
    assert "Average risk" in binding(result)


# ----------------------------------------------------------------------------- project share
# equity 200.   A 100 / 50   B 60 / 12   C 50 / 8   D 50 / 5
SHARE = [project("A", 100, 50), project("B", 60, 12), project("C", 50, 8), project("D", 50, 5)]


def test_max_project_share(tmp_path):
    # Without the cap (≤ 200): A + C + D 63, A + B 62, A + B + … > 200 → 63.
    # max_project_share 0.4: A needs a total ≥ 250 > 200, so A is out; B + C + D = 160 with B at
    # 60 / 160 = 0.375 ✓ → 25; B + C: 60 / 110 ✗; C + D: 0.5 ✗. Optimum 25, B + C + D.
    result = solve(tmp_path, projects=SHARE, fund={"equity_capital": 200, "max_project_share": 0.4})
    assert result.report.objective == pytest.approx(25)
    assert set(result.outcome.selected) == {"B", "C", "D"}
    free = solve(tmp_path, "free", projects=SHARE, fund={"equity_capital": 200})
    assert free.report.objective == pytest.approx(63)
    assert set(free.outcome.selected) == {"A", "C", "D"}


# ----------------------------------------------------------------------------- speculative
# equity 200.  X Crypto (speculative) 100 / 40;  W Biotech (speculative) 40 / 12;
#              Y Energy 50 / 10;  Z Energy 50 / 8
SPEC = [project("X", 100, 40, sector="Crypto"), project("W", 40, 12, sector="Biotech"),
        project("Y", 50, 10), project("Z", 50, 8)]
SPEC_SECTORS = [{"sector": "Crypto", "speculative": "yes"}, {"sector": "Biotech", "speculative": "yes"},
                {"sector": "Energy", "speculative": "no"}]


def test_max_speculative_share(tmp_path):
    # Without the cap: X + W + Y (190) 62, X + W + Z 60, X + Y + Z (200) 58 → 62.
    # max_speculative_share 0.5: X + W + Y: 140 / 190 ✗; X + W + Z ✗; X + Y + Z: 100 / 200 = 0.5 ✓
    # → 58; W + Y + Z: 40 / 140 ✓ → 30; X + Y: 100 / 150 ✗. Optimum 58, X + Y + Z.
    result = solve(tmp_path, projects=SPEC, sectors=SPEC_SECTORS,
                   fund={"equity_capital": 200, "max_speculative_share": 0.5})
    assert result.report.objective == pytest.approx(58)
    assert set(result.outcome.selected) == {"X", "Y", "Z"}
    assert "Speculative share" in binding(result)
    free = solve(tmp_path, "free", projects=SPEC, sectors=SPEC_SECTORS, fund={"equity_capital": 200})
    assert free.report.objective == pytest.approx(62)
    # only sectors marked speculative count. At max_speculative_share 0.55 with Biotech
    # speculative: X + W + Y 140 / 190 = 0.74 ✗, X + W + Z ✗, X + Y + Z 0.5 ✓ → 58; with Biotech
    # not speculative, X + W + Y holds 100 / 190 = 0.53 ✓ → 62.
    not_spec = [{**s, "speculative": "no"} if s["sector"] == "Biotech" else s for s in SPEC_SECTORS]
    biotech_free = solve(tmp_path, "biotech", projects=SPEC, sectors=not_spec,
                         fund={"equity_capital": 200, "max_speculative_share": 0.55})
    assert biotech_free.report.objective == pytest.approx(62)
    biotech_spec = solve(tmp_path, "biotech-spec", projects=SPEC, sectors=SPEC_SECTORS,
                         fund={"equity_capital": 200, "max_speculative_share": 0.55})
    assert biotech_spec.report.objective == pytest.approx(58)


# ----------------------------------------------------------------------------- Japanese content
# equity 100.   A 60 / 30 / jp 0.1   B 40 / 15 / 0.5   C 40 / 14 / 0.8   D 20 / 5 / 0.2
# Within 100: A + B 45, A + C 44, A + D 35, B + C + D 34, B + C 29, …
JP = [project("A", 60, 30, jp_content=0.1), project("B", 40, 15, jp_content=0.5),
      project("C", 40, 14, jp_content=0.8), project("D", 20, 5, jp_content=0.2)]


def test_jp_content_min_is_commitment_weighted(tmp_path):
    # jp_content_min 0.3. A + B: (6 + 20) / 100 = 0.26 ✗ (plain average 0.3 would pass);
    # A + C: (6 + 32) / 100 = 0.38 ✓ → 44. Optimum 44, A + C.
    result = solve(tmp_path, projects=JP, fund={"equity_capital": 100, "jp_content_min": 0.3})
    assert result.report.objective == pytest.approx(44)
    assert set(result.outcome.selected) == {"A", "C"}
    assert summary(result)["Japanese content"] == pytest.approx(0.38)
    free = solve(tmp_path, "free", projects=JP, fund={"equity_capital": 100})
    assert free.report.objective == pytest.approx(45)


def test_jp_content_max(tmp_path):
    # jp_content_max 0.25. A + B 0.26 ✗; A + C 0.38 ✗; A + D (6 + 4) / 80 = 0.125 ✓ → 35;
    # B + C + D 0.56 ✗; B + D 0.4 ✗; A alone 0.1 → 30. Optimum 35, A + D (45 without the cap).
    result = solve(tmp_path, projects=JP, fund={"equity_capital": 100, "jp_content_max": 0.25})
    assert result.report.objective == pytest.approx(35)
    assert set(result.outcome.selected) == {"A", "D"}
    assert summary(result)["Japanese content"] == pytest.approx(0.125)


def test_jp_content_band(tmp_path):
    # Every portfolio within 100 and its content: A 0.1, B 0.5, C 0.8, D 0.2, A + B 0.26,
    # A + C 0.38, A + D 0.125, B + C 0.65, B + D 0.4, C + D 0.6, B + C + D 0.56.
    # Band 0.3 … 0.37: none is inside, so the empty portfolio, 0.
    result = solve(tmp_path, projects=JP, fund={"equity_capital": 100, "jp_content_min": 0.3,
                                                "jp_content_max": 0.37})
    assert result.report.objective == pytest.approx(0)
    assert result.outcome.selected == []
    # band 0.3 … 0.4: A + C (0.38) 44 beats B + D (0.4) 20
    wider = solve(tmp_path, "wider", projects=JP, fund={"equity_capital": 100, "jp_content_min": 0.3,
                                                        "jp_content_max": 0.4})
    assert wider.report.objective == pytest.approx(44)


# ----------------------------------------------------------------------------- ESG
def test_min_esg_score(tmp_path):
    # equity 200. E (60, NPV 20, esg 40), F (50, 15, esg 70), G (50, 12, esg blank: not screened).
    # All three fit (160): 47. min_esg_score 50 screens E out: F + G = 27.
    projects = [project("E", 60, 20, esg_score=40), project("F", 50, 15, esg_score=70), project("G", 50, 12)]
    result = solve(tmp_path, projects=projects, fund={"equity_capital": 200, "min_esg_score": 50})
    assert result.report.objective == pytest.approx(27)
    assert set(result.outcome.selected) == {"F", "G"}
    reasons = {r["project_id"]: r["reason"] for r in result.report.rejected}
    assert reasons["E"].startswith("ESG screen")
    free = solve(tmp_path, "free", projects=projects, fund={"equity_capital": 200})
    assert free.report.objective == pytest.approx(47)
