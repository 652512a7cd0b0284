"""Reading an input workbook into raw tables.

The workbook is opened read-only, values only (formulas give their cached value; macros are
never run), with defusedxml guarding the XML. A sheet whose XML is plain is read with calamine
(Rust, about ten times faster), giving exactly what openpyxl gives; openpyxl reads any other
sheet, cell by cell, as it always has (see :class:`_Calamine`). Each sheet the schema knows becomes a
:class:`RawTable`: its header row found below any title block, its rows with their Excel row
numbers, blank rows skipped. Turning raw tables into a validated :class:`~optimizer.data.Pipeline`
is :mod:`optimizer.workbook.validate`'s job.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import zipfile
from contextlib import contextmanager
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

# Limits on what is read. A pipeline workbook is a few MB; these are far above any real one
# and keep a hostile file (a zip bomb, entity expansion, a sheet claiming millions of rows)
# to seconds and well under 1 GB of memory. Each refusal is a located problem (exit 2).
#: largest input file read at all
MAX_FILE_BYTES = 200_000_000
#: most parts (files) inside the workbook's zip
MAX_PARTS = 10_000
#: most bytes the whole workbook may unpack to, as its zip directory declares
MAX_UNPACKED_BYTES = 400_000_000
#: most bytes one worksheet's XML may unpack to (worksheets are streamed)
MAX_SHEET_PART_BYTES = 200_000_000
#: most bytes any other XML part may unpack to (these are parsed whole)
MAX_OTHER_PART_BYTES = 100_000_000
#: a part larger than MAX_RATIO_FROM bytes may not be compressed more than MAX_RATIO to 1
#: (real workbooks compress 3–20 to 1; zip bombs 1,000 to 1)
MAX_RATIO = 100
MAX_RATIO_FROM = 1_000_000
#: most cells read over all the sheets that are read (about 100,000 projects × 25 columns)
MAX_CELLS = 2_500_000
#: most rows in the XML of one worksheet, and Excel's last row
MAX_ROWS = 1_048_576
#: most cells held after rows are laid out by column (a stray cell far right widens its row)
MAX_SLOTS = 25_000_000

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_SAVE_AS = "save the workbook as .xlsx in Excel or LibreOffice"
#: markers of a document type declaration: the way entity expansion ("billion laughs") and
#: external entities get into XML. No part of a real .xlsx has one.
_DTD_MARKERS = tuple(m.encode(enc) for m in ("<!DOCTYPE", "<!ENTITY")
                     for enc in ("ascii", "utf-16-le", "utf-16-be"))
_CELL_MARKERS = (b"<c ", b"<c>", b":c ", b":c>")
_ROW_MARKERS = (b"<row ", b"<row>", b":row ", b":row>")
_STRING_MARKERS = (b"<si>", b"<si ", b":si>", b":si ")
#: the rarer markers, counted only where a quick search finds one of them
_RARE_CELL, _RARE_ROW = (b"<c>", b":c ", b":c>"), (b"<row>", b":row ", b":row>")
#: a cell that is not ``<c r="A1"``-plain: no reference first, ``<c>``, or a reference of two or
#: more letters or a row past 99,999 (the last two are read, and bound the sheet's extent)
_ODD_CELL = re.compile(rb'<c(?:>| (?!r="[A-Za-z][0-9]{1,5}"))')
_ODD_ROW = re.compile(rb'<row(?:>| (?!r="[0-9]))')
_PREFIXED = re.compile(rb":(?:c|row)[ >]")
_CELL_REF = re.compile(rb'<c r="([A-Za-z]{1,3})([0-9]{1,7})"')
_ROW_REF = re.compile(rb'<row r="([0-9]{1,7})"')
_EMPTY_ROW = re.compile(rb"<row [^<>]*/>")
#: a value whose text openpyxl and calamine read differently, or that may be: anything but an
#: integer of at most 15 digits (openpyxl: int), a decimal with a non-zero digit after its
#: point (float), or an exponent form below 1 or at 1e16 and above (float). So "5.0" (openpyxl:
#: the float 5.0), "NaN", " 7", "1_000", "true" and formula text go to openpyxl.
_ODD_VALUE = re.compile(rb"<v(?: |>(?!-?(?:[0-9]{1,15}+</v>|[0-9]{0,15}+\.[0-9]*[1-9][0-9]*+</v>"
                        rb"|[1-9](?:\.[0-9]*+)?[eE](?:-[0-9]{1,3}|\+?(?:1[6-9]|[2-9][0-9]|[1-9][0-9]{2}))</v>)))")
#: a match this near the end of a chunk is looked at again with the next chunk
_LOOKAHEAD = 20


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
    #: the validator's coerced columns and cell problems, worked out once (see validate._Coerced)
    records: object = field(default=None, repr=False, compare=False)

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


def _refuse(path: Path, message: str, value: object = None) -> InputError:
    return InputError([Problem(path.name, None, None, value, message)])


@dataclass
class _Scan:
    """What the zip directory and one streamed pass over the XML parts say, before parsing."""

    #: worksheet part name -> (cells, rows) counted in its XML
    sheets: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: part names of the zip, for damaged-part messages
    parts: tuple[str, ...] = ()
    #: worksheet part name -> what the same pass learnt of its layout (see _Layout)
    layouts: dict[str, "_Layout"] = field(default_factory=dict)
    #: the shared strings part is whole and holds nothing calamine reads otherwise than openpyxl
    strings_plain: bool = True
    #: bytes of unpacked worksheets kept for _check_plain (at most KEEP_BYTES)
    kept: int = 0


@dataclass
class _Layout:
    """A worksheet's XML as the scan saw it: whether calamine may read it (see _Calamine).

    ``safe`` (decided by the scan, before calamine sees the part): every cell is written
    ``<c r="A1"…>`` and every row ``<row r="1"…>``, with no namespace prefix (calamine reads
    prefixed tags the byte search does not see), the part is UTF-8, and the references reach no
    further than ``max_col`` × ``max_row``: calamine lays a sheet out densely to its last cell,
    and stops the process when that does not fit in memory.

    ``plain`` (decided by ``_check_plain`` while calamine parses): the tags pair up and the
    part ends with its closing tag (openpyxl reads a cut or damaged part up to the damage and
    says so), every value's text is a number both read alike (see ``_ODD_VALUE``), and no text
    holds an ``_xHHHH_`` escape (calamine decodes it, openpyxl does not).
    """

    safe: bool = True
    plain: bool = False
    #: the reference of the last ``<row>``: openpyxl's row count for the sheet
    last_row: int = 0
    #: largest column and row a cell reference reaches, counting single-letter columns as 26
    #: and rows below 100,000 as 99,999
    max_col: int = 26
    max_row: int = 99_999
    #: the part ends with ``</worksheet>``
    complete: bool = False
    #: the unpacked part, kept from the scan for ``_check_plain`` (None: unpacked again)
    chunks: list[bytes] | None = None


def _check_container(path: Path) -> _Scan:
    """Refuse what is not a readable .xlsx before openpyxl or calamine sees it, naming what the file is.

    Nothing here unpacks more than the zip directory allows: sizes and compression ratios are
    checked in the directory first, then every XML part is streamed once (in C, 1 MB at a time)
    to look for document type declarations and to count the cells and rows of each worksheet.
    """
    if not path.exists():
        raise _refuse(path, "file not found", str(path))
    if path.is_dir():
        raise _refuse(path, "is a folder, not a workbook", str(path))
    if not path.is_file():  # a device, a pipe or a socket: reading it could block or never end
        raise _refuse(path, "is not a regular file (a device, pipe or socket), not a workbook", str(path))
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise _refuse(path, "is not an Excel .xlsx workbook: the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise _refuse(path, f"is {size / 1e6:,.0f} MB, more than the {MAX_FILE_BYTES / 1e6:,.0f} MB fundopt reads; "
                            "a pipeline workbook is far smaller", f"{size / 1e6:,.0f} MB")
    if head.startswith(_OLE2):
        if "EncryptedPackage".encode("utf-16-le") in head or _ole_has(path, "EncryptedPackage"):
            raise _refuse(path, "is a password-protected (encrypted) workbook; remove the password in Excel "
                                "(File > Info > Protect Workbook) and save it as .xlsx", "encrypted")
        raise _refuse(path, "is an old Excel 97–2003 .xls workbook; .xls files are not read: " + _SAVE_AS, ".xls")
    if head.startswith(_ZIP):
        return _check_zip(path)
    kind = _text_kind(head)
    if kind is not None:
        raise _refuse(path, *kind)
    if head.startswith(b"%PDF"):
        raise _refuse(path, "is a PDF document, not an Excel workbook", ".pdf")
    suffix = path.suffix.lower()
    if suffix in (".xls", ".ods", ".csv", ".numbers", ".xlsb"):
        raise _refuse(path, f"{suffix} files are not read: " + _SAVE_AS, suffix)
    raise _refuse(path, "is not an Excel .xlsx workbook (the file is empty, damaged or another format)")


def _ole_has(path: Path, stream: str) -> bool:
    """Whether an OLE2 compound file names ``stream`` in its first megabyte (its directory)."""
    with open(path, "rb") as f:
        return stream.encode("utf-16-le") in f.read(1 << 20)


def _text_kind(head: bytes) -> tuple[str, str] | None:
    """(message, value) when the file is text: CSV, an HTML export or an Excel 2003 XML file."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head.decode("utf-16", errors="replace")
    else:
        try:
            text = head.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
                return None
            text = head[:exc.start].decode("utf-8-sig", errors="replace")
    if not text.strip() or sum(c.isprintable() or c in "\r\n\t" for c in text) < 0.97 * len(text):
        return None
    lower = text.lstrip().lower()
    if lower.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in lower:
        return ("is an Excel 2003 XML spreadsheet; these are not read: " + _SAVE_AS, ".xml")
    if "<html" in lower[:4096] or "<table" in lower[:4096]:
        return ("is a web page (HTML), as some systems export under an Excel name; open it in Excel and "
                "save it as .xlsx", ".html")
    return ("is text (CSV), not an Excel workbook; .csv files are not read: " + _SAVE_AS, ".csv")


def _check_zip(path: Path) -> _Scan:
    try:
        with open(path, "rb") as f:
            end = zipfile._EndRecData(f)  # the directory's own count, before it is parsed
        if end is not None and end[zipfile._ECD_ENTRIES_TOTAL] > MAX_PARTS:
            raise _refuse(path, f"is a zip of {end[zipfile._ECD_ENTRIES_TOTAL]:,} parts, more than the "
                                f"{MAX_PARTS:,} fundopt reads; refusing to unpack it")
    except (OSError, AttributeError, IndexError, TypeError):
        pass  # zipfile below says what is wrong
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise _refuse(path, "is a damaged or truncated Excel workbook: it begins like one but its zip directory "
                            f"cannot be read ({exc}); was the copy or download cut short?") from None
    with z:
        infos = z.infolist()
        names = {i.filename for i in infos}
        kind = _zip_kind(z, names)
        if kind is not None:
            raise _refuse(path, *kind)
        if "xl/workbook.xml" not in names:
            raise _refuse(path, "is a zip file but not an Excel .xlsx workbook")
        if any(i.flag_bits & 0x1 for i in infos):
            raise _refuse(path, "has encrypted parts; remove the password in Excel and save it as .xlsx", "encrypted")
        total = sum(i.file_size for i in infos)
        if total > MAX_UNPACKED_BYTES:
            raise _refuse(path, f"unpacks to {_size(total)}, more than the {_size(MAX_UNPACKED_BYTES)} fundopt "
                                f"reads, from a file of {_size(path.stat().st_size)}: refusing to unpack it "
                                "(a small file that unpacks this large is a zip bomb)", f"{_size(total)} unpacked")
        for i in infos:
            ratio = i.file_size / max(i.compress_size, 1)
            if i.file_size > MAX_RATIO_FROM and ratio > MAX_RATIO:
                raise _refuse(path, f"part {i.filename} is compressed {ratio:,.0f} to 1 ({_size(i.file_size)} from "
                                    f"{_size(i.compress_size)}); real workbooks compress less than {MAX_RATIO} to 1, "
                                    "zip bombs about 1,000 to 1: refusing to unpack it", i.filename)
            sheet = i.filename.startswith("xl/worksheets/")
            limit = MAX_SHEET_PART_BYTES if sheet else MAX_OTHER_PART_BYTES
            if _is_xml(i.filename) and i.file_size > limit:
                raise _refuse(path, f"part {i.filename} unpacks to {_size(i.file_size)}, more than the "
                                    f"{_size(limit)} fundopt reads", i.filename)
        scan = _Scan(parts=tuple(sorted(names)))
        for i in infos:
            if _is_xml(i.filename):
                _scan_part(path, z, i, scan)
    return scan


def _zip_kind(z: zipfile.ZipFile, names: set[str]) -> tuple[str, str] | None:
    """(message, value) for zip-based formats that are not .xlsx: OpenDocument, .xlsb, Word, PowerPoint."""
    if "mimetype" in names:
        info = z.getinfo("mimetype")
        mime = ""
        if info.file_size < 200:
            try:
                mime = z.read(info).decode("ascii", errors="replace").strip()
            except Exception:  # a damaged mimetype still says OpenDocument
                pass
        if mime.endswith("opendocument.spreadsheet") or not mime.startswith("application/vnd.oasis"):
            return ("is an OpenDocument spreadsheet (.ods); .ods files are not read: " + _SAVE_AS, ".ods")
        return (f"is an OpenDocument file ({mime.rsplit('.', 1)[-1]}), not an Excel workbook", mime)
    if "xl/workbook.bin" in names:
        return ("is a binary Excel workbook (.xlsb); .xlsb files are not read: " + _SAVE_AS, ".xlsb")
    if "word/document.xml" in names:
        return ("is a Word document, not an Excel workbook", ".docx")
    if "ppt/presentation.xml" in names:
        return ("is a PowerPoint presentation, not an Excel workbook", ".pptx")
    return None


def _is_xml(name: str) -> bool:
    return name.lower().endswith((".xml", ".rels", ".vml"))


def _size(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB" if n >= 1e5 else f"{n:,.0f} bytes"


def _scan_part(path: Path, z: zipfile.ZipFile, info: zipfile.ZipInfo, scan: _Scan) -> None:
    """Stream one XML part: refuse a document type declaration; count a worksheet's cells and rows.

    The same pass notes whether calamine may parse a worksheet safely (:class:`_Layout`), keeps
    a small worksheet's unpacked XML for the checks made while calamine parses it, and notes
    whether the shared strings are plain. Each marker is counted only where it can occur:
    the rare ones (``<c>``, namespace-prefixed tags) only in a chunk where a quick search finds
    one, and a document type declaration is looked for only where a ``!`` is.
    """
    name = info.filename
    sheet = name.startswith("xl/worksheets/")
    strings = name == "xl/sharedStrings.xml"
    counts = dict.fromkeys(_CELL_MARKERS + _ROW_MARKERS, 0) if sheet else {}
    if strings:
        counts = dict.fromkeys(_STRING_MARKERS, 0)
    layout = _Layout() if sheet else None
    carry = tail = b""
    first = True
    try:
        with z.open(info) as f:
            chunk = f.read(1 << 20)
            while chunk:
                following = f.read(1 << 20)
                data = carry + chunk
                if b"!" in data:  # every marker of a declaration has one, in any encoding
                    for m in _DTD_MARKERS:
                        if m in data:
                            raise _refuse(path, f"part {name} declares a document type (<!DOCTYPE or <!ENTITY), "
                                                "which no Excel workbook does and XML entity-expansion attacks "
                                                "use: refusing to read it", name)
                # a marker split over the two reads is counted once: the carry is shorter than any marker
                if sheet:
                    _count_sheet(data, carry, counts, layout, final=not following)
                    if first:
                        layout.safe = layout.safe and _utf8(chunk)
                        if layout.safe and scan.kept + info.file_size <= KEEP_BYTES:
                            layout.chunks = []
                            scan.kept += info.file_size
                    if layout.chunks is not None:
                        layout.chunks.append(chunk)
                    tail = (tail + chunk)[-64:]
                else:
                    for m in counts:
                        counts[m] += data.count(m) - carry.count(m)
                    if strings:
                        if b"_x" in data or b"x005F_" in data:  # escapes openpyxl keeps and calamine decodes
                            scan.strings_plain = False
                        tail = (tail + chunk)[-64:]
                first = False
                carry = chunk[-256:] if sheet else chunk[-32:]  # long enough for an empty <row …/>
                chunk = following
    except InputError:
        raise
    except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError, NotImplementedError (compression)
        raise _refuse(path, f"is a damaged workbook: part {name} cannot be unpacked "
                            f"({type(exc).__name__}: {exc})", name) from None
    if strings:
        if not tail.rstrip().endswith(b"</sst>"):
            scan.strings_plain = False  # cut short or not plain: openpyxl reads it, and says what is wrong
        if sum(counts.values()) > MAX_CELLS:
            raise _refuse(path, f"holds {sum(counts.values()):,} distinct texts, more than the {MAX_CELLS:,} cells "
                                "fundopt reads", name)
    if sheet:
        cells = sum(counts[m] for m in _CELL_MARKERS)
        rows = sum(counts[m] for m in _ROW_MARKERS)
        scan.sheets[name] = (cells, rows)
        layout.complete = tail.rstrip().endswith(b"</worksheet>")
        if not layout.safe:
            layout.chunks = None
        scan.layouts[name] = layout


def _count_sheet(data: bytes, carry: bytes, counts: dict[bytes, int], layout: _Layout, final: bool) -> None:
    """Count one chunk of a worksheet's cells and rows, and see whether calamine may parse it
    safely (see _scan_part and _Layout)."""
    for m in (b"<c ", b"<row "):
        counts[m] += data.count(m) - carry.count(m)
    odd_cell = _ODD_CELL.search(data)
    odd_row = _ODD_ROW.search(data)
    prefixed = _PREFIXED.search(data)
    # where the search finds none, the rare markers are not in this chunk: they add 0
    if odd_cell:
        counts[b"<c>"] += data.count(b"<c>") - carry.count(b"<c>")
    if odd_row:
        counts[b"<row>"] += data.count(b"<row>") - carry.count(b"<row>")
    if prefixed:
        for m in (b":c ", b":c>", b":row ", b":row>"):
            counts[m] += data.count(m) - carry.count(m)
    if not layout.safe:
        return
    settled = len(data) if final else len(data) - _LOOKAHEAD  # past this, the next chunk decides
    if prefixed or (odd_row and odd_row.start() < settled):
        layout.safe = False
        return
    if odd_cell and odd_cell.start() < settled:
        for m in _ODD_CELL.finditer(data, odd_cell.start(), settled):
            ref = _CELL_REF.match(data, m.start())
            if ref is None:
                layout.safe = False
                return
            layout.max_col = max(layout.max_col, _column_index(ref.group(1)))
            layout.max_row = max(layout.max_row, int(ref.group(2)))
    k = data.rfind(b'<row r="')
    if k >= 0:
        ref = _ROW_REF.match(data, k)
        if ref is not None:
            layout.last_row = int(ref.group(1))
        elif k < settled:
            layout.safe = False


def _check_plain(layout: _Layout, counts: tuple[int, int], zip_file, part: str) -> bool:
    """Whether a safe worksheet is also plain (see _Layout): read while calamine parses it.

    Streams the part again (kept from the scan where it was small enough) with the same
    carry as the scan, so that a tag or value split between two chunks is seen whole once.
    """
    if not layout.complete:
        return False
    chunks = layout.chunks
    layout.chunks = None  # read once
    if chunks is None:
        if zip_file is None:
            return False
        try:
            with zip_file.open(part) as f:
                chunks = list(iter(lambda: f.read(1 << 20), b""))
        except Exception:  # noqa: BLE001 — openpyxl reads it and says what is wrong
            return False
    cells, rows = counts
    cell_ends = row_ends = 0
    carry = b""
    for i, chunk in enumerate(chunks):
        data = carry + chunk
        settled = len(data) if i == len(chunks) - 1 else len(data) - _LOOKAHEAD
        if b"_x" in data:
            return False
        odd = _ODD_VALUE.search(data)
        if odd and odd.start() < settled:
            return False
        cell_ends += data.count(b"</c>") - carry.count(b"</c>")
        row_ends += (data.count(b"</row>") - carry.count(b"</row>")
                     + len(_EMPTY_ROW.findall(data)) - len(_EMPTY_ROW.findall(carry)))
        carry = chunk[-256:]  # long enough for an empty <row …/>
    return cell_ends == cells and row_ends == rows


#: the most unpacked worksheet XML the scan keeps for _check_plain (beyond it, parts are
#: unpacked again): 64 MB, a 90,000-project pipeline
KEEP_BYTES = 64_000_000


def _utf8(head: bytes) -> bool:
    """Whether a part's first bytes say UTF-8 (or nothing, which means UTF-8)."""
    head = head[:200].lower()
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    declared = re.match(rb'(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["\']([^"\']*)', head)
    return declared is None or declared.group(1) in (b"utf-8", b"utf8")


def _column_index(letters: bytes) -> int:
    """1-based index of a column's letters (A = 1, AA = 27)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


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


def _decision_edits(title: str, rows: list[tuple]) -> list[tuple]:
    """Rows of a report sheet whose header (row 1) has project_id, decision and decision_as_written."""
    out = []
    if not rows:
        return out
    header = {normalize(v): j for j, v in enumerate(rows[0]) if isinstance(v, str)}
    if not {"projectid", "decision", "decisionaswritten"} <= header.keys():
        return out
    for n, row in enumerate(rows[1:], 2):
        cells = [row[header[k]] if header[k] < len(row) else None
                 for k in ("projectid", "decision", "decisionaswritten")]
        if not is_blank(cells[0]):
            out.append((title, n, *cells))
    return out


def _find_param_header(rows: list[tuple]) -> int | None:
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [normalize(v) if isinstance(v, str) else "" for v in row]
        if "parameter" in keys and "value" in keys:
            return i
    return None


@contextmanager
def collector_paused(freeze: bool = False):
    """Pause Python's cycle collector while a workbook is read (and restore it after).

    Reading allocates a few objects per cell and frees almost none of them, which is the
    pattern that makes the collector walk every live object again and again: a fifth of
    reading a 10,000-project pipeline. Nothing read forms cycles that need it meanwhile.

    ``freeze``: what is alive at the end is moved out of the collector's generations
    (``gc.freeze()``) before it runs again, so that it is never walked while the run goes on;
    the caller gives it back with ``gc.unfreeze()`` (see ``optimizer.runner.run_workbook``).
    Otherwise the first collections after reading walk the whole pipeline again, and then
    the built model with it: about 0.1 s of a 10,000-project run.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was:
            gc.enable()


def read_raw(path: str | os.PathLike, quick: bool = False) -> RawWorkbook:
    """Open the workbook and collect every sheet the schema knows as a raw table.

    ``quick``: open it without importing openpyxl, while a child process opens it with openpyxl
    to check that the answer is the same (optimizer/workbook/opener.py); for a process that
    reads one workbook and ends, as the command line does."""
    with collector_paused():
        return _read_raw(Path(path), quick)[0]


def read_raw_deferred(path: str | os.PathLike, meanwhile=None) -> tuple[RawWorkbook, "Pending | None"]:
    """The workbook as ``read_raw(path, quick=True)`` reads it, without waiting for the child's
    check: (raw, pending), where ``pending`` (None when nothing is left to check) must be asked
    before anything read is trusted for good (see :class:`Pending`). ``meanwhile``: a callable
    run once, the first time the reading waits for calamine's parse of a sheet (which lets go of
    Python's lock): work the caller would do next anyway, such as its imports."""
    with collector_paused():
        return _read_raw(Path(path), True, defer=True, meanwhile=meanwhile)


def _read_raw(path: Path, quick: bool = False, defer: bool = False, meanwhile=None) -> tuple[RawWorkbook, "Pending | None"]:
    import warnings

    scan = _check_container(path)
    digest = sha256_of(path)
    if quick:
        got = _read_quick(path, scan, digest, defer, meanwhile)
        if got is not None:
            return got
    with warnings.catch_warnings():
        # openpyxl warns about workbook features it does not keep (data validation, slicers…)
        warnings.simplefilter("ignore")
        return _read_opened(path, scan, digest), None


def _read_opened(path: Path, scan: _Scan, digest: str) -> RawWorkbook:
    """The workbook opened by openpyxl here, its sheets read (with calamine where it reads them
    exactly)."""
    try:
        wb = _open_workbook(path, scan)
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise _unopenable(path, _what_failed(exc)) from None
    fast = _Calamine(path, wb, scan)
    try:
        return _read_sheets(path, wb, scan, digest, fast)
    finally:
        fast.close()
        wb.close()


class Pending:
    """The check of a quick read still running in its child (see :func:`read_raw_deferred`)."""

    def __init__(self, path: Path, check, view: tuple):
        self.path, self.check, self.view = path, check, view

    def same(self) -> bool:
        """Wait for the child: True when openpyxl opens the workbook as the quick read did;
        False when it must be read with openpyxl after all (the child saw other worksheets or
        date styles, or gave no answer); raise the refusal when openpyxl cannot open it."""
        verdict = self.check.verdict()
        if verdict is not None and verdict[0] == "refused":
            raise _unopenable(self.path, verdict[1])
        return verdict is not None and verdict == self.view

    def abandon(self) -> None:
        """No answer wanted any more: the child is stopped and reaped."""
        self.check.abandon()


def _read_quick(path: Path, scan: _Scan, digest: str, defer: bool = False, meanwhile=None):
    """The workbook read as :func:`_read_raw` reads it, opened by opener.QuickBook while the child
    checks it with openpyxl: (raw, None) once the child agrees; None when openpyxl must open it
    here (see opener's docstring). ``defer``: a read without problems is given at once, as (raw,
    :class:`Pending`)."""
    from .opener import NeedOpenpyxl, QuickBook, start_check

    check = start_check(path, scan)
    if check is None:
        return None
    book = QuickBook.open(path)
    if book is None:
        check.abandon()
        return None
    raw, failure = None, None
    try:
        fast = _Calamine(path, book, scan)
        fast.meanwhile = meanwhile
        try:
            raw = _read_sheets(path, book, scan, digest, fast)
        finally:
            fast.close()
    except InputError as exc:  # told only once openpyxl would have opened the workbook
        failure = exc
    except (NeedOpenpyxl, Exception):  # noqa: BLE001 — a sheet for openpyxl, or anything odd: openpyxl reads it all
        check.abandon()
        return None
    finally:
        book.close()
    view = book.view()
    if defer and failure is None and not raw.problems:
        return raw, Pending(path, check, view)
    verdict = check.verdict()
    if verdict is None:
        return None
    if verdict[0] == "refused":
        raise _unopenable(path, verdict[1])
    if verdict != view:
        return None  # openpyxl sees other worksheets or date styles: it opens the workbook here
    if failure is not None:
        raise failure
    return raw, None


def _what_failed(exc: Exception) -> str:
    """openpyxl's exception in the words a refusal gives it."""
    return f"{type(exc).__name__}: {exc}"


def _unopenable(path: Path, detail: str) -> InputError:
    """The refusal of a workbook openpyxl could not open (``detail``: :func:`_what_failed`'s words)."""
    return _refuse(path, f"could not be opened as an Excel workbook ({detail})")


def _open_workbook(path: Path, scan: _Scan):
    """openpyxl's read-only, values-only workbook, as ``load_workbook`` opens it, except that the
    shared strings are read when a sheet read by openpyxl first needs one (sheets read by
    calamine never do). A shared strings part the scan did not find plain is read at once, so
    that a damaged one fails here, as it does in ``load_workbook``."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.reader.strings import read_string_table
    from openpyxl.xml.constants import SHARED_STRINGS

    class Reader(ExcelReader):
        def read_strings(self):
            ct = self.package.find(SHARED_STRINGS)
            if ct is None or ct.PartName != "/xl/sharedStrings.xml" or not scan.strings_plain \
                    or ct.PartName[1:] not in self.valid_files:
                return super().read_strings()
            archive, name = self.archive, ct.PartName[1:]

            def load() -> list[str]:
                with archive.open(name) as src:
                    return read_string_table(src)

            self.shared_strings = _LazyStrings(load)

    reader = Reader(path, read_only=True, keep_vba=False, data_only=True, keep_links=False)
    reader.read()
    return reader.wb


class _LazyStrings:
    """The shared strings table, read on first use (openpyxl reads it whole when it opens a
    workbook: a third of a second for a 10,000-project pipeline saved by Excel)."""

    def __init__(self, load):
        self._load = load
        self._strings: list[str] | None = None

    def __getitem__(self, index):
        if self._strings is None:
            self._strings = self._load()
        return self._strings[index]

    def __len__(self) -> int:
        if self._strings is None:
            self._strings = self._load()
        return len(self._strings)


def _read_sheets(path: Path, wb, scan: _Scan, digest: str, fast: "_Calamine | None" = None) -> RawWorkbook:
    problems: list[Problem] = []
    decision_edits: list = []
    tables: dict[str, RawTable] = {}
    carried: list[SourceSheet] = []
    _check_cell_budget(path, wb, scan)
    slots = [0]
    if fast is not None:
        fast.start([ws for ws in wb.worksheets if _is_read(ws.title)])

    def sheet_rows(ws) -> list[tuple]:
        rows = fast.rows(ws, slots) if fast is not None else None
        return _sheet_rows(path, ws, problems, slots) if rows is None else rows

    for ws in wb.worksheets:
        ws.reset_dimensions()  # a <dimension> claiming A1:XFD1048576 must not pad every row
        schema = find_sheet(ws.title)
        if schema is None and normalize(ws.title) in REPORT_SHEETS:
            if normalize(ws.title) in DECISION_SHEETS:
                rows = sheet_rows(ws)
                decision_edits.extend(_decision_edits(ws.title, rows))
            continue
        rows = sheet_rows(ws)
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
    return RawWorkbook(path.name, digest, tables, carried, problems, decision_edits)


class _Odd(Exception):
    """A cell value calamine may give otherwise than openpyxl: a date or time (calamine reads
    number formats its own way), or a number that is not finite (calamine reads "NaN" and
    "inf", where openpyxl refuses the sheet and says why). openpyxl reads the sheet."""


def _odd(value):
    raise _Odd


_STR, _FLOAT, _BOOL = str, float, bool


class _Calamine:
    """Worksheets read with calamine, a reader written in Rust, about ten times openpyxl's
    speed, wherever it gives exactly what openpyxl's read-only mode gives; openpyxl reads the rest.

    calamine gives every number as a float, a blank or error cell as ``""``, dates by its own
    reading of number formats, trims unmarked white space, decodes ``_xHHHH_``, and lays a
    sheet out densely to its last cell. So a sheet is read here only when its layout is safe
    (from the scan, before calamine sees it) and plain (checked while calamine parses it; see
    :class:`_Layout`), no cell has a date style openpyxl would turn into a date, and (from what
    calamine gives) every cell of the XML has a value, no value is a date, a time or a number
    that is not finite, and no value lies beyond the last row. Numbers are then given as
    openpyxl gives them: an int for a whole number (writers put "5" for 5.0), a float otherwise.

    Left as calamine reads them (openpyxl's read-only mode differs, Excel calls such a file
    damaged and repairs it): cells out of order within a row, and a cell whose reference names
    another row than the ``<row>`` it is in; calamine places each cell where its reference says.
    """

    def __init__(self, path: Path, wb, scan: _Scan):
        self.path, self.scan = path, scan
        self.book = None
        self.index: dict[str, int] = {}
        titles = [ws.title for ws in wb.worksheets]
        self.titles = {t for t in titles if titles.count(t) == 1}  # a title shared is read by openpyxl
        self.date_styles = set(getattr(wb, "_date_formats", ()) or ())
        self.zip = getattr(wb, "_archive", None)
        self.grids: dict[str, list | None] = {}
        self.ready: dict = {}  # title -> threading.Event, set once its grid is parsed (or not)
        self.thread = None
        self.meanwhile = None  # run once, the first time a sheet's grid is waited for

    def start(self, worksheets) -> None:
        """Parse, in a second thread, every sheet of ``worksheets`` whose layout is safe.

        calamine lets go of Python's lock while it parses, so this thread meanwhile checks
        whether each sheet is plain, and later lays out one sheet while the next is parsed.
        """
        import threading

        planned = [(ws, layout) for ws in worksheets if (layout := self._layout(ws)) is not None]
        self.ready = {ws.title: threading.Event() for ws, _ in planned}
        if not planned:
            return
        self.thread = threading.Thread(target=self._parse, args=([ws.title for ws, _ in planned],),
                                       daemon=True, name="fundopt-calamine")
        self.thread.start()
        for ws, layout in planned:  # meanwhile, here: whether calamine's reading may be used
            part = _read_parts(ws)[0]
            layout.plain = _check_plain(layout, self.scan.sheets.get(part, (0, 0)), self.zip, part)

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        if self.book is not None:
            self.book.close()
            self.book = None

    def _parse(self, titles: list[str]) -> None:
        try:
            try:
                import python_calamine

                self.book = python_calamine.CalamineWorkbook.from_path(str(self.path))
                names = self.book.sheet_names
                self.index = {n: i for i, n in enumerate(names) if names.count(n) == 1}
            except BaseException:  # noqa: BLE001 — not installed, damaged, or a Rust panic: openpyxl reads all
                return
            for title in titles:
                grid = None
                if title in self.index:
                    try:
                        grid = self.book.get_sheet_by_index(self.index[title]).to_python(skip_empty_area=False)
                    except BaseException:  # noqa: BLE001 — damaged XML or a panic: openpyxl says what is wrong
                        grid = None
                self.grids[title] = grid
                self.ready[title].set()
        finally:
            for event in self.ready.values():
                event.set()  # whatever happened, no sheet waits for this thread

    def _layout(self, ws) -> _Layout | None:
        """The sheet's layout when calamine may read it (decided before calamine sees it), else None."""
        parts = _read_parts(ws)
        layout = self.scan.layouts.get(parts[0]) if parts else None
        if layout is None or not layout.safe or not self.scan.strings_plain or ws.title not in self.titles \
                or layout.last_row > MAX_ROWS or layout.max_col * layout.max_row > FAST_SLOTS:
            return None
        if self.date_styles and self._styled(parts[0]):
            return None
        return layout

    def rows(self, ws, slots: list[int]) -> list[tuple] | None:
        """The sheet's rows as ``_sheet_rows`` gives them, or None: then openpyxl reads it."""
        ready = self.ready.get(ws.title)
        if ready is None:
            return None
        if self.meanwhile is not None and not ready.is_set():
            work, self.meanwhile = self.meanwhile, None
            try:
                work()
            except Exception:  # noqa: BLE001 — the caller's, not the reading's: it meets it again later
                pass
        ready.wait()
        grid = self.grids.pop(ws.title, None)
        layout = self.scan.layouts[_read_parts(ws)[0]]
        if grid is None or not layout.plain:
            return None
        height, width = len(grid), len(grid[0]) if grid else 0
        cells = self.scan.sheets.get(_read_parts(ws)[0], (0, 0))[0]
        if height > layout.last_row or sum(len(r) - r.count("") for r in grid) != cells:
            return None  # a blank, empty-text or error cell (or a cell outside its row): openpyxl
        n = layout.last_row
        if slots[0] + width * n > MAX_SLOTS:
            return None  # openpyxl reads it, and refuses it in its own words
        try:
            rows = [tuple([(v or None) if (c := v.__class__) is _STR
                           else (int(v) if v % 1.0 == 0.0 and -1e16 < v < 1e16 else v if v - v == 0.0 else _odd(v))
                           if c is _FLOAT
                           else v if c is _BOOL else _odd(v) for v in r]) for r in grid]
        except _Odd:
            return None
        slots[0] += width * n
        if n > height:
            rows.extend([(None,) * width] * (n - height))
        return rows

    def _styled(self, part: str) -> bool:
        """Whether a cell of the worksheet has one of the date styles (openpyxl turns those into dates)."""
        if self.zip is None:
            return True
        ids = b"|".join(str(k).encode() for k in sorted(self.date_styles))
        pattern = re.compile(rb"""\ss\s*=\s*(?:"|')\s*0*(?:""" + ids + rb""")\s*(?:"|')""")
        carry = b""
        try:
            with self.zip.open(part) as f:
                while chunk := f.read(1 << 20):
                    if pattern.search(carry + chunk):
                        return True
                    carry = chunk[-32:]
        except Exception:  # noqa: BLE001 — openpyxl reads it and says what is wrong
            return True
        return False


#: the most cells calamine may lay one sheet out to (rows × columns its cell references reach):
#: about 200 MB at its widest; a larger sheet is read by openpyxl, a row at a time
FAST_SLOTS = 6_000_000


def _is_read(title: str) -> bool:
    """Whether a sheet is read: every sheet but the output's report sheets, of which only the
    decision sheets (Portfolio, Rejected) are read, for the decisions typed on them."""
    key = normalize(title)
    return find_sheet(title) is not None or key not in REPORT_SHEETS or key in DECISION_SHEETS


def _read_parts(ws) -> list[str]:
    part = getattr(ws, "_worksheet_path", None)
    return [] if part is None else [str(part).lstrip("/")]


def _check_cell_budget(path: Path, wb, scan: _Scan) -> None:
    """Refuse, before parsing, sheets whose XML holds more cells or rows than are ever read."""
    total, counted = 0, []
    for ws in wb.worksheets:
        if find_sheet(ws.title) is None and normalize(ws.title) in REPORT_SHEETS \
                and normalize(ws.title) not in DECISION_SHEETS:
            continue  # never parsed
        for part in _read_parts(ws):
            cells, rows = scan.sheets.get(part, (0, 0))
            if rows > MAX_ROWS:
                raise InputError([Problem(ws.title, None, None, f"{rows:,} rows",
                                          f"has {rows:,} rows in its XML, more than Excel's {MAX_ROWS:,}; "
                                          "refusing to read it")])
            if cells > MAX_CELLS:
                raise InputError([Problem(ws.title, None, None, f"{cells:,} cells",
                                          f"has {cells:,} cells, more than the {MAX_CELLS:,} fundopt reads; "
                                          "refusing to read it")])
            total += cells
            counted.append(ws.title)
    if total > MAX_CELLS:
        raise _refuse(path, f"has {total:,} cells on its sheets ({', '.join(counted)}), more than the "
                            f"{MAX_CELLS:,} fundopt reads; refusing to read it", f"{total:,} cells")


def _sheet_rows(path: Path, ws, problems: list[Problem], slots: list[int]) -> list[tuple]:
    """Every row of a sheet as a tuple of values (row n at index n − 1), within the limits.

    A damaged sheet (broken XML, a bad cell, an unreadable part) becomes one located problem
    instead of an exception; the rows read before the damage are kept.
    """
    rows: list[tuple] = []
    widest = (0, 0)  # (width, Excel row)
    try:
        for n, row in enumerate(ws.iter_rows(values_only=True), 1):
            if n > MAX_ROWS:
                problems.append(Problem(ws.title, n, None, None,
                                        f"has rows beyond Excel's last row {MAX_ROWS:,}; refusing to read further"))
                break
            if len(row) > widest[0]:
                widest = (len(row), n)
            rows.append(row if type(row) is tuple else tuple(row))
    except Exception as exc:  # broken XML, a cell openpyxl cannot parse, a part that does not unpack
        detail = f"{type(exc).__name__}: {exc}"
        if len(detail) > 200:
            detail = detail[:200] + "…"
        # the damaged row is somewhere after the last one read: its number is not known
        problems.append(Problem(ws.title, None, None, None,
                                f"could not be read after row {len(rows):,}: the sheet is damaged ({detail})"
                                if rows else f"could not be read: the sheet is damaged ({detail})"))
    # rows are laid out to the sheet's widest row, as Excel shows them; that is bounded too
    width = widest[0]
    slots[0] += width * len(rows)
    if slots[0] > MAX_SLOTS:
        raise InputError([Problem(ws.title, widest[1], _letter(width - 1), None,
                                  f"is too large to read: {len(rows):,} rows reaching column {_letter(width - 1)} "
                                  f"(row {widest[1]:,}) make more than {MAX_SLOTS:,} cells; delete stray cells far "
                                  "to the right of or below the table (Ctrl+End shows the last one)")])
    blank = (None,) * width
    for i, row in enumerate(rows):
        if len(row) < width:
            rows[i] = row + blank[len(row):] if row else blank
    return rows


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
