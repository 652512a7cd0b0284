"""Opening a workbook without importing openpyxl, while a child process checks it with openpyxl.

Reading a pipeline needs little of what openpyxl's opening gives: the worksheets in order
(title and XML part), the cell styles that are dates, and the zip. openpyxl's import alone
takes about 0.12 s of every run (0.2 s of a 100-project run's 0.5 s start); calamine, which
reads the cells, needs none of it. So, when the caller allows it (the command line: one
workbook and the process ends) and the system can fork, :func:`open_quick` reads those three
things itself (:class:`QuickBook`) and forks a child that opens the workbook exactly as the
reader always has (``reader._open_workbook``) and hands back what openpyxl made of it: the
worksheets' titles and parts and the date styles, or the error openpyxl raised. The reader goes
on meanwhile, on the other core; before it answers, :meth:`Check.verdict` waits for the child:

* openpyxl refused the workbook: the reader refuses it with openpyxl's words, as it always has;
* openpyxl saw other worksheets or date styles than QuickBook did, or the child failed, was
  killed or took too long: the reader reads the workbook again with openpyxl, as before;
* otherwise what was read stands. A sheet calamine cannot read exactly (see reader._Calamine)
  also sends the whole workbook back to openpyxl (:class:`NeedOpenpyxl`).

So the answer is the one openpyxl's opening gives, only sooner.
"""

from __future__ import annotations

import os
import pickle
import posixpath
import re
import select
import signal
import sys
import time
import zipfile
from dataclasses import dataclass

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_STYLES = "xl/styles.xml"

#: how long the reader waits for the child's check (openpyxl opens a workbook read-only in well under a
#: second whatever its size: it parses no sheet)
PATIENCE_S = 10.0

# openpyxl's rule for a date number format (openpyxl.styles.numbers.is_date_format), and the
# built-in formats it counts as dates; the child's answer is compared with what these give
_LITERAL = r'".*?"'
_LOCALE = r'\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]'
_STRIP = re.compile(f"{_LITERAL}|{_LOCALE}")
_DATE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_BUILTIN_DATES = frozenset((14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47))


class NeedOpenpyxl(BaseException):
    """A sheet must be read by openpyxl: the workbook is read again, opened by openpyxl. (Not an
    Exception: the reader turns those into a damaged sheet's problem.)"""


def _is_date_format(code: str | None) -> bool:
    if code is None:
        return False
    return _DATE.search(_STRIP.sub("", code.split(";")[0])) is not None


@dataclass
class QuickSheet:
    """A worksheet as the reader uses it: its title and XML part (openpyxl's names for them)."""

    title: str
    _worksheet_path: str

    def reset_dimensions(self) -> None:
        pass

    def iter_rows(self, values_only: bool = True):
        raise NeedOpenpyxl(self.title)


class QuickBook:
    """The worksheets, the date styles and the zip of a workbook, as openpyxl's read-only opening
    gives the reader; None from :meth:`open` when the workbook is not plain enough to tell."""

    def __init__(self, archive: zipfile.ZipFile, worksheets: list[QuickSheet], date_formats: set[int]):
        self._archive = archive
        self.worksheets = worksheets
        self._date_formats = date_formats

    @classmethod
    def open(cls, path) -> "QuickBook | None":
        from defusedxml.ElementTree import fromstring

        archive = zipfile.ZipFile(path)
        try:
            names = set(archive.namelist())
            book = fromstring(archive.read("xl/workbook.xml"))
            rels = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {}
            for rel in rels.iter(f"{_PKG_REL}Relationship"):
                target = rel.get("Target") or ""
                part = target[1:] if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
                targets[rel.get("Id")] = (rel.get("Type"), part)
            sheets = []
            for sheet in book.iter(f"{_MAIN}sheet"):
                kind, part = targets.get(sheet.get(f"{_REL}id"), (None, None))
                if kind != _WORKSHEET or part not in names or sheet.get("name") is None:
                    archive.close()
                    return None  # a chart sheet, a missing part, an odd relation: openpyxl's call
                sheets.append(QuickSheet(sheet.get("name"), part))
            dates: set[int] = set()
            if _STYLES in names:
                styles = fromstring(archive.read(_STYLES))
                custom = {}
                for fmt in styles.iter(f"{_MAIN}numFmt"):
                    custom[int(fmt.get("numFmtId"))] = fmt.get("formatCode")
                xfs = styles.find(f"{_MAIN}cellXfs")
                for idx, xf in enumerate([] if xfs is None else xfs.findall(f"{_MAIN}xf")):
                    num = int(xf.get("numFmtId", 0))
                    if _is_date_format(custom[num]) if num in custom else num in _BUILTIN_DATES:
                        dates.add(idx)
            return cls(archive, sheets, dates)
        except Exception:  # noqa: BLE001 — anything odd: openpyxl opens it and says what is wrong
            archive.close()
            return None

    def close(self) -> None:
        self._archive.close()

    def view(self) -> tuple:
        return view_of(self)


def view_of(wb) -> tuple:
    """What the reader takes from an opened workbook: (title, parts) per worksheet, date styles."""
    from .reader import _read_parts

    parts = [(ws.title, _read_parts(ws)) for ws in wb.worksheets]
    return ("ok", parts, sorted(set(getattr(wb, "_date_formats", ()) or ())))


class Check:
    """The child process opening the workbook with openpyxl (see the module's docstring)."""

    def __init__(self, pid: int, fd: int):
        self.pid, self.fd = pid, fd
        self._answer = None

    def verdict(self):
        """("ok", parts, dates), ("refused", "Error: text"), or None (no answer: read with openpyxl)."""
        if self.pid == 0:
            return self._answer
        data = b""
        deadline = time.monotonic() + PATIENCE_S
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    break  # taking too long: stopped below
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(self.fd)
            self._reap()
        try:
            answer = pickle.loads(data)
        except Exception:  # noqa: BLE001 — cut short, killed, garbage: no answer
            return None
        ok = isinstance(answer, tuple) and len(answer) in (2, 3) and answer[0] in ("ok", "refused")
        self._answer = answer if ok else None
        return self._answer

    def abandon(self) -> None:
        if self.pid:
            os.close(self.fd)
            self._reap()

    def _reap(self) -> None:
        pid, self.pid = self.pid, 0
        try:
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass


def start_check(path, scan) -> Check | None:
    """Fork the child that opens ``path`` with openpyxl; None where processes cannot fork."""
    if not hasattr(os, "fork") or sys.platform != "linux":
        return None
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:  # the child: open, answer, end without running the parent's clean-up
        code = 0
        try:
            os.close(r)
            answer = _openpyxl_view(path, scan)
            data = pickle.dumps(answer)
            while data:
                data = data[os.write(w, data):]
        except BaseException:  # noqa: BLE001 — no answer: the parent reads with openpyxl
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    return Check(pid, r)


def _openpyxl_view(path, scan) -> tuple:
    import warnings

    from .reader import _open_workbook, _what_failed

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            wb = _open_workbook(path, scan)
        except Exception as exc:  # openpyxl raises many kinds on damaged files
            return ("refused", _what_failed(exc))
        try:
            return view_of(wb)
        finally:
            wb.close()
