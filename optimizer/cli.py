"""The ``fundopt`` command line: thin verbs over :mod:`optimizer.runner`.

Exit codes (SPEC §3): 0 solved, 1 internal error, 2 bad input, 3 infeasible, 4 time limit
with no portfolio. ``--json`` prints exactly one JSON object on standard output.
Heavy imports are deferred so that ``fundopt --help`` starts fast.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import sys
import types
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="fundopt: choose which candidate projects the fund should fund, from an Excel pipeline.")


class _console:
    """Standard error as a rich console, made when first written to: a ``--json`` run that has
    nothing to say on it never imports rich."""

    def __init__(self):
        self._con = None

    def real(self):
        """The rich ``Console`` itself (made now if it was not yet)."""
        if self._con is None:
            from rich.console import Console

            self._con = Console(stderr=True, highlight=False)
        return self._con

    def __getattr__(self, name):
        return getattr(self.real(), name)


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


def _print_warnings(con, warnings) -> None:
    """Numerics warnings go to standard error in every mode (standard output stays one JSON object)."""
    if not warnings:
        return
    from rich.markup import escape

    for w in warnings:
        con.print(f"[bold yellow]Warning:[/] {escape(str(w))}")


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

        warnings: list = []
        problems = validate_path(pipeline, warnings=warnings)
        if problems:
            raise InputError(problems)
        _print_warnings(_console(), warnings)
        if as_json:
            _emit_json({"status": "valid", "warnings": [w.as_dict() for w in warnings]})
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
    global _quick_exit
    _quick_exit = True  # nothing of a run outlives it (no worker processes): see main()

    def go():
        from .runner import run_workbook

        overrides = _solver_overrides(time_limit, mip_gap)
        con = _console()
        with _progress(con, disable=as_json) as step:
            result = run_workbook(pipeline, output, verify=verify, overrides=overrides, progress=step,
                                  separate_process=True)
        rep = result.report
        if verify and result.verify_problems:
            raise InternalCheckFailed(result.verify_problems)
        _print_warnings(con, result.warnings)
        if as_json:
            _emit_json({"status": rep.status, "objective": rep.objective, "mip_gap": rep.gap,
                        "selected": rep.selected, "output": str(result.output),
                        "verified": None if not verify else not result.verify_problems,
                        "warnings": [w.as_dict() for w in result.warnings]})
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


@app.command()
def batch(
    pipeline: Path = typer.Argument(..., help="A pipeline workbook with a Scenarios sheet, or a folder of workbooks."),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Output folder (default outputs/<input>-batch/)."),
    workers: int = typer.Option(1, "--workers", help="Local processes solving scenarios at once."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                            help="Address of a running Dask scheduler (e.g. tcp://host:8786)."),
    resume: bool = typer.Option(False, "--resume", help="Keep the scenarios the journal of the output folder "
                                                       "records as finished; run only the others."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on standard output."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Seconds per solve (overrides Fund)."),
    mip_gap: Optional[float] = typer.Option(None, "--mip-gap", help="Relative gap (overrides Fund)."),
):
    """Run every Scenarios row (or every workbook of a folder): one workbook each, and a comparison workbook."""

    def go():
        from .batch.run import run_batch

        overrides = _solver_overrides(time_limit, mip_gap)
        con = _console()
        with _progress(con, disable=as_json) as step:
            result = run_batch(pipeline, output, workers=workers, scheduler=scheduler, resume=resume,
                               overrides=overrides, progress=step)
        if as_json:
            _emit_json(_batch_json(result))
            return
        _print_batch(con, result)

    _guard(as_json, go)


def _batch_json(result) -> dict:
    base = result.base
    solved = [r for r in result.records if r["status"] in ("optimal", "feasible")]
    if base is not None:
        status, objective, gap = base["status"], base["objective"], base["mip_gap"]
        selected = [s[0] for s in base["selected"]]
    else:
        everything = len(solved) == len(result.records)
        status = ("optimal" if all(r["status"] == "optimal" for r in solved) else "feasible") if everything \
            else "partial"
        objective, gap, selected = None, None, []
    errors = [{**e, "scenario": r["scenario"]} for r in result.records for e in r["errors"]]
    counts = {s: result.count(s) for s in ("optimal", "feasible", "infeasible", "time_limit", "invalid", "error")}
    return {"status": status, "objective": objective, "mip_gap": gap, "selected": selected,
            "output": str(result.output), "errors": errors, "folder": str(result.folder),
            "counts": counts, "ran": result.ran, "reused": result.reused, "skipped": result.skipped,
            "scenarios": [{"scenario": r["scenario"], "status": r["status"], "objective": r["objective"],
                           "mip_gap": r["mip_gap"], "selected": [s[0] for s in r["selected"]],
                           "output": None if r["output"] is None else str(result.folder / r["output"]),
                           "errors": r["errors"], "message": r["message"]}
                          for r in result.records]}


def _print_batch(con, result) -> None:
    from rich.table import Table

    n = len(result.records)
    solved = result.count("optimal", "feasible")
    unsolved = n - solved
    head = f"{solved} of {n} scenario{'s' if n != 1 else ''} solved"
    if result.reused:
        head += f" ({result.reused} taken from the journal, {result.ran} run now)"
    colour = "green" if not unsolved else "yellow"
    con.print(f"[bold {colour}]batch done[/]: {head}")
    for status, words in (("infeasible", "infeasible (see the Diagnosis sheet of its workbook)"),
                          ("time_limit", "out of time with no portfolio"), ("invalid", "invalid (not solved)"),
                          ("error", "failed")):
        k = result.count(status)
        if k:
            con.print(f"[bold red]{k} scenario{'s' if k != 1 else ''} {words}[/]")
    table = Table(title=f"Scenarios{' (first 30)' if n > 30 else ''}", show_lines=False)
    for col in ("scenario", "status", "objective", "funded", "output"):
        table.add_column(col, justify="right" if col in ("objective", "funded") else "left", no_wrap=True,
                         overflow="ellipsis", max_width={"scenario": 28, "output": 30}.get(col))
    for r in result.records[:30]:
        obj = "" if r["objective"] is None else f"{r['objective']:,.4f}"
        table.add_row(r["scenario"], r["status"], obj, str(len(r["selected"])) if r["selected"] else "",
                      r["output"] or "")
    con.print(table)
    for r in result.records:
        for e in r["errors"][:10]:
            from .data import Problem

            p = Problem(e["sheet"], e["row"], e["column"], e["value"], e["message"])
            con.print(f"  • {r['scenario']}: {p}", markup=False)
        if r["status"] in ("time_limit", "error") and r["message"]:
            con.print(f"  • {r['scenario']}: {r['message']}", markup=False)
    for s in result.skipped:
        con.print(f"  skipped {s['file']}: {s['reason']}", markup=False)
    con.print(f"Wrote {result.output} and {solved + result.count('infeasible')} scenario workbooks in "
              f"{result.folder}")


@app.command()
def robust(
    pipeline: Path = typer.Argument(..., help="The pipeline workbook (.xlsx)."),
    samples: Optional[int] = typer.Option(None, "--samples", help="How many NPV samples to solve (1–100,000)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random draws (≥ 0): the same seed, the same results."),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="Output workbook (default outputs/<input>-robust.xlsx)."),
    workers: int = typer.Option(1, "--workers", help="Local processes solving samples at once."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                            help="Address of a running Dask scheduler (e.g. tcp://host:8786)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on standard output."),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="Seconds per solve (overrides Fund)."),
    mip_gap: Optional[float] = typer.Option(None, "--mip-gap", help="Relative gap (overrides Fund)."),
):
    """Monte Carlo over the NPV ranges (npv_low … npv_high): each project's selection frequency (core index)."""

    def go():
        from .analysis.robust import run_robust

        overrides = _solver_overrides(time_limit, mip_gap)
        con = _console()
        with _progress(con, disable=False) as step:
            result, out = run_robust(pipeline, output, samples=samples, seed=seed, workers=workers,
                                     scheduler=scheduler, overrides=overrides, progress=step)
        value, optimum = result.stats("base_value"), result.stats("objective")
        if as_json:
            _emit_json({"status": result.status, "objective": result.base_objective, "mip_gap": result.base.gap,
                        "selected": result.base.selected, "output": str(out), "frequency": result.frequency,
                        "value": {k: value[k] for k in ("p10", "p50", "p90", "mean", "min", "max")},
                        "sample_objective": optimum,
                        "samples": {"requested": result.samples, "solved": len(result.solved),
                                    "infeasible": result.count("infeasible"),
                                    "time_limit": result.count("time_limit")},
                        "seed": result.seed, "categories": result.categories()})
            return
        _print_robust(con, result, out)

    _guard(as_json, go)


def _print_robust(con, result, out) -> None:
    from rich.table import Table

    unit = result.data.fund.currency_unit
    solved = len(result.solved)
    con.print(f"[bold green]{result.status}[/]: base objective {result.base_objective:,.4f}"
              f"{' ' + unit if result.data.fund.objective == 'npv' else ''}; {len(result.base.choices)} of "
              f"{len(result.data.projects)} projects funded. {solved} of {result.samples} samples solved "
              f"(seed {result.seed}).")
    value = result.stats("base_value")
    if value["p50"] is not None:
        con.print(f"Base portfolio valued in each sample: P10 {value['p10']:,.4f}, P50 {value['p50']:,.4f}, "
                  f"P90 {value['p90']:,.4f} {unit}")
    if not result.npv_matters:
        con.print(f"[yellow]The objective {result.data.fund.objective} gives NPV no weight: every sample has "
                  "the base optimum.[/]")
    cats = result.categories()
    con.print("Projects: " + ", ".join(f"{n} {name}" for name, n in cats.items()))
    table = Table(title="Selection frequency (top 15)", show_lines=False)
    for col in ("project", "sector", "base", "frequency", "category"):
        table.add_column(col, justify="left" if col in ("project", "sector", "category") else "right",
                         no_wrap=True, overflow="ellipsis", max_width={"sector": 18}.get(col))
    for r in result.project_rows()[:15]:
        table.add_row(r["project_id"], r["sector"], r["in_base_portfolio"], f"{r['frequency']:.0%}", r["category"])
    con.print(table)
    con.print(f"Wrote {out}")


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
        self._p = self._task = None
        if disable:  # nothing is shown: rich is not even imported
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)

        self._p = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=con.real() if isinstance(con, _console) else con,
                           transient=True)

    def __enter__(self):
        if self._p is None:
            return None
        self._p.__enter__()
        self._task = self._p.add_task("starting", total=None)
        return self.step

    def step(self, phase: str, done: int, total: int | None) -> None:
        if done == 0:  # a new phase: a spinner, or a fresh bar when it counts steps
            self._p.reset(self._task, total=total, description=phase)
        else:
            self._p.update(self._task, description=phase, completed=done, total=total)

    def __exit__(self, *exc):
        return None if self._p is None else self._p.__exit__(*exc)


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


#: set by verbs whose process holds nothing that must be shut down in order (no Dask cluster,
#: no worker processes): once such a verb has finished, the process ends at once
_quick_exit = False


class _DeferNumpyTesting:
    """Pyomo imports numpy.testing (and with it unittest) when it meets numpy, for scipy's sake
    under pytest; no command uses it, and it costs about 0.05 s of every command's start. In the
    command-line process, ``import numpy.testing`` then gives a stand-in module, and the real
    one is imported (the stand-in stepping aside) the first time anything reads a name of it."""

    def __init__(self) -> None:
        self.active = True

    def find_spec(self, name, path=None, target=None):
        if name != "numpy.testing" or not self.active:
            return None
        from importlib.util import spec_from_loader

        return spec_from_loader(name, self)

    def create_module(self, spec):
        finder = self

        class Deferred(types.ModuleType):
            ready = False  # set once the import system has made it (it probes __path__, __file__…)

            def __getattr__(self, attr: str):
                if not type(self).ready:
                    raise AttributeError(attr)
                finder.active = False
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                parent = sys.modules.get("numpy")
                if parent is not None and parent.__dict__.get("testing") is self:
                    del parent.testing
                return getattr(importlib.import_module(self.__name__), attr)

        return Deferred(spec.name)

    def exec_module(self, module) -> None:
        type(module).ready = True


def _defer_numpy_testing() -> None:
    if "numpy.testing" not in sys.modules and not any(isinstance(f, _DeferNumpyTesting) for f in sys.meta_path):
        sys.meta_path.insert(0, _DeferNumpyTesting())


def main() -> None:
    """The console entry point.

    After ``run`` the process ends with :func:`os._exit` once standard output and standard
    error are flushed: the output workbook is already renamed into place (or was never
    written), and tearing down the interpreter's heap of a 10,000-project model and its HiGHS
    instances only costs time (about 0.3 s). Other verbs, which may hold a Dask cluster, exit
    the usual way.
    """
    _defer_numpy_testing()
    try:
        app()
        if not _quick_exit:
            return
        code = 0
    except SystemExit as exc:
        if not _quick_exit:
            raise
        code = exc.code
    if not isinstance(code, int):  # None: success; any other object: printed, exit 1 (as sys.exit does)
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: nothing more can be said on it
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
