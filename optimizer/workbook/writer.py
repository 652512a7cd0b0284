"""Writing the ranked-portfolio workbook (SPEC §4) from a :class:`~optimizer.report.Report`.

Sheets, in order: Summary, Portfolio, Alternatives, Rejected, Sectors, Nations, Capital,
Constraints, Run, then every input sheet carried over whole (so the output is itself a valid
input). Every report sheet has its header in row 1, so the tables stay machine-readable.

Where a report sheet shares an input sheet's name (``Sectors``), it is that input sheet with
the report columns ``committed``, ``share_of_commitments``, ``projects_funded``,
``candidates`` and ``portfolio_npv`` filled in to the right (or overwritten in place when an
earlier output is run again, so a round trip never grows the sheet). With no input
``Sectors`` sheet a plain ``Sectors`` table is written without limit columns, so reading the
output back never gains limits.

Safety (SPEC §4):

* the workbook is opened with ``strings_to_formulas``, ``strings_to_urls`` and
  ``strings_to_numbers`` off and every ``str`` goes through ``write_string``: text that
  begins with ``=``, ``+``, ``-`` or ``@`` stays text, never a formula;
* the file is written to a hidden temporary file in the output folder and renamed into place
  with :func:`os.replace`; on any error the temporary file is removed and
  :class:`~optimizer.errors.OutputError` names the path. The input is never opened for
  writing.

Speed: tables and carried sheets are written a row at a time (:meth:`_CellWriter.row_writer`):
a row of text, finite numbers and blanks is stored at once as the XML of its cells, any other
as XlsxWriter's own cell records, and the rows are written by a subclass of XlsxWriter's
worksheet that writes the same bytes as XlsxWriter a row at a time (checked against the
installed XlsxWriter before it is used, see :func:`_worksheet_class`); header
names are normalised once; column widths are measured on the first :data:`WIDTH_SAMPLE_ROWS`
rows only; the cycle collector is paused while a workbook is written. A 10,000-project
pipeline costs time linear in its cells. A run begins its workbook while the model is solved
(:class:`ReportDraft`: the carried sheets in a child process or on a thread), and every part
is deflated at :data:`ZIP_LEVEL` (on two threads when the run has the machine to itself, as on
the command line, each sheet's rows deflated as soon as they are written: :func:`_parts_zip_class`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import io
import math
import numbers
import os
import re
import secrets
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..data import Pipeline, SourceSheet
from ..errors import OutputError
from ..report import Report
from .coerce import coerce
from .schema import CAPEX_SCHEDULE, PROJECTS, SCHEDULE_COLUMN, SECTORS, Sheet, find_sheet, normalize

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": False,
    "remove_timezone": True,
    # assemble the package in memory: no stray files in the system temp folder
    "in_memory": True,
}

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
MAX_TITLE = 31
MAX_WIDTH = 60
MIN_WIDTH = 6
WIDTH_SAMPLE_ROWS = 1000

MONEY_FORMAT = "#,##0.000"
SHARE_FORMAT = "0.0%"
GAP_FORMAT = "0.000%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TIME_FORMAT = "hh:mm:ss"
DURATION_FORMAT = "[h]:mm:ss"

#: report columns shown as money
MONEY_COLUMNS = frozenset({
    "committed", "npv", "npv_full", "npv_low", "npv_high", "removal_cost", "capex", "break_even_npv",
    "spending", "capital_limit", "cumulative_spending", "score_value", "ideal_score_value", "equity",
    "objective", "portfolio_npv", "min_commitment", "max_commitment", "commitment", "government_equity",
    "investor_equity", "equity_drawn", "amount", "cost", "max_amount", "shortfall", "least_change",
})
#: report columns shown as a percentage
SHARE_COLUMNS = frozenset({
    "share", "share_of_commitments", "budget_use", "satisfaction", "equity_share", "jp_content",
    "min_share", "max_share", "stake", "min_stake", "max_stake", "min_satisfaction", "cost_rate",
})

#: columns of each report table when it has no rows (the header is still written)
KNOWN_COLUMNS: dict[str, tuple[str, ...]] = {
    "Portfolio": ("rank", "project_id", "name", "sector", "stake", "start_year", "committed", "npv", "npv_full",
                  "removal_cost", "removal_cost_basis", "risk", "esg_score", "us_approval", "jp_approval", "decision",
                  "decision_reason", "decision_as_written"),
    "Alternatives": ("portfolio", "objective", "gap", "added", "removed", "projects", "committed", "selected"),
    "Rejected": ("project_id", "name", "sector", "capex", "npv", "reason", "break_even_npv", "break_even_basis", "decision",
                 "decision_as_written"),
    "Nations": ("nation", "score_value", "ideal_score_value", "ideal_basis", "satisfaction", "min_satisfaction",
                "approved_projects", "funded_projects_approved", "equity_share", "government_equity",
                "investor_equity", "equity", "jp_content"),
    "Sources": ("source", "kind", "type", "nation", "amount", "cost_rate", "cost", "max_amount"),
    "Capital": ("year", "spending", "equity_drawn", "debt_drawn", "capital_limit", "budget_use", "debt_limit",
                "cumulative_spending"),
    "Constraints": ("rule", "scope", "sense", "limit", "value", "slack", "binding", "holds", "unit"),
    "Diagnosis": ("rule", "detail", "shortfall", "least_change"),
}

#: the report sheets, in the workbook's order (the carried input sheets follow them)
REPORT_ORDER = ("Summary", "Portfolio", "Alternatives", "Rejected", "Sectors", "Nations", "Sources", "Capital",
                "Constraints", "Run")

#: report columns added to the Sectors sheet -> the key of ``Report.sectors`` that fills it
SECTOR_REPORT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("committed", "committed"),
    ("share_of_commitments", "share"),
    ("projects_funded", "projects_funded"),
    ("candidates", "candidates"),
    ("portfolio_npv", "npv"),
)

#: Summary items shown as money (when the objective is money) or as a percentage
_SUMMARY_MONEY = {"commitments", "equity", "equity unused", "debt", "npv of portfolio", "price of agreement"}
_SUMMARY_OBJECTIVE = {"objective value", "best bound"}

_BAD_TITLE_CHARS = re.compile(r"[\[\]:*?/\\]")

#: header text -> its normalised key; headers repeat across sheets and runs, so each is
#: normalised once (``normalize`` is a regular expression, too slow to call per cell)
_NAME_KEYS: dict[str, str] = {}
#: id of a schema column -> (the column, its normalised name and aliases)
_COLUMN_KEYS: dict[int, tuple[Any, frozenset[str]]] = {}


def _name_key(name: str) -> str:
    key = _NAME_KEYS.get(name)
    if key is None:
        key = _NAME_KEYS[name] = normalize(name)
    return key


def _column_keys(col) -> frozenset[str]:
    """``col.keys``, computed once per schema column (the property normalises on every call)."""
    hit = _COLUMN_KEYS.get(id(col))
    if hit is None or hit[0] is not col:
        hit = _COLUMN_KEYS[id(col)] = (col, frozenset(col.keys))
    return hit[1]


def _find_column(header: Sequence[Any], col) -> int | None:
    """Index of the first header cell naming schema column ``col`` (by name or alias)."""
    keys = _column_keys(col)
    return next((j for j, v in enumerate(header) if isinstance(v, str) and _name_key(v) in keys), None)


# --------------------------------------------------------------------------- public
#: bookkeeping columns kept out of sight: the decision each row was written with, so that a
#: decision edited on Portfolio or Rejected can be told apart from one edited on Projects
HIDDEN_COLUMNS = frozenset({"decision_as_written"})


def write_report(report: Report, data: Pipeline, path: str | os.PathLike) -> None:
    """Write the ranked-portfolio workbook to ``path`` atomically; raise OutputError on failure.
    (A run begins it before the solve instead: :class:`ReportDraft`.)"""
    write_atomic(path, lambda wb: _ReportWriter(wb, report, data).write())


def write_diagnosis(report: Report, diagnosis: list[dict], data: Pipeline, path: str | os.PathLike) -> None:
    """The workbook of an infeasible run: Summary, Diagnosis (each conflicting rule, by how much,
    and the least change that restores feasibility), Run, and the input sheets carried over, so
    that the analyst can fix the rules in place and run it again."""

    def build(wb) -> None:
        w = _ReportWriter(wb, report, data)
        for name in ("Summary", "Diagnosis", "Run"):
            w._titles.add(name.lower())
        w._pairs(w._sheet("Summary"), report.summary, w._summary_format)
        w._table(w._sheet("Diagnosis"), "Diagnosis", diagnosis)
        w._pairs(w._sheet("Run"), report.run)
        for sheet in (data.source.sheets if data.source else ()):
            w._carried(w.add_sheet(sheet.title), sheet)

    write_atomic(path, build)


def write_atomic(path: str | os.PathLike, build: Callable[[Any], None], begun=None) -> None:
    """Build an XlsxWriter workbook with ``build(workbook)`` and move it into place at ``path``.

    The parent folder is created; the workbook goes to ``.<name>.<hex>.tmp`` beside the
    target (hidden, and never ending in ``.xlsx``, so it is never taken for a workbook), is
    flushed to disk, and is renamed over the target only when complete: a run killed at any
    moment leaves either the old file or the new one, never half of one. On any error the
    temporary file is removed and :class:`OutputError` is raised naming ``path``. Temporary
    files of the same target left by a killed process are removed after a successful write.

    ``begun``: ``(temporary path, workbook())`` of a workbook begun earlier for ``path`` in
    memory (:class:`ReportDraft`); ``workbook()`` gives it, or raises what beginning it raised.
    """
    path = Path(path)
    _prepare_folder(path)
    tmp = begun[0] if begun is not None else _temporary_path(path)
    try:
        with _collector_paused():
            wb = begun[1]() if begun is not None else _new_workbook(tmp)
            build(wb)
            wb.close()
        _flush_to_disk(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        _release(exc)
        _remove_quietly(tmp)
        if isinstance(exc, OutputError) or not isinstance(exc, Exception):
            raise
        raise OutputError(_describe_failure(path, exc)) from exc
    remove_leftovers(path)


def _temporary_path(path: Path) -> Path:
    # the hex begins with the writer's process id, so a later run can tell a leftover from a live write
    return path.parent / f".{path.name}.{os.getpid():08x}{secrets.token_hex(6)}.tmp"


def _new_workbook(tmp: Path):
    """An in-memory XlsxWriter workbook that will be stored at ``tmp``; nothing is on disk yet."""
    wb = _workbook_class()(str(tmp), WORKBOOK_OPTIONS)
    fast = _worksheet_class()
    if fast is not None:
        wb.worksheet_class = fast
    return wb


class ReportDraft:
    """The ranked-portfolio workbook of a run, begun while the model is solved.

    The carried input sheets (a 10,000-project pipeline's Projects and CapexSchedule are most of
    the workbook's cells) need nothing from the solve. :meth:`start` adds every sheet in order
    and has the carried ones written, down to their XML, while HiGHS solves:

    * ``separate_process`` (the command line, on Linux): in a child process forked for it, so that
      it takes none of the solving process's time; the child hands back each carried sheet's
      XML and layout and the texts it added to the shared strings (see :func:`_carry_in_child`);
      should the child fail in any way, the sheets are written here after all;
    * otherwise on a second thread (HiGHS releases Python's lock while it solves).

    :meth:`write` then fills the report sheets and stores the workbook exactly as
    :func:`write_report` does (same sheets, cells and styles, whichever way the carried sheets
    were written); :meth:`abandon` drops it when the run ends without a portfolio. Everything
    stays in memory until :meth:`write`, and this process touches the workbook only after the
    thread or the child has finished with it.
    """

    def __init__(self, data: Pipeline, path: str | os.PathLike, *, separate_process: bool = False) -> None:
        self.data, self.path = data, Path(path)
        self.tmp = _temporary_path(self.path)
        self.separate_process = separate_process and _can_fork()
        #: how the carried sheets were written: "process", "thread" or "here" (set by write)
        self.carried_by: str | None = None
        self._writer: _ReportWriter | None = None
        self._pairs: list = []
        self._error: BaseException | None = None
        self._cancelled = False
        self._child: tuple[int, Any, int] | None = None  # process id, hand-over file, end-of-child pipe
        self._thread = threading.Thread(target=self._begin, name="fundopt-output", daemon=True)
        self._started = False

    def start(self) -> None:
        """Begin the workbook (once; :meth:`write` begins it if nothing did)."""
        if self._started:
            return
        self._started = True
        if self.separate_process:
            try:
                self._fork()
                return
            except Exception:  # noqa: BLE001 — no process to be had: the thread does it
                self._child = None
        self._thread.start()

    def _begin(self) -> None:
        try:
            writer = _ReportWriter(self._new_workbook(), None, self.data)
            writer.begin(lambda: self._cancelled)
            self._writer = writer
        except BaseException as exc:  # raised again, in the caller's thread, by write()
            self._error = exc

    def _new_workbook(self):
        """The workbook; a run that has the machine to itself (``separate_process``) deflates its
        parts on two threads as it is stored: by then the run's other work is done."""
        wb = _new_workbook(self.tmp)
        if self.separate_process and (os.cpu_count() or 1) > 1 and hasattr(wb, "deflate_threads"):
            wb.deflate_threads = 2
        return wb

    def _fork(self) -> None:
        import tempfile
        import warnings

        writer = _ReportWriter(self._new_workbook(), None, self.data)
        pairs = writer.add_sheets()
        out = tempfile.TemporaryFile()  # no name in any folder: gone with its last descriptor, even after kill -9
        done_r, done_w = os.pipe()  # end of file on done_r: the child has ended
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # "fork() of a multi-threaded process"
                pid = os.fork()
        except BaseException:
            os.close(done_r)
            os.close(done_w)
            out.close()
            raise
        if pid == 0:  # the child: write the carried sheets, hand them over, end (never returns)
            os.close(done_r)
            _carry_in_child(writer, pairs, out)
        os.close(done_w)
        cells = sum(len(row) for _, sheet in pairs for row in sheet.rows)
        # far more than the child needs (about a second a million cells): a child that has not
        # ended by then is stopped, and the sheets are written here
        self._patience = 30.0 + cells / 50_000
        self._writer, self._pairs, self._child = writer, pairs, (pid, out, done_r)

    def _workbook(self):
        self.start()
        if self._child is not None:
            pid, out, done = self._child
            self._child = None
            try:
                handed = _wait_for_child(pid, out, done, self._patience)
            finally:
                out.close()
            if handed is not None and _take_carried(self._writer, self._pairs, handed):
                self.carried_by = "process"
            else:  # the child failed: the carried sheets are written here, as without one
                self._writer.fill_carried(self._pairs)
                self.carried_by = "here"
            return self._writer.wb
        self._thread.join()
        if self._error is not None:
            raise self._error
        self.carried_by = "thread"
        return self._writer.wb

    def write(self, report: Report) -> None:
        """Fill the report sheets and write the workbook to the path atomically (OutputError on failure)."""
        try:
            write_atomic(self.path, lambda wb: self._writer.end(report), begun=(self.tmp, self._workbook))
        finally:
            self._writer, self._pairs = None, []

    def abandon(self) -> None:
        self._cancelled = True
        if self._child is not None:
            import signal

            pid, out, done = self._child
            self._child = None
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            _wait_for_child(pid, None, done, None)
            out.close()
        if self._thread.ident is not None:
            self._thread.join()
        self._writer, self._pairs = None, []


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork") and _worksheet_class() is not None


#: worksheet attributes never handed back by the child: the cells, as records or as rows' XML
#: (the sheet's whole XML is), the workbook's shared objects (handed back on their own), and the
#: file handle
_NOT_HANDED = frozenset({"table", "str_table", "fh", "workbook_add_format", "_rendered", "_rendered_deflated", "_fused",
                         "_fused_columns"})


def _carry_in_child(writer: "_ReportWriter", pairs: list, out) -> None:
    """In the forked child: fill the carried sheets, pickle what the parent needs into ``out``
    and end the process (exit status 0 only when all of it was written).

    Handed back, per carried sheet, every worksheet attribute the filling changed (dimensions,
    column widths, panes, row spans, the rows' XML), each checked to be plain data; and the
    texts added to the shared strings, in their order, with the count of uses. The style
    numbers were fixed before the fork (:meth:`_ReportWriter.add_sheets`): a new one here
    would be unknown to the parent, so it fails the hand-over."""
    code = 1
    try:
        import gc
        import pickle

        gc.disable()  # a short-lived process: nothing to collect
        wb = writer.wb
        sst = wb.str_table
        base_unique, base_count, styles = sst.unique_count, sst.count, len(wb.xf_format_indices)
        before = [{k: repr(v) for k, v in ws.__dict__.items() if k not in _NOT_HANDED} for ws, _ in pairs]
        writer.fill_carried(pairs)
        if len(wb.xf_format_indices) != styles:
            raise RuntimeError("a carried sheet used a style not numbered before the fork")
        sheets = []
        for (ws, _), seen in zip(pairs, before):
            state = {k: v for k, v in ws.__dict__.items() if k not in _NOT_HANDED and repr(v) != seen.get(k)}
            rendered = ws.__dict__.get("_rendered")
            if rendered is None and ws.dim_rowmin is not None:
                raise RuntimeError("a carried sheet's rows were not turned into XML")
            if not all(_plain(v) for v in state.values()):
                raise RuntimeError("a carried sheet's layout is not plain data")
            state["_rendered"] = rendered
            state["_rendered_deflated"] = ws.__dict__.get("_rendered_deflated")
            sheets.append(state)
        strings = list(sst.string_table)[base_unique:]
        if len(strings) != sst.unique_count - base_unique:
            raise RuntimeError("the shared strings are not numbered in order")
        pickle.dump({"sheets": sheets, "strings": strings, "count": sst.count - base_count,
                     "unique": sst.unique_count, "base": base_unique}, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
        code = 0
    except BaseException:  # noqa: BLE001 — the parent writes the sheets itself
        code = 1
    finally:
        os._exit(code)


def _wait_for_child(pid: int, out, done: int, patience: float | None) -> dict | None:
    """Wait for the child to end (at most ``patience`` seconds; then it is stopped), reap it,
    close ``done``; what it handed back, or None when it did not finish well."""
    import select

    try:
        if patience is not None and not select.select([done], [], [], patience)[0]:
            import signal

            os.kill(pid, signal.SIGKILL)
            out = None
    except (OSError, ValueError):
        pass
    finally:
        os.close(done)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            return None
    if out is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    import pickle

    try:
        out.seek(0)
        return pickle.load(out)
    except Exception:  # noqa: BLE001
        return None


def _take_carried(writer: "_ReportWriter", pairs: list, handed: dict) -> bool:
    """Put what the child wrote into this process's workbook; False (nothing changed) when it
    does not fit the workbook as it stands."""
    sst = writer.wb.str_table
    if handed.get("base") != sst.unique_count or len(handed.get("sheets", ())) != len(pairs) \
            or handed["unique"] != sst.unique_count + len(handed["strings"]):
        return False
    for (ws, _), state in zip(pairs, handed["sheets"]):
        ws.__dict__.update(state)
    table = sst.string_table
    for text in handed["strings"]:
        table[text] = sst.unique_count
        sst.unique_count += 1
    sst.count += handed["count"]
    return True


def _plain(v, depth: int = 0) -> bool:
    """Whether ``v`` is data alone (no reference to a workbook object): safe to copy across."""
    if v is None or isinstance(v, (bool, int, float, str, bytes)):
        return True
    if depth > 4:
        return False
    if isinstance(v, (list, tuple, set, frozenset)):
        return all(_plain(x, depth + 1) for x in v)
    if isinstance(v, dict):
        return all(_plain(k, depth + 1) and _plain(x, depth + 1) for k, x in v.items())
    fields = getattr(v, "__dataclass_fields__", None)
    if fields is not None:
        return all(_plain(getattr(v, f), depth + 1) for f in fields)
    return False


#: deflate level of the parts of a written workbook: level 1 compresses a 10,000-project
#: output three times as fast as zlib's default 6 (0.1 s against 0.3 s) for a file a third larger
ZIP_LEVEL = 1
_ZIP_LOCK = threading.Lock()
_WORKBOOK_CLASS: Any = None


def _workbook_class():
    """XlsxWriter's ``Workbook``, storing its parts at :data:`ZIP_LEVEL`.

    XlsxWriter has no option for the level: it makes a ``ZipInfo`` per part, which zipfile
    deflates at the info's level. While a workbook is stored, the ``ZipInfo`` XlsxWriter's module
    makes is one whose level is :data:`ZIP_LEVEL` (one workbook at a time, under a lock); with
    any other XlsxWriter layout the stock class is used, at zlib's default level.
    """
    global _WORKBOOK_CLASS
    if _WORKBOOK_CLASS is not None:
        return _WORKBOOK_CLASS
    import zipfile

    import xlsxwriter
    import xlsxwriter.workbook as xw

    cls = xlsxwriter.Workbook
    if getattr(xw, "ZipInfo", None) is zipfile.ZipInfo and callable(getattr(cls, "_store_workbook", None)) \
            and "_compresslevel" in getattr(zipfile.ZipInfo, "__slots__", ()) + tuple(dir(zipfile.ZipInfo)):

        class LevelZipInfo(zipfile.ZipInfo):
            __slots__ = ()

            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self._compresslevel = ZIP_LEVEL

        import xlsxwriter.packager as xp

        stock_strings = getattr(xp, "SharedStrings", None)
        strings = _shared_strings_class()  # None: XlsxWriter's own, left in place

        splicing = _splicing_packager_class()

        class Workbook(xlsxwriter.Workbook):
            #: threads that deflate the parts as the workbook is stored (see :func:`_parts_zip_class`)
            deflate_threads = 1
            _store_packager = None  # the packager of the store under way, when its parts may be spliced
            _parts_store = False  # a store under way deflates its parts on threads (and may splice them)

            def _store_workbook(self) -> None:
                threads = self.deflate_threads
                with _ZIP_LOCK:
                    parts_zip = _parts_zip_class() if threads > 1 and xw.ZipFile is zipfile.ZipFile else None
                    xw.ZipInfo = LevelZipInfo
                    if strings is not None:
                        xp.SharedStrings = strings
                    if parts_zip is not None:
                        xw.ZipFile = lambda *args, **kwargs: parts_zip(*args, threads=threads,
                                                                       spliced=self._spliced_part, **kwargs)
                        self._parts_store = True
                    try:
                        super()._store_workbook()
                    finally:
                        xw.ZipInfo = zipfile.ZipInfo
                        self._store_packager = None
                        self._parts_store = False
                        if parts_zip is not None:
                            xw.ZipFile = zipfile.ZipFile
                        if strings is not None:
                            xp.SharedStrings = stock_strings

            def _get_packager(self):
                packager = super()._get_packager()
                if splicing is not None and self._parts_store and type(packager) is splicing.__base__:
                    packager = self._store_packager = splicing()
                return packager

            def _spliced_part(self, name: str):
                """Where rows deflated ahead lie in the part ``name`` (see :class:`_PartText`), or None."""
                for fh, xml_name, _ in getattr(self._store_packager, "filenames", ()):
                    if xml_name == name:
                        return getattr(fh, "spliced", None)
                return None

        cls = Workbook
    _WORKBOOK_CLASS = cls
    return cls


#: rendered rows are deflated ahead (FastRowsWorksheet.deflate_rows) only from this length on
DEFLATE_AHEAD_CHARS = 256 * 1024


def _deflated_ahead(data: bytes) -> tuple[bytes, int, int]:
    """``data`` deflated at :data:`ZIP_LEVEL` as the middle of a part: a raw deflate stream flushed
    to a byte boundary, without its final block; with its CRC-32 and length."""
    import zlib

    compressor = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH), zlib.crc32(data), len(data)


class _PartText(io.StringIO):
    """A part's XML, as XlsxWriter writes it in memory. ``spliced``: (the byte offset of the rows
    deflated ahead in the part's UTF-8, their (deflated bytes, CRC-32, length)), once a sheet
    wrote its rows with :meth:`splice`; None otherwise."""

    spliced: tuple | None = None

    def splice(self, text: str, deflated: tuple) -> None:
        """Write ``text`` (ASCII), whose deflated bytes are ``deflated``: the zip may use those."""
        if self.spliced is None:
            self.spliced = (len(self.getvalue().encode("utf-8")), deflated)
        self.write(text)


def _splicing_packager_class():
    """XlsxWriter's ``Packager`` whose in-memory parts are :class:`_PartText`; None when the
    installed one does not make its in-memory parts as this expects (a StringIO a part, listed in
    ``filenames``)."""
    import xlsxwriter.packager as xp

    stock = getattr(xp, "Packager", None)
    try:
        probe = stock()
        probe._set_in_memory(True)
        fh = probe._filename("xl/probe.xml")
        if type(fh) is not io.StringIO or probe.filenames != [(fh, "xl/probe.xml", False)]:
            return None
    except Exception:  # noqa: BLE001 — another layout: parts are deflated whole
        return None

    class SplicingPackager(stock):
        def _filename(self, xml_filename):
            if not self.in_memory:
                return super()._filename(xml_filename)
            fh = _PartText()
            self.filenames.append((fh, xml_filename, False))
            return fh

    return SplicingPackager


#: a workbook's parts are deflated on more than one thread only when they hold at least this much
PARALLEL_DEFLATE_BYTES = 1 << 20
_PARTS_ZIP: Any = False  # not yet made


def _parts_zip_class():
    """``zipfile.ZipFile`` that deflates the parts it is given on ``threads`` threads at once
    (zlib leaves Python's lock free while it compresses) and writes them in the order given,
    each byte for byte as ``ZipFile.writestr`` writes it. The parts are held until the archive
    is closed (or given something else); fewer than :data:`PARALLEL_DEFLATE_BYTES` of them are
    written by ``writestr`` as they are, and so are all of them when the installed zipfile turns
    out not to write the same bytes this way (checked once, on a small archive written both
    ways, the first time there is enough to share). None without the zipfile internals it needs.

    A 10,000-project output is 14 MB of XML, deflated in about 70 ms on one core; after the
    run's last wait both cores are free, and two threads take about half that. Each part is
    still written by ``writestr`` (headers, sizes, CRC); only its compressed bytes come from the
    thread that deflated it (``_open_to_write`` hands the entry a compressor that returns them).

    Most of those bytes are rows written long before: the carried sheets' in the child process
    during the solve, the report sheets' while the run would wait for its last figures. Such rows
    are deflated then (FastRowsWorksheet.deflate_rows), and ``spliced(name)`` says where they lie
    in a part: the part is then the text before them deflated and flushed to a byte boundary,
    their bytes, and the text after them deflated to the stream's end — one deflate stream, read
    as any other (:func:`complete_streams` checks that on the check's archive), used only when
    the part's bytes there are the rows' (their CRC-32).
    """
    global _PARTS_ZIP
    if _PARTS_ZIP is not False:
        return _PARTS_ZIP
    import zipfile

    _PARTS_ZIP = None
    needed = (getattr(zipfile, "_get_compressor", None), getattr(zipfile.ZipFile, "_open_to_write", None))
    if not all(callable(f) for f in needed) or not hasattr(zipfile.ZipInfo(), "_compresslevel"):
        return None

    class _Deflated:
        """The compressor of one entry whose bytes were deflated already."""

        def __init__(self, data: bytes, deflated: bytes) -> None:
            self.data, self.deflated = data, deflated

        def compress(self, data) -> bytes:
            if data is not self.data:  # writestr passes the bytes it was given, whole
                raise RuntimeError("a workbook part's bytes changed after they were deflated")
            out, self.deflated = self.deflated, b""
            return out

        def flush(self) -> bytes:
            return b""

    def deflate(info, data: bytes, spliced) -> bytes:
        """The part deflated; where rows were deflated ahead (``spliced``), the text before them,
        those bytes and the text after them: raw deflate streams flushed to a byte boundary (all
        but the last, which ends the stream) read one after the other as one."""
        if spliced is not None:
            import zlib

            start, (rows, crc, length) = spliced
            if start + length <= len(data) and zlib.crc32(memoryview(data)[start:start + length]) == crc:
                level = zlib.Z_DEFAULT_COMPRESSION if info._compresslevel is None else info._compresslevel
                head = zlib.compressobj(level, zlib.DEFLATED, -15)
                tail = zlib.compressobj(level, zlib.DEFLATED, -15)
                return head.compress(data[:start]) + head.flush(zlib.Z_SYNC_FLUSH) + rows \
                    + tail.compress(data[start + length:]) + tail.flush()
        compressor = zipfile._get_compressor(info.compress_type, info._compresslevel)
        return compressor.compress(data) + compressor.flush()

    class PartsZipFile(zipfile.ZipFile):
        #: whether this class writes the bytes ``ZipFile`` writes (None: not checked yet)
        same_bytes: bool | None = None

        @classmethod
        def _checked(cls) -> bool:
            if cls.same_bytes is None:
                cls.same_bytes = _same_archive(zipfile, cls)
            return cls.same_bytes

        def __init__(self, *args, threads: int = 2, parallel_bytes: int | None = None, checking: bool = False,
                     spliced=None, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._spliced = spliced  # name -> where rows deflated ahead lie in that part (or None)
            self._checking = checking  # the check's own archive: written this way whatever it shows
            self._threads = max(1, int(threads))
            self._parallel_bytes = PARALLEL_DEFLATE_BYTES if parallel_bytes is None else parallel_bytes
            self._queued: list = []
            self._handing: _Deflated | None = None

        def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
            if isinstance(zinfo_or_arcname, zipfile.ZipInfo) and type(data) is bytes and compress_type is None \
                    and compresslevel is None and zinfo_or_arcname.compress_type == zipfile.ZIP_DEFLATED \
                    and self.mode == "w" and self._seekable and self.fp is not None:
                splice = self._spliced(zinfo_or_arcname.filename) if self._spliced is not None else None
                self._queued.append((zinfo_or_arcname, data, splice))
                return
            self._write_queued()
            super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

        def _open_to_write(self, zinfo, force_zip64=False):
            dest = super()._open_to_write(zinfo, force_zip64)
            if self._handing is not None:
                dest._compressor, self._handing = self._handing, None
            return dest

        def _write_queued(self) -> None:
            queued, self._queued = self._queued, []
            if not queued:
                return
            if self._threads < 2 or sum(len(d) for _, d, _ in queued) < self._parallel_bytes \
                    or not (self._checking or self._checked()):
                for info, data, _ in queued:
                    super().writestr(info, data)
                return
            done: list = [None] * len(queued)
            failed: list = []
            # the biggest first; a part with rows deflated ahead counts as the text around them
            order = iter(sorted(range(len(queued)), key=lambda i: -len(queued[i][1])
                                + (queued[i][2][1][2] if queued[i][2] is not None else 0)))
            lock = threading.Lock()

            def work() -> None:
                try:
                    while not failed:
                        with lock:
                            i = next(order, None)
                        if i is None:
                            return
                        done[i] = deflate(*queued[i])
                except BaseException as exc:  # noqa: BLE001 — raised again below, in the writing thread
                    failed.append(exc)

            helpers = [threading.Thread(target=work, name="fundopt-deflate", daemon=True)
                       for _ in range(min(self._threads, len(queued)) - 1)]
            for t in helpers:
                t.start()
            work()
            for t in helpers:
                t.join()
            if failed:
                raise failed[0]
            for (info, data, _), deflated in zip(queued, done):
                self._handing = _Deflated(data, deflated)
                try:
                    super().writestr(info, data)
                finally:
                    self._handing = None

        def close(self) -> None:
            try:
                if self.fp is not None and self.mode == "w":
                    self._write_queued()
            finally:
                super().close()

    _PARTS_ZIP = PartsZipFile
    return _PARTS_ZIP


def _same_archive(zipfile, parts_zip) -> bool:
    """Whether ``parts_zip`` (on two threads) writes a small archive exactly as ``ZipFile`` does,
    and one with rows deflated ahead in a part that reads back as the same parts."""
    try:
        big = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (i, i, i * 7919 % 10007) for i in range(1500))
        parts = [("[Content_Types].xml", b"<Types/>"), ("xl/worksheets/sheet1.xml", b"<sheetData>" + big + b"</sheetData>"),
                 ("empty.xml", b""), ("xl/worksheets/sheet2.xml", big[: len(big) // 2])]
        ahead = (len(b"<sheetData>"), _deflated_ahead(big))
        archives = []
        for cls, kwargs in ((zipfile.ZipFile, {}), (parts_zip, {"threads": 2, "parallel_bytes": 0, "checking": True}),
                            (parts_zip, {"threads": 2, "parallel_bytes": 0, "checking": True,
                                         "spliced": {"xl/worksheets/sheet1.xml": ahead}.get})):
            buffer = io.BytesIO()
            with cls(buffer, "w", compression=zipfile.ZIP_DEFLATED, **kwargs) as z:
                for name, data in parts:
                    info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info._compresslevel = ZIP_LEVEL
                    z.writestr(info, data)
            archives.append(buffer.getvalue())
        backs = []
        for archive in archives[1:]:
            with zipfile.ZipFile(io.BytesIO(archive)) as z:
                backs.append([(i.filename, z.read(i)) for i in z.infolist()])  # each part's CRC checked
        return archives[0] == archives[1] and backs[0] == parts and backs[1] == parts and archives[2] != archives[1] \
            and complete_streams(archives[2])
    except Exception:  # noqa: BLE001 — any surprise: the stock ZipFile
        return False


def complete_streams(archive: bytes) -> bool:
    """Whether every deflated part of the zip ``archive`` is one whole deflate stream (ending in a
    final block, nothing after it) of the part's bytes (its CRC). zipfile reads a stream that
    stops short of its final block without a word; a stricter reader would not."""
    import struct
    import zipfile
    import zlib

    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            infos = z.infolist()
        for info in infos:
            if info.compress_type != zipfile.ZIP_DEFLATED:
                continue
            names, extra = struct.unpack("<HH", archive[info.header_offset + 26:info.header_offset + 30])
            start = info.header_offset + 30 + names + extra
            d = zlib.decompressobj(-15)
            data = d.decompress(archive[start:start + info.compress_size])
            if not d.eof or d.unused_data or zlib.crc32(data) != info.CRC or len(data) != info.file_size:
                return False
        return True
    except Exception:  # noqa: BLE001 — a zip or stream that cannot be read is not whole
        return False


def _shared_strings_class():
    """XlsxWriter's ``SharedStrings`` writing the plain texts (no markup, control characters,
    ``_xHHHH_`` runs or edge whitespace: nearly all of them) in one write, byte for byte what it
    writes for each one (a 10,000-project output has 17,500 of them); every other text goes
    through its own ``_write_si``. None with another XlsxWriter layout (the stock class is used)."""
    import re

    import xlsxwriter.packager as xp

    stock = getattr(xp, "SharedStrings", None)
    if stock is None or not callable(getattr(stock, "_write_si", None)) \
            or not callable(getattr(stock, "_write_sst_strings", None)):
        return None
    # what _write_si would change or mark: control characters and markup, the non-characters,
    # escape-like runs, leading or trailing whitespace (the same patterns as XlsxWriter's)
    special = re.compile(r"[\x00-\x1f&<>\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$").search

    class SharedStrings(stock):
        def _write_sst_strings(self) -> None:
            plain: list[str] = []

            def flush() -> None:
                if plain:
                    self.fh.write("<si><t>" + "</t></si><si><t>".join(plain) + "</t></si>")
                    plain.clear()

            for text in self.string_table.string_array:
                if type(text) is str and not special(text):
                    plain.append(text)
                else:
                    flush()
                    self._write_si(text)
            flush()

    return SharedStrings


@contextlib.contextmanager
def _collector_paused():
    """Hold off Python's cycle collector while a workbook is built and written.

    A large workbook is hundreds of thousands of small cell records, all alive until the file
    is written; left on, the collector walks them (and everything else alive) again and again,
    a quarter of the writing time at 10,000 projects. The records hold no cycles, so nothing
    is left uncollected: the collector resumes, as it was, when the file is written or fails.
    """
    import gc

    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _release(exc: BaseException) -> None:
    """Close, now and quietly, the files the failed write still holds open in its frames.

    Left to the garbage collector, XlsxWriter's half-written zip would try to close itself on a
    full disk again and print an "Exception ignored" traceback on standard error.
    """
    import gc
    import traceback

    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen:  # the error and the ones it was raised from
            seen.add(id(exc))
            if exc.__traceback__ is not None:
                traceback.clear_frames(exc.__traceback__)
            exc = exc.__cause__ or exc.__context__
        gc.collect()
    finally:
        sys.unraisablehook = hook


_TMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<hex>[0-9a-f]+)\.tmp$")
#: a temporary file without a process id (an older naming) is a leftover after this long
_LEFTOVER_AGE_S = 3600


def remove_leftovers(path: str | os.PathLike) -> list[Path]:
    """Remove ``.<name>.<hex>.tmp`` files of ``path`` whose writing process is gone (killed mid-write)."""
    import time

    path = Path(path)
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TMP_NAME.match(p.name)
        if not m or m.group("name") != path.name:
            continue
        hexpart = m.group("hex")
        if len(hexpart) == 20:
            pid = int(hexpart[:8], 16)
            if pid == os.getpid() or _process_alive(pid):
                continue
        else:
            try:
                if time.time() - p.stat().st_mtime < _LEFTOVER_AGE_S:
                    continue
            except OSError:
                continue
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's live process, or cannot tell: leave the file
    return True


def _flush_to_disk(tmp: Path) -> None:
    """Make the finished temporary file durable before it replaces the target."""
    try:
        fd = os.open(tmp, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # a file system without fsync: the rename is still atomic
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- files
def _prepare_folder(path: Path) -> None:
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), parent)
        raise OutputError(f"cannot write {path}: {blocker} is a file, not a folder") from None
    except PermissionError:
        raise OutputError(f"cannot write {path}: permission denied creating the folder {parent}") from None
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise OutputError(f"cannot write {path}: the file system of {parent} is read-only") from None
        raise OutputError(f"cannot write {path}: could not create the folder {parent} "
                          f"({exc.strerror or exc})") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        if _read_only_fs(parent):
            raise OutputError(f"cannot write {path}: the file system of {parent} is read-only")
        raise OutputError(f"cannot write {path}: the folder {parent} is not writable (permission denied)")


def _read_only_fs(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _remove_quietly(tmp: Path) -> None:
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    except OSError:  # pragma: no cover - nothing more can be done; the target is untouched
        pass


def _describe_failure(path: Path, exc: BaseException) -> str:
    os_error = exc
    # XlsxWriter wraps the OSError of the zip file in FileCreateError
    while not isinstance(os_error, OSError) and os_error.args and isinstance(os_error.args[0], BaseException):
        os_error = os_error.args[0]
    if isinstance(os_error, OSError):
        if isinstance(os_error, PermissionError) or os_error.errno in (errno.EACCES, errno.EPERM):
            return (f"cannot write {path}: permission denied (the folder is not writable, "
                    "or the file is open in another program)")
        if os_error.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"cannot write {path}: the disk is full"
        if isinstance(os_error, IsADirectoryError):
            return f"cannot write {path}: a folder of that name is in the way"
        if os_error.errno == errno.EROFS:
            return f"cannot write {path}: the file system of {path.parent} is read-only"
        return f"cannot write {path}: {os_error.strerror or os_error}"
    return f"cannot write {path}: {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- sheet data
#: the worksheet class of :func:`_worksheet_class`, once built (False: XlsxWriter's own is used)
_FAST_CLASS: Any = None


def _worksheet_class():
    """XlsxWriter's ``Worksheet`` with a faster writer of the ``<sheetData>`` rows, or None.

    XlsxWriter spends most of a large workbook's time turning each stored cell into XML, one
    attribute list and several method calls per cell. The subclass writes the same bytes for
    the plain cells this writer stores (numbers, dates, shared strings, blanks, booleans) a row
    at a time; any other cell, any row with row options and any sheet with comments or in
    ``constant_memory`` mode goes through XlsxWriter's own code. Without the internals it relies
    on (another XlsxWriter), None: the stock class is used and only speed is lost.
    """
    global _FAST_CLASS
    if _FAST_CLASS is None:
        cls = _build_worksheet_class()
        _FAST_CLASS = cls if cls is not None and _writes_as_xlsxwriter(cls) else False
    return _FAST_CLASS or None


def _writes_as_xlsxwriter(cls) -> bool:
    """Whether ``cls`` writes a probe sheet's rows byte for byte as XlsxWriter's own class does
    (checked once, in memory and with no file, against the XlsxWriter installed)."""
    import xlsxwriter
    from xlsxwriter.worksheet import Worksheet

    try:
        wb = xlsxwriter.Workbook(io.BytesIO(), {"in_memory": True})  # never closed: nothing is written
        money, bold = wb.add_format({"num_format": MONEY_FORMAT}), wb.add_format({"bold": True})
        written = []
        for kind in (Worksheet, cls):
            ws = wb.add_worksheet(None, worksheet_class=kind)
            ws.set_column(3, 3, 10, bold)
            ws.set_row(2, 30)
            for i in range(20):
                ws.write_number(i, 0, i * 0.1 - 1, money if i % 2 else None)
                ws.write_string(i, 1 + i % 3, f"t&<{i % 5}", bold if i % 3 == 0 else None)
            ws.write_number(3, 3, 2**60)  # takes the column's format
            ws.write_blank(4, 3, None, money)
            ws.write_boolean(5, 4, True)
            ws.write_datetime(6, 5, _dt.datetime(2026, 1, 1, 12), money)
            ws.write_formula(7, 6, "=A1", None, 1)
            ws.write_string(40, 30, "far")
            out = io.StringIO()
            ws._set_filehandle(out)
            ws._write_sheet_data()
            written.append(out.getvalue())
    except Exception:
        return False
    stock, ours = written
    return "<row" in stock and ours == stock


def _build_worksheet_class():
    from xlsxwriter.utility import xl_col_to_name
    from xlsxwriter.worksheet import Worksheet

    needed = ("_write_rows", "_write_row", "_write_cell", "_write_empty_row", "_xml_end_tag")
    if not all(callable(getattr(Worksheet, name, None)) for name in needed):
        return None
    kinds_by_name = {"Number": "n", "Datetime": "n", "String": "s", "RichString": "s", "Blank": "b",
                     "Boolean": "t"}
    kinds: dict[type, str] = {}  # cell record class -> its kind; "x": XlsxWriter's own writer
    number_record, string_record = _cell_records()  # the common two, told apart by identity
    col_names: list[str] = []

    class FastRowsWorksheet(Worksheet):
        _rendered: str | None = None
        #: the rendered rows deflated ahead (see :meth:`deflate_rows`): (raw deflate flushed to a
        #: byte boundary, the CRC-32 of the rows' bytes, their length), or None
        _rendered_deflated: tuple | None = None
        #: rows a row writer stored as their cells' XML (see :meth:`_CellWriter.row_writer`): row ->
        #: (first column, last column, the cells' XML, the values, their formats); None: none yet
        _fused: dict | None = None
        #: the column formats those rows took for their cells without a format (column -> the
        #: column's format then, None for none), checked again when the rows are written
        _fused_columns: dict | None = None

        @staticmethod
        def column_names(count: int) -> list[str]:
            """The letters of the first ``count`` columns (a shared list, at least that long)."""
            while len(col_names) < count:
                col_names.append(xl_col_to_name(len(col_names)))
            return col_names

        def fuse(self) -> tuple[dict, dict]:
            """The two dicts a row writer stores rows into (``_fused`` and ``_fused_columns``)."""
            if self._fused is None:
                self._fused, self._fused_columns = {}, {}
            return self._fused, self._fused_columns

        def _materialize(self, rows=None) -> None:
            """Turn the given fused rows (all when None) into XlsxWriter's own cell records, as
            ``write_number`` and ``write_string`` store them; a cell written there since stays."""
            fused = self._fused
            if not fused:
                return
            number, string = _cell_records()
            new, index = tuple.__new__, self.str_table.string_table
            if not index:  # the workbook is being stored: its texts are a list by now
                index = {text: i for i, text in enumerate(getattr(self.str_table, "string_array", ()))}
            for r in list(fused) if rows is None else rows:
                values, fmts = fused.pop(r)[3:]
                cells = self.table[r]
                for j, v in enumerate(values):
                    if v is None or j in cells:
                        continue
                    if v.__class__ is str:
                        if v:
                            cells[j] = new(string, (index[v], fmts[j]))
                    elif v.__class__ is int or math.isfinite(v):
                        cells[j] = new(number, (v, fmts[j]))

        def _fused_columns_hold(self) -> bool:
            """Whether every column whose format fused rows took has that format still."""
            info = self.col_info
            for c, fmt in (self._fused_columns or {}).items():
                now = info.get(c)
                if (now.column_format if now is not None else None) is not fmt:
                    return False
            return True

        def _get_range_data(self, *args):
            self._materialize()  # a chart's cached values: XlsxWriter reads them from its records
            return super()._get_range_data(*args)

        def autofit(self, *args, **kwargs):
            self._materialize()
            return super().autofit(*args, **kwargs)

        def prerender_rows(self) -> None:
            """Turn the rows into their XML now (the sheet is complete: no cell, row or column
            changes after this); the workbook then writes that text when it is stored."""
            if self.dim_rowmin is None:  # no cells: the sheet's data is written empty, without rows
                return
            fh, buffer = getattr(self, "fh", None), io.StringIO()
            self.fh = buffer
            try:
                self._write_rows()
            finally:
                self.fh = fh
            self._rendered = buffer.getvalue()
            self._rendered_deflated = None

        def deflate_rows(self) -> None:
            """Deflate the rendered rows now, at :data:`ZIP_LEVEL` (rows of ASCII text, at least
            :data:`DEFLATE_AHEAD_CHARS` of it: the XML of numbers and shared-string indices). A
            part written by the two-thread zip then takes these bytes for its rows and deflates
            only the text before and after them (see :func:`_parts_zip_class`); elsewhere they
            are not used."""
            text = self._rendered
            if text is None or len(text) < DEFLATE_AHEAD_CHARS or not text.isascii():
                return
            self._rendered_deflated = _deflated_ahead(text.encode("ascii"))

        def _write_rows(self) -> None:
            if self._rendered is not None:
                splice = getattr(self.fh, "splice", None)
                if splice is not None and self._rendered_deflated is not None:
                    splice(self._rendered, self._rendered_deflated)
                else:
                    self.fh.write(self._rendered)
                return
            try:
                plain = (not self.comments and not self.constant_memory and self.excel_version != 2010
                         and self.default_row_height == self.original_row_height
                         and self.dim_colmin is not None)
                table, row_info, col_info = self.table, self.row_info, self.col_info
                rmin, rmax, cmax = self.dim_rowmin, self.dim_rowmax, self.dim_colmax
            except AttributeError:
                plain = False
            fused = self._fused or {}
            if fused:
                if not plain or not self._fused_columns_hold():
                    self._materialize()
                    fused = {}
                else:  # a row written to since, or with row options: as XlsxWriter's records
                    self._materialize([r for r in fused if table.get(r) or r in row_info])
            if not plain:
                super()._write_rows()
                return
            # the <row> spans: for each block of 16 rows, the first and last column holding a cell
            filled = sorted([r for r, cells in table.items() if cells and rmin <= r <= rmax]
                            + [r for r in fused if rmin <= r <= rmax])
            blocks: dict[int, list[int]] = {}
            for r in filled:
                cells = table.get(r)
                if cells:
                    lo, hi = min(cells), max(cells)
                else:
                    lo, hi = fused[r][:2]
                block = blocks.get(r >> 4)
                if block is None:
                    blocks[r >> 4] = [lo, hi]
                else:
                    if lo < block[0]:
                        block[0] = lo
                    if hi > block[1]:
                        block[1] = hi
            spans = {b: f"{lo + 1}:{hi + 1}" for b, (lo, hi) in blocks.items()}
            self.row_spans = spans
            rows = filled
            if row_info:
                rows = sorted(set(filled).union(r for r in row_info if rmin <= r <= rmax))
            names = self.column_names(cmax + 1)
            # ' s="…"' of a format, and of each column's format for cells without one; the
            # formats are numbered in the order XlsxWriter meets them, cell by cell
            styles: dict[Any, str] = {}
            col_styles: dict[int, str] = {}
            # a number's text: a sheet holds few distinct numbers, and formatting is the slow part
            texts: dict[float, str] = {}
            write = self.fh.write
            for r in rows:
                span = spans.get(r >> 4)
                row = fused.get(r)
                if row is not None:
                    n = str(r + 1)
                    write((f'<row r="{n}" spans="{span}">' if span else f'<row r="{n}">') + row[2] + "</row>")
                    continue
                if r in row_info:  # row height, format or hiding: XlsxWriter's own writer
                    if table.get(r):
                        self._write_row(r, span, row_info[r])
                        for c in range(self.dim_colmin, cmax + 1):
                            if c in table[r]:
                                self._write_cell(r, c, table[r][c])
                        self._xml_end_tag("row")
                    else:
                        self._write_empty_row(r, span, row_info[r])
                    continue
                n = str(r + 1)
                out = [f'<row r="{n}" spans="{span}">' if span else f'<row r="{n}">']
                add = out.append
                for c, cell in sorted(table[r].items()):
                    cls = cell.__class__
                    kind = "n" if cls is number_record else "s" if cls is string_record else kinds.get(cls)
                    if kind is None:
                        kind = kinds[cls] = kinds_by_name.get(cls.__name__, "x")
                    if kind == "x":  # formulas, errors, …
                        write("".join(out))
                        out.clear()
                        self._write_cell(r, c, cell)
                        continue
                    fmt = cell.format
                    if fmt:
                        s = styles.get(fmt)
                        if s is None:
                            s = styles[fmt] = f' s="{fmt._get_xf_index()}"'
                    else:
                        s = col_styles.get(c)
                        if s is None:
                            info = col_info.get(c)
                            fmt = info.column_format if info is not None else None
                            s = col_styles[c] = "" if fmt is None else f' s="{fmt._get_xf_index()}"'
                    if kind == "n":
                        v = cell.number
                        if v and (v.__class__ is float or v.__class__ is int):
                            text = texts.get(v)
                            if text is None:
                                text = texts[v] = f"{v:.16G}"
                        else:  # zero (0 and -0.0 are one key but two texts), Decimal, …
                            text = f"{v:.16G}"
                        add(f'<c r="{names[c]}{n}"{s}><v>{text}</v></c>')
                    elif kind == "s":
                        add(f'<c r="{names[c]}{n}"{s} t="s"><v>{cell.string}</v></c>')
                    elif kind == "b":
                        add(f'<c r="{names[c]}{n}"{s}/>')
                    else:
                        add(f'<c r="{names[c]}{n}"{s} t="b"><v>{cell.boolean}</v></c>')
                add("</row>")
                write("".join(out))

    return FastRowsWorksheet


def _cell_records() -> tuple[Any, Any]:
    """XlsxWriter's ``Number(number, format)`` and ``String(index, format)`` cell records (None
    for either this XlsxWriter does not have)."""
    import xlsxwriter.worksheet as xw

    number = getattr(xw, "CellNumberTuple", None) or getattr(xw, "cell_number_tuple", None)
    string = getattr(xw, "CellStringTuple", None) or getattr(xw, "cell_string_tuple", None)
    if number is not None and (number.__name__ != "Number" or tuple(number._fields) != ("number", "format")):
        number = None
    if string is not None and (string.__name__ != "String" or tuple(string._fields) != ("string", "format")):
        string = None
    return number, string


def _direct_cells(ws):
    """What storing cells into ``ws`` directly needs, or None when ``ws`` keeps them otherwise.

    (number record, text record, shared-string table, longest text stored without a length
    check, rows, columns): XlsxWriter keeps each row's cells in a dict, column -> a
    ``Number(number, format)`` or ``String(shared string index, format)`` record, and counts
    every text it stores in the workbook's table of shared strings.
    """
    number, string = _cell_records()
    try:
        if (number is None or string is None or ws.constant_memory or not isinstance(ws.table, dict) or not callable(ws._check_dimensions)
                or not isinstance(ws.str_table.string_table, dict) or not isinstance(ws.str_table.count, int)
                or not callable(ws.str_table._get_shared_string_index)):
            return None
        return number, string, ws.str_table, ws.xls_strmax // 2, ws.xls_rowmax, ws.xls_colmax
    except AttributeError:
        return None


# --------------------------------------------------------------------------- cells
class _CellWriter:
    """Formats of one workbook and a type-keeping ``cell`` writer shared by report and template."""

    def __init__(self, wb) -> None:
        self.wb = wb
        self.header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "valign": "top"})
        self.money = wb.add_format({"num_format": MONEY_FORMAT})
        self.share = wb.add_format({"num_format": SHARE_FORMAT})
        self.gap = wb.add_format({"num_format": GAP_FORMAT})
        self.date = wb.add_format({"num_format": DATE_FORMAT})
        self.datetime = wb.add_format({"num_format": DATETIME_FORMAT})
        self.time = wb.add_format({"num_format": TIME_FORMAT})
        self.duration = wb.add_format({"num_format": DURATION_FORMAT})
        self._titles: set[str] = set()

    # one call per cell: the common types first
    def cell(self, ws, r: int, c: int, v: Any, fmt=None) -> None:
        t = type(v)
        if t is str:
            if v:
                ws.write_string(r, c, v, fmt)
        elif v is None:
            return
        elif t is float:
            if math.isfinite(v):
                ws.write_number(r, c, v, fmt)
        elif t is int:
            ws.write_number(r, c, v, fmt)
        elif t is bool:
            ws.write_boolean(r, c, v)
        else:
            self._other(ws, r, c, v, fmt)

    def row_writer(self, ws) -> Callable[[int, Sequence[Any], Sequence[Any]], None]:
        """``put(r, values, fmts)``: each ``values[j]`` to column ``j`` of row ``r`` with format
        ``fmts[j]`` (``fmts`` at least as long as ``values``), exactly as :meth:`cell` writes it.

        Finite numbers and text, nearly every cell of a large sheet, are stored into the sheet
        directly as XlsxWriter's own ``write_number`` and ``write_string`` store them (text stays
        text: nothing is ever taken for a formula); any other value goes through :meth:`cell`.
        Shared strings are numbered in the same order as cell by cell, so the file is the same.
        On a sheet of the fast class, a row of such values alone is stored as its XML instead
        (:meth:`_fused_writer`: at 10,000 projects the Portfolio and Rejected sheets 0.143 →
        0.096 s in-process, with the same XML; the carried sheets likewise).
        """
        cell = self.cell

        def put_each(r: int, values: Sequence[Any], fmts: Sequence[Any]) -> None:
            for j, v in enumerate(values):
                if v is not None:
                    cell(ws, r, j, v, fmts[j])

        direct = _direct_cells(ws)
        if direct is None:
            return put_each
        number, string, shared, long_text, max_rows, max_cols = direct
        table, check, isfinite, new = ws.table, ws._check_dimensions, math.isfinite, tuple.__new__
        add_string = shared._get_shared_string_index

        def put(r: int, values: Sequence[Any], fmts: Sequence[Any]) -> None:
            if r >= max_rows or len(values) > max_cols:
                return put_each(r, values, fmts)
            cells: dict[int, Any] = {}
            known = shared.string_table.get  # a text seen before: its index, counted below
            seen = 0
            for j, v in enumerate(values):
                if v is None:
                    continue
                t = type(v)
                if t is str:
                    if not v:
                        continue
                    if len(v) > long_text:  # may need truncating: XlsxWriter's own check
                        cell(ws, r, j, v, fmts[j])
                    else:
                        index = known(v)
                        if index is None:
                            index = add_string(v)  # numbered and counted
                        else:
                            seen += 1
                        cells[j] = new(string, (index, fmts[j]))
                elif t is float:
                    if isfinite(v):
                        cells[j] = new(number, (v, fmts[j]))
                elif t is int:
                    cells[j] = new(number, (v, fmts[j]))
                else:
                    cell(ws, r, j, v, fmts[j])
            shared.count += seen
            if cells:  # columns in ascending order: the first and the last set the sheet's extent
                check(r, next(iter(cells)))
                check(r, next(reversed(cells)))
                stored = table.get(r)
                if stored:
                    stored.update(cells)
                else:
                    table[r] = cells

        if callable(getattr(ws, "fuse", None)):
            return self._fused_writer(ws, direct, put, put_each)
        return put

    @staticmethod
    def _fused_writer(ws, direct, records, put_each) -> Callable[[int, Sequence[Any], Sequence[Any]], None]:
        """``put`` of :meth:`row_writer` for a sheet of the fast class: a row of nothing but text,
        finite numbers and blanks (nearly every row of a large sheet) is stored as its cells' XML
        at once, byte for byte what the sheet would write for the records ``write_number`` and
        ``write_string`` store, its texts numbered and counted in the shared strings in the same
        order; any other row, or a row already holding cells, is stored as those records.

        The style of a cell without a format is its column's format as the row is stored: the
        sheet checks, as it writes its rows, that each such column still has it, and turns the
        stored rows into records when one has not (as it does for a row given row options or
        written to since, a sheet that is not written its fast way, and a chart's cached values).
        A format not yet numbered (numbers are given in the order the sheet's XML meets them)
        sends its row to the records."""
        shared, long_text, max_rows, max_cols = direct[2:]
        table, check, isfinite = ws.table, ws._check_dimensions, math.isfinite
        known, add_string = shared.string_table.get, shared._get_shared_string_index
        fused, columns = ws.fuse()
        names = ws.column_names(0)  # the class's shared list, longer as rows need
        col_info = ws.col_info
        styles: dict[Any, str] = {}  # format -> ' s="…"' (numbered formats only)
        texts: dict[float, str] = {}  # a number's text, as the sheet writes it
        unformatted: dict[int, str] = {}  # column -> the style of its cells without a format

        def column_style(j: int) -> str | None:
            info = col_info.get(j)
            fmt = info.column_format if info is not None else None
            if fmt is not None and fmt.xf_index is None:
                return None
            style = "" if fmt is None else f' s="{fmt.xf_index}"'
            columns[j] = fmt
            unformatted[j] = style
            return style

        def put(r: int, values: Sequence[Any], fmts: Sequence[Any]) -> None:
            if r >= max_rows or len(values) > max_cols:
                return put_each(r, values, fmts)
            if r in fused or table.get(r):  # the records, which the sheet merges as it writes its rows
                return records(r, values, fmts)
            if len(names) < len(values):
                ws.column_names(len(values))
            n = str(r + 1)
            out: list[str] = []
            add = out.append
            seen = added = 0
            first = last = -1
            for j, v in enumerate(values):
                if v is None:
                    continue
                t = type(v)
                if t is str:
                    if not v:
                        continue
                    if len(v) > long_text:
                        break
                elif t is float:
                    if not isfinite(v):
                        continue
                elif t is not int:
                    break
                fmt = fmts[j]
                if fmt is None:
                    s = unformatted.get(j)
                    if s is None and (s := column_style(j)) is None:
                        break
                else:
                    s = styles.get(fmt)
                    if s is None:
                        if fmt.xf_index is None:
                            break
                        s = styles[fmt] = f' s="{fmt.xf_index}"'
                if t is str:
                    index = known(v)
                    if index is None:
                        index = add_string(v)
                        added += 1
                    else:
                        seen += 1
                    add(f'<c r="{names[j]}{n}"{s} t="s"><v>{index}</v></c>')
                else:
                    if v:
                        text = texts.get(v)
                        if text is None:
                            text = texts[v] = f"{v:.16G}"
                    else:  # zero (0 and -0.0 are one key but two texts)
                        text = f"{v:.16G}"
                    add(f'<c r="{names[j]}{n}"{s}><v>{text}</v></c>')
                if first < 0:
                    first = j
                last = j
            else:
                shared.count += seen
                if first >= 0:
                    check(r, first)
                    check(r, last)
                    fused[r] = (first, last, "".join(out), tuple(values), tuple(fmts))
                return
            # a value, text or format this row cannot be stored as XML with: records, from the
            # start of the row (the texts numbered here are counted once more there)
            shared.count -= added
            records(r, values, fmts)

        return put

    def add_stakes(self, ws, r: int, values: list, fmts: list, stakes: Iterable[Any]) -> None:
        """Extend row ``r``'s ``values`` and ``fmts`` by one cell a stake: 1 for a whole project,
        a share for part of one, nothing where the project is out (None)."""
        for stake in stakes:
            if stake is not None and not stake >= 1 - 1e-9:
                stake = float(stake)
                if not math.isfinite(stake):  # refused by XlsxWriter, as it always was
                    ws.write_number(r, len(values), stake, self.share)
                values.append(stake)
                fmts.append(self.share)
            else:
                values.append(None if stake is None else 1)
                fmts.append(None)

    def _other(self, ws, r: int, c: int, v: Any, fmt) -> None:
        if isinstance(v, str):
            ws.write_string(r, c, str(v), fmt)
        elif isinstance(v, _dt.datetime):
            plain = v.time() == _dt.time() and v.tzinfo is None
            ws.write_datetime(r, c, v, self.date if plain else self.datetime)
        elif isinstance(v, _dt.date):
            ws.write_datetime(r, c, v, self.date)
        elif isinstance(v, _dt.time):
            ws.write_datetime(r, c, v, self.time)
        elif isinstance(v, _dt.timedelta):
            ws.write_datetime(r, c, v, self.duration)
        elif isinstance(v, bool):
            ws.write_boolean(r, c, bool(v))
        elif isinstance(v, (numbers.Real, Decimal)):  # numpy numbers, Fraction, Decimal
            f = float(v)
            if math.isfinite(f):
                ws.write_number(r, c, f, fmt)
        elif isinstance(v, (list, tuple, set, frozenset)):
            text = ", ".join(str(x) for x in (sorted(v, key=str) if isinstance(v, (set, frozenset)) else v))
            if text:
                ws.write_string(r, c, text, fmt)
        else:
            ws.write_string(r, c, str(v), fmt)

    def title(self, wanted: str) -> str:
        """A sheet title Excel accepts: ≤ 31 characters, no []:*?/\\, unique ignoring case."""
        base = _BAD_TITLE_CHARS.sub("_", str(wanted)).strip("'")[:MAX_TITLE] or "Sheet"
        title, n = base, 2
        while title.lower() in self._titles:
            suffix = f" ({n})"
            title = base[:MAX_TITLE - len(suffix)] + suffix
            n += 1
        self._titles.add(title.lower())
        return title

    def add_sheet(self, wanted: str):
        return self.wb.add_worksheet(self.title(wanted))


def display_width(v: Any, fmt_kind: str | None = None) -> int:
    """Characters a value needs when shown (for column widths)."""
    if v is None:
        return 0
    t = type(v)
    if t is str:
        return max(len(line) for line in v.split("\n")) if "\n" in v else len(v)
    if t is bool:
        return 5
    if t in (int, float) or isinstance(v, numbers.Real):
        f = float(v)
        if not math.isfinite(f):
            return 0
        if fmt_kind == "money":
            return len(f"{f:,.3f}")
        if fmt_kind == "share":
            return len(f"{f * 100:.1f}%")
        return len(f"{v}") if t is int else len(f"{f:.10g}")
    if isinstance(v, _dt.datetime):
        return 19 if v.time() != _dt.time() else 10
    if isinstance(v, _dt.date):
        return 10
    return min(len(str(v)), MAX_WIDTH)


def _fit(width: int) -> float:
    return float(min(MAX_WIDTH, max(MIN_WIDTH, width + 2)))


def _column_kind(name: str) -> str | None:
    key = str(name).strip().lower()
    if key in MONEY_COLUMNS or key.startswith("debt_"):
        return "money"
    if key in SHARE_COLUMNS:
        return "share"
    return None


# --------------------------------------------------------------------------- report
class _ReportWriter(_CellWriter):
    def __init__(self, wb, report: Report, data: Pipeline) -> None:
        super().__init__(wb)
        self.report = report
        self.data = data
        self.unit = data.fund.currency_unit
        wb.set_properties({"title": "fundopt ranked portfolio",
                           "subject": data.source.name if data.source else "",
                           "comments": "Written by fundopt; the input sheets are carried over whole."})

    def fmt(self, kind: str | None):
        return {"money": self.money, "share": self.share, "gap": self.gap}.get(kind) if kind else None

    # ---------------------------------------------------------------- sheets in order
    def write(self) -> None:
        self.begin()
        self.end(self.report)

    def begin(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Add every sheet in order and fill the carried input sheets, which need no report (a
        :class:`ReportDraft` does this while the model is solved); :meth:`end` fills the rest."""
        self.fill_carried(self.add_sheets(), cancelled)

    def add_sheets(self) -> list[tuple[Any, SourceSheet]]:
        """Add every sheet, empty, in the workbook's order; return the carried input sheets still
        to fill, each with its worksheet (all but Sectors, which takes report columns).

        The formats' style numbers are fixed here, before any cell: wherever the carried sheets
        are filled (here, on another thread, or in another process), they number the same."""
        for fmt in (self.header, self.money, self.share, self.gap, self.date, self.datetime, self.time,
                    self.duration):
            fmt._get_xf_index()
        carried = list(self.data.source.sheets) if self.data.source else []
        sectors_input = next((s for s in carried if find_sheet(s.title) is SECTORS), None)
        # report titles first, so a carried sheet can never take one (Sectors is the input's, if any)
        for name in REPORT_ORDER:
            if name != "Sectors" or sectors_input is None:
                self._titles.add(name.lower())
        sheets = self._sheets = {}
        for name in REPORT_ORDER:
            if name == "Sectors" and sectors_input is not None:
                sheets[name] = self.add_sheet(sectors_input.title)
            else:
                sheets[name] = self._sheet(name)
        self._sectors_input = sectors_input
        return [(self.add_sheet(sheet.title), sheet) for sheet in carried if sheet is not sectors_input]

    def _deflates_ahead(self) -> bool:
        """Whether sheets complete before the store are deflated then: when the workbook deflates
        its parts on threads (see :func:`_parts_zip_class`), which splice such rows in."""
        return getattr(self.wb, "deflate_threads", 1) > 1

    def fill_carried(self, pairs: list[tuple[Any, SourceSheet]],
                     cancelled: Callable[[], bool] = lambda: False) -> None:
        """Write each carried input sheet of :meth:`add_sheets` into its worksheet, down to its XML."""
        for ws, sheet in pairs:
            if cancelled():
                return
            if find_sheet(sheet.title) is PROJECTS:
                sheet = with_decisions(sheet, self.data)
            self._carried(ws, sheet)
            prerender = getattr(ws, "prerender_rows", None)
            if prerender is not None:  # its XML now, while the solver has the other core
                prerender()
                if self._deflates_ahead():  # and deflated
                    ws.deflate_rows()

    def end(self, report: Report) -> None:
        """Fill the report sheets :meth:`begin` added. Summary, Nations and Run come last: a
        figure still being computed on another thread (Report.pending) is waited for only once
        every other sheet is filled and turned into its XML."""
        self.report = r = report
        sheets = self._sheets
        self._table(sheets["Portfolio"], "Portfolio", r.portfolio, freeze_cols=1)
        self._table(sheets["Alternatives"], "Alternatives", r.alternatives)
        self._table(sheets["Rejected"], "Rejected", r.rejected)
        if self._sectors_input is None:
            self._sectors_table(sheets["Sectors"])
        else:
            self._sectors_carried(sheets["Sectors"], self._sectors_input)
        self._table(sheets["Sources"], "Sources", r.sources)
        self._capital(sheets["Capital"])
        self._table(sheets["Constraints"], "Constraints", r.constraints, row_formats=self._constraint_formats)
        for name in REPORT_ORDER:
            if name not in ("Summary", "Nations", "Run"):
                prerender = getattr(sheets[name], "prerender_rows", None)
                if prerender is not None:  # complete: its XML now, while the figures may still be computed
                    prerender()
                    if r.pending is not None and self._deflates_ahead():
                        sheets[name].deflate_rows()  # deflated too, while this thread would only wait
        r.complete()
        self._pairs(sheets["Summary"], r.summary, self._summary_format)
        self._table(sheets["Nations"], "Nations", r.nations)
        self._pairs(sheets["Run"], r.run)

    def _sheet(self, title: str):
        """A report sheet whose title was reserved in :meth:`add_sheets`."""
        return self.wb.add_worksheet(title)

    # ---------------------------------------------------------------- tables
    def _header(self, ws, columns: Sequence[str], row: int = 0, first_col: int = 0) -> None:
        for j, name in enumerate(columns):
            ws.write_string(row, first_col + j, name, self.header)

    def _check_size(self, sheet: str, rows: int, cols: int) -> None:
        if rows > EXCEL_MAX_ROWS:
            raise OutputError(f"the {sheet} sheet would need {rows:,} rows; Excel holds at most {EXCEL_MAX_ROWS:,}")
        if cols > EXCEL_MAX_COLS:
            raise OutputError(f"the {sheet} sheet would need {cols:,} columns; Excel holds at most "
                              f"{EXCEL_MAX_COLS:,}")

    def _table(self, ws, name: str, rows: list[dict], *, freeze_cols: int = 0,
               row_formats: Callable[[dict], dict] | None = None) -> list[str]:
        columns = _columns_of(rows, KNOWN_COLUMNS.get(name, ()))
        self._check_size(ws.name, len(rows) + 1, len(columns))
        kinds = [_column_kind(c) for c in columns]
        fmts = [self.fmt(k) for k in kinds]
        widths = [len(c) for c in columns]
        self._header(ws, columns)
        put = self.row_writer(ws)
        for i, row in enumerate(rows, 1):
            get = row.get
            values = list(map(get, columns))
            override = row_formats(row) if row_formats else None
            put(i, values, [override.get(key, f) for key, f in zip(columns, fmts)] if override else fmts)
            if i <= WIDTH_SAMPLE_ROWS:
                for j, v in enumerate(values):
                    if v is not None:
                        w = display_width(v, kinds[j])
                        if w > widths[j]:
                            widths[j] = w
        self._finish_table(ws, columns, widths, len(rows), freeze_cols)
        return columns

    def _finish_table(self, ws, columns: Sequence[str], widths: Sequence[int], nrows: int,
                      freeze_cols: int = 0) -> None:
        for j, w in enumerate(widths):
            hidden = columns[j] in HIDDEN_COLUMNS if j < len(columns) else False
            ws.set_column(j, j, _fit(w), None, {"hidden": True} if hidden else None)
        ws.freeze_panes(1, freeze_cols)
        if columns:
            ws.autofilter(0, 0, max(nrows, 1), len(columns) - 1)

    def _pairs(self, ws, pairs: Iterable[tuple[str, Any]], fmt_of: Callable[[str, Any], Any] | None = None) -> None:
        pairs = list(pairs)
        self._header(ws, ("item", "value"))
        widths = [4, 5]
        for i, (label, value) in enumerate(pairs, 1):
            self.cell(ws, i, 0, label)
            self.cell(ws, i, 1, value, fmt_of(label, value) if fmt_of else None)
            widths[0] = max(widths[0], display_width(label))
            widths[1] = max(widths[1], display_width(value, "money" if fmt_of and fmt_of(label, value) is self.money
                                                     else None))
        ws.set_column(0, 0, _fit(widths[0]))
        ws.set_column(1, 1, _fit(widths[1]))
        ws.freeze_panes(1, 0)

    def _summary_format(self, label: str, value: Any):
        key = str(label).strip().lower()
        if "satisfaction" in key or "share" in key:
            return self.share
        if "gap" in key:
            return self.gap
        if key in _SUMMARY_MONEY or key.startswith("debt"):
            return self.money
        if key in _SUMMARY_OBJECTIVE:
            kind = next((v for k, v in self.report.summary if str(k).strip().lower() == "objective"), None)
            return self.money if kind in (None, "npv") else None
        return None

    def _constraint_formats(self, row: dict) -> dict:
        unit = row.get("unit")
        if unit == "share":
            kind = self.share
        elif unit in (None, "", "projects", "count", "risk", "score"):
            return {}
        elif unit == self.unit:
            kind = self.money
        else:
            return {}
        return {"limit": kind, "value": kind, "slack": kind}

    # ---------------------------------------------------------------- sectors
    def _sector_rows(self) -> list[dict]:
        out = []
        for s in self.report.sectors:
            rec = {"sector": s.get("sector")}
            for name, key in SECTOR_REPORT_COLUMNS:
                rec[name] = s.get(name, s.get(key))
            out.append(rec)
        return out

    def _sectors_table(self, ws) -> None:
        rows = self._sector_rows()
        columns = ("sector", *(name for name, _ in SECTOR_REPORT_COLUMNS))
        widths = [len(c) for c in columns]
        kinds = [_column_kind(c) for c in columns]
        self._header(ws, columns)
        for i, row in enumerate(rows, 1):
            for j, key in enumerate(columns):
                v = row.get(key)
                self.cell(ws, i, j, v, self.fmt(kinds[j]))
                widths[j] = max(widths[j], display_width(v, kinds[j]))
        self._finish_table(ws, columns, widths, len(rows))
        if rows:
            self._sector_chart(ws, first_row=1, last_row=len(rows), sector_col=0, committed_col=1,
                               at_col=len(columns) + 1)

    def _sectors_carried(self, ws, sheet: SourceSheet) -> None:
        hdr = sheet.header_row - 1 if sheet.header_row else None
        header = sheet.rows[hdr] if hdr is not None and hdr < len(sheet.rows) else None
        sector_col = _find_column(header, SECTORS.column("sector")) if header is not None else None
        if header is None or sector_col is None:  # the reader would have refused this sheet
            self._carried(ws, sheet)
            return
        # report columns: overwrite in place when present (an earlier output run again), else append
        used = max((_last_filled(r) for r in sheet.rows), default=-1)
        next_free = used + 1
        positions: dict[str, int] = {}
        for name, _ in SECTOR_REPORT_COLUMNS:
            wanted = _name_key(name)
            j = next((j for j, h in enumerate(header) if isinstance(h, str) and _name_key(h) == wanted), None)
            if j is None:
                j, next_free = next_free, next_free + 1
            positions[name] = j
        self._check_size(ws.name, len(sheet.rows), next_free)
        widths = self._carried(ws, sheet, skip_cols=set(positions.values()))
        for name, j in positions.items():
            ws.write_string(hdr, j, name, self.header)
        by_sector = {s["sector"]: s for s in self._sector_rows()}
        sector_column = SECTORS.column("sector")
        first = last = None
        for i in range(hdr + 1, len(sheet.rows)):
            row = sheet.rows[i]
            cellv = row[sector_col] if sector_col < len(row) else None
            key, err = coerce(cellv, sector_column)
            rec = by_sector.get(key) if err is None and key is not None else None
            if rec is None:
                continue
            first = i if first is None else first
            last = i
            for name, j in positions.items():
                v = rec.get(name)
                kind = _column_kind(name)
                self.cell(ws, i, j, v, self.fmt(kind))
                widths[j] = max(widths.get(j, 0), display_width(v, kind))
        for name, j in positions.items():
            widths[j] = max(widths.get(j, 0), len(name))
        for j, w in widths.items():
            ws.set_column(j, j, _fit(w))
        if first is not None:
            self._sector_chart(ws, first_row=first, last_row=last, sector_col=sector_col,
                               committed_col=positions["committed"], at_col=next_free + 1, at_row=hdr)

    def _sector_chart(self, ws, *, first_row: int, last_row: int, sector_col: int, committed_col: int,
                      at_col: int, at_row: int = 0) -> None:
        chart = self.wb.add_chart({"type": "column"})
        chart.add_series({
            "name": f"committed ({self.unit})",
            "categories": [ws.name, first_row, sector_col, last_row, sector_col],
            "values": [ws.name, first_row, committed_col, last_row, committed_col],
            "fill": {"color": "#4472C4"},
        })
        chart.set_title({"name": "Commitments by sector"})
        chart.set_y_axis({"name": self.unit, "num_format": "#,##0"})
        chart.set_legend({"none": True})
        ws.insert_chart(at_row, at_col, chart, {"x_scale": 1.4, "y_scale": 1.2})

    # ---------------------------------------------------------------- capital
    def _capital(self, ws) -> None:
        rows = self.report.capital
        columns = self._table(ws, "Capital", rows)
        if not rows or "year" not in columns or "spending" not in columns:
            return
        n, year, spend = len(rows), columns.index("year"), columns.index("spending")
        chart = self.wb.add_chart({"type": "column"})
        chart.add_series({
            "name": f"spending ({self.unit})",
            "categories": [ws.name, 1, year, n, year],
            "values": [ws.name, 1, spend, n, spend],
            "fill": {"color": "#4472C4"},
        })
        if "capital_limit" in columns and any(r.get("capital_limit") is not None for r in rows):
            lim = columns.index("capital_limit")
            line = self.wb.add_chart({"type": "line"})
            line.add_series({
                "name": "capital_limit",
                "categories": [ws.name, 1, year, n, year],
                "values": [ws.name, 1, lim, n, lim],
                "line": {"color": "#C00000", "width": 2.25},
                "marker": {"type": "diamond"},
            })
            chart.combine(line)
        chart.set_title({"name": "Spending by year"})
        chart.set_x_axis({"name": "year"})
        chart.set_y_axis({"name": self.unit, "num_format": "#,##0"})
        chart.set_legend({"position": "bottom"})
        ws.insert_chart(0, len(columns) + 1, chart, {"x_scale": 1.4, "y_scale": 1.2})

    # ---------------------------------------------------------------- carried input sheets
    def _carried(self, ws, sheet: SourceSheet, skip_cols: set[int] | None = None) -> dict[int, int]:
        """Write an input sheet row by row, types kept; return measured column widths."""
        rows = sheet.rows
        ncols = max((len(r) for r in rows), default=0)
        self._check_size(ws.name, len(rows), ncols)
        hdr = sheet.header_row - 1 if sheet.header_row else None
        header = rows[hdr] if hdr is not None and hdr < len(rows) else None
        fmts = _carried_formats(find_sheet(sheet.title), header, self)
        fmts += [None] * (ncols - len(fmts))
        width_kinds = ["money" if f is self.money else None for f in fmts]
        widths: dict[int, int] = {}
        cell = self.cell
        put = self.row_writer(ws)
        skip = skip_cols or set()
        body_seen = 0
        for i, row in enumerate(rows):
            if i == hdr:
                for j, v in enumerate(row):
                    if v is None or j in skip:
                        continue
                    if isinstance(v, str):
                        ws.write_string(i, j, v, self.header)
                    else:
                        cell(ws, i, j, v, self.header)
                    w = display_width(v)
                    if w > widths.get(j, 0):
                        widths[j] = w
                continue
            measure = body_seen < WIDTH_SAMPLE_ROWS and (hdr is None or i > hdr)
            body_seen += 1 if measure else 0
            values = [None if j in skip else v for j, v in enumerate(row)] if skip else row
            put(i, values, fmts)
            if measure:
                for j, v in enumerate(values):
                    if v is not None:
                        w = display_width(v, width_kinds[j])
                        if w > widths.get(j, 0):
                            widths[j] = w
        for j, w in widths.items():
            ws.set_column(j, j, _fit(w))
        if hdr is not None:
            ws.freeze_panes(hdr + 1, 0)
        return widths


def _last_filled(row: Sequence[Any]) -> int:
    for j in range(len(row) - 1, -1, -1):
        v = row[j]
        if v is not None and not (isinstance(v, str) and not v.strip()):
            return j
    return -1


def _columns_of(rows: list[dict], known: Sequence[str]) -> list[str]:
    """The dict keys in first-seen order (the known list when there are no rows)."""
    if not rows:
        return list(known)
    seen: dict[str, None] = {}
    first_keys = None
    for row in rows:
        keys = tuple(row)
        if keys == first_keys:  # the usual case: every row has the same keys
            continue
        first_keys = first_keys or keys
        seen.update(dict.fromkeys(keys))
    return [str(k) for k in seen]


def _carried_formats(schema: Sheet | None, header: Sequence[Any] | None, cw: _CellWriter) -> list:
    """Per column of a carried input sheet: money / share display formats from the schema types."""
    if schema is None or header is None or schema.kind != "table":
        return []
    by_key = {k: c for c in schema.columns for k in c.keys}
    out = []
    for h in header:
        fmt = None
        if isinstance(h, str) and h.strip():
            key = _name_key(h)
            col = by_key.get(key)
            if col is not None:
                fmt = cw.money if col.type == "money" else cw.share if col.type == "share" else None
            elif schema is CAPEX_SCHEDULE and SCHEDULE_COLUMN.match(key):
                fmt = cw.money
        out.append(fmt)
    return out


def with_decisions(sheet: SourceSheet, data: Pipeline) -> SourceSheet:
    """The Projects sheet with each project's decision as this run applied it.

    A decision edited on an earlier output's Portfolio or Rejected sheet is written back to
    Projects, so that it survives every later round trip.
    """
    if sheet.header_row is None:
        return sheet
    rows: list[Any] = list(sheet.rows)  # a row becomes a list only when it changes
    h = sheet.header_row - 1
    header = rows[h] = list(rows[h])
    column = PROJECTS.column("decision")
    reason = PROJECTS.column("decision_reason")
    j = _find_column(header, column)  # looked up again only when the header grows
    copied = {h}

    changed = False
    for p in data.projects:
        i = p.row - 1
        if not 0 <= i < len(rows):
            continue
        current = coerce(rows[i][j], column)[0] if j is not None and j < len(rows[i]) else None
        if (current or "auto") == p.decision:
            continue
        for col in (column, reason):
            if _find_column(header, col) is None:
                header.append(col.name)
        j, k = _find_column(header, column), _find_column(header, reason)
        if i not in copied:
            rows[i] = list(rows[i])
            copied.add(i)
        row = rows[i]
        row.extend([None] * (max(j, k) + 1 - len(row)))
        row[j] = p.decision
        if p.decision_reason and (row[k] is None or str(row[k]).strip() == ""):
            row[k] = p.decision_reason
        changed = True
    if not changed:
        return sheet
    return SourceSheet(sheet.title, tuple(tuple(r) for r in rows), sheet.header_row)
