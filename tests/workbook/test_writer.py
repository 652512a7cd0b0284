"""The ranked-portfolio workbook (SPEC §4), written from a real run and read back with openpyxl."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from optimizer.errors import OutputError
from optimizer.report import Report
from optimizer.runner import run_workbook, solve_pipeline
from optimizer.workbook.validate import read_pipeline
from optimizer.workbook.writer import KNOWN_COLUMNS, write_report

REPORT_SHEETS = ["Summary", "Portfolio", "Alternatives", "Rejected", "Sectors", "Nations", "Sources", "Capital",
                 "Constraints", "Run"]
SECTOR_REPORT = ["committed", "share_of_commitments", "projects_funded", "candidates", "portfolio_npv"]

NOTES = {"P1": "=1+1", "P2": "+cmd", "P3": "-x", "P4": "@SUM(A1)"}
HYPERLINK = '=HYPERLINK("x")'
PROJECTS = [
    # id, name, sector, capex, npv, us, jp
    ("P1", "Alpha", "AI", 40, 10, "yes", "yes"),
    ("P2", "Beta", "Energy", 30, 9, "yes", "yes"),
    ("P3", "-rejected on purpose", "Energy", 50, 8, "yes", "yes"),
    ("P4", HYPERLINK, "AI", 20, 1, "yes", "yes"),
    ("P5", "Gamma", "AI", 10, 5, "yes", "pending"),
]
#: equity 100: P1 + P2 + P4 (capex 90, NPV 20) is the unique optimum; P5 lacks Japan's approval
OPTIMUM = {"P1", "P2", "P4"}
REVIEWED = dt.datetime(2026, 3, 31)


def make_input(path: Path, *, sectors: bool = True) -> Path:
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    ws = wb.add_worksheet("Projects")
    ws.write_string(0, 0, "Candidate pipeline (title block above the header)")
    header = ["project_id", "name", "sector", "capex", "npv", "us_approval", "jp_approval", "notes", "reviewed"]
    for j, h in enumerate(header):
        ws.write_string(2, j, h)
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    for i, (pid, name, sector, capex, npv, us, jp) in enumerate(PROJECTS, 3):
        for j, v in enumerate((pid, name, sector)):
            ws.write_string(i, j, v)
        ws.write_number(i, 3, capex)
        ws.write_number(i, 4, npv)
        ws.write_string(i, 5, us)
        ws.write_string(i, 6, jp)
        if pid in NOTES:
            ws.write_string(i, 7, NOTES[pid])
        ws.write_datetime(i, 8, REVIEWED, date)
    fund = wb.add_worksheet("Fund")
    for i, row in enumerate([("parameter", "value"), ("equity_capital", 100), ("planning_start", 2027),
                             ("horizon_years", 5)]):
        fund.write_row(i, 0, row)
    if sectors:
        sec = wb.add_worksheet("Sectors")
        for i, row in enumerate([("sector", "max_share"), ("AI", 0.9), ("Energy", 0.9)]):
            sec.write_row(i, 0, row)
    budget = wb.add_worksheet("Budget")
    for i, row in enumerate([("year", "capital_limit"), (2027, 100), (2028, 100)]):
        budget.write_row(i, 0, row)
    notes = wb.add_worksheet("Notes")
    notes.write_string(0, 0, "=SUM(1)")
    notes.write_number(1, 0, 42)
    wb.close()
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def header(ws) -> list:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]


def column(ws, name: str, header_row: int = 1) -> dict:
    """First-column value -> the cell of column ``name``, below ``header_row``."""
    names = [c.value for c in ws[header_row]]
    j = names.index(name)
    return {row[0].value: row[j] for row in ws.iter_rows(min_row=header_row + 1) if row[0].value is not None}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    src = make_input(folder / "pipeline.xlsx")
    before = sha256(src)
    out = folder / "nested" / "out.xlsx"
    result = run_workbook(src, out)
    return {"src": src, "out": out, "before": before, "result": result,
            "wb": openpyxl.load_workbook(out, data_only=False)}


# --------------------------------------------------------------------------- sheets
def test_every_report_sheet_then_the_input_sheets(run):
    assert run["result"].output == run["out"]
    assert set(run["result"].report.selected) == OPTIMUM
    assert run["wb"].sheetnames == REPORT_SHEETS + ["Projects", "Fund", "Budget", "Notes"]


def test_report_headers_are_in_row_1(run):
    wb = run["wb"]
    assert header(wb["Summary"]) == ["item", "value"]
    assert header(wb["Run"]) == ["item", "value"]
    assert header(wb["Portfolio"]) == list(KNOWN_COLUMNS["Portfolio"])
    for name in ("Alternatives", "Rejected", "Nations", "Capital", "Constraints"):
        rows = getattr(run["result"].report, name.lower())
        assert header(wb[name]) == list(rows[0]), name
    assert header(wb["Sectors"]) == ["sector", "max_share", *SECTOR_REPORT]


def test_tables_hold_the_report(run):
    wb, report = run["wb"], run["result"].report
    portfolio = column(wb["Portfolio"], "project_id")
    assert [c.value for c in portfolio.values()] == [r["project_id"] for r in report.portfolio]
    assert {c.value for c in column(wb["Rejected"], "project_id").values()} == {"P3", "P5"}
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["objective value"] == pytest.approx(20.0)
    assert summary["status"] == "optimal"
    run_items = {row[0]: row[1] for row in wb["Run"].iter_rows(min_row=2, values_only=True)}
    assert run_items["input SHA-256"] == run["before"]
    assert run_items["input file"] == "pipeline.xlsx"


def test_sectors_is_the_input_sheet_with_report_columns(run):
    ws = run["wb"]["Sectors"]
    committed = {k: c.value for k, c in column(ws, "committed").items()}
    assert committed == {"AI": pytest.approx(60.0), "Energy": pytest.approx(30.0)}
    share = column(ws, "share_of_commitments")
    assert share["AI"].value == pytest.approx(60 / 90)
    assert share["AI"].number_format == "0.0%"
    assert {k: c.value for k, c in column(ws, "projects_funded").items()} == {"AI": 2, "Energy": 1}
    assert {k: c.value for k, c in column(ws, "candidates").items()} == {"AI": 3, "Energy": 2}
    assert {k: c.value for k, c in column(ws, "max_share").items()} == {"AI": 0.9, "Energy": 0.9}


def test_formats_and_frozen_headers(run):
    wb = run["wb"]
    ws = wb["Portfolio"]
    names = header(ws)
    first = {n: ws.cell(2, names.index(n) + 1) for n in names}
    assert first["committed"].number_format == "#,##0.000"
    assert first["npv"].number_format == "#,##0.000"
    assert first["stake"].number_format == "0.0%"
    assert ws.freeze_panes == "B2"
    assert all(c.font.b for c in ws[1])
    assert wb["Summary"].freeze_panes == "A2"
    assert wb["Projects"].freeze_panes == "A4"  # below the carried header in row 3
    assert wb["Capital"].freeze_panes == "A2"


# --------------------------------------------------------------------------- text stays text
def test_formula_like_text_is_written_as_text(run):
    wb = run["wb"]
    notes = column(wb["Projects"], "notes", header_row=3)
    for pid, text in NOTES.items():
        assert notes[pid].data_type == "s" and notes[pid].value == text
    names = column(wb["Projects"], "name", header_row=3)
    assert names["P4"].data_type == "s" and names["P4"].value == HYPERLINK
    portfolio = {c.value: c for c in column(wb["Portfolio"], "name").values()}
    assert portfolio[HYPERLINK].data_type == "s"
    rejected = {c.value: c for c in column(wb["Rejected"], "name").values()}
    assert rejected["-rejected on purpose"].data_type == "s"
    assert wb["Notes"]["A1"].data_type == "s" and wb["Notes"]["A1"].value == "=SUM(1)"
    with zipfile.ZipFile(run["out"]) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_carried_sheets_keep_types(run):
    ws = run["wb"]["Projects"]
    assert ws["A1"].value == "Candidate pipeline (title block above the header)"
    reviewed = column(ws, "reviewed", header_row=3)["P1"]
    assert reviewed.is_date and reviewed.value == REVIEWED
    capex = column(ws, "capex", header_row=3)["P3"]
    assert capex.data_type == "n" and capex.value == 50
    assert run["wb"]["Notes"]["A2"].value == 42


def test_charts_are_native(run):
    with zipfile.ZipFile(run["out"]) as z:
        names = set(z.namelist())
        assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml"} <= names
        sectors, capital = z.read("xl/charts/chart1.xml").decode(), z.read("xl/charts/chart2.xml").decode()
    assert "barChart" in sectors and "Sectors!" in sectors
    assert "barChart" in capital and "lineChart" in capital and "Capital!" in capital


def test_input_is_not_modified(run):
    assert sha256(run["src"]) == run["before"]


def test_no_temporary_files_left(run):
    assert [p.name for p in run["out"].parent.iterdir()] == ["out.xlsx"]


# --------------------------------------------------------------------------- round trip
def test_the_output_is_a_valid_input_with_the_same_projects(run, tmp_path):
    again = read_pipeline(run["out"])
    first = run["result"].data
    assert again.ids == first.ids
    assert [(p.capex, p.npv, p.sector, p.name) for p in again.projects] == \
        [(p.capex, p.npv, p.sector, p.name) for p in first.projects]
    assert again.sectors == first.sectors
    assert again.budget == first.budget
    assert again.fund == first.fund
    _, report = solve_pipeline(again)
    assert set(report.selected) == OPTIMUM
    # running the output again overwrites the Sectors report columns instead of adding more
    second = run_workbook(run["out"], tmp_path / "second.xlsx")
    ws = openpyxl.load_workbook(second.output)["Sectors"]
    assert header(ws) == ["sector", "max_share", *SECTOR_REPORT]
    assert openpyxl.load_workbook(second.output).sheetnames == \
        REPORT_SHEETS + ["Projects", "Fund", "Budget", "Notes"]


def test_without_a_sectors_input_sheet(tmp_path):
    src = make_input(tmp_path / "in.xlsx", sectors=False)
    result = run_workbook(src, tmp_path / "out.xlsx")
    wb = openpyxl.load_workbook(result.output)
    assert wb.sheetnames == REPORT_SHEETS + ["Projects", "Fund", "Budget", "Notes"]
    ws = wb["Sectors"]
    assert header(ws) == ["sector", *SECTOR_REPORT]
    assert {k: c.value for k, c in column(ws, "committed").items()} == \
        {"AI": pytest.approx(60.0), "Energy": pytest.approx(30.0)}
    with zipfile.ZipFile(result.output) as z:
        assert "xl/charts/chart1.xml" in z.namelist()
    again = read_pipeline(result.output)
    assert {s.sector for s in again.sectors} == {"AI", "Energy"}
    assert all(s.min_share is None and s.max_share is None and s.min_projects is None
               and s.max_projects is None for s in again.sectors)
    _, report = solve_pipeline(again)
    assert set(report.selected) == OPTIMUM


# --------------------------------------------------------------------------- edge cases
def test_empty_tables_and_non_finite_numbers(tmp_path):
    data = read_pipeline(make_input(tmp_path / "in.xlsx"))
    report = Report("optimal", 0.0, 0.0, 0.0, [],
                    summary=[("status", "optimal"), ("objective value", float("nan")), ("best bound", math.inf)],
                    rejected=[{"project_id": "P1", "name": "=cmd|' /C calc'!A0", "npv": float("-inf"),
                               "capex": 40.0, "reason": "crowded out", "break_even_npv": None}],
                    run=[("option: list", ["a", "b"]), ("time: read (s)", 0.5)])
    out = tmp_path / "out.xlsx"
    write_report(report, data, out)
    wb = openpyxl.load_workbook(out)
    assert wb["Portfolio"].max_row == 1 and header(wb["Portfolio"]) == list(KNOWN_COLUMNS["Portfolio"])
    assert header(wb["Constraints"]) == list(KNOWN_COLUMNS["Constraints"])
    summary = {r[0].value: r[1] for r in wb["Summary"].iter_rows(min_row=2)}
    assert summary["objective value"].value is None and summary["best bound"].value is None
    rejected = column(wb["Rejected"], "npv")
    assert rejected["P1"].value is None
    assert column(wb["Rejected"], "name")["P1"].data_type == "s"
    run_items = {r[0]: r[1] for r in wb["Run"].iter_rows(min_row=2, values_only=True)}
    assert run_items["option: list"] == "a, b"
    # no rows in report.sectors: the Sectors sheet is the input one, without report values
    assert header(wb["Sectors"]) == ["sector", "max_share", *SECTOR_REPORT]


def test_an_existing_output_is_replaced(tmp_path, run):
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"an old, broken file")
    write_report(run["result"].report, run["result"].data, out)
    assert openpyxl.load_workbook(out).sheetnames[0] == "Summary"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]


def test_folder_that_is_a_file_raises_output_error(tmp_path, run):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    target = blocker / "out.xlsx"
    with pytest.raises(OutputError) as err:
        write_report(run["result"].report, run["result"].data, target)
    assert str(target) in str(err.value) and "afile" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_target_that_is_a_folder_raises_and_leaves_no_temporary_file(tmp_path, run):
    target = tmp_path / "out.xlsx"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(OutputError) as err:
        write_report(run["result"].report, run["result"].data, target)
    assert str(target) in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx"]
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_runner_failed_write_raises_output_error(tmp_path, run):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError):
        run_workbook(run["src"], tmp_path / "afile" / "out.xlsx")
    assert sha256(run["src"]) == run["before"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_raises_output_error(tmp_path, run):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied|not writable"):
            write_report(run["result"].report, run["result"].data, folder / "out.xlsx")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


# --------------------------------------------------------------------------- sheet data
def _fill(wb) -> None:
    """Every kind of cell and row the writers produce, and some they do not."""
    money = wb.add_format({"num_format": "#,##0.000"})
    bold = wb.add_format({"bold": True})
    unused = wb.add_format({"italic": True})
    ws = wb.add_worksheet("Cells")
    ws.set_column(6, 6, 12, bold)  # a column format applies to its cells without one
    ws.set_column(8, 8, 20, None, {"hidden": True})
    ws.set_row(5, 30)  # row options
    ws.set_row(7, None, bold)
    ws.set_row(40, 18)  # a row with options and no cells
    values = [0, -0.0, 1, -17, 2**53 + 1, 10**20, 1e-300, 0.1 + 0.2, 1 / 3, 123456789.123456789, 5e-324]
    texts = ["plain", "=1+1", "+cmd", "-x", "@SUM(A1)", 'a & b < c > "d"', "line\nbreak", " padded ",
             "ctrl\x01\x1f", "_x0041_", "\ufffe", "ünïcödé ✓", "x" * 300]
    for i in range(70):
        for j, v in enumerate(values[: 3 + i % 9]):
            ws.write_number(i, j * 2 % 13, v * (i + 1), money if (i + j) % 3 == 0 else None)
        ws.write_string(i, 1 + i % 11, texts[i % len(texts)], bold if i % 4 == 0 else None)
        if i % 5 == 0:
            ws.write_blank(i, 14, None, money)
        if i % 6 == 0:
            ws.write_boolean(i, 15, i % 12 == 0)
        if i % 7 == 0:
            ws.write_datetime(i, 16, dt.datetime(2026, 1, 1 + i % 28, i % 24), money)
        if i % 9 == 0:
            ws.write_formula(i, 17, "=A1+1", None, 2)
    from decimal import Decimal

    for i, v in enumerate((Decimal("1.250"), 1.25, 3, 3.0, -0.0, 0, 2**53 + 1, float(2**53))):  # equal, not alike
        ws.write_number(60 + i, 19, v)
    ws.write_rich_string(3, 18, "a ", bold, "rich", " string")
    ws.write_url(4, 18, "https://example.com", None, "a link")
    ws.write_string(200, 2000, "far away")
    wb.add_worksheet("Empty").set_row(3, 25)
    wb.add_worksheet("Blank")
    noted = wb.add_worksheet("Noted")  # comments: XlsxWriter's own rows
    noted.write_string(0, 0, "a")
    noted.write_comment(0, 0, "a note")
    noted.write_number(2, 3, 4.5, unused)
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"categories": ["Cells", 0, 1, 9, 1], "values": ["Cells", 0, 0, 9, 0]})
    ws.insert_chart(0, 20, chart)


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _assert_same_parts(expected: Path, path: Path) -> dict[str, bytes]:
    """Every part of ``path`` is byte for byte that of ``expected`` (but the creation time); the parts."""
    want, got = _parts(expected), _parts(path)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name] == want[name], (path.name, name)
    return want


def test_fast_sheet_data_is_byte_for_byte_xlsxwriter_s(tmp_path):
    from optimizer.workbook.writer import WORKBOOK_OPTIONS, _worksheet_class

    fast = _worksheet_class()
    assert fast is not None, "the installed XlsxWriter lacks what the fast rows rely on"
    stock_path, fast_path = tmp_path / "stock.xlsx", tmp_path / "fast.xlsx"
    for path, cls in ((stock_path, None), (fast_path, fast)):
        wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        if cls is not None:
            wb.worksheet_class = cls
        _fill(wb)
        wb.close()
    stock = _assert_same_parts(stock_path, fast_path)
    assert b"<row" in stock["xl/worksheets/sheet1.xml"]


class _Money(float):
    """A float subclass: written through the general path, still a number."""


def test_row_writer_stores_what_cell_by_cell_stores(tmp_path):
    from decimal import Decimal
    from fractions import Fraction

    from optimizer.workbook.writer import WORKBOOK_OPTIONS, _CellWriter, _worksheet_class

    rows = [
        ["text", "=1+1", "+cmd", "-x", "@SUM(A1)", "", None, 0, -1, 2.5, math.nan, math.inf, -math.inf, True, False],
        [dt.datetime(2026, 3, 31), dt.datetime(2026, 3, 31, 8, 30), dt.date(2026, 1, 2), dt.time(7, 15),
         dt.timedelta(hours=30), Decimal("1.25"), Fraction(1, 4), _Money(3.5), ["a", "b"], {"z", "y"}, (), None,
         2**70, 1e300, "x" * 40000],
        [None] * 5 + ["only the sixth", None, 7.0],
        [None] * 8,
        ["=HYPERLINK(\"x\")", 'a & b < c > "d"', "ctrl\x01", " padded ", "line\nbreak", "ünïcödé ✓"],
        [float(j) for j in range(16)],  # plain values only, out to the sheet's last column
    ]
    plain = [[None, None, 1.5, "a"], [None, None, None, 2]]  # the sheet's extent is set by these alone
    paths = []
    for how in ("cell", "row"):
        for cls in (None, _worksheet_class()):
            path = tmp_path / f"{how}-{cls is not None}.xlsx"
            wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
            if cls is not None:
                wb.worksheet_class = cls
            cw = _CellWriter(wb)
            fmts = [cw.money if j % 3 == 0 else cw.share if j % 3 == 1 else None for j in range(16)]
            for name, sheet_rows in (("First", rows), ("Second", rows), ("Third", plain)):
                ws = wb.add_worksheet(name)  # shared strings are numbered across sheets
                if name == "First":
                    ws.write_string(0, 3, "replaced")  # written over by the row
                    ws.write_string(0, 20, "kept")  # beside the row
                    ws.write_number(3, 2, 1.0)  # in a row of nothing but empty values
                put = cw.row_writer(ws)
                for i, values in enumerate(sheet_rows, 2 if name == "Third" else 0):
                    if how == "cell":
                        for j, v in enumerate(values):
                            cw.cell(ws, i, j, v, fmts[j])
                    else:
                        put(i, values, fmts)
            wb.close()
            paths.append(path)
    for path in paths[1:]:
        _assert_same_parts(paths[0], path)
    wb = openpyxl.load_workbook(paths[-1])
    ws = wb["First"]
    assert [ws.cell(1, j).value for j in range(1, 6)] == ["text", "=1+1", "+cmd", "-x", "@SUM(A1)"]
    assert ws.cell(1, 2).data_type == "s"


def test_rows_stored_as_xml_are_what_cell_by_cell_stores_whatever_touches_them_after(tmp_path):
    """The fast sheet stores a plain row as its cells' XML (texts, finite numbers, blanks): every
    way a stored row can be touched afterwards gives the bytes stock XlsxWriter writes cell by
    cell — a cell written into it, the row written again, row options, a column format set on a
    column its cells took their style from, a chart's cached values read from it, a format not
    yet numbered, a value that is not plain, a text too long to store unchecked."""
    from optimizer.workbook.writer import WORKBOOK_OPTIONS, _CellWriter, _worksheet_class

    fast = _worksheet_class()
    assert fast is not None
    paths = []
    for how in ("cell", "row"):
        path = tmp_path / f"{how}.xlsx"
        wb = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        if how == "row":
            wb.worksheet_class = fast
        cw = _CellWriter(wb)
        for fmt in (cw.money, cw.share):
            fmt._get_xf_index()  # numbered first, as the report writer numbers its formats
        late = wb.add_format({"italic": True})  # numbered only when the XML meets it
        fmts = [cw.money, None, cw.share, None, late]
        rows = {r: [f"t{r % 7}", r * 0.5 - 3, -0.0 if r % 5 == 0 else r, "same" if r % 2 else "", None]
                for r in range(1, 60)}
        rows[9][4] = "uses the late format"
        rows[11][3] = True  # not plain: the whole row as records
        rows[13][1] = "x" * 40000  # too long to store unchecked
        rows[15][2] = math.nan  # skipped, as cell by cell
        sheets = []
        for name in ("Table", "Charted", "Reformatted"):
            ws = wb.add_worksheet(name)
            ws.write_string(0, 0, "header", cw.header)
            put = cw.row_writer(ws)
            for r, values in rows.items():
                if how == "cell":
                    for j, v in enumerate(values):
                        cw.cell(ws, r, j, v, fmts[j])
                else:
                    put(r, values, fmts)
            sheets.append(ws)
        table, charted, reformatted = sheets
        for ws in sheets:
            ws.write_number(20, 6, 7.25)  # a cell written into a stored row
            ws.write_string(21, 1, "over")  # a stored cell written over
            ws.set_row(22, 30)  # row options on a stored row
        again = [9.5, None, "again"]
        for ws in sheets:
            if how == "cell":
                for j, v in enumerate(again):
                    cw.cell(ws, 23, j, v, fmts[j])
            else:
                cw.row_writer(ws)(23, again, fmts)  # a stored row written again
        table.set_column(0, 4, 11)  # widths only: the stored rows' styles stand
        reformatted.set_column(1, 1, 9, cw.money)  # a column its unformatted cells took no style from
        chart = wb.add_chart({"type": "column"})
        chart.add_series({"categories": ["Charted", 1, 0, 30, 0], "values": ["Charted", 1, 1, 30, 1]})
        charted.insert_chart(0, 8, chart)
        wb.close()
        paths.append(path)
    _assert_same_parts(paths[0], paths[1])
    book = openpyxl.load_workbook(paths[1])
    assert book["Reformatted"].cell(4, 2).number_format == "#,##0.000"  # the column's format, set after
    assert book["Table"].cell(4, 2).number_format == "General"


def test_shared_strings_are_byte_for_byte_xlsxwriter_s(tmp_path):
    """The plain texts go to sharedStrings.xml in one write; every text XlsxWriter changes or
    marks (markup, control characters, escape-like runs, edge whitespace, rich strings) goes
    its own way: the part is the same bytes as stock XlsxWriter writes, in the same order."""
    from optimizer.workbook.writer import WORKBOOK_OPTIONS, _shared_strings_class, _workbook_class

    assert _shared_strings_class() is not None, "the installed XlsxWriter lacks what the fast strings rely on"
    texts = ["plain", "REN-0042", "Hokkaido offshore wind farm (phase 2)", "a & b", "x < y", "y > x", 'say "hi"',
             "ctrl\x01", "tab\there", "line\nbreak", "ends with newline\n", " leading", "trailing ", "\u00a0nbsp",
             "nbsp\u00a0", "_x0041_ looks escaped", "_x00G1_ does not", "non-char \ufffe", "\uffff", "ünïcödé ✓",
             "x" * 5000, "=SUM(A1)", "", "  ", "\x1f", "mid _ underscore", "plain again", "plain"]
    paths = []
    for cls in (xlsxwriter.Workbook, _workbook_class()):
        path = tmp_path / f"{cls.__module__.split('.')[0]}-{len(paths)}.xlsx"
        wb = cls(str(path), WORKBOOK_OPTIONS)
        ws = wb.add_worksheet("Texts")
        bold = wb.add_format({"bold": True})
        for i, t in enumerate(texts):
            if t:
                ws.write_string(i, 0, t)
        ws.write_rich_string(len(texts), 0, "rich ", bold, "bold", " text")
        ws.write_string(len(texts) + 1, 0, "after the rich one")
        wb.close()
        paths.append(path)
    stock = _assert_same_parts(paths[0], paths[1])
    assert stock["xl/sharedStrings.xml"].count(b"<si>") == len(set(t for t in texts if t)) + 2


def _deflated_workbook(path: Path, threads: int) -> Path:
    """The cells of :func:`_fill` and a sheet of 3,000 rows, stored with ``threads`` deflating."""
    from optimizer.workbook.writer import WORKBOOK_OPTIONS, _workbook_class

    wb = _workbook_class()(str(path), WORKBOOK_OPTIONS)
    wb.set_properties({"created": dt.datetime(2026, 1, 2, 3, 4, 5)})  # the same bytes every time
    wb.deflate_threads = threads
    _fill(wb)
    ws = wb.add_worksheet("Many")
    for i in range(3000):
        ws.write_row(i, 0, [i, f"row {i}", i / 7, "=not a formula"])
    wb.close()
    return path


def _deflating_threads(monkeypatch) -> set[str]:
    """The names of the threads that make a compressor for a zip entry, from now on."""
    import threading

    names: set[str] = set()
    real = zipfile._get_compressor

    def spy(*args, **kwargs):
        names.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(zipfile, "_get_compressor", spy)
    return names


def test_parts_deflated_on_two_threads_are_the_bytes_one_thread_writes(tmp_path, monkeypatch):
    from optimizer.workbook import writer

    cls = writer._parts_zip_class()
    assert cls is not None, "the installed zipfile lacks what deflating on two threads relies on"
    monkeypatch.setattr(writer, "PARALLEL_DEFLATE_BYTES", 1)  # this small workbook is shared out too
    names = _deflating_threads(monkeypatch)
    one = _deflated_workbook(tmp_path / "one.xlsx", 1)
    assert names == {"MainThread"}
    names.clear()
    two = _deflated_workbook(tmp_path / "two.xlsx", 2)
    assert cls.same_bytes is True
    assert "fundopt-deflate" in names  # the parts were shared out
    assert one.read_bytes() == two.read_bytes()  # headers, sizes, CRCs and compressed bytes alike
    with zipfile.ZipFile(two) as z:
        assert z.testzip() is None
        assert b"=not a formula" in z.read("xl/sharedStrings.xml")
    assert openpyxl.load_workbook(two)["Many"].cell(3000, 2).value == "row 2999"


def test_parts_stay_on_one_thread_when_small_or_when_the_check_fails(tmp_path, monkeypatch):
    from optimizer.workbook import writer

    cls = writer._parts_zip_class()
    names = _deflating_threads(monkeypatch)
    one = _deflated_workbook(tmp_path / "one.xlsx", 1)
    names.clear()
    small = _deflated_workbook(tmp_path / "small.xlsx", 2)  # under PARALLEL_DEFLATE_BYTES
    assert names == {"MainThread"} and small.read_bytes() == one.read_bytes()
    monkeypatch.setattr(writer, "PARALLEL_DEFLATE_BYTES", 1)
    monkeypatch.setattr(cls, "same_bytes", False)  # as if this zipfile wrote other bytes that way
    names.clear()
    refused = _deflated_workbook(tmp_path / "refused.xlsx", 2)
    assert names == {"MainThread"} and refused.read_bytes() == one.read_bytes()


def test_the_check_of_two_thread_deflating_refuses_other_bytes():
    from optimizer.workbook import writer

    cls = writer._parts_zip_class()
    assert writer._same_archive(zipfile, cls)

    class Louder(cls):
        def writestr(self, zinfo, data, *args, **kwargs):
            return super().writestr(zinfo, data.upper(), *args, **kwargs)

    class Broken(cls):
        def _open_to_write(self, zinfo, force_zip64=False):
            raise OSError("no")

    assert not writer._same_archive(zipfile, Louder)
    assert not writer._same_archive(zipfile, Broken)


def test_a_part_that_fails_to_deflate_on_the_other_thread_fails_the_write(tmp_path, monkeypatch):
    import threading

    from optimizer.workbook import writer

    monkeypatch.setattr(writer, "PARALLEL_DEFLATE_BYTES", 1)
    assert writer._parts_zip_class()._checked()
    real = zipfile._get_compressor

    def failing(*args, **kwargs):
        if threading.current_thread().name == "fundopt-deflate":
            raise MemoryError("no memory for the compressor")
        return real(*args, **kwargs)

    monkeypatch.setattr(zipfile, "_get_compressor", failing)
    out = tmp_path / "out" / "book.xlsx"

    def build(wb) -> None:
        wb.deflate_threads = 2
        _fill(wb)

    with pytest.raises(OutputError) as err:
        writer.write_atomic(out, build)
    assert str(out) in str(err.value) and "no memory for the compressor" in str(err.value)
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_rows_deflated_ahead_are_used_only_where_they_are_the_parts_rows(tmp_path, monkeypatch):
    """Rows deflated ahead go into their part only when the part's bytes there are the rows they
    were deflated from (their CRC): otherwise, and for rows that are not ASCII, the part is
    deflated whole. Either way it reads back as the stock store's."""
    from optimizer.workbook import writer

    monkeypatch.setattr(writer, "DEFLATE_AHEAD_CHARS", 0)
    monkeypatch.setattr(writer, "PARALLEL_DEFLATE_BYTES", 1)
    stock = _deflated_workbook(tmp_path / "stock.xlsx", 1)
    used = {}
    for how in ("as deflated", "wrong CRC"):
        from optimizer.workbook.writer import WORKBOOK_OPTIONS, _workbook_class

        path = tmp_path / f"{how}.xlsx"
        wb = _workbook_class()(str(path), WORKBOOK_OPTIONS)
        wb.set_properties({"created": dt.datetime(2026, 1, 2, 3, 4, 5)})
        wb.deflate_threads = 2
        wb.worksheet_class = writer._worksheet_class()
        _fill(wb)
        ws = wb.add_worksheet("Many")
        for i in range(3000):
            ws.write_row(i, 0, [i, f"row {i}", i / 7, "=not a formula"])
        ws.prerender_rows()
        ws.deflate_rows()
        rows, crc, length = ws._rendered_deflated
        if how == "wrong CRC":
            ws._rendered_deflated = (rows, crc ^ 1, length)
        wb.close()
        _assert_same_parts(stock, path)
        assert writer.complete_streams(path.read_bytes())  # each part one whole deflate stream
        used[how] = rows in path.read_bytes()
    assert used == {"as deflated": True, "wrong CRC": False}

    wb = _workbook_class()(str(tmp_path / "unused.xlsx"), WORKBOOK_OPTIONS)
    wb.worksheet_class = writer._worksheet_class()
    ws = wb.add_worksheet("Texts")
    ws._rendered = "<row>é</row>" * 100  # not ASCII: never deflated ahead
    ws.deflate_rows()
    assert ws._rendered_deflated is None
