"""A folder batch: every .xlsx/.xlsm workbook, a bad one reported with its located errors while
the others run, other files listed as skipped, Excel's lock files and temporary files ignored."""

from __future__ import annotations

import shutil

import pytest

from batch_cases import PROJECTS, batch_json, expected, workbook
from helpers import sheet_rows


def test_a_folder_runs_every_workbook_and_reports_the_bad_one(tmp_path):
    folder = tmp_path / "pipelines"
    folder.mkdir()
    workbook(folder / "north.xlsx", scenarios=[])
    workbook(folder / "south.xlsx", scenarios=[], fund={"equity_capital": 400})
    shutil.copy(folder / "south.xlsx", folder / "west.xlsm")
    bad = [dict(p) for p in PROJECTS]
    bad[1]["npv"] = "twelve"
    bad[4]["sector"] = None
    workbook(folder / "broken.xlsx", projects=bad, scenarios=[])
    (folder / "notes.txt").write_text("minutes of the committee")
    (folder / "old").mkdir()
    (folder / "~$north.xlsx").write_bytes(b"lock")
    (folder / ".north.xlsx.0123456789ab.tmp").write_bytes(b"half")

    code, out = batch_json(folder, "-o", tmp_path / "out")
    assert code == 0, out
    by = {s["scenario"]: s for s in out["scenarios"]}
    assert list(by) == ["broken.xlsx", "north.xlsx", "south.xlsx", "west.xlsm"]
    assert by["north.xlsx"]["objective"] == pytest.approx(expected(None).objective)
    more = expected({"equity_capital": 400}).objective
    assert by["south.xlsx"]["objective"] == pytest.approx(more)
    assert by["west.xlsm"]["objective"] == pytest.approx(more)
    assert by["broken.xlsx"]["status"] == "invalid"
    located = {(e["sheet"], e["row"], e["column"], e["value"]) for e in by["broken.xlsx"]["errors"]}
    assert located == {("Projects", 3, "npv", "twelve"), ("Projects", 6, "sector", None)}
    assert out["skipped"] == [{"file": "notes.txt", "reason": "not an .xlsx or .xlsm workbook"},
                              {"file": "old", "reason": "a folder (folders are not searched)"}]
    assert out["status"] == "partial" and out["objective"] is None

    comparison = tmp_path / "out" / "comparison.xlsx"
    assert [r["file"] for r in sheet_rows(comparison, "Skipped")] == ["notes.txt", "old"]
    invalid = sheet_rows(comparison, "Invalid")
    assert {(r["scenario"], r["sheet"], r["row"], r["column"]) for r in invalid} == {
        ("broken.xlsx", "Projects", 3, "npv"), ("broken.xlsx", "Projects", 6, "sector")}
    # each workbook's own output, named after it; the input folder is left as it was
    assert sorted(p.name for p in (tmp_path / "out").glob("*.xlsx")) == [
        "comparison.xlsx", "north-portfolio.xlsx", "south-portfolio.xlsx", "west-portfolio.xlsx"]
    assert (folder / ".north.xlsx.0123456789ab.tmp").exists()
    changes = sheet_rows(comparison, "Changes")
    assert [(r["scenario"], r["compared_with"]) for r in changes] == [("south.xlsx", "north.xlsx"),
                                                                     ("west.xlsm", "north.xlsx")]


def test_the_output_folder_may_not_be_the_input_folder(tmp_path):
    workbook(tmp_path / "north.xlsx", scenarios=[])
    code, out = batch_json(tmp_path, "-o", tmp_path)
    assert code == 2 and out["errors"][0]["column"] == "-o"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.md").write_text("nothing here")
    code, out = batch_json(empty, "-o", tmp_path / "out")
    assert code == 2 and "no .xlsx or .xlsm workbook" in out["errors"][0]["message"]
    assert not (tmp_path / "out").exists()
