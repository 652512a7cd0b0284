"""Race differently seeded HiGHS runs of one MIP on the machine's cores; keep the first proof.

HiGHS's branch and bound is mostly one-threaded, and its time to a proven optimum can vary
with ``random_seed`` (one Chu–Beasley knapsack: 16.9 s of CPU with seed 0, 12.9 s with seed
1, 28.8 s with seed 2). :func:`race` solves the model held by a highspy instance ``h`` with
several seeds at once, one single-threaded HiGHS per seed in its own thread (highspy releases
the GIL during ``run()``), and stops as soon as the answer is settled. Every racer runs with
:data:`LEAN_OPTIONS`, which on those knapsacks halve the time to proof by themselves; with
``seeds=(0,)`` the race is one such run (what :class:`Racing` does by default: measured on the
project's shared 2-core machine, a second racer cost more than it won). Afterwards ``h`` holds
the winning answer, so code that reads ``h.getModelStatus()``, ``h.getSolution()`` and
``h.getInfo()`` after ``h.run()`` (Pyomo's persistent HiGHS interface does) keeps working.

Racer 0 is ``h`` itself; racer k > 0 is a copy (``passModel(h.getModel())`` and ``h``'s
options) with another seed. All racers run with ``threads`` = 1 (two of them fill the two
cores; HiGHS's thread-local scheduler is created per racing thread and released after).

Determinism: a work clock, not the wall clock, decides the race
------------------------------------------------------------------
Which thread finishes first depends on the machine's load, and two seeds may find different
portfolios of equal value, so "keep whoever proves first" would give different portfolios on
different runs. Each racer's own run is deterministic, so the race is judged by a deterministic
measure of its work instead: the number of branch-and-bound nodes, which HiGHS reports at every
interrupt check (``kCallbackMipInterrupt``) and which only grows. A racer that proves its answer
(status optimal) after N nodes posts (N, its index); any other racer stops at its next check
once its own (nodes, index) is larger — it could no longer win. The winner is the proof with the
smallest (nodes, index): the racer that needs the least search, whatever the load, and on every
run the same one — hence the same portfolio. The price: when the winner's nodes are cheap and
the other racer's dear, the race waits until the other racer has searched as many nodes.
Only a proof stops the others; infeasibility or a time limit does not (see :func:`race`).

Handing the answer to ``h``
---------------------------
When ``h`` wins it already holds its own answer (status, solution, bound, node count). When a
copy wins, ``h`` was stopped; the winner's solution is passed to ``h`` with ``setSolution`` and
``h`` is run once more with ``mip_rel_gap`` and ``mip_abs_gap`` set to infinity: HiGHS accepts
the start solution and stops with status optimal at once (a few milliseconds), leaving exactly
that solution in ``h``. ``h.getInfo().mip_dual_bound`` is then only the root bound (weaker
than the proof): :class:`RaceResult` carries the winner's true bound and gap. When no racer
proves its answer (time limit), the racer with the best solution wins (index breaks ties); a
copy's solution is handed over with a time limit of 1e-9 s, so that ``h``'s status is "time
limit reached", with its dual bound infinite (again, the result carries the winner's).
``h``'s options are restored afterwards.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass

MIN_INTEGER_COLUMNS = 40     # below this a MIP is solved in well under a second: run it plainly
MAX_COLUMNS = 20_000         # above this, a copy per racer costs memory and copying time
_HANDOVER_OPTIONS = ("mip_rel_gap", "mip_abs_gap", "time_limit", "mip_heuristic_effort")

# Options every racer runs with (benchmarks/README.md, "hard instances"): on the Chu–Beasley
# knapsacks, at every tightness level, HiGHS spends most of its time in the RINS / RENS sub-MIPs
# and in cut separation below the root, while the optimum is found early and the time goes into
# the proof; without them the proof takes about half the CPU time.
LEAN_OPTIONS = {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False,
                "mip_allow_cut_separation_at_nodes": False}


@dataclass(frozen=True)
class RaceResult:
    """What a race found, and how ``h`` came to hold it."""

    raced: bool                  # False: the model was solved by h.run() alone
    winner: int                  # index (into seeds) of the run whose answer h holds; 0 = h itself
    seed: int                    # random_seed of the winning run
    status: str                  # HiGHS model status of the winning run, e.g. "Optimal"
    objective: float | None      # the winner's objective (None without a solution)
    bound: float | None          # the winner's dual bound: use it when ``handed_over``
    gap: float | None            # the winner's relative gap
    nodes: tuple                 # branch-and-bound nodes of every racer when it ended
    statuses: tuple              # HiGHS model status of every racer when it ended
    seconds: float               # wall clock of the whole call
    handed_over: bool = False    # a copy won: its solution was passed into h (h's own bound is weaker)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worth_racing(h) -> bool:
    """Whether racing can pay off for the model in ``h``: a MIP with at least
    ``MIN_INTEGER_COLUMNS`` integer columns and at most ``MAX_COLUMNS`` columns, on a machine
    with two cores or more. Small models (every test's) are solved plainly."""
    import highspy

    n = h.getNumCol()
    if n < MIN_INTEGER_COLUMNS or n > MAX_COLUMNS or _cores() < 2:
        return False
    integrality = h.getLp().integrality_
    if not integrality:
        return False
    continuous = highspy.HighsVarType.kContinuous
    return sum(1 for t in integrality if t != continuous) >= MIN_INTEGER_COLUMNS


class _Referee:
    """Shared by the racers: the best proof so far, as (nodes, racer index)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.best: tuple[int, int] | None = None
        self.abort = False

    def proved(self, k: int, nodes: int) -> None:
        with self.lock:
            if self.best is None or (nodes, k) < self.best:
                self.best = (nodes, k)

    def should_stop(self, k: int, nodes: int) -> bool:
        best = self.best
        return self.abort or (best is not None and (nodes, k) > best)


@dataclass
class _Run:
    status: object = None        # HighsModelStatus
    nodes: int = 0
    objective: float | None = None
    bound: float | None = None
    gap: float | None = None
    solution: list | None = None
    error: BaseException | None = None


def race(h, settings, seeds=(0, 1), options=None) -> RaceResult:
    """Solve the MIP held by ``h`` with one HiGHS run per seed, in parallel; ``h`` holds the answer.

    ``h``: a ``highspy.Highs`` with the model and its options set (as Pyomo's persistent
    interface leaves it just before ``h.run()``). ``settings``: an
    ``optimizer.solve.SolverSettings``; racer k runs with ``random_seed`` =
    ``settings.seed + seeds[k]`` (racer 0 is ``h``). Every racer keeps ``h``'s other options
    (time limit, gaps, ...) except ``threads`` = 1, ``options`` (default :data:`LEAN_OPTIONS`;
    ``{}`` for none) and, for the copies, no log output. ``h``'s options are restored afterwards.
    ``seeds=(0,)`` runs ``h`` alone, the way a racer runs (for measuring the race's gain).

    The answer is the proof found with the fewest branch-and-bound nodes (the racer index
    breaks ties): the same on every run, whatever the machine's load (module docstring). A
    racer stops once another has proved its answer with fewer nodes. A racer that proves the
    model infeasible does not stop the others (then ``h``'s own run gives the answer); when no
    racer proves (time limit), the best solution found wins.
    """
    import highspy

    start = time.perf_counter()
    seeds = tuple(int(s) for s in seeds)
    if len(seeds) < 1:
        raise ValueError("race needs at least one seed")
    run_h = type(h).run  # the class's run, also when Racing has replaced h.run
    base_seed = int(getattr(settings, "seed", 0) or 0)
    extra = dict(LEAN_OPTIONS if options is None else options)
    saved = {name: h.getOptionValue(name)[1] for name in ("random_seed", "threads", *extra)}
    referee = _Referee()
    racers, hooks, threads = [h], [], []
    runs = [_Run() for _ in seeds]

    def work(k: int) -> None:
        r, out = racers[k], runs[k]
        try:
            run_h(r)
            out.status = r.getModelStatus()
            info = r.getInfo()
            out.nodes = max(int(info.mip_node_count), 0)
            if info.primal_solution_status == 2:  # kSolutionStatusFeasible
                out.objective = info.objective_function_value
                out.solution = list(r.getSolution().col_value)
            out.bound, out.gap = info.mip_dual_bound, info.mip_gap
            if out.status == highspy.HighsModelStatus.kOptimal:
                referee.proved(k, out.nodes)
        except BaseException as exc:  # noqa: BLE001 — re-raised in the calling thread
            out.error = exc
            referee.abort = True
        finally:
            highspy.Highs.resetThreadScheduler(False)  # this thread's HiGHS workers go with it

    try:
        for name, value in extra.items():
            h.setOptionValue(name, value)
        if len(seeds) > 1:
            model, h_options = h.getModel(), h.getOptions()
            for _ in seeds[1:]:
                c = highspy.Highs()
                c.passOptions(h_options)
                c.setOptionValue("output_flag", False)
                c.passModel(model)
                racers.append(c)
        for k, r in enumerate(racers):
            r.setOptionValue("random_seed", base_seed + seeds[k])
            r.setOptionValue("threads", 1)

            def hook(e, k=k):
                if referee.should_stop(k, int(e.data_out.mip_node_count)):
                    e.interrupt()
            r.cbMipInterrupt.subscribe(hook)
            hooks.append(hook)
        threads = [threading.Thread(target=work, args=(k,), name=f"highs-race-{k}", daemon=True)
                   for k in range(len(racers))]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.05)
    except BaseException:  # e.g. KeyboardInterrupt: stop every racer, then let it through
        referee.abort = True
        for t in threads:
            if t.is_alive():
                t.join()
        raise
    finally:
        for r, hook in zip(racers, hooks):
            r.cbMipInterrupt.unsubscribe(hook)
        # HiGHS keeps a callback's interrupt flag set after the run it stopped: with any other
        # interrupt callback still subscribed (Pyomo subscribes one), h's next run would stop at
        # once. Setting the callbacks again clears the flag and restarts the subscribed ones.
        h.enableCallbacks()
        for name, value in saved.items():
            h.setOptionValue(name, value)
    for out in runs:
        if out.error is not None:
            raise out.error

    optimal = highspy.HighsModelStatus.kOptimal
    if referee.best is not None:
        winner = referee.best[1]
    else:  # nobody proved (time limit): the best solution found; the racer index breaks ties
        sense = -1.0 if h.getLp().sense_ == highspy.ObjSense.kMaximize else 1.0
        winner = min(range(len(runs)), key=lambda k: (math.inf if runs[k].objective is None
                                                       else sense * runs[k].objective, k))
    handed_over = False
    w = runs[winner]
    if winner != 0:
        _hand_over(h, w.solution, proved=w.status == optimal)
        handed_over = True
    return RaceResult(raced=len(racers) > 1, winner=winner, seed=base_seed + seeds[winner],
                      status=h.modelStatusToString(w.status), objective=w.objective,
                      bound=w.bound if w.bound is not None and math.isfinite(w.bound) else None,
                      gap=w.gap if w.objective is not None and w.gap is not None and math.isfinite(w.gap) else None,
                      nodes=tuple(out.nodes for out in runs),
                      statuses=tuple(h.modelStatusToString(out.status) for out in runs),
                      seconds=time.perf_counter() - start, handed_over=handed_over)


def _hand_over(h, col_value, *, proved: bool) -> None:
    """Leave ``col_value`` in ``h`` as its solution, with status optimal when ``proved`` (a gap
    of infinity accepts the start solution at once) or time limit reached otherwise."""
    import highspy

    saved = {name: h.getOptionValue(name)[1] for name in _HANDOVER_OPTIONS}
    sol = highspy.HighsSolution()
    sol.col_value = col_value
    sol.value_valid = True
    try:
        h.setSolution(sol)
        h.setOptionValue("mip_heuristic_effort", 0.0)
        if proved:
            h.setOptionValue("mip_rel_gap", highspy.kHighsInf)
            h.setOptionValue("mip_abs_gap", highspy.kHighsInf)
        else:
            h.setOptionValue("time_limit", 1e-9)
        type(h).run(h)
    finally:
        for name, value in saved.items():
            h.setOptionValue(name, value)


class Racing:
    """Make ``h.run()`` take the hard-MIP path when :func:`worth_racing` says so; keep the result.

    For callers that do not call ``h.run()`` themselves (Pyomo's persistent interface calls it
    inside ``solve``): ``Racing(h, settings)`` replaces ``run`` on this one instance; every later
    ``h.run()`` calls :func:`race` (or runs plainly) and sets :attr:`last` (None after a plain
    run). The default ``seeds=(0,)`` is one run with the racers' options and no racing: on the
    project's shared 2-core machine a second racer cost more than it won (benchmarks/README.md,
    hard instances); ``seeds=(0, 1)`` races two.
    """

    def __init__(self, h, settings, seeds=(0,), options=None):
        self.h, self.settings, self.seeds, self.options = h, settings, seeds, options
        self.last: RaceResult | None = None
        h.run = self.run

    def run(self):
        import highspy

        self.last = None
        if not worth_racing(self.h):
            return type(self.h).run(self.h)
        self.last = race(self.h, self.settings, self.seeds, self.options)
        return highspy.HighsStatus.kOk
