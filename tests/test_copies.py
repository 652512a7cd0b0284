"""optimizer/copies.py: tasks solved side by side by a thread here and forked worker processes.

Every task is answered once, in order, whichever solver took it; a worker process that dies
leaves its tasks to this process; a task that fails there comes back as its error; a caller that
stops early leaves no worker process behind. The solver's re-solves give the same answers on
processes, on threads and one by one.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest

from optimizer import copies
from optimizer.copies import TaskFailed, side_by_side

forking = pytest.mark.skipif(not copies.can_fork(), reason="worker processes need fork (Linux)")


def squares(slow_here: float = 0.0, here: int | None = None):
    """A solver answering task i with (i², the process that answered); slower in this process."""
    here = os.getpid() if here is None else here

    def solve_all(claim, put):
        while (i := claim()) is not None:
            if os.getpid() == here and slow_here:
                time.sleep(slow_here)
            put(i, (i * i, os.getpid()))
    return solve_all


@pytest.mark.parametrize("mode", ["processes", "threads"])
@pytest.mark.parametrize("count,workers", [(1, 2), (2, 2), (25, 2), (40, 3), (7, 1)])
def test_every_task_is_answered_once_in_order(count, workers, mode, monkeypatch):
    monkeypatch.setattr(copies, "FORK_MIN_TASKS", 2)
    if mode == "threads":
        monkeypatch.setenv(copies.ENVIRONMENT, "threads")
    elif not copies.can_fork():
        pytest.skip("worker processes need fork (Linux)")
    got = list(side_by_side(count, workers, squares(slow_here=0.01)))
    assert [i for i, _ in got] == list(range(count))
    assert [item[0] for _, item in got] == [i * i for i in range(count)]
    answered_by = {item[1] for _, item in got}
    if mode == "threads" or workers == 1 or count == 1:
        assert answered_by == {os.getpid()}
    elif count >= 25:  # shared: this process takes 10 ms a task, so the worker processes took some
        assert answered_by - {os.getpid()}


@forking
def test_few_tasks_stay_on_threads():
    few = list(side_by_side(copies.FORK_MIN_TASKS - 1, 2, squares(slow_here=0.01)))
    many = list(side_by_side(copies.FORK_MIN_TASKS + 9, 2, squares(slow_here=0.01)))
    assert {item[1] for _, item in few} == {os.getpid()}
    assert {item[1] for _, item in many} - {os.getpid()}


@forking
def test_a_worker_process_that_dies_leaves_its_tasks_to_this_process():
    parent = os.getpid()

    def solve_all(claim, put):
        while (i := claim()) is not None:
            if os.getpid() != parent:
                os._exit(3)  # dies holding task i
            time.sleep(0.001)
            put(i, i + 100)

    got = list(side_by_side(30, 2, solve_all))
    assert got == [(i, i + 100) for i in range(30)]


@forking
def test_a_task_failing_in_a_worker_process_comes_back_as_its_error():
    parent = os.getpid()

    def solve_all(claim, put):
        while (i := claim()) is not None:
            if os.getpid() == parent:
                time.sleep(0.01)
                put(i, i)
            else:
                put(i, ValueError(f"no answer for task {i}"))

    got = dict(side_by_side(20, 2, solve_all))
    failed = {i: item for i, item in got.items() if isinstance(item, Exception)}
    assert failed, "the worker process took none of the tasks"
    for i, item in failed.items():
        assert isinstance(item, TaskFailed) and str(item) == f"no answer for task {i}"
    assert all(got[i] == i for i in got if i not in failed)


@forking
def test_stopping_early_leaves_no_worker_process():
    parent = os.getpid()
    pids = []

    def solve_all(claim, put):
        while (i := claim()) is not None:
            if os.getpid() != parent:
                time.sleep(0.05)  # still busy when the caller stops
            put(i, os.getpid())

    answers = side_by_side(50, 2, solve_all)
    for _, pid in answers:
        pids.append(pid)
        if len(pids) == 3:
            break
    answers.close()
    children = {p for p in pids if p != parent}
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped


def test_a_solver_that_cannot_start_is_reported(monkeypatch):
    monkeypatch.setenv(copies.ENVIRONMENT, "threads")

    def solve_all(claim, put):
        raise OSError("no HiGHS here")

    with pytest.raises(OSError, match="no HiGHS here"):
        list(side_by_side(4, 2, solve_all))


# ------------------------------------------------------------------ the solver's re-solves
@pytest.mark.parametrize("seed", range(4))
def test_re_solves_on_processes_equal_threads_and_one_by_one(seed, monkeypatch):
    from test_solve import EXACT, approx, pipeline
    from models.portfolio import build
    from optimizer.solve import Solver

    rng = random.Random(300 + seed)
    data = pipeline(rng, rng.randint(9, 12))
    m = build(data)
    solver = Solver(EXACT)
    base = solver.solve(m)
    values = solver.values()
    jobs = [(m.Select[p.project_id], rng.choice((0, 1)), values if rng.random() < 0.5 else None) for p in data.projects]

    monkeypatch.setattr(copies, "FORK_MIN_TASKS", 2)  # processes however few the jobs

    def answers(mode, workers):
        if mode == "threads":
            monkeypatch.setenv(copies.ENVIRONMENT, "threads")
        else:
            monkeypatch.delenv(copies.ENVIRONMENT, raising=False)
        return [o for _, o in solver.solve_each_fixed(m, jobs, workers=workers)]

    one_by_one = answers("threads", 1)
    for mode in ("processes", "threads"):
        got = answers(mode, 2)
        assert [o.status for o in got] == [o.status for o in one_by_one], mode
        for g, w in zip(got, one_by_one):
            assert approx(g.objective if g.solved else None, w.objective if w.solved else None), mode
    assert approx(solver.solve(m).objective, base.objective)  # the built model is as it was


def test_threads_setting_keeps_the_re_solves_to_that_many_copies(monkeypatch):
    from test_solve import EXACT, pipeline
    from models.portfolio import build
    from optimizer import solve as solve_module
    from optimizer.solve import Solver

    data = pipeline(random.Random(9), 10)
    m = build(data)
    monkeypatch.setattr(solve_module.Solver, "_solve_copies",
                        lambda *a, **k: pytest.fail("copies used although threads is 1"))
    jobs = [(m.Select[p.project_id], 0, None) for p in data.projects[:4]]
    done = []

    def run():  # a thread of its own: HiGHS keeps one thread count per thread
        solver = Solver(solve_module.SolverSettings(**{**EXACT.__dict__, "threads": 1}))
        solver.solve(m)
        done.extend(o.status for _, o in solver.solve_each_fixed(m, jobs))

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert len(done) == 4 and all(s in ("optimal", "infeasible") for s in done)
    assert Solver(EXACT).copies(None, 4) == min(4, os.cpu_count() or 1)
    assert Solver(EXACT).copies(3, 4) == 3


@pytest.mark.parametrize("seed", range(3))
def test_lp_estimates_in_parts_equal_one_relaxation_re_solved_throughout(seed, monkeypatch):
    """The explanations' LP estimates, in parts on copies (processes or threads), are the figures
    one relaxation re-solved for every project in turn gives."""
    from test_solve import EXACT, pipeline
    from models.portfolio import build
    from optimizer.analysis import explain
    from optimizer.solve import Solver

    rng = random.Random(700 + seed)
    data = pipeline(rng, rng.randint(10, 12))
    m = build(data)
    solver = Solver(EXACT)
    best = solver.solve(m)
    funded = [p for p in best.choices if data.by_id[p].decision != "must fund"]
    candidates = [p.project_id for p in data.projects if p.project_id not in best.choices]
    monkeypatch.setattr(copies, "FORK_MIN_TASKS", 2)  # two parts: on a process too
    figures = {}
    for mode, copies_ in (("one", 1), ("processes", 2), ("threads", 2)):
        if mode == "threads":
            monkeypatch.setenv(copies.ENVIRONMENT, "threads")
        monkeypatch.setattr(Solver, "copies", lambda self, workers, tasks, n=copies_: min(n, max(tasks, 1)))
        figures[mode] = explain._lp_estimates(m, solver, data, funded, candidates, EXACT)
    for mode in ("processes", "threads"):
        for got, want in zip(figures[mode], figures["one"]):
            assert got.keys() == want.keys()
            for p in want:
                assert (got[p] is None) == (want[p] is None), (mode, p)
                if want[p] is not None:
                    assert got[p] == pytest.approx(want[p], abs=1e-7), (mode, p)
    assert any(v for v in figures["one"][0].values())  # some project's loss is not zero
