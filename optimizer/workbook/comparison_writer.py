"""Writing the comparison workbook of ``fundopt batch`` from its plain scenario records.

Sheets, in order, each with its header in row 1:

* ``Comparison`` — one row per scenario: ``scenario``, ``source``, ``changes``, ``status``,
  ``objective``, ``mip_gap``, ``commitments``, ``equity``, ``debt``, ``leverage``, ``npv``,
  ``average_risk``, ``us_satisfaction``, ``jp_satisfaction``, ``projects_selected``,
  ``output`` (the scenario's workbook), ``errors``, ``run_time_s``; beside it native charts
  of the objective by scenario and of commitments and debt by scenario;
* ``Selection`` — project × solved scenario: the stake where the project is funded (1 = all
  of it), blank where it is out; ``selected_in`` counts the scenarios that fund it;
* ``Changes`` — each solved scenario against the base (in a folder, against the first
  workbook that solved): projects added and removed, stakes changed, objective change;
* ``Invalid`` — one row per located error of each invalid scenario or workbook;
* ``Skipped`` — files of the folder that are not workbooks;
* ``Run`` — version, input, counts by status, workers, options, time.

Safety as in :mod:`optimizer.workbook.writer`: text is always written as text (never a
formula), and the file is written to a temporary file and renamed into place.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from .writer import GAP_FORMAT, MONEY_FORMAT, SHARE_FORMAT, _CellWriter, _fit, display_width, write_atomic

SOLVED = ("optimal", "feasible")

COMPARISON_COLUMNS = ("scenario", "source", "changes", "status", "objective", "mip_gap", "commitments",
                      "equity", "debt", "leverage", "npv", "average_risk", "us_satisfaction", "jp_satisfaction",
                      "projects_selected", "output", "errors", "run_time_s")
CHANGES_COLUMNS = ("scenario", "compared_with", "status", "objective", "objective_change",
                   "objective_change_pct", "added_count", "removed_count", "added", "removed", "stake_changed")
INVALID_COLUMNS = ("scenario", "source", "sheet", "row", "column", "value", "message")
SKIPPED_COLUMNS = ("file", "reason")

_MONEY = {"objective", "commitments", "equity", "debt", "npv", "objective_change"}
_SHARE = {"leverage", "us_satisfaction", "jp_satisfaction", "objective_change_pct"}
_RISK_FORMAT = "0.00"


def write_comparison(batch, path: str | os.PathLike) -> None:
    """Write the comparison workbook of a batch atomically; raise OutputError on failure."""
    write_atomic(path, lambda wb: _ComparisonWriter(wb, batch).write())


def error_text(rec: dict) -> str:
    """The errors of one scenario in one cell."""
    parts = []
    for e in rec.get("errors") or []:
        where = str(e.get("sheet") or "")
        if e.get("row") is not None:
            where += f" row {e['row']}"
        if e.get("column"):
            where += f", column {e['column']}"
        shown = "" if e.get("value") is None else f" (found {e['value']!r})"
        parts.append(f"{where}: {e.get('message')}{shown}")
    if rec.get("status") not in SOLVED + ("invalid",) and rec.get("message"):
        parts.append(str(rec["message"]))
    for d in rec.get("diagnosis") or []:
        extra = "" if d.get("shortfall") is None else f" (short by {d['shortfall']:,.6g})"
        parts.append(f"{d.get('rule')}: {d.get('detail')}{extra}")
    return "; ".join(parts)


def comparison_rows(records: Sequence[dict]) -> list[dict]:
    rows = []
    for rec in records:
        fig = rec.get("figures") or {}
        rows.append({
            "scenario": rec["scenario"], "source": rec.get("source"), "changes": rec.get("changes"),
            "status": rec["status"], "objective": rec.get("objective"), "mip_gap": rec.get("mip_gap"),
            **{k: fig.get(k) for k in ("commitments", "equity", "debt", "leverage", "npv", "average_risk",
                                       "us_satisfaction", "jp_satisfaction", "projects_selected")},
            "output": rec.get("output"), "errors": error_text(rec) or None,
            "run_time_s": None if rec.get("seconds") is None else round(rec["seconds"], 3),
        })
    return rows


def changes_rows(records: Sequence[dict], reference: dict | None) -> list[dict]:
    if reference is None:
        return []
    ref = {pid: stake for pid, _, _, stake in reference["selected"]}
    rows = []
    for rec in records:
        if rec is reference or rec["status"] not in SOLVED:
            continue
        mine = {pid: stake for pid, _, _, stake in rec["selected"]}
        added = [p for p in mine if p not in ref]
        removed = [p for p in ref if p not in mine]
        changed = [f"{p} {ref[p]:.0%}→{mine[p]:.0%}" for p in mine
                   if p in ref and abs((mine[p] or 0) - (ref[p] or 0)) > 1e-6]
        obj, base = rec.get("objective"), reference.get("objective")
        delta = None if obj is None or base is None else obj - base
        rows.append({"scenario": rec["scenario"], "compared_with": reference["scenario"], "status": rec["status"],
                     "objective": obj, "objective_change": delta,
                     "objective_change_pct": delta / abs(base) if delta is not None and base else None,
                     "added_count": len(added), "removed_count": len(removed),
                     "added": ", ".join(added) or None, "removed": ", ".join(removed) or None,
                     "stake_changed": ", ".join(changed) or None})
    return rows


def reference_of(batch) -> dict | None:
    """The base run in a workbook batch; in a folder, the first workbook that solved."""
    for rec in batch.records:
        if batch.mode == "workbook":
            return rec if rec["status"] in SOLVED else None
        if rec["status"] in SOLVED:
            return rec
    return None


class _ComparisonWriter(_CellWriter):
    def __init__(self, wb, batch) -> None:
        super().__init__(wb)
        self.batch = batch
        self.risk = wb.add_format({"num_format": _RISK_FORMAT})
        self.gap_fmt = wb.add_format({"num_format": GAP_FORMAT})
        wb.set_properties({"title": "fundopt batch comparison", "subject": batch.target.name,
                           "comments": "Written by fundopt batch."})

    def _fmt(self, column: str):
        if column in _MONEY:
            return self.money
        if column in _SHARE:
            return self.share
        if column == "mip_gap":
            return self.gap_fmt
        if column == "average_risk":
            return self.risk
        return None

    def write(self) -> None:
        b = self.batch
        ws = self.add_sheet("Comparison")
        rows = comparison_rows(b.records)
        self._table(ws, COMPARISON_COLUMNS, rows)
        self._charts(ws, rows)
        self._selection(self.add_sheet("Selection"))
        self._table(self.add_sheet("Changes"), CHANGES_COLUMNS, changes_rows(b.records, reference_of(b)))
        invalid = [{"scenario": rec["scenario"], "source": rec.get("source"), **e}
                   for rec in b.records if rec["status"] == "invalid" for e in rec.get("errors") or []]
        self._table(self.add_sheet("Invalid"), INVALID_COLUMNS, invalid)
        self._table(self.add_sheet("Skipped"), SKIPPED_COLUMNS, b.skipped)
        self._run(self.add_sheet("Run"))

    # ---------------------------------------------------------------- tables
    def _table(self, ws, columns: Sequence[str], rows: list[dict]) -> None:
        widths = [len(c) for c in columns]
        for j, name in enumerate(columns):
            ws.write_string(0, j, name, self.header)
        fmts = [self._fmt(c) for c in columns]
        kinds = ["money" if c in _MONEY else "share" if c in _SHARE else None for c in columns]
        for i, row in enumerate(rows, 1):
            for j, key in enumerate(columns):
                v = row.get(key)
                if v is None:
                    continue
                self.cell(ws, i, j, v, fmts[j])
                widths[j] = max(widths[j], min(display_width(v, kinds[j]), 60))
        for j, w in enumerate(widths):
            ws.set_column(j, j, _fit(w))
        ws.freeze_panes(1, 1)
        ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)

    def _charts(self, ws, rows: list[dict]) -> None:
        if not rows:
            return
        n = len(rows)
        name = ws.name
        cat = [name, 1, 0, n, 0]
        col = COMPARISON_COLUMNS.index
        unit = self.batch.unit or ""
        chart = self.wb.add_chart({"type": "column"})
        chart.add_series({"name": "objective", "categories": cat,
                          "values": [name, 1, col("objective"), n, col("objective")],
                          "fill": {"color": "#4472C4"}})
        chart.set_title({"name": "Objective by scenario"})
        chart.set_x_axis({"name": "scenario"})
        chart.set_y_axis({"name": f"objective ({unit})" if unit else "objective", "num_format": "#,##0.0"})
        chart.set_legend({"none": True})
        chart.show_blanks_as("gap")
        x = len(COMPARISON_COLUMNS) + 1
        ws.insert_chart(1, x, chart, {"x_scale": 1.6, "y_scale": 1.2})

        money = self.wb.add_chart({"type": "column"})
        for key, color in (("commitments", "#4472C4"), ("debt", "#C00000")):
            money.add_series({"name": key, "categories": cat, "values": [name, 1, col(key), n, col(key)],
                              "fill": {"color": color}})
        money.set_title({"name": "Commitments and debt by scenario"})
        money.set_x_axis({"name": "scenario"})
        money.set_y_axis({"name": unit or "amount", "num_format": "#,##0"})
        money.set_legend({"position": "bottom"})
        money.show_blanks_as("gap")
        ws.insert_chart(20, x, money, {"x_scale": 1.6, "y_scale": 1.2})

    def _selection(self, ws) -> None:
        b = self.batch
        solved = [r for r in b.records if r["status"] in SOLVED]
        projects: dict[str, tuple] = {pid: (name, sector) for pid, name, sector in (b.projects or [])}
        for rec in solved:
            for pid, name, sector, _ in rec["selected"]:
                projects.setdefault(pid, (name, sector))
        stakes = [{pid: stake for pid, _, _, stake in rec["selected"]} for rec in solved]
        columns = ["project_id", "name", "sector", "selected_in", *[r["scenario"] for r in solved]]
        widths = [len(str(c)) for c in columns]
        for j, name in enumerate(columns):
            ws.write_string(0, j, str(name), self.header)
        put = self.row_writer(ws)
        for i, (pid, (name, sector)) in enumerate(projects.items(), 1):
            values: list[Any] = [pid, name, sector, sum(1 for s in stakes if pid in s)]
            fmts: list[Any] = [None, None, None, None]
            self.add_stakes(ws, i, values, fmts, (s.get(pid) for s in stakes))
            put(i, values, fmts)
            for j in range(3):
                widths[j] = max(widths[j], min(display_width(values[j]), 40))
        for j, w in enumerate(widths):
            ws.set_column(j, j, _fit(min(w, 40)))
        ws.freeze_panes(1, 4)
        ws.autofilter(0, 0, max(len(projects), 1), len(columns) - 1)

    def _run(self, ws) -> None:
        from .. import __version__

        b = self.batch
        statuses = ("optimal", "feasible", "infeasible", "time_limit", "invalid", "error")
        pairs: list[tuple[str, Any]] = [
            ("fundopt version", __version__), ("input", b.target.name),
            ("mode", "every Scenarios row of one workbook" if b.mode == "workbook" else "every workbook of a folder"),
            ("scenarios", len(b.records)),
        ]
        pairs += [(f"scenarios {s.replace('_', ' ')}", b.count(s)) for s in statuses]
        pairs += [("solved in this run", b.ran), ("taken from the journal (--resume)", b.reused),
                  ("skipped files", len(b.skipped)),
                  ("executor", f"Dask scheduler {b.scheduler}" if b.scheduler else
                   (f"{b.workers} local processes" if b.workers > 1 else "this process")),
                  ("currency unit", b.unit)]
        pairs += [(f"option: {k}", v) for k, v in (b.options or {}).items()]
        pairs += [("time: batch (s)", round(b.seconds, 3))]
        for j, name in enumerate(("item", "value")):
            ws.write_string(0, j, name, self.header)
        widths = [4, 5]
        for i, (label, value) in enumerate(pairs, 1):
            self.cell(ws, i, 0, label)
            self.cell(ws, i, 1, value)
            widths[0] = max(widths[0], display_width(label))
            widths[1] = max(widths[1], min(display_width(value), 70))
        ws.set_column(0, 0, _fit(widths[0]))
        ws.set_column(1, 1, _fit(widths[1]))
        ws.freeze_panes(1, 0)


__all__ = ["write_comparison", "comparison_rows", "changes_rows", "reference_of", "error_text",
           "MONEY_FORMAT", "SHARE_FORMAT"]
