"""Efficient frontiers: the best objective as one rule is moved, on one built model (SPEC §2–§3).

``fundopt frontier PIPELINE.xlsx --x budget|risk|agreement --y npv [--points N] [--nested]``.
The model is built once, with the swept rule as a mutable parameter
(``ModelSettings(frontier=axis)``), and every point is an optimal re-solve of that same model by
the persistent HiGHS solver after the parameter is moved:

    budget     x = equity_capital            m.equity_capital      x_min … x_max (below)
    risk       x = max_avg_risk              m.max_avg_risk        1 … 5
    agreement  x = min_nation_satisfaction   m.min_satisfaction    0 … 1

with N evenly spaced points, x ascending. y = the optimal objective at x (SPEC §2 ``npv``),
recomputed from the solution's plain data by :func:`optimizer.report.objective_value`.
A point at which no portfolio satisfies every rule is reported ``infeasible`` with no y; it
does not stop the sweep. Only when no point has a portfolio does the frontier fail
(InfeasibleError / TimeLimitError, as a run would).

Budget range
    x_max = the commitments of the optimum with Equity_Capital switched off: at that equity the
            unconstrained optimum is affordable (without debt or investors), so more equity
            cannot raise y; y is flat beyond it.
    x_min = the least commitments of any portfolio that obeys every other rule (must-fund
            projects, minimum counts, at_least rules, …; 0 when the empty portfolio is allowed).
            When debt or outside investors may stand in for government equity, the least
            feasible equity_capital is found by bisection on [0, that amount] (feasibility is
            monotone in equity).

Agreement
    Each nation's ideal V*[n] is found once, with the satisfaction rules off
    (:func:`optimizer.analysis.agreement.ideal_values`). For the budget and risk frontiers of a
    Fund with ``min_nation_satisfaction``, the ideals depend on x and are found again at each point.

Nested (budget only)
    As the budget grows each portfolio contains the previous one: at point k the projects of the
    nested portfolio k−1 are fixed in (Select[p] = 1), the rest is re-optimized. Every point
    reports the nested y, the free optimum y_free at the same x, and
    nesting_cost = y_free − y ≥ 0, the value given up for nesting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..data import Pipeline, Problem
from ..errors import InfeasibleError, InputError, TimeLimitError
from ..report import committed_by_project, objective_value
from ..solve import FEASIBLE, INFEASIBLE, OPTIMAL, TIME_LIMIT, Outcome, Solver, SolverSettings

AXES = ("budget", "risk", "agreement")
Y_KINDS = ("npv",)
DEFAULT_POINTS = 11
RISK_RANGE = (1.0, 5.0)
AGREEMENT_RANGE = (0.0, 1.0)

#: the Fund parameter each axis moves
X_PARAMETER = {"budget": "equity_capital", "risk": "max_avg_risk", "agreement": "min_nation_satisfaction"}
#: the model's mutable parameter for each axis
_MODEL_PARAM = {"budget": "equity_capital", "risk": "max_avg_risk", "agreement": "min_satisfaction"}


# --------------------------------------------------------------------------- results (plain data)
@dataclass(frozen=True)
class FrontierPoint:
    x: float
    status: str
    y: float | None = None
    gap: float | None = None
    choices: dict = field(default_factory=dict)  # project_id -> Choice (the reported portfolio)
    committed: float = 0.0
    seconds: float = 0.0
    #: nested frontiers only: the free optimum at the same x
    y_free: float | None = None
    free_choices: dict | None = None

    @property
    def solved(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)

    @property
    def selected(self) -> list[str]:
        return list(self.choices)

    @property
    def nesting_cost(self) -> float | None:
        if self.y is None or self.y_free is None:
            return None
        cost = self.y_free - self.y
        return 0.0 if abs(cost) <= 1e-9 * max(1.0, abs(self.y_free)) else cost


@dataclass
class Frontier:
    axis: str
    y_kind: str
    nested: bool
    points: list[FrontierPoint]
    x_range: tuple[float, float]
    ideals: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    solver_version: str = ""
    options: dict = field(default_factory=dict)

    @property
    def x_parameter(self) -> str:
        return X_PARAMETER[self.axis]

    @property
    def status(self) -> str:
        solved = [p for p in self.points if p.solved]
        if not solved:
            return self.points[-1].status if self.points else INFEASIBLE
        return FEASIBLE if any(p.status == FEASIBLE for p in solved) else OPTIMAL

    @property
    def objective(self) -> float | None:
        """y at the last point (the largest x)."""
        return self.points[-1].y if self.points else None

    @property
    def selected(self) -> list[str]:
        return self.points[-1].selected if self.points else []

    @property
    def mip_gap(self) -> float | None:
        """The largest gap of any solved point (0 when every point is proven optimal)."""
        gaps = [p.gap for p in self.points if p.solved and p.gap is not None]
        return max(gaps) if gaps else None

    def json_points(self) -> list[dict]:
        out = []
        for p in self.points:
            rec = {"x": p.x, "y": p.y, "selected": p.selected, "status": p.status}
            if self.nested:
                rec.update({"y_free": p.y_free, "nesting_cost": p.nesting_cost,
                            "selected_free": list(p.free_choices or {})})
            out.append(rec)
        return out

    def rows(self) -> list[dict]:
        """The Frontier sheet: one row per point."""
        out = []
        for p in self.points:
            rec = {"x": p.x, "y": p.y, "status": p.status,
                   "projects": len(p.choices) if p.solved else None,
                   "committed": p.committed if p.solved else None, "selected": ", ".join(p.selected)}
            if self.nested:
                rec.update({"y_free": p.y_free, "nesting_cost": p.nesting_cost,
                            "selected_free": ", ".join(p.free_choices or {})})
            rec["mip_gap"] = p.gap
            out.append(rec)
        return out


# --------------------------------------------------------------------------- checks
def request_problems(axis: str | None, y_kind: str | None, points: int | None, nested: bool) -> list[Problem]:
    """Problems with the command-line choices alone (located on the 'command line')."""
    out = []
    if axis is None:
        out.append(Problem("command line", None, "--x", None, "choose the x axis: budget, risk or agreement"))
    elif axis not in AXES:
        out.append(Problem("command line", None, "--x", axis, "must be budget, risk or agreement"))
    if y_kind not in Y_KINDS:
        out.append(Problem("command line", None, "--y", y_kind, "must be npv"))
    if points is None or points < 2:
        out.append(Problem("command line", None, "--points", points, "must be a whole number ≥ 2"))
    if nested and axis in AXES and axis != "budget":
        out.append(Problem("command line", None, "--nested", True, "applies to --x budget only"))
    return out


def data_problems(data: Pipeline, axis: str) -> list[Problem]:
    """What the workbook must hold for this frontier."""
    out = []
    if axis == "risk":
        for p in data.projects:
            if p.risk is None:
                out.append(Problem("Projects", p.row, "risk", None,
                                   "risk is required because frontier --x risk sweeps max_avg_risk"))
    if axis == "agreement" and not any(p.us_score or p.jp_score for p in data.projects):
        out.append(Problem("Projects", None, "us_score", None,
                           "frontier --x agreement needs us_score or jp_score on some project"))
    return out


# --------------------------------------------------------------------------- the sweep
def grid(lo: float, hi: float, n: int) -> list[float]:
    """n evenly spaced values from lo to hi, both ends exact."""
    if n == 1:
        return [hi]
    step = (hi - lo) / (n - 1)
    return [lo + k * step for k in range(n - 1)] + [hi]


def frontier(data: Pipeline, axis: str, points: int = DEFAULT_POINTS, *, y_kind: str = "npv",
             nested: bool = False, settings: SolverSettings | None = None, timings=None,
             progress=None, on_point=None) -> Frontier:
    """Sweep ``axis`` over ``points`` values on one built model; see the module docstring.

    ``progress(phase, done, total)`` is told each point as it is done; ``on_point(point, k, n)``
    receives each finished :class:`FrontierPoint`.
    """
    from models.portfolio import ModelSettings, build

    from ..runner import Timings

    problems = request_problems(axis, y_kind, points, nested) + (data_problems(data, axis) if axis in AXES else [])
    if problems:
        raise InputError(problems)
    settings = settings or SolverSettings.from_fund(data.fund)
    timings = timings or Timings(listener=progress)
    with timings.phase("build"):
        m = build(data, ModelSettings(objective=y_kind, frontier=axis))
    solver = Solver(settings)
    sweep = _Sweep(m, solver, data, axis, y_kind, settings)

    ideals: dict[str, float] = {}
    if axis == "agreement":
        with timings.phase("ideal portfolios"):
            ideals = sweep.ideals_or_fail()
    with timings.phase("range"):
        if axis == "budget":
            lo, hi = sweep.budget_range()
        else:
            lo, hi = RISK_RANGE if axis == "risk" else AGREEMENT_RANGE
    xs = grid(lo, hi, points)

    result: list[FrontierPoint] = []
    previous: list[str] = []
    phase = f"frontier {axis}"
    with timings.phase("points"):
        if progress:
            progress(phase, 0, len(xs))
        for k, x in enumerate(xs, 1):
            point = sweep.point(x, previous if nested else None)
            if nested and point.solved:
                previous = point.selected
            result.append(point)
            if progress:
                progress(phase, k, len(xs))
            if on_point:
                on_point(point, k, len(xs))

    if not any(p.solved for p in result):
        if any(p.status == TIME_LIMIT for p in result):
            raise TimeLimitError(f"the time limit of {settings.time_limit_s:g} s ran out at every point of the "
                                 "frontier before any portfolio was found; raise time_limit_s on the Fund sheet")
        raise InfeasibleError(sweep.diagnosis())
    return Frontier(axis, y_kind, nested, result, (lo, hi), ideals or sweep.last_ideals, timings.phases,
                    solver.version, {"x": axis, "y": y_kind, "points": points, "nested": nested,
                                     "time_limit_s": settings.time_limit_s, "mip_gap": settings.mip_gap})


class _Sweep:
    """One built model and its persistent solver, moved from point to point."""

    def __init__(self, m, solver: Solver, data: Pipeline, axis: str, y_kind: str, settings: SolverSettings):
        self.m, self.solver, self.data, self.axis, self.y_kind = m, solver, data, axis, y_kind
        self.settings = settings
        # the Fund's own satisfaction rule (budget, risk): its ideals move with x
        self.ideals_each_point = axis != "agreement" and hasattr(m, "Nation_Satisfaction")
        self.last_ideals: dict[str, float] = {}

    # ---------------------------------------------------------------- helpers
    def _objective(self) -> None:
        from models.portfolio import set_objective

        set_objective(self.m, self.data, self.y_kind)

    def _solve(self) -> Outcome:
        self._objective()
        return self.solver.solve(self.m)

    def _y(self, o: Outcome) -> float:
        return objective_value(self.data, o, self.y_kind, self.last_ideals)

    def _committed(self, o: Outcome) -> float:
        return float(sum(committed_by_project(self.data, o.choices).values()))

    def _set_x(self, x: float) -> None:
        getattr(self.m, _MODEL_PARAM[self.axis]).set_value(float(x))

    def ideals_or_fail(self) -> dict[str, float]:
        from .agreement import ideal_values

        try:
            self.last_ideals = ideal_values(self.m, self.solver, self.data)
        finally:
            self._objective()  # ideal_values restores the Fund's objective
        return self.last_ideals

    def diagnosis(self) -> list[dict]:
        """Why no point has a portfolio: the workbook diagnosed with the swept rule at its loosest."""
        from .diagnosis import diagnose

        loosest = {"budget": {"equity_capital": sum(p.capex * p.max_stake for p in self.data.projects)},
                   "risk": {"max_avg_risk": None},
                   "agreement": {"min_nation_satisfaction": None}}[self.axis]
        try:
            return diagnose(self.data.with_fund(**loosest), self.settings)
        except Exception:  # the diagnosis is a courtesy; never hide the infeasibility behind it
            return []

    # ---------------------------------------------------------------- one point
    def point(self, x: float, keep: list[str] | None) -> FrontierPoint:
        start = time.perf_counter()
        self._set_x(x)
        if self.ideals_each_point:
            try:
                self.ideals_or_fail()
            except InfeasibleError:
                return FrontierPoint(x, INFEASIBLE, seconds=time.perf_counter() - start)
            except TimeLimitError:
                return FrontierPoint(x, TIME_LIMIT, seconds=time.perf_counter() - start)
        free = self._solve()
        if keep is None:
            return self._point(x, free, start)
        nested = free
        if keep and free.solved and not set(keep) <= set(free.choices):
            m = self.m
            for p in keep:
                m.Select[p].fix(1)
            try:
                nested = self._solve()
            finally:
                for p in keep:
                    m.Select[p].unfix()
        pt = self._point(x, nested, start)
        return FrontierPoint(pt.x, pt.status, pt.y, pt.gap, pt.choices, pt.committed, pt.seconds,
                             y_free=self._y(free) if free.solved else None,
                             free_choices=dict(free.choices) if free.solved else None)

    def _point(self, x: float, o: Outcome, start: float) -> FrontierPoint:
        seconds = time.perf_counter() - start
        if not o.solved:
            return FrontierPoint(x, o.status, seconds=seconds)
        return FrontierPoint(x, o.status, self._y(o), o.gap, dict(o.choices), self._committed(o), seconds)

    # ---------------------------------------------------------------- budget range
    def budget_range(self) -> tuple[float, float]:
        from models.portfolio import satisfaction_rules, set_objective_expr

        m, data = self.m, self.data
        m.Equity_Capital.deactivate()
        try:
            if self.ideals_each_point:
                try:
                    self.ideals_or_fail()
                except InfeasibleError:
                    raise InfeasibleError(self.diagnosis()) from None
            free = self._solve()
            if free.status == INFEASIBLE:
                raise InfeasibleError(self.diagnosis())
            if not free.solved:
                raise TimeLimitError(f"the time limit of {self.settings.time_limit_s:g} s ran out before the "
                                     "unconstrained portfolio that sets the top of the budget range was found")
            hi = self._committed(free)
            off = satisfaction_rules(m)
            for c in off:
                c.deactivate()
            try:
                set_objective_expr(m, -m.total_committed)
                least = self.solver.solve(m)
            finally:
                for c in off:
                    c.activate()
                self._objective()
            if least.solved:
                lo = self._committed(least)
            else:  # the time limit ran out: the must-fund commitments are a safe lower end
                lo = sum(p.capex * p.min_stake for p in data.projects if p.decision == "must fund")
        finally:
            m.Equity_Capital.activate()
        if lo > 0 and (data.investors or data.fund.max_leverage > 0):
            lo = self._least_equity(lo)
        return lo, max(lo, hi)

    def _feasible_at(self, equity: float) -> bool:
        from models.portfolio import satisfaction_rules

        self.m.equity_capital.set_value(float(equity))
        off = satisfaction_rules(self.m)
        for c in off:
            c.deactivate()
        try:
            return self._solve().solved
        finally:
            for c in off:
                c.activate()

    def _least_equity(self, enough: float) -> float:
        """Debt or investors may stand in for equity: bisect for the least feasible equity_capital."""
        if self._feasible_at(0.0):
            return 0.0
        lo, hi = 0.0, enough
        tol = 1e-6 * max(1.0, enough)
        while hi - lo > tol:
            mid = (lo + hi) / 2
            if self._feasible_at(mid):
                hi = mid
            else:
                lo = mid
        return hi


# --------------------------------------------------------------------------- end to end
def default_output(input_path: Path, axis: str) -> Path:
    return Path("outputs") / f"{Path(input_path).stem}-frontier-{axis}.xlsx"


def run_frontier(path: str | Path, output: str | Path | None = None, *, axis: str | None, y_kind: str | None = "npv",
                 points: int | None = DEFAULT_POINTS, nested: bool = False, overrides: dict | None = None,
                 write: bool = True, progress=None, on_point=None) -> tuple[Frontier, Pipeline, Path | None]:
    """Read, check, sweep and write the frontier workbook; raise the typed errors of a run."""
    from ..runner import Timings
    from ..workbook.validate import read_pipeline

    path = Path(path)
    problems = request_problems(axis, y_kind, points, nested)
    out = Path(output) if output is not None else default_output(path, axis or "x")
    if out.suffix.lower() != ".xlsx":
        problems.append(Problem("command line", None, "-o", str(out), "the output must be an .xlsx file"))
    elif path.exists() and out.exists() and out.resolve() == path.resolve():
        problems.append(Problem("command line", None, "-o", str(out),
                                "the output would overwrite the input workbook; choose another name"))
    timings = Timings(listener=progress)
    try:
        with timings.phase("read"):
            data = read_pipeline(path)
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    if axis in AXES:
        problems += data_problems(data, axis)
    if problems:
        raise InputError(problems)
    settings = SolverSettings.from_fund(data.fund, **(overrides or {}))
    front = frontier(data, axis, points, y_kind=y_kind, nested=nested, settings=settings, timings=timings,
                     progress=progress, on_point=on_point)
    if not write:
        return front, data, None
    from ..workbook.frontier_writer import write_frontier

    with timings.phase("write"):
        write_frontier(front, data, out)
    front.timings = dict(timings.phases)
    return front, data, out
