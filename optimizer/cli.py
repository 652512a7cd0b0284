"""The ``fundopt`` command line: thin verbs over :mod:`optimizer.runner`.

Exit codes (SPEC §3): 0 solved, 1 internal error, 2 bad input, 3 infeasible, 4 time limit
with no portfolio. ``--json`` prints exactly one JSON object on standard output.
Heavy imports are deferred so that ``fundopt --help`` starts fast.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="fundopt: choose which candidate projects the fund should fund, from an Excel pipeline.")


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def _emit_json(payload: dict) -> None:
    base = {"status": None, "objective": None, "mip_gap": None, "selected": [], "output": None, "errors": []}
    base.update(payload)
    sys.stdout.write(json.dumps(_clean(base), ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _fail(exc, as_json: bool) -> "typer.Exit":
    """Report a typed error the analyst's way and return the exit to raise."""
    from .errors import InfeasibleError, InputError

    con = _console()
    if isinstance(exc, InputError):
        if as_json:
            _emit_json({"status": "invalid", "errors": [p.as_dict() for p in exc.problems]})
        else:
            con.print(f"[bold red]{exc}[/] — nothing was solved or written:")
            for p in exc.problems:
                con.print(f"  • {p}", markup=False)
    elif isinstance(exc, InfeasibleError):
        output = getattr(exc, "output", None)
        if as_json:
            _emit_json({"status": "infeasible", "diagnosis": exc.diagnosis,
                        "output": None if output is None else str(output)})
        else:
            con.print(f"[bold red]Infeasible:[/] {exc}. The rules that conflict:")
            for d in exc.diagnosis:
                extra = "" if d.get("shortfall") is None else f" (short by {d['shortfall']:,.6g})"
                con.print(f"  • {d['rule']}: {d['detail']}{extra}", markup=False)
            if output is not None:
                con.print(f"Wrote the diagnosis to {output} (sheet Diagnosis)")
    else:
        if as_json:
            _emit_json({"status": getattr(exc, "status", "error"), "message": str(exc)})
        else:
            con.print(f"[bold red]{type(exc).__name__.replace('Error', ' error')}:[/] {exc}", markup=True)
    return typer.Exit(getattr(exc, "exit_code", 1))


def _guard(as_json: bool, fn):
    from .errors import FundoptError

    try:
        return fn()
    except FundoptError as exc:
        raise _fail(exc, as_json) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:  # an internal error: say so plainly, never a bare traceback
        if os.environ.get("FUNDOPT_DEBUG"):
            raise
        from .errors import FundoptError as _E

        err = _E(f"internal error ({type(exc).__name__}: {exc}); set FUNDOPT_DEBUG=1 for details")
        raise _fail(err, as_json) from None


@app.command()
def template(path: Path = typer.Argument(..., help="Where to write the empty input workbook (.xlsx).")):
    """Write an empty input workbook with every sheet, header, help text and dropdowns."""

    def go():
        from .workbook.template import write_template

        write_template(path)
        _console().print(f"Wrote template {path}")

    _guard(False, go)


@app.command()
def validate(
    pipeline: Path = typer.Argument(..., help="The pipeline workbook (.xlsx)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on standard output."),
):
    """Check the workbook and list every problem; solves nothing."""

    def go():
        from .errors import InputError
        from .workbook.validate import validate_path

        problems = validate_path(pipeline)
        if problems:
            raise InputError(problems)
        if as_json:
            _emit_json({"status": "valid"})
        else:
            _console().print(f"{pipeline}: no problems found.")

    _guard(as_json, go)


@app.command()
def run(
    pipeline: Path = typer.Argument(..., help="The pipeline workbook (.xlsx)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Output workbook (default outputs/<input>-portfolio.xlsx)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on standard output."),
    verify: bool = typer.Option(False, "--verify", help="Recompute every active rule from the output workbook."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Seconds per solve (overrides Fund)."),
    mip_gap: Optional[float] = typer.Option(None, "--mip-gap", help="Relative gap (overrides Fund)."),
):
    """Solve the pipeline and write the ranked-portfolio workbook."""

    def go():
        from .runner import run_workbook

        overrides = _solver_overrides(time_limit, mip_gap)
        con = _console()
        with _progress(con, disable=as_json) as step:
            result = run_workbook(pipeline, output, verify=verify, overrides=overrides, progress=step)
        rep = result.report
        if verify and result.verify_problems:
            raise InternalCheckFailed(result.verify_problems)
        if as_json:
            _emit_json({"status": rep.status, "objective": rep.objective, "mip_gap": rep.gap,
                        "selected": rep.selected, "output": str(result.output),
                        "verified": None if not verify else not result.verify_problems})
            return
        _print_run(con, result)

    _guard(as_json, go)


@app.command()
def frontier(
    pipeline: Path = typer.Argument(..., help="The pipeline workbook (.xlsx)."),
    x: Optional[str] = typer.Option(None, "--x", help="What to sweep: budget (equity_capital), risk "
                                                      "(max_avg_risk 1–5) or agreement (min_nation_satisfaction 0–1)."),
    y: str = typer.Option("npv", "--y", help="What to optimize at each point: npv."),
    points: int = typer.Option(11, "--points", help="Number of evenly spaced points (≥ 2)."),
    nested: bool = typer.Option(False, "--nested", help="Budget only: each portfolio contains the previous one."),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Output workbook (default outputs/<input>-frontier-<x>.xlsx)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on standard output."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Seconds per solve (overrides Fund)."),
    mip_gap: Optional[float] = typer.Option(None, "--mip-gap", help="Relative gap (overrides Fund)."),
):
    """Efficient frontier: the best objective at each value of the budget, the risk cap or the agreement floor."""

    def go():
        from .analysis.frontier import run_frontier

        overrides = _solver_overrides(time_limit, mip_gap)
        axis = x.strip().lower() if x else None
        kind = y.strip().lower() if y else y
        con = _console()

        def show(point, k, n):
            y_text = "—" if point.y is None else f"{point.y:,.4f}"
            extra = "" if point.nesting_cost is None else f", nesting cost {point.nesting_cost:,.4f}"
            count = len(point.choices)
            con.print(f"  point {k}/{n}: x = {point.x:,.6g}, y = {y_text} ({point.status}, "
                      f"{count} project{'' if count == 1 else 's'}{extra})", markup=False, highlight=False)

        with _progress(con, disable=False) as step:
            front, data, out = run_frontier(pipeline, output, axis=axis, y_kind=kind, points=points, nested=nested,
                                            overrides=overrides,
                                            progress=step, on_point=show)
        if as_json:
            _emit_json({"status": front.status, "objective": front.objective, "mip_gap": front.mip_gap,
                        "selected": front.selected, "output": str(out), "x_axis": front.axis,
                        "y_axis": front.y_kind, "nested": front.nested, "points": front.json_points()})
            return
        unit = data.fund.currency_unit
        solved = sum(1 for p in front.points if p.solved)
        con.print(f"[bold green]{front.status}[/]: {front.y_kind} against {front.x_parameter}, "
                  f"{solved} of {len(front.points)} points solved "
                  f"(x from {front.x_range[0]:,.6g} to {front.x_range[1]:,.6g}"
                  f"{' ' + unit if front.axis == 'budget' else ''})")
        con.print(f"Wrote {out}")

    _guard(as_json, go)


def _solver_overrides(time_limit: float | None, mip_gap: float | None) -> dict:
    """Command-line solver options, checked; they win over the Fund sheet."""
    from .data import Problem
    from .errors import InputError

    problems = []
    if time_limit is not None and not time_limit > 0:
        problems.append(Problem("command line", None, "--time-limit", time_limit, "must be > 0"))
    if mip_gap is not None and not 0 <= mip_gap <= 1:
        problems.append(Problem("command line", None, "--mip-gap", mip_gap, "must be from 0 to 1"))
    if problems:
        raise InputError(problems)
    return {"time_limit_s": time_limit, "mip_gap": mip_gap}


class InternalCheckFailed(Exception):
    def __init__(self, problems):
        super().__init__("the invariant check found rule violations in the output: " + "; ".join(problems))


class _progress:
    """A progress line on standard error: the phase, and a bar for phases that count steps."""

    def __init__(self, con, disable: bool):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)

        self._p = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=con, transient=True, disable=disable)
        self._task = None

    def __enter__(self):
        self._p.__enter__()
        self._task = self._p.add_task("starting", total=None)
        return self.step

    def step(self, phase: str, done: int, total: int | None) -> None:
        if done == 0:  # a new phase: a spinner, or a fresh bar when it counts steps
            self._p.reset(self._task, total=total, description=phase)
        else:
            self._p.update(self._task, description=phase, completed=done, total=total)

    def __exit__(self, *exc):
        return self._p.__exit__(*exc)


def _print_run(con, result) -> None:
    from rich.table import Table

    rep, unit = result.report, result.data.fund.currency_unit
    gap = "" if rep.gap is None else f", gap {rep.gap:.4%}"
    con.print(f"[bold green]{rep.status}[/]: objective {rep.objective:,.4f} {unit}{gap}; "
              f"{len(rep.selected)} of {len(result.data.projects)} projects funded")
    table = Table(title="Portfolio (top 15)", show_lines=False)
    wide = con.width >= 110
    cols = ("rank", "project", "name", "sector", "stake", "start", "committed", "npv")
    for col in cols if wide else tuple(c for c in cols if c != "name"):
        left = col in ("project", "name", "sector")
        widths = {"rank": 4, "project": 7, "stake": 5, "start": 5, "committed": 9, "npv": 7}
        table.add_column(col, justify="left" if left else "right", no_wrap=True, overflow="ellipsis",
                         min_width=widths.get(col), max_width={"sector": 14, "name": 30}.get(col),
                         ratio=1 if col == "name" else None)
    for r in rep.portfolio[:15]:
        cells = [str(r["rank"]), r["project_id"], r["name"], r["sector"], f"{r['stake']:.0%}",
                 str(r["start_year"]), f"{r['committed']:,.2f}", f"{r['npv']:,.2f}"]
        table.add_row(*(cells if wide else cells[:2] + cells[3:]))
    con.print(table)
    if result.verify_problems is not None:
        con.print("Invariant check: every active rule holds in the output workbook.")
    con.print(f"Wrote {result.output}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
