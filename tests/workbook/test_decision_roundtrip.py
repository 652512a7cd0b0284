"""The round trip of decisions: a lock typed on the output's Portfolio or Rejected sheet is applied
on the next run, written back to Projects, and survives every later run."""

from __future__ import annotations

import openpyxl
import pytest

from helpers import make_workbook
from optimizer.errors import InputError
from optimizer.runner import run_workbook

# Equity 10. A(6, npv 9), B(4, npv 5), C(5, npv 6), D(3, npv 2).
# Best: A+B = 14 (A+D = 11, B+C = 11, C+D = 8, B+D = 7, A+B is the only pair of value 14, no triple fits
# except B+D... B+C+D = 12 > 10 capex). Excluding A: best of {B,C,D} within 10: B+C = 11 (capex 9).
# Forcing D in (with A excluded): D+C (8) = 8, D+B = 7 → B+C+D has capex 12 > 10 → 8.
PROJECTS = [
    {"project_id": "A", "name": "a", "sector": "S", "capex": 6, "npv": 9},
    {"project_id": "B", "name": "b", "sector": "S", "capex": 4, "npv": 5},
    {"project_id": "C", "name": "c", "sector": "S", "capex": 5, "npv": 6},
    {"project_id": "D", "name": "d", "sector": "S", "capex": 3, "npv": 2},
]


def _edit(path, sheet, pid, decision):
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[header.index("project_id")].value == pid:
            row[header.index("decision")].value = decision
    wb.save(path)


def test_decision_edited_on_portfolio_and_rejected_is_applied_and_kept(tmp_path):
    src = make_workbook(tmp_path / "in.xlsx", PROJECTS, fund={"equity_capital": 10, "mip_gap": 0})
    first = run_workbook(src, tmp_path / "out1.xlsx", verify=True)
    assert first.report.objective == pytest.approx(14)
    assert sorted(first.report.selected) == ["A", "B"]

    _edit(first.output, "Portfolio", "A", "exclude")
    second = run_workbook(first.output, tmp_path / "out2.xlsx", verify=True)
    assert second.report.objective == pytest.approx(11)
    assert sorted(second.report.selected) == ["B", "C"]
    assert second.data.by_id["A"].decision == "exclude"

    _edit(second.output, "Rejected", "D", "must fund")
    third = run_workbook(second.output, tmp_path / "out3.xlsx", verify=True)
    assert third.report.objective == pytest.approx(8)
    assert sorted(third.report.selected) == ["C", "D"]

    # nothing edited: both locks survive, because they were written back to Projects
    fourth = run_workbook(third.output, tmp_path / "out4.xlsx", verify=True)
    assert fourth.report.objective == pytest.approx(8)
    assert fourth.data.by_id["A"].decision == "exclude"
    assert fourth.data.by_id["D"].decision == "must fund"
    ws = openpyxl.load_workbook(fourth.output)["Projects"]
    header = [c.value for c in ws[1]]
    decisions = {r[0]: r[header.index("decision")] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert decisions["A"] == "exclude" and decisions["D"] == "must fund"


def test_conflicting_edits_on_portfolio_and_projects_are_a_located_error(tmp_path):
    src = make_workbook(tmp_path / "in.xlsx", PROJECTS, fund={"equity_capital": 10, "mip_gap": 0})
    first = run_workbook(src, tmp_path / "out1.xlsx")
    _edit(first.output, "Portfolio", "A", "exclude")
    wb = openpyxl.load_workbook(first.output)
    ws = wb["Projects"]
    header = [c.value for c in ws[1]]
    if "decision" not in header:
        ws.cell(row=1, column=len(header) + 1, value="decision")
        header.append("decision")
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "A":
            ws.cell(row=row[0].row, column=header.index("decision") + 1, value="must fund")
    wb.save(first.output)
    with pytest.raises(InputError) as err:
        run_workbook(first.output, tmp_path / "out2.xlsx")
    [problem] = err.value.problems
    assert problem.sheet == "Portfolio" and problem.column == "decision" and problem.value == "exclude"
    assert "keep one of the two" in problem.message and "must fund" in problem.message
    assert problem.row == 1 + [r["project_id"] for r in first.report.portfolio].index("A") + 1
    assert not (tmp_path / "out2.xlsx").exists()
