"""Infeasible workbooks: exit 3 and a diagnosis naming the conflicting rules and the amount,
one case per rule family that can conflict. Each amount is worked out by hand in the comment."""

from __future__ import annotations

import json
import subprocess
import sys

import openpyxl
import pytest

from helpers import make_workbook
from optimizer.errors import InfeasibleError
from optimizer.runner import run_workbook


def P(pid, sector="S", capex=5.0, npv=5.0, **kw):
    return {"project_id": pid, "name": pid, "sector": sector, "capex": capex, "npv": npv, **kw}


def diagnosis(tmp_path, projects, **workbook):
    path = make_workbook(tmp_path / "in.xlsx", projects, **workbook)
    with pytest.raises(InfeasibleError) as err:
        run_workbook(path, tmp_path / "out.xlsx")
    # the Diagnosis sheet lists the same rules, with the same amounts
    rows = openpyxl.load_workbook(tmp_path / "out.xlsx")["Diagnosis"].iter_rows(min_row=2, values_only=True)
    sheet = {r[0]: r[2] for r in rows}
    assert sheet == {d["rule"]: d["shortfall"] for d in err.value.diagnosis}
    return {d["rule"]: d for d in err.value.diagnosis}


def test_capital(tmp_path):
    # must-fund A (6) + B (5) = 11 against equity 8: short by 3, equity needed 11
    d = diagnosis(tmp_path, [P("A", capex=6, decision="must fund"), P("B", decision="must fund")],
                  fund={"equity_capital": 8})
    assert d["equity capital"]["shortfall"] == pytest.approx(3)
    assert "equity needed: 11" in d["equity capital"]["detail"]


def test_yearly_budget(tmp_path):
    # A spends 4/yr over 2027–2028 (duration 2), B 3 in 2027: 2027 spending 7 against a limit of 5
    d = diagnosis(tmp_path, [P("A", capex=8, duration=2, decision="must fund"), P("B", capex=3, decision="must fund")],
                  budget=[{"year": 2027, "capital_limit": 5}])
    rule = d["Budget 2027 capital_limit 5"]
    assert rule["shortfall"] == pytest.approx(2)
    assert "2027" in rule["detail"]


def test_sector_minimum(tmp_path):
    # Space minimum 60%: Space projects approved by Japan add up to 0 (S1 is pending) and the
    # must-fund E1 commits 10, so any portfolio has Space share 0; the elastic model needs
    # 0.6 × 10 = 6 of Space commitments it cannot have
    projects = [P("S1", "Space", 4, 4, us_approval="yes", jp_approval="pending"),
                P("E1", "Energy", 10, 3, us_approval="yes", jp_approval="yes", decision="must fund")]
    d = diagnosis(tmp_path, projects, sectors=[{"sector": "Space", "min_share": 0.6}, {"sector": "Energy"}])
    rule = d["Space minimum share 60%"]
    assert rule["shortfall"] == pytest.approx(6)
    assert "Space projects that may be funded add up to 0" in rule["detail"]
    assert "E1 commits 10" in rule["detail"]


def test_locks_conflict_through_a_rule(tmp_path):
    # A and B are both must fund but the Rules sheet says they exclude each other
    d = diagnosis(tmp_path, [P("A", decision="must fund"), P("B", decision="must fund")],
                  rules=[{"rule": "excludes", "projects": "A, B"}])
    rule = d["Rules row 2: excludes A, B"]
    assert rule["shortfall"] == 1
    assert "A, B exclude each other" in rule["detail"]


def test_approvals(tmp_path):
    # must-fund B is not approved by Japan (no): the lock and the approval rule conflict
    d = diagnosis(tmp_path, [P("A", us_approval="yes", jp_approval="yes"),
                             P("B", us_approval="yes", jp_approval="no", decision="must fund")])
    rule = d["must fund B vs approval rule 'both'"]
    assert "not approved by Japan (no)" in rule["detail"]


def test_agreement(tmp_path):
    # Equity 5 fits one project. US ideal: A (9 × 5 = 45); Japan ideal: B (9 × 5 = 45).
    # min satisfaction 90%: each needs ≥ 40.5; A gives Japan 5, B gives the US 5: infeasible.
    # Least change: the nation short by the most... the elastic model keeps the cheaper one:
    # funding A leaves Japan at 5 (short 35.5 of 45 = 78.89%), funding B leaves the US short the same.
    projects = [P("A", us_score=9, jp_score=1), P("B", us_score=1, jp_score=9)]
    d = diagnosis(tmp_path, projects, fund={"equity_capital": 5, "min_nation_satisfaction": 0.9})
    rules = [r for r in d if r.startswith("min_nation_satisfaction 90%")]
    assert len(rules) == 1
    assert d[rules[0]]["shortfall"] == pytest.approx(35.5)
    assert "78.89%" in d[rules[0]]["detail"]


def test_leverage(tmp_path):
    # must-fund A (10, leverage eligible) with equity 8: 2 of debt needed, but max_ltv 0.1 allows
    # 0.1 × 10 = 1 of debt: short by 1 either in equity or in the LTV cap
    d = diagnosis(tmp_path, [P("A", capex=10, leverage_eligible="yes", decision="must fund")],
                  fund={"equity_capital": 8, "max_leverage": 1, "max_ltv": 0.1})
    assert "equity capital" in d or "max_ltv 0.1" in d
    amounts = {r: v["shortfall"] for r, v in d.items()}
    assert amounts.get("max_ltv 0.1", amounts.get("equity capital")) in (pytest.approx(1), pytest.approx(2))
    assert any("relaxing this rule alone by 1 restores feasibility" in v["detail"] for v in d.values())


def test_cli_exit_3_with_json_diagnosis(tmp_path):
    path = make_workbook(tmp_path / "in.xlsx", [P("A", capex=6, decision="must fund")], fund={"equity_capital": 4})
    proc = subprocess.run([sys.executable, "-m", "optimizer", "run", str(path), "-o", str(tmp_path / "o.xlsx"),
                           "--json"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 3
    payload = json.loads(proc.stdout)
    assert payload["status"] == "infeasible"
    [entry] = [d for d in payload["diagnosis"] if d["rule"] == "equity capital"]
    assert entry["shortfall"] == pytest.approx(2)
    assert payload["output"] == str(tmp_path / "o.xlsx")


def test_rejected_names_the_rules_that_keep_a_project_out(tmp_path):
    # Equity 8; A (5, NPV 10), B (12, NPV 20), C (4, NPV 3). A + C = 9 does not fit, so the best
    # is A alone (10). B can never fit: forcing it in breaks only the equity rule. C could be
    # funded (alone), so it is crowded out by A, a value judgement rather than a rule.
    projects = [P("A", "S", 5, 10), P("B", "T", 12, 20), P("C", "S", 4, 3)]
    path = make_workbook(tmp_path / "in.xlsx", projects, fund={"equity_capital": 8, "mip_gap": 0},
                         sectors=[{"sector": "S"}, {"sector": "T"}])
    result = run_workbook(path, tmp_path / "out.xlsx", verify=True)
    assert result.verify_problems == []
    reasons = {r["project_id"]: r for r in result.report.rejected}
    # with B in, commitments are 12 against equity 8: the equity rule gives way by 4
    assert reasons["B"]["reason"] == "no portfolio with it meets every rule; least change: loosen equity capital (off by 4)"
    assert reasons["B"]["break_even_npv"] is None
    # C: forced in, the best is C alone (3) against A (10): break-even NPV 3 + (10 − 3) = 10
    assert reasons["C"]["reason"] == "crowded out"
    assert reasons["C"]["break_even_npv"] == pytest.approx(10)


def test_blocking_rules_solve_the_elastic_model_once_a_project(tmp_path, monkeypatch):
    """The rules keeping a project out come from one elastic solve each: the least change of each
    rule alone (one further solve per rule in a diagnosis) is not part of that answer."""
    from optimizer.analysis import diagnosis
    from optimizer.solve import Solver, SolverSettings
    from optimizer.workbook.validate import read_pipeline

    projects = [P("A", "S", 5, 10), P("B", "T", 12, 20), P("D", "T", 14, 30)]
    path = make_workbook(tmp_path / "in.xlsx", projects, fund={"equity_capital": 8, "mip_gap": 0},
                         sectors=[{"sector": "S"}, {"sector": "T"}])
    data = read_pipeline(path)
    solves = []
    real = Solver.solve
    monkeypatch.setattr(Solver, "solve", lambda self, m: solves.append(1) or real(self, m))
    got = diagnosis.blocking_rules(data, SolverSettings(mip_gap=0.0), {}, ["B", "D"], 5)
    assert got == {"B": ["equity capital (off by 4)"], "D": ["equity capital (off by 6)"]}
    assert len(solves) == 2


def test_every_conflicting_rule_gets_its_own_least_change_solve(tmp_path, monkeypatch):
    """Two rules conflict (equity short by 3, the 2027 budget by 2), and neither alone restores
    feasibility: each is still tried alone, one elastic solve each after the first."""
    from optimizer.solve import Solver

    solves = []
    real = Solver.solve
    monkeypatch.setattr(Solver, "solve", lambda self, m: solves.append(1) or real(self, m))
    d = diagnosis(tmp_path, [P("A", capex=8, duration=2, decision="must fund"), P("B", capex=3, decision="must fund")],
                  fund={"equity_capital": 8}, budget=[{"year": 2027, "capital_limit": 5}])
    assert d["equity capital"]["shortfall"] == pytest.approx(3)
    assert d["Budget 2027 capital_limit 5"]["shortfall"] == pytest.approx(2)
    assert all(v["least_change"] is None for v in d.values())
    elastic = len(solves) - 1  # the run's own solve first
    assert elastic == 1 + len(d)
