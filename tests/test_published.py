"""Published capital-budgeting problems reproduced to their published optima.

Each classic is typed into a real workbook the way an analyst would enter it — per-period
outlays on ``CapexSchedule`` (Y1 = 2027, Y2 = 2028, … with planning_start 2027), per-period
funds on ``Budget``, interdependencies on ``Rules`` — solved end to end, and checked three
ways: against the published optimum, against the brute-force reference of
``tests/enumerate.py``, and by the invariant checker.

Equity is set far above the total outlay in the multi-period problems so that only the
per-period budgets bind, as in the published formulations.
"""

from __future__ import annotations

import pytest

from enumerate import reference, run_case

LOOSE_EQUITY = {"equity_capital": 10_000, "mip_gap": 0}


def periodic_case(pvs, outlays_by_period, funds_by_period, prefix="P"):
    """Workbook arguments for a multi-period knapsack: project j has PV pvs[j] and outlay
    outlays_by_period[t][j] in period t (Y(t+1)); period t has funds funds_by_period[t]."""
    ids = [f"{prefix}{j + 1}" for j in range(len(pvs))]
    projects = [{"project_id": pid, "name": f"Project {j + 1}", "sector": "Capital", "capex": None,
                 "npv": pv} for j, (pid, pv) in enumerate(zip(ids, pvs))]
    schedule = {pid: [period[j] for period in outlays_by_period] for j, pid in enumerate(ids)}
    budget = [{"year": 2027 + t, "capital_limit": f} for t, f in enumerate(funds_by_period)]
    return {"projects": projects, "fund": dict(LOOSE_EQUITY), "schedule": schedule, "budget": budget}


def test_lorie_savage_nine_projects_two_periods(tmp_path):
    """Lorie, J. H. and Savage, L. J. (1955), "Three Problems in Rationing Capital",
    Journal of Business 28(4): 229–239; the nine-project, two-period problem as solved by
    integer programming in Weingartner, H. M. (1963), "Mathematical Programming and the
    Analysis of Capital Budgeting Problems", Prentice-Hall (the Lorie–Savage problem).

    PV                 14 17 17 15 40 12 14 10 12
    outlay, period 1   12 54  6  6 30  6 48 36 18   funds 50
    outlay, period 2    3  7  6  2 35  6  4  3  3   funds 20
    Published integer optimum: 70, projects 1, 3, 4, 6, 9
    (period 1: 12+6+6+6+18 = 48 ≤ 50; period 2: 3+6+2+6+3 = 20 ≤ 20;
     PV 14+17+15+12+12 = 70).
    """
    case = periodic_case([14, 17, 17, 15, 40, 12, 14, 10, 12],
                         [[12, 54, 6, 6, 30, 6, 48, 36, 18], [3, 7, 6, 2, 35, 6, 4, 3, 3]],
                         [50, 20])
    published = 70
    published_set = {"P1", "P3", "P4", "P6", "P9"}

    brute = reference(**case)
    assert brute.objective == pytest.approx(published)
    assert brute.unique == published_set

    solved = run_case(tmp_path, "lorie-savage", **case)
    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(published, abs=1e-6)
    assert solved.selected == published_set  # unique by the brute force above


def test_taha_capital_budgeting_five_projects_three_years(tmp_path):
    """Taha, H. A., "Operations Research: An Introduction" (Pearson), the capital-budgeting
    example that opens the integer-programming chapter (numbering varies by edition).

    project   year 1  year 2  year 3   return
    1            5       1       8       20
    2            4       7      10       40
    3            3       9       2       20
    4            7       4       1       15
    5            8       6      10       30
    funds       25      25      25
    Published optimum: 95, projects 1, 2, 3, 4 (years use 19, 21, 21).
    """
    table = [(5, 1, 8, 20), (4, 7, 10, 40), (3, 9, 2, 20), (7, 4, 1, 15), (8, 6, 10, 30)]
    case = periodic_case([r[3] for r in table], [[r[t] for r in table] for t in range(3)], [25, 25, 25])
    published = 95
    published_set = {"P1", "P2", "P3", "P4"}

    brute = reference(**case)
    assert brute.objective == pytest.approx(published)
    assert brute.unique == published_set

    solved = run_case(tmp_path, "taha", **case)
    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(published, abs=1e-6)
    assert solved.selected == published_set


def test_hillier_lieberman_california_manufacturing(tmp_path):
    """Hillier, F. S. and Lieberman, G. J., "Introduction to Operations Research"
    (McGraw-Hill), the California Manufacturing Company prototype example of the
    integer-programming chapter:

        max 9 x1 + 5 x2 + 6 x3 + 4 x4
        s.t. 6 x1 + 3 x2 + 5 x3 + 2 x4 ≤ 10   (capital, $ millions)
             x3 + x4 ≤ 1                       (at most one new warehouse)
             x3 ≤ x1,  x4 ≤ x2                 (a warehouse only in a city with a new factory)
    x1 factory in Los Angeles, x2 factory in San Francisco, x3 warehouse in LA,
    x4 warehouse in SF. Published optimum: Z = 14 with x1 = x2 = 1 (both factories).
    The capital is the fund's equity; the rules are Rules rows (at_most k=1, requires).
    """
    projects = [
        {"project_id": "FLA", "name": "Factory in Los Angeles", "sector": "Factories", "capex": 6, "npv": 9},
        {"project_id": "FSF", "name": "Factory in San Francisco", "sector": "Factories", "capex": 3, "npv": 5},
        {"project_id": "WLA", "name": "Warehouse in Los Angeles", "sector": "Warehouses", "capex": 5, "npv": 6},
        {"project_id": "WSF", "name": "Warehouse in San Francisco", "sector": "Warehouses", "capex": 2, "npv": 4},
    ]
    rules = [{"rule": "at_most", "projects": "WLA, WSF", "k": 1},
             {"rule": "requires", "projects": "WLA, FLA"},
             {"rule": "requires", "projects": "WSF, FSF"}]
    case = {"projects": projects, "fund": {"equity_capital": 10, "mip_gap": 0}, "rules": rules}
    published = 14
    published_set = {"FLA", "FSF"}

    brute = reference(**case)
    assert brute.objective == pytest.approx(published)
    assert brute.unique == published_set

    solved = run_case(tmp_path, "california", **case)
    assert solved.status == "optimal"
    assert solved.objective == pytest.approx(published, abs=1e-6)
    assert solved.selected == published_set
