"""The calamine reader (optimizer/workbook/reader.py, ``_Calamine``) gives exactly what openpyxl gives.

Each workbook here is read twice: as fundopt reads it (calamine for the sheets it may read,
openpyxl for the rest) and with openpyxl alone. The raw tables, the carried sheets, the
decision edits and every problem must be the same, value for value and type for type (5 and
5.0 are different cells to a message). The hand-written sheets are the cases where calamine
on its own reads otherwise than openpyxl: the reader must notice each one and let openpyxl
read that sheet.
"""

from __future__ import annotations

import datetime as dt
import sys
import zipfile
from pathlib import Path

import pytest

from optimizer.errors import InputError
from optimizer.workbook import reader
from optimizer.workbook.validate import build_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hardening"))
import fuzz  # noqa: E402

MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
        '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
        'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.'
        'xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.styles+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook {MAIN} xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name="Notes" sheetId="1" r:id="rId1"/></sheets>'
        '</workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        '2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.'
        'xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/></Relationships>'),
    "xl/styles.xml": (
        f'<?xml version="1.0" encoding="UTF-8"?><styleSheet {MAIN}><fonts count="1"><font><sz val="11"/>'
        '</font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders '
        'count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs><cellXfs '
        'count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="2"/><xf numFmtId="27"/></cellXfs>'
        '</styleSheet>'),
}
STRINGS = ["project_id", "P1", "Energy", "plain", "note", "x"]


def crafted(path: Path, sheet_data: str, strings: list[str] = STRINGS) -> Path:
    """A one-sheet workbook ("Notes", carried over whole) around the given <sheetData> content."""
    sst = "".join(f"<si><t>{s}</t></si>" for s in strings)
    parts = dict(PARTS)
    parts["xl/sharedStrings.xml"] = f'<?xml version="1.0" encoding="UTF-8"?><sst {MAIN}>{sst}</sst>'
    parts["xl/worksheets/sheet1.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet {MAIN}><sheetData>'
                                         f"{sheet_data}</sheetData></worksheet>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text.encode())
    return path


def outcome(path: Path, calamine: bool, monkeypatch) -> tuple:
    """What reading ``path`` gives, as a comparable tuple with every value's type."""
    with monkeypatch.context() as m:
        if not calamine:
            m.setattr(reader._Calamine, "start", lambda self, worksheets: None)
        try:
            raw = reader.read_raw(path)
        except InputError as exc:
            return ("refused", _typed(exc.problems))
        pipeline, problems = build_pipeline(raw)
    tables = {k: (t.title, t.header_row, t.columns, _typed(t.rows), t.extra) for k, t in raw.tables.items()}
    return ("read", tables, _typed(raw.carried), _typed(raw.decision_edits), _typed(raw.problems),
            _typed(problems), pipeline)


def _typed(value):
    """``repr`` tells 5 from 5.0 and None from "", which ``==`` does not."""
    return repr(value)


def assert_same(path: Path, monkeypatch) -> tuple:
    fast, slow = outcome(path, True, monkeypatch), outcome(path, False, monkeypatch)
    assert fast == slow
    return fast


# ----------------------------------------------------------------------------- ordinary workbooks
@pytest.mark.parametrize("seed", range(120))
def test_seeded_damaged_pipelines_read_the_same(tmp_path, seed, monkeypatch):
    path = tmp_path / "pipeline.xlsx"
    fuzz.case(seed, path)
    assert_same(path, monkeypatch)


def test_the_sample_pipeline_reads_the_same(monkeypatch):
    assert_same(Path(__file__).resolve().parents[2] / "inputs" / "pipeline.xlsx", monkeypatch)


def test_a_plain_sheet_is_read_by_calamine(tmp_path, monkeypatch):
    """A pipeline written the usual way never reaches openpyxl's cell parser (the point of it all)."""
    import xlsxwriter

    path = tmp_path / "plain.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("Projects")
    ws.write_row(0, 0, ["Pipeline 2027"])  # a title block, a blank row, then the header
    ws.write_row(2, 0, ["project_id", "name", "sector", "capex", "npv", "risk", "us_approval"])
    for i in range(1, 30):
        ws.write_row(2 + i, 0, [f"P{i}", f"Plant {i}", "Energy", 10.5 + i, i, 1 + i % 5, "yes"])
    ws.write_row(40, 2, ["a note below the table"])
    wb.close()
    calls = []
    real = reader._sheet_rows
    monkeypatch.setattr(reader, "_sheet_rows", lambda *a: calls.append(a[1].title) or real(*a))
    raw = reader.read_raw(path)
    assert calls == [] and len(raw.tables["Projects"].rows) == 30
    assert raw.tables["Projects"].rows[0] == (4, ("P1", "Plant 1", "Energy", 11.5, 1, 2, "yes"))
    assert type(raw.tables["Projects"].rows[0][1][4]) is int  # as openpyxl gives a whole number


def test_without_calamine_openpyxl_reads_everything(tmp_path, monkeypatch):
    path = tmp_path / "pipeline.xlsx"
    fuzz.case(3, path)
    expected = outcome(path, False, monkeypatch)
    monkeypatch.setitem(sys.modules, "python_calamine", None)  # import fails
    assert outcome(path, True, monkeypatch) == expected


# ----------------------------------------------------------------------------- what calamine reads otherwise
CELLS = {
    "error cells": '<row r="1"><c r="A1" t="e"><v>#N/A</v></c><c r="B1" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>',
    "a date style": '<row r="1"><c r="A1" s="1"><v>46388</v></c><c r="B1" s="2"><v>2.5</v></c></row>',
    "a format calamine takes for a date": '<row r="1"><c r="A1" s="3"><v>46388</v></c></row>',
    "an ISO date cell": '<row r="1"><c r="A1" t="d"><v>2027-01-01T00:00:00</v></c></row>',
    "whitespace-only text": ('<row r="1"><c r="A1" t="s"><v>2</v></c>'
                             '<c r="B1" t="inlineStr"><is><t>  </t></is></c></row>'),
    "whitespace-only shared text": ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>',
                                    ["x", "  "]),
    "an empty shared string": ('<row r="1"><c r="A1" t="s"><v>1</v></c><c r="B1"><v>1</v></c></row>', ["x", ""]),
    "an _x escape": '<row r="1"><c r="A1" t="inlineStr"><is><t>a_x0041_b</t></is></c></row>',
    "an escape in shared strings": ('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', ["a_x0041_b"]),
    "x005F_ in shared strings": ('<row r="1"><c r="A1" t="s"><v>0</v></c></row>', ["ax005F_b"]),
    "a styled empty cell": '<row r="1"><c r="A1"><v>1</v></c><c r="D1" s="2"/></row>',
    "an uncalculated formula": '<row r="1"><c r="A1"><f>1+1</f></c><c r="B1"><v>2</v></c></row>',
    "NaN and inf": '<row r="1"><c r="A1"><v>NaN</v></c></row>',
    "5.0 and 1E2": '<row r="1"><c r="A1"><v>5.0</v></c><c r="B1"><v>1E2</v></c><c r="C1"><v>0.25</v></c></row>',
    "numbers with spaces": '<row r="1"><c r="A1"><v> 7</v></c><c r="B1"><v>1_000</v></c></row>',
    "a boolean written true": '<row r="1"><c r="A1" t="b"><v>true</v></c></row>',
    "cells without references": "<row><c><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row>",
    "a missing </row>": '<row r="1"><c r="A1"><v>1</v></c><row r="2"><c r="A2"><v>2</v></c></row>',
    "a missing </c>": '<row r="1"><c r="A1"><v>1</v></row>',
    "a missing last </row>": '<row r="1"><c r="A1"><v>1</v></c></row><row r="9"><c r="D9"><v>1</v></c>',
    "rows without references": '<row><c r="A1"><v>1</v></c></row><row><c r="A2"><v>2</v></c></row>',
    "a bad shared string index": '<row r="1"><c r="A1" t="s"><v>99</v></c></row>',
    "an unknown cell type": '<row r="1"><c r="A1" t="x"><v>abc</v></c></row>',
    "empty rows after the table": '<row r="1"><c r="A1"><v>1</v></c></row><row r="3"/><row r="9" ht="20"></row>',
    "a sheet starting at C5": '<row r="5"><c r="C5" t="s"><v>0</v></c><c r="D5" t="s"><v>1</v></c></row>'
                              '<row r="8"><c r="E8"><v>2.5</v></c></row>',
    "two-letter columns": "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c><c r="AB{r}"><v>1.5</v></c></row>'
                                  for r in range(1, 5)),
    "a row past 99,999": '<row r="1"><c r="A1"><v>1</v></c></row><row r="150000"><c r="B150000"><v>2</v></c></row>',
    "a lower-case reference": '<row r="1"><c r="a1"><v>1</v></c></row>',
    "only empty rows": '<row r="1"/><row r="2"/>',
    "no rows": "",
    "numbers, texts, yes and no": '<row r="1"><c r="A1"><v>-0</v></c><c r="B1"><v>123456789012345</v></c>'
                                  '<c r="C1"><v>1E+20</v></c><c r="D1"><v>1.5E-7</v></c><c r="E1" t="b"><v>1</v>'
                                  '</c><c r="F1" t="s"><v>5</v></c><c r="G1" t="str"><f>"x"</f><v>x</v></c></row>',
}


@pytest.mark.parametrize("name", CELLS)
def test_what_calamine_reads_otherwise_goes_to_openpyxl(tmp_path, name, monkeypatch):
    cells, strings = CELLS[name] if isinstance(CELLS[name], tuple) else (CELLS[name], STRINGS)
    assert_same(crafted(tmp_path / "c.xlsx", cells, strings), monkeypatch)


def test_a_sheet_cut_short_goes_to_openpyxl(tmp_path, monkeypatch):
    path = crafted(tmp_path / "whole.xlsx", "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>'
                                                    for r in range(1, 200)))
    parts = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            parts[name] = z.read(name)
    sheet = parts["xl/worksheets/sheet1.xml"].replace(b"<sheetData>", b'<dimension ref="A1:A199"/><sheetData>')
    parts["xl/worksheets/sheet1.xml"] = sheet[: sheet.index(b'<row r="150"')]  # between two rows
    cut = tmp_path / "cut.xlsx"
    with zipfile.ZipFile(cut, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    fast = assert_same(cut, monkeypatch)
    assert "could not be read after row 149" in fast[4]


@pytest.mark.parametrize("cells", [
    '<row r="1"><c r="A1"><v>1</v></c></row><row r="1048576"><c r="XFD1048576"><v>2</v></c></row>',
    '<row r="1"><c r="XFD1"><v>2</v></c><c r="A1"><v>1</v></c></row>',  # the far cell first in its row
    '<row r="1"><c r="xfd1048576"><v>2</v></c></row>',
    '<row r="1"><c r="$XFD$1048576"><v>2</v></c></row>',
])
def test_a_far_cell_never_reaches_calamine(tmp_path, cells, monkeypatch):
    """calamine lays a sheet out densely to its last cell and aborts the process when that does
    not fit in memory: the scan bounds every reference before calamine sees the sheet."""
    started = []
    real = reader._Calamine._parse
    monkeypatch.setattr(reader._Calamine, "_parse", lambda self, titles: started.extend(titles) or real(self, titles))
    path = crafted(tmp_path / "far.xlsx", cells)
    assert outcome(path, True, monkeypatch) == outcome(path, False, monkeypatch)
    assert started == []


def test_dates_in_a_pipeline_read_the_same(tmp_path, monkeypatch):
    from helpers import make_workbook, project

    path = make_workbook(tmp_path / "dates.xlsx", [project("P1", 10, 2, earliest_start=dt.datetime(2028, 1, 1)),
                                                   project("P2", 11, 3)], fund={"planning_start": 2027})
    assert assert_same(path, monkeypatch)[0] == "read"
