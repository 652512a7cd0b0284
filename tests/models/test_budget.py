"""models/budget.py: yearly capital_limit on spending, with spending placed from the start year
(earliest_start, or planning_start 2027) by the CapexSchedule row or capex / duration."""

from __future__ import annotations

import pytest

from enumerate import reference, run_case
from optimizer.errors import InfeasibleError

GAP0 = {"mip_gap": 0}

# spending by calendar year (planning_start 2027, equity 300 never binds)
#   A  capex 10, duration 2                 → 2027: 5, 2028: 5     NPV 7
#   B  capex 6, earliest_start 2028         → 2028: 6              NPV 5
#   C  CapexSchedule Y1 2, Y2 8 (capex 10)  → 2027: 2, 2028: 8     NPV 6
#   D  capex 4                              → 2027: 4              NPV 3
PROJECTS = [
    {"project_id": "A", "name": "Alpha", "sector": "Energy", "capex": 10, "npv": 7, "duration": 2},
    {"project_id": "B", "name": "Bravo", "sector": "Energy", "capex": 6, "npv": 5, "earliest_start": 2028},
    {"project_id": "C", "name": "Charlie", "sector": "Energy", "capex": None, "npv": 6},
    {"project_id": "D", "name": "Delta", "sector": "Energy", "capex": 4, "npv": 3, "earliest_start": 2027},
]
SCHEDULE = {"C": [2, 8]}
BUDGET = [{"year": 2027, "capital_limit": 8}, {"year": 2028, "capital_limit": 12}]


def test_yearly_capital_limit(tmp_path):
    # limits 2027 ≤ 8, 2028 ≤ 12. Pairs (2027, 2028): {A,B} (5, 11) ok → 12; {A,C} (7, 13) no;
    # {A,D} (9, 5) no; {B,C} (2, 14) no; {B,D} (4, 6) ok → 8; {C,D} (6, 8) ok → 9.
    # Every triple breaks a year. Optimum 12, unique: {A, B}.
    # (Were B placed at planning_start, A + B would spend 11 in 2027; were A's duration ignored,
    #  A would spend 10 in 2027; either mistake would give 9.)
    solved = run_case(tmp_path, projects=PROJECTS, schedule=SCHEDULE, budget=BUDGET, fund=GAP0)
    assert solved.objective == pytest.approx(12)
    assert solved.selected == {"A", "B"}
    assert reference(PROJECTS, schedule=SCHEDULE, budget=BUDGET).unique == {"A", "B"}


def test_yearly_capital_limit_binds(tmp_path):
    # Without the Budget sheet all four are funded: 7 + 5 + 6 + 3 = 21 > 12.
    free = run_case(tmp_path, "free", projects=PROJECTS, schedule=SCHEDULE, fund=GAP0)
    capped = run_case(tmp_path, "capped", projects=PROJECTS, schedule=SCHEDULE, budget=BUDGET, fund=GAP0)
    assert free.objective == pytest.approx(21)
    assert capped.objective == pytest.approx(12)
    assert free.objective > capped.objective


def test_schedule_tail_and_idle_years(tmp_path):
    # A limit of 0 in 2029 stops only projects spending in 2029: E (duration 3 from 2027, NPV 9)
    # spends 2 in 2029; F (CapexSchedule 3, 0, 0, 4 → spends 4 in 2030) is unaffected; an
    # idle year (2035, limit 0) binds nothing. Optimum: F alone, 4.
    projects = [
        {"project_id": "E", "name": "Echo", "sector": "Energy", "capex": 6, "npv": 9, "duration": 3},
        {"project_id": "F", "name": "Foxtrot", "sector": "Energy", "capex": 7, "npv": 4},
    ]
    budget = [{"year": 2029, "capital_limit": 0}, {"year": 2035, "capital_limit": 0}]
    solved = run_case(tmp_path, projects=projects, schedule={"F": [3, 0, 0, 4]}, budget=budget, fund=GAP0)
    assert solved.objective == pytest.approx(4)
    assert solved.selected == {"F"}
    # and a 2030 limit of 3 would stop F instead
    budget2 = [{"year": 2030, "capital_limit": 3}]
    solved2 = run_case(tmp_path, "b2", projects=projects, schedule={"F": [3, 0, 0, 4]}, budget=budget2, fund=GAP0)
    assert solved2.objective == pytest.approx(9)
    assert solved2.selected == {"E"}


def test_a_closed_year_delays_a_project_with_a_start_window(tmp_path):
    # G (capex 10, NPV 10.6) may start in 2027 or 2028; 2027's limit is 0, so it starts in 2028
    # and its NPV is divided once by 1.06 (discount_rate): 10.6 / 1.06 = 10. Without the limit: 10.6.
    projects = [{"project_id": "G", "name": "Golf", "sector": "Energy", "capex": 10, "npv": 10.6,
                 "earliest_start": 2027, "latest_start": 2028}]
    fund = {**GAP0, "discount_rate": 0.06}
    delayed = run_case(tmp_path, "delayed", projects=projects, budget=[{"year": 2027, "capital_limit": 0}], fund=fund)
    free = run_case(tmp_path, "free", projects=projects, fund=fund)
    assert delayed.objective == pytest.approx(10.0)
    assert delayed.selected == {"G"}
    assert free.objective == pytest.approx(10.6)


def test_must_fund_above_a_yearly_limit_is_infeasible(tmp_path):
    projects = [{**PROJECTS[0], "decision": "must fund"}, PROJECTS[3]]
    with pytest.raises(InfeasibleError):
        run_case(tmp_path, projects=projects, budget=[{"year": 2028, "capital_limit": 4}], fund=GAP0)
