"""Where many independent solves run: in this process, on local processes, or on a Dask cluster.

Workers receive plain data (a :class:`~optimizer.data.Pipeline` and settings) and return plain
result tables; the model never crosses a process boundary. Dask is the engine for going beyond
one machine (``--scheduler ADDRESS`` of a running ``dask scheduler``); ``--workers N`` runs N
local processes. Results arrive as they finish, with the index of their task, so the caller
can journal each one at once and report progress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..errors import InputError


def map_tasks(fn: Callable[[Any], Any], tasks: Iterable[Any], *, workers: int = 1,
              scheduler: str | None = None, progress: Callable[[int, int], None] | None = None,
              ) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, fn(task))`` for every task, in the order they finish.

    ``fn`` must be a module-level function (it is pickled to the workers). An exception raised
    by ``fn`` propagates from the iterator; worker functions that must not stop the whole batch
    catch their own errors and return them as data.
    """
    tasks = list(tasks)
    total = len(tasks)
    if progress:
        progress(0, total)
    if scheduler:
        source = _dask(fn, tasks, scheduler)
    elif workers > 1 and total > 1:
        source = _processes(fn, tasks, workers)
    else:
        source = ((i, fn(t)) for i, t in enumerate(tasks))
    for done, item in enumerate(source, 1):
        if progress:
            progress(done, total)
        yield item


def _processes(fn, tasks, workers: int) -> Iterator[tuple[int, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: a clean interpreter per worker (no inherited threads or locks from the parent)
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks)),
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(fn, t): i for i, t in enumerate(tasks)}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()


def _dask(fn, tasks, address: str) -> Iterator[tuple[int, Any]]:
    from ..data import Problem

    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise InputError([Problem("command line", None, "--scheduler", address,
                                  "Dask distributed is not installed")]) from exc
    try:
        client = Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InputError([Problem("command line", None, "--scheduler", address,
                                  f"no Dask scheduler answers at this address ({exc})")]) from None
    try:
        futures = client.map(fn, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        # the client is not the default one: as_completed must be given its loop
        for fut in as_completed(futures, loop=client.loop):
            yield index[fut.key], fut.result()
    finally:
        client.close()
