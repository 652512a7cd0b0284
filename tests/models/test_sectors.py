"""models/sectors.py: min/max share of total commitments, min/max projects per sector."""

from __future__ import annotations

import pytest

from enumerate import check_verified, reference, run_case
from optimizer.errors import InfeasibleError

GAP0 = {"mip_gap": 0}

#          sector   capex  NPV
#   E1     Energy     40    30
#   E2     Energy     30    20
#   C1     Chips      20    10
#   C2     Chips      10     4
#   P1     Ports      10     2
# All five cost 110 ≤ 300 (default equity): with no limit the optimum is every project, 66.
PROJECTS = [
    {"project_id": "E1", "name": "Grid", "sector": "Energy", "capex": 40, "npv": 30},
    {"project_id": "E2", "name": "LNG", "sector": "Energy", "capex": 30, "npv": 20},
    {"project_id": "C1", "name": "Fab", "sector": "Chips", "capex": 20, "npv": 10},
    {"project_id": "C2", "name": "Packaging", "sector": "Chips", "capex": 10, "npv": 4},
    {"project_id": "P1", "name": "Harbor", "sector": "Ports", "capex": 10, "npv": 2},
]
FREE = 66


def sectors(**limits):
    """A Sectors sheet listing all three sectors, with ``limits`` = {sector: {column: value}}."""
    return [{"sector": s, **limits.get(s, {})} for s in ("Energy", "Chips", "Ports")]


def solve(tmp_path, name, sheet, fund=None):
    return run_case(tmp_path, name, projects=PROJECTS, sectors=sheet, fund={**GAP0, **(fund or {})})


def test_sheet_without_limits_changes_nothing(tmp_path):
    assert solve(tmp_path, "plain", sectors()).objective == pytest.approx(FREE)


def test_max_share(tmp_path):
    # Energy ≤ 0.5 of total. Both E1 and E2 (70) would need ≥ 140 in total; only 110 exists.
    # With E1 (40) the others must add ≥ 40, i.e. all of C1, C2, P1: 30 + 10 + 4 + 2 = 46
    # (Energy exactly 40 / 80 = 0.5: the limit is inclusive). With E2: 20 + 16 = 36.
    # Optimum 46, unique: {E1, C1, C2, P1}. Binds: 66 > 46.
    solved = solve(tmp_path, "max", sectors(Energy={"max_share": 0.5}))
    assert solved.objective == pytest.approx(46)
    assert solved.selected == {"E1", "C1", "C2", "P1"}
    assert solved.objective < FREE


def test_min_share(tmp_path):
    # Ports ≥ 0.2 of total: with P1 (10) in, total ≤ 50, so at most 40 of the others:
    # E1 (40) 30, E2 + C2 (40) 24, E2 (30) 20, C1 + C2 (30) 14 … → E1 + P1 = 32.
    # Without P1 the portfolio must be empty (0 ≥ 0.2 × total): 0. Optimum 32, {E1, P1}.
    solved = solve(tmp_path, "min", sectors(Ports={"min_share": "20%"}))
    assert solved.objective == pytest.approx(32)
    assert solved.selected == {"E1", "P1"}
    assert solved.objective < FREE


def test_min_projects(tmp_path):
    # equity 70. Without the sector rule: E1 + E2 (70) = 50 is best (E1 + C1 + C2 = 44,
    # E1 + C1 + P1 = 42, E2 + C1 + C2 + P1 = 36). Chips min_projects 2 forces C1 + C2 (30),
    # leaving 40: E1 → 30 + 14 = 44, or E2 + P1 → 22 + 14 = 36. Optimum 44, {E1, C1, C2}.
    free = solve(tmp_path, "free", sectors(), fund={"equity_capital": 70})
    bound = solve(tmp_path, "bound", sectors(Chips={"min_projects": 2}), fund={"equity_capital": 70})
    assert free.objective == pytest.approx(50)
    assert free.selected == {"E1", "E2"}
    assert bound.objective == pytest.approx(44)
    assert bound.selected == {"E1", "C1", "C2"}
    assert free.objective > bound.objective


def test_max_projects(tmp_path):
    # Energy max_projects 1: keep E1 (30) over E2 (20): 30 + 10 + 4 + 2 = 46, {E1, C1, C2, P1}.
    solved = solve(tmp_path, "maxn", sectors(Energy={"max_projects": 1}))
    assert solved.objective == pytest.approx(46)
    assert solved.selected == {"E1", "C1", "C2", "P1"}
    assert solved.objective < FREE


def test_all_limits_against_brute_force(tmp_path):
    # Every limit at once; the reference in tests/enumerate.py recomputes the optimum.
    sheet = sectors(Energy={"max_share": 0.6, "max_projects": 1}, Chips={"min_share": 0.2, "min_projects": 1},
                    Ports={"max_projects": 0})
    # Ports out; one Energy project; Chips ≥ 20 %, Energy ≤ 60 %:
    # E1 + C1 + C2 = 40 / 70 = 57 % Energy, 43 % Chips → 44 (E2 + C1 + C2: 34).
    solved = solve(tmp_path, "all", sheet)
    assert solved.objective == pytest.approx(44)
    assert reference(PROJECTS, sectors=sheet).objective == pytest.approx(44)


def test_min_share_of_a_sector_without_projects_leaves_the_empty_portfolio(tmp_path):
    # Water is listed with min_share 10 % but has no projects: any commitment C > 0 would need
    # 0 ≥ 0.1 × C. Only the empty portfolio obeys it (0 ≥ 0): objective 0, nothing funded.
    sheet = sectors() + [{"sector": "Water", "min_share": 0.1}]
    solved = solve_unchecked(tmp_path, "water-share", sheet)
    assert solved.objective == pytest.approx(0)
    assert solved.selected == frozenset()
    assert reference(PROJECTS, sectors=sheet).objective == pytest.approx(0)
    # the Constraints sheet must show the rule as holding (0 ≥ 0.1 × 0), not as broken
    check_verified(solved)


def solve_unchecked(tmp_path, name, sheet):
    return run_case(tmp_path, name, check=False, projects=PROJECTS, sectors=sheet, fund=GAP0)


def test_min_projects_in_a_sector_without_projects_is_infeasible(tmp_path):
    # Water is on the Sectors sheet but no project is in it: min_projects 1 can never hold.
    sheet = sectors() + [{"sector": "Water", "min_projects": 1}]
    with pytest.raises(InfeasibleError):
        solve(tmp_path, "water", sheet)
    # … while max_projects 0 on it changes nothing
    sheet = sectors() + [{"sector": "Water", "max_projects": 0}]
    assert solve(tmp_path, "water0", sheet).objective == pytest.approx(FREE)
