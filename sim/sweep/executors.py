"""Where tasks run: a local process pool or a Dask cluster, both behind ``concurrent.futures``.

The runner only calls ``submit`` and waits on the futures, so swapping the pool for Dask (local or
remote) changes nothing else, and the rows are the same to the bit either way: every run depends
on its scenario, replication and seed alone.

Process pool start method: ``forkserver``. ``fork`` would copy a parent that already runs threads
(rich's refresh thread, pyarrow's pool), which can deadlock a child and which Python 3.12 warns
about; ``spawn`` re-imports mesa, pandas and the model in every worker (about a second each).
A fork server is a clean single-threaded process that imports the model once and forks each
worker from it, so workers start fast and without inherited threads or locks.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sim.errors import UserError

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS")  # fmt: skip
PRELOAD = ["sim.sweep.tasks", "sim.runner", "sim.scenario.overrides", "sim.model.model", "pyarrow", "numpy"]


@dataclass
class ExecutorInfo:
    """What ran the sweep, for the manifest."""

    kind: str
    workers: int
    detail: dict[str, Any] = field(default_factory=dict)


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def one_thread_per_worker() -> None:
    """Workers already fill every core; numpy's BLAS must not start threads of its own on top.

    Set before the fork server starts, so it and every worker it forks inherit the setting.
    """
    for var in THREAD_VARS:
        os.environ.setdefault(var, "1")


def warm_up(kind: str) -> None:
    """Start the fork server now, so it imports the model while the parent still plans the sweep.

    Saves about a second of every sweep's start; a no-op for Dask, whose workers live elsewhere.
    """
    if kind != "process":
        return
    from multiprocessing import forkserver

    one_thread_per_worker()
    mp.get_context("forkserver").set_forkserver_preload(PRELOAD)
    forkserver.ensure_running()


def _init_worker() -> None:
    for var in THREAD_VARS:
        os.environ[var] = "1"


@contextmanager
def make_executor(
    kind: str, workers: int | None, scheduler: str | None = None
) -> Iterator[tuple[Executor, ExecutorInfo]]:
    """An executor of the given kind, shut down (and its cluster closed) on the way out."""
    if kind == "process":
        if scheduler:
            raise UserError("--scheduler: only applies to --executor dask")
        n = workers or default_workers()
        one_thread_per_worker()
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker)
        try:
            yield pool, ExecutorInfo("process", n, {"start_method": "forkserver"})
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    elif kind == "dask":
        with _dask(workers, scheduler) as pair:
            yield pair
    else:
        raise UserError(f"--executor: unknown executor '{kind}' (choose process or dask)")


WORKER_WAIT_S = 60.0
"""How long a sweep waits for a remote Dask scheduler to have at least one worker."""


@contextmanager
def _dask(workers: int | None, scheduler: str | None) -> Iterator[tuple[Executor, ExecutorInfo]]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - a dependency of the project
        raise UserError("--executor dask: the 'distributed' package is not installed") from None
    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise UserError(f"--scheduler: cannot reach the Dask scheduler at {scheduler} ({err})") from None
        try:  # a scheduler without workers would queue the tasks for ever
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            client.close()
            raise UserError(
                f"--scheduler: the Dask scheduler at {scheduler} has no workers after {WORKER_WAIT_S:g} s; "
                f"start some with `dask worker {scheduler}`"
            ) from None
        threads = sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values())
        info = ExecutorInfo("dask", threads, {"scheduler": scheduler})
    else:
        n = workers or default_workers()
        one_thread_per_worker()
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
        client = Client(cluster)
        info = ExecutorInfo("dask", n, {"scheduler": "local"})
    try:
        executor = client.get_executor(pure=False)
        try:
            yield executor, info
        finally:
            executor.shutdown(wait=False)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
