"""Independent solves side by side: a thread of this process and worker processes forked from it.

The analyses re-solve one built model many times over (removal costs, break-evens, the nations'
ideal portfolios): independent tasks, each a few milliseconds of HiGHS around a millisecond or
two of Python (the portfolio's completion, the held MIPs' parts). Two threads share Python's
lock, so the thread that comes back from HiGHS waits while the other runs its Python part: on
the 500-project benchmark two threads re-solved 1.5× as fast as one. A forked process has its
own lock, and the model, the rows and every task are already in its memory when it starts
(copy on write): one thread here and one process re-solve twice as fast as one thread.

:func:`side_by_side` hands the tasks out one at a time, in order, to whichever solver is free:
the task numbers are written at once into a pipe that every solver reads four bytes at a time
(reads from a pipe do not interleave), so no lock is shared between processes. A worker process
sends back each answer as it has it (pickled: status, objective, bound, column values), and
ends when the pipe is empty. Where a worker process ends without answering a task it took (it
was killed, it crashed), that task is solved here. Where forking is not possible (not Linux, too
many tasks for one pipe write, ``FUNDOPT_COPIES=threads``), and for fewer than
:data:`FORK_MIN_TASKS` tasks (starting a process costs more than it gains there), the solvers
are threads of this process.

Each task's answer depends only on the task (every solver starts it from the same state), so the
answers are the same whichever solver takes which task.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator

#: "threads" keeps every solver in this process
ENVIRONMENT = "FUNDOPT_COPIES"
#: fewer tasks than this are solved on threads: a worker process costs about 13 ms to start and
#: end (the fork, and the first touches of the parent's pages), and gains about 1 ms a task
#: (500-project benchmark, 200 re-solves in calls of 4, 10, 20, 40: even at about 11)
FORK_MIN_TASKS = 16


class TaskFailed(Exception):
    """What a worker process sends back when solving a task raised: the error's text."""


def can_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork") and os.environ.get(ENVIRONMENT) != "threads"


def side_by_side(count: int, workers: int, solve_all: Callable, on_exit: Callable | None = None,
                 ) -> Iterator[tuple[int, object]]:
    """Solve tasks 0 … count − 1 on ``workers`` solvers; yield ``(index, item)`` in index order.

    ``solve_all(claim, put)`` is one solver: it calls ``claim()`` for the next task's index (None:
    no task is left) and ``put(index, item)`` with its answer (an exception instance when the
    task failed), until no task is left. It runs in a thread of its own, in this process or in a
    worker process; ``on_exit`` runs in each such thread of this process when it ends (a worker
    process just ends).
    """
    import struct

    results: dict[int, object] = {}
    ready = threading.Condition()
    stop = threading.Event()
    running = [0]  # threads here (solvers, and readers of a worker process's answers) not yet done
    errors: list[BaseException] = []  # what a solver here raised outside its tasks

    def put(i: int, item) -> None:
        with ready:
            results[i] = item
            ready.notify_all()

    def start(target, *args, solver: bool = True) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except Exception as exc:  # noqa: BLE001 — its tasks left unanswered are solved again
                errors.append(exc)
            finally:
                try:
                    if solver and on_exit is not None:
                        on_exit()
                finally:
                    with ready:
                        running[0] -= 1
                        ready.notify_all()

        with ready:
            running[0] += 1
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    workers = max(1, min(workers, count))
    pipe = _task_pipe(count) if workers > 1 and count >= FORK_MIN_TASKS and can_fork() else None
    threads: list[threading.Thread] = []
    children: list[tuple[int, int]] = []  # (process id, its answers' pipe)
    if pipe is None:
        claim = _one_at_a_time(range(count), stop)
    else:
        def claim() -> int | None:
            if stop.is_set():
                return None
            got = os.read(pipe, 4)
            return struct.unpack("<i", got)[0] if len(got) == 4 else None

        for _ in range(workers - 1):  # forked before any thread of this call starts
            try:
                pid, answers = _fork_worker(claim, solve_all)
            except OSError:  # no process to be had: a thread here instead
                break
            children.append((pid, answers))
    try:
        threads += [start(_receive, answers, put, solver=False) for _, answers in children]
        threads += [start(solve_all, claim, put) for _ in range(workers - len(children))]
        for i in range(count):
            with ready:
                ready.wait_for(lambda: i in results or running[0] == 0)
                found = i in results
                item = results.pop(i, None)
            if not found:  # a worker process took it and ended without an answer: solved here
                with ready:
                    left = [k for k in range(i, count) if k not in results]
                start(solve_all, _one_at_a_time(left, threading.Event()), put).join()
                with ready:
                    if i not in results:
                        raise errors[-1] if errors else RuntimeError(f"task {i} was not solved")
                    item = results.pop(i)
            yield i, item
    finally:
        stop.set()
        for pid, _ in children:  # ended, or stopped here: it must not go on solving
            _stop_child(pid)
        for t in threads:
            t.join()
        if pipe is not None:
            os.close(pipe)


def _one_at_a_time(indices, stop: threading.Event) -> Callable[[], int | None]:
    """``claim`` for solvers in this process: the next of ``indices`` (None once ``stop`` is set)."""
    left = iter(indices)
    lock = threading.Lock()

    def claim() -> int | None:
        if stop.is_set():
            return None
        with lock:
            return next(left, None)
    return claim


def _task_pipe(count: int) -> int | None:
    """The read end of a pipe holding the task numbers 0 … count − 1 (four bytes each, written
    in one write that the pipe holds whole); None when it cannot hold them."""
    import fcntl
    import struct

    r, w = os.pipe()
    try:
        size = fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) if hasattr(fcntl, "F_GETPIPE_SZ") else 4096
        if 4 * count > size:
            os.close(r)
            return None
        os.write(w, struct.pack(f"<{count}i", *range(count)))
    finally:
        os.close(w)
    return r


def _fork_worker(claim, solve_all) -> tuple[int, int]:
    """A worker process solving claimed tasks: its process id and the pipe its answers come on."""
    answers, out = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: solves, sends, and ends without running this process's exit code
        code = 1
        try:
            os.close(answers)
            code = _work(claim, solve_all, out)
        finally:
            os._exit(code)
    os.close(out)
    return pid, answers


def _work(claim, solve_all, out: int) -> int:
    import gc
    import pickle

    gc.disable()  # a short-lived process: collecting would only copy the parent's pages

    def send(i: int, item) -> None:
        if isinstance(item, BaseException):
            item = TaskFailed(str(item) or type(item).__name__)
        data = pickle.dumps((i, item), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(out, view):]

    failed: list[BaseException] = []

    def run() -> None:
        try:
            solve_all(claim, send)
        except BaseException as exc:  # noqa: BLE001 — the parent solves what was not answered
            failed.append(exc)

    t = threading.Thread(target=run)  # a fresh thread: HiGHS's per-thread scheduler starts anew
    t.start()
    t.join()
    os.close(out)
    return 1 if failed else 0


def _receive(answers: int, put) -> None:
    """Read a worker process's answers until it ends (a torn last answer: it died writing)."""
    import pickle

    with os.fdopen(answers, "rb") as f:
        while True:
            try:
                i, item = pickle.load(f)
            except Exception:  # noqa: BLE001 — EOF, or the worker died mid-answer
                return
            put(i, item)


def _stop_child(pid: int) -> None:
    import signal

    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except ChildProcessError:
        pass
