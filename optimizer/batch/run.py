"""``fundopt batch``: many scenarios of one workbook, or every workbook of a folder.

The parent reads and validates the input, applies each ``Scenarios`` row
(:mod:`optimizer.batch.scenarios`), and sends each runnable scenario — its
:class:`~optimizer.data.Pipeline` and :class:`~optimizer.solve.SolverSettings`, plain data — to
:func:`optimizer.batch.executors.map_tasks` (this process, local processes or a Dask cluster).
A worker returns plain tables: the :class:`~optimizer.report.Report` of the run, or an error
record (infeasible with its diagnosis, time limit, invalid). The parent writes each
scenario's workbook atomically, then journals it (:mod:`optimizer.batch.journal`), and at the
end writes the comparison workbook from the journal records.

Every scenario ends as one record (plain JSON): the key figures, the selected projects and
their stakes, the output file and any errors. A scenario found invalid before solving is
never sent to a worker; its record carries its located errors.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..data import Pipeline, Problem
from ..errors import FundoptError, InfeasibleError, InputError, TimeLimitError
from ..solve import SolverSettings
from .journal import Journal, scenario_hash

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
BASE = "base"
COMPARISON_NAME = "comparison.xlsx"
_RESERVED = {"comparison", "journal"}
_TMP = re.compile(r"^\..+\.tmp$")


@dataclass
class Entry:
    """One scenario of the batch as planned by the parent."""

    name: str
    source: str
    changes: str = ""
    row: int | None = None
    data: Pipeline | None = None
    settings: SolverSettings | None = None
    problems: list[dict] = field(default_factory=list)
    hash: str = ""
    output: str | None = None

    @property
    def invalid(self) -> bool:
        return bool(self.problems)


@dataclass(frozen=True)
class Task:
    """What a worker receives: plain data, never a model."""

    name: str
    data: Pipeline
    settings: SolverSettings


@dataclass
class BatchResult:
    mode: str                     # "workbook" or "folder"
    target: Path
    folder: Path
    output: Path                  # the comparison workbook
    records: list[dict]           # one per scenario, in order
    skipped: list[dict]           # folder mode: files that are not workbooks
    ran: int = 0                  # scenarios solved in this invocation
    reused: int = 0               # scenarios taken from the journal (--resume)
    seconds: float = 0.0
    unit: str = ""
    workers: int = 1
    scheduler: str | None = None
    #: (project_id, name, sector) of the base pipeline, for the selection matrix
    projects: list = field(default_factory=list)
    options: dict = field(default_factory=dict)

    @property
    def base(self) -> dict | None:
        return self.records[0] if self.mode == "workbook" and self.records else None

    def count(self, *statuses: str) -> int:
        return sum(1 for r in self.records if r["status"] in statuses)


# --------------------------------------------------------------------------- the worker
def solve_task(task: Task) -> dict:
    """Run one scenario; every outcome comes back as data (a worker never raises)."""
    from ..runner import solve_pipeline

    start = time.perf_counter()
    out: dict[str, Any] = {"name": task.name}
    try:
        _, report = solve_pipeline(task.data, task.settings)
        out.update(status=report.status, report=report)
    except InfeasibleError as exc:
        out.update(status="infeasible", message=str(exc), diagnosis=exc.diagnosis)
    except TimeLimitError as exc:
        out.update(status="time_limit", message=str(exc))
    except InputError as exc:
        out.update(status="invalid", message=str(exc), problems=[p.as_dict() for p in exc.problems])
    except FundoptError as exc:
        out.update(status=getattr(exc, "status", "error"), message=str(exc))
    except Exception as exc:  # noqa: BLE001 - one bad scenario must not stop the batch
        out.update(status="error", message=f"internal error ({type(exc).__name__}: {exc})")
    out["seconds"] = time.perf_counter() - start
    out["solved_by"] = f"{socket.gethostname()}:{os.getpid()}"
    return out


# --------------------------------------------------------------------------- planning
def default_output(target: Path) -> Path:
    stem = target.stem if target.is_file() else (target.resolve().name or "folder")
    return Path("outputs") / f"{stem}-batch"


def _bad(column: str, value, message: str) -> InputError:
    return InputError([Problem("command line", None, column, value, message)])


def _options(overrides: dict | None) -> dict:
    return {k: v for k, v in (overrides or {}).items() if v is not None}


def _settings(data: Pipeline, overrides: dict | None) -> SolverSettings:
    return SolverSettings.from_fund(data.fund, **_options(overrides))


def plan_workbook(path: Path, overrides: dict | None) -> tuple[list[Entry], str]:
    """The base run and every Scenarios row; raise InputError when the workbook itself is bad."""
    from ..workbook.reader import read_raw
    from ..workbook.validate import build_pipeline
    from .scenarios import apply_scenario, describe, changes_of, scenario_headers

    raw = read_raw(path)
    base, problems = build_pipeline(raw)
    table = raw.tables.get("Scenarios")
    title = table.title if table is not None else "Scenarios"
    own = [p for p in problems if p.sheet == title]
    if len(own) < len(problems):
        raise InputError(problems)
    options = _options(overrides)
    by_row: dict[int, list[Problem]] = {}
    whole_sheet: list[Problem] = []  # the Scenarios sheet itself is unusable (no header, no scenario column)
    for p in own:
        j = _header_index(table, p.column) if table is not None and p.column is not None else None
        if p.row is not None and table is not None and p.row == table.header_row and j is not None:
            # a bad column: every scenario that fills it is invalid there
            for excel_row, cells in table.rows:
                if j < len(cells) and cells[j] is not None and str(cells[j]).strip():
                    by_row.setdefault(excel_row, []).append(
                        Problem(p.sheet, excel_row, p.column, cells[j], p.message))
        elif not p.row or (table is not None and p.row == table.header_row):
            whole_sheet.append(p)
        else:
            by_row.setdefault(p.row, []).append(p)
    if whole_sheet:
        raise InputError(whole_sheet)

    entries = [Entry(BASE, raw.name, "the workbook as is", None, base,
                     _settings(base, overrides),
                     hash=scenario_hash(raw.sha256, BASE, [], options))]
    headers = scenario_headers(table)
    named_rows = set()
    for sc in base.scenarios:
        named_rows.add(sc.row)
        changes = changes_of(sc, headers)
        text = describe(changes)
        bad = list(by_row.get(sc.row, []))
        name = sc.scenario
        if name.strip().lower() == BASE:
            bad.append(Problem(title, sc.row, table.column_name("scenario") if table else "scenario", name,
                               "the name base is kept for the workbook as is; give this scenario another name"))
            name = f"{name} (row {sc.row})"
        data = None
        if not bad:
            data, bad = apply_scenario(base, sc, headers=headers, sheet=title, raw_tables=raw.tables)
        entry = Entry(name, raw.name, text, sc.row, None if bad else data,
                      None if bad else _settings(data, overrides),
                      problems=[p.as_dict() for p in bad],
                      hash=scenario_hash(raw.sha256, name, [list(v) for v in sc.values], options))
        entries.append(entry)
    # rows that did not become scenarios at all (no name, a name used twice)
    scol = table.columns.get("scenario") if table is not None else None
    for excel_row in sorted(r for r in by_row if r not in named_rows and r):
        cells = next((c for r, c in table.rows if r == excel_row), ())
        cell = cells[scol[0]] if scol and scol[0] < len(cells) else None
        label = f"{str(cell).strip()} (row {excel_row})" if cell is not None and str(cell).strip() \
            else f"(row {excel_row})"
        entries.append(Entry(label, raw.name, "", excel_row, problems=[p.as_dict() for p in by_row[excel_row]]))
    entries.sort(key=lambda e: (e.row is not None, e.row or 0))
    return entries, base.fund.currency_unit


def _check_scheduler(address: str) -> None:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - dask is a dependency
        raise _bad("--scheduler", address, "Dask distributed is not installed") from None
    from distributed.comm import parse_address
    from distributed.comm.registry import get_backend

    try:  # a scheme Dask does not know: say so before a client is half made
        get_backend(parse_address(address, strict=False)[0])
    except ValueError as exc:
        raise _bad("--scheduler", address, f"not a Dask scheduler address ({exc})") from None
    try:
        Client(address, timeout="10s", set_as_default=False).close()
    except (OSError, TimeoutError, ValueError) as exc:
        raise _bad("--scheduler", address, f"no Dask scheduler answers at this address ({exc})") from None


def _header_index(table, header) -> int | None:
    for j, h in table.columns.values():
        if str(h).strip() == str(header).strip():
            return j
    return None


def plan_folder(folder: Path, out_dir: Path, overrides: dict | None) -> tuple[list[Entry], list[dict], str]:
    """Every .xlsx/.xlsm workbook of the folder (not its subfolders); the other files are skipped."""
    from ..workbook.validate import read_pipeline

    entries, skipped = [], []
    options = _options(overrides)
    unit = ""
    out_resolved = out_dir.resolve()
    for path in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        name = path.name
        if name.startswith("~$") or _TMP.match(name):
            continue  # Excel's lock files and unfinished temporary files
        if path.is_dir():
            if path.resolve() != out_resolved:
                skipped.append({"file": name, "reason": "a folder (folders are not searched)"})
            continue
        if path.suffix.lower() not in WORKBOOK_SUFFIXES:
            skipped.append({"file": name, "reason": "not an .xlsx or .xlsm workbook"})
            continue
        digest = _sha256(path)
        try:
            data = read_pipeline(path)
        except InputError as exc:
            entries.append(Entry(name, name, "", problems=[p.as_dict() for p in exc.problems],
                                 hash=scenario_hash(digest, name, [], options)))
            continue
        unit = unit or data.fund.currency_unit
        entries.append(Entry(name, name, "the workbook as is", None, data, _settings(data, overrides),
                             hash=scenario_hash(digest, name, [], options)))
    return entries, skipped, unit


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def slug(name: str) -> str:
    """A file name of the scenario: letters, digits, ``.``, ``_`` and ``-`` only."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return text[:60].rstrip("-.") or "scenario"


def assign_outputs(entries: list[Entry], mode: str) -> None:
    """A unique file name per runnable scenario (unique ignoring case), the same on every run."""
    used = set(_RESERVED)
    for e in entries:
        if e.invalid:
            continue
        base = slug(Path(e.name).stem if mode == "folder" else e.name)
        if mode == "folder":
            base += "-portfolio"
        name, n = base, 2
        while name.lower() in used:
            name = f"{base}-{n}"
            n += 1
        used.add(name.lower())
        e.output = name + ".xlsx"


# --------------------------------------------------------------------------- records
_FIGURES = (  # record key -> Summary item
    ("commitments", "commitments"), ("equity", "equity"), ("debt", "debt"),
    ("leverage", "leverage (debt / equity)"), ("npv", "npv of portfolio"), ("average_risk", "average risk"),
    ("us_satisfaction", "us satisfaction"), ("jp_satisfaction", "japan satisfaction"),
)


def _summary(report) -> dict[str, Any]:
    return {str(k).strip().lower(): v for k, v in report.summary}


def record_of(entry: Entry, result: dict | None) -> dict:
    """The plain record of one scenario: what the journal keeps and the comparison shows."""
    rec: dict[str, Any] = {"scenario": entry.name, "hash": entry.hash, "source": entry.source,
                           "changes": entry.changes, "row": entry.row, "status": "invalid",
                           "objective": None, "mip_gap": None, "objective_kind": None,
                           "figures": {}, "selected": [], "output": None, "errors": list(entry.problems),
                           "message": None, "diagnosis": [], "seconds": None}
    if result is None:
        n = len(entry.problems)
        rec["message"] = f"{n} problem{'s' if n != 1 else ''} in the input"
        return rec
    rec["status"] = result["status"]
    rec["seconds"] = result.get("seconds")
    rec["solved_by"] = result.get("solved_by")
    rec["message"] = result.get("message")
    rec["diagnosis"] = list(result.get("diagnosis") or [])
    rec["errors"] += list(result.get("problems") or [])
    report = result.get("report")
    if report is not None:
        s = _summary(report)
        rec["objective"] = report.objective
        rec["mip_gap"] = report.gap
        rec["objective_kind"] = s.get("objective")
        rec["figures"] = {k: s.get(label) for k, label in _FIGURES}
        rec["figures"]["projects_selected"] = len(report.selected)
        rec["selected"] = [[r["project_id"], r.get("name"), r.get("sector"), r.get("stake")]
                           for r in report.portfolio]
    if rec["status"] in ("optimal", "feasible", "infeasible"):
        rec["output"] = entry.output
    return rec


def _write_output(entry: Entry, result: dict, folder: Path) -> None:
    """The scenario's workbook: the ranked portfolio, or the diagnosis of an infeasible one."""
    from .. import __version__
    from ..report import Report
    from ..workbook.writer import write_diagnosis, write_report

    path = folder / entry.output
    data = entry.data
    tag = [("scenario", entry.name), ("scenario changes", entry.changes)]
    report = result.get("report")
    if report is not None:
        report.summary = list(report.summary) + tag
        report.run = list(report.run) + tag
        write_report(report, data, path)
    elif result["status"] == "infeasible":
        rep = Report("infeasible", None, None, None, [])
        rep.summary = [("status", "infeasible"), ("message", result.get("message") or ""),
                       ("conflicting rules", len(result.get("diagnosis") or [])),
                       ("currency unit", data.fund.currency_unit)] + tag
        rep.run = [("fundopt version", __version__), ("input file", data.source.name if data.source else ""),
                   ("input SHA-256", data.source.sha256 if data.source else ""),
                   ("time: solve and diagnosis (s)", round(result.get("seconds") or 0.0, 4))] + tag
        write_diagnosis(rep, list(result.get("diagnosis") or []), data, path)


def _lean(data: Pipeline) -> Pipeline:
    """What a worker needs: the data without the carried sheets (only the parent writes)."""
    if data.source is None or not data.source.sheets:
        return data
    return replace(data, source=replace(data.source, sheets=()))


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Temporary files left by an interrupted write (``.<name>.<random>.tmp``)."""
    removed = []
    if not folder.is_dir():
        return removed
    for p in folder.iterdir():
        if p.is_file() and _TMP.match(p.name):
            try:
                p.unlink()
                removed.append(p)
            except OSError:  # pragma: no cover - another process holds it; harmless
                pass
    return removed


# --------------------------------------------------------------------------- the batch
def run_batch(target: str | Path, output: str | Path | None = None, *, workers: int = 1,
              scheduler: str | None = None, resume: bool = False, overrides: dict | None = None,
              progress: Callable[[str, int, int | None], None] | None = None,
              on_record: Callable[[dict], None] | None = None) -> BatchResult:
    """Run every scenario; raise InputError (nothing written) when the input or command line is bad."""
    from ..workbook.comparison_writer import write_comparison
    from .executors import map_tasks

    start = time.perf_counter()
    target = Path(target)
    if workers < 1:
        raise _bad("--workers", workers, "must be 1 or more")
    if scheduler is not None and not str(scheduler).strip():
        raise _bad("--scheduler", scheduler, "give the address of a running dask scheduler, e.g. tcp://host:8786")
    if not target.exists():
        raise InputError([Problem(target.name or str(target), None, None, str(target), "file or folder not found")])
    mode = "folder" if target.is_dir() else "workbook"
    folder = Path(output) if output is not None else default_output(target)
    if folder.exists() and not folder.is_dir():
        raise _bad("-o", str(folder), "the output must be a folder; a file of that name is in the way")
    if folder.suffix.lower() in WORKBOOK_SUFFIXES:
        raise _bad("-o", str(folder), "the output of a batch is a folder (one workbook per scenario), "
                                      "not a workbook")
    if mode == "folder" and folder.exists() and folder.resolve() == target.resolve():
        raise _bad("-o", str(folder), "the output folder must not be the input folder (its workbooks "
                                      "would be read as inputs next time)")
    if scheduler:
        _check_scheduler(scheduler)  # before anything is written: a mistyped address must not cost the journal
    if progress:
        progress("reading", 0, None)
    skipped: list[dict] = []
    if mode == "workbook":
        entries, unit = plan_workbook(target, overrides)
    else:
        entries, skipped, unit = plan_folder(target, folder, overrides)
        if not entries:
            raise InputError([Problem(target.name, None, None, str(target),
                                      "the folder holds no .xlsx or .xlsm workbook")])
    assign_outputs(entries, mode)

    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    journal = Journal(folder)
    done = journal.load() if resume else {}
    if not resume:
        journal.start_afresh()

    records: dict[int, dict] = {}
    todo: list[int] = []
    for k, e in enumerate(entries):
        if e.invalid:
            records[k] = record_of(e, None)
            continue
        rec = done.get((e.name, e.hash))
        if rec is not None and (rec.get("output") is None or (folder / rec["output"]).is_file()):
            records[k] = rec
            continue
        todo.append(k)
    reused = sum(1 for k in records if not entries[k].invalid)
    for k in sorted(records):
        if on_record and not entries[k].invalid:
            on_record(records[k])

    # local worker processes are fresh interpreters running only this batch: one HiGHS thread
    # each, so that N workers use N cores. Dask workers and this process keep HiGHS's own
    # choice: HiGHS fails a solve whose thread count differs from the one its scheduler started
    # with in that process, and those processes run other solves too.
    own_threads = workers > 1 and not scheduler and len(todo) > 1
    tasks = [Task(entries[k].name, _lean(entries[k].data),
                  replace(entries[k].settings, threads=1) if own_threads and entries[k].settings.threads is None
                  else entries[k].settings) for k in todo]
    step = (lambda d, t: progress("scenarios", d, t)) if progress else None
    for i, result in map_tasks(solve_task, tasks, workers=workers, scheduler=scheduler, progress=step):
        k = todo[i]
        e = entries[k]
        if result["status"] in ("optimal", "feasible", "infeasible"):
            _write_output(e, result, folder)
        rec = record_of(e, result)
        journal.append(rec)
        records[k] = rec
        if on_record:
            on_record(rec)

    ordered = [records[k] for k in range(len(entries))]
    comparison = folder / COMPARISON_NAME
    base = entries[0].data if mode == "workbook" else None
    result = BatchResult(mode, target, folder, comparison, ordered, skipped, ran=len(todo), reused=reused,
                         unit=unit, workers=workers, scheduler=scheduler, options=_options(overrides),
                         projects=[(p.project_id, p.name, p.sector) for p in base.projects] if base else [])
    result.seconds = time.perf_counter() - start
    if progress:
        progress("writing the comparison", 0, None)
    write_comparison(result, comparison)
    return result
