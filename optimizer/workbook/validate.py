"""From raw tables to a validated :class:`~optimizer.data.Pipeline`, collecting every problem.

Each check is a pure function that appends :class:`~optimizer.data.Problem` records (sheet,
Excel row, column, value found, message). All of them run; the caller fails once with the
whole list, so an analyst fixes the workbook in one pass.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import fields, replace

from ..data import (BudgetYear, Fund, Investor, Pipeline, Problem, Project, Rule, Scenario, SectorLimit,
                    Source)
from ..errors import InputError
from .coerce import coerce, coerce_column, is_blank
from .reader import RawTable, RawWorkbook, collector_paused, read_raw
from .schema import (BUDGET, CAPEX_SCHEDULE, FUND, INVESTORS, PROJECTS, RULES, SCENARIOS, SCHEDULE_COLUMN,
                     SECTORS, find_sheet, normalize)


def read_pipeline(path, *, planning_start_default: int | None = None, quick: bool = False) -> Pipeline:
    """Read and validate a workbook; raise :class:`InputError` with every problem found.
    ``quick``: see :func:`~optimizer.workbook.reader.read_raw`."""
    with collector_paused():
        raw = read_raw(path, quick)
        pipeline, problems = build_pipeline(raw)
    if problems:
        raise InputError(problems)
    return pipeline


def read_pipeline_deferred(path, meanwhile=None, freeze: bool = False) -> tuple[Pipeline, "PendingCheck | None"]:
    """Read and validate as ``read_pipeline(path, quick=True)`` does, without waiting for the
    child's check of the quick read (reader.read_raw_deferred): (pipeline, pending), where
    ``pending`` (None when nothing is left to check) must be asked before the pipeline's results
    are given (:meth:`PendingCheck.same`). A workbook with problems is refused only once the
    check has answered, as ``read_pipeline`` refuses it. ``meanwhile``: see
    :func:`~optimizer.workbook.reader.read_raw_deferred`; ``freeze``: see
    :func:`~optimizer.workbook.reader.collector_paused`."""
    from .reader import read_raw_deferred

    with collector_paused(freeze):
        raw, pending = read_raw_deferred(path, meanwhile)
        pipeline, problems = build_pipeline(raw)
    if pending is not None and problems:
        if not pending.same():  # openpyxl reads it otherwise: its problems, or its pipeline
            return read_pipeline(path), None
        pending = None
    if problems:
        raise InputError(problems)
    return pipeline, None if pending is None else PendingCheck(path, pipeline, pending)


class PendingCheck:
    """The check of a pipeline read quickly (:func:`read_pipeline_deferred`), still running."""

    def __init__(self, path, pipeline: Pipeline, pending):
        self.path, self.pipeline, self.pending = path, pipeline, pending

    def same(self) -> bool:
        """Wait for the check: True when openpyxl reads the same pipeline, False when it reads
        another (``read_pipeline(path)`` then gives it); raises the refusal (InputError) when
        openpyxl cannot open the workbook."""
        if self.pending.same():
            return True
        with collector_paused():  # openpyxl reads it here, as read_pipeline would have
            again, problems = build_pipeline(read_raw(self.path))
        return not problems and again == self.pipeline

    def abandon(self) -> None:
        self.pending.abandon()


def validate_path(path, warnings: list[Problem] | None = None) -> list[Problem]:
    """Every problem of the workbook; numerics warnings of a valid one are added to ``warnings``."""
    with collector_paused():
        try:
            raw = read_raw(path)
        except InputError as exc:
            return exc.problems
        pipeline, problems = build_pipeline(raw)
    if warnings is not None and not problems:
        warnings.extend(scale_warnings(pipeline))
    return problems


# --------------------------------------------------------------------------- records
def _records(table: RawTable | None, problems: list[Problem]) -> list[tuple[int, dict]]:
    """Coerce every known column of every row; a bad cell becomes a located problem.

    Each record is a dict of the row's known columns: a blank cell is absent, a bad (or
    missing required) one is ``_INVALID``. Several checks walk the same table (Projects three
    times), so it is coerced once and kept on it; each call adds the table's cell problems to
    ``problems`` as a fresh pass would.
    """
    coerced = _coerced(table, problems)
    return [] if coerced is None else coerced.records


def _coerced(table: RawTable | None, problems: list[Problem]) -> "_Coerced | None":
    """The table's coerced columns (see _records), worked out once; its cell problems are
    added to ``problems``."""
    if table is None or table.header_row is None:
        return None
    if table.records is None:
        table.records = _Coerced(table)
    problems.extend(table.records.problems)
    return table.records


class _Coerced:
    """A table coerced a column at a time: ``columns`` maps each known column to its typed
    values, one per row (None where blank, ``_INVALID`` where bad or missing but required);
    ``problems`` are in row order, then column order, as a row-by-row pass finds them;
    ``bad_rows`` are the indexes of the rows holding an ``_INVALID``."""

    def __init__(self, table: RawTable):
        sheet = table.schema
        rows = table.rows
        found: list[tuple[int, Problem]] = []  # (row index × columns + column index, problem)
        self.columns: dict[str, list] = {}
        self.excel_rows = [row[0] for row in rows]
        known = [col for col in sheet.columns if col.name in table.columns]
        width = len(known)
        lengths = {len(cells) for _, cells in rows}
        # the reader lays every row out to one width: the columns are the rows transposed
        by_column = list(zip(*[cells for _, cells in rows])) if len(lengths) == 1 else None
        for k, col in enumerate(known):
            j, header = table.columns[col.name]
            if by_column is not None and j < len(by_column):
                values = by_column[j]
            else:
                values = [cells[j] if j < len(cells) else None for _, cells in rows]
            out, errors = coerce_column(values, col)
            name = col.name
            for i, err in errors.items():
                found.append((i * width + k, Problem(table.title, rows[i][0], header, values[i], f"{name} {err}")))
                out[i] = _INVALID
            if col.required and not (sheet is PROJECTS and name == "capex"):
                for i in [i for i, v in enumerate(out) if v is None]:
                    found.append((i * width + k, Problem(table.title, rows[i][0], header, None,
                                                         f"{name} is required")))
                    out[i] = _INVALID
            self.columns[name] = out
        found.sort(key=lambda f: f[0])
        self.problems = [p for _, p in found]
        self.bad_rows = {i // max(width, 1) for i, _ in found}
        self._records: list[tuple[int, dict]] | None = None

    def column(self, name: str) -> list:
        """A column's values; all None for a column the sheet does not have."""
        values = self.columns.get(name)
        return [None] * len(self.excel_rows) if values is None else values

    @property
    def records(self) -> list[tuple[int, dict]]:
        if self._records is None:
            names = list(self.columns)
            if names:
                self._records = [(row, {n: v for n, v in zip(names, values) if v is not None})
                                 for row, values in zip(self.excel_rows, zip(*self.columns.values()))]
            else:
                self._records = [(row, {}) for row in self.excel_rows]
        return self._records


class _Invalid:
    def __repr__(self) -> str:
        return "<invalid>"


_INVALID = _Invalid()


def _missing_columns(table: RawTable | None, problems: list[Problem], skip: tuple[str, ...] = ()) -> None:
    if table is None or table.header_row is None:
        return
    for col in table.schema.columns:
        if col.required and col.name not in table.columns and col.name not in skip:
            problems.append(Problem(table.title, table.header_row, col.name, None,
                                    f"required column {col.name} is missing from the header row"))


def _ok(rec: dict, *names: str) -> bool:
    return all(rec.get(n) is not None and rec.get(n) is not _INVALID for n in names)


def _val(rec: dict, name: str, default=None):
    v = rec.get(name)
    return default if v is None or v is _INVALID else v


# --------------------------------------------------------------------------- fund
FUND_FIELDS = {f.name for f in fields(Fund)}


def _suggest(word: str, options) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.75)
    return f"; did you mean {match[0]}?" if match else ""


def parse_fund_value(name: str, value, problems: list[Problem], sheet: str, row: int | None, column: str):
    """Coerce one Fund parameter (also used for Scenarios columns)."""
    col = FUND.column(name)
    v, err = coerce(value, col)
    if err:
        problems.append(Problem(sheet, row, column, value, f"{name} {err}"))
        return _INVALID
    if name == "objective_weights" and v is not None:
        weights, werr = parse_weights(v)
        if werr:
            problems.append(Problem(sheet, row, column, value, werr))
            return _INVALID
    return v


def parse_weights(text: str) -> tuple[dict[str, float], str | None]:
    """``"npv=1, strategic=0.2"`` -> {"npv": 1.0, "strategic": 0.2}."""
    from .coerce import parse_number

    allowed = ("npv", "strategic", "jobs")
    out: dict[str, float] = {}
    for part in str(text).replace(";", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            return {}, f"objective_weights must look like npv=1, strategic=0.2 (found '{part.strip()}')"
        key, num = (s.strip() for s in part.split("=", 1))
        key = key.lower()
        if key not in allowed:
            return {}, f"objective_weights names unknown term '{key}'; use {', '.join(allowed)}"
        w, err, _ = parse_number(num)
        if err:
            return {}, f"objective_weights: the weight of {key} {err}"
        out[key] = w
    if not out:
        return {}, "objective_weights is empty"
    return out, None


def _fund(table: RawTable | None, problems: list[Problem]) -> Fund:
    if table is None:
        return Fund()
    pcol, vcol = table.columns.get("parameter"), table.columns.get("value")
    if pcol is None or vcol is None:
        problems.append(Problem(table.title, table.header_row, "parameter" if pcol is None else "value", None,
                                "the Fund sheet needs the columns parameter and value"))
        return Fund()
    values: dict = {}
    seen: dict[str, int] = {}
    for excel_row, cells in table.rows:
        name_cell = cells[pcol[0]] if pcol[0] < len(cells) else None
        value = cells[vcol[0]] if vcol[0] < len(cells) else None
        if is_blank(name_cell):
            if not is_blank(value):
                problems.append(Problem(table.title, excel_row, pcol[1], value,
                                        "a value is given without a parameter name"))
            continue
        key = normalize(name_cell)
        name = next((f for f in FUND_FIELDS if normalize(f) == key), None)
        if name is None:
            problems.append(Problem(table.title, excel_row, pcol[1], name_cell,
                                    "unknown Fund parameter" + _suggest(str(name_cell).strip().lower(), FUND_FIELDS)))
            continue
        if name in seen:
            problems.append(Problem(table.title, excel_row, pcol[1], name_cell,
                                    f"parameter {name} is given twice (also row {seen[name]})"))
            continue
        seen[name] = excel_row
        v = parse_fund_value(name, value, problems, table.title, excel_row, vcol[1])
        if v is not None and v is not _INVALID:
            values[name] = v
    fund = Fund(**values)
    if fund.jp_content_min is not None and fund.jp_content_max is not None and fund.jp_content_min > fund.jp_content_max:
        problems.append(Problem(table.title, seen.get("jp_content_min"), vcol[1], fund.jp_content_min,
                                f"jp_content_min is above jp_content_max ({fund.jp_content_max:g})"))
    if fund.objective == "weighted" and not fund.objective_weights and "objective_weights" not in seen:
        problems.append(Problem(table.title, seen.get("objective"), vcol[1], "weighted",
                                "objective weighted needs objective_weights, e.g. npv=1, strategic=0.2"))
    return fund


# --------------------------------------------------------------------------- projects
def _schedules(table: RawTable | None, problems: list[Problem]) -> dict[str, tuple[int, tuple[float, ...]]]:
    """project_id -> (Excel row, spending per project year); ``()`` when the row is invalid."""
    if table is None or table.header_row is None:
        return {}
    ycols: list[tuple[int, int, str]] = []  # (year index, column index, header)
    for key, (j, header) in table.columns.items():
        if key == "project_id":
            continue
        m = SCHEDULE_COLUMN.match(key)
        if not m or int(m.group(1)) < 1:
            problems.append(Problem(table.title, table.header_row, header, header,
                                    "schedule columns must be named Y1, Y2, … (project year)"))
            continue
        ycols.append((int(m.group(1)), j, header))
    ycols.sort()
    pcol = table.columns.get("project_id")
    if pcol is None:
        return {}
    out: dict[str, tuple[int, tuple[float, ...]]] = {}
    rows = table.rows
    pids, _ = coerce_column(_column_cells(rows, pcol[0]), CAPEX_SCHEDULE.column("project_id"))
    years = []  # (year, header, cells, amounts, errors), coerced a column at a time
    for y, j, header in ycols:
        cells = _column_cells(rows, j)
        years.append((y, header, cells, *coerce_column(cells, _SCHEDULE_MONEY)))
    length = max((y for y, _, _ in ycols), default=0)
    for i, (excel_row, _) in enumerate(rows):
        pid = pids[i]
        if pid is None:
            problems.append(Problem(table.title, excel_row, pcol[1], None, "project_id is required"))
            continue
        amounts = [0.0] * length
        bad = False
        for y, header, cells, values, errors in years:
            if errors and i in errors:
                problems.append(Problem(table.title, excel_row, header, cells[i], f"{header} {errors[i]}"))
                bad = True
            else:
                v = values[i]
                if v is not None:
                    amounts[y - 1] = v
        while amounts and amounts[-1] == 0:
            amounts.pop()
        if pid in out:
            problems.append(Problem(table.title, excel_row, pcol[1], pid,
                                    f"project {pid} has a second schedule row (first on row {out[pid][0]})"))
            continue
        if not bad and sum(amounts) <= 0:
            problems.append(Problem(table.title, excel_row, pcol[1], pid,
                                    f"the schedule of {pid} adds up to {sum(amounts):g}; capex must be > 0"))
            bad = True
        out[pid] = (excel_row, tuple(amounts) if not bad else ())
    return out


def _column_cells(rows: list[tuple[int, tuple]], j: int) -> list:
    """Column ``j`` of a table's rows (None where a row is shorter)."""
    return [cells[j] if j < len(cells) else None for _, cells in rows]


def _plain_constructor(cls, order: tuple[str, ...]):
    """``cls(*values)`` (the values in the order of ``order``) for a frozen dataclass, made
    without its ``__init__``: the same object.

    A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``: for
    Project's 27 fields that is most of the time spent building 10,000 projects. Where the
    class does more than set its fields (a ``__post_init__``, slots, a field not in
    ``__init__``) or has other fields than ``order``, the class itself is called.
    """
    names = tuple(f.name for f in fields(cls))
    if names != order or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__") \
            or not all(f.init for f in fields(cls)):
        return lambda values: cls(**dict(zip(order, values)))
    new = object.__new__

    def construct(values: tuple):
        obj = new(cls)
        obj.__dict__.update(zip(names, values))
        return obj

    return construct


#: the Projects columns in the order _projects unpacks them
_PROJECT_COLUMNS = tuple(c.name for c in PROJECTS.columns)
_CAPEX, _MIN_STAKE, _MAX_STAKE = (_PROJECT_COLUMNS.index(n) for n in ("capex", "min_stake", "max_stake"))
assert _PROJECT_COLUMNS == (
    "project_id", "name", "sector", "capex", "npv", "npv_low", "npv_high", "risk", "strategic_score", "us_score",
    "jp_score", "us_approval", "jp_approval", "jp_content", "state", "leverage_eligible", "min_stake", "max_stake",
    "earliest_start", "latest_start", "duration", "esg_score", "jobs", "decision", "decision_reason"), \
    "the Projects columns changed: update _projects, which unpacks them by position"

_new_project = _plain_constructor(Project, (
    "project_id", "name", "sector", "capex", "npv", "schedule", "row", "npv_low", "npv_high", "risk",
    "strategic_score", "us_score", "jp_score", "us_approval", "jp_approval", "jp_content", "state",
    "leverage_eligible", "min_stake", "max_stake", "earliest_start", "latest_start", "duration", "esg_score",
    "jobs", "decision", "decision_reason"))

from .schema import Column as _Column  # noqa: E402

_SCHEDULE_MONEY = _Column("Y", "money", "", min=0)


def _projects(table: RawTable | None, schedules, fund: Fund, problems: list[Problem],
              schedule_table: RawTable | None = None) -> list[Project]:
    if table is None:
        problems.append(Problem("Projects", None, None, None,
                                "the workbook has no Projects sheet (one row per candidate project)"))
        return []
    # capex may live on CapexSchedule instead: then a missing capex column is checked per row
    _missing_columns(table, problems, skip=("capex",) if schedules else ())
    coerced = _coerced(table, problems)
    if table.header_row is not None and not coerced.excel_rows:
        problems.append(Problem(table.title, table.header_row + 1, None, None,
                                "no projects: the Projects sheet has a header but no rows"))
    projects: list[Project] = []
    first_row: dict[str, int] = {}
    col = table.column_name
    title = table.title
    has_capex = "capex" in table.columns or bool(schedules)
    first_year = fund.planning_start
    last_year = fund.planning_start + fund.horizon_years - 1
    if coerced is None:
        rows, bad_rows, excel_rows = [], set(), []
    else:
        rows, bad_rows, excel_rows = zip(*[coerced.column(n) for n in _PROJECT_COLUMNS]), coerced.bad_rows, \
            coerced.excel_rows
    inv = _INVALID
    for index, row in enumerate(rows):
        excel_row = excel_rows[index]
        # a cell's value: None where blank, _INVALID where bad (already reported)
        raw_capex, raw_min, raw_max = row[_CAPEX], row[_MIN_STAKE], row[_MAX_STAKE]
        invalid = index in bad_rows
        if invalid:  # a bad cell reads as blank from here on
            row = [None if v is inv else v for v in row]
        (pid, name, sector, capex, npv, lo, hi, risk, strategic, us_score, jp_score, us_approval, jp_approval,
         jp_content, state, leverage, min_stake, max_stake, es, ls, duration, esg, jobs, decision, reason) = row
        if pid is not None:
            if pid in first_row:
                problems.append(Problem(title, excel_row, col("project_id"), pid,
                                        f"duplicate project_id {pid} (first on row {first_row[pid]})"))
                continue
            first_row[pid] = excel_row
        schedule = schedules.get(pid, (None, None))[1] if pid is not None else None
        if duration is None:
            duration = 1
        if schedule is None:
            if raw_capex is None and has_capex:
                problems.append(Problem(title, excel_row, col("capex"), None,
                                        "capex is required (or give the project a CapexSchedule row)"))
            elif capex is not None:
                schedule = tuple([capex / duration] * duration)
        elif schedule:
            capex = sum(schedule)
        max_given = max_stake is not None
        if min_stake is None:
            min_stake = 1.0
        if max_stake is None:
            max_stake = 1.0
        if raw_max is not None and raw_min is None:
            # only max_stake given: all or nothing at that share (never "min 1 > max")
            min_stake = max_stake
        if raw_min is not inv and raw_max is not inv and min_stake > max_stake:
            problems.append(Problem(title, excel_row, col("min_stake"), min_stake,
                                    f"min_stake is above max_stake ({max_stake:g})"))
        if max_stake <= 0 and max_given:
            problems.append(Problem(title, excel_row, col("max_stake"), max_stake,
                                    "max_stake must be above 0 (use decision = exclude to leave a project out)"))
        if es is not None and ls is not None and es > ls:
            problems.append(Problem(title, excel_row, col("earliest_start"), es,
                                    f"earliest_start is after latest_start ({ls})"))
        if (es is not None and not first_year <= es <= last_year) or \
                (ls is not None and not first_year <= ls <= last_year):
            for field_name, year in (("earliest_start", es), ("latest_start", ls)):
                if year is not None and not first_year <= year <= last_year:
                    problems.append(Problem(title, excel_row, col(field_name), year,
                                            f"{field_name} is outside the planning horizon "
                                            f"{first_year}–{last_year}"))
        if npv is not None and lo is not None and lo > npv:
            problems.append(Problem(title, excel_row, col("npv_low"), lo, f"npv_low is above npv ({npv:g})"))
        if npv is not None and hi is not None and hi < npv:
            problems.append(Problem(title, excel_row, col("npv_high"), hi, f"npv_high is below npv ({npv:g})"))
        if invalid or pid is None or name is None or sector is None or npv is None or not schedule:
            continue  # a missing column or a bad cell: already reported
        # Project's fields in their order (see _plain_constructor)
        projects.append(_new_project((
            pid, name, sector, float(capex), float(npv), tuple(map(float, schedule)), excel_row, lo, hi, risk,
            strategic, us_score, jp_score, "pending" if us_approval is None else us_approval,
            "pending" if jp_approval is None else jp_approval, jp_content, state,
            False if leverage is None else bool(leverage), float(min_stake), float(max_stake), es, ls,
            int(duration), esg, jobs, "auto" if decision is None else decision, reason)))
    stitle = schedule_table.title if schedule_table is not None else CAPEX_SCHEDULE.name
    scol = schedule_table.column_name("project_id") if schedule_table is not None else "project_id"
    for pid, (srow, _) in schedules.items():
        if pid not in first_row:
            problems.append(Problem(stitle, srow, scol, pid,
                                    f"project {pid} is not on the Projects sheet"))
    return projects


# --------------------------------------------------------------------------- other sheets
def _sectors(table: RawTable | None, problems: list[Problem]) -> list[SectorLimit]:
    if table is None:
        return []
    _missing_columns(table, problems)
    out, first = [], {}
    col = table.column_name
    for excel_row, rec in _records(table, problems):
        name = _val(rec, "sector")
        if name is None:
            continue
        if name in first:
            problems.append(Problem(table.title, excel_row, col("sector"), name,
                                    f"sector {name} is listed twice (first on row {first[name]})"))
            continue
        first[name] = excel_row
        lo, hi = _val(rec, "min_share"), _val(rec, "max_share")
        if lo is not None and hi is not None and lo > hi:
            problems.append(Problem(table.title, excel_row, col("min_share"), lo,
                                    f"min_share is above max_share ({hi:g})"))
        nlo, nhi = _val(rec, "min_projects"), _val(rec, "max_projects")
        if nlo is not None and nhi is not None and nlo > nhi:
            problems.append(Problem(table.title, excel_row, col("min_projects"), nlo,
                                    f"min_projects is above max_projects ({nhi})"))
        if any(v is _INVALID for v in rec.values()):
            continue
        out.append(SectorLimit(name, excel_row, lo, hi, nlo, nhi, bool(_val(rec, "speculative", False)),
                               bool(_val(rec, "leverage_allowed", True))))
    return out


def _budget(table: RawTable | None, problems: list[Problem]) -> list[BudgetYear]:
    if table is None:
        return []
    _missing_columns(table, problems)
    out, first = [], {}
    for excel_row, rec in _records(table, problems):
        year = _val(rec, "year")
        if year is None:
            continue
        if year in first:
            problems.append(Problem(table.title, excel_row, table.column_name("year"), year,
                                    f"year {year} is listed twice (first on row {first[year]})"))
            continue
        first[year] = excel_row
        if any(v is _INVALID for v in rec.values()):
            continue
        out.append(BudgetYear(year, excel_row, _val(rec, "capital_limit"), _val(rec, "debt_limit")))
    return sorted(out, key=lambda b: b.year)


def _investors(table: RawTable | None, problems: list[Problem]) -> list[Investor]:
    if table is None:
        return []
    _missing_columns(table, problems)
    out, first = [], {}
    col = table.column_name
    for excel_row, rec in _records(table, problems):
        name = _val(rec, "investor")
        if name is None:
            continue
        if name in first:
            problems.append(Problem(table.title, excel_row, col("investor"), name,
                                    f"investor {name} is listed twice (first on row {first[name]})"))
            continue
        first[name] = excel_row
        lo, hi = _val(rec, "min_commitment", 0.0), _val(rec, "max_commitment")
        if hi is not None and lo > hi:
            problems.append(Problem(table.title, excel_row, col("min_commitment"), lo,
                                    f"min_commitment is above max_commitment ({hi:g})"))
        if any(v is _INVALID for v in rec.values()):
            continue
        nation = _val(rec, "nation")
        if nation is not None and normalize(nation) in ("us", "usa", "unitedstates"):
            nation = "US"
        elif nation is not None and normalize(nation) in ("jp", "japan", "jpn"):
            nation = "JP"
        out.append(Investor(name, excel_row, _val(rec, "type", "institutional"), nation, float(lo), hi,
                            float(_val(rec, "required_return", 0.0)), _val(rec, "max_avg_risk")))
    return out


def _rules(table: RawTable | None, ids: set[str], problems: list[Problem]) -> list[Rule]:
    if table is None:
        return []
    _missing_columns(table, problems)
    out = []
    col = table.column_name
    for excel_row, rec in _records(table, problems):
        kind, text = _val(rec, "rule"), _val(rec, "projects")
        if kind is None or text is None:
            continue
        members = tuple(s.strip() for s in str(text).replace(";", ",").split(",") if s.strip())
        bad = False
        for pid in members:
            if pid not in ids:
                problems.append(Problem(table.title, excel_row, col("projects"), text,
                                        f"rule names project {pid}, which is not on the Projects sheet"))
                bad = True
        dup = [p for p, n in Counter(members).items() if n > 1]
        if dup:
            problems.append(Problem(table.title, excel_row, col("projects"), text,
                                    f"rule names {dup[0]} more than once"))
            bad = True
        k = _val(rec, "k")
        if kind in ("requires", "excludes", "together") and len(members) < 2:
            problems.append(Problem(table.title, excel_row, col("projects"), text,
                                    f"a {kind} rule needs at least two projects"))
            bad = True
        if kind in ("at_most", "at_least"):
            if rec.get("k") is None:
                problems.append(Problem(table.title, excel_row, col("k"), None, f"an {kind} rule needs k"))
                bad = True
            elif k is not None and k > len(members) and kind == "at_least":
                problems.append(Problem(table.title, excel_row, col("k"), k,
                                        f"at_least {k} of {len(members)} projects can never hold"))
                bad = True
        if bad or any(v is _INVALID for v in rec.values()):
            continue
        out.append(Rule(kind, members, excel_row, k))
    return out


def _scenarios(table: RawTable | None, sectors: set[str], problems: list[Problem]) -> list[Scenario]:
    if table is None or table.header_row is None:
        return []
    _missing_columns(table, problems)
    known = []  # (column index, header, kind, target)
    sector_cols = {c.name for c in SECTORS.columns if c.name != "sector"}
    for key, (j, header) in table.columns.items():
        if key == "scenario":
            continue
        name = next((f for f in FUND_FIELDS if normalize(f) == key), None)
        if name:
            known.append((j, header, "fund", name))
            continue
        parts = [p.strip() for p in header.split(":")]
        if len(parts) == 2 and normalize(parts[0]) == "npvscale":
            if sectors and parts[1] not in sectors:
                problems.append(Problem(table.title, table.header_row, header, header,
                                        f"sector {parts[1]} is not used by any project"))
            known.append((j, header, "npv_scale", parts[1]))
            continue
        if len(parts) == 3 and normalize(parts[0]) == "sector":
            column = next((c for c in sector_cols if normalize(c) == normalize(parts[2])), None)
            if column is None:
                problems.append(Problem(table.title, table.header_row, header, header,
                                        f"unknown Sectors column {parts[2]}"))
                continue
            if sectors and parts[1] not in sectors:
                problems.append(Problem(table.title, table.header_row, header, header,
                                        f"sector {parts[1]} is not used by any project"))
            known.append((j, header, "sector", (parts[1], column)))
            continue
        problems.append(Problem(table.title, table.header_row, header, header,
                                "unknown scenario column: use a Fund parameter, sector:<name>:<column> "
                                "or npv_scale:<sector>" + _suggest(key, FUND_FIELDS)))
    out, first = [], {}
    scol = table.columns["scenario"] if "scenario" in table.columns else None
    if scol is None:
        return []
    for excel_row, cells in table.rows:
        name_cell = cells[scol[0]] if scol[0] < len(cells) else None
        if is_blank(name_cell):
            problems.append(Problem(table.title, excel_row, scol[1], None, "scenario name is required"))
            continue
        name = str(name_cell).strip()
        if name in first:
            problems.append(Problem(table.title, excel_row, scol[1], name,
                                    f"scenario {name} is listed twice (first on row {first[name]})"))
            continue
        first[name] = excel_row
        values = []
        for j, header, kind, target in known:
            cell = cells[j] if j < len(cells) else None
            if is_blank(cell):
                continue
            if kind == "fund":
                v = parse_fund_value(target, cell, problems, table.title, excel_row, header)
            elif kind == "npv_scale":
                v, err = coerce(cell, _Column("npv_scale", "number", ""))
                if err:
                    problems.append(Problem(table.title, excel_row, header, cell, f"npv scale {err}"))
                    v = _INVALID
            else:
                v, err = coerce(cell, SECTORS.column(target[1]))
                if err:
                    problems.append(Problem(table.title, excel_row, header, cell, f"{target[1]} {err}"))
                    v = _INVALID
            if v is not _INVALID:
                values.append((f"{kind}:{target}" if kind != "fund" else target, v))
        out.append(Scenario(name, excel_row, tuple(values)))
    return out


# --------------------------------------------------------------------------- numerics
#: money spanning more than this ratio (largest / smallest non-zero amount) gets a warning
SCALE_RATIO_WARN = 1e8
#: an amount more than this many times the pipeline's median amount is an error: HiGHS fails
#: (or, further out, answers wrongly) on coefficients this far from the rest of the model
SCALE_RATIO_MAX = 1e10
#: non-zero money below this is within the solver's feasibility tolerance (HiGHS mip_feasibility_tolerance)
TINY_MONEY = 1e-6


def _money(pipeline: Pipeline, schedules: dict | None = None) -> list[tuple[float, str, int | None, str]]:
    """Every non-zero amount of money as (|amount|, sheet, Excel row, column); with the
    CapexSchedule rows (``schedules``: project_id -> (Excel row, amounts)) a scheduled project's
    capex is located at its schedule cells."""
    amounts: list[tuple[float, str, int | None, str]] = []
    append = amounts.append

    def add(value, sheet: str, row: int | None, column: str) -> None:
        if value is not None and value != 0:
            append((abs(float(value)), sheet, row, column))

    schedules = schedules or {}
    years = _YEAR_COLUMNS
    for p in pipeline.projects:
        row = p.row
        scheduled = schedules.get(p.project_id)
        if scheduled and scheduled[1]:
            srow = scheduled[0]
            if len(scheduled[1]) > len(years):
                years = tuple(f"Y{k}" for k in range(1, len(scheduled[1]) + 1))
            for k, x in enumerate(scheduled[1]):
                if x != 0:
                    append((abs(float(x)), "CapexSchedule", srow, years[k]))
        elif p.capex != 0:  # never None
            append((abs(float(p.capex)), "Projects", row, "capex"))
        if p.npv != 0:
            append((abs(float(p.npv)), "Projects", row, "npv"))
        if p.npv_low is not None and p.npv_low != 0:
            append((abs(float(p.npv_low)), "Projects", row, "npv_low"))
        if p.npv_high is not None and p.npv_high != 0:
            append((abs(float(p.npv_high)), "Projects", row, "npv_high"))
    add(pipeline.fund.equity_capital, "Fund", None, "equity_capital")
    for b in pipeline.budget:
        add(b.capital_limit, "Budget", b.row, "capital_limit")
        add(b.debt_limit, "Budget", b.row, "debt_limit")
    for i in pipeline.investors:
        add(i.min_commitment, "Investors", i.row, "min_commitment")
        add(i.max_commitment, "Investors", i.row, "max_commitment")
    return amounts


_YEAR_COLUMNS = tuple(f"Y{k}" for k in range(1, 101))


def _money_amounts(pipeline: Pipeline, schedules: dict | None = None) -> list[float]:
    """The amounts of ``_money`` without their places (the same numbers, a few times faster)."""
    schedules = schedules or {}
    amounts: list[float] = []
    append, extend = amounts.append, amounts.extend
    for p in pipeline.projects:
        scheduled = schedules.get(p.project_id)
        if scheduled and scheduled[1]:
            extend(map(abs, map(float, filter(None, scheduled[1]))))  # filter(None): the amounts != 0
        elif p.capex != 0:
            append(abs(float(p.capex)))
        if p.npv != 0:
            append(abs(float(p.npv)))
        if p.npv_low is not None and p.npv_low != 0:
            append(abs(float(p.npv_low)))
        if p.npv_high is not None and p.npv_high != 0:
            append(abs(float(p.npv_high)))
    others = [pipeline.fund.equity_capital]
    for b in pipeline.budget:
        others += (b.capital_limit, b.debt_limit)
    for i in pipeline.investors:
        others += (i.min_commitment, i.max_commitment)
    extend([abs(float(v)) for v in others if v is not None and v != 0])
    return amounts


def scale_problems(pipeline: Pipeline, schedules: dict | None = None) -> list[Problem]:
    """Errors: amounts so far above the pipeline's typical amount that the solver cannot be trusted."""
    values = _money_amounts(pipeline, schedules)
    if not values:
        return []
    typical = sorted(values)[len(values) // 2]
    limit = SCALE_RATIO_MAX * typical
    if max(values) <= limit:
        return []  # the usual case: nothing to locate
    amounts = _money(pipeline, schedules)
    unit = pipeline.fund.currency_unit
    out = []
    # only the amounts past the limit are reported, largest first: sort just those
    for value, sheet, row, column in sorted([a for a in amounts if a[0] > limit], reverse=True):
        if value <= SCALE_RATIO_MAX * typical:
            break
        out.append(Problem(sheet, row, column, value,
                           f"{column} is {value:.3g} {unit}, {value / typical:.1e} times the pipeline's typical "
                           f"amount ({typical:.3g}): money more than {SCALE_RATIO_MAX:.0e} apart cannot be solved "
                           "reliably; check the amount and the currency unit"))
        if len(out) == 5:
            break
    return out


def scale_warnings(pipeline: Pipeline) -> list[Problem]:
    """Warnings (not errors) about money the solver may not tell apart: a range of amounts wider
    than 1e8, or amounts so small that the solver's tolerances treat them as 0.

    Results are still exact for such pipelines as far as the solver can tell; the warning says
    where they would stop being so, and how to fix it (a currency unit nearer the amounts).
    """
    unit = pipeline.fund.currency_unit
    values = _money_amounts(pipeline)  # the usual case, nothing to warn about, told without the places
    if not values or (max(values) / min(values) <= SCALE_RATIO_WARN and min(values) >= TINY_MONEY):
        return []
    amounts = _money(pipeline)
    out: list[Problem] = []
    small, large = min(amounts), max(amounts)
    if large[0] / small[0] > SCALE_RATIO_WARN:
        where = f"{large[1]} row {large[2]}, {large[3]}" if large[2] is not None else f"{large[1]}, {large[3]}"
        out.append(Problem(small[1], small[2], small[3], small[0],
                           f"money spans {small[0]:.3g} to {large[0]:.3g} {unit} (the largest on {where}), "
                           f"a ratio of {large[0] / small[0]:.1e}, more than {SCALE_RATIO_WARN:.0e}: the solver's "
                           "tolerances are relative, so the smallest amounts may be blurred; check them, or "
                           "run the smallest and largest projects as separate pipelines"))
    tiny = sorted(a for a in amounts if a[0] < TINY_MONEY)
    for value, sheet, row, column in tiny[:5]:
        out.append(Problem(sheet, row, column, value,
                           f"{column} is {value:.3g} {unit}, below the solver's tolerance of {TINY_MONEY:g}: "
                           "it may count as 0; use a smaller currency unit"))
    if len(tiny) > 5:
        out.append(Problem(tiny[5][1], None, None, None,
                           f"{len(tiny) - 5} more amounts are below the solver's tolerance of {TINY_MONEY:g}"))
    return out


# --------------------------------------------------------------------------- cross-sheet
def _required_for_rules(pipeline: Pipeline, ptable: RawTable | None, problems: list[Problem]) -> None:
    """Risk is required on every project when a risk cap is on (a blank risk has no safe meaning)."""
    if ptable is None:
        return
    why = None
    if pipeline.fund.max_avg_risk is not None:
        why = "Fund max_avg_risk is set"
    else:
        capped = next((i for i in pipeline.investors if i.max_avg_risk is not None), None)
        if capped is not None:
            why = f"investor {capped.investor} has a max_avg_risk"
    if why is None:
        return
    for p in pipeline.projects:
        if p.risk is None:
            problems.append(Problem(ptable.title, p.row, ptable.column_name("risk"), None,
                                    f"risk is required because {why}"))


def _cross_checks(pipeline: Pipeline, tables: dict[str, RawTable], problems: list[Problem]) -> None:
    ptable, stable = tables.get("Projects"), tables.get("Sectors")
    _required_for_rules(pipeline, ptable, problems)
    if ptable is None or stable is None:
        return
    # every sector named on Sectors counts, even on a row with another problem (reported there)
    listed = {rec["sector"] for _, rec in _records(stable, []) if _ok(rec, "sector")}
    if not listed:
        return
    # every project row naming a sector is checked, even one with another problem: one pass
    coerced = _coerced(ptable, [])
    if coerced is None:
        return
    for row, sector in zip(coerced.excel_rows, coerced.column("sector")):
        if sector is not None and sector is not _INVALID and sector not in listed:
            problems.append(Problem(ptable.title, row, ptable.column_name("sector"), sector,
                                    f"sector {sector} is not on the Sectors sheet" + _suggest(sector, listed)))


def _apply_decision_edits(projects: list[Project], edits, problems: list[Problem]) -> list[Project]:
    """The round trip: a decision changed on an output's Portfolio or Rejected sheet wins.

    Each such row carries, hidden, the decision it was written with. Where the visible
    decision differs from it, the analyst edited it there, and it replaces the Projects
    sheet's; where the Projects sheet was also changed to something else, the two edits
    conflict and the analyst is asked to pick one.
    """
    if not edits:
        return projects
    decision = PROJECTS.column("decision")
    by_id = {p.project_id: i for i, p in enumerate(projects)}
    out = list(projects)
    for sheet, row, pid_cell, cell, written_cell in edits:
        pid, _ = coerce(pid_cell, PROJECTS.column("project_id"))
        if pid not in by_id:
            continue
        value, err = coerce(cell, decision)
        if err:
            problems.append(Problem(sheet, row, "decision", cell, f"decision {err}"))
            continue
        value = value or "auto"
        written = coerce(written_cell, decision)[0] or "auto"
        if value == written:
            continue
        p = out[by_id[pid]]
        if p.decision not in (written, value):
            problems.append(Problem(sheet, row, "decision", cell,
                                    f"decision of {pid} was changed here to '{value}' and on the Projects sheet "
                                    f"(row {p.row}) to '{p.decision}'; keep one of the two"))
            continue
        out[by_id[pid]] = replace(p, decision=value,
                                  decision_reason=p.decision_reason or f"set on the {sheet} sheet, row {row}")
    return out


def build_pipeline(raw: RawWorkbook) -> tuple[Pipeline, list[Problem]]:
    problems = list(raw.problems)
    t = raw.tables
    fund = _fund(t.get("Fund"), problems)
    schedules = _schedules(t.get("CapexSchedule"), problems)
    projects = _projects(t.get("Projects"), schedules, fund, problems, t.get("CapexSchedule"))
    projects = _apply_decision_edits(projects, raw.decision_edits, problems)
    ids = {p.project_id for p in projects}
    used_sectors = {p.sector for p in projects}
    if t.get("Projects") is not None:
        # ids and sectors of rows that failed other checks still exist for the rules' and scenarios' sake
        coerced = _coerced(t["Projects"], [])
        if coerced is not None:
            ids.update(v for v in coerced.column("project_id") if v is not None and v is not _INVALID)
            used_sectors.update(v for v in coerced.column("sector") if v is not None and v is not _INVALID)
    sectors = _sectors(t.get("Sectors"), problems)
    budget = _budget(t.get("Budget"), problems)
    investors = _investors(t.get("Investors"), problems)
    rules = _rules(t.get("Rules"), ids, problems)
    scenarios = _scenarios(t.get("Scenarios"), used_sectors, problems)
    ptable = t.get("Projects")
    approvals = tuple(n for n, c in (("US", "us_approval"), ("JP", "jp_approval"))
                      if ptable is not None and c in ptable.columns)
    extra = tuple(h for _, h in ptable.extra) if ptable is not None else ()
    pipeline = Pipeline(
        projects=tuple(projects), fund=fund, sectors=tuple(sectors), budget=tuple(budget),
        investors=tuple(investors), rules=tuple(rules), scenarios=tuple(scenarios),
        approval_columns=approvals, sheets_present=tuple(t), extra_columns=extra,
        source=Source(raw.name, raw.sha256, tuple(raw.carried)),
    )
    _cross_checks(pipeline, t, problems)
    problems.extend(scale_problems(pipeline, schedules))
    problems.sort(key=lambda p: (_sheet_order(p.sheet), p.sheet, p.row or 0))
    return pipeline, problems


_SHEET_ORDER = {s.name: i for i, s in enumerate((PROJECTS, CAPEX_SCHEDULE, FUND, SECTORS, BUDGET,
                                                 INVESTORS, RULES, SCENARIOS))}


def _sheet_order(title: str) -> int:
    """Problems are listed in sheet order; a sheet titled " projects" sorts as Projects."""
    schema = find_sheet(title)
    return _SHEET_ORDER.get(schema.name if schema is not None else title, 99)
