"""Many runs as Dask tasks (issue #16.3): the one place that makes or joins a Dask cluster, ships the data
the tasks share, maps the tasks with progress and closes the cluster.  The ratio sweep's steps
(`solver.analysis.sweep`), a set of what-ifs (`solver.analysis.whatif.sets`) and the Monte Carlo of declines
(`solver.analysis.montecarlo`) all run through `run_tasks`.

Where the tasks run:

* in this process, one after another (``in_process=True``): no Dask at all, the reference the others equal;
* on a ``dask.distributed.LocalCluster`` of ``workers`` processes with one thread each, listening on
  127.0.0.1 only, without a dashboard (the default);
* on a running cluster, ``scheduler="tcp://HOST:PORT"`` (``--scheduler`` on the command line, the service's
  ``ZHAOSHENG_DASK_SCHEDULER``): its workers must be able to import this project (installed where they
  run, the same version), since a task is a function of `solver` and its data, pickled by reference.

The data every task needs (a scenario, its students as text ...) is sent to the workers once
(``client.scatter(..., broadcast=True)``), not with every task; a task gets ``(shared, item)`` and returns
something small.  The results come back in the order of the items whatever the order the tasks end in,
so a task that is a pure function of its item gives the same results on any cluster and in this process.
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from distributed import Client

SCHEDULER_ENV = "ZHAOSHENG_DASK_SCHEDULER"  # the service's setting, also read by the command line's --scheduler
IN_PROCESS = "in-process"  # `TaskRun.scheduler` when no Dask cluster ran the tasks
LOCAL = "local"  # ... when a LocalCluster made for the tasks ran them
CONNECT_TIMEOUT = 20.0  # seconds to reach a scheduler
_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")

Shared = TypeVar("Shared")
Item = TypeVar("Item")
Out = TypeVar("Out")
Ticks = Callable[[int, int, int], None]  # (tasks done, tasks in all, the index of the item just done; -1 first)


class SchedulerError(ValueError):
    """A scheduler address that is not ``tcp://HOST:PORT`` (or ``tls://``), or a scheduler that cannot be reached."""


def parse_scheduler(address: str | None) -> str | None:
    """``tcp://HOST:PORT`` (or ``tls://``) as given, None for none (empty); `SchedulerError` otherwise."""
    if address is None or not str(address).strip():
        return None
    address = str(address).strip()
    match = _ADDRESS.match(address)
    if not match or not 0 < int(match[3]) < 65536:
        raise SchedulerError(f"{address!r} is not a Dask scheduler address: tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786")
    return address


def default_workers() -> int:
    """The CPUs this process may use (its affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class TaskRun(Generic[Out]):
    """The results of `run_tasks` in the order of the items, and where they ran."""

    results: list[Out]
    scheduler: str  # IN_PROCESS, LOCAL or the address of the cluster
    workers: int  # processes that could take tasks (1 in this process)
    timings: dict[str, float] = field(default_factory=dict)  # cluster start, tasks, close (seconds)


@contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator[Client]:
    """A Dask client: of the cluster at ``scheduler``, or of a new LocalCluster of ``workers`` processes
    (default: the CPUs) with one thread each, closed on leaving."""
    import dask
    from distributed import Client, LocalCluster

    address = parse_scheduler(scheduler)
    if address is not None:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except OSError as exc:  # includes the time-out of the connection
            raise SchedulerError(f"the Dask scheduler at {address} cannot be reached: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    # no dashboard; the scheduler's own HTTP server (health, metrics) on a free loopback port, not 8787
    with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}):
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def worker_environ() -> dict[str, object]:
    """The environment of a LocalCluster's worker processes: Dask's (one thread for OpenMP, MKL, OpenBLAS)
    without its ``MALLOC_TRIM_THRESHOLD_=65536``: a run allocates and frees arrays of the students' size again
    and again, and glibc then hands them back to the system and takes them again each time (hengyang-2021: a
    draw took about 50% more CPU in a worker than in this process; 20% without the setting)."""
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


def worker_count(client: Client) -> int:
    """The workers the scheduler knows now."""
    return len(client.scheduler_info(n_workers=-1).get("workers", {}))


def map_tasks(client: Client, fn: Callable[[Shared, Item], Out], items: Sequence[Item], shared: Shared,
              ticks: Ticks | None = None, name: str = "task") -> list[Out]:
    """``fn(shared, item)`` for every item as tasks of ``client``'s cluster, ``shared`` sent to every worker
    once; the results in the order of ``items``; ``ticks(done, total, index)`` as each task ends.  A task's
    exception is raised here (the others are cancelled)."""
    from distributed import as_completed

    items = list(items)
    tick = ticks or (lambda done, total, index: None)
    tick(0, len(items), -1)
    if not items:
        return []
    [data] = client.scatter([shared], broadcast=True, hash=False)
    token = uuid.uuid4().hex[:12]
    futures = [client.submit(fn, data, item, key=f"{name}-{token}-{i}", pure=False) for i, item in enumerate(items)]
    position = {future.key: i for i, future in enumerate(futures)}
    results: list[Any] = [None] * len(items)
    try:
        for done, future in enumerate(as_completed(futures, loop=client.loop), start=1):
            index = position[future.key]
            results[index] = future.result()
            tick(done, len(items), index)
    finally:
        client.cancel([*futures, data])
    return results


def run_tasks(fn: Callable[[Shared, Item], Out], items: Sequence[Item], shared: Shared, *,
              scheduler: str | None = None, workers: int | None = None, in_process: bool = False,
              ticks: Ticks | None = None, name: str = "task") -> TaskRun[Out]:
    """``fn(shared, item)`` for every item: in this process when ``in_process`` (and no scheduler), else as
    Dask tasks on the cluster at ``scheduler`` or on a LocalCluster of ``workers`` processes made for them."""
    t0 = time.perf_counter()
    items = list(items)
    if in_process and not scheduler:
        tick = ticks or (lambda done, total, index: None)
        tick(0, len(items), -1)
        results = []
        for i, item in enumerate(items):
            results.append(fn(shared, item))
            tick(i + 1, len(items), i)
        return TaskRun(results, IN_PROCESS, 1, {"tasks": round(time.perf_counter() - t0, 4)})
    address = parse_scheduler(scheduler)
    with dask_client(address, workers) as client:
        t1 = time.perf_counter()
        count = worker_count(client)
        results = map_tasks(client, fn, items, shared, ticks, name)
        t2 = time.perf_counter()
    timings = {"cluster": round(t1 - t0, 4), "tasks": round(t2 - t1, 4), "close": round(time.perf_counter() - t2, 4)}
    return TaskRun(results, address or LOCAL, count, timings)
