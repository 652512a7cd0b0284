"""Racing seeded HiGHS runs (optimizer/race.py) on small multidimensional knapsacks, real HiGHS.

Each knapsack: m budgets, n items, weight[i][j] ~ U{1..1000}, capacity_j = ⌊tightness × Σ_i
weight[i][j]⌋, value_i = ⌊Σ_j weight[i][j] / m + 500 U(0, 1)⌋ (the Chu–Beasley recipe). Up
to 15 items the optimum is found by enumerating every subset.
"""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest

highspy = pytest.importorskip("highspy")

from optimizer.race import LEAN_OPTIONS, Racing, RaceResult, race, worth_racing  # noqa: E402
from optimizer.solve import SolverSettings  # noqa: E402

EXACT = SolverSettings(mip_gap=0.0, time_limit_s=30.0)


def knapsack(n, tightness, seed, m=5):
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 1001, size=(n, m)).astype(float)
    cap = np.floor(tightness * w.sum(axis=0))
    c = np.floor(w.sum(axis=1) / m + 500 * rng.random(n))
    return w, cap, c


def build(w, cap, c, **options):
    n, m = w.shape
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    for k, v in options.items():
        h.setOptionValue(k, v)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = c
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.ones(n)
    lp.row_lower_ = np.full(m, -highspy.kHighsInf)
    lp.row_upper_ = cap
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, n * m + 1, n)
    lp.a_matrix_.index_ = np.tile(np.arange(n), m)
    lp.a_matrix_.value_ = w.T.ravel()
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    return h


def brute_force(w, cap, c) -> float:
    n = len(c)
    pick = np.array(list(itertools.product((0, 1), repeat=n)), dtype=float)
    ok = (pick @ w <= cap + 1e-9).all(axis=1)
    return float((pick[ok] @ c).max())


def selection(h) -> tuple:
    return tuple(int(i) for i in np.flatnonzero(np.asarray(h.getSolution().col_value) > 0.5))


def assert_holds(h, w, cap, c, objective):
    """h's own solution is a feasible selection worth ``objective``, and h says so."""
    x = np.round(np.asarray(h.getSolution().col_value))
    assert h.getSolution().value_valid
    assert np.all(x @ w <= cap + 1e-6)
    assert x @ c == pytest.approx(objective, abs=1e-6)
    assert h.getInfo().objective_function_value == pytest.approx(objective, abs=1e-6)


def plain_in_thread(w, cap, c, seed):
    """A single run as a racer makes it (threads = 1, the racers' options, in a fresh thread)."""
    out = {}

    def go():
        h = build(w, cap, c, threads=1, random_seed=seed, **LEAN_OPTIONS)
        h.run()
        out.update(nodes=h.getInfo().mip_node_count, selection=selection(h), status=h.getModelStatus())
        highspy.Highs.resetThreadScheduler(False)

    t = threading.Thread(target=go)
    t.start()
    t.join()
    return out


@pytest.mark.parametrize("n,tightness,seed", [(12, 0.25, 1), (14, 0.5, 2), (15, 0.75, 3), (15, 0.5, 4)])
def test_race_reaches_the_enumerated_optimum_and_h_holds_it(n, tightness, seed):
    w, cap, c = knapsack(n, tightness, seed)
    best = brute_force(w, cap, c)
    h = build(w, cap, c)
    result = race(h, EXACT)
    assert isinstance(result, RaceResult) and result.raced
    assert result.status == "Optimal"
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert result.objective == pytest.approx(best, abs=1e-6)
    assert_holds(h, w, cap, c, best)
    # h's own options are back as they were (Pyomo sets them again before each solve anyway)
    assert h.getOptionValue("threads")[1] == 0
    assert h.getOptionValue("random_seed")[1] == 0
    assert h.getOptionValue("mip_rel_gap")[1] == 0.0
    assert all(h.getOptionValue(name)[1] is True for name in LEAN_OPTIONS)


def test_a_copy_that_needs_fewer_nodes_wins_and_its_answer_is_handed_to_h():
    # 30 items: seed 1 proves the optimum with fewer nodes than seed 0 (both well under a second)
    w, cap, c = knapsack(30, 0.5, 2)
    runs = [plain_in_thread(w, cap, c, s) for s in (0, 1)]
    expected = min((runs[k]["nodes"], k) for k in (0, 1))[1]
    assert expected == 1, f"the instance no longer makes the copy win: nodes {[r['nodes'] for r in runs]}"
    h = build(w, cap, c)
    h.HandleKeyboardInterrupt = True  # another interrupt callback on h, as Pyomo's interface has
    plain = build(w, cap, c)
    plain.run()
    best = plain.getInfo().objective_function_value
    result = race(h, EXACT, seeds=(0, 1))
    assert result.winner == 1 and result.handed_over and result.seed == 1
    assert result.nodes[1] == runs[1]["nodes"]  # the same deterministic search as a run of its own
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert result.objective == pytest.approx(best, abs=1e-6)
    assert result.bound == pytest.approx(best, abs=1e-6) and result.gap == pytest.approx(0.0, abs=1e-9)
    assert_holds(h, w, cap, c, best)
    assert selection(h) == runs[1]["selection"]  # exactly the winner's answer, not h's own
    # h is still the same model, and nothing is left to stop it: a plain re-run proves the optimum
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(best, abs=1e-6)


def test_tied_optima_give_the_same_selection_on_every_call():
    # items in identical pairs: every optimum has a twin of equal value
    w, cap, c = knapsack(7, 0.5, 5)
    w, c = np.repeat(w, 2, axis=0), np.repeat(c, 2)
    best = brute_force(w, cap, c)
    picks = set()
    for _ in range(4):
        for seeds in ((0, 1), (0, 1, 2)):
            h = build(w, cap, c)
            result = race(h, EXACT, seeds=seeds)
            assert result.objective == pytest.approx(best, abs=1e-6)
            assert_holds(h, w, cap, c, best)
            picks.add((seeds, selection(h)))
    assert len(picks) == 2, picks  # one selection per seed tuple, whatever the threads' timing
    # and the answer is the one of the run that needed the fewest nodes (index breaks ties)
    runs = [plain_in_thread(w, cap, c, s) for s in (0, 1)]
    winner = min((runs[k]["nodes"], k) for k in (0, 1))[1]
    assert ((0, 1), runs[winner]["selection"]) in picks


def test_time_limit_reports_the_best_solution_and_its_gap_and_stops_every_racer():
    w, cap, c = knapsack(250, 0.5, 7)  # hard: far from proved in a second
    h = build(w, cap, c)
    settings = SolverSettings(mip_gap=0.0, time_limit_s=1.0)
    h.setOptionValue("time_limit", 1.0)
    before = threading.active_count()
    t0 = time.perf_counter()
    result = race(h, settings)
    elapsed = time.perf_counter() - t0
    assert elapsed < 15.0  # 1 s limit; generous for a loaded machine, but no hang
    assert threading.active_count() == before  # no racer left running
    assert result.status == "Time limit reached"
    assert all(s in ("Time limit reached", "Interrupted by user") for s in result.statuses)
    assert h.getModelStatus() == highspy.HighsModelStatus.kTimeLimit
    assert result.objective is not None and result.bound is not None
    assert result.bound >= result.objective - 1e-6
    assert result.gap is not None and result.gap > 0
    x = np.round(np.asarray(h.getSolution().col_value))
    assert np.all(x @ w <= cap + 1e-6)
    assert x @ c == pytest.approx(result.objective, abs=1e-6)  # h holds the winner's solution
    assert h.getOptionValue("time_limit")[1] == 1.0


def test_infeasible_model_is_reported_infeasible():
    w, cap, c = knapsack(12, 0.5, 8)
    h = build(w, cap, c)
    h.changeColsBounds(1, np.array([0]), np.array([1.0]), np.array([1.0]))
    h.changeRowBounds(0, -highspy.kHighsInf, float(w[0, 0]) - 1.0)  # item 0 forced in, but too heavy
    result = race(h, EXACT)
    assert h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
    assert result.objective is None and result.winner == 0


def test_worth_racing_only_for_mips_of_some_size():
    w, cap, c = knapsack(15, 0.5, 1)
    assert not worth_racing(build(w, cap, c))  # small: solved plainly
    w, cap, c = knapsack(100, 0.5, 1)
    big = build(w, cap, c)
    assert worth_racing(big)
    lp_only = build(w, cap, c)
    lp_only.changeColsIntegrality(100, np.arange(100), np.array([highspy.HighsVarType.kContinuous] * 100))
    assert not worth_racing(lp_only)


def test_racing_replaces_run_on_one_instance_and_keeps_the_last_result():
    w, cap, c = knapsack(45, 0.75, 1)  # just over MIN_INTEGER_COLUMNS, and quick
    h = build(w, cap, c)
    other = build(w, cap, c)
    racing = Racing(h, EXACT, seeds=(0, 1))
    h.run()  # as Pyomo's persistent interface calls it
    assert racing.last is not None and racing.last.raced
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    other.run()  # other instances are untouched
    assert h.getInfo().objective_function_value == pytest.approx(other.getInfo().objective_function_value, abs=1e-6)
    alone = build(w, cap, c)
    racing_alone = Racing(alone, EXACT)  # the default: one run with the racers' options
    alone.run()
    assert racing_alone.last is not None and not racing_alone.last.raced and racing_alone.last.winner == 0
    assert alone.getInfo().objective_function_value == pytest.approx(other.getInfo().objective_function_value,
                                                                     abs=1e-6)
    small = build(*knapsack(10, 0.5, 1))
    racing_small = Racing(small, EXACT)
    small.run()
    assert racing_small.last is None and small.getModelStatus() == highspy.HighsModelStatus.kOptimal
