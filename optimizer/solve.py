"""Solving the model with HiGHS, and pulling the answer out as plain data.

One :class:`Solver` keeps one HiGHS instance in step with one Pyomo model, so a model built
once is re-solved after small changes (a project forced in or out, a rule switched off, a limit
moved, the objective swapped, a cut added) without being rebuilt or re-read.

The model is handed to HiGHS as arrays. Its big rule families are
:class:`models.linear.LinearRows` blocks, already a sparse matrix, so the whole matrix goes over
in one ``passModel``; the few ordinary Pyomo constraints analyses add (alternatives' cuts, the
maxmin hold, the elastic rows of a diagnosis) are read term by term. Before each solve the
instance is brought in step with the model (:meth:`_Compiled.sync`):

* variables: which are fixed, and at what value (bounds are read when the model is handed over;
  a fix is the one change analyses make to a variable);
* a row block whose every row holds one variable (a screen ``Select[p] = 0``, a lock
  ``Select[p] = 1``) goes over as bounds on those columns, not as rows: 2,580 of the 5,650 rows
  of a 10,000-project pipeline, whose LP relaxation then takes about 0.45 s instead of 0.65 s.
  The rows stay in the Pyomo model (the report, the diagnosis and the analyses see them as
  rules); a fix is met together with them (a column fixed outside them is infeasible, as the
  row would make it), and (de)activating them moves the bounds;
* constraints: a row block or a row (de)activated becomes a free row (or its bounds again); a
  mutable parameter that moved (``equity_capital``, ``ideal[n]``, …) re-reads the rows that use
  it; a constraint added is appended, one deleted is removed;
* the objective, when it is a new one.

:func:`extract` turns a solution into a :class:`Choice` per project: plain data that the
report, the analyses and batch workers use; none of them sees Pyomo.
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
    #: MIPs with at least this many integer columns try the LP relaxation and rounded portfolios
    #: before HiGHS's search (optimizer/heuristic.py); smaller ones go straight to the search
    #: (0: every MIP; the steps cost a few milliseconds on a small one)
    heuristic_min_integers: int = 0

    @classmethod
    def from_fund(cls, fund, **overrides) -> "SolverSettings":
        values = {"time_limit_s": fund.time_limit_s, "mip_gap": fund.mip_gap}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def highs_options(self) -> dict:
        """HiGHS's options for every solve. Branch and bound runs without the RINS / RENS sub-MIPs
        and without cut separation below the root (optimizer.race.LEAN_OPTIONS): on hard
        capital-budgeting MIPs the optimum is found early and the time goes into the proof, which
        those slow (benchmarks/README.md, hard instances)."""
        from .race import LEAN_OPTIONS

        opts = {"time_limit": float(self.time_limit_s), "mip_rel_gap": float(self.mip_gap),
                "mip_abs_gap": 1e-9 if self.mip_gap == 0 else 1e-6, "random_seed": self.seed,
                "output_flag": bool(self.verbose), "log_to_console": bool(self.verbose), **LEAN_OPTIONS}
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


# --------------------------------------------------------------------------- the model in HiGHS
_BANNER_SHOWN = False


def pass_columns(h, n: int, m: int, start, index, value, cost, offset: float, maximize: bool, col_lo, col_up,
                 row_lo, row_up, integer):
    """Hand a model held by column to the highspy instance ``h`` as numpy arrays; HiGHS's status.

    The arrays go to HiGHS as they are; through ``HighsLp`` attributes each would be converted
    element by element, holding the GIL (a 90-column MIP: 0.23 ms against 0.03 ms)."""
    import highspy
    import numpy as np

    f64 = (lambda a: np.ascontiguousarray(a, dtype=np.float64))
    sense = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    return h.passModel(int(n), int(m), int(len(index)), int(highspy.MatrixFormat.kColwise), int(sense), float(offset),
                       f64(cost), f64(col_lo), f64(col_up), f64(row_lo), f64(row_up),
                       np.ascontiguousarray(start, dtype=np.int32), np.ascontiguousarray(index, dtype=np.int32),
                       f64(value), np.asarray(integer, dtype=np.int32))  # HighsVarType: 1 integer, 0 continuous


def new_highs():
    """A quiet highspy instance. HiGHS prints its banner on standard output when the process makes
    its first instance, before any option can be set; it is sent to /dev/null so that ``--json``
    leaves nothing but its JSON there."""
    import os
    import sys

    import highspy

    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        sink = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(sink, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(sink)
        _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    return h


class _Compiled:
    """One Pyomo model as one HiGHS instance, and what is needed to keep the two in step."""

    def __init__(self, m, options: dict):
        import highspy
        import numpy as np

        self.np = np
        self.hs = highspy
        self.m = m
        self.inf = highspy.kHighsInf
        self.h = new_highs()
        for k, v in options.items():
            self.h.setOptionValue(k, v)
        self._load()

    # ---------------------------------------------------------------- the first hand-over
    def _load(self) -> None:
        import pyomo.core as pyo

        from models.linear import LinearRows

        np, m = self.np, self.m
        self.vars = list(m.columns.vars) if hasattr(m, "columns") else []
        self.col = {id(v): j for j, v in enumerate(self.vars)}
        self.blocks: dict[int, list] = {}   # id(LinearRows) -> [component, first row, active mask, parameters]
        self.folded: dict[int, list] = {}   # id(LinearRows) -> [component, columns, lower, upper, active mask]
        self.rows: dict[int, list] = {}     # id(ConstraintData) -> [data, row, active, body's constant]
        self.nrows = 0
        starts, indices, values, lower, upper = [], [], [], [], []
        for comp in m.component_objects(pyo.Constraint, descend_into=True):
            if isinstance(comp, LinearRows):
                indptr, cols, coefs, lo, up = comp.matrix()
                active = comp.active_rows()
                if _foldable(comp, indptr):
                    with np.errstate(divide="ignore", invalid="ignore"):
                        lo_x, up_x = np.where(coefs > 0, lo / coefs, up / coefs), np.where(coefs > 0, up / coefs, lo / coefs)
                    self.folded[id(comp)] = [comp, cols, lo_x, up_x, active]
                    continue
                lo, up = np.where(active, lo, -np.inf), np.where(active, up, np.inf)
                self.blocks[id(comp)] = [comp, self.nrows, active, comp.parameters()]
                starts.append(indptr[:-1] + sum(len(i) for i in indices))
                indices.append(cols)
                values.append(coefs)
                lower.append(lo)
                upper.append(up)
                self.nrows += len(lo)
        ncol = len(self.vars)
        lb, ub, integer = self._bounds(self.vars)
        self.fold_lo, self.fold_up = self._folded_bounds(ncol)
        lb, ub = np.maximum(lb, self.fold_lo), np.minimum(ub, self.fold_up)
        cat = (lambda a: np.concatenate(a) if a else np.zeros(0))
        self.row_lo = np.maximum(cat(lower), -self.inf) if self.nrows else np.zeros(0)
        self.row_up = np.minimum(cat(upper), self.inf) if self.nrows else np.zeros(0)
        # the rows are built row by row; HiGHS keeps its matrix by column, and the heuristic reads
        # it so: transposed here once (HiGHS would do it in passModel, and the heuristic again)
        row_start = np.append(cat(starts), sum(len(i) for i in indices)).astype(np.int64)
        index = cat(indices).astype(np.int64)
        order = np.argsort(index, kind="stable")
        col_start = np.zeros(ncol + 1, dtype=np.int64)
        np.cumsum(np.bincount(index, minlength=ncol), out=col_start[1:])
        self.entries = (col_start, np.repeat(np.arange(self.nrows, dtype=np.int64), np.diff(row_start))[order],
                        cat(values).astype(float)[order])
        self.col_lo, self.col_up = lb.copy(), ub.copy()  # HiGHS's column bounds, kept in step by _set_col
        self.rows_as_loaded = True  # HiGHS's rows are still self.entries, self.row_lo, self.row_up
        self.integer = integer
        self._check(pass_columns(self.h, ncol, self.nrows, *self.entries, np.zeros(ncol), 0.0, False, lb, ub,
                                 self.row_lo, self.row_up, integer), "passModel")
        self.fixed = np.array([v._fixed for v in self.vars], dtype=bool)
        self.fixed_value = np.array([v.value if f else 0.0 for v, f in zip(self.vars, self.fixed)], dtype=float)
        self.objective = None
        self.cost, self.offset, self.maximize = np.zeros(ncol), 0.0, False
        self.sync()

    def _bounds(self, variables):
        np, inf = self.np, self.inf
        lb = np.empty(len(variables))
        ub = np.empty(len(variables))
        integer = np.zeros(len(variables), dtype=bool)
        for j, v in enumerate(variables):
            if v._fixed:
                lb[j] = ub[j] = float(v.value)
            else:
                lo, up = v.lb, v.ub
                lb[j] = -inf if lo is None else lo
                ub[j] = inf if up is None else up
            integer[j] = v.is_integer()
        return lb, ub, integer

    def _folded_bounds(self, ncol: int):
        """Each column's bounds from the active rows of the folded blocks (±inf where none)."""
        np = self.np
        lo, up = np.full(ncol, -np.inf), np.full(ncol, np.inf)
        for _, cols, lo_x, up_x, active in self.folded.values():
            np.maximum.at(lo, cols[active], lo_x[active])
            np.minimum.at(up, cols[active], up_x[active])
        return lo, up

    def _check(self, status, what: str) -> None:
        if status == self.hs.HighsStatus.kError:
            raise SolverError(f"HiGHS refused the model ({what})")

    def _column(self, v) -> int:
        """The column of a variable, added to HiGHS when first met (e.g. an elastic slack)."""
        j = self.col.get(id(v))
        if j is not None:
            return j
        lb, ub, integer = self._bounds([v])
        self._check(self.h.addCol(0.0, lb[0], ub[0], 0, [], []), "addCol")
        self.rows_as_loaded = False
        j = len(self.vars)
        self.vars.append(v)
        self.col[id(v)] = j
        if integer[0]:
            self.h.changeColIntegrality(j, self.hs.HighsVarType.kInteger)
        self.integer = self.np.append(self.integer, integer[0])
        self.fold_lo = self.np.append(self.fold_lo, -self.np.inf)
        self.fold_up = self.np.append(self.fold_up, self.np.inf)
        self.fixed = self.np.append(self.fixed, bool(v._fixed))
        self.fixed_value = self.np.append(self.fixed_value, float(v.value) if v._fixed else 0.0)
        return j

    # ---------------------------------------------------------------- keeping in step
    def sync(self, scan_vars: bool = True) -> None:
        """Bring HiGHS in step with the model; raise _Stale when only a new hand-over will do."""
        import pyomo.core as pyo

        from models.linear import LinearRows

        if scan_vars:
            self._sync_fixed()
        seen_blocks, seen_rows = set(), set()
        folds_moved = False
        for comp in self.m.component_objects(pyo.Constraint, descend_into=True):
            if isinstance(comp, LinearRows):
                fold = self.folded.get(id(comp))
                if fold is not None and fold[0] is comp:
                    seen_blocks.add(id(comp))
                    now = comp.active_rows()
                    if not self.np.array_equal(now, fold[4]):
                        fold[4] = now
                        folds_moved = True
                    continue
                entry = self.blocks.get(id(comp))
                if entry is None or entry[0] is not comp:
                    raise _Stale()
                seen_blocks.add(id(comp))
                self._sync_block(entry)
                continue
            for data in comp.values():
                seen_rows.add(id(data))
                entry = self.rows.get(id(data))
                if entry is None or entry[0] is not data:
                    self._add_row(data)
                elif entry[2] != data.active:
                    entry[2] = data.active
                    self.h.changeRowBounds(entry[1], *self._row_bounds(data, entry[3]))
                    self.rows_as_loaded = False
        if len(seen_blocks) != len(self.blocks) + len(self.folded):
            raise _Stale()
        if folds_moved:
            self._sync_folded()
        gone = [k for k in self.rows if k not in seen_rows]
        if gone:
            self._delete_rows(gone)
        self._sync_objective()

    def _sync_fixed(self) -> None:
        np = self.np
        fixed = np.fromiter((v._fixed for v in self.vars), dtype=bool, count=len(self.vars))
        changed = np.flatnonzero(fixed != self.fixed)
        still = np.flatnonzero(fixed & self.fixed)
        if len(still):
            now = np.array([self.vars[j].value for j in still.tolist()], dtype=float)
            changed = np.union1d(changed, still[now != self.fixed_value[still]])
        self._set_cols(changed)

    def _sync_folded(self) -> None:
        np = self.np
        lo, up = self._folded_bounds(len(self.vars))
        moved = np.flatnonzero((lo != self.fold_lo) | (up != self.fold_up))
        self.fold_lo, self.fold_up = lo, up
        self._set_cols(moved)

    def _col_bounds(self, j: int) -> tuple[float, float]:
        """Column j's bounds: its variable's (its value when fixed) within the folded rows'; the
        mirrors (col_lo, col_up, fixed) set to them."""
        v = self.vars[j]
        if v._fixed:
            x = float(v.value)
            lo, up = self.fixed_bounds(j, x)
            self.fixed[j], self.fixed_value[j] = True, x
        else:
            lo, up = v.lb, v.ub
            lo = max(-self.inf if lo is None else lo, float(self.fold_lo[j]))
            up = min(self.inf if up is None else up, float(self.fold_up[j]))
            self.fixed[j] = False
        self.col_lo[j], self.col_up[j] = lo, up
        return lo, up

    def _set_col(self, j: int) -> None:
        """Column j's bounds in HiGHS (see _col_bounds)."""
        self.h.changeColBounds(j, *self._col_bounds(j))

    def _set_cols(self, js) -> None:
        """Columns js's bounds in HiGHS, in one call (a rule switched off moves thousands)."""
        np = self.np
        js = np.asarray(js, dtype=np.int64)
        if len(js) <= 1:
            for j in js.tolist():
                self._set_col(j)
            return
        for j in js.tolist():
            self._col_bounds(j)
        self.h.changeColsBounds(len(js), js.astype(np.int32), self.col_lo[js], self.col_up[js])

    def fixed_bounds(self, j: int, value: float) -> tuple[float, float]:
        """Column j's bounds when fixed to ``value``: within the folded rows' (lower > upper:
        infeasible, as those rows would make it)."""
        return max(float(value), float(self.fold_lo[j])), min(float(value), float(self.fold_up[j]))

    def _sync_block(self, entry) -> None:
        np = self.np
        comp, first, active, params = entry
        now = comp.active_rows()
        values = comp.parameters() if (comp._terms or params) else params
        moved = values != params
        if not moved and np.array_equal(now, active):
            return
        indptr, cols, coefs, lo, up = comp.matrix()
        terms = len(comp._terms)  # parameters() gives the coefficients' multipliers first
        if terms and values[:terms] != params[:terms]:
            self.rows_as_loaded = False  # coefficients moved: the heuristic reads HiGHS's rows
            for k in sorted({k for k, _, _ in comp._terms}):
                old = self._row_entries(first + k)
                new = dict(zip(cols[indptr[k]:indptr[k + 1]].tolist(), coefs[indptr[k]:indptr[k + 1]].tolist()))
                for j in set(old) | set(new):
                    if old.get(j, 0.0) != new.get(j, 0.0):
                        self.h.changeCoeff(first + k, j, new.get(j, 0.0))
        rows = np.arange(len(lo)) if moved else np.flatnonzero(now != active)
        # the mirror of HiGHS's row bounds, copied first: matrices handed out keep the old ones
        self.row_lo, self.row_up = self.row_lo.copy(), self.row_up.copy()
        for k in rows.tolist():
            if now[k]:
                bounds = max(lo[k], -self.inf), min(up[k], self.inf)
            else:
                bounds = -self.inf, self.inf
            self.h.changeRowBounds(first + k, *bounds)
            self.row_lo[first + k], self.row_up[first + k] = bounds
        entry[2], entry[3] = now, values

    def _row_entries(self, row: int) -> dict:
        _, _, index, value = self.h.getRowsEntries(1, self.np.array([row], dtype=self.np.int32))
        return dict(zip(self.np.asarray(index).tolist(), self.np.asarray(value).tolist()))

    def _linear(self, expr):
        """(columns, coefficients, constant) of a linear Pyomo expression; a fixed variable stays a
        column (its bounds hold it), so that unfixing it later needs no re-read."""
        from pyomo.core.expr.visitor import identify_variables
        from pyomo.repn.standard_repn import generate_standard_repn

        held = [v for v in identify_variables(expr, include_fixed=True) if v.fixed]
        for v in held:
            v.unfix()
        try:
            repn = generate_standard_repn(expr, compute_values=True, quadratic=False)
        finally:
            for v in held:
                v.fix()
        if repn.nonlinear_expr is not None or repn.quadratic_vars:
            raise SolverError("the model has a nonlinear expression")
        cols = [self._column(v) for v in repn.linear_vars]
        return cols, [float(c) for c in repn.linear_coefs], float(repn.constant or 0.0)

    def _row_bounds(self, data, const: float) -> tuple[float, float]:
        """HiGHS's bounds of an ordinary constraint whose body has constant ``const`` (free when inactive)."""
        from pyomo.core.expr.numvalue import value

        if not data.active:
            return -self.inf, self.inf
        lo = -self.inf if data.lower is None else float(value(data.lower)) - const
        up = self.inf if data.upper is None else float(value(data.upper)) - const
        return lo, up

    def _add_row(self, data) -> None:
        np = self.np
        cols, coefs, const = self._linear(data.body)
        merged: dict[int, float] = {}
        for j, c in zip(cols, coefs):
            merged[j] = merged.get(j, 0.0) + c
        lo, up = self._row_bounds(data, const)
        idx = np.array(list(merged), dtype=np.int32)
        self._check(self.h.addRow(lo, up, len(idx), idx, np.array(list(merged.values()), dtype=float)), "addRow")
        self.rows[id(data)] = [data, self.nrows, data.active, const]
        self.nrows += 1
        self.rows_as_loaded = False

    def _delete_rows(self, keys) -> None:
        np = self.np
        gone = sorted(self.rows[k][1] for k in keys)
        for k in keys:
            del self.rows[k]
        self._check(self.h.deleteRows(len(gone), np.array(gone, dtype=np.int32)), "deleteRows")
        self.rows_as_loaded = False
        self.nrows -= len(gone)
        for entry in self.rows.values():
            entry[1] -= int(np.searchsorted(gone, entry[1]))

    def _sync_objective(self) -> None:
        import pyomo.core as pyo

        np = self.np
        objs = list(self.m.component_data_objects(pyo.Objective, active=True, descend_into=True))
        if len(objs) > 1:
            raise SolverError("the model has more than one active objective")
        obj = objs[0] if objs else None
        form = getattr(obj, "form", None)
        if obj is None:
            key = None
        elif form is not None:
            key = (id(obj), "form", id(form), obj.sense)
        else:
            key = (id(obj), id(obj.expr), obj.sense)
        if self.objective == key:
            return
        cost = np.zeros(len(self.vars))
        offset = 0.0
        maximize = False
        if obj is not None:
            maximize = obj.sense == pyo.maximize
            if form is not None:
                np.add.at(cost, form.cols, form.coefs)
                offset = form.constant
            else:
                cols, coefs, offset = self._linear(obj.expr)
                cost = np.zeros(len(self.vars))
                np.add.at(cost, np.array(cols, dtype=np.int64), np.array(coefs, dtype=float))
        n = len(self.vars)
        self.h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
        self.h.changeObjectiveOffset(offset)
        self.h.changeObjectiveSense(self.hs.ObjSense.kMaximize if maximize else self.hs.ObjSense.kMinimize)
        self.objective = key
        self.cost, self.offset, self.maximize = cost, offset, maximize

    def matrix(self):
        """HiGHS's model as the heuristic reads it (heuristic._Matrix), from the arrays handed over
        and the bounds kept in step, without reading it back (at 10,000 projects that read costs
        0.05 s); None once rows were added, removed or changed (then the heuristic reads HiGHS)."""
        if not self.rows_as_loaded:
            return None
        from .heuristic import _Matrix

        return _Matrix.of(len(self.vars), self.nrows, *self.entries, self.cost, self.offset, self.maximize,
                          self.row_lo, self.row_up, self.col_lo.copy(), self.col_up.copy(), self.integer)

    # ---------------------------------------------------------------- answers
    def structure(self):
        """Where the projects are among the columns (optimizer/heuristic.py); None without projects."""
        if getattr(self, "_structure", None) is None and hasattr(self.m, "forms"):
            from .heuristic import Structure

            f = self.m.forms
            np = self.np
            self._structure = Structure(
                select=f.select_col, proj=f.proj, start_col=f.start_col,
                stake_col=np.where(f.varying, f.stake_col, -1), stake_lo=np.where(f.varying, f.stake_floor, 0.0),
                stake_hi=np.where(f.varying, f.max_stake, 0.0))
        return getattr(self, "_structure", None)

    def load(self, x) -> None:
        """Column values into the Pyomo variables (fixed ones keep theirs)."""
        for v, val, f in zip(self.vars, x.tolist(), self.fixed.tolist()):
            if not f:
                v.set_value(val, skip_validation=True)


def _foldable(comp, indptr) -> bool:
    """Whether a row block goes to HiGHS as column bounds: every row one variable, no parameter
    in its bounds or terms (a parameter moving would move the bounds: left as rows)."""
    import numpy as np

    return len(indptr) > 1 and not comp._terms and not comp.parameters() and bool((np.diff(indptr) == 1).all())


class _Stale(Exception):
    """The model changed in a way only a new hand-over to HiGHS can follow (a row block added or removed)."""


# --------------------------------------------------------------------------- the solver
class Solver:
    """A persistent HiGHS solver for one model."""

    def __init__(self, settings: SolverSettings):
        try:
            import highspy  # noqa: F401
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise SolverError("the HiGHS solver (highspy) is not installed") from exc
        self.settings = settings
        self._c: _Compiled | None = None
        self._x = None
        #: the last solve's LP relaxation: (column values, reduced costs), or None
        self.relaxed = None
        self._listeners: list = []  # called with the next solve's LP basis (see relaxations)
        self._basis = None  # the LP basis of the last solve, for the re-solves that follow it
        self._basis_dims = (0, 0)

    def _compiled(self, m, scan_vars: bool = True) -> _Compiled:
        c = self._c
        if c is not None and c.m is m:
            try:
                c.sync(scan_vars)
                return c
            except _Stale:
                pass
        self._c = _Compiled(m, self.settings.highs_options())
        return self._c

    def solve(self, m) -> Outcome:
        c = self._compiled(m)
        return self._run(c, () if self._x is None or len(self._x) != len(c.vars) else (self._x,))

    def _run(self, c: _Compiled, guesses=(), warm: bool = False) -> Outcome:
        """Solve the instance; ``warm``: a re-solve of the last solved model changed by a bound or
        two, whose LP relaxation starts from that model's basis (which it leaves as it was)."""
        began = time.perf_counter()
        keep: dict = {}
        listeners, self._listeners = self._listeners, []
        basis = self._basis if warm and self._basis is not None and self._basis_dims == (c.h.getNumCol(), c.h.getNumRow()) \
            else None
        try:
            item = _search(c.h, c.structure(), self.settings, guesses, keep,
                           (lambda b: [f(b) for f in listeners]) if listeners else None, basis,
                           c.matrix(), int(c.integer.sum()))
        except SolverError:
            raise
        except Exception as exc:  # the solver itself broke
            raise SolverError(f"HiGHS failed: {exc}") from exc
        finally:
            for f in listeners:
                f(None)  # no basis coming (any more): waiting LPs start
        status, obj, bound, _, x = item
        if not warm:
            relaxed = keep.get("relaxed")
            self.relaxed = None if relaxed is None else relaxed[:2]
            if relaxed is not None:  # kept for re-solves of a model of the same shape
                self._basis, self._basis_dims = relaxed[2], (c.h.getNumCol(), c.h.getNumRow())
        return self._outcome(c, status, obj, bound, time.perf_counter() - began, x)

    def _outcome(self, c: _Compiled, status: str, obj, bound, seconds: float, x, load: bool = True) -> Outcome:
        """The Outcome of column values ``x``; ``load``: also set them in the Pyomo model (and keep
        them as :meth:`values`)."""
        import numpy as np

        if status not in (OPTIMAL, FEASIBLE):
            return Outcome(status, seconds=seconds)
        x = np.asarray(x, dtype=float)
        if load:
            self._load(c, x)
        if not c.integer.any():
            bound = obj  # an LP's optimum is its own bound
        col = c.col
        return Outcome(status, obj, bound, relative_gap(obj, bound), seconds, extract(c.m, x),
                       *extract_capital(c.m, lambda v: float(x[col[id(v)]])))

    def _load(self, c: _Compiled, x) -> None:
        import numpy as np

        self._x = np.asarray(x, dtype=float)
        c.load(self._x)

    @property
    def maximizing(self) -> bool:
        """Whether the objective last handed to HiGHS is maximized."""
        import highspy

        return self._c is not None and self._c.h.getObjectiveSense()[1] == highspy.ObjSense.kMaximize

    def relaxations(self, m, variants):
        """Start solving the LP relaxation of each variant ``(change, undo)`` of the model on threads
        of their own, one per core (HiGHS releases the GIL), on copies taken now; return a callable
        that waits and gives each relaxation's optimum (None where it has none), in order.

        The threads wait for the next :meth:`solve` to reach its own LP relaxation and start from
        that basis (the same rows, another objective or fewer rules: about half the simplex work
        of a cold start); each later variant a thread takes starts from the basis its previous
        one ended at (at 10,000 projects, one nation's ideal after the other's: 1,064 simplex
        iterations instead of 1,751; the run orders its variants for this).

        Until the caller waits for the results, one thread solves them, on the core the caller's
        thread leaves free; once it waits, one more thread a core takes what is left (10,000
        projects: 0.03–0.06 s waited instead of 0.15–0.33 s; 50,000: 4.3 s instead of 11.9 s).
        Two threads from the start made three busy threads on two cores, and the caller's thread
        (its analyses, report and workbook, all on the way to the wait) ran a third slower; two
        threads at a lower priority were no faster than that."""
        import threading

        import highspy
        import numpy as np

        models = []
        for change, undo in variants:
            change()
            try:
                models.append(self._compiled(m).h.getModel())
            finally:
                undo()
        self._compiled(m)
        out: list = [None] * len(models)
        failure: list = []
        limit = float(self.settings.time_limit_s)
        basis: list = []
        ready = threading.Event()

        def offered(b) -> None:
            if not ready.is_set():
                basis.append(b)
                ready.set()

        self._listeners.append(offered)

        claim = iter(range(len(models)))
        claiming = threading.Lock()

        def work() -> None:
            try:
                ready.wait()
                h = None
                previous = None  # the basis this thread's last LP ended at
                while True:
                    with claiming:
                        i = next(claim, None)
                    if i is None:
                        return
                    if h is None:
                        h = new_highs()
                        h.setOptionValue("time_limit", limit)
                    model = models[i]
                    h.passModel(model)
                    n = h.getNumCol()
                    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.zeros(n, dtype=np.uint8))
                    start = previous if previous is not None else basis[0] if basis else None
                    if start is not None:
                        h.setBasis(start)
                    h.run()
                    if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                        out[i] = float(h.getInfo().objective_function_value)
                        previous = h.getBasis()
            except Exception as exc:  # handed to the caller's thread
                failure.append(exc)

        workers = _workers(None, len(models))
        threads = [threading.Thread(target=work, daemon=True)]  # the others once the caller waits
        threads[0].start()

        def result() -> list:
            offered(None)  # no solve came: start cold
            for _ in range(workers - 1):
                thread = threading.Thread(target=work, daemon=True)
                thread.start()
                threads.append(thread)
            for thread in threads:
                thread.join()
            if failure:
                raise SolverError(f"HiGHS failed: {failure[0]}") from failure[0]
            return out

        return result

    def solve_with_fixed(self, m, var, value: float, start=None) -> Outcome:
        """Re-solve with one variable fixed, then free it again.

        ``start``: a value per HiGHS column (see :meth:`values`) offered as the first incumbent;
        HiGHS keeps it only when it satisfies every rule, so a wrong guess costs nothing.
        Only that variable is sent to HiGHS; the rest of the model is not scanned.
        """
        c = self._compiled(m)
        j = c.col[id(var)]
        var.fix(value)
        try:
            c._set_col(j)
            return self._run(c, () if start is None else (start,), warm=True)
        finally:
            var.unfix()
            c._set_col(j)

    def values(self):
        """The last solution found, one value per HiGHS column (a copy; None before any)."""
        return None if self._x is None else self._x.copy()

    def highs(self):
        """The highspy instance holding the model as last solved (for bulk work on its arrays)."""
        c = self._c
        c.sync()
        return c.h

    def fixed_bounds(self, j: int, value: float) -> tuple[float, float]:
        """HiGHS column j's bounds fixed to ``value`` in the model last solved, as the rules held
        as its bounds allow (see :meth:`_Compiled.fixed_bounds`)."""
        return self._c.fixed_bounds(j, value)

    def columns(self, variables) -> list[int]:
        """HiGHS column index of each Pyomo variable of the model last solved."""
        index = self._c.col
        return [index[id(v)] for v in variables]

    def solve_each_fixed(self, m, jobs, workers: int | None = None):
        """Re-solve once per job ``(var, value, start)`` with that variable fixed to ``value``;
        yield ``(index, Outcome)`` in job order.

        The jobs are independent, so they run on copies of the HiGHS model as last solved (same
        options), one thread per core: HiGHS releases the GIL while it solves. Once the last job is
        yielded, the Pyomo model (and :meth:`values`) holds the last answer found, as re-solving
        one job after another with :meth:`solve_with_fixed` would leave it; each Outcome is read
        from its own columns. ``start`` is an optional first incumbent.
        """
        if self.copies(workers, len(jobs)) <= 1:
            for i, (var, value, start) in enumerate(jobs):
                yield i, self.solve_with_fixed(m, var, value, start)
            return
        c = self._compiled(m)
        model = c.h.getModel()
        cols = self.columns([var for var, _, _ in jobs])
        tasks = [(model, (j, *c.fixed_bounds(j, value)), start) for j, (_, value, start) in zip(cols, jobs)]
        yield from self._solve_copies(c, tasks, workers, c.matrix())

    def solve_variants(self, m, variants, workers: int | None = None) -> list[Outcome]:
        """Solve several variants of the model at once; one Outcome per variant, in order.

        A variant is a pair of callables ``(change, undo)`` that edit the Pyomo model (e.g. swap
        the objective, switch rules off) and put it back. Each variant's HiGHS model is taken by
        applying its change to the persistent instance and copying it out; the copies are then
        solved side by side, one thread per core. The Pyomo model ends as it began, with the
        last variant's answer loaded.
        """
        if self.copies(workers, len(variants)) <= 1:
            outcomes = []
            for change, undo in variants:
                change()
                try:
                    outcomes.append(self.solve(m))
                finally:
                    undo()
            return outcomes
        tasks = []
        for change, undo in variants:
            change()
            try:
                tasks.append((self._compiled(m).h.getModel(), None, None))
            finally:
                undo()
        c = self._compiled(m)  # the persistent instance back in step with the model
        return [o for _, o in self._solve_copies(c, tasks, workers)]

    def copies(self, workers: int | None, tasks: int) -> int:
        """How many copies solve ``tasks`` side by side: ``workers`` when given, else one a core,
        and no more than the settings' ``threads`` (a batch worker's run keeps to its core)."""
        if workers is None and self.settings.threads:
            workers = min(int(self.settings.threads), _workers(None, tasks))
        return _workers(workers, tasks)

    def _solve_copies(self, c: _Compiled, tasks, workers: int | None, matrix=None):
        """Solve ``(model, fix, start)`` tasks on HiGHS copies side by side (optimizer/copies.py:
        a thread here and forked worker processes); yield (index, Outcome) in order. ``fix`` is
        None or ``(column, lower, upper)``: that column fixed for the task (see
        :meth:`_Compiled.fixed_bounds`), freed afterwards. ``matrix``: the heuristic's reading of
        the model when every task has the same one (:meth:`_Compiled.matrix`), else each copy
        reads its model once."""
        from .copies import side_by_side

        options = {k: v for k, v in self.settings.highs_options().items() if k != "threads"}
        structure = c.structure()
        basis = self._basis if self._basis_dims == (c.h.getNumCol(), c.h.getNumRow()) else None
        shared = matrix

        def solve_all(claim, put) -> None:
            """One copy: solve claimed tasks one after another on this thread's HiGHS instance."""
            h = new_highs()
            for k, v in options.items():
                h.setOptionValue(k, v)
            h.setOptionValue("threads", 1)  # one core a copy
            held = matrix = None
            while True:
                i = claim()
                if i is None:
                    return
                model, fix, start = tasks[i]
                try:
                    if model is not held:
                        h.passModel(model)
                        held, matrix = model, shared
                        if structure is not None and matrix is None:  # the rows as the heuristic reads them
                            from . import heuristic

                            matrix = heuristic._Matrix(lp=model.lp_)
                    task_matrix = matrix
                    if fix is not None:
                        j, lo, up = fix
                        h.changeColBounds(j, lo, up)
                        task_matrix = None if matrix is None else matrix.with_fixed(j, lo, up)
                    began = time.perf_counter()
                    item = _search(h, structure, self.settings, () if start is None else (start,),
                                   basis=basis if fix is not None else None, matrix=task_matrix)
                    item = item[:3] + (time.perf_counter() - began,) + item[4:]
                    if fix is not None:  # freed again (the copy's bounds: read once, if the heuristic read them)
                        bounds = (matrix.col_lo, matrix.col_up) if matrix is not None \
                            else (model.lp_.col_lower_, model.lp_.col_upper_)
                        h.changeColBounds(j, bounds[0][j], bounds[1][j])
                except Exception as exc:  # handed to the caller's thread
                    item = exc
                put(i, item)

        answer = None  # the last solution yielded, loaded into the model with the last task
        for i, item in _answers(side_by_side(len(tasks), self.copies(workers, len(tasks)), solve_all,
                                                   release_thread)):
            if isinstance(item, Exception):
                raise SolverError(f"HiGHS failed: {item}") from item
            status, obj, bound, seconds, x = item
            last = i == len(tasks) - 1
            outcome = self._outcome(c, status, obj, bound, seconds, x, load=last)
            if outcome.solved:
                answer = x
            elif last and answer is not None:  # the last answer there is, as one by one
                self._load(c, answer)
            yield i, outcome

    @property
    def version(self) -> str:
        import highspy

        return f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"


def release_thread() -> None:
    """End this thread's HiGHS scheduler (its workers go with it): for a thread that ran HiGHS copies."""
    import highspy

    highspy.Highs.resetThreadScheduler(False)


def _answers(answers):
    """The (index, item) pairs of :func:`optimizer.copies.side_by_side`, its own failure (a
    solver that could not run, twice) told as HiGHS's."""
    try:
        yield from answers
    except SolverError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise SolverError(f"HiGHS failed: {exc}") from exc


def _search(h, structure, settings, guesses=(), keep: dict | None = None, on_relaxed=None, basis=None,
            matrix=None, integers: int | None = None) -> tuple:
    """Solve the MIP held by ``h``: the LP relaxation and rounded portfolios first
    (optimizer/heuristic.py), HiGHS's branch and bound only when they do not settle it; the
    result as :func:`_raw_result` gives it. ``keep`` receives the LP relaxation's solution and
    reduced costs under ``"relaxed"`` (None when it was not solved). ``matrix``: ``h``'s model as
    heuristic._Matrix holds it, when the caller has it; ``integers``: its number of integer columns."""
    import numpy as np

    from . import heuristic

    least = settings.heuristic_min_integers
    if structure is not None and (least <= 0 or (_integer_columns(h) if integers is None else integers) >= least):
        deadline = time.perf_counter() + float(settings.time_limit_s)
        found = heuristic.solve(h, structure, settings, guesses, deadline, on_relaxed, basis, matrix)
        if keep is not None:
            keep["relaxed"] = found.relaxed
        if found.status == "infeasible":
            return INFEASIBLE, None, None, 0.0, None
        if found.status == "optimal":
            return OPTIMAL, found.objective, found.bound, 0.0, np.array(found.x, dtype=float)
        left = deadline - time.perf_counter()
        if left <= 0:  # out of time before the search: what the steps found, if anything
            if found.x is None:
                return TIME_LIMIT, None, None, 0.0, None
            return FEASIBLE, found.objective, found.bound, 0.0, np.array(found.x, dtype=float)
        h.setOptionValue("time_limit", left)
        try:
            heuristic.run_mip(h, found.x, matrix)
        finally:
            h.setOptionValue("time_limit", float(settings.time_limit_s))
        code, obj, bound, seconds, x = _raw_result(h, 0.0)
        if code == FEASIBLE and found.bound is not None and (bound is None or not math.isfinite(bound)):
            bound = found.bound  # stopped before its own bound: the LP relaxation's holds
        return code, obj, bound, seconds, x
    heuristic.run_mip(h, guesses[0] if guesses else None)
    return _raw_result(h, 0.0)


def _integer_columns(h) -> int:
    import highspy

    kinds = h.getLp().integrality_
    return sum(1 for t in kinds if t == highspy.HighsVarType.kInteger) if len(kinds) else 0


def _workers(requested: int | None, tasks: int) -> int:
    import os

    return max(1, min(requested or os.cpu_count() or 1, tasks))


def _raw_result(h, seconds: float) -> tuple:
    """(status, objective, bound, seconds, column values) of a highspy instance that just ran."""
    import highspy
    import numpy as np

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
    elif status == ms.kModelEmpty:
        code = OPTIMAL
    else:
        raise SolverError(f"HiGHS stopped with status {h.modelStatusToString(status)}")
    if code not in (OPTIMAL, FEASIBLE):
        return code, None, None, seconds, None
    return code, info.objective_function_value, info.mip_dual_bound, seconds, \
        np.asarray(h.getSolution().col_value, dtype=float)


def extract(m, x=None) -> dict:
    """Funded projects of a solution (column values ``x``; None: the variables' values):
    project_id -> Choice, in project order."""
    import numpy as np

    if x is None:
        x = np.array([v.value or 0.0 for v in m.columns.vars], dtype=float)
    f = m.forms
    x = np.asarray(x, dtype=float)
    on = x[f.start_col] > 0.5
    stake = np.where(f.varying, x[f.stake_col], f.stake_coef)
    funded = np.flatnonzero(on & (stake > 1e-9))  # a project started at a 0 % stake is not funded
    if not len(funded):
        return {}
    # Choice is immutable: a start funded at its fixed stake keeps the one made the first time
    made = f.choices[funded]
    fresh = f.varying[funded] | np.equal(made, None)
    if fresh.any():
        ks = funded[fresh]
        new = np.empty(len(ks), dtype=object)
        new[:] = [Choice(round(v, 9), t) for v, t in zip(stake[ks].tolist(), f.year[ks].tolist())]
        made[fresh] = new
        fixed = ~f.varying[ks]
        f.choices[ks[fixed]] = new[fixed]
    return dict(zip(f.ids[funded].tolist(), made.tolist()))


def extract_capital(m, value=None) -> tuple[dict, dict]:
    """Debt drawn by year and investor commitments (zeros left out) of the solution loaded, or of
    ``value(variable)`` when given."""
    value = value or (lambda var: var.value or 0.0)
    debt, investors = {}, {}
    if hasattr(m, "Debt"):
        for y in m.YEARS:
            v = value(m.Debt[y])
            if v > 1e-9:
                debt[int(y)] = round(float(v), 9)
    if hasattr(m, "Commit"):
        for i in m.INVESTORS:
            v = value(m.Commit[i])
            if v > 1e-9:
                investors[i] = round(float(v), 9)
    return debt, investors
