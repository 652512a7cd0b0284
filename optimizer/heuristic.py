"""A first portfolio from the LP relaxation, and the proof when it is already good enough.

Capital-budgeting models are knapsacks with a few dozen coupling rows (yearly budgets, sector
shares, equity, debt): their LP relaxation has at most one fractional project per binding row, so
its bound is tight and a portfolio rounded from it is close. :func:`solve` uses that structure
before it hands the model to HiGHS's branch and bound:

1. the LP relaxation: its optimum z_LP bounds every portfolio (and an infeasible relaxation means
   no portfolio exists);
2. portfolios rounded from it, and from any guesses the caller offers (for a re-solve, the run's
   own portfolio changed by the one project forced in or out): the projects integral in the LP
   are kept, fractional ones dropped, each kept project starts in its likeliest year; the
   continuous part (stakes, debt, investor commitments) is re-optimized by an LP with every
   integer column fixed; then the projects left out are tried one by one, best reduced cost
   first, each at its largest stake that keeps every row within its bounds, and the continuous
   part is re-optimized once more;
3. if the best of them, z, is within the gap of the bound (z_LP − z ≤ mip_rel_gap × |z|, or
   ≤ mip_abs_gap), it is the answer: HiGHS's own criterion for "optimal", met without a search;
4. otherwise it is HiGHS's first incumbent, and HiGHS searches as usual.

Every candidate is checked by an LP solve of HiGHS with the integer columns fixed, so a portfolio
returned here satisfies every row within HiGHS's tolerances. The steps are deterministic.
Nothing here imports Pyomo: the structure arrives as column indices (:class:`Structure`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

@dataclass(frozen=True)
class Structure:
    """Where the projects are among the columns.

    Starts k (one per project and possible start year): ``proj[k]`` the project's position,
    ``start_col[k]`` the column that says it starts then (its Select column when it has one start
    year), ``stake_col[k]`` its stake column (−1 when the stake is fixed), ``stake_lo[k]`` /
    ``stake_hi[k]`` the stake's floor and ceiling when funded. ``select[p]``: project p's column.
    """

    select: np.ndarray
    proj: np.ndarray
    start_col: np.ndarray
    stake_col: np.ndarray
    stake_lo: np.ndarray
    stake_hi: np.ndarray


@dataclass
class Result:
    """What :func:`solve` found: ``status`` "optimal" (within the gap), "infeasible" or "search"
    (HiGHS must search; ``x`` is its first incumbent, or None)."""

    status: str
    bound: float | None = None
    objective: float | None = None
    x: np.ndarray | None = None
    seconds: float = 0.0
    #: the LP relaxation's solution, reduced costs and basis (None when it was not solved to optimality)
    relaxed: tuple | None = None


class _Matrix:
    """The model's rows as HiGHS holds them, by column (for the one-project-at-a-time checks)."""

    def __init__(self, h=None, lp=None):
        lp = h.getLp() if lp is None else lp
        a = lp.a_matrix_
        n, m = lp.num_col_, lp.num_row_
        start = np.asarray(a.start_, dtype=np.int64)
        index = np.asarray(a.index_, dtype=np.int64)
        value = np.asarray(a.value_, dtype=float)
        if str(a.format_).endswith("kRowwise"):
            rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(start))
            order = np.argsort(index, kind="stable")
            cols = index[order]
            row, val = rows[order], value[order]
            start = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(cols, minlength=n), out=start[1:])
        else:
            row, val = index, value
        kinds = np.asarray(lp.integrality_, dtype=np.int64) if len(lp.integrality_) else np.zeros(n, dtype=np.int64)
        self._setup(n, m, start, row, val, np.asarray(lp.col_cost_, dtype=float), float(lp.offset_),
                    str(lp.sense_).endswith("kMaximize"), np.asarray(lp.row_lower_, dtype=float),
                    np.asarray(lp.row_upper_, dtype=float), np.asarray(lp.col_lower_, dtype=float),
                    np.asarray(lp.col_upper_, dtype=float), kinds == 1)  # HighsVarType.kInteger

    @classmethod
    def of(cls, n: int, m: int, start, row, val, cost, offset: float, maximize: bool, row_lo, row_up,
           col_lo, col_up, integer) -> "_Matrix":
        """The matrix from arrays the caller holds (by column: ``start``, ``row``, ``val``), exactly
        as HiGHS holds them (the model handed over: nothing is read back from HiGHS)."""
        out = cls.__new__(cls)
        out._setup(n, m, start, row, val, cost, offset, maximize, row_lo, row_up, col_lo, col_up, integer)
        return out

    def _setup(self, n, m, start, row, val, cost, offset, maximize, row_lo, row_up, col_lo, col_up, integer) -> None:
        self.start, self.row, self.val = start, row, val
        self.n, self.m = n, m
        self.col = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.start))  # each entry's column
        self.cost = cost
        self.offset = float(offset)
        self.maximize = bool(maximize)
        self.row_lo, self.row_up = row_lo, row_up
        self.col_lo, self.col_up = col_lo, col_up
        self.integer = integer
        # bounds implied by rows with one entry (a screen Select[p] = 0, a lock Select[p] = 1, when
        # they are rows)
        self.up = self.col_up.copy()
        self.lo = self.col_lo.copy()
        counts = np.bincount(self.row, minlength=m)
        single = np.flatnonzero(counts[self.row] == 1)
        if len(single):
            cols = self.col[single]
            rows, a = self.row[single], self.val[single]
            lo_r, up_r = self.row_lo[rows], self.row_up[rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                hi = np.where(a > 0, up_r / a, lo_r / a)
                lw = np.where(a > 0, lo_r / a, up_r / a)
            np.minimum.at(self.up, cols, np.where(np.isnan(hi), np.inf, hi))
            np.maximum.at(self.lo, cols, np.where(np.isnan(lw), -np.inf, lw))

    def with_fixed(self, j: int, lower: float, upper: float | None = None) -> "_Matrix":
        """The same rows with column ``j`` fixed to ``lower`` (between ``lower`` and ``upper`` when
        given; lower > upper is infeasible): the arrays shared, the bounds copied."""
        import copy

        upper = lower if upper is None else upper
        out = copy.copy(self)
        out.col_lo, out.col_up, out.lo, out.up = (a.copy() for a in (self.col_lo, self.col_up, self.lo, self.up))
        out.col_lo[j] = out.lo[j] = lower
        out.col_up[j] = out.up[j] = upper
        return out

    def column(self, j: int):
        a, b = self.start[j], self.start[j + 1]
        return self.row[a:b], self.val[a:b]

    def activity(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.row, weights=self.val * x[self.col], minlength=self.m)


def solve(h, structure: Structure, settings, guesses=(), deadline: float | None = None,
          on_relaxed=None, basis=None, matrix: _Matrix | None = None) -> Result:
    """Steps 1–3 on the highspy instance ``h`` (a maximizing or minimizing MIP); ``h`` is left as it
    came (bounds and integrality; it then holds the last LP solved, not a MIP solution).

    ``deadline`` (a ``time.perf_counter()`` reading): no step starts after it, and what was found
    by then is returned for HiGHS to go on from (or to stop at, out of time). ``on_relaxed`` is
    called with the LP relaxation's optimal basis as soon as there is one (other LPs of the same
    rows start from it); ``basis``: a basis to start the relaxation from (that of a model differing
    in a bound or two: a re-solve then takes a few dual simplex iterations). ``matrix``: ``h``'s
    rows and bounds as :class:`_Matrix` holds them, when the caller has them (re-solves of one
    model on a copy: read from HiGHS once, not once a re-solve)."""
    import highspy

    began = time.perf_counter()
    deadline = deadline if deadline is not None else began + float(settings.time_limit_s)
    mat = _Matrix(h) if matrix is None else matrix
    ints = np.flatnonzero(mat.integer)
    sign = 1.0 if mat.maximize else -1.0
    ms = highspy.HighsModelStatus

    def remaining() -> float:
        return max(1e-3, deadline - time.perf_counter())

    def late() -> bool:
        return time.perf_counter() >= deadline

    last: list = [None]  # the last LP's solution (HiGHS copies it out whole at every read)

    def run_lp() -> tuple[bool, float, np.ndarray | None]:
        h.setOptionValue("time_limit", remaining())
        h.run()
        if h.getModelStatus() != ms.kOptimal:
            return False, math.nan, None
        last[0] = h.getSolution()
        return True, h.getInfo().objective_function_value, np.asarray(last[0].col_value, dtype=float)

    best: tuple[float, np.ndarray] | None = None
    z_lp = None
    bounds = _Bounds(h, mat)

    def fixed_lp(z: np.ndarray):
        return _fixed_lp(h, mat, ints, z, settings, remaining, run_lp, bounds)
    cols32 = ints.astype(np.int32)
    h.changeColsIntegrality(len(ints), cols32, np.zeros(len(ints), dtype=np.uint8))
    relaxing = True
    try:
        # the relaxation without presolve: on these models HiGHS's presolve costs more than it saves
        h.setOptionValue("presolve", "off")
        if basis is not None:
            h.setBasis(basis)
        try:
            ok, z_lp, x_lp = run_lp()
        finally:
            h.setOptionValue("presolve", "choose")
        status = h.getModelStatus()
        if not ok:
            if status == ms.kInfeasible:
                return Result("infeasible", seconds=time.perf_counter() - began)
            return Result("search", seconds=time.perf_counter() - began)
        duals = np.asarray(last[0].col_dual, dtype=float)
        relaxed_basis = h.getBasis()
        if on_relaxed is not None:
            on_relaxed(relaxed_basis)
        # the guesses first (a re-solve's guess is the run's portfolio changed by one project); the
        # LP's rounding when none of them gives a portfolio (else the core, built around the
        # LP's solution, does better than its rounding for the same two LPs' time)
        def tries():
            yield from (_from_guess(structure, mat, g) for g in guesses)
            if best is None:
                yield _rounded(structure, mat, x_lp)

        for z in tries():
            if late():
                break
            found = _complete(structure, mat, z, duals, sign, fixed_lp)
            if found is not None and (best is None or sign * found[0] > sign * best[0]):
                best = found
            if best is not None and _within_gap(sign * (z_lp - best[0]), best[0], settings):
                break
        bound = z_lp
        certain = False
        whole = len(structure.select) <= core_size(len(structure.select))  # the core would be the MIP itself
        if not late() and (best is None or not _within_gap(sign * (bound - best[0]), best[0], settings)):
            h.changeColsIntegrality(len(ints), cols32, np.ones(len(ints), dtype=np.uint8))
            relaxing = False
            # a small core first (a re-solve's guess is often one swap away); then, with a
            # portfolio in hand, the proof by reduced-cost fixing; else the full core
            steps = (("small",) if len(structure.select) > SMALL_CORE else ()) + ("proof",) + (() if whole else ("full",))
            for step in steps:
                if late():
                    break
                if step == "proof":
                    if best is None:
                        continue
                    proved = _proof(h, mat, best, duals, x_lp, z_lp, settings, remaining, sign, bounds)
                    if proved is None:
                        continue
                    found, bound = proved[:2], proved[2]
                    if sign * found[0] >= sign * best[0]:
                        best = found
                    certain = True  # OPT ≤ bound and best within the gap of it (see _proof)
                    break
                else:
                    found = _core(h, structure, mat, best, duals, x_lp, settings, remaining,
                                  SMALL_CORE if step == "small" else core_size(len(structure.select)), bounds)
                if found is not None and (best is None or sign * found[0] > sign * best[0]):
                    best = found
                if best is not None and _within_gap(sign * (bound - best[0]), best[0], settings):
                    break
    finally:
        bounds.set(mat.col_lo, mat.col_up)
        if relaxing:
            h.changeColsIntegrality(len(ints), cols32, np.ones(len(ints), dtype=np.uint8))
        h.setOptionValue("time_limit", float(settings.time_limit_s))
    seconds = time.perf_counter() - began
    relaxed = (x_lp, duals, relaxed_basis)
    if best is None:
        return Result("search", bound=z_lp, seconds=seconds, relaxed=relaxed)
    if certain or _within_gap(sign * (bound - best[0]), best[0], settings):
        return Result("optimal", bound=bound, objective=best[0], x=best[1], seconds=seconds, relaxed=relaxed)
    return Result("search", bound=z_lp, objective=best[0], x=best[1], seconds=seconds, relaxed=relaxed)


#: the core sub-MIP frees this many projects nearest the margin (at least; more for big pipelines)
CORE_PROJECTS = 120
#: the first, quick core. 25 rather than 30 since the proof runs with PROOF_OPTIONS: on 36
#: Chu–Beasley 5 × 100 knapsacks, each solved both ways in turn, 0.88 and 0.91 of the time
#: (geometric means of the ratios, two rounds), and 0.90 on 24 other seeds; 20 and 38 were slower
SMALL_CORE = 25


def core_size(n_proj: int) -> int:
    return min(n_proj, max(CORE_PROJECTS, int(4 * np.sqrt(n_proj))))


def _core(h, s: Structure, mat: _Matrix, best, duals, x_lp, settings, remaining, size: int, bounds: _Bounds):
    """The core problem: the projects nearest the LP's margin (smallest reduced cost, and every
    fractional one) are left free, every other project is held as the LP decides it (integral
    there), and HiGHS solves that small MIP, from ``best`` when it fits; (objective, column
    values) or None."""
    import highspy

    x_best = x_lp
    n_proj = len(s.select)
    closeness = np.full(n_proj, np.inf)
    sel = s.select[s.proj]
    rc = duals[sel] + np.where(s.start_col != sel, duals[s.start_col], 0.0) \
        + np.where(s.stake_col >= 0, duals[np.maximum(s.stake_col, 0)] * s.stake_hi, 0.0)
    np.minimum.at(closeness, s.proj, np.abs(rc))
    frac = np.abs(x_lp[s.select] - np.round(x_lp[s.select])) > 1e-6
    closeness[frac] = -1.0
    closeness[(mat.up[s.select] < 1.0) | (mat.lo[s.select] >= 1.0)] = np.inf  # screened out, or locked in
    size = min(size, n_proj)
    free = np.zeros(n_proj, dtype=bool)
    free[np.argsort(closeness, kind="stable")[:size]] = True
    lo, up = mat.col_lo.copy(), mat.col_up.copy()
    held = ~free
    cols = np.concatenate([s.select[held], s.start_col[held[s.proj]]])
    lo[cols] = np.round(x_best[cols])
    up[cols] = np.round(x_best[cols])
    got = _held_mip(h, mat, lo, up, None if best is None else best[1], settings,
                    min(remaining(), max(1.0, 0.2 * float(settings.time_limit_s))), bounds)
    ms = highspy.HighsModelStatus
    if got.status not in (ms.kOptimal, ms.kTimeLimit, ms.kInterrupt) or not got.feasible:
        return None
    return got.objective, got.x


#: the proof by reduced-cost fixing is tried when at most this many integer columns stay free
PROOF_COLUMNS = 4000


def _proof(h, mat: _Matrix, best, duals, x_lp, z_lp: float, settings, remaining, sign: float, bounds: _Bounds):
    """Prove ``best`` within the gap, or find the portfolio that is: reduced-cost fixing, then an
    exact MIP over the columns it leaves free.

    At the relaxation's optimum, moving a column j that is nonbasic at a bound by one unit lowers
    the relaxation's bound by at least |d_j| (its reduced cost), and the losses of several moves
    add up. A portfolio worth more than best + tol (tol: the gap allowed) lies within
    z_LP − (best + tol) of the bound, so every integer column with |d_j| above that stays at its
    LP value in it. HiGHS then solves the MIP with those columns held (usually a few hundred are
    free) to its optimum z (within the gap of its bound b): the whole model's optimum is at most
    max(b, best + tol), so z is within the gap of it. Returns (objective, column values, bound)
    with that bound, max(b, best + tol) — a true bound: a portfolio worth up to tol more than
    best may hold some of the held columns elsewhere, so z itself is not one — or None when too
    many columns stay free or HiGHS does not prove the held MIP."""
    import highspy

    # a hair inside the gap, so that the gap reported is within it too: the relative gap when there
    # is one, else half the 1e-9 that solve.relative_gap counts as none (a sum's rounding stays below)
    tol = _tolerance(best[0], settings) * (1 - 1e-9 if float(settings.mip_gap) > 0 else 0.5)
    slack = sign * (z_lp - best[0]) - tol
    if slack <= 0:
        return None
    ints = np.flatnonzero(mat.integer)
    at_bound = (np.abs(x_lp[ints] - np.round(x_lp[ints])) <= 1e-9)
    # a margin for the LP's dual tolerance (1e-7 per column)
    hold = at_bound & (np.abs(duals[ints]) > slack * (1 + 1e-6) + 1e-7 * len(ints))
    free = int((~hold).sum())
    if free > PROOF_COLUMNS:
        return None
    cols = ints[hold]
    lo, up = mat.col_lo.copy(), mat.col_up.copy()
    lo[cols] = np.round(x_lp[cols])
    up[cols] = np.round(x_lp[cols])
    got = _held_mip(h, mat, lo, up, best[1], settings,
                    min(remaining(), max(1.0, 0.25 * float(settings.time_limit_s))), bounds,
                    PROOF_OPTIONS if free <= PROOF_LEAN_COLUMNS else None)
    ms = highspy.HighsModelStatus
    if got.status == ms.kInfeasible:  # best itself breaks a held column: no proof from here
        return None
    if got.status != ms.kOptimal or not got.feasible:
        return None
    found, x = got.objective, got.x
    if sign * found < sign * best[0]:
        found, x = best
    # the optimum is at most max(b, best + tol), and z is within the gap of that: the bound reported
    bound = max(sign * got.dual_bound, sign * best[0] + tol, sign * found) * sign
    return found, x, bound


#: a held MIP goes to HiGHS as the model of its free columns when they are at most this share of
#: all columns (and no more than REDUCED_MAX of them)
REDUCED_SHARE = 0.25
REDUCED_MAX = 5000
#: HiGHS's options for such a MIP (tens to hundreds of columns, solved in a node or a few): the
#: feasibility jump and root reduced-cost heuristics and the root restart cost more than the search
#: itself there (benchmarks/README.md, decision support)
HELD_MIP_OPTIONS = {"mip_heuristic_run_feasibility_jump": False, "mip_heuristic_run_root_reduced_cost": False,
                    "mip_allow_restart": False}


#: HiGHS's options for the proof's MIP when ``h`` itself solves it (more than REDUCED_SHARE of the
#: columns free, as on the hard knapsacks: 55–85 of 100). It starts from ``best``, nearly always
#: the optimum already, so the time goes into the proof; heuristics searching for portfolios in
#: the tree, and the root reduced-cost one, find nothing better. On 36 Chu–Beasley 5 × 100
#: knapsacks, each solved both ways in turn (benchmarks/README.md, hard instances), the whole
#: solve took 0.92–0.94 of its time (geometric mean of the ratios, three rounds), the same optima.
PROOF_OPTIONS = {"mip_heuristic_effort": 0.0, "mip_heuristic_run_root_reduced_cost": False}
#: ... but only while the proof leaves at most this many integer columns free. On a bigger one the
#: start is further from what the tree can find, and the root reduced-cost heuristic finds it: in
#: the decision-support benchmark (500 projects) one nation's ideal leaves 766 columns free, and
#: with PROOF_OPTIONS its proof took 1.5–2.0 s instead of 0.5 s (HiGHS's defaults there)
PROOF_LEAN_COLUMNS = 300


@dataclass
class _Held:
    """What HiGHS gave for a MIP with some columns held: its model status, whether it has a
    feasible solution, the solution's objective and columns (all of them), its dual bound."""

    status: object
    feasible: bool
    objective: float = math.nan
    x: np.ndarray | None = None
    dual_bound: float = math.nan


def _held_mip(h, mat: _Matrix, lo: np.ndarray, up: np.ndarray, start, settings, time_limit: float,
              bounds: _Bounds | None = None, options: dict | None = None) -> _Held:
    """The MIP of ``h``'s rows with columns between ``lo`` and ``up`` (a held column: lo = up),
    offered ``start``, solved to the settings' gap within ``time_limit``.

    When few columns are free (a re-solve's core or proof: tens of a thousand), HiGHS gets the
    model of the free columns alone, with each row's bounds moved by the held columns'
    activity and without the rows the free columns cannot break within their bounds: its
    presolve then starts from that, not from the whole model (500 projects: about 4 ms a MIP
    instead of 11). Otherwise, or when a row of held columns alone is not
    met (HiGHS then tells what it makes of it), ``h`` solves it with those bounds (and keeps
    them: the caller restores its own; ``bounds``: what ``h`` holds, when the caller tracks it),
    with ``options`` set for that solve only (the model of the free columns has its own,
    HELD_MIP_OPTIONS)."""
    free = np.flatnonzero(lo != up)
    if len(free) <= min(REDUCED_MAX, REDUCED_SHARE * mat.n) and not (lo > up).any():
        got = _reduced_mip(h, mat, lo, up, free, start, settings, time_limit)
        if got is not None:
            return got
    if bounds is None:
        h.changeColsBounds(mat.n, np.arange(mat.n, dtype=np.int32), lo, up)
    else:
        bounds.set(lo, up)
    h.setOptionValue("time_limit", time_limit)
    saved = {k: h.getOptionValue(k)[1] for k in options or ()}
    try:
        for k, v in (options or {}).items():
            h.setOptionValue(k, v)
        run_mip(h, start, mat)
    finally:
        for k, v in saved.items():
            h.setOptionValue(k, v)
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return _Held(h.getModelStatus(), False, dual_bound=info.mip_dual_bound)
    return _Held(h.getModelStatus(), True, info.objective_function_value,
                 np.asarray(h.getSolution().col_value, dtype=float), info.mip_dual_bound)


@dataclass
class _Part:
    """The model of a matrix's free columns with every other column held: the free columns' entries
    by column (``start``, ``index`` into ``rows``, ``value``), the rows they can break (``rows``,
    with bounds moved by the held columns' activity) and the objective's constant (the held
    columns' part and the offset)."""

    free: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    rows: np.ndarray
    row_lo: np.ndarray
    row_up: np.ndarray
    offset: float

    def pass_to(self, r, mat: "_Matrix", lo, up, integer) -> object:
        """Hand it to the highspy instance ``r`` (``integer``: per free column); HiGHS's status."""
        from .solve import pass_columns

        f = self.free
        return pass_columns(r, len(f), len(self.rows), self.start, self.index, self.value, mat.cost[f], self.offset,
                            mat.maximize, lo[f], up[f], self.row_lo, self.row_up, integer)


def _free_part(mat: _Matrix, lo, up, free: np.ndarray) -> _Part | None:
    """The columns ``free`` (lo < up) with the rest held at ``lo``, as :class:`_Part`; None when a
    row of held columns alone is broken.

    Rows that the free columns cannot break within their bounds are left out (about half of them
    in a re-solve's core, and three quarters of the entries): HiGHS's presolve would drop them too,
    and spends about a third of a small MIP's time."""
    held = np.ones(mat.n, dtype=bool)
    held[free] = False
    at = lo.copy()
    at[free] = 0.0
    activity = mat.activity(at)  # of the held columns
    counts = mat.start[free + 1] - mat.start[free]
    fe = _ranges(mat.start[free], counts)  # their entries
    entry_row = mat.row[fe]
    used = np.zeros(mat.m, dtype=bool)
    used[entry_row] = True
    rest = ~used
    scale = 1e-9 * np.maximum(1.0, np.maximum(np.abs(np.where(np.isfinite(mat.row_lo), mat.row_lo, 0.0)),
                                              np.abs(np.where(np.isfinite(mat.row_up), mat.row_up, 0.0))))
    if ((activity[rest] < mat.row_lo[rest] - scale[rest]) | (activity[rest] > mat.row_up[rest] + scale[rest])).any():
        return None
    row_lo, row_up = mat.row_lo - activity, mat.row_up - activity
    least, most = _row_range(entry_row, mat.val[fe], lo[free], up[free], counts, mat.m)
    needed = used & ((least < row_lo - scale) | (most > row_up + scale))
    kept = needed[entry_row]
    fe, entry_row = fe[kept], entry_row[kept]
    counts = np.bincount(np.repeat(np.arange(len(free)), counts)[kept], minlength=len(free))
    rows = np.flatnonzero(needed)
    renumber = np.full(mat.m, -1, dtype=np.int64)
    renumber[rows] = np.arange(len(rows))
    return _Part(free, np.append(0, np.cumsum(counts)), renumber[entry_row], mat.val[fe], rows, row_lo[rows],
                 row_up[rows], mat.offset + float(np.dot(mat.cost[held], lo[held])))


def _reduced_mip(h, mat: _Matrix, lo, up, free: np.ndarray, start, settings, time_limit: float) -> _Held | None:
    import highspy

    part = _free_part(mat, lo, up, free)
    if part is None:
        return None  # a row of held columns alone is broken: HiGHS says so on the whole model
    r = _held_highs(h, settings)
    r.setOptionValue("time_limit", time_limit)
    if part.pass_to(r, mat, lo, up, mat.integer[free]) == highspy.HighsStatus.kError:
        return None
    run_mip(r, None if start is None else np.asarray(start, dtype=float)[free])
    info = r.getInfo()
    if info.primal_solution_status != 2:
        return _Held(r.getModelStatus(), False, dual_bound=info.mip_dual_bound)
    x = lo.copy()
    x[free] = np.asarray(r.getSolution().col_value, dtype=float)
    return _Held(r.getModelStatus(), True, info.objective_function_value, x, info.mip_dual_bound)


def _row_range(entry_row, value, col_lo, col_up, counts, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The least and the most each row's entries can add up to with their columns within bounds
    (``counts[i]`` consecutive entries per column i; -inf / inf where an infinite bound counts)."""
    if not len(entry_row):
        return np.zeros(m), np.zeros(m)
    lo_e, up_e = np.repeat(col_lo, counts), np.repeat(col_up, counts)
    with np.errstate(invalid="ignore"):  # 0 × inf: an entry of 0 adds nothing
        low = np.where(value > 0, value * lo_e, value * up_e)
        high = np.where(value > 0, value * up_e, value * lo_e)
    low[value == 0] = high[value == 0] = 0.0
    least = np.bincount(entry_row, weights=np.where(np.isfinite(low), low, 0.0), minlength=m)
    most = np.bincount(entry_row, weights=np.where(np.isfinite(high), high, 0.0), minlength=m)
    least[np.bincount(entry_row, weights=np.isneginf(low), minlength=m) > 0] = -np.inf
    most[np.bincount(entry_row, weights=np.isposinf(high), minlength=m) > 0] = np.inf
    return least, most


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """starts[i], starts[i] + 1, …, starts[i] + counts[i] − 1 for each i in turn, in one array (the
    entries of columns by their first entry and number, or of candidates in a sorted list)."""
    return np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))


_HELD = threading.local()


def _held_highs(h, settings):
    """This thread's highspy instance for held MIPs, with ``h``'s options for ``settings`` and
    HELD_MIP_OPTIONS (made once a thread and a set of options: making one costs about 0.1 ms).
    The time limit is not one of them: each caller sets its own (it moves as the solve goes on)."""
    from .solve import new_highs

    options = tuple((k, h.getOptionValue(k)[1]) for k in settings.highs_options() if k not in ("threads", "time_limit"))
    held = getattr(_HELD, "highs", None)
    if held is None or held[0] != options:
        r = new_highs()
        for k, v in options + tuple(HELD_MIP_OPTIONS.items()):
            r.setOptionValue(k, v)
        _HELD.highs = held = (options, r)
    return held[1]


def _tolerance(objective: float, settings) -> float:
    rel = float(settings.mip_gap)
    return max(rel * abs(objective), 1e-9 if rel == 0 else 1e-6)


def run_mip(h, start=None, mat: _Matrix | None = None) -> None:
    """``h.run()`` on a MIP, first offering ``start`` (column values) as an incumbent.

    HiGHS 1.16 can value a start solution wrongly once presolve has removed columns ("MIP start
    solution is feasible in the reduced space" with another objective than the start's own): it
    then keeps that value as the incumbent's, prunes on it and reports a wrong optimum with the
    start's columns. So when HiGHS's objective is not the value of the columns it returns, the
    start is dropped and the MIP solved again without it."""
    import highspy

    if start is None:
        h.run()
        return
    sol = highspy.HighsSolution()
    sol.col_value = list(start)
    sol.value_valid = True
    h.setSolution(sol)
    h.run()
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return
    if mat is None:
        lp = h.getLp()
        cost, offset = np.asarray(lp.col_cost_), lp.offset_
    else:  # ``h``'s objective, as the caller read it
        cost, offset = mat.cost, mat.offset
    value = float(np.dot(cost, np.asarray(h.getSolution().col_value))) + offset
    if abs(value - info.objective_function_value) <= 1e-7 * max(1.0, abs(value)):
        return
    h.clearSolver()
    h.run()


def _within_gap(gap: float, objective: float, settings) -> bool:
    return gap <= _tolerance(objective, settings)


def _rounded(s: Structure, mat: _Matrix, x: np.ndarray) -> np.ndarray:
    """Integer columns from the LP: projects integral in it kept (likeliest start year), the rest out;
    other integer columns rounded up when positive (an investor in at any share stays in)."""
    z = np.where(x > 1e-6, np.ceil(x - 1e-6), 0.0)
    z = np.clip(z, mat.col_lo, mat.col_up)
    keep = x[s.select] >= 1.0 - 1e-6
    return _set_projects(s, mat, z, keep, x)


def _from_guess(s: Structure, mat: _Matrix, guess) -> np.ndarray:
    g = np.asarray(guess, dtype=float)
    z = np.clip(np.round(g), mat.col_lo, mat.col_up)
    return _set_projects(s, mat, z, g[s.select] >= 0.5, g)


def _set_projects(s: Structure, mat: _Matrix, z: np.ndarray, keep: np.ndarray, x: np.ndarray) -> np.ndarray:
    keep = keep & (mat.up[s.select] >= 1.0)
    keep |= mat.lo[s.select] >= 1.0  # forced in
    z[s.select] = keep.astype(float)
    multi = s.start_col != s.select[s.proj]
    if multi.any():
        ks = np.flatnonzero(multi)
        z[s.start_col[ks]] = 0.0
        # the likeliest start year of each kept project
        score = x[s.start_col[ks]]
        order = np.lexsort((-score, s.proj[ks]))
        ks = ks[order]
        first = np.ones(len(ks), dtype=bool)
        first[1:] = s.proj[ks][1:] != s.proj[ks][:-1]
        chosen = ks[first]
        chosen = chosen[keep[s.proj[chosen]]]
        z[s.start_col[chosen]] = 1.0
    return z


def _complete(s: Structure, mat: _Matrix, z: np.ndarray, duals, sign: float, fixed_lp):
    """Re-optimize the continuous part for integer columns z (``fixed_lp``, see :func:`_fixed_lp`),
    fill with projects left out, and re-optimize again; (objective, column values) or None when z
    admits no solution."""
    first = fixed_lp(z)
    if first is None:
        return None
    x = first[1].copy()
    z = z.copy()
    if _fill(s, mat, x, z, duals, sign):
        again = fixed_lp(z)
        if again is not None and sign * again[0] >= sign * first[0]:
            return again
    return first


def _fill(s: Structure, mat: _Matrix, x: np.ndarray, z: np.ndarray, duals, sign: float) -> bool:
    """Fund projects left out, best reduced cost first, while every row stays within its bounds
    (x and z updated in place); True when one was added.

    The rows each start of each project left out touches, and by how much, are gathered for all of
    them in one sparse pass; the starts that do not fit even alone are dropped at once, and the rest
    are tried one by one, in order, against the rows as the earlier ones left them, each at the
    largest stake every row allows (10,000 projects: 3,790 candidates in 3 ms, not 41 ms one by
    one)."""
    out = np.flatnonzero((z[s.select] < 0.5) & (mat.up[s.select] >= 1.0))
    if not len(out):
        return False
    r = mat.activity(x)
    lo = mat.row_lo - 1e-9 * (1.0 + np.abs(np.where(np.isfinite(mat.row_lo), mat.row_lo, 0.0)))
    up = mat.row_up + 1e-9 * (1.0 + np.abs(np.where(np.isfinite(mat.row_up), mat.row_up, 0.0)))
    left_out = np.zeros(len(s.select), dtype=bool)
    left_out[out] = True
    ks = np.flatnonzero(left_out[s.proj])
    sel = s.select[s.proj[ks]]
    single = s.start_col[ks] == sel
    has_stake = s.stake_col[ks] >= 0
    stake_cost = mat.cost[np.maximum(s.stake_col[ks], 0)]
    gain = mat.cost[sel] + np.where(single, 0.0, mat.cost[s.start_col[ks]])
    best_gain = gain + np.where(has_stake, stake_cost * s.stake_hi[ks], 0.0)
    worth = sign * best_gain > 0
    ks, gain = ks[worth], gain[worth]  # gain[i]: of ks[i]'s Select and Start columns
    if not len(ks):
        return False
    rows, cand, base, per_stake = _touch(s, mat, ks)
    after = r[rows] + base + np.where(per_stake > 0, per_stake, 0.0) * s.stake_lo[ks][cand] \
        + np.where(per_stake < 0, per_stake, 0.0) * s.stake_lo[ks][cand]
    bad = (after < lo[rows]) | (after > up[rows])
    fits = np.ones(len(ks), dtype=bool)
    fits[cand[bad]] = False
    rc = sign * (duals[s.start_col[ks]] + np.where(s.stake_col[ks] >= 0, duals[np.maximum(s.stake_col[ks], 0)]
                                                   * s.stake_hi[ks], 0.0))
    order = np.lexsort((ks, -rc))
    order = order[fits[order]]
    if not len(order):
        return False
    bounds = np.searchsorted(cand, np.arange(len(ks) + 1))

    def take(i: int) -> bool:
        """Fund start ks[i] when it fits the rows as they stand (at its largest stake)."""
        k = int(ks[i])
        p = int(s.proj[k])
        if z[s.select[p]] >= 0.5:
            return False
        a, b = bounds[i], bounds[i + 1]
        rr, b0, b1 = rows[a:b], base[a:b], per_stake[a:b]
        now = r[rr] + b0
        if s.stake_col[k] < 0:
            if np.any(now < lo[rr]) or np.any(now > up[rr]):
                return False
            stake = None
        else:
            stake = _largest_stake(now, b1, lo[rr], up[rr], float(s.stake_lo[k]), float(s.stake_hi[k]))
            if stake is None or sign * (gain[i] + mat.cost[s.stake_col[k]] * stake) <= 0:
                return False
        r[rr] = now if stake is None else now + b1 * stake
        for j in (int(s.select[p]), int(s.start_col[k])):
            x[j] = 1.0
            z[j] = 1.0
        if stake is not None:
            x[s.stake_col[k]] = stake
        return True

    # one at a time, in order, as take() decides: the candidates before the next one it funds
    # change nothing, so they are passed over a block at a time (_would_take: the same tests on
    # whole arrays), and take() then decides on the first one _would_take lets through
    added = False
    at, block = 0, FILL_BLOCK
    while at < len(order):
        chunk = order[at:at + block]
        hits = np.flatnonzero(_would_take(s, mat, ks, gain, chunk, bounds, rows, base, per_stake, r, z, lo, up, sign))
        if not len(hits):
            at += len(chunk)
            block = min(2 * block, FILL_BLOCK_MAX)
            continue
        at += int(hits[0])
        added |= take(int(order[at]))
        at += 1
        block = FILL_BLOCK
    return added


#: _fill tests its candidates in blocks of this many, doubled after each block without one to
#: fund, up to FILL_BLOCK_MAX
FILL_BLOCK = 16
FILL_BLOCK_MAX = 1024


def _would_take(s: Structure, mat: _Matrix, ks, gain, chunk, bounds, rows, base, per_stake, r, z, lo, up,
                sign: float) -> np.ndarray:
    """For each candidate ``chunk[i]`` of :func:`_fill`: whether its ``take`` would fund it with
    the rows at ``r`` — the same arithmetic, on every candidate at once (per row: the activity
    with the start funded, and for a stake the bounds each row puts on it, as in
    :func:`_largest_stake`)."""
    k = ks[chunk]
    n = len(chunk)
    sel = s.select[s.proj[k]]
    a = bounds[chunk]
    counts = bounds[chunk + 1] - a
    seg = np.repeat(np.arange(n), counts)
    e = _ranges(a, counts)
    rr, per = rows[e], per_stake[e]
    now = r[rr] + base[e]
    low, high = lo[rr], up[rr]
    flat = per == 0  # every row of a start without a stake
    broken = np.bincount(seg, weights=flat & ((now < low) | (now > high)), minlength=n) > 0
    ok = (z[sel] < 0.5) & ~broken
    staked = s.stake_col[k] >= 0
    if staked.any():
        with np.errstate(divide="ignore", invalid="ignore"):
            to_up, to_lo = (high - now) / per, (low - now) / per
        pos, neg = per > 0, per < 0
        hi = s.stake_hi[k].astype(float)
        least = s.stake_lo[k].astype(float)
        np.minimum.at(hi, seg, np.where(pos, to_up, np.where(neg, to_lo, np.inf)))
        np.maximum.at(least, seg, np.where(pos, to_lo, np.where(neg, to_up, -np.inf)))
        none = (hi < least - 1e-12) | (hi <= 1e-9)
        stake = np.maximum(hi, s.stake_lo[k])
        loses = sign * (gain[chunk] + mat.cost[np.maximum(s.stake_col[k], 0)] * stake) <= 0
        ok &= ~staked | (~none & ~loses)
    return ok


def _largest_stake(now, per, lo, up, floor: float, ceiling: float) -> float | None:
    """The largest stake st in [floor, ceiling] with lo ≤ now + st × per ≤ up on every row; None if none."""
    hi, least = ceiling, floor
    with np.errstate(divide="ignore", invalid="ignore"):
        pos, neg, flat = per > 0, per < 0, per == 0
        if np.any((now[flat] < lo[flat]) | (now[flat] > up[flat])):
            return None
        if pos.any():
            hi = min(hi, float(np.min((up[pos] - now[pos]) / per[pos])))
            least = max(least, float(np.max((lo[pos] - now[pos]) / per[pos])))
        if neg.any():
            hi = min(hi, float(np.min((lo[neg] - now[neg]) / per[neg])))
            least = max(least, float(np.max((up[neg] - now[neg]) / per[neg])))
    if hi < least - 1e-12 or hi <= 1e-9:
        return None
    return max(hi, floor)


def _touch(s: Structure, mat: _Matrix, ks: np.ndarray):
    """For each start ks[i] funded: the rows it touches, with the change from its Select and Start
    columns (``base``) and per unit of its stake (``per_stake``); arrays sorted by i (``cand``)."""
    single = s.start_col[ks] == s.select[s.proj[ks]]
    parts = [(s.select[s.proj[ks]], 0), (np.where(single, -1, s.start_col[ks]), 0), (s.stake_col[ks], 1)]
    cols, who, kind = [], [], []
    for j, is_stake in parts:
        keep = j >= 0
        cols.append(j[keep])
        who.append(np.flatnonzero(keep))
        kind.append(np.full(int(keep.sum()), is_stake))
    cols = np.concatenate(cols)
    who = np.concatenate(who)
    kind = np.concatenate(kind)
    counts = mat.start[cols + 1] - mat.start[cols]
    entry = _ranges(mat.start[cols], counts)
    rows = mat.row[entry]
    cand = np.repeat(who, counts)
    val = mat.val[entry]
    stake_part = np.repeat(kind, counts) == 1
    key = cand * mat.m + rows
    size = len(ks) * mat.m
    if size <= DENSE_TOUCH:  # binned over every (start, row) pair: no sort
        uniq = np.flatnonzero(np.bincount(key, minlength=size))
        base = np.bincount(key, weights=np.where(stake_part, 0.0, val), minlength=size)[uniq]
        per_stake = np.bincount(key, weights=np.where(stake_part, val, 0.0), minlength=size)[uniq]
    else:
        uniq, inverse = np.unique(key, return_inverse=True)
        base = np.bincount(inverse, weights=np.where(stake_part, 0.0, val), minlength=len(uniq))
        per_stake = np.bincount(inverse, weights=np.where(stake_part, val, 0.0), minlength=len(uniq))
    return uniq % mat.m, uniq // mat.m, base, per_stake


#: _touch bins (start, row) pairs in one array up to this many of them, else sorts the pairs met
DENSE_TOUCH = 1 << 20


class _Bounds:
    """The column bounds ``h`` holds, so that only the columns that move are sent (HiGHS takes
    about 0.14 ms for a thousand columns, holding Python's lock). Every change of ``h``'s column
    bounds during a solve goes through it."""

    def __init__(self, h, mat: _Matrix):
        self.h, self.lo, self.up = h, mat.col_lo.copy(), mat.col_up.copy()

    def set(self, lo: np.ndarray, up: np.ndarray) -> None:
        moved = np.flatnonzero((lo != self.lo) | (up != self.up))
        if len(moved):
            self.h.changeColsBounds(len(moved), moved.astype(np.int32), lo[moved], up[moved])
            self.lo[moved], self.up[moved] = lo[moved], up[moved]


def _fixed_lp(h, mat: _Matrix, ints, z, settings, remaining, run_lp, bounds: _Bounds):
    """The LP of the continuous columns with every integer column fixed to its value in ``z``:
    (objective, column values), or None when z admits no solution.

    It goes to HiGHS as the model of the columns left free (in a portfolio: debt, commitments,
    stakes — tens of a thousand columns), on this thread's instance for held MIPs: a few tenths
    of a millisecond, and ``h`` keeps the relaxation's basis. With no column left free (a pure
    selection model) it is evaluated here. Only when HiGHS refuses that model does ``h`` solve
    the LP itself, from its basis, with ``run_lp``."""
    import highspy

    lo = mat.col_lo.copy()
    up = mat.col_up.copy()
    lo[ints] = z[ints]
    up[ints] = z[ints]
    if not (lo > up).any():
        free = np.flatnonzero(lo != up)
        part = _free_part(mat, lo, up, free)
        if part is None:
            return None  # a row of the fixed columns alone is broken
        if not len(free):
            return float(np.dot(mat.cost, lo)) + mat.offset, lo
        r = _held_highs(h, settings)
        r.setOptionValue("time_limit", remaining())
        if part.pass_to(r, mat, lo, up, np.zeros(len(free), dtype=bool)) != highspy.HighsStatus.kError:
            r.run()
            if r.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None
            x = lo.copy()
            x[free] = np.asarray(r.getSolution().col_value, dtype=float)
            return r.getInfo().objective_function_value, x
    bounds.set(lo, up)
    h.setOptionValue("presolve", "off")  # from the relaxation's basis: a few dual simplex steps
    try:
        ok, value, x = run_lp()
    finally:
        h.setOptionValue("presolve", "choose")
    return (value, x) if ok else None
