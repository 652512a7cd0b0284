"""Applying one ``Scenarios`` row to a :class:`~optimizer.data.Pipeline` (SPEC §1 ``Scenarios``).

A scenario column is one of three kinds, each applied with :func:`dataclasses.replace` on the
frozen data:

=====================  =====================================================================
column                 effect
=====================  =====================================================================
a ``Fund`` parameter   that parameter takes the scenario's value
``sector:<s>:<col>``   that value of sector ``s`` on ``Sectors`` (a sector not listed there
                       gets a row of its own, defaults elsewhere)
``npv_scale:<s>``      every project of sector ``s`` has ``npv``, ``npv_low`` and ``npv_high``
                       multiplied by the value (a negative scale swaps low and high)
=====================  =====================================================================

A blank cell leaves the base value. After the values are applied, the checks that tie values
together (``min_share`` ≤ ``max_share``, ``jp_content_min`` ≤ ``jp_content_max``, start
windows inside the planning horizon, risk present when a risk cap is on, weights for the
``weighted`` objective) are run again on the scenario's data: a value that is valid alone but
not in context makes the scenario invalid, located at its ``Scenarios`` row and column.

The carried input sheets (``Fund``, ``Sectors``, ``Projects``) are edited the same way, so a
scenario's output workbook is itself the valid input of that scenario.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, fields, replace
from typing import Any

from ..data import Fund, Pipeline, Problem, Project, Scenario, SectorLimit, SourceSheet
from ..workbook.schema import FUND, PROJECTS, SCENARIOS, SECTORS, find_sheet, normalize

FUND_FIELDS = tuple(f.name for f in fields(Fund))
SECTOR_FIELDS = tuple(f.name for f in fields(SectorLimit) if f.name not in ("sector", "row"))


@dataclass(frozen=True)
class Change:
    """One non-blank cell of a Scenarios row, parsed."""

    kind: str          # "fund", "sector" or "npv_scale"
    sector: str | None
    column: str | None  # Fund parameter or Sectors column; None for npv_scale
    value: Any
    header: str        # the column header as typed on the Scenarios sheet

    @property
    def label(self) -> str:
        if self.kind == "fund":
            return self.column
        if self.kind == "npv_scale":
            return f"npv_scale:{self.sector}"
        return f"sector:{self.sector}:{self.column}"

    def describe(self) -> str:
        v = self.value
        shown = f"{v:g}" if isinstance(v, float) else ("yes" if v is True else "no" if v is False else str(v))
        return f"{self.label} = {shown}"


def parse_key(key: str) -> tuple[str, str | None, str | None]:
    """A ``Scenario.values`` key -> (kind, sector, column)."""
    if key in FUND_FIELDS:
        return "fund", None, key
    kind, _, rest = key.partition(":")
    if kind == "npv_scale":
        return "npv_scale", rest.strip(), None
    if kind == "sector":
        target = None
        if rest.startswith("("):
            try:
                target = ast.literal_eval(rest)
            except (ValueError, SyntaxError):
                target = None
        if not (isinstance(target, tuple) and len(target) == 2):
            name, _, col = rest.rpartition(":")
            target = (name, col)
        sector, column = (str(x).strip() for x in target)
        column = next((c for c in SECTOR_FIELDS if normalize(c) == normalize(column)), column)
        return "sector", sector, column
    raise ValueError(f"unknown scenario column {key!r}")


def scenario_headers(table) -> dict[tuple, str]:
    """(kind, sector, column) -> the header as typed, from the raw Scenarios table."""
    out: dict[tuple, str] = {}
    if table is None:
        return out
    for key, (_, header) in table.columns.items():
        name = next((f for f in FUND_FIELDS if normalize(f) == key), None)
        if name:
            out[("fund", None, name)] = header
            continue
        parts = [p.strip() for p in str(header).split(":")]
        if len(parts) == 2 and normalize(parts[0]) == "npvscale":
            out[("npv_scale", parts[1], None)] = header
        elif len(parts) == 3 and normalize(parts[0]) == "sector":
            column = next((c for c in SECTOR_FIELDS if normalize(c) == normalize(parts[2])), parts[2])
            out[("sector", parts[1], column)] = header
    return out


def changes_of(scenario: Scenario, headers: dict[tuple, str] | None = None) -> list[Change]:
    out = []
    for key, value in scenario.values:
        kind, sector, column = parse_key(key)
        header = (headers or {}).get((kind, sector, column)) or key
        out.append(Change(kind, sector, column, value, header))
    return out


def describe(changes: list[Change]) -> str:
    return "; ".join(c.describe() for c in changes) or "(no changes)"


# --------------------------------------------------------------------------- applying
def apply_scenario(base: Pipeline, scenario: Scenario, *, headers: dict[tuple, str] | None = None,
                   sheet: str = SCENARIOS.name, raw_tables: dict | None = None
                   ) -> tuple[Pipeline, list[Problem]]:
    """The base pipeline with the scenario's values in place, and the problems they cause.

    ``raw_tables`` (the reader's raw tables of the base workbook) lets the carried input sheets
    be edited too; without it the output carries the base sheets.
    """
    changes = changes_of(scenario, headers)
    fund_values = {c.column: c.value for c in changes if c.kind == "fund"}
    fund = replace(base.fund, **fund_values) if fund_values else base.fund

    sectors = list(base.sectors)
    for c in changes:
        if c.kind != "sector":
            continue
        k = next((i for i, s in enumerate(sectors) if s.sector == c.sector), None)
        if k is None:
            sectors.append(SectorLimit(c.sector))
            k = len(sectors) - 1
        value = c.value
        if c.column in ("min_projects", "max_projects") and value is not None:
            value = int(value)
        if c.column in ("speculative", "leverage_allowed"):
            value = bool(value)
        sectors[k] = replace(sectors[k], **{c.column: value})

    scales: dict[str, float] = {}
    for c in changes:
        if c.kind == "npv_scale":
            scales[c.sector] = scales.get(c.sector, 1.0) * float(c.value)
    projects = tuple(_scaled(p, scales[p.sector]) if p.sector in scales else p for p in base.projects)

    data = replace(base, fund=fund, sectors=tuple(sectors), projects=projects, scenarios=())
    problems = check_context(data, changes, scenario.row, sheet)
    if base.source is not None and not problems:
        sheets = edit_sheets(base.source.sheets, changes, data, raw_tables or {})
        data = replace(data, source=replace(base.source, sheets=sheets))
    return data, problems


def _scaled(p: Project, s: float) -> Project:
    lo = None if p.npv_low is None else p.npv_low * s
    hi = None if p.npv_high is None else p.npv_high * s
    if s < 0:
        lo, hi = hi, lo
    return replace(p, npv=p.npv * s, npv_low=lo, npv_high=hi)


def check_context(data: Pipeline, changes: list[Change], row: int, sheet: str = SCENARIOS.name) -> list[Problem]:
    """Values valid alone but not together, located at the scenario's row and the column that set them."""
    problems: list[Problem] = []
    by_fund = {c.column: c for c in changes if c.kind == "fund"}
    by_sector = {(c.sector, c.column): c for c in changes if c.kind == "sector"}

    def add(change: Change, message: str) -> None:
        problems.append(Problem(sheet, row, change.header, change.value, message))

    def first(*names: str) -> Change | None:
        return next((by_fund[n] for n in names if n in by_fund), None)

    fund = data.fund
    lo, hi = fund.jp_content_min, fund.jp_content_max
    c = first("jp_content_min", "jp_content_max")
    if c and lo is not None and hi is not None and lo > hi:
        add(c, f"jp_content_min {lo:g} is above jp_content_max {hi:g} in this scenario")
    c = first("objective", "objective_weights")
    if c and fund.objective == "weighted" and not fund.objective_weights:
        add(c, "objective weighted needs objective_weights, e.g. npv=1, strategic=0.2")
    c = first("planning_start", "horizon_years")
    if c:
        last = fund.planning_start + fund.horizon_years - 1
        outside = [p for p in data.projects
                   if any(y is not None and not fund.planning_start <= y <= last
                          for y in (p.earliest_start, p.latest_start))]
        if outside:
            listed = ", ".join(f"{p.project_id} (Projects row {p.row})" for p in outside[:5])
            more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
            add(c, f"the planning horizon {fund.planning_start}–{last} leaves out the start window of "
                   f"{listed}{more}")
    c = first("max_avg_risk")
    if c and fund.max_avg_risk is not None:
        missing = [p for p in data.projects if p.risk is None]
        if missing:
            listed = ", ".join(f"{p.project_id} (Projects row {p.row})" for p in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            add(c, f"a risk cap needs a risk on every project; none is given for {listed}{more}")
    for s in data.sectors:
        pair = by_sector.get((s.sector, "min_share")) or by_sector.get((s.sector, "max_share"))
        if pair and s.min_share is not None and s.max_share is not None and s.min_share > s.max_share:
            add(pair, f"min_share {s.min_share:g} of sector {s.sector} is above its max_share "
                      f"{s.max_share:g} in this scenario")
        pair = by_sector.get((s.sector, "min_projects")) or by_sector.get((s.sector, "max_projects"))
        if (pair and s.min_projects is not None and s.max_projects is not None
                and s.min_projects > s.max_projects):
            add(pair, f"min_projects {s.min_projects} of sector {s.sector} is above its max_projects "
                      f"{s.max_projects} in this scenario")
    for c in changes:
        if c.kind == "npv_scale" and not any(p.sector == c.sector for p in data.projects):
            add(c, f"no project is in sector {c.sector}")
        if c.kind == "sector" and c.column not in SECTOR_FIELDS:
            add(c, f"unknown Sectors column {c.column}")
    return problems


# --------------------------------------------------------------------------- carried sheets
def edit_sheets(sheets: tuple[SourceSheet, ...], changes: list[Change], data: Pipeline,
                raw_tables: dict) -> tuple[SourceSheet, ...]:
    """The input sheets as this scenario's own input: Fund, Sectors and Projects values set,
    the Scenarios sheet left out."""
    out = [s for s in sheets if find_sheet(s.title) is not SCENARIOS]
    fund_changes = [c for c in changes if c.kind == "fund"]
    sector_changes = [c for c in changes if c.kind == "sector"]
    scaled = {c.sector for c in changes if c.kind == "npv_scale"}
    if fund_changes:
        _edit_fund(out, fund_changes, raw_tables.get("Fund"))
    if sector_changes:
        _edit_sectors(out, sector_changes, raw_tables.get("Sectors"), data)
    if scaled:
        _edit_projects(out, data, scaled, raw_tables.get("Projects"))
    return tuple(out)


def _cell_value(v: Any) -> Any:
    if isinstance(v, bool):
        return "yes" if v else "no"
    return v


def _grid(sheet: SourceSheet) -> list[list]:
    return [list(r) for r in sheet.rows]


def _set(grid: list[list], r: int, c: int, v: Any) -> None:
    while len(grid) <= r:
        grid.append([])
    row = grid[r]
    while len(row) <= c:
        row.append(None)
    row[c] = v


def _index(sheets: list[SourceSheet], schema) -> int | None:
    return next((i for i, s in enumerate(sheets) if find_sheet(s.title) is schema), None)


def _edit_fund(sheets: list[SourceSheet], changes: list[Change], table) -> None:
    k = _index(sheets, FUND)
    if k is None or table is None:
        rows = [("parameter", "value")] + [(c.column, _cell_value(c.value)) for c in changes]
        sheets.append(SourceSheet(FUND.name, tuple(rows), 1))
        return
    sheet = sheets[k]
    grid = _grid(sheet)
    pj = table.columns.get("parameter", (0, ""))[0]
    vj = table.columns.get("value", (1, ""))[0]
    where = {normalize(cells[pj]): excel_row for excel_row, cells in table.rows
             if pj < len(cells) and cells[pj] is not None}
    for c in changes:
        excel_row = where.get(normalize(c.column))
        if excel_row is None:
            excel_row = len(grid) + 1
            _set(grid, excel_row - 1, pj, c.column)
        _set(grid, excel_row - 1, vj, _cell_value(c.value))
    sheets[k] = replace(sheet, rows=tuple(tuple(r) for r in grid))


def _edit_sectors(sheets: list[SourceSheet], changes: list[Change], table, data: Pipeline) -> None:
    k = _index(sheets, SECTORS)
    if k is None or table is None or table.header_row is None:
        # a new Sectors sheet must list every sector a project is in
        columns = list(dict.fromkeys(c.column for c in changes))
        names = list(dict.fromkeys([c.sector for c in changes] + [p.sector for p in data.projects]))
        rows = [["sector", *columns]] + [[n] + [None] * len(columns) for n in names]
        for c in changes:
            rows[1 + names.index(c.sector)][1 + columns.index(c.column)] = _cell_value(c.value)
        if k is not None:
            sheets.pop(k)
        sheets.append(SourceSheet(SECTORS.name, tuple(tuple(r) for r in rows), 1))
        return
    sheet = sheets[k]
    grid = _grid(sheet)
    header = table.header_row - 1
    sj = table.columns["sector"][0]
    where = {str(cells[sj]).strip(): excel_row for excel_row, cells in table.rows
             if sj < len(cells) and cells[sj] is not None}
    cols = {key: j for key, (j, _) in table.columns.items()}
    width = max(len(grid[header]), max(cols.values()) + 1)
    for c in changes:
        j = cols.get(c.column)
        if j is None:
            j = width
            width += 1
            cols[c.column] = j
            _set(grid, header, j, c.column)
        excel_row = where.get(c.sector)
        if excel_row is None:
            excel_row = len(grid) + 1
            where[c.sector] = excel_row
            _set(grid, excel_row - 1, sj, c.sector)
        _set(grid, excel_row - 1, j, _cell_value(c.value))
    sheets[k] = replace(sheet, rows=tuple(tuple(r) for r in grid))


def _edit_projects(sheets: list[SourceSheet], data: Pipeline, scaled: set[str], table) -> None:
    k = _index(sheets, PROJECTS)
    if k is None or table is None or table.header_row is None:
        return
    sheet = sheets[k]
    grid = _grid(sheet)
    cols = [(name, table.columns[name][0]) for name in ("npv", "npv_low", "npv_high") if name in table.columns]
    for p in data.projects:
        if p.sector not in scaled or not 0 < p.row <= len(grid):
            continue
        for name, j in cols:
            v = getattr(p, name)
            if v is not None:
                _set(grid, p.row - 1, j, v)
    sheets[k] = replace(sheet, rows=tuple(tuple(r) for r in grid))
