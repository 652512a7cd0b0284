"""Reading an input workbook into raw tables.

The workbook is opened read-only, values only (formulas give their cached value; macros are
never run), with defusedxml guarding the XML. Each sheet the schema knows becomes a
:class:`RawTable`: its header row found below any title block, its rows with their Excel row
numbers, blank rows skipped. Turning raw tables into a validated :class:`~optimizer.data.Pipeline`
is :mod:`optimizer.workbook.validate`'s job.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..data import Problem, SourceSheet
from ..errors import InputError
from .coerce import is_blank
from .schema import Sheet, find_sheet, normalize

#: output report sheets: never carried over again when an output workbook is read as input
REPORT_SHEETS = {normalize(n) for n in (
    "Summary", "Portfolio", "Alternatives", "Rejected", "Nations", "Sources", "Capital", "Constraints", "Run",
    "Diagnosis", "Frontier", "Comparison", "Robustness")}

HEADER_SEARCH_ROWS = 30
MAX_UNPACKED_BYTES = 1_000_000_000
MAX_ROWS = 1_100_000


@dataclass
class RawTable:
    schema: Sheet
    title: str
    header_row: int | None
    #: normalized header key -> (0-based column index, header text as typed)
    columns: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: (Excel row number, cell values) for every non-blank row below the header
    rows: list[tuple[int, tuple]] = field(default_factory=list)
    #: header texts that are not schema columns, in sheet order
    extra: list[tuple[int, str]] = field(default_factory=list)

    def column_name(self, key: str) -> str:
        return self.columns[key][1] if key in self.columns else key


@dataclass
class RawWorkbook:
    name: str
    sha256: str
    tables: dict[str, RawTable]
    carried: list[SourceSheet]
    problems: list[Problem]
    #: decisions typed on an earlier output's Portfolio / Rejected sheets:
    #: (sheet title, Excel row, project_id, decision cell, decision the row was written with)
    decision_edits: list[tuple[str, int, object, object, object]] = field(default_factory=list)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_container(path: Path) -> None:
    """Refuse what is not a readable .xlsx before openpyxl sees it."""
    name = path.name
    if not path.exists():
        raise InputError([Problem(name, None, None, str(path), "file not found")])
    if path.is_dir():
        raise InputError([Problem(name, None, None, str(path), "is a folder, not a workbook")])
    suffix = path.suffix.lower()
    if suffix in (".xls", ".ods", ".csv", ".numbers"):
        raise InputError([Problem(name, None, None, suffix,
                                  f"{suffix} files are not read: save the workbook as .xlsx in Excel or LibreOffice")])
    if not zipfile.is_zipfile(path):
        raise InputError([Problem(name, None, None, None,
                                  "is not an Excel .xlsx workbook (the file is empty, damaged or another format)")])
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError([Problem(name, None, None, None, f"is a damaged workbook ({exc})")]) from None
    if total > MAX_UNPACKED_BYTES:
        raise InputError([Problem(name, None, None, f"{total / 1e9:.1f} GB unpacked",
                                  "unpacks to more than 1 GB; refusing to read it")])
    if "xl/workbook.xml" not in names:
        raise InputError([Problem(name, None, None, None, "is a zip file but not an Excel .xlsx workbook")])


def _find_header(rows: list[tuple], sheet: Sheet) -> int | None:
    """0-based index of the first row holding every required column name (SPEC §1).

    When no row holds them all, the row naming the most required columns (and at least two
    columns of the sheet, so that a one-cell title is never taken for a header) is the header:
    the validator then reports the missing columns at that row instead of "no header".
    """
    required = [c for c in sheet.columns if c.required] or list(sheet.columns[:1])
    best: tuple[int, int] | None = None  # (required columns named, row index)
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = {normalize(v) for v in row if isinstance(v, str) and v.strip()}
        hits = sum(1 for c in required if keys & c.keys)
        if hits == len(required):
            return i
        known = sum(1 for c in sheet.columns if keys & c.keys)
        if hits and known >= 2 and (best is None or hits > best[0]):
            best = (hits, i)
    return None if best is None else best[1]


DECISION_SHEETS = {normalize("Portfolio"), normalize("Rejected")}


def _decision_edits(ws) -> list[tuple]:
    """Rows of a report sheet whose header (row 1) has project_id, decision and decision_as_written."""
    out = []
    header: dict[str, int] | None = None
    for n, row in enumerate(ws.iter_rows(values_only=True), 1):
        if header is None:
            header = {normalize(v): j for j, v in enumerate(row) if isinstance(v, str)}
            if not {"projectid", "decision", "decisionaswritten"} <= header.keys():
                return []
            continue
        cells = [row[header[k]] if header[k] < len(row) else None
                 for k in ("projectid", "decision", "decisionaswritten")]
        if not is_blank(cells[0]):
            out.append((ws.title, n, *cells))
        if n >= MAX_ROWS:
            break
    return out


def _find_param_header(rows: list[tuple]) -> int | None:
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [normalize(v) if isinstance(v, str) else "" for v in row]
        if "parameter" in keys and "value" in keys:
            return i
    return None


def read_raw(path: str | os.PathLike) -> RawWorkbook:
    """Open the workbook and collect every sheet the schema knows as a raw table."""
    import openpyxl  # deferred: keeps `fundopt --help` fast

    path = Path(path)
    _check_container(path)
    digest = sha256_of(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise InputError([Problem(path.name, None, None, None,
                                  f"could not be opened as an Excel workbook ({type(exc).__name__}: {exc})")]) from None
    problems: list[Problem] = []
    decision_edits: list = []
    tables: dict[str, RawTable] = {}
    carried: list[SourceSheet] = []
    try:
        for ws in wb.worksheets:
            schema = find_sheet(ws.title)
            if schema is None and normalize(ws.title) in REPORT_SHEETS:
                if normalize(ws.title) in DECISION_SHEETS:
                    decision_edits.extend(_decision_edits(ws))
                continue
            rows: list[tuple] = []
            for n, row in enumerate(ws.iter_rows(values_only=True)):
                if n >= MAX_ROWS:
                    problems.append(Problem(ws.title, n + 1, None, None,
                                            f"has more than {MAX_ROWS:,} rows; refusing to read further"))
                    break
                rows.append(tuple(row))
            while rows and all(is_blank(v) for v in rows[-1]):
                rows.pop()
            if schema is None:
                carried.append(SourceSheet(ws.title, tuple(rows)))
                continue
            if schema.name in tables:
                problems.append(Problem(ws.title, None, None, ws.title,
                                        f"is a second {schema.name} sheet (the first is "
                                        f"'{tables[schema.name].title}'); keep one"))
                continue
            header = _find_param_header(rows) if schema.kind == "params" else _find_header(rows, schema)
            carried.append(SourceSheet(ws.title, tuple(rows), None if header is None else header + 1))
            tables[schema.name] = _raw_table(schema, ws.title, rows, header, problems)
    finally:
        wb.close()
    return RawWorkbook(path.name, digest, tables, carried, problems, decision_edits)


def _raw_table(schema: Sheet, title: str, rows: list[tuple], header: int | None,
               problems: list[Problem]) -> RawTable:
    if header is None:
        if schema.kind == "params":
            # no parameter/value header: column A holds the name, B the value
            body = [(i + 1, r) for i, r in enumerate(rows) if not all(is_blank(v) for v in r)]
            return RawTable(schema, title, None, {"parameter": (0, "parameter"), "value": (1, "value")}, body)
        missing = [c.name for c in schema.columns if c.required]
        problems.append(Problem(title, None, ", ".join(missing), None,
                                f"no header row found: the sheet needs the column"
                                f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                                f"(looked in the first {HEADER_SEARCH_ROWS} rows)"))
        return RawTable(schema, title, None)
    table = RawTable(schema, title, header + 1)
    key_of = {k: c.name for c in schema.columns for k in c.keys}
    for j, cell in enumerate(rows[header]):
        if is_blank(cell):
            continue
        text = str(cell).strip()
        key = key_of.get(normalize(text), normalize(text) if schema.kind == "params" or schema.open_columns else None)
        if key is None:
            table.extra.append((j, text))
            continue
        if key in table.columns:
            problems.append(Problem(title, header + 1, text, text,
                                    f"column appears twice (also column {_letter(table.columns[key][0])}); keep one"))
            continue
        table.columns[key] = (j, text)
    for i in range(header + 1, len(rows)):
        row = rows[i]
        if all(is_blank(v) for v in row):
            continue
        table.rows.append((i + 1, row))
    return table


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def read_report_tables(path: str | os.PathLike, names: tuple[str, ...]) -> dict[str, list[dict]]:
    """Output report sheets (header in row 1) as lists of row dicts; a missing sheet gives []."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        out: dict[str, list[dict]] = {}
        titles = {normalize(ws.title): ws for ws in wb.worksheets}
        for name in names:
            ws = titles.get(normalize(name))
            rows = [] if ws is None else list(ws.iter_rows(values_only=True))
            if not rows:
                out[name] = []
                continue
            header = [str(h) if h is not None else "" for h in rows[0]]
            out[name] = [dict(zip(header, r)) for r in rows[1:] if not all(is_blank(v) for v in r)]
        return out
    finally:
        wb.close()
