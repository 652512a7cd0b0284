"""The comparison workbook recomputed from the scenarios' own output workbooks."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest

from batch_cases import SCENARIOS, batch_json, workbook
from helpers import sheet_rows

EVIL = "=HYPERLINK(\"http://example.com\",\"x\")"
EXTRA = [{"scenario": EVIL, "equity_capital": 200}, {"scenario": "crossed", "sector:AI:min_share": 0.9}]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("comparison")
    code, out = batch_json(workbook(tmp / "pipeline.xlsx", scenarios=SCENARIOS + EXTRA), "-o", tmp / "out")
    assert code == 0, out
    return tmp / "out", out


def _summary(path) -> dict:
    return {r["item"]: r["value"] for r in sheet_rows(path, "Summary")}


def test_key_figures_are_those_of_each_scenario_workbook(batch):
    folder, out = batch
    rows = sheet_rows(folder / "comparison.xlsx", "Comparison")
    assert [r["scenario"] for r in rows] == ["base"] + [s["scenario"] for s in SCENARIOS + EXTRA]
    for row in rows:
        if row["status"] == "invalid":
            assert row["output"] is None and "min_share" in row["errors"]
            continue
        summary = _summary(folder / row["output"])
        assert summary["status"] == row["status"]
        assert summary["scenario"] == row["scenario"]
        if row["status"] == "infeasible":
            assert sheet_rows(folder / row["output"], "Diagnosis")
            assert row["objective"] is None and row["errors"]
            continue
        portfolio = sheet_rows(folder / row["output"], "Portfolio")
        assert row["objective"] == pytest.approx(summary["objective value"])
        assert row["projects_selected"] == len(portfolio) == summary["projects funded"]
        assert row["commitments"] == pytest.approx(sum(r["committed"] for r in portfolio))
        assert row["npv"] == pytest.approx(sum(r["npv"] for r in portfolio))
        assert row["debt"] == pytest.approx(summary["debt"])
        assert row["equity"] == pytest.approx(summary["equity"])
    statuses = [r["status"] for r in rows]
    assert statuses.count("infeasible") == 1 and statuses.count("invalid") == 1
    assert [s["status"] for s in out["scenarios"]] == statuses


def test_selection_matrix_and_changes_against_the_base(batch):
    folder, _ = batch
    rows = {r["scenario"]: r for r in sheet_rows(folder / "comparison.xlsx", "Comparison")}
    solved = [n for n, r in rows.items() if r["status"] == "optimal"]
    matrix = sheet_rows(folder / "comparison.xlsx", "Selection")
    assert [r["project_id"] for r in matrix] == ["AI-1", "AI-2", "AI-3", "EN-1", "EN-2", "SP-1", "SP-2"]
    stakes = {}
    for name in solved:
        portfolio = {r["project_id"]: r["stake"] for r in sheet_rows(folder / rows[name]["output"], "Portfolio")}
        stakes[name] = portfolio
        assert {r["project_id"]: r[name] for r in matrix if r[name] is not None} == portfolio, name
    for r in matrix:
        assert r["selected_in"] == sum(1 for n in solved if r["project_id"] in stakes[n])

    changes = sheet_rows(folder / "comparison.xlsx", "Changes")
    assert [c["scenario"] for c in changes] == [n for n in solved if n != "base"]
    base = set(stakes["base"])
    for c in changes:
        mine = set(stakes[c["scenario"]])
        assert set(filter(None, (c["added"] or "").split(", "))) == mine - base
        assert set(filter(None, (c["removed"] or "").split(", "))) == base - mine
        assert c["compared_with"] == "base"
        assert c["objective_change"] == pytest.approx(rows[c["scenario"]]["objective"] - rows["base"]["objective"])


def test_formula_like_names_stay_text_and_the_charts_are_native(batch):
    folder, _ = batch
    wb = openpyxl.load_workbook(folder / "comparison.xlsx")
    try:
        cells = [row[0] for row in wb["Comparison"].iter_rows(min_row=2)]
        evil = next(c for c in cells if c.value == EVIL)
        assert evil.data_type == "s"
        header = next(c for c in wb["Selection"][1] if c.value == EVIL)
        assert header.data_type == "s"
    finally:
        wb.close()
    with zipfile.ZipFile(folder / "comparison.xlsx") as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 2
        assert "Objective by scenario" in z.read(charts[0]).decode()
