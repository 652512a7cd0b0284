"""Solving the model with HiGHS through Pyomo, and pulling the answer out as plain data.

One :class:`Solver` wraps a persistent HiGHS instance, so a model built once can be
re-solved after small changes (a project forced in or out, a limit moved) without being
rebuilt. :func:`extract` turns the solved model into a :class:`Choice` per project: plain
data that the report, the analyses and batch workers use; none of them sees Pyomo.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from .errors import SolverError

OPTIMAL, FEASIBLE, INFEASIBLE, TIME_LIMIT = "optimal", "feasible", "infeasible", "time_limit"


@dataclass(frozen=True)
class SolverSettings:
    """Options for every solve of a run; from the Fund sheet or the command line."""

    time_limit_s: float = 60.0
    mip_gap: float = 0.0001
    threads: int | None = None
    verbose: bool = False
    seed: int = 0

    @classmethod
    def from_fund(cls, fund, **overrides) -> "SolverSettings":
        values = {"time_limit_s": fund.time_limit_s, "mip_gap": fund.mip_gap}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def highs_options(self) -> dict:
        opts = {"time_limit": float(self.time_limit_s), "mip_rel_gap": float(self.mip_gap),
                "mip_abs_gap": 1e-9 if self.mip_gap == 0 else 1e-6, "random_seed": self.seed,
                "output_flag": bool(self.verbose), "log_to_console": bool(self.verbose)}
        if self.threads:
            opts["threads"] = int(self.threads)
        return opts


@dataclass(frozen=True)
class Choice:
    """How one project is funded in a solution."""

    stake: float
    start_year: int


@dataclass(frozen=True)
class Outcome:
    status: str
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    choices: dict = field(default_factory=dict)  # project_id -> Choice, funded projects only
    debt: dict = field(default_factory=dict)  # year -> debt drawn (years with debt only)
    investors: dict = field(default_factory=dict)  # investor -> commitment (investors that commit only)

    @property
    def selected(self) -> list[str]:
        return list(self.choices)

    @property
    def solved(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None or not math.isfinite(bound):
        return None
    diff = abs(bound - objective)
    if diff <= 1e-9:
        return 0.0
    return diff / max(abs(objective), 1e-10)


class Solver:
    """A persistent HiGHS solver for one model."""

    def __init__(self, settings: SolverSettings):
        from pyomo.contrib.appsi.solvers import Highs

        self.settings = settings
        self._highs = Highs()
        if not self._highs.available():
            raise SolverError("the HiGHS solver (highspy) is not installed")
        self._highs.config.load_solution = False
        self._highs.config.stream_solver = bool(settings.verbose)
        self._highs.config.time_limit = float(settings.time_limit_s)
        self._highs.highs_options = settings.highs_options()

    def solve_with_fixed(self, m, var, value: float, start=None) -> Outcome:
        """Re-solve with one variable fixed, then free it again.

        ``start``: a value per HiGHS column (see :meth:`values`) offered as the first incumbent;
        HiGHS keeps it only when it satisfies every rule, so a wrong guess costs nothing.

        The model must have been solved by this solver before (the persistent instance is set).
        Only that variable is sent to HiGHS (the persistent instance keeps everything else, and
        its basis): Pyomo's scan of the whole model for changes is switched off meanwhile, so a
        re-solve costs the solver's time, not a walk over every constraint.
        """
        cfg = self._highs.update_config
        keys = ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                "check_for_new_or_removed_params", "check_for_new_objective", "update_constraints",
                "update_vars", "update_params", "update_named_expressions", "update_objective")
        saved = {k: getattr(cfg, k) for k in keys}
        self._highs.update()  # bring HiGHS up to date first (e.g. cuts removed since the last solve)
        for k in keys:
            setattr(cfg, k, False)
        try:
            var.fix(value)
            self._highs.update_variables([var])
            if start is not None:
                self._offer(start)
            outcome = self.solve(m)
        finally:
            var.unfix()
            self._highs.update_variables([var])
            for k, v in saved.items():
                setattr(cfg, k, v)
        return outcome

    def values(self):
        """The last solution found, one value per HiGHS column (a copy; None before any)."""
        import numpy as np

        sol = self._highs._solver_model.getSolution()
        return np.array(sol.col_value) if sol.value_valid else None

    def _offer(self, values) -> None:
        import highspy

        sol = highspy.HighsSolution()
        sol.col_value = values
        sol.value_valid = True
        self._highs._solver_model.setSolution(sol)

    def highs(self):
        """The highspy instance holding the model as last solved (for bulk work on its arrays)."""
        self._highs.update()  # e.g. cuts removed from the model since the last solve
        return self._highs._solver_model

    def columns(self, variables) -> list[int]:
        """HiGHS column index of each Pyomo variable of the model last solved."""
        index = self._highs._pyomo_var_to_solver_var_map
        return [index[id(v)] for v in variables]

    def solve_each_fixed(self, m, jobs, workers: int | None = None):
        """Re-solve once per job ``(var, value, start)`` with that variable fixed to ``value``;
        yield ``(index, Outcome)`` in job order.

        The jobs are independent, so they run on copies of the HiGHS model as last solved (same
        options), one thread per core: HiGHS releases the GIL while it solves. Each answer is
        loaded back into the Pyomo model in job order, as :meth:`solve_with_fixed` would leave
        it. ``start`` is an optional first incumbent.
        """
        if _workers(workers, len(jobs)) <= 1:
            for i, (var, value, start) in enumerate(jobs):
                yield i, self.solve_with_fixed(m, var, value, start)
            return
        model = self.highs().getModel()
        cols = self.columns([var for var, _, _ in jobs])
        where = self._where()
        tasks = [(model, (j, float(value)), start, where) for j, (_, value, start) in zip(cols, jobs)]
        yield from self._solve_copies(m, tasks, workers)

    def solve_variants(self, m, variants, workers: int | None = None) -> list[Outcome]:
        """Solve several variants of the model at once; one Outcome per variant, in order.

        A variant is a pair of callables ``(change, undo)`` that edit the Pyomo model (e.g. swap
        the objective, switch rules off) and put it back. Each variant's HiGHS model is taken by
        applying its change to the persistent instance and copying it out; the copies are then
        solved side by side, one thread per core. The Pyomo model ends as it began, with the
        last variant's answer loaded.
        """
        if _workers(workers, len(variants)) <= 1:
            outcomes = []
            for change, undo in variants:
                change()
                try:
                    outcomes.append(self.solve(m))
                finally:
                    undo()
            return outcomes
        if self._highs._model is not m:
            self._highs.set_instance(m)
        tasks = []
        for change, undo in variants:
            change()
            try:  # appsi drops columns no longer used, so each copy keeps its own column map
                tasks.append((self.highs().getModel(), None, None, self._where()))
            finally:
                undo()
        self.highs()  # the persistent instance back in step with the model
        return [o for _, o in self._solve_copies(m, tasks, workers)]

    def _where(self) -> list:
        """(variable, column) of every variable the HiGHS model holds now."""
        known = self._highs._vars
        return [(known[vid][0], j) for vid, j in self._highs._pyomo_var_to_solver_var_map.items()]

    def _solve_copies(self, m, tasks, workers: int | None):
        """Solve ``(model, fix, start, where)`` tasks on per-thread HiGHS copies; yield (index, Outcome)
        in order (``where``: the copy's (variable, column) pairs).

        ``fix`` is None or ``(column, value)``: that column fixed for the task, freed afterwards."""
        import threading

        import highspy

        options = {k: v for k, v in self.settings.highs_options().items() if k != "threads"}
        results: dict[int, object] = {}
        ready = threading.Condition()
        claim = iter(range(len(tasks)))
        stop = threading.Event()

        def work() -> None:
            h = highspy.Highs()
            for k, v in options.items():
                h.setOptionValue(k, v)
            held = None
            while not stop.is_set():
                with ready:
                    i = next(claim, None)
                if i is None:
                    return
                model, fix, start, _ = tasks[i]
                try:
                    if model is not held:
                        h.passModel(model)
                        held = model
                    if fix is not None:
                        j, value = fix
                        h.changeColBounds(j, value, value)
                    if start is not None:
                        sol = highspy.HighsSolution()
                        sol.col_value = start
                        sol.value_valid = True
                        h.setSolution(sol)
                    began = time.perf_counter()
                    h.run()
                    item = _raw_result(h, time.perf_counter() - began)
                    if fix is not None:
                        h.changeColBounds(j, model.lp_.col_lower_[j], model.lp_.col_upper_[j])
                except Exception as exc:  # handed to the caller's thread
                    item = exc
                with ready:
                    results[i] = item
                    ready.notify_all()

        threads = [threading.Thread(target=work, daemon=True) for _ in range(_workers(workers, len(tasks)))]
        for t in threads:
            t.start()
        try:
            for i in range(len(tasks)):
                with ready:
                    ready.wait_for(lambda: i in results)
                    item = results.pop(i)
                if isinstance(item, Exception):
                    raise SolverError(f"HiGHS failed: {item}") from item
                yield i, self._outcome(m, tasks[i][3], *item)
        finally:
            stop.set()
            for t in threads:
                t.join()

    def _outcome(self, m, where, status: str, obj, bound, seconds: float, values) -> Outcome:
        """An Outcome from a raw solve's column values, loaded into the Pyomo variables."""
        if status not in (OPTIMAL, FEASIBLE):
            return Outcome(status, seconds=seconds)
        for var, j in where:
            if not var.fixed:
                var.set_value(values[j], skip_validation=True)
        return Outcome(status, obj, bound, relative_gap(obj, bound), seconds, extract(m), *extract_capital(m))

    @property
    def version(self) -> str:
        return ".".join(str(v) for v in self._highs.version())

    def solve(self, m) -> Outcome:
        from pyomo.contrib.appsi.base import TerminationCondition as TC

        start = time.perf_counter()
        try:
            res = self._highs.solve(m)
        except Exception as exc:  # the solver itself broke
            raise SolverError(f"HiGHS failed: {exc}") from exc
        seconds = time.perf_counter() - start
        tc = res.termination_condition
        obj = res.best_feasible_objective
        bound = res.best_objective_bound
        has_solution = obj is not None and math.isfinite(obj)
        if tc == TC.optimal:
            status = OPTIMAL
        elif tc in (TC.infeasible, TC.infeasibleOrUnbounded):
            return Outcome(INFEASIBLE, seconds=seconds)
        elif tc in (TC.maxTimeLimit, TC.maxIterations, TC.interrupted) or has_solution:
            if not has_solution:
                return Outcome(TIME_LIMIT, seconds=seconds)
            status = FEASIBLE
        else:
            raise SolverError(f"HiGHS stopped with status {tc.name}")
        res.solution_loader.load_vars()
        return Outcome(status, obj, bound, relative_gap(obj, bound), seconds, extract(m), *extract_capital(m))


def _workers(requested: int | None, tasks: int) -> int:
    import os

    return max(1, min(requested or os.cpu_count() or 1, tasks))


def _raw_result(h, seconds: float) -> tuple:
    """(status, objective, bound, seconds, column values) of a highspy instance that just ran."""
    import highspy

    ms = highspy.HighsModelStatus
    status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # a feasible solution is held
    if status == ms.kOptimal:
        code = OPTIMAL
    elif status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        code = INFEASIBLE
    elif status in (ms.kTimeLimit, ms.kIterationLimit, ms.kInterrupt, ms.kSolutionLimit) or has_solution:
        code = FEASIBLE if has_solution else TIME_LIMIT
    else:
        raise SolverError(f"HiGHS stopped with status {h.modelStatusToString(status)}")
    if code not in (OPTIMAL, FEASIBLE):
        return code, None, None, seconds, None
    return code, info.objective_function_value, info.mip_dual_bound, seconds, list(h.getSolution().col_value)


def extract(m) -> dict:
    """Funded projects of the loaded solution: project_id -> Choice, in project order."""
    from models.selection import start

    choices = {}
    varying = set(m.VARYING)
    for p, t in m.STARTS:
        if (start(m, p, t).value or 0.0) > 0.5:
            stake = m.Stake[p, t].value if (p, t) in varying else None
            if stake is None:
                stake = _fixed_stake(m, p, t)
            if stake > 1e-9:  # a project started at a 0 % stake is not funded
                choices[p] = Choice(round(float(stake), 9), int(t))
    order = {p: i for i, p in enumerate(m.PROJECTS)}
    return dict(sorted(choices.items(), key=lambda kv: order[kv[0]]))


def _fixed_stake(m, p, t) -> float:
    from pyomo.environ import value

    from models.selection import start

    on = start(m, p, t).value
    return value(m.stake[p, t]) / on if on else 0.0


def extract_capital(m) -> tuple[dict, dict]:
    """Debt drawn by year and investor commitments of the loaded solution (zeros left out)."""
    debt, investors = {}, {}
    if hasattr(m, "Debt"):
        for y in m.YEARS:
            v = m.Debt[y].value or 0.0
            if v > 1e-9:
                debt[int(y)] = round(float(v), 9)
    if hasattr(m, "Commit"):
        for i in m.INVESTORS:
            v = m.Commit[i].value or 0.0
            if v > 1e-9:
                investors[i] = round(float(v), 9)
    return debt, investors

