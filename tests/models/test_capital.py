"""models/capital.py: Σ committed ≤ equity_capital (+ debt; no debt here, max_leverage 0)."""

from __future__ import annotations

import pytest

from enumerate import reference, run_case
from optimizer.errors import InfeasibleError


def project(pid, capex, npv, **extra):
    return {"project_id": pid, "name": f"Project {pid}", "sector": "Energy", "capex": capex, "npv": npv, **extra}


KNAPSACK = [project("A", 50, 60), project("B", 30, 40), project("C", 20, 25), project("D", 40, 44)]


def test_equity_capital_knapsack(tmp_path):
    # equity 70. Subsets within 70: {A} 60, {B} 40, {C} 25, {D} 44, {A,C} (70) 85,
    # {B,C} (50) 65, {B,D} (70) 84, {C,D} (60) 69; every other pair or triple costs > 70.
    # Optimum 85, unique: {A, C} (uses the capital exactly — the limit is inclusive).
    solved = run_case(tmp_path, projects=KNAPSACK, fund={"equity_capital": 70, "mip_gap": 0})
    assert solved.objective == pytest.approx(85)
    assert solved.selected == {"A", "C"}
    assert reference(KNAPSACK, fund={"equity_capital": 70}).objective == pytest.approx(85)


def test_equity_capital_binds(tmp_path):
    # With equity 300 all four fit (capex 140): 60 + 40 + 25 + 44 = 169 > 85.
    loose = run_case(tmp_path, "loose", projects=KNAPSACK, fund={"equity_capital": 300, "mip_gap": 0})
    tight = run_case(tmp_path, "tight", projects=KNAPSACK, fund={"equity_capital": 70, "mip_gap": 0})
    assert loose.objective == pytest.approx(169)
    assert tight.objective == pytest.approx(85)
    assert loose.objective > tight.objective


def test_equity_at_a_boundary(tmp_path):
    # equity 50: {A} (50) 60 or {B, C} (50) 65 or {D} 44, {B} 40 … → 65, {B, C}.
    solved = run_case(tmp_path, projects=KNAPSACK, fund={"equity_capital": 50, "mip_gap": 0})
    assert solved.objective == pytest.approx(65)
    assert solved.selected == {"B", "C"}


def test_default_equity_is_300(tmp_path):
    # No equity_capital on Fund: 300. X (200, 10) and Y (150, 9) do not both fit (350): 10, {X}.
    projects = [project("X", 200, 10), project("Y", 150, 9)]
    solved = run_case(tmp_path, projects=projects, fund={"mip_gap": 0})
    assert solved.objective == pytest.approx(10)
    assert solved.selected == {"X"}


def test_capex_schedule_overrides_capex(tmp_path):
    # A's CapexSchedule row 30 + 30 = 60 overrides its capex column (10); equity 50 cannot fund it.
    # B (capex 40, NPV 5) is the only choice: 5. With the capex column (10) A + B = 50 would fit.
    projects = [project("A", 10, 8), project("B", 40, 5)]
    solved = run_case(tmp_path, projects=projects, schedule={"A": [30, 30]},
                      fund={"equity_capital": 50, "mip_gap": 0})
    assert solved.objective == pytest.approx(5)
    assert solved.selected == {"B"}


def test_must_fund_above_equity_is_infeasible(tmp_path):
    projects = [project("A", 80, 8, decision="must fund"), project("B", 10, 5)]
    with pytest.raises(InfeasibleError):
        run_case(tmp_path, projects=projects, fund={"equity_capital": 70, "mip_gap": 0})
