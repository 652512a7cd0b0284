"""Raw reading (optimizer/workbook/reader.py): containers, header rows, names, blank rows, carried sheets."""

from __future__ import annotations

import zipfile

import pytest
import xlsxwriter
from helpers import make_workbook, write_sheet

from optimizer.data import Problem
from optimizer.errors import InputError
from optimizer.workbook.reader import read_raw
from optimizer.workbook.validate import build_pipeline, read_pipeline, validate_path

HEADER = ["project_id", "name", "sector", "capex", "npv"]


def project(pid="P1", **kw):
    return {"project_id": pid, "name": f"Project {pid}", "sector": "Energy", "capex": 10, "npv": 5, **kw}


def write(path, sheets: dict[str, tuple[list | None, list, list]]):
    """sheets: title -> (header, rows, title_rows)."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    for title, (header, rows, title_rows) in sheets.items():
        write_sheet(wb, title, header, rows, title_rows)
    wb.close()
    return path


# ----------------------------------------------------------------------------- header row
def test_header_row_found_below_a_two_row_title_block(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1"), project("P2")],
                         title_rows=[["US–Japan fund — candidate pipeline"], ["Prepared for the committee", None, "v2"]])
    raw = read_raw(path)
    table = raw.tables["Projects"]
    assert table.header_row == 3
    assert [r for r, _ in table.rows] == [4, 5]
    data = read_pipeline(path)
    assert [(p.project_id, p.row) for p in data.projects] == [("P1", 4), ("P2", 5)]


def test_header_row_below_empty_leading_rows_keeps_excel_row_numbers(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1"), project("P2", capex=-1)], title_rows=[[], [], []])
    raw = read_raw(path)
    assert raw.tables["Projects"].header_row == 4
    problems = build_pipeline(raw)[1]
    assert [(p.sheet, p.row, p.column, p.value) for p in problems] == [("Projects", 6, "capex", -1)]


def test_header_with_a_title_cell_that_looks_like_a_column_name(tmp_path):
    # "Project" is an alias of project_id; a one-cell title must not be taken for the header
    path = make_workbook(tmp_path / "p.xlsx", [project("P1")], title_rows=[["Project"], ["Pipeline"]])
    assert read_raw(path).tables["Projects"].header_row == 3
    assert read_pipeline(path).ids == ("P1",)


def test_no_header_row_is_a_located_problem(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": (["id number", "title"], [["P1", "x"]], [])})
    problems = validate_path(path)
    assert len(problems) == 1
    p = problems[0]
    assert (p.sheet, p.row, p.column) == ("Projects", None, "project_id, name, sector, capex, npv")
    assert "no header row found" in p.message and "looked in the first 30 rows" in p.message


def test_header_missing_one_required_column_is_still_found(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": (["project_id", "name", "sector", "capex"],
                                                    [["P1", "a", "Energy", 3]], [["Pipeline 2027"]])})
    raw = read_raw(path)
    assert raw.tables["Projects"].header_row == 2
    problems = build_pipeline(raw)[1]
    assert [(p.sheet, p.row, p.column, p.value) for p in problems] == [("Projects", 2, "npv", None)]
    assert problems[0].message == "required column npv is missing from the header row"


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize("header", [
    ["Project ID", "Name", "Sector", "Capex", "NPV"],
    ["project-id", "NAME", " sector ", "CAPEX", "Npv"],
    ["Project_Id", "name", "Sector", "Cap-Ex", "N P V"],
    ["PROJECT  ID", "Project Name", "sector", "capital", "npv"],  # aliases: project_name, capital
])
def test_column_names_match_case_space_underscore_hyphen_insensitively(tmp_path, header):
    path = write(tmp_path / "p.xlsx", {"Projects": (header, [["P1", "Plant", "Energy", "1,200", " 3.5 "]], [])})
    data = read_pipeline(path)
    (p,) = data.projects
    assert (p.project_id, p.name, p.sector, p.capex, p.npv) == ("P1", "Plant", "Energy", 1200.0, 3.5)
    assert data.extra_columns == ()


@pytest.mark.parametrize("title", ["projects", " PROJECTS", "Projects ", "pro-jects", "Pipeline", "candidates"])
def test_sheet_names_match_insensitively_and_by_alias(tmp_path, title):
    path = write(tmp_path / "p.xlsx", {title: (HEADER, [["P1", "a", "Energy", 1, 2]], [])})
    raw = read_raw(path)
    assert set(raw.tables) == {"Projects"}
    assert raw.tables["Projects"].title == title
    assert read_pipeline(path).ids == ("P1",)


def test_problems_name_the_sheet_and_column_as_typed(tmp_path):
    path = write(tmp_path / "p.xlsx", {" PROJECTS": (["Project ID", "Name", "Sector", "Cap Ex", "NPV"],
                                                     [["P1", "a", "Energy", -3, 2]], [])})
    (p,) = validate_path(path)
    assert (p.sheet, p.row, p.column, p.value) == (" PROJECTS", 2, "Cap Ex", -3)
    assert p.message == "capex must be an amount > 0"


# ----------------------------------------------------------------------------- blank rows
def test_blank_rows_are_skipped_and_row_numbers_stay_excel_rows(tmp_path):
    rows = [["P1", "a", "Energy", 1, 2], [], [None, "   ", None], ["P2", "b", "Energy", 1, "lots"], [],
            ["P3", "c", "Energy", 0, 2], [], []]
    path = write(tmp_path / "p.xlsx", {"Projects": (HEADER, rows, [["Pipeline"], []])})
    raw = read_raw(path)
    table = raw.tables["Projects"]
    assert table.header_row == 3
    assert [r for r, _ in table.rows] == [4, 7, 9]
    problems = build_pipeline(raw)[1]
    assert [(p.row, p.column, p.value) for p in problems] == [(7, "npv", "lots"), (9, "capex", 0)]


# ----------------------------------------------------------------------------- carried through
def test_unknown_projects_columns_are_carried_through(tmp_path):
    projects = [project("P1", **{"Analyst": "Kim", "Notes (internal)": "call back"}), project("P2", Analyst="Lee")]
    path = make_workbook(tmp_path / "p.xlsx", projects, title_rows=[["Pipeline"]])
    data = read_pipeline(path)
    assert data.extra_columns == ("Analyst", "Notes (internal)")
    (sheet,) = [s for s in data.source.sheets if s.title == "Projects"]
    assert sheet.header_row == 2
    assert sheet.rows[0] == ("Pipeline", None, None, None, None, None, None)
    assert sheet.rows[1] == ("project_id", "name", "sector", "capex", "npv", "Analyst", "Notes (internal)")
    assert sheet.rows[2] == ("P1", "Project P1", "Energy", 10, 5, "Kim", "call back")
    assert sheet.rows[3] == ("P2", "Project P2", "Energy", 10, 5, "Lee", None)


def test_unknown_sheets_are_ignored_but_carried(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1")],
                         extra_sheets={"Committee notes": (["date", "note"], [["2027-01-05", "first look"]]),
                                       "Lookups": (None, [[1, 2], [3, 4]])})
    raw = read_raw(path)
    assert set(raw.tables) == {"Projects", "Fund"}
    assert raw.problems == []
    data = read_pipeline(path)
    carried = {s.title: s for s in data.source.sheets}
    assert list(carried) == ["Projects", "Fund", "Committee notes", "Lookups"]
    assert carried["Committee notes"].rows == (("date", "note"), ("2027-01-05", "first look"))
    assert carried["Lookups"].rows == ((1, 2), (3, 4))
    assert carried["Committee notes"].header_row is None
    assert carried["Fund"].header_row == 1


def test_report_sheets_of_an_output_workbook_are_not_carried_again(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1")],
                         extra_sheets={"Summary": (["status"], [["optimal"]]), "Run": (["x"], [[1]])})
    data = read_pipeline(path)
    assert [s.title for s in data.source.sheets] == ["Projects", "Fund"]


def test_source_records_name_and_sha256(tmp_path):
    import hashlib

    path = make_workbook(tmp_path / "pipe.xlsx", [project("P1")])
    data = read_pipeline(path)
    assert data.source.name == "pipe.xlsx"
    assert data.source.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- duplicates
def test_a_second_sheet_mapping_to_projects_is_a_located_problem(tmp_path):
    path = make_workbook(tmp_path / "p.xlsx", [project("P1")],
                         extra_sheets={"Pipeline": (HEADER, [["P9", "x", "Energy", 1, 1]])})
    problems = validate_path(path)
    assert problems == [Problem("Pipeline", None, None, "Pipeline",
                                "is a second Projects sheet (the first is 'Projects'); keep one")]
    assert read_raw(path).tables["Projects"].title == "Projects"


def test_a_duplicated_column_header_is_a_located_problem(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": (HEADER + ["NPV"], [["P1", "a", "Energy", 1, 2, 3]],
                                                    [["Title"]])})
    problems = validate_path(path)
    assert problems == [Problem("Projects", 2, "NPV", "NPV", "column appears twice (also column E); keep one")]


def test_alias_and_name_of_the_same_column_are_duplicates(tmp_path):
    path = write(tmp_path / "p.xlsx", {"Projects": (["ID"] + HEADER, [["X", "P1", "a", "Energy", 1, 2]], [])})
    problems = validate_path(path)
    assert problems == [Problem("Projects", 1, "project_id", "project_id",
                                "column appears twice (also column A); keep one")]


# ----------------------------------------------------------------------------- not a workbook
def _input_error(path) -> Problem:
    with pytest.raises(InputError) as info:
        read_raw(path)
    (problem,) = info.value.problems
    assert problem.sheet == path.name and problem.row is None
    # validate_path reports the same problem instead of raising
    assert validate_path(path) == [problem]
    return problem


def test_csv_file_is_refused(tmp_path):
    path = tmp_path / "pipeline.csv"
    path.write_text("project_id,name,sector,capex,npv\nP1,a,Energy,1,2\n")
    p = _input_error(path)
    assert p.value == ".csv"
    assert p.message == ("is text (CSV), not an Excel workbook; "
                         ".csv files are not read: save the workbook as .xlsx in Excel or LibreOffice")


def test_xls_named_file_is_refused(tmp_path):
    path = tmp_path / "pipeline.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)  # an OLE2 (legacy Excel) header
    p = _input_error(path)
    assert p.value == ".xls"
    assert "save the workbook as .xlsx" in p.message


def test_random_bytes_named_xlsx_are_refused(tmp_path):
    path = tmp_path / "pipeline.xlsx"
    path.write_bytes(bytes(range(256)) * 8)
    p = _input_error(path)
    assert p.message == "is not an Excel .xlsx workbook (the file is empty, damaged or another format)"


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    p = _input_error(path)
    assert "is not an Excel .xlsx workbook" in p.message and "empty" in p.message


def test_missing_file_is_refused(tmp_path):
    path = tmp_path / "nowhere.xlsx"
    p = _input_error(path)
    assert p.message == "file not found"
    assert p.value == str(path)


def test_a_folder_is_refused(tmp_path):
    path = tmp_path / "folder.xlsx"
    path.mkdir()
    assert _input_error(path).message == "is a folder, not a workbook"


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")
    assert _input_error(path).message == "is a zip file but not an Excel .xlsx workbook"


def test_a_truncated_workbook_is_refused(tmp_path):
    good = make_workbook(tmp_path / "good.xlsx", [project("P1")])
    path = tmp_path / "cut.xlsx"
    path.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    p = _input_error(path)
    assert "Excel" in p.message or "workbook" in p.message


def test_input_error_message_counts_problems(tmp_path):
    with pytest.raises(InputError) as info:
        read_raw(tmp_path / "nowhere.xlsx")
    assert str(info.value) == "1 problem in the input"
