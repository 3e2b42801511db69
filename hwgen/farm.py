"""Where the tasks of a sweep or an RTL regression run: in this process, on a dask.distributed
``LocalCluster`` of worker processes on this machine, or on the workers of a remote dask
scheduler (``dask scheduler`` on one host, ``dask worker ADDR`` on others).

:class:`Farm` maps a module-level function over a list of task items and returns the results
in task order, whatever the number of workers and whichever worker ran what: callers derive
every seed from the item (a BER point, an image batch), never from the worker, so the results
are identical for 1 or N workers. A progress bar counts finished tasks (``as_completed``).

A worker that dies mid-task loses nothing: the scheduler re-runs the tasks it held on another
worker (up to ``distributed.scheduler.allowed-failures`` deaths per task, 3 by default; beyond
that the task is reported as killing its workers). Tasks are not retried on an ordinary
exception (a failed verification must surface, not run again).

dask is imported only when a cluster is used: ``workers=1`` runs in this process without it.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from dataclasses import dataclass, field

from .errors import HwgenError

TASKS_PER_WORKER = 4        # sweep points are cut into about this many tasks per worker
WORKER_WAIT_S = 60          # a remote scheduler must have a worker within this time
CONNECT_S = 10              # ... and answer within this time (dask's default makes a user wait 30 s)
ADDRESS = re.compile(r"^(?:(?P<scheme>tcp|tls|ws|wss)://)?"
                     r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})$")


class FarmError(HwgenError, RuntimeError):
    """The cluster cannot be reached, has no worker, or lost a task for good."""


def check_address(address: str) -> str:
    """A scheduler address ``[tcp://]HOST:PORT`` (also tls://, ws://, wss://); returns it with
    its scheme (tcp:// when none is written). Raises ValueError otherwise."""
    m = ADDRESS.match(str(address).strip())
    if m is None or not 0 < int(m["port"]) < 65536:
        raise ValueError(f"a scheduler address is [tcp://]HOST:PORT (e.g. tcp://10.0.0.5:8786), not {address!r}")
    return f"{m['scheme'] or 'tcp'}://{m['host']}:{int(m['port'])}"


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise FarmError("dask.distributed is not installed: pip install 'dask[distributed]' (or reinstall hwgen)") \
            from None
    return distributed


def _hwgen_version() -> str:
    from . import __version__
    return __version__


@dataclass
class Farm:
    """Runs tasks in this process (``workers=1``), on a LocalCluster of ``workers`` processes
    (one thread each; default ``os.cpu_count()``), or on the scheduler at ``scheduler``.

    Use as a context manager: the cluster starts on enter and stops on exit. ``workers`` is
    then the number of worker threads that take tasks."""

    scheduler: str | None = None
    workers: int | None = None
    client: object = field(default=None, init=False, repr=False)
    cluster: object = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.scheduler is not None:
            self.scheduler = check_address(self.scheduler)
            if self.workers is not None:
                raise ValueError("workers applies to a local cluster; a remote scheduler has the workers that "
                                 "joined it")
        elif self.workers is None:
            self.workers = os.cpu_count() or 1
        elif isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be a whole number >= 1, not {self.workers!r}")

    @property
    def in_process(self) -> bool:
        return self.scheduler is None and self.workers == 1

    @property
    def shared_filesystem(self) -> bool:
        """True when the workers see this machine's files (in-process or a LocalCluster)."""
        return self.scheduler is None

    def describe(self) -> str:
        if self.in_process:
            return "in this process"
        if self.scheduler is not None:
            return f"{self.workers} worker threads of {self.scheduler}"
        return f"a local cluster of {self.workers} worker processes"

    # -- life cycle ----------------------------------------------------------------------------
    def __enter__(self) -> "Farm":
        if self.in_process:
            return self
        distributed = _import_distributed()
        if self.scheduler is None:
            # each worker's golden model gets its share of the cores (hwgen.golden._pool)
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            env = {"HWGEN_GOLDEN_THREADS": str(max(1, min(4, cores // self.workers)))}
            self.cluster = distributed.LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                                    dashboard_address=":0", env=env,
                                                    silence_logs=logging.CRITICAL)   # task errors come back here
            self.client = distributed.Client(self.cluster, set_as_default=False)
            return self
        try:
            self.client = distributed.Client(self.scheduler, set_as_default=False, timeout=CONNECT_S)
        except (OSError, TimeoutError) as e:
            raise FarmError(f"cannot reach the dask scheduler at {self.scheduler} (within {CONNECT_S} s): "
                            f"{' '.join(str(e).split())}") from None
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except TimeoutError:
            self.close()
            raise FarmError(f"the dask scheduler at {self.scheduler} has no worker (none joined within "
                            f"{WORKER_WAIT_S} s): start some with `dask worker {self.scheduler} --nthreads 1`") \
                from None
        self.workers = sum(self.client.nthreads().values())
        self._check_workers()
        return self

    def _check_workers(self):
        """Every worker must import the same hwgen (tasks name hwgen's functions)."""
        ours = _hwgen_version()
        try:
            theirs = self.client.run(_hwgen_version)
        except Exception as e:      # noqa: BLE001 - whatever the worker raised, hwgen is unusable there
            self.close()
            raise FarmError(f"the workers of {self.scheduler} cannot run hwgen ({type(e).__name__}: {e}); install "
                            f"hwgen {ours} on every worker host") from None
        other = {addr: v for addr, v in theirs.items() if v != ours}
        if other:
            self.close()
            raise FarmError(f"workers run another hwgen than this one ({ours}): "
                            + ", ".join(f"{a} has {v}" for a, v in sorted(other.items())))

    def close(self):
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def __exit__(self, *exc):
        self.close()
        return False

    # -- work ------------------------------------------------------------------------------------
    def map(self, fn, items, shared=None, *, sizes=None, desc: str = "tasks", unit: str = "task",
            progress: bool = True, on_done=None) -> list:
        """``[fn(item, shared) for item in items]``, in item order, on the farm's workers.

        ``shared`` (data every task reads, e.g. the test images) goes to each worker once.
        ``sizes`` (per item) advance the progress bar in ``unit`` (default 1 per task).
        ``on_done(index)`` is called in this process as each task finishes (tests use it).
        """
        from tqdm import tqdm

        items = list(items)
        sizes = [1] * len(items) if sizes is None else list(sizes)
        bar = tqdm(total=sum(sizes), desc=desc, unit=unit, disable=not progress, dynamic_ncols=True)
        if self.in_process:
            results = []
            with bar:
                for i, item in enumerate(items):
                    results.append(fn(item, shared))
                    bar.update(sizes[i])
                    if on_done is not None:
                        on_done(i)
            return results
        if self.client is None:
            raise RuntimeError("a Farm runs tasks inside its `with` block")
        from distributed import as_completed
        from distributed.client import FutureCancelledError

        run = uuid.uuid4().hex[:8]
        data = self.client.scatter([shared], broadcast=True, hash=False)[0]
        futures = [self.client.submit(fn, item, data, key=f"{desc}-{run}-{i}", pure=False, retries=0)
                   for i, item in enumerate(items)]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            with bar:
                for future in as_completed(futures, loop=self.client.loop):
                    if future.status != "finished":
                        future.result()     # raises the task's exception here
                    i = index[future.key]
                    bar.update(sizes[i])
                    if on_done is not None:
                        on_done(i)
            return self.client.gather(futures)
        except FutureCancelledError as e:
            raise FarmError(f"a task was cancelled (a lost scheduler or lost data?): {e}") from None
        except Exception as e:
            from distributed import KilledWorker

            if isinstance(e, KilledWorker):
                raise FarmError(f"a task's workers died {self._allowed_failures() + 1} times (each time it ran "
                                f"there); giving up: {e}") from None
            raise
        finally:
            self.client.cancel(futures + [data])

    @staticmethod
    def _allowed_failures() -> int:
        import dask

        return int(dask.config.get("distributed.scheduler.allowed-failures"))


def chunks(n: int, parts: int) -> list[range]:
    """``range(n)`` cut into ``parts`` contiguous ranges of sizes differing by at most one (fewer
    when ``n < parts``; none when ``n == 0``)."""
    parts = max(1, min(parts, n))
    bounds = [n * k // parts for k in range(parts + 1)]
    return [range(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
