"""One run, end to end: read → validate → build → solve → report → write, each phase timed.

The CLI, tests and batch workers call these functions; they raise the typed errors of
:mod:`optimizer.errors` and never print.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .data import NATIONS, Pipeline, Problem
from .errors import InfeasibleError, InputError, TimeLimitError
from .report import Report, build_report
from .solve import INFEASIBLE, TIME_LIMIT, Outcome, Solver, SolverSettings


@dataclass
class Timings:
    phases: dict[str, float] = field(default_factory=dict)
    #: called as listener(phase, done, total) when a phase starts (done 0, total None)
    listener: object = None

    @contextmanager
    def phase(self, name: str):
        if self.listener:
            self.listener(name, 0, None)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start


@dataclass
class RunResult:
    data: Pipeline
    outcome: Outcome
    report: Report
    output: Path | None = None
    verify_problems: list[str] | None = None
    #: numerics warnings (ill-scaled money): on the Summary sheet, stderr and ``--json`` ``warnings``
    warnings: list[Problem] = field(default_factory=list)


def default_output(input_path: Path) -> Path:
    return Path("outputs") / f"{input_path.stem}-portfolio.xlsx"


def solve_pipeline(data: Pipeline, settings: SolverSettings | None = None,
                   timings: Timings | None = None, progress=None, defer: bool = False,
                   solving=None) -> tuple[Outcome, Report]:
    """Build and solve; raise InfeasibleError / TimeLimitError when there is no portfolio.

    ``defer``: figures still being computed on another thread (the estimated agreement figures)
    are left to :meth:`Report.complete`, which the writer calls once the big sheets are written;
    otherwise the report is returned complete. ``solving``: called once the model is built, as
    its solving begins (the run then begins its output workbook on another thread: HiGHS
    leaves Python's lock free while it solves, where building holds it)."""
    from models.portfolio import build

    from .analysis.diagnosis import diagnose

    from .analysis.agreement import (best_npv_at_maxmin, has_scores, ideal_variants, price_from, store_ideals,
                                     unagreed_variant)
    from models.agreement import needs_ideals

    settings = settings or SolverSettings.from_fund(data.fund)
    timings = timings or Timings(listener=progress)
    with timings.phase("build"):
        m = build(data)
    solver = Solver(settings)
    ideals: dict[str, float] = {}
    # the nations' ideal portfolios and the model without the agreement rules do not depend on
    # the run's portfolio: they are solved side by side before it. With explain_limit 0 and no
    # rule that needs the ideals, they are figures of the report only, and like the other
    # explanations they are estimated: from LP relaxations, after the run's portfolio.
    variants = ideal_variants(m, data) if needs_ideals(data) or has_scores(data) else []
    unagreed = unagreed_variant(m, data)
    agreement = variants + ([unagreed] if unagreed else [])
    estimated = data.fund.explain_limit == 0 and not needs_ideals(data)
    outcomes = []
    if solving is not None:
        solving()
    if agreement and not estimated:
        with timings.phase("ideal portfolios and price of agreement"):
            outcomes = solver.solve_variants(m, agreement)
            if variants:
                ideals = store_ideals(m, solver, data, outcomes[:len(variants)])
    unagreed_outcome = outcomes[-1] if unagreed and outcomes else None
    with timings.phase("solve"):
        pending = None
        if agreement and estimated:  # solved on the other core while the run's portfolio is
            # in reverse: the model without the agreement rules is nearest the run's own, and each
            # nation's ideal then starts from the last relaxation's basis (Solver.relaxations)
            relaxations = solver.relaxations(m, agreement[::-1])

            def in_order() -> list:  # the bounds in the order of ``agreement``
                return relaxations()[::-1]

            pending = in_order
        outcome = solver.solve(m)
    relaxed = solver.relaxed  # the run's LP relaxation, for the estimates
    if data.fund.objective == "maxmin_satisfaction" and outcome.solved:
        with timings.phase("solve"):
            outcome = best_npv_at_maxmin(m, solver, data, outcome)
    values = solver.values() if outcome.solved else None  # the run's solution, for warm re-solves
    if outcome.status == INFEASIBLE:
        with timings.phase("diagnosis"):
            raise InfeasibleError(diagnose(data, settings, ideals))
    if outcome.status == TIME_LIMIT:
        raise TimeLimitError(f"the time limit of {settings.time_limit_s:g} s ran out before any portfolio "
                             "satisfying every rule was found; raise time_limit_s on the Fund sheet")
    from .report import objective_value

    price = None
    if outcome.solved and not estimated:
        kind = "npv" if data.fund.objective == "maxmin_satisfaction" else data.fund.objective
        price = price_from(unagreed_outcome, objective_value(data, outcome, kind, ideals))
    from .analysis.alternatives import alternatives
    from .analysis.diagnosis import blocking_rules
    from .analysis.explain import explain

    def objective_of(o: Outcome) -> float:
        return objective_value(data, o, None, ideals)

    with timings.phase("alternatives"):
        others = alternatives(m, solver, data, outcome, data.fund.alternatives)
    with timings.phase("removal cost and break-even"):
        step = (lambda done, total: progress("removal cost and break-even", done, total)) if progress else None
        removal, entry = explain(m, solver, data, outcome, objective_of, step, values, relaxed)
    with timings.phase("blocking rules"):
        blockers = blocking_rules(data, settings, ideals, [p for p, f in entry.items() if f.value is None],
                                  data.fund.explain_limit)
    with timings.phase("report"):
        report = build_report(data, outcome, ideals=ideals, price_of_agreement=price,
                              agreement_estimated=pending is not None,
                              alternatives=others, removal=removal, entry=entry, blockers=blockers,
                              timings=timings.phases, solver_version=solver.version,
                              options={"time_limit_s": settings.time_limit_s, "mip_gap": settings.mip_gap,
                                       "objective": data.fund.objective,
                                       "approval_rule": data.fund.approval_rule})
    report.run.append(("time: report (s)", round(timings.phases["report"], 4)))
    if pending is not None:  # only the report uses the estimates (no rule needs the ideals)
        def finish(rep: Report) -> None:
            from .report import complete_agreement

            phase = "ideal portfolios and price of agreement (LP estimates)"
            began = time.perf_counter()
            bounds = pending()
            ideals_est = {n: max(0.0, b) for n, b in zip(NATIONS, bounds[:len(variants)]) if b is not None}
            price_est = None
            if unagreed and bounds[-1] is not None:
                price_est = max(0.0, bounds[-1] - objective_value(data, outcome, data.fund.objective, ideals_est))
            complete_agreement(rep, data, outcome, ideals_est, price_est, True)
            waited = time.perf_counter() - began
            timings.phases[phase] = timings.phases.get(phase, 0.0) + waited
            rep.run.append((f"time: {phase} (s)", round(waited, 4)))

        report.pending = finish
        if not defer:
            report.complete()
    return outcome, report


def run_workbook(path: str | Path, output: str | Path | None = None, *, settings: SolverSettings | None = None,
                 overrides: dict | None = None, verify: bool = False, write: bool = True,
                 progress=None, separate_process: bool = False, _quick: bool | None = None) -> RunResult:
    """Run one workbook; ``overrides`` (e.g. from the command line) win over the Fund sheet.

    ``separate_process``: the carried input sheets of the output are written by a child process
    while the model is solved (:class:`~optimizer.workbook.writer.ReportDraft`), and the workbook
    is opened without openpyxl while a child process checks it with openpyxl
    (``read_pipeline_deferred``); for a process that runs one workbook and ends, as the command
    line does. The run goes on while the check runs, and waits for it before it writes or tells
    anything: when openpyxl reads other data (it has never been seen to), the run starts again
    from openpyxl's reading; when openpyxl cannot open the workbook, it is refused.

    A quick read (``separate_process``) also keeps the workbook's data and the built model out of
    Python's cycle collector until the run ends (``gc.freeze()``, then ``gc.unfreeze()``): left
    in, the first collections after the reading walk all of it again, and the built model with it
    (about 0.1 s at 10,000 projects). Not when something else in the process has frozen objects:
    those are its own to give back."""
    quick = separate_process if _quick is None else _quick
    freeze = quick and gc.get_freeze_count() == 0
    try:
        return _run_workbook(path, output, settings, overrides, verify, write, progress, separate_process,
                             quick, freeze)
    finally:
        if freeze:
            gc.unfreeze()


def _run_workbook(path, output, settings, overrides, verify, write, progress, separate_process, quick,
                  freeze) -> RunResult:
    from .workbook.validate import read_pipeline, read_pipeline_deferred
    from .workbook.writer import ReportDraft

    path = Path(path)
    out = Path(output) if output is not None else default_output(path)
    if out.suffix.lower() != ".xlsx":
        raise InputError([Problem("command line", None, "-o", str(out), "the output must be an .xlsx file")])
    if out.exists() and path.exists() and out.resolve() == path.resolve():
        raise InputError([Problem("command line", None, "-o", str(out),
                                  "the output would overwrite the input workbook; choose another name")])
    timings = Timings(listener=progress)
    with timings.phase("read"):
        data, pending = read_pipeline_deferred(path, _import_model, freeze) if quick else (read_pipeline(path), None)

    def checked() -> bool:
        """The quick read's check answered (once): False when openpyxl reads other data."""
        nonlocal pending
        if pending is None:
            return True
        asked, pending = pending, None
        return asked.same()

    def again() -> RunResult:
        """The run from the start, on openpyxl's reading (what was begun is dropped)."""
        nonlocal draft
        if draft is not None:
            draft.abandon()
            draft = None
        return run_workbook(path, output, settings=settings, overrides=overrides, verify=verify, write=write,
                            progress=progress, separate_process=separate_process, _quick=False)

    draft = None
    try:
        try:
            run_settings = settings or SolverSettings.from_fund(data.fund, **(overrides or {}))
            # the output workbook is begun as the model's solving begins (ReportDraft: its carried input sheets)
            draft = ReportDraft(data, out, separate_process=separate_process) if write else None
            outcome, report = solve_pipeline(data, run_settings, timings, progress, defer=write,
                                             solving=None if draft is None else draft.start)
        except InfeasibleError as exc:
            if not checked():
                return again()
            if draft is not None:
                draft.abandon()
                draft = None
                _write_diagnosis(data, exc, out, timings)
            raise
        except Exception:  # told only once the workbook's reading is confirmed
            if not checked():
                return again()
            raise
        if not checked():
            return again()
        from .workbook.validate import scale_warnings

        warnings = scale_warnings(data)
        report.summary.extend(("warning", str(w)) for w in warnings)
        result = RunResult(data, outcome, report, warnings=warnings)
        if draft is not None:
            with timings.phase("write"):
                draft, begun = None, draft
                begun.write(report)
            result.output = out
            if verify:
                from .verify import check_workbook

                result.verify_problems = check_workbook(out)
    finally:
        if draft is not None:  # the run ended without a portfolio to write
            draft.abandon()
        if pending is not None:  # stopped (e.g. interrupted) before the check was asked
            pending.abandon()
    report.complete()
    return result


def _import_model() -> None:
    """What the run imports next (Pyomo, about 0.25 s), imported while calamine parses a sheet
    without Python's lock: in this thread, so that no import lock is held when the run forks."""
    import models.portfolio  # noqa: F401
    import optimizer.analysis.agreement  # noqa: F401


def _write_diagnosis(data: Pipeline, exc: InfeasibleError, out: Path, timings: Timings) -> None:
    """Exit 3 still leaves a workbook: the Diagnosis sheet beside the carried input sheets."""
    from . import __version__
    from .workbook.writer import write_diagnosis

    report = Report("infeasible", None, None, None, [])
    report.summary = [("status", "infeasible"), ("message", str(exc)),
                      ("conflicting rules", len(exc.diagnosis)), ("currency unit", data.fund.currency_unit)]
    report.run = [("fundopt version", __version__), ("input file", data.source.name if data.source else ""),
                  ("input SHA-256", data.source.sha256 if data.source else "")]
    report.run += [(f"time: {k} (s)", round(v, 4)) for k, v in timings.phases.items()]
    write_diagnosis(report, exc.diagnosis, data, out)
    exc.output = out
