"""Damaged content, one kind at a time: each answered with a located error (sheet, Excel row,
column as typed, the value found) or read correctly where the meaning is clear."""

from __future__ import annotations

import datetime as dt
import re

import pytest

import fuzz
import hostile
from optimizer.errors import InputError
from optimizer.workbook.validate import read_pipeline, validate_path

HEADER = ["project_id", "name", "sector", "capex", "npv"]


def book(rows, **sheets):
    return {"Projects": [HEADER] + rows, "Fund": [["parameter", "value"], ["planning_start", 2027]], **sheets}


def located(tmp_path, b) -> list[tuple]:
    path = tmp_path / "p.xlsx"
    fuzz.write_book(b, path)
    return [(p.sheet, p.row, p.column, p.value, p.message) for p in validate_path(path)]


@pytest.mark.parametrize("code", fuzz.ERRORS)
@pytest.mark.parametrize("column", ["capex", "npv", "sector"])
def test_an_excel_error_cell_is_a_located_error(tmp_path, code, column):
    row = ["P1", "Plant", "Energy", 10, 3]
    row[HEADER.index(column)] = fuzz.ErrorValue(code)
    found = located(tmp_path, book([row, ["P2", "Line", "Energy", 5, 2]]))
    assert found == [("Projects", 2, column, code, f"{column} is the Excel error {code}"
                      + (", expected a number" if column != "sector" else ""))]


def test_formulas_give_their_cached_value_and_an_uncalculated_one_is_blank(tmp_path):
    path = tmp_path / "p.xlsx"
    fuzz.write_book(book([["P1", "Plant", "Energy", fuzz.Formula("=2*5", 10), fuzz.Formula("=1+2", 3)],
                          ["P2", fuzz.Formula('="Li"&"ne"', "Line"), "Energy", 5, fuzz.Formula("=NOW()", "")]]), path)
    found = [(p.sheet, p.row, p.column, p.message) for p in validate_path(path)]
    assert found == [("Projects", 3, "npv", "npv is required")]
    fuzz.write_book(book([["P1", "Plant", "Energy", fuzz.Formula("=2*5", 10), fuzz.Formula("=1+2", 3)]]), path)
    (p,) = read_pipeline(path).projects
    assert (p.capex, p.npv) == (10, 3)


@pytest.mark.parametrize("value, message", [
    (dt.datetime(2027, 3, 1), "capex is a date or time, expected a number"),
    (True, "capex is yes/no, expected a number"),
    ("lots", "capex is not a number"),
    (-5, "capex must be an amount > 0"),
    (0, "capex must be an amount > 0"),
    (float("nan"), "capex is the Excel error #NUM!, expected a number"),  # NaN is written as #NUM!
    (float("inf"), "capex is the Excel error #DIV/0!, expected a number"),
    (1e300, "capex is too large: amounts of 1e15 or more are not read (the solver cannot handle them exactly); "
            "check the currency unit"),
    ("1e400", "capex is not a finite number"),
    ("\u202e01", "capex is not a number"),
])
def test_a_wrong_value_in_a_money_cell_is_located(tmp_path, value, message):
    found = located(tmp_path, book([["P1", "Plant", "Energy", 10, 3], ["P2", "Line", "Energy", value, 2]]))
    assert [(s, r, c, m) for s, r, c, _, m in found] == [("Projects", 3, "capex", message)]


@pytest.mark.parametrize("value, read", [("1,200", 1200.0), ("25%", 0.25), (" 3.5 ", 3.5), ("(2)", -2.0),
                                         ("$1.5", 1.5), ("１２", 12.0), ("1e400", None)])
def test_numbers_typed_as_text_are_read(tmp_path, value, read):
    path = tmp_path / "p.xlsx"
    fuzz.write_book(book([["P1", "Plant", "Energy", 10, value]]), path)
    if read is None:
        assert [(p.column, p.message) for p in validate_path(path)] == [("npv", "npv is not a finite number")]
    else:
        assert read_pipeline(path).projects[0].npv == read


def test_dates_in_year_columns_are_years_and_unicode_is_kept(tmp_path):
    path = tmp_path / "p.xlsx"
    fuzz.write_book({"Projects": [HEADER + ["earliest_start", "latest_start"],
                                  ["東京-01", "東京湾 洋上風力 🚀", "Énergie", 10, 3, dt.date(2028, 1, 1),
                                   dt.datetime(2029, 6, 30)]],
                     "Fund": [["parameter", "value"], ["planning_start", 2027]]}, path)
    (p,) = read_pipeline(path).projects
    assert (p.project_id, p.name, p.sector, p.earliest_start, p.latest_start) == \
        ("東京-01", "東京湾 洋上風力 🚀", "Énergie", 2028, 2029)


def test_header_under_a_title_block_with_blank_rows_and_a_note(tmp_path):
    b = {"Projects": [["US–Japan fund", None, "draft"], [], ["prepared by the secretariat"], [],
                      HEADER, ["P1", "Plant", "Energy", 10, 3], [], ["P2", "Line", "Energy", -1, 3]],
         "Fund": [["Fund settings"], ["parameter", "value"], ["planning_start", 2027]]}
    assert [(s, r, c, v) for s, r, c, v, _ in located(tmp_path, b)] == [("Projects", 8, "capex", -1)]


@pytest.mark.parametrize("second", [" Projects", "PROJECTS ", "Pro-jects", "project s", "Pipeline"])
def test_a_second_projects_sheet_differing_in_case_or_spaces_is_located(tmp_path, second):
    b = book([["P1", "Plant", "Energy", 10, 3]])
    b[second] = [HEADER, ["P9", "Other", "Energy", 1, 1]]
    found = located(tmp_path, b)
    assert [(s, r, m) for s, r, _, _, m in found] == [
        (second, None, "is a second Projects sheet (the first is 'Projects'); keep one")]


def test_duplicate_and_renamed_columns(tmp_path):
    b = book([])
    b["Projects"] = [["Project ID", "Name", "Sector", "Capital", "NPV", "npv"], ["P1", "Plant", "Energy", 10, 3, 4]]
    found = located(tmp_path, b)
    assert [(s, r, c, m) for s, r, c, _, m in found] == [
        ("Projects", 1, "npv", "column appears twice (also column E); keep one")]


def test_missing_sheet_and_missing_columns(tmp_path):
    found = located(tmp_path, {"Fund": [["parameter", "value"]], "Sectors": [["name"], ["Energy"]]})
    assert ("Projects", None, None, None,
            "the workbook has no Projects sheet (one row per candidate project)") in found
    found = located(tmp_path, {"Projects": [["project_id", "name", "sector"], ["P1", "a", "Energy"]]})
    assert [(s, r, c) for s, r, c, _, _ in found] == [("Projects", 1, "capex"), ("Projects", 1, "npv")]


def _raw_sheet(tmp_path, cell_xml: bytes):
    src = hostile.good(tmp_path / "src.xlsx")
    sheet = hostile.members(src)["xl/worksheets/sheet1.xml"]
    cut = sheet.index(b"</sheetData>")
    return hostile.rezip(src, tmp_path / "raw.xlsx",
                         {"xl/worksheets/sheet1.xml": sheet[:cut] + cell_xml + sheet[cut:]})


@pytest.mark.parametrize("xml, words", [
    (b'<row r="9"><c r="D9"><v>NaN</v></c></row>', "ValueError"),
    (b'<row r="9"><c r="D9" t="s"><v>99999</v></c></row>', "IndexError"),
    (b'<row r="9"><c r="D9"><v>1</v></c>', "ParseError"),
])
def test_a_damaged_sheet_xml_is_located_at_its_sheet(tmp_path, xml, words):
    path = _raw_sheet(tmp_path, xml)
    problems = validate_path(path)
    assert any(p.sheet == "Projects" and p.message.startswith("could not be read after row 4: the sheet is "
                                                              f"damaged ({words}") for p in problems), problems
    with pytest.raises(InputError):
        read_pipeline(path)


def test_a_damaged_shared_strings_part_is_named(tmp_path):
    src = hostile.good(tmp_path / "src.xlsx")
    bad = hostile.rezip(src, tmp_path / "bad.xlsx", {"xl/sharedStrings.xml": b"<sst><si><t>half"})
    (p,) = validate_path(bad)
    assert p.sheet == "bad.xlsx" and re.search(r"could not be opened as an Excel workbook \(\w+", p.message)
