"""optimizer/analysis/frontier.py and ``fundopt frontier``: the best objective as one rule moves.

    budget     x = equity_capital          y(x) = max Σ NPV over portfolios with Σ capex ≤ x (and every rule)
    risk       x = max_avg_risk 1 … 5      Σ capex × (risk − x) ≤ 0
    agreement  x = min_nation_satisfaction V[n] ≥ x × V*[n], V*[n] = max V[n] under every other rule
    nested     portfolio k ⊇ portfolio k−1; nesting_cost = y_free − y ≥ 0

Every workbook is real (helpers.make_workbook), read by the real reader and solved by real
HiGHS with mip_gap 0 on Fund. Each point is checked against a brute-force enumeration written
here (all-or-nothing projects, no delay), which imports nothing from models/ or optimizer/.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from helpers import make_workbook
from optimizer.analysis.frontier import frontier
from optimizer.errors import InfeasibleError, InputError
from optimizer.workbook.validate import read_pipeline

TOL = 1e-6
SECTOR_NAMES = ("Energy", "Ports", "Chips")


def project(pid, capex, npv, sector="Energy", **extra):
    return {"project_id": pid, "name": f"Project {pid}", "sector": sector, "capex": capex, "npv": npv, **extra}


def load(tmp_path: Path, name: str, projects, **workbook):
    workbook["fund"] = {"mip_gap": 0, "time_limit_s": 60, **(workbook.get("fund") or {})}
    return read_pipeline(make_workbook(tmp_path / f"{name}.xlsx", projects, **workbook))


# --------------------------------------------------------------------------- brute force
def subsets(projects, *, sectors=(), rules=(), risk_cap=None):
    """Every portfolio obeying the locks, sector limits and rules (not the equity):
    yields (ids, capex, npv, score value by nation)."""
    ids = [p["project_id"] for p in projects]
    for bits in itertools.product((0, 1), repeat=len(projects)):
        chosen = [p for p, b in zip(projects, bits) if b]
        inside = {p["project_id"] for p in chosen}
        if any(p.get("decision") == "must fund" and p["project_id"] not in inside for p in projects):
            continue
        if any(p.get("decision") == "exclude" for p in chosen):
            continue
        total = sum(p["capex"] for p in chosen)
        ok = True
        for s in sectors:
            members = [p for p in chosen if p["sector"] == s["sector"]]
            value = sum(p["capex"] for p in members)
            if s.get("max_projects") is not None and len(members) > s["max_projects"]:
                ok = False
            if s.get("max_share") is not None and value > s["max_share"] * total + TOL:
                ok = False
            if s.get("min_share") is not None and value < s["min_share"] * total - TOL:
                ok = False
        for r in rules:
            members = [q.strip() for q in r["projects"].split(",")]
            n_in = sum(1 for q in members if q in inside)
            kind = r["rule"]
            if kind == "requires" and members[0] in inside and n_in < len(members):
                ok = False
            elif kind == "excludes" and n_in > 1:
                ok = False
            elif kind == "at_most" and n_in > r["k"]:
                ok = False
            elif kind == "at_least" and n_in < r["k"]:
                ok = False
            elif kind == "together" and n_in not in (0, len(members)):
                ok = False
        if risk_cap is not None and sum(p["capex"] * (p["risk"] - risk_cap) for p in chosen) > TOL:
            ok = False
        if ok:
            scores = {n: sum(p.get(f"{n.lower()}_score", 0) * p["capex"] for p in chosen) for n in ("US", "JP")}
            yield frozenset(i for i, b in zip(ids, bits) if b), total, sum(p["npv"] for p in chosen), scores


def best_at(portfolios, equity, theta=None, ideals=None):
    """Best NPV among portfolios with capex ≤ equity (and each V[n] ≥ theta × V*[n]); None if none."""
    values = [npv for _, capex, npv, v in portfolios
              if capex <= equity + TOL
              and (theta is None or all(v[n] >= theta * ideals[n] - TOL for n in ideals))]
    return max(values) if values else None


def assert_point_is_feasible(point, projects, equity):
    """The reported portfolio fits the equity and is worth exactly y."""
    by_id = {p["project_id"]: p for p in projects}
    assert sum(by_id[q]["capex"] for q in point.selected) <= equity + TOL
    assert point.committed == pytest.approx(sum(by_id[q]["capex"] for q in point.selected), abs=TOL)
    assert point.y == pytest.approx(sum(by_id[q]["npv"] for q in point.selected), abs=TOL)


def random_case(rng: random.Random, n: int):
    projects = []
    for j in range(n):
        projects.append(project(f"P{j + 1}", rng.randint(5, 60), rng.randint(-5, 40), rng.choice(SECTOR_NAMES),
                                risk=rng.randint(1, 5), us_score=rng.randint(0, 10), jp_score=rng.randint(0, 10)))
    if rng.random() < 0.4:
        rng.choice(projects)["decision"] = "must fund"
    sectors = [{"sector": "Energy", "max_projects": rng.choice((1, 2, 3))},
               {"sector": "Ports", "max_share": rng.choice((0.4, 0.6, 0.8))},
               {"sector": "Chips"}]
    rules = []
    ids = [p["project_id"] for p in projects]
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(("requires", "excludes", "at_most", "together", "at_least"))
        members = rng.sample(ids, rng.randint(2, 3))
        rule = {"rule": kind, "projects": ", ".join(members)}
        if kind in ("at_most", "at_least"):
            rule["k"] = 1
        rules.append(rule)
    return projects, sectors, rules


# --------------------------------------------------------------------------- budget = enumeration
@pytest.mark.parametrize("seed", range(12))
def test_budget_frontier_equals_enumeration(tmp_path, seed):
    rng = random.Random(1000 + seed)
    projects, sectors, rules = random_case(rng, rng.randint(5, 8))
    portfolios = list(subsets(projects, sectors=sectors, rules=rules))
    if not portfolios:  # the rules conflict: the frontier says so (exit 3 on the command line)
        data = load(tmp_path, f"case{seed}", projects, sectors=sectors, rules=rules)
        with pytest.raises(InfeasibleError):
            frontier(data, "budget", 5)
        return
    data = load(tmp_path, f"case{seed}", projects, sectors=sectors, rules=rules)
    front = frontier(data, "budget", 7)
    assert len(front.points) == 7
    xs = [p.x for p in front.points]
    assert xs == sorted(xs)
    # x_min: the least commitments any portfolio obeying every other rule needs
    assert xs[0] == pytest.approx(min(c for _, c, _, _ in portfolios), abs=TOL)
    # x_max: the unconstrained optimum is affordable there, so more equity cannot help
    top = max(npv for _, _, npv, _ in portfolios)
    assert xs[-1] in {c for _, c, npv, _ in portfolios if npv >= top - TOL}
    assert front.points[-1].y == pytest.approx(top, abs=TOL)
    for p in front.points:
        expected = best_at(portfolios, p.x)
        assert p.status == "optimal", (seed, p)
        assert p.y == pytest.approx(expected, abs=TOL), (seed, p.x)
        assert_point_is_feasible(p, projects, p.x)
    ys = [p.y for p in front.points]
    assert all(b >= a - TOL for a, b in zip(ys, ys[1:]))  # more equity never hurts


def test_budget_range_starts_at_must_fund_commitments(tmp_path):
    # A (must fund, 30); B (20) requires A; C (25); D (10, NPV −3). The least feasible equity is
    # A's 30; the unconstrained optimum A + B + C commits 75. At 52.5: A + B (5; A + C needs 55);
    # at 63.75: A + C (16).
    projects = [project("A", 30, 4, decision="must fund"), project("B", 20, 1), project("C", 25, 12),
                project("D", 10, -3)]
    data = load(tmp_path, "must", projects, rules=[{"rule": "requires", "projects": "B, A"}])
    front = frontier(data, "budget", 5)
    assert front.x_range == (pytest.approx(30), pytest.approx(75))  # A + B + C: D has negative NPV
    assert [p.x for p in front.points] == pytest.approx([30, 41.25, 52.5, 63.75, 75])
    assert [p.y for p in front.points] == pytest.approx([4, 4, 5, 16, 17])


def test_budget_range_with_debt_starts_below_the_commitments(tmp_path):
    # Must fund A (capex 10, leverage eligible); debt ≤ 1 × equity and ≤ 100 % of A: the least
    # equity is 5 (5 of equity + 5 of debt), found by bisection.
    projects = [project("A", 10, 5, decision="must fund", leverage_eligible="yes"), project("B", 10, 3)]
    data = load(tmp_path, "debt", projects, fund={"max_leverage": 1, "max_ltv": 1, "debt_cost": 0})
    front = frontier(data, "budget", 3)
    assert front.x_range[0] == pytest.approx(5, abs=1e-4)
    assert front.points[0].status == "optimal" and front.points[0].selected == ["A"]


# --------------------------------------------------------------------------- nested
NEST = [project("A", 6, 7), project("B", 5, 5), project("C", 5, 5)]


def test_nested_frontier_costs_exactly_what_the_free_optimum_gains(tmp_path):
    # Budgets 0, 2, …, 16 (9 points; all three projects cost 16). At 6 and 8 the best is A (7).
    # At 10 the free optimum is B + C (10), but the nested portfolio must keep A and has no room
    # for B or C: 7, so nesting costs exactly 3. At 12 both are A + B (12); at 16 all (17).
    data = load(tmp_path, "nest", NEST)
    front = frontier(data, "budget", 9, nested=True)
    assert [p.x for p in front.points] == pytest.approx([0, 2, 4, 6, 8, 10, 12, 14, 16])
    assert [p.y for p in front.points] == pytest.approx([0, 0, 0, 7, 7, 7, 12, 12, 17])
    assert [p.y_free for p in front.points] == pytest.approx([0, 0, 0, 7, 7, 10, 12, 12, 17])
    assert [p.nesting_cost for p in front.points] == pytest.approx([0, 0, 0, 0, 0, 3, 0, 0, 0])
    at10 = front.points[5]
    assert at10.selected == ["A"] and sorted(at10.free_choices) == ["B", "C"]
    assert front.points[5].nesting_cost == 3.0
    for a, b in zip(front.points, front.points[1:]):
        assert set(a.selected) <= set(b.selected)
    points = front.json_points()
    assert points[5] == {"x": pytest.approx(10), "y": pytest.approx(7), "selected": ["A"], "status": "optimal",
                         "y_free": pytest.approx(10), "nesting_cost": pytest.approx(3),
                         "selected_free": ["B", "C"]}


@pytest.mark.parametrize("seed", range(10))
def test_nested_portfolios_grow_and_nesting_never_gains(tmp_path, seed):
    rng = random.Random(2000 + seed)
    projects, sectors, rules = random_case(rng, rng.randint(5, 7))
    portfolios = list(subsets(projects, sectors=sectors, rules=rules))
    if not portfolios:
        return
    data = load(tmp_path, f"nest{seed}", projects, sectors=sectors, rules=rules)
    front = frontier(data, "budget", 6, nested=True)
    for a, b in zip(front.points, front.points[1:]):
        assert set(a.selected) <= set(b.selected), (seed, a.x, b.x)
    for p in front.points:
        assert p.status == "optimal"
        assert p.y_free == pytest.approx(best_at(portfolios, p.x), abs=TOL)
        assert p.nesting_cost == pytest.approx(p.y_free - p.y, abs=TOL)
        assert p.nesting_cost >= -TOL
        assert_point_is_feasible(p, projects, p.x)
    assert front.points[0].nesting_cost == 0


# --------------------------------------------------------------------------- risk
# equity 100.  A 60 / NPV 30 / risk 5   B 40 / 16 / 1   C 40 / 14 / 2   D 20 / 6 / 3
RISKY = [project("A", 60, 30, risk=5), project("B", 40, 16, risk=1), project("C", 40, 14, risk=2),
         project("D", 20, 6, risk=3)]


def test_risk_frontier_by_hand(tmp_path):
    # cap 1: only B (16). cap 2: B + C (30; avg 1.5) or B + C + D (36 > 100? 100 ✓, avg 1.8) → 36.
    # cap 3: A + B (46, avg (300 + 40) / 100 = 3.4 ✗); A + D … (60 × 5 + 20 × 3) / 80 = 4.5 ✗;
    #        B + C + D 36 (avg 1.8) → 36.   cap 4: A + B 3.4 ✓ → 46.   cap 5: A + B 46.
    data = load(tmp_path, "risk", RISKY, fund={"equity_capital": 100})
    front = frontier(data, "risk", 5)
    assert [p.x for p in front.points] == [1, 2, 3, 4, 5]
    assert [p.y for p in front.points] == pytest.approx([16, 36, 36, 46, 46])
    assert sorted(front.points[0].selected) == ["B"]
    assert sorted(front.points[3].selected) == ["A", "B"]


@pytest.mark.parametrize("seed", range(6))
def test_risk_frontier_is_monotone_and_equals_enumeration(tmp_path, seed):
    rng = random.Random(3000 + seed)
    projects, sectors, rules = random_case(rng, 6)
    for p in projects:
        p.pop("decision", None)  # a must-fund risky project would make the low caps infeasible (tested below)
    equity = rng.choice((60, 90, 120))
    data = load(tmp_path, f"risk{seed}", projects, sectors=sectors, rules=rules, fund={"equity_capital": equity})
    if best_at(list(subsets(projects, sectors=sectors, rules=rules)), equity) is None:
        with pytest.raises(InfeasibleError):  # no cap helps: the other rules conflict
            frontier(data, "risk", 5)
        return
    front = frontier(data, "risk", 9)
    assert [p.x for p in front.points] == pytest.approx([1 + 0.5 * k for k in range(9)])
    for p in front.points:
        expected = best_at(list(subsets(projects, sectors=sectors, rules=rules, risk_cap=p.x)), equity)
        if expected is None:
            assert p.status == "infeasible" and p.y is None
        else:
            assert p.status == "optimal" and p.y == pytest.approx(expected, abs=TOL), (seed, p.x)
    ys = [p.y for p in front.points if p.y is not None]
    assert all(b >= a - TOL for a, b in zip(ys, ys[1:]))


def test_risk_frontier_reports_infeasible_caps_and_goes_on(tmp_path):
    # A (risk 5) must be funded alone-able: at caps below 5 − ε with only A… B (risk 1) dilutes it:
    # A 60 + B 40: avg (300 + 40) / 100 = 3.4. Caps 1, 2, 3 are infeasible; 4 and 5 fund A + B.
    projects = [project("A", 60, 30, risk=5, decision="must fund"), project("B", 40, 16, risk=1)]
    data = load(tmp_path, "riskinf", projects, fund={"equity_capital": 100})
    front = frontier(data, "risk", 5)
    assert [p.status for p in front.points] == ["infeasible"] * 3 + ["optimal"] * 2
    assert [p.y for p in front.points] == [None, None, None, pytest.approx(46), pytest.approx(46)]
    assert front.status == "optimal" and front.objective == pytest.approx(46)


def test_risk_frontier_needs_every_risk(tmp_path):
    data = load(tmp_path, "norisk", [project("A", 10, 5, risk=2), project("B", 10, 3)])
    with pytest.raises(InputError) as err:
        frontier(data, "risk", 5)
    (problem,) = err.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("Projects", 3, "risk")


# --------------------------------------------------------------------------- agreement
# equity 10.  A 6 / NPV 7 (US 5, JP 1)   B 5 / 5 (US 1, JP 6)   C 5 / 5 (US 2, JP 2)
# V = score × capex:  A: US 30, JP 6;  B: US 5, JP 30;  C: US 10, JP 10.
# Ideals within 10: US 30 (A), JP 40 (B + C).
AGREE = [project("A", 6, 7, us_score=5, jp_score=1), project("B", 5, 5, us_score=1, jp_score=6),
         project("C", 5, 5, us_score=2, jp_score=2)]


def test_agreement_frontier_by_hand(tmp_path):
    # θ ≤ 0.5: B + C (10) gives US 15 ≥ 0.5 × 30 and JP 40. θ = 0.75: US needs 22.5 → A only, whose
    # JP 6 < 30: infeasible, as is θ = 1.
    data = load(tmp_path, "agree", AGREE, fund={"equity_capital": 10})
    front = frontier(data, "agreement", 5)
    assert front.ideals == pytest.approx({"US": 30, "JP": 40})
    assert [p.x for p in front.points] == [0, 0.25, 0.5, 0.75, 1]
    assert [p.status for p in front.points] == ["optimal"] * 3 + ["infeasible"] * 2
    assert [p.y for p in front.points[:3]] == pytest.approx([10, 10, 10])
    assert front.objective is None and front.selected == []  # the last point (θ = 1) has no portfolio


@pytest.mark.parametrize("seed", range(6))
def test_agreement_frontier_is_monotone_and_equals_enumeration(tmp_path, seed):
    rng = random.Random(4000 + seed)
    projects, sectors, rules = random_case(rng, 6)
    equity = rng.choice((50, 80, 120))
    portfolios = [s for s in subsets(projects, sectors=sectors, rules=rules) if s[1] <= equity + TOL]
    data = load(tmp_path, f"agree{seed}", projects, sectors=sectors, rules=rules, fund={"equity_capital": equity})
    if not portfolios:
        with pytest.raises(InfeasibleError):
            frontier(data, "agreement", 5)
        return
    ideals = {n: max(v[n] for _, _, _, v in portfolios) for n in ("US", "JP")}
    front = frontier(data, "agreement", 9)
    assert front.ideals == pytest.approx(ideals)
    for p in front.points:
        expected = best_at(portfolios, equity, p.x, ideals)
        if expected is None:
            assert p.status == "infeasible" and p.y is None, (seed, p.x)
        else:
            assert p.status == "optimal" and p.y == pytest.approx(expected, abs=TOL), (seed, p.x)
    ys = [p.y for p in front.points]
    # y never rises as the floor tightens (x ascending), and once infeasible stays so
    solved = [y for y in ys if y is not None]
    assert all(b <= a + TOL for a, b in zip(solved, solved[1:]))
    assert ys[: len(solved)] == solved


def test_budget_frontier_with_a_satisfaction_floor_finds_ideals_at_each_budget(tmp_path):
    # min_nation_satisfaction 0.5: the ideals move with the equity, so each point recomputes them.
    projects = [dict(p) for p in AGREE]
    data = load(tmp_path, "floor", projects, fund={"min_nation_satisfaction": 0.5})
    front = frontier(data, "budget", 5)
    portfolios = list(subsets(projects))
    for p in front.points:
        fitting = [s for s in portfolios if s[1] <= p.x + TOL]
        ideals = {n: max(v[n] for _, _, _, v in fitting) for n in ("US", "JP")}
        assert p.y == pytest.approx(best_at(fitting, p.x, 0.5, ideals), abs=TOL), p.x


def test_infeasible_everywhere_raises(tmp_path):
    projects = [project("A", 10, 5, decision="must fund"), project("B", 10, 3, decision="must fund")]
    data = load(tmp_path, "conflict", projects, rules=[{"rule": "excludes", "projects": "A, B"}])
    with pytest.raises(InfeasibleError):
        frontier(data, "budget", 5)


# --------------------------------------------------------------------------- the command line
def fundopt(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optimizer", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def only_json(stdout: str) -> dict:
    text = stdout.strip()
    obj, end = json.JSONDecoder().raw_decode(text)
    assert text[end:].strip() == "", f"more than one JSON object on stdout: {stdout!r}"
    return obj


def test_cli_frontier_json_and_workbook(tmp_path):
    projects = [dict(p) for p in NEST] + [project("=SUM(A1)", 3, 1, sector="Ports")]
    make_workbook(tmp_path / "pipeline.xlsx", projects, fund={"mip_gap": 0})
    result = fundopt(tmp_path, "frontier", "pipeline.xlsx", "--x", "budget", "--y", "npv", "--points", "6",
                     "--json")
    assert result.returncode == 0, result.stderr
    out = only_json(result.stdout)
    assert out["status"] == "optimal" and out["errors"] == [] and out["mip_gap"] == 0
    assert len(out["points"]) == 6
    assert [set(p) >= {"x", "y", "selected"} for p in out["points"]] == [True] * 6
    assert out["points"][0]["x"] == 0 and out["points"][-1]["x"] == pytest.approx(19)
    assert out["objective"] == pytest.approx(18) and sorted(out["selected"]) == ["=SUM(A1)", "A", "B", "C"]
    assert out["output"] == str(Path("outputs") / "pipeline-frontier-budget.xlsx")
    path = tmp_path / out["output"]
    assert "point 6/6" in result.stderr  # progress per point on standard error

    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Frontier", "Portfolios", "Run"]
    rows = list(wb["Frontier"].iter_rows(values_only=True))
    assert rows[0][:6] == ("x", "y", "status", "projects", "committed", "selected")
    assert [r[1] for r in rows[1:7]] == pytest.approx([p["y"] for p in out["points"]])
    assert wb["Frontier"]._charts or zipfile.ZipFile(path).namelist()  # openpyxl drops charts on load
    assert "xl/charts/chart1.xml" in zipfile.ZipFile(path).namelist()
    chart = zipfile.ZipFile(path).read("xl/charts/chart1.xml").decode()
    assert "<c:scatterChart>" in chart and "Frontier!$A$2:$A$7" in chart and "Frontier!$B$2:$B$7" in chart
    matrix = list(wb["Portfolios"].iter_rows(values_only=True))
    assert matrix[0][:3] == ("project_id", "name", "sector") and len(matrix[0]) == 3 + 6
    tricky = next(r for r in matrix if r[0] == "=SUM(A1)")  # text stays text, never a formula
    assert tricky[-1] == 1
    cell = next(c for c in wb["Portfolios"]["A"] if c.value == "=SUM(A1)")
    assert cell.data_type == "s"
    run = {r[0]: r[1] for r in wb["Run"].iter_rows(min_row=2, values_only=True)}
    assert run["input file"] == "pipeline.xlsx" and len(run["input SHA-256"]) == 64
    assert run["option: points"] == 6


def test_cli_frontier_nested_json_reports_the_cost(tmp_path):
    make_workbook(tmp_path / "nest.xlsx", NEST, fund={"mip_gap": 0})
    result = fundopt(tmp_path, "frontier", "nest.xlsx", "--x", "budget", "--points", "9", "--nested", "-o",
                     "nest-frontier.xlsx", "--json")
    assert result.returncode == 0, result.stderr
    out = only_json(result.stdout)
    assert [p["nesting_cost"] for p in out["points"]] == pytest.approx([0, 0, 0, 0, 0, 3, 0, 0, 0])
    rows = list(openpyxl.load_workbook(tmp_path / "nest-frontier.xlsx")["Frontier"].iter_rows(values_only=True))
    assert {"y_free", "nesting_cost"} <= set(rows[0])
    cost = rows[0].index("nesting_cost")
    assert [r[cost] for r in rows[1:10]] == pytest.approx([0, 0, 0, 0, 0, 3, 0, 0, 0])


def test_cli_frontier_bad_input_exits_2(tmp_path):
    make_workbook(tmp_path / "bad.xlsx", [project("P1", -5, 3)])
    result = fundopt(tmp_path, "frontier", "bad.xlsx", "--x", "budget", "--json")
    assert result.returncode == 2, result.stderr
    out = only_json(result.stdout)
    assert out["status"] == "invalid" and out["output"] is None
    assert [(e["sheet"], e["row"], e["column"]) for e in out["errors"]] == [("Projects", 2, "capex")]
    # bad choices on the command line are listed with the workbook's problems
    result = fundopt(tmp_path, "frontier", "bad.xlsx", "--x", "weather", "--points", "1", "--json")
    assert result.returncode == 2
    errors = only_json(result.stdout)["errors"]
    assert [(e["sheet"], e["column"]) for e in errors] == [("command line", "--x"), ("command line", "--points"),
                                                          ("Projects", "capex")]
    assert not (tmp_path / "outputs").exists()


def test_cli_frontier_nested_needs_budget(tmp_path):
    make_workbook(tmp_path / "p.xlsx", RISKY, fund={"equity_capital": 100})
    result = fundopt(tmp_path, "frontier", "p.xlsx", "--x", "risk", "--nested", "--json")
    assert result.returncode == 2
    assert only_json(result.stdout)["errors"][0]["column"] == "--nested"


def test_cli_frontier_infeasible_exits_3(tmp_path):
    make_workbook(tmp_path / "p.xlsx", [project("A", 10, 5, decision="must fund"),
                                         project("B", 10, 3, decision="must fund")],
                  rules=[{"rule": "excludes", "projects": "A, B"}])
    result = fundopt(tmp_path, "frontier", "p.xlsx", "--x", "budget", "--json")
    assert result.returncode == 3, result.stderr
    assert only_json(result.stdout)["status"] == "infeasible"
