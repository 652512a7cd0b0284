"""optimizer/heuristic.py: the LP bound, rounded portfolios and the core sub-MIP.

The heuristic may end a solve without branch and bound only when its portfolio is within the
gap of the LP bound. Checked here against HiGHS's own proof (the search alone, mip_gap 0) on
seeded pipelines big enough for every step to run (rounding, the greedy fill, the core of
projects nearest the margin), with start windows, partial stakes, debt and sector shares:

* a portfolio it calls optimal is within mip_gap of the proven optimum, and satisfies every rule
  (the invariant checker, from the written workbook);
* its bound is at least the proven optimum;
* an infeasible relaxation is reported infeasible, as HiGHS finds the MIP.
"""

from __future__ import annotations


import numpy as np
import pytest

from models.portfolio import build
from optimizer import heuristic
from optimizer.data import BudgetYear, Fund, Pipeline, Project, SectorLimit
from optimizer.solve import Solver, SolverSettings

SECTORS = ("Energy", "Chips", "Ports", "Water")
SEARCH_ONLY = dict(heuristic_min_integers=10**9)


def knapsack(seed: int, n: int, tightness: float = 0.4) -> Pipeline:
    rng = np.random.default_rng(seed)
    projects = []
    for j in range(n):
        sched = tuple(float(v) for v in rng.integers(1, 100, size=3))
        capex = sum(sched)
        npv = float(int(capex / 3 + 50 * rng.random()))
        window = rng.random() < 0.3
        varying = rng.random() < 0.2
        projects.append(Project(f"K{j:03d}", f"Project {j}", SECTORS[int(rng.integers(0, 4))], capex, npv, sched,
                                row=j + 2, earliest_start=2027 if window else None,
                                latest_start=2028 if window else None,
                                min_stake=0.4 if varying else 1.0, max_stake=1.0,
                                leverage_eligible=bool(rng.random() < 0.5)))
    total = [sum(p.schedule[k] for p in projects) for k in range(3)]
    budget = tuple(BudgetYear(2027 + y, y + 2, capital_limit=float(int(tightness * total[min(y, 2)])))
                   for y in range(4))
    fund = Fund(planning_start=2027, equity_capital=float(int(0.8 * tightness * sum(total))), max_leverage=0.1,
                max_ltv=0.5, debt_cost=0.02, mip_gap=1e-4)
    sectors = (SectorLimit("Energy", 2, max_share=0.35), SectorLimit("Water", 3, min_share=0.1))
    return Pipeline(projects=tuple(projects), fund=fund, budget=budget, sectors=sectors)


def proven(data: Pipeline) -> float:
    o = Solver(SolverSettings(mip_gap=0.0, time_limit_s=120.0, **SEARCH_ONLY)).solve(build(data))
    assert o.status == "optimal"
    return o.objective


@pytest.mark.parametrize("seed,n", [(s, n) for s, n in zip(range(10), (40, 60, 80, 150, 200, 150, 90, 250, 120, 180))])
def test_a_portfolio_called_optimal_is_within_the_gap_of_the_proof(seed, n):
    data = knapsack(seed, n)
    settings = SolverSettings(mip_gap=1e-4, time_limit_s=60.0)
    m = build(data)
    solver = Solver(settings)
    c = solver._compiled(m)
    found = heuristic.solve(c.h, c.structure(), settings)
    best = proven(data)
    assert found.bound >= best - 1e-6
    if found.status == "optimal":
        assert found.objective >= best - 1e-4 * abs(found.objective) - 1e-6
        assert found.objective <= best + 1e-6
    # and the whole solve (heuristic, then the search when needed) meets the gap
    o = solver.solve(m)
    assert o.status == "optimal" and o.objective >= best - 1e-4 * abs(best) - 1e-6


@pytest.mark.parametrize("rules,n,seed", [("core", 300, 1), ("core", 150, 1), ("core", 400, 1),
                                           ("all", 300, 3), ("all", 200, 6)])
def test_the_bound_after_the_proof_is_a_true_bound(rules, n, seed, tmp_path, monkeypatch):
    """The proof by reduced-cost fixing settles these generated pipelines (benchmarks/generate.py,
    the core benchmark's rules). A portfolio up to the gap better than the one it starts from may
    move a held column (at 300 projects, seed 1: one 0.01 better, a small Space project for a
    Biotech one), so the bound it reports is max(held MIP's bound, start + tol), not the portfolio
    found: the Summary's best bound and mip gap must hold against the proven optimum. "core": the
    core benchmark's rules; "all": every rule family the generator has (stakes, leverage,
    investors, agreement, ...; at 300 projects, seed 3, the bound lies 0.0002 above the optimum)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import generate

    from optimizer.workbook.validate import read_pipeline

    off = {"leverage", "investors", "rules", "locks", "esg", "sector_counts", "agreement", "stakes", "risk_cap"}
    default = {f for f, (on, _) in generate.FAMILIES.items() if on}
    families = set(generate.FAMILIES) if rules == "all" else default - off
    path = generate.write_workbook(generate.make_pipeline(n, seed, families, alternatives=1, explain_limit=0),
                                   tmp_path / "p.xlsx")
    data = read_pipeline(path)
    proofs = []
    real = heuristic._proof

    def spy(*args, **kwargs):
        got = real(*args, **kwargs)
        proofs.append(got is not None)
        return got

    monkeypatch.setattr(heuristic, "_proof", spy)
    o = Solver(SolverSettings(mip_gap=1e-4, time_limit_s=60.0)).solve(build(data))
    assert proofs == [True]  # the proof is what settled it
    best = proven(data)
    assert o.status == "optimal"
    assert o.bound >= best - 1e-9 * abs(best)
    assert best - 1e-4 * abs(best) <= o.objective <= best + 1e-9 * abs(best)
    assert o.gap <= 1e-4 and o.gap == pytest.approx((o.bound - o.objective) / o.objective, abs=1e-12)


def test_the_heuristic_settles_large_pipelines_without_a_search():
    """On a 600-project pipeline the rounded portfolio or the core meets the gap: no search."""
    data = knapsack(7, 600, tightness=0.5)
    settings = SolverSettings(mip_gap=1e-3, time_limit_s=60.0)
    m = build(data)
    c = Solver(settings)._compiled(m)
    found = heuristic.solve(c.h, c.structure(), settings)
    assert found.status == "optimal"
    assert found.bound - found.objective <= 1e-3 * found.objective
    assert found.objective <= proven(data) + 1e-6


def test_the_written_portfolio_satisfies_every_rule(tmp_path):
    """End to end through the workbook: a portfolio the heuristic settles passes the invariant checker."""
    from helpers import make_workbook
    from optimizer.runner import run_workbook

    data = knapsack(3, 200)
    projects = [{"project_id": p.project_id, "name": p.name, "sector": p.sector, "capex": p.capex, "npv": p.npv,
                 "min_stake": p.min_stake, "earliest_start": p.earliest_start, "latest_start": p.latest_start,
                 "leverage_eligible": "yes" if p.leverage_eligible else "no"} for p in data.projects]
    path = make_workbook(tmp_path / "k.xlsx", projects, schedule={p.project_id: list(p.schedule) for p in data.projects},
                         budget=[{"year": b.year, "capital_limit": b.capital_limit} for b in data.budget],
                         sectors=[{"sector": "Energy", "max_share": 0.35}, {"sector": "Water", "min_share": 0.1},
                                  {"sector": "Chips"}, {"sector": "Ports"}],
                         fund={"equity_capital": data.fund.equity_capital, "max_leverage": 0.1, "max_ltv": 0.5,
                               "debt_cost": 0.02, "mip_gap": 1e-4, "alternatives": 1, "explain_limit": 0})
    result = run_workbook(path, tmp_path / "out.xlsx", verify=True)
    assert result.verify_problems == []
    assert result.outcome.objective >= proven(data) * (1 - 1e-4) - 1e-6


def test_an_infeasible_relaxation_is_infeasible():
    data = knapsack(1, 80)
    locked = tuple(Project(**{**p.__dict__, "decision": "must fund"}) if i < 60 else p
                   for i, p in enumerate(data.projects))
    data = Pipeline(projects=locked, fund=data.fund, budget=data.budget, sectors=data.sectors)
    settings = SolverSettings(mip_gap=1e-4, time_limit_s=30.0)
    m = build(data)
    c = Solver(settings)._compiled(m)
    assert heuristic.solve(c.h, c.structure(), settings).status == "infeasible"
    assert Solver(SolverSettings(**SEARCH_ONLY)).solve(build(data)).status == "infeasible"


def test_a_start_highs_values_wrongly_is_dropped():
    """HiGHS 1.16 values this start at 935 in its presolved space (the columns give 740) and stops
    there, "optimal"; run_mip notices that the objective is not the returned columns' value and
    solves again without the start: 807, the true optimum (P01 + P02 + P07 + P09)."""
    import highspy

    from optimizer.solve import new_highs

    cost = [162, 195, 231, 177, 72, 64, 270, 56, 180]
    rows = {  # row: (lower, upper, {column: coefficient})
        "fixed out": (0, 0, {2: 1}),
        "equity": (-highspy.kHighsInf, 252.6, {0: 54, 1: 39, 2: 33, 3: 59, 4: 12, 5: 32, 6: 45, 7: 7, 8: 20}),
        "2027": (-highspy.kHighsInf, 92.9, {0: 18, 1: 39, 2: 16.5, 3: 59, 4: 12, 5: 16, 6: 15, 7: 7, 8: 20}),
        "2028": (-highspy.kHighsInf, 35.2, {0: 18, 2: 16.5, 5: 16, 6: 15}),
    }
    h = new_highs()
    n = len(cost)
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), np.array(cost, dtype=float))
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.ones(n, dtype=np.uint8))
    h.changeColBounds(3, 0, 0)
    h.changeColBounds(6, 1, 1)
    for lo, up, coefs in rows.values():
        h.addRow(lo, up, len(coefs), np.array(list(coefs), dtype=np.int32), np.array(list(coefs.values()), dtype=float))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.setOptionValue("mip_rel_gap", 0.0)
    start = [1, 0, 0, 0, 1, 0, 1, 1, 1]
    heuristic.run_mip(h, start)
    x = np.array(h.getSolution().col_value)
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(807)
    assert float(np.dot(cost, x)) == pytest.approx(807)


@pytest.mark.parametrize("seed", range(12))
def test_a_held_mip_solved_on_its_free_columns_answers_as_the_whole_model(seed, monkeypatch):
    """With most columns held, a MIP goes to HiGHS as the model of its free columns (rows moved
    by the held columns' activity). Its status, objective and dual bound are those of the whole
    model with the same bounds, on held sets that fit, that cut the best portfolio off, and that
    break a row of held columns alone; the held columns keep their values."""
    import highspy

    rng = np.random.default_rng(seed)
    data = knapsack(seed, 120, tightness=float(rng.uniform(0.2, 0.6)))
    settings = SolverSettings(mip_gap=0.0, time_limit_s=60.0)
    solver = Solver(settings)
    m = build(data)
    best = solver.solve(m)
    c = solver._c
    mat = c.matrix()
    x = solver.values()
    for trial in range(4):
        lo, up = mat.col_lo.copy(), mat.col_up.copy()
        ints = np.flatnonzero(mat.integer)
        held = rng.choice(ints, size=int(0.95 * len(ints)), replace=False)
        if trial == 1:  # hold at other values than the best portfolio's
            values = rng.integers(0, 2, size=len(held)).astype(float)
        elif trial == 2:  # every project held in: the budget rows of held columns alone are broken
            values = np.ones(len(held))
        else:
            values = np.round(x[held])
        lo[held] = np.clip(values, mat.col_lo[held], mat.col_up[held])
        up[held] = lo[held]
        with monkeypatch.context() as mp:
            mp.setattr(heuristic, "REDUCED_SHARE", 0.0)  # the whole model, as before
            whole = heuristic._held_mip(c.h, mat, lo, up, x if trial == 0 else None, settings, 60.0)
        c.h.changeColsBounds(mat.n, np.arange(mat.n, dtype=np.int32), mat.col_lo, mat.col_up)
        free = np.flatnonzero(lo != up)
        with monkeypatch.context() as mp:
            mp.setattr(heuristic, "REDUCED_SHARE", 1.0)  # on the free columns wherever it can
            got = heuristic._held_mip(c.h, mat, lo, up, x if trial == 0 else None, settings, 60.0)
        reduced = heuristic._reduced_mip(c.h, mat, lo, up, free, None, settings, 60.0)
        if trial == 0:  # held at the best portfolio's values: no row of held columns is broken
            assert reduced is not None and reduced.feasible
        if trial == 2:  # every project in breaks the budget: told on the whole model, infeasible
            assert whole.status == highspy.HighsModelStatus.kInfeasible and not got.feasible
        if reduced is not None:
            assert reduced.status == whole.status, (seed, trial)
        assert got.status == whole.status, (seed, trial)
        assert got.feasible == whole.feasible
        if whole.feasible:
            assert got.objective == pytest.approx(whole.objective, rel=1e-9, abs=1e-7)
            assert got.dual_bound == pytest.approx(whole.dual_bound, rel=1e-9, abs=1e-7)
            assert np.array_equal(got.x[held], lo[held])
            assert float(np.dot(mat.cost, got.x) + mat.offset) == pytest.approx(got.objective, rel=1e-9, abs=1e-7)
        if trial == 0:
            assert got.feasible and got.objective == pytest.approx(best.objective, rel=1e-9, abs=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_the_rows_a_start_touches_are_the_same_binned_or_sorted(seed, monkeypatch):
    """_touch bins (start, row) pairs in one array when they fit (DENSE_TOUCH), else sorts the
    pairs met: the same rows, starts and changes, bit for bit, on pipelines with start windows
    and stakes."""
    import random
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_solve import pipeline

    data = pipeline(random.Random(900 + seed), 12)
    solver = Solver(SolverSettings(mip_gap=0.0))
    solver.solve(build(data))
    c = solver._c
    s, mat = c.structure(), c.matrix()
    rng = np.random.default_rng(seed)
    for _ in range(5):
        ks = np.sort(rng.choice(len(s.proj), size=int(rng.integers(1, len(s.proj) + 1)), replace=False))
        with monkeypatch.context() as mp:
            mp.setattr(heuristic, "DENSE_TOUCH", 0)
            sorted_ = heuristic._touch(s, mat, ks)
        with monkeypatch.context() as mp:
            mp.setattr(heuristic, "DENSE_TOUCH", 1 << 30)
            binned = heuristic._touch(s, mat, ks)
        for a, b in zip(sorted_, binned):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        assert len(sorted_[0]) > 0


@pytest.mark.parametrize("seed,n", [(1, 80), (4, 150), (7, 120)])
def test_held_mips_on_the_whole_model_keep_the_bounds_tracker_true(seed, n, monkeypatch):
    """When the core and proof MIPs are solved on the model's own HiGHS instance (REDUCED_SHARE 0:
    never on their free columns alone), the column bounds they set go through the solve's bounds
    tracker: after each of them the tracker holds what HiGHS holds, and after the solve HiGHS
    holds the model's own bounds and integrality again. The optimum is the one found with the held
    MIPs on their free columns (within the gap of the proof)."""
    import highspy

    data = knapsack(seed, n)
    best = proven(data)
    real = heuristic._held_mip

    for share in (0.0, heuristic.REDUCED_SHARE):
        checked = []

        def tracked(h, mat, lo, up, start, settings, time_limit, bounds=None, options=None):
            got = real(h, mat, lo, up, start, settings, time_limit, bounds, options)
            assert bounds is not None  # every held MIP of a solve is told the tracker
            lp = h.getLp()
            assert np.array_equal(np.asarray(lp.col_lower_), bounds.lo)
            assert np.array_equal(np.asarray(lp.col_upper_), bounds.up)
            checked.append(share)
            return got

        with monkeypatch.context() as mp:
            mp.setattr(heuristic, "REDUCED_SHARE", share)
            mp.setattr(heuristic, "_held_mip", tracked)
            solver = Solver(SolverSettings(mip_gap=1e-4, time_limit_s=60.0))
            o = solver.solve(build(data))
        assert checked, "no held MIP ran: the test proves nothing"
        assert o.status == "optimal"
        assert o.objective == pytest.approx(best, rel=1.01e-4)
        c = solver._c
        mat = c.matrix()
        lp = c.h.getLp()
        assert np.array_equal(np.asarray(lp.col_lower_), mat.col_lo)
        assert np.array_equal(np.asarray(lp.col_upper_), mat.col_up)
        kinds = np.asarray(lp.integrality_, dtype=np.int64) == int(highspy.HighsVarType.kInteger)
        assert np.array_equal(kinds, mat.integer)


@pytest.mark.parametrize("seed", range(10))
def test_the_range_of_a_row_is_that_of_its_corner_points(seed):
    """_row_range: the least and the most each row can add up to, over every corner of the columns'
    bounds (enumerated), with zero entries, infinite bounds and rows without entries."""
    import itertools

    rng = np.random.default_rng(seed)
    ncol, m = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    if seed == 0:
        ncol = 0  # no entry at all
    lo = rng.choice([-np.inf, -2.0, 0.0, 1.0], size=ncol)
    up = np.maximum(lo, 0.0) + rng.choice([0.0, 1.0, 3.0, np.inf], size=ncol)
    counts = rng.integers(0, m + 1, size=ncol)
    rows = np.concatenate([np.zeros(0)] + [np.sort(rng.choice(m, size=k, replace=False)) for k in counts]).astype(np.int64)
    value = rng.choice([-2.0, -0.5, 0.0, 1.0, 3.0], size=len(rows))
    least, most = heuristic._row_range(rows, value, lo, up, counts, m)
    cols = np.repeat(np.arange(ncol), counts)
    want_lo, want_hi = np.zeros(m), np.zeros(m)
    for r in range(m):
        here = rows == r
        terms = [(v, lo[c], up[c]) for v, c in zip(value[here], cols[here]) if v != 0]
        for v, a, b in terms:  # each term's own least and most (the terms are separable)
            ends = [v * a, v * b]
            want_lo[r] += min(ends)
            want_hi[r] += max(ends)
        if not any(np.isinf([a, b]).any() for _, a, b in terms) and terms:  # finite: also by enumeration
            corners = [sum(v * x for (v, _, _), x in zip(terms, pick))
                       for pick in itertools.product(*[(a, b) for _, a, b in terms])]
            assert min(corners) == pytest.approx(want_lo[r]) and max(corners) == pytest.approx(want_hi[r])
    assert np.array_equal(least, want_lo) and np.array_equal(most, want_hi)


def test_a_held_mip_leaves_out_the_rows_its_free_columns_cannot_break(monkeypatch):
    """A held MIP on its free columns goes to HiGHS without the rows that those columns cannot
    break within their bounds: fewer rows than its free columns touch, the same answer as the
    whole model; with every row left out (one funded project free, every other column held at the
    optimum), too."""
    import highspy

    from optimizer import solve as solve_module

    data = knapsack(3, 120, tightness=0.45)
    settings = SolverSettings(mip_gap=0.0, time_limit_s=60.0)
    solver = Solver(settings)
    best = solver.solve(build(data))
    c = solver._c
    mat = c.matrix()
    x = solver.values()
    sizes = []
    real = solve_module.pass_columns

    def seen(r, n, m, *args):
        sizes.append((n, m))
        return real(r, n, m, *args)

    monkeypatch.setattr(solve_module, "pass_columns", seen)
    rng = np.random.default_rng(0)
    ints = np.flatnonzero(mat.integer)
    s = c.structure()
    # a funded project whose every row stays within its bounds whether it is in or out
    alone = None
    for j in s.select[x[s.select] > 0.5]:
        rows_j, vals_j = mat.column(j)
        act = mat.activity(np.where(np.arange(mat.n) == j, 0.0, x))
        least, most = heuristic._row_range(rows_j, vals_j, np.zeros(1), np.ones(1), np.array([len(rows_j)]), mat.m)
        if np.all(least[rows_j] >= mat.row_lo[rows_j] - act[rows_j]) and np.all(most[rows_j] <= mat.row_up[rows_j] - act[rows_j]):
            alone = int(j)
            break
    assert alone is not None
    for size in (30, 0):
        lo, up = mat.col_lo.copy(), mat.col_up.copy()
        if size:
            held = np.setdiff1d(ints, rng.choice(s.select, size=size, replace=False))
            lo[held] = up[held] = np.round(x[held])
        else:
            held = np.setdiff1d(np.arange(mat.n), [alone])
            lo[held] = up[held] = x[held]
        free = np.flatnonzero(lo != up)
        touched = np.unique(np.concatenate([mat.column(j)[0] for j in free]))
        got = heuristic._reduced_mip(c.h, mat, lo, up, free, None, settings, 60.0)
        with monkeypatch.context() as mp:
            mp.setattr(heuristic, "REDUCED_SHARE", 0.0)
            whole = heuristic._held_mip(c.h, mat, lo, up, None, settings, 60.0)
        c.h.changeColsBounds(mat.n, np.arange(mat.n, dtype=np.int32), mat.col_lo, mat.col_up)
        assert got is not None and got.status == whole.status == highspy.HighsModelStatus.kOptimal
        assert got.objective == pytest.approx(whole.objective, rel=1e-9, abs=1e-7)
        assert got.objective == pytest.approx(best.objective, rel=1e-9, abs=1e-7)  # held at the optimum
        n, m = sizes[-1]
        assert n == len(free) and m < len(touched)
        if not size:
            assert n == 1 and m == 0


@pytest.mark.parametrize("seed", range(6))
def test_the_lp_with_integer_columns_fixed_is_the_whole_models(seed):
    """_fixed_lp solves the LP over the columns the fixed integer columns leave free (debt,
    stakes) as its own small model: on the optimum's integer columns and on random ones, the same
    verdict (a solution or none) and the same optimum as HiGHS on the whole model with those
    columns fixed, and its columns meet every row of the whole model."""
    import highspy

    from optimizer.solve import new_highs

    data = knapsack(40 + seed, 60 + 20 * seed, tightness=0.5)
    settings = SolverSettings(mip_gap=1e-4, time_limit_s=60.0)
    solver = Solver(settings)
    solver.solve(build(data))
    c = solver._c
    mat = c.matrix()
    ints = np.flatnonzero(mat.integer)
    assert len(ints) < mat.n  # continuous columns to re-optimize
    model = c.h.getModel()
    rng = np.random.default_rng(seed)
    x_opt = solver.values()
    answered = refused = 0
    for trial in range(12):
        z = np.round(x_opt) if trial == 0 else np.clip(
            (rng.random(mat.n) < rng.uniform(0.05, 0.5)).astype(float), mat.col_lo, mat.col_up)
        got = heuristic._fixed_lp(c.h, mat, ints, z, settings, lambda: 60.0, None, None)
        ref = new_highs()
        ref.passModel(model)
        lo, up = mat.col_lo.copy(), mat.col_up.copy()
        lo[ints] = up[ints] = z[ints]
        ref.changeColsBounds(mat.n, np.arange(mat.n, dtype=np.int32), lo, up)
        ref.changeColsIntegrality(len(ints), ints.astype(np.int32), np.zeros(len(ints), dtype=np.uint8))
        ref.run()
        optimal = ref.getModelStatus() == highspy.HighsModelStatus.kOptimal
        assert (got is not None) == optimal, (seed, trial)
        if got is None:
            refused += 1
            continue
        answered += 1
        value, x = got
        assert value == pytest.approx(ref.getInfo().objective_function_value, rel=1e-9, abs=1e-7)
        assert value == pytest.approx(float(np.dot(mat.cost, x)) + mat.offset, rel=1e-9, abs=1e-7)
        assert np.array_equal(x[ints], z[ints])
        assert np.all(x >= mat.col_lo - 1e-9) and np.all(x <= mat.col_up + 1e-9)
        act = mat.activity(x)
        assert np.all(act >= mat.row_lo - 1e-6) and np.all(act <= mat.row_up + 1e-6)
    assert answered and refused  # both verdicts met


def test_the_held_instance_of_a_thread_is_made_once(monkeypatch):
    """Held MIPs and fixed LPs reuse this thread's HiGHS instance across solves whose time left
    differs (making one costs about 0.1 ms); a change of the run's options makes a new one."""
    from optimizer import solve as solve_module

    data = knapsack(5, 150, tightness=0.45)
    solver = Solver(SolverSettings(mip_gap=1e-4, time_limit_s=60.0))
    m = build(data)
    best = solver.solve(m)
    made = []
    real = solve_module.new_highs
    monkeypatch.setattr(solve_module, "new_highs", lambda: made.append(1) or real())
    used = []
    held = heuristic._held_mip
    monkeypatch.setattr(heuristic, "_held_mip", lambda *a, **k: used.append(1) or held(*a, **k))
    first = heuristic._HELD.highs[1]
    for p in list(best.choices)[:6]:
        solver.solve_with_fixed(m, m.Select[p], 0)
    assert used and not made  # every held MIP on the instance made by the first solve
    assert heuristic._HELD.highs[1] is first
    other = Solver(SolverSettings(mip_gap=1e-3, time_limit_s=60.0))
    m2 = build(data)
    other.solve(m2)
    for p in list(best.choices)[:3]:
        other.solve_with_fixed(m2, m2.Select[p], 0)
    assert heuristic._HELD.highs[1] is not first  # another gap: another held instance
    assert heuristic._HELD.highs[1].getOptionValue("mip_rel_gap")[1] == 1e-3


@pytest.mark.parametrize("seed,n", [(0, 60), (3, 150), (5, 250)])
def test_the_fill_funds_what_trying_one_start_at_a_time_funds(seed, n, monkeypatch):
    """_fill finds the next start to fund a block of candidates at a time (_would_take): from random
    portfolios (some breaking rows, some with room to fill) on pipelines with start windows,
    partial stakes and sector shares, it funds the same starts at the same stakes, bit for bit, as
    trying each candidate on its own (every candidate handed to take()), with blocks of one, of a
    few and of all of them."""
    data = knapsack(seed, n)
    solver = Solver(SolverSettings(mip_gap=1e-4))
    solver.solve(build(data))
    c = solver._c
    s, mat = c.structure(), c.matrix()
    relaxed_x, duals = solver.relaxed
    sign = 1.0 if mat.maximize else -1.0
    rng = np.random.default_rng(seed)
    filled = 0
    for trial in range(12):
        share = (0.05, 0.2, 0.4, 0.6)[trial % 4]
        x = np.zeros(mat.n)
        chosen = set()
        for k in rng.permutation(len(s.proj)):
            p = int(s.proj[k])
            if p in chosen or rng.random() > share:
                continue
            chosen.add(p)
            x[s.select[p]] = x[s.start_col[k]] = 1.0
            if s.stake_col[k] >= 0:
                x[s.stake_col[k]] = float(rng.uniform(s.stake_lo[k], s.stake_hi[k]))
        z = np.where(mat.integer, x, 0.0)
        expected_x, expected_z = x.copy(), z.copy()
        with monkeypatch.context() as mp:  # one by one: take() decides on every candidate in turn
            mp.setattr(heuristic, "_would_take", lambda s, mat, ks, gain, chunk, *rest: np.ones(len(chunk), dtype=bool))
            expected = heuristic._fill(s, mat, expected_x, expected_z, duals, sign)
        for block, most in ((1, 1), (2, 8), (16, 1024), (10**6, 10**6)):
            monkeypatch.setattr(heuristic, "FILL_BLOCK", block)
            monkeypatch.setattr(heuristic, "FILL_BLOCK_MAX", most)
            got_x, got_z = x.copy(), z.copy()
            assert heuristic._fill(s, mat, got_x, got_z, duals, sign) == expected
            assert np.array_equal(got_x, expected_x) and np.array_equal(got_z, expected_z)
        filled += int(expected)
    assert filled >= 3  # the fill funded starts in several of the trials


@pytest.mark.parametrize("lean", [True, False])
def test_the_proof_on_the_whole_model_runs_with_its_own_options_and_gives_them_back(lean, monkeypatch):
    """A proof solved on the model's own HiGHS instance (more than REDUCED_SHARE of the columns
    free) runs with PROOF_OPTIONS while it leaves at most PROOF_LEAN_COLUMNS integer columns
    free, else with the run's options, and the core before it with the run's options; afterwards
    the instance holds the run's options again, and the optimum is HiGHS's own proof's."""
    if not lean:
        monkeypatch.setattr(heuristic, "PROOF_LEAN_COLUMNS", 0)  # every proof is "big"
    data = knapsack(3, 150)
    best = proven(data)
    watched = tuple(heuristic.PROOF_OPTIONS)
    seen: list[tuple[str, dict]] = []
    real_core, real_proof, real_run = heuristic._core, heuristic._proof, heuristic.run_mip
    step: list[str] = []

    def core(*args, **kwargs):
        step.append("core")
        return real_core(*args, **kwargs)

    def proof(*args, **kwargs):
        step.append("proof")
        return real_proof(*args, **kwargs)

    def run_mip(h, start=None, mat=None):
        seen.append((step[-1] if step else "", {k: h.getOptionValue(k)[1] for k in watched}))
        return real_run(h, start, mat)

    monkeypatch.setattr(heuristic, "REDUCED_SHARE", 0.0)  # every held MIP on the whole model
    monkeypatch.setattr(heuristic, "_core", core)
    monkeypatch.setattr(heuristic, "_proof", proof)
    monkeypatch.setattr(heuristic, "run_mip", run_mip)
    settings = SolverSettings(mip_gap=0.0, time_limit_s=60.0)
    solver = Solver(settings)
    m = build(data)
    before = {k: solver._compiled(m).h.getOptionValue(k)[1] for k in watched}
    o = solver.solve(m)
    assert o.status == "optimal" and o.objective == pytest.approx(best, rel=1e-9, abs=1e-6)
    proofs = [opts for what, opts in seen if what == "proof"]
    assert proofs, "no proof ran on the whole model: the test proves nothing"
    assert all(opts == (heuristic.PROOF_OPTIONS if lean else before) for opts in proofs)
    assert all(opts == before for what, opts in seen if what == "core")
    assert before != heuristic.PROOF_OPTIONS
    assert {k: solver._c.h.getOptionValue(k)[1] for k in watched} == before
