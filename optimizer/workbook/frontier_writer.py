"""Writing the frontier workbook (``fundopt frontier``) from a plain
:class:`~optimizer.analysis.frontier.Frontier`.

Sheets, in order:

* ``Frontier`` — one row per point: ``x``, ``y``, ``status``, ``projects``, ``committed``,
  ``selected`` (comma-separated project ids), for ``--nested`` also ``y_free``,
  ``nesting_cost`` and ``selected_free``, then ``mip_gap``; beside it a native Excel scatter
  chart of y against x (and of y_free when nested);
* ``Portfolios`` — project × point matrix: 1 where the project is fully funded at that point,
  its stake where it is taken in part, blank where it is not funded;
* ``Free portfolios`` — the same matrix for the free optima (``--nested`` only);
* ``Run`` — tool version, solver, input file name and SHA-256, options, x range, timings.

The input sheets are not carried over: a frontier workbook is a report, not an input.
Safety as in :mod:`optimizer.workbook.writer`: text is always written as text (never a
formula), and the file is written to a temporary file and renamed into place.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from ..data import Pipeline
from .writer import MONEY_FORMAT, SHARE_FORMAT, _CellWriter, _fit, display_width, write_atomic

RISK_FORMAT = "0.00"
#: how x is shown, by axis
_X_FORMAT = {"budget": MONEY_FORMAT, "risk": RISK_FORMAT, "agreement": SHARE_FORMAT}
_X_AXIS_FORMAT = {"budget": "General", "risk": "0.0", "agreement": "0%"}
_MONEY_COLUMNS = frozenset({"y", "committed", "y_free", "nesting_cost"})


def write_frontier(front, data: Pipeline, path: str | os.PathLike) -> None:
    """Write the frontier workbook to ``path`` atomically; raise OutputError on failure."""
    write_atomic(path, lambda wb: _FrontierWriter(wb, front, data).write())


def x_label(front, unit: str) -> str:
    return f"{front.x_parameter} ({unit})" if front.axis == "budget" else front.x_parameter


def point_label(x: float, axis: str) -> str:
    if axis == "agreement":
        return f"x = {x:.4g}"
    return f"x = {x:,.6g}"


class _FrontierWriter(_CellWriter):
    def __init__(self, wb, front, data: Pipeline) -> None:
        super().__init__(wb)
        self.front = front
        self.data = data
        self.unit = data.fund.currency_unit
        self.xfmt = wb.add_format({"num_format": _X_FORMAT[front.axis]})
        wb.set_properties({"title": f"fundopt frontier: {front.y_kind} against {front.x_parameter}",
                           "subject": data.source.name if data.source else "",
                           "comments": "Written by fundopt frontier."})

    def write(self) -> None:
        self._frontier(self.add_sheet("Frontier"))
        self._matrix(self.add_sheet("Portfolios"), [p.choices for p in self.front.points])
        if self.front.nested:
            self._matrix(self.add_sheet("Free portfolios"), [p.free_choices or {} for p in self.front.points])
        self._run(self.add_sheet("Run"))

    # ---------------------------------------------------------------- Frontier
    def _format(self, column: str):
        if column == "x":
            return self.xfmt
        if column in _MONEY_COLUMNS:
            return self.money
        if column == "mip_gap":
            return self.gap
        return None

    def _frontier(self, ws) -> None:
        rows = self.front.rows()
        columns = list(rows[0]) if rows else ["x", "y", "status", "projects", "committed", "selected"]
        widths = [len(c) for c in columns]
        for j, name in enumerate(columns):
            ws.write_string(0, j, name, self.header)
        fmts = [self._format(c) for c in columns]
        kinds = ["money" if c in _MONEY_COLUMNS or (c == "x" and self.front.axis == "budget") else None
                 for c in columns]
        for i, row in enumerate(rows, 1):
            for j, key in enumerate(columns):
                v = row.get(key)
                self.cell(ws, i, j, v, fmts[j])
                widths[j] = max(widths[j], min(display_width(v, kinds[j]), 60))
        for j, w in enumerate(widths):
            ws.set_column(j, j, _fit(w))
        ws.freeze_panes(1, 1)
        ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # the table and its chart side by side on a printed page
        if rows:
            self._chart(ws, columns, len(rows))

    def _chart(self, ws, columns: Sequence[str], n: int) -> None:
        front = self.front
        chart = self.wb.add_chart({"type": "scatter", "subtype": "straight_with_markers"})
        x = columns.index("x")
        series = [("y", "nested portfolios" if front.nested else f"optimal {front.y_kind}", "#4472C4", None)]
        if front.nested:  # the free optimum first and dashed, so the nested line is drawn over it
            series.insert(0, ("y_free", "free optimum", "#C00000", "dash"))
        for key, name, color, dash in series:
            col = columns.index(key)
            line = {"color": color, "width": 2.25}
            if dash:
                line["dash_type"] = dash
            chart.add_series({
                "name": name,
                "categories": [ws.name, 1, x, n, x],
                "values": [ws.name, 1, col, n, col],
                "line": line,
                "marker": {"type": "circle", "size": 6, "fill": {"color": color}, "border": {"color": color}},
            })
        chart.set_title({"name": f"Efficient frontier: {front.y_kind.upper()} against {front.x_parameter}"})
        x_axis = {"name": x_label(front, self.unit), "num_format": _X_AXIS_FORMAT[front.axis],
                  "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}}
        lo, hi = front.x_range
        if hi > lo:
            x_axis.update({"min": lo, "max": hi})
        chart.set_x_axis(x_axis)
        chart.set_y_axis({"name": f"{front.y_kind.upper()} ({self.unit})", "num_format": "#,##0.0"})
        chart.set_legend({"position": "bottom"} if front.nested else {"none": True})
        chart.show_blanks_as("gap")
        ws.insert_chart(1, len(columns) + 1, chart, {"x_scale": 1.5, "y_scale": 1.3})

    # ---------------------------------------------------------------- Portfolios
    def _matrix(self, ws, portfolios: list[dict]) -> None:
        points = self.front.points
        labels = [point_label(p.x, self.front.axis) for p in points]
        if len(set(labels)) < len(labels):  # points closer than the label shows: number them
            labels = [f"{label} (#{k})" for k, label in enumerate(labels, 1)]
        columns = ["project_id", "name", "sector", *labels]
        widths = [len(c) for c in columns]
        for j, name in enumerate(columns):
            ws.write_string(0, j, name, self.header)
        put = self.row_writer(ws)
        for i, p in enumerate(self.data.projects, 1):
            values: list[Any] = [p.project_id, p.name, p.sector]
            fmts: list[Any] = [None, None, None]
            for j, v in enumerate(values):
                widths[j] = max(widths[j], min(display_width(v), 40))
            chosen = (choices.get(p.project_id) for choices in portfolios)
            self.add_stakes(ws, i, values, fmts, (None if c is None else c.stake for c in chosen))
            put(i, values, fmts)
        for j, w in enumerate(widths):
            ws.set_column(j, j, _fit(w))
        ws.freeze_panes(1, 1)
        ws.autofilter(0, 0, max(len(self.data.projects), 1), len(columns) - 1)

    # ---------------------------------------------------------------- Run
    def _run(self, ws) -> None:
        from .. import __version__

        front, source = self.front, self.data.source
        pairs: list[tuple[str, Any]] = [
            ("fundopt version", __version__), ("solver", "HiGHS"), ("solver version", front.solver_version),
            ("input file", source.name if source else ""), ("input SHA-256", source.sha256 if source else ""),
            ("frontier", f"{front.y_kind} against {front.x_parameter}"),
        ]
        pairs += [(f"option: {k}", v) for k, v in front.options.items()]
        pairs += [("x from", front.x_range[0]), ("x to", front.x_range[1]),
                  ("points solved", sum(1 for p in front.points if p.solved)),
                  ("points infeasible", sum(1 for p in front.points if p.status == "infeasible")),
                  ("currency unit", self.unit)]
        for n, v in sorted(front.ideals.items()):
            pairs.append((f"ideal score value: {n}", v))
        pairs += [(f"time: {k} (s)", round(v, 4)) for k, v in front.timings.items()]
        pairs += [(f"time: point {k} (s)", round(p.seconds, 4)) for k, p in enumerate(front.points, 1)]
        for j, name in enumerate(("item", "value")):
            ws.write_string(0, j, name, self.header)
        widths = [4, 5]
        for i, (label, value) in enumerate(pairs, 1):
            self.cell(ws, i, 0, label)
            self.cell(ws, i, 1, value, self.xfmt if label in ("x from", "x to") else None)
            widths[0] = max(widths[0], display_width(label))
            widths[1] = max(widths[1], min(display_width(value), 70))
        ws.set_column(0, 0, _fit(widths[0]))
        ws.set_column(1, 1, _fit(widths[1]))
        ws.freeze_panes(1, 0)
