"""Writing the robustness workbook (``fundopt robust``) from a plain
:class:`~optimizer.analysis.robust.Robustness`.

Sheets, in order:

* ``Summary`` — the base portfolio (status, objective, gap, projects funded), samples run,
  solved and unsolved, the percentiles of both distributions, how many projects fall in
  each category;
* ``Robustness`` — one row per project, most often selected first: ``project_id``, ``name``,
  ``sector``, ``npv_low``, ``npv``, ``npv_high``, ``in_base_portfolio`` (yes / no),
  ``base_stake``, ``frequency`` (share of solved samples funding it: the core index),
  ``category`` (core ≥ 90 %, likely ≥ 50 %, marginal > 0, never), ``samples_selected``,
  ``mean_stake``; beside it a native bar chart of the frequencies (the first
  :data:`CHART_PROJECTS` rows);
* ``Distribution`` — ``statistic`` (P10, P50, P90, mean, min, max) against ``base_value`` (the
  base portfolio valued with each sample's NPVs) and ``objective`` (each sample's optimum);
  below it the histogram table (``bin_from``, ``bin_to`` and the count of samples in each bin
  for both figures) and its native column chart;
* ``Samples`` — one row per sample: ``sample``, ``status``, ``objective``, ``base_value``,
  ``regret`` (objective − base_value, ``npv`` objective only), ``projects`` (how many funded),
  ``selected``, ``mip_gap``, ``seconds``;
* ``Run`` — tool and solver versions, input file and SHA-256, samples, seed, workers, the
  distribution, chunk size, timings;
* the input sheets carried over whole, so that the output is itself a valid input (the
  report sheets above are ignored on read).

Safety as in :mod:`optimizer.workbook.writer`: text is always written as text (never a formula),
and the file is written to a temporary file and renamed into place.
"""

from __future__ import annotations

import os
from typing import Any

from .writer import _fit, _ReportWriter, display_width, write_atomic

#: the frequency chart shows at most this many projects (the most often selected)
CHART_PROJECTS = 40
HISTOGRAM_BINS = 20
REPORT_TITLES = ("Summary", "Robustness", "Distribution", "Samples", "Run")
STATISTICS = (("P10", "p10"), ("P50", "p50"), ("P90", "p90"), ("mean", "mean"), ("min", "min"), ("max", "max"))


def write_robust(result, path: str | os.PathLike) -> None:
    """Write the robustness workbook to ``path`` atomically; raise OutputError on failure."""
    write_atomic(path, lambda wb: _RobustWriter(wb, result).write())


def histogram(values_a: list[float], values_b: list[float], bins: int = HISTOGRAM_BINS) -> list[dict]:
    """Equal-width bins over both series together; the last bin includes its upper end."""
    values = [v for v in values_a + values_b if v is not None]
    if not values:
        return []
    lo, hi = min(values), max(values)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        bins, hi = 1, lo
    width = (hi - lo) / bins if bins > 1 else 0.0
    rows = [{"bin_from": lo + k * width, "bin_to": (lo + (k + 1) * width) if k < bins - 1 else hi,
             "base_value_samples": 0, "objective_samples": 0} for k in range(bins)]

    def where(v: float) -> int:
        return 0 if width == 0 else min(bins - 1, int((v - lo) / width))

    for key, series in (("base_value_samples", values_a), ("objective_samples", values_b)):
        for v in series:
            if v is not None:
                rows[where(v)][key] += 1
    return rows


class _RobustWriter(_ReportWriter):
    def __init__(self, wb, result) -> None:
        super().__init__(wb, None, result.data)
        self.result = result
        wb.set_properties({"title": "fundopt robustness: selection frequency under NPV uncertainty",
                           "subject": result.data.source.name if result.data.source else "",
                           "comments": "Written by fundopt robust; the input sheets are carried over whole."})

    def write(self) -> None:
        carried = list(self.data.source.sheets) if self.data.source else []
        for name in REPORT_TITLES:  # report titles first, so a carried sheet can never take one
            self._titles.add(name.lower())
        self._pairs(self._sheet("Summary"), self._summary(), self._summary_fmt)
        self._robustness(self._sheet("Robustness"))
        self._distribution(self._sheet("Distribution"))
        money = {"base_value": self.money, "regret": self.money, "mip_gap": self.gap}
        self._table(self._sheet("Samples"), "Samples", self.result.rows, freeze_cols=1,
                    row_formats=lambda row: money)
        self._pairs(self._sheet("Run"), self._run())
        for sheet in carried:
            self._carried(self.add_sheet(sheet.title), sheet)

    # ---------------------------------------------------------------- Summary and Run
    def _summary(self) -> list[tuple[str, Any]]:
        r = self.result
        cats = r.categories()
        value, objective = r.stats("base_value"), r.stats("objective")
        pairs: list[tuple[str, Any]] = [
            ("status", r.status), ("objective", r.data.fund.objective),
            ("objective value", r.base_objective), ("gap", r.base.gap),
            ("projects funded in the base portfolio", len(r.base.choices)),
            ("projects", len(r.data.projects)),
            ("projects with an NPV range", sum(1 for p in r.data.projects
                                               if p.npv_low is not None and p.npv_high is not None)),
            ("distribution", "triangular(npv_low, npv, npv_high); no range: npv"),
            ("samples", r.samples), ("samples solved", len(r.solved)),
            ("samples infeasible", r.count("infeasible")), ("samples out of time", r.count("time_limit")),
            ("seed", r.seed),
        ]
        if not r.npv_matters:
            note = f"the objective {r.data.fund.objective} gives NPV no weight: every sample has the base optimum"
            pairs.append(("note", note))
        pairs += [(f"base portfolio value {label}", value[key]) for label, key in STATISTICS[:3]]
        pairs += [(f"sample optimum {label}", objective[key]) for label, key in STATISTICS[:3]]
        pairs += [(f"{name} projects", n) for name, n in cats.items()]
        pairs += [("currency unit", r.data.fund.currency_unit),
                  ("run time (s)", round(sum(v for k, v in r.timings.items() if k != "read"), 4))]
        return pairs

    def _summary_fmt(self, label: str, value: Any):
        if label == "gap":
            return self.gap
        money = self.result.data.fund.objective in ("npv", "weighted")
        if label.startswith("base portfolio value") or (money and (label.startswith("sample optimum")
                                                                   or label == "objective value")):
            return self.money
        return None

    def _run(self) -> list[tuple[str, Any]]:
        from .. import __version__

        r, source = self.result, self.data.source
        pairs: list[tuple[str, Any]] = [
            ("fundopt version", __version__), ("solver", "HiGHS"), ("solver version", r.solver_version),
            ("input file", source.name if source else ""), ("input SHA-256", source.sha256 if source else ""),
        ]
        pairs += [(f"option: {k}", v) for k, v in r.options.items()]
        pairs += [(f"ideal score value: {n}", v) for n, v in sorted(r.ideals.items())]
        pairs += [(f"time: {k} (s)", round(v, 4)) for k, v in r.timings.items()]
        solved = [x["seconds"] for x in r.rows if x.get("seconds") is not None]
        if solved:
            pairs.append(("time: mean per sample (s)", round(sum(solved) / len(solved), 4)))
        return pairs

    # ---------------------------------------------------------------- Robustness
    def _robustness(self, ws) -> None:
        rows = self.result.project_rows()
        shares = {"frequency": self.share, "mean_stake": self.share, "base_stake": self.share}
        columns = self._table(ws, "Robustness", rows, freeze_cols=1,
                              row_formats=lambda row: shares)
        if not rows:
            return
        n = min(len(rows), CHART_PROJECTS)
        pid, freq = columns.index("project_id"), columns.index("frequency")
        chart = self.wb.add_chart({"type": "bar"})
        chart.add_series({
            "name": "selection frequency",
            "categories": [ws.name, 1, pid, n, pid],
            "values": [ws.name, 1, freq, n, freq],
            "fill": {"color": "#4472C4"},
            "gap": 40,
        })
        more = f" (the {n} most often selected of {len(rows)})" if n < len(rows) else ""
        chart.set_title({"name": f"Selection frequency over {len(self.result.solved)} samples{more}"})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%", "name": "share of samples"})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"none": True})
        ws.insert_chart(0, len(columns) + 1, chart, {"x_scale": 1.4, "y_scale": max(1.2, n / 14)})

    # ---------------------------------------------------------------- Distribution
    def _distribution(self, ws) -> None:
        r = self.result
        value, objective = r.stats("base_value"), r.stats("objective")
        stat_rows = [{"statistic": label, "base_value": value[key], "objective": objective[key]}
                     for label, key in STATISTICS]
        money = self.money if r.data.fund.objective in ("npv", "weighted") else None
        self._header(ws, ("statistic", "base_value", "objective"))
        for i, row in enumerate(stat_rows, 1):
            self.cell(ws, i, 0, row["statistic"])
            self.cell(ws, i, 1, row["base_value"], self.money)
            self.cell(ws, i, 2, row["objective"], money)
        solved = r.solved
        bins = histogram([x["base_value"] for x in solved],
                         [x["objective"] for x in solved] if money is not None else [])
        top = len(stat_rows) + 2
        columns = ("bin_from", "bin_to", "base_value_samples", "objective_samples")
        self._header(ws, columns, row=top)
        for i, row in enumerate(bins, top + 1):
            for j, key in enumerate(columns):
                self.cell(ws, i, j, row[key], self.money if key.startswith("bin") else None)
        widths = [max(len(c), 12) for c in columns]
        for j, w in enumerate(widths):
            ws.set_column(j, j, _fit(max(w, display_width(1e6, "money"))))
        ws.freeze_panes(1, 0)
        if not bins:
            return
        chart = self.wb.add_chart({"type": "column"})
        first, last = top + 1, top + len(bins)
        labels = [f"{b['bin_from']:,.2f}–{b['bin_to']:,.2f}" for b in bins]
        label_col = len(columns)
        ws.write_string(top, label_col, "bin", self.header)
        for i, text in enumerate(labels, first):
            ws.write_string(i, label_col, text)
        ws.set_column(label_col, label_col, _fit(max(len(t) for t in labels)))
        series = [("base_value_samples", "base portfolio valued in each sample", "#4472C4")]
        if money is not None:
            series.append(("objective_samples", "each sample's optimum", "#ED7D31"))
        for key, name, color in series:
            col = columns.index(key)
            chart.add_series({"name": name, "categories": [ws.name, first, label_col, last, label_col],
                              "values": [ws.name, first, col, last, col], "fill": {"color": color}, "gap": 0,
                              "border": {"color": "#FFFFFF"}})
        chart.set_title({"name": f"Portfolio value over {len(solved)} samples ({r.data.fund.currency_unit})"})
        chart.set_x_axis({"name": f"value ({r.data.fund.currency_unit})", "num_font": {"rotation": -45}})
        chart.set_y_axis({"name": "samples"})
        chart.set_legend({"position": "bottom"})
        ws.insert_chart(0, label_col + 2, chart, {"x_scale": 1.6, "y_scale": 1.4})
