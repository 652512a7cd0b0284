"""A published capital-budgeting example with fractional funding, reproduced to its optimum.

Lorie, J. H. and Savage, L. J. (1955), "Three Problems in Rationing Capital", Journal of
Business 28(4): 229–239: nine projects, two periods. Weingartner, H. M. (1963), "Mathematical
Programming and the Analysis of Capital Budgeting Problems", Prentice-Hall, solves its linear
programming relaxation — every project may be taken in any fraction 0 … 1 — and reports the
LP optimum ≈ 70.27 (the integer optimum, 70, is in tests/test_published.py).

    PV                 14 17 17 15 40 12 14 10 12
    outlay, period 1   12 54  6  6 30  6 48 36 18   funds 50
    outlay, period 2    3  7  6  2 35  6  4  3  3   funds 20

Typed into a workbook as an analyst would: per-period outlays on CapexSchedule (Y1 = 2027,
Y2 = 2028), the funds as Budget capital_limit in 2027 and 2028, and min_stake 0, max_stake 1
on every project (a stake of 0 is "out"; any share up to 1 is allowed). Equity is set far above
the total outlay so that only the two periods' funds bind, as in the published formulation.

The LP optimum, by hand from the solution below: projects 1, 3, 4, 9 whole, x6 = 32/33,
x7 = 1/22, the others 0. Period 1: 12 + 6 + 6 + 18 + 6 × 32/33 + 48/22 = 42 + 64/11 + 24/11 = 50;
period 2: 3 + 6 + 2 + 3 + 6 × 32/33 + 4/22 = 14 + 64/11 + 2/11 = 20 (both funds exhausted).
PV: 14 + 17 + 15 + 12 + 12 × 32/33 + 14/22 = 58 + 128/11 + 7/11 = 773/11 = 70.2727…
"""

from __future__ import annotations

import highspy
import numpy as np
import pytest

from helpers import make_workbook, sheet_rows
from optimizer.runner import run_workbook

PV = [14, 17, 17, 15, 40, 12, 14, 10, 12]
OUTLAYS = [[12, 54, 6, 6, 30, 6, 48, 36, 18], [3, 7, 6, 2, 35, 6, 4, 3, 3]]
FUNDS = [50, 20]
PUBLISHED = 70.27  # Weingartner (1963), LP relaxation of the Lorie–Savage problem, to 2 decimals
HAND = 773 / 11
HAND_STAKES = {"P1": 1, "P3": 1, "P4": 1, "P6": 32 / 33, "P7": 1 / 22, "P9": 1}


def independent_lp() -> tuple[float, list[float]]:
    """max PV·x s.t. outlays_t·x ≤ funds_t, 0 ≤ x ≤ 1, with highspy's raw API (no Pyomo)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    n = len(PV)
    idx = np.arange(n, dtype=np.int32)
    for _ in range(n):
        h.addVar(0.0, 1.0)
    h.changeColsCost(n, idx, np.array(PV, dtype=float))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    for row, funds in zip(OUTLAYS, FUNDS):
        h.addRow(-highspy.kHighsInf, float(funds), n, idx, np.array(row, dtype=float))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value, list(h.getSolution().col_value)


def workbook(tmp_path):
    ids = [f"P{j + 1}" for j in range(len(PV))]
    projects = [{"project_id": pid, "name": f"Project {j + 1}", "sector": "Capital", "capex": None, "npv": pv,
                 "min_stake": 0, "max_stake": 1} for j, (pid, pv) in enumerate(zip(ids, PV))]
    schedule = {pid: [period[j] for period in OUTLAYS] for j, pid in enumerate(ids)}
    budget = [{"year": 2027 + t, "capital_limit": f} for t, f in enumerate(FUNDS)]
    return make_workbook(tmp_path / "lorie-savage-lp.xlsx", projects, schedule=schedule, budget=budget,
                         fund={"equity_capital": 10_000, "mip_gap": 0})


def test_independent_lp_matches_the_published_value():
    lp, x = independent_lp()
    assert lp == pytest.approx(HAND, abs=1e-9)
    assert round(lp, 2) == PUBLISHED
    assert x == pytest.approx([HAND_STAKES.get(f"P{j + 1}", 0.0) for j in range(len(PV))], abs=1e-9)


def test_lorie_savage_lp_relaxation_end_to_end(tmp_path):
    lp, _ = independent_lp()
    result = run_workbook(workbook(tmp_path), tmp_path / "lorie-savage-lp-out.xlsx", verify=True)
    assert result.verify_problems == [], result.verify_problems
    assert result.outcome.status == "optimal"
    objective = result.report.objective
    assert objective == pytest.approx(lp, abs=1e-6)
    assert round(objective, 2) == PUBLISHED
    assert objective == pytest.approx(HAND, abs=1e-6)

    # the LP optimum is unique (each x_j's range over the optimal face is one point), so the
    # stakes are asserted; a stake of 0 is "out": such projects are not in the portfolio
    stakes = {p: c.stake for p, c in result.outcome.choices.items() if c.stake > 1e-9}
    assert stakes == pytest.approx(HAND_STAKES, abs=1e-6)
    portfolio = {r["project_id"]: r for r in sheet_rows(result.output, "Portfolio")}
    assert set(portfolio) == set(HAND_STAKES)
    for pid, share in HAND_STAKES.items():
        assert portfolio[pid]["stake"] == pytest.approx(share, abs=1e-6)
    rejected = {r["project_id"] for r in sheet_rows(result.output, "Rejected")}
    assert rejected == {"P2", "P5", "P8"}

    # both periods' funds are used up
    capital = {r["year"]: r["spending"] for r in sheet_rows(result.output, "Capital")}
    assert capital[2027] == pytest.approx(50, abs=1e-6)
    assert capital[2028] == pytest.approx(20, abs=1e-6)
    summary = {r["item"]: r["value"] for r in sheet_rows(result.output, "Summary")}
    assert summary["objective value"] == pytest.approx(HAND, abs=1e-6)
    assert summary["mip gap"] == pytest.approx(0, abs=1e-9)


def test_fractions_are_worth_the_difference_to_the_integer_optimum(tmp_path):
    # The same workbook, all or nothing (no stake columns): the published integer optimum 70,
    # so allowing fractions is worth 773/11 − 70 = 3/11.
    ids = [f"P{j + 1}" for j in range(len(PV))]
    projects = [{"project_id": pid, "name": f"Project {j + 1}", "sector": "Capital", "capex": None, "npv": pv}
                for j, (pid, pv) in enumerate(zip(ids, PV))]
    schedule = {pid: [period[j] for period in OUTLAYS] for j, pid in enumerate(ids)}
    budget = [{"year": 2027 + t, "capital_limit": f} for t, f in enumerate(FUNDS)]
    path = make_workbook(tmp_path / "lorie-savage-int.xlsx", projects, schedule=schedule, budget=budget,
                         fund={"equity_capital": 10_000, "mip_gap": 0})
    result = run_workbook(path, tmp_path / "lorie-savage-int-out.xlsx", verify=True)
    assert result.verify_problems == []
    assert result.report.objective == pytest.approx(70, abs=1e-6)
    assert HAND - result.report.objective == pytest.approx(3 / 11)
