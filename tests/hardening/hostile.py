"""Hostile and broken files for the reader's tests: each builder writes one file and returns its path.

The zip bombs are written by hand (local headers, data, central directory) so that a small
file can honestly declare gigabytes, or lie about its sizes, without compressing gigabytes here.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from helpers import make_workbook, project

SHEET_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def good(path: Path, n: int = 3, **kw) -> Path:
    """A small valid pipeline."""
    return make_workbook(path, [project(f"P{i}", 10 + i, 2 + i) for i in range(1, n + 1)],
                         fund={"equity_capital": 25, "explain_limit": 1, "alternatives": 1, **kw.pop("fund", {})}, **kw)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def rezip(src: Path, dst: Path, replace: dict[str, bytes] | None = None, drop: tuple[str, ...] = (),
          compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """Copy a workbook's parts into a new zip, replacing or dropping some."""
    parts = members(src)
    parts.update(replace or {})
    with zipfile.ZipFile(dst, "w", compression) as z:
        for name, data in parts.items():
            if name not in drop:
                z.writestr(name, data)
    return dst


def _raw_zip(dst: Path, entries: list[tuple[str, bytes, int, int, int]]) -> Path:
    """entries: (name, deflated data, crc32, declared size, compression method). Sizes are not checked."""
    out = io.BytesIO()
    central = []
    for name, data, crc, size, method in entries:
        offset = out.tell()
        raw = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size,
                              len(raw), 0) + raw)
        out.write(data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data),
                                   size, len(raw), 0, 0, 0, 0, 0, offset) + raw)
    start = out.tell()
    for c in central:
        out.write(c)
    out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0))
    dst.write_bytes(out.getvalue())
    return dst


def _stored_parts(src: Path, skip: str) -> list[tuple[str, bytes, int, int, int]]:
    out = []
    for name, data in members(src).items():
        if name != skip:
            out.append((name, data, zlib.crc32(data), len(data), 0))
    return out


def _deflate_zeros(gigabytes: float) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of that many GB of zero bytes, built from one repeated block."""
    block = b"\0" * (16 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(block) + c.flush(zlib.Z_FULL_FLUSH)
    n = max(1, int(gigabytes * 1e9) // len(block))
    crc = 0
    for _ in range(n):
        crc = zlib.crc32(block, crc)
    return piece * n + c.flush(zlib.Z_FINISH), crc, n * len(block)


def zip_bomb(dst: Path, gigabytes: float = 2.0) -> Path:
    """A valid workbook whose first sheet honestly unpacks to gigabytes of zeros (a ~2 MB file)."""
    src = good(dst.with_name("bomb-src.xlsx"))
    data, crc, size = _deflate_zeros(gigabytes)
    entries = _stored_parts(src, "xl/worksheets/sheet1.xml")
    entries.append(("xl/worksheets/sheet1.xml", data, crc, size, 8))
    return _raw_zip(dst, entries)


def lying_bomb(dst: Path) -> Path:
    """The sheet's directory entry says 2 KB; its data unpacks to 256 MB (unzip stops at 2 KB: bad CRC)."""
    src = good(dst.with_name("lying-src.xlsx"))
    data, crc, _ = _deflate_zeros(0.25)
    entries = _stored_parts(src, "xl/worksheets/sheet1.xml")
    entries.append(("xl/worksheets/sheet1.xml", data, crc, 2048, 8))
    return _raw_zip(dst, entries)


def ratio_bomb(dst: Path, megabytes: int = 150) -> Path:
    """Within the size limits, but one sheet of whitespace compressed about 1,000 to 1."""
    src = good(dst.with_name("ratio-src.xlsx"))
    sheet = members(src)["xl/worksheets/sheet1.xml"]
    cut = sheet.index(b"<sheetData>") + len(b"<sheetData>")
    return rezip(src, dst, {"xl/worksheets/sheet1.xml": sheet[:cut] + b" " * (megabytes << 20) + sheet[cut:]})


LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
          + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]>\n")


def billion_laughs(dst: Path, part: str = "xl/sharedStrings.xml") -> Path:
    """Entity expansion: &lol9; expands to 10**9 'lol's (3 GB) in a shared string or a sheet cell."""
    src = good(dst.with_name("laughs-src.xlsx"))
    if part == "xl/sharedStrings.xml":
        xml = LAUGHS + (b'<sst %s count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>' % SHEET_NS.encode())
    else:
        body = members(src)[part]
        body = body[body.index(b"<worksheet"):]
        cut = body.index(b"<sheetData>") + len(b"<sheetData>")
        xml = LAUGHS.replace(b"lolz", b"worksheet") + body[:cut] \
            + b'<row r="40"><c r="A40" t="inlineStr"><is><t>&lol9;</t></is></c></row>' + body[cut:]
    return rezip(src, dst, {part: xml})


def external_entity(dst: Path) -> Path:
    """An external entity (XXE) pointing at a local file."""
    src = good(dst.with_name("xxe-src.xlsx"))
    xml = (b'<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
           b'<sst %s count="1" uniqueCount="1"><si><t>&xxe;</t></si></sst>' % SHEET_NS.encode())
    return rezip(src, dst, {"xl/sharedStrings.xml": xml})


def _sheet_with(src: Path, rows_xml: bytes, dimension: str | None = None) -> bytes:
    sheet = members(src)["xl/worksheets/sheet1.xml"]
    start = sheet.index(b"<sheetData>")
    end = sheet.index(b"</sheetData>") + len(b"</sheetData>")
    head = sheet[:start]
    if dimension is not None:
        import re

        head = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="%s"/>' % dimension.encode(), head)
    return head + b"<sheetData>" + rows_xml + b"</sheetData>" + sheet[end:]


def many_cells(dst: Path, rows: int = 270_000, cols: int = 10) -> Path:
    """A sheet of rows × cols numbers (2.7 million cells by default): beyond what is read."""
    src = good(dst.with_name("cells-src.xlsx"))
    cells = b"".join(b"<c><v>%d</v></c>" % j for j in range(cols))
    body = b"".join(b'<row r="%d">%s</row>' % (r, cells) for r in range(1, rows + 1))
    return rezip(src, dst, {"xl/worksheets/sheet1.xml": _sheet_with(src, body)}, compression=zipfile.ZIP_STORED)


def many_rows(dst: Path, rows: int = 1_100_000) -> Path:
    """More rows than Excel has, each with one cell."""
    src = good(dst.with_name("rows-src.xlsx"))
    body = b"".join(b'<row r="%d"><c><v>1</v></c></row>' % r for r in range(1, rows + 1))
    return rezip(src, dst, {"xl/worksheets/sheet1.xml": _sheet_with(src, body)}, compression=zipfile.ZIP_STORED)


def dimension_claims_whole_sheet(dst: Path, far_cell: bool = False) -> Path:
    """The sheet's <dimension> claims A1:XFD1048576 (17 billion cells) over a small table;
    with ``far_cell`` a real cell sits in XFD1048576 as well."""
    src = good(dst.with_name("dim-src.xlsx"))
    sheet = members(src)["xl/worksheets/sheet1.xml"]
    start, end = sheet.index(b"<sheetData>") + len(b"<sheetData>"), sheet.index(b"</sheetData>")
    rows = sheet[start:end]
    if far_cell:
        rows += b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return rezip(src, dst, {"xl/worksheets/sheet1.xml": _sheet_with(src, rows, "A1:XFD1048576")})


def row_number_far_beyond_excel(dst: Path) -> Path:
    src = good(dst.with_name("far-src.xlsx"))
    sheet = members(src)["xl/worksheets/sheet1.xml"]
    start, end = sheet.index(b"<sheetData>") + len(b"<sheetData>"), sheet.index(b"</sheetData>")
    rows = sheet[start:end] + b'<row r="1000000000"><c><v>1</v></c></row>'
    return rezip(src, dst, {"xl/worksheets/sheet1.xml": _sheet_with(src, rows)})


def many_parts(dst: Path, n: int = 20_000) -> Path:
    src = good(dst.with_name("parts-src.xlsx"))
    parts = members(src)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
        for i in range(n):
            z.writestr(f"xl/media/p{i}.bin", b"")
    return dst


def xls(dst: Path) -> Path:
    """An OLE2 compound file naming a Workbook stream: an Excel 97–2003 .xls."""
    dst.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "Workbook".encode("utf-16-le") + b"\0" * 4000)
    return dst


def encrypted(dst: Path) -> Path:
    """An OLE2 file holding an EncryptedPackage stream: a password-protected .xlsx."""
    dst.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
                    + "EncryptionInfo".encode("utf-16-le") + b"\0" * 50
                    + "EncryptedPackage".encode("utf-16-le") + b"\0" * 4000)
    return dst


def ods(dst: Path) -> Path:
    """A minimal OpenDocument spreadsheet (mimetype first and stored, as the format requires)."""
    with zipfile.ZipFile(dst, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", '<?xml version="1.0"?><office:document-content '
                                  'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>')
    return dst


def xlsb(dst: Path) -> Path:
    with zipfile.ZipFile(dst, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.bin", b"\x83\x01\x00")
    return dst


def csv(dst: Path) -> Path:
    dst.write_text("project_id,name,sector,capex,npv\nP1,Plant,Energy,10,3\n", encoding="utf-8")
    return dst


def html(dst: Path) -> Path:
    dst.write_text("<html><body><table><tr><td>project_id</td></tr></table></body></html>", encoding="utf-8")
    return dst


def random_bytes(dst: Path, n: int = 4096, seed: int = 7) -> Path:
    import random

    dst.write_bytes(random.Random(seed).randbytes(n))
    return dst


def empty(dst: Path) -> Path:
    dst.write_bytes(b"")
    return dst


def truncated(dst: Path) -> Path:
    src = good(dst.with_name("cut-src.xlsx"))
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) * 2 // 3])
    return dst


def xlsm(dst: Path) -> Path:
    """A macro-enabled workbook (with a VBA project part) holding a valid pipeline."""
    import xlsxwriter

    from helpers import write_sheet

    vba = dst.with_name("vbaProject.bin")
    vba.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"Sub Auto_Open(): Shell \"touch pwned\": End Sub")
    wb = xlsxwriter.Workbook(str(dst), {"strings_to_numbers": False})
    write_sheet(wb, "Projects", ["project_id", "name", "sector", "capex", "npv"],
                [["P1", "Plant", "Energy", 10, 3], ["P2", "Line", "Energy", 12, 4]])
    write_sheet(wb, "Fund", ["parameter", "value"], [["equity_capital", 15], ["planning_start", 2027],
                                                     ["explain_limit", 1], ["alternatives", 1]])
    wb.add_vba_project(str(vba))
    wb.close()
    return dst
