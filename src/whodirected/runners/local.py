"""Running on this machine: films in worker processes, batches in this process with their
inputs read in threads (or processes), ahead of the computation or in turns with it."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any

PROCESS_ROWS = 2_000  # from this many rows, a worker's ``reader()`` runs in processes, not threads


class LocalRunner:
    """``jobs`` processes for items; for batches, ``threads`` readers (one per CPU by default)
    that prepare them for this process to compute: threads for small jobs, and processes from
    ``process_rows`` rows on, where a worker offers a picklable ``reader()`` (reading that holds
    Python's lock in parts then scales with the cores)."""

    in_process = True

    def __init__(
        self, jobs: int | None = None, threads: int | None = None, process_rows: int = PROCESS_ROWS
    ) -> None:
        self.jobs = jobs or os.cpu_count() or 1
        self.threads = threads or os.cpu_count() or 1
        self.process_rows = process_rows

    def map(self, fn: Callable[..., Any], items: Iterable[Any]) -> Iterator[Any]:
        """``jobs`` worker processes (1: in this process), sharing the cores between them."""
        items = list(items)
        if self.jobs <= 1 or len(items) <= 1:
            for item in items:
                yield fn(item, threads=0)
            return
        context = multiprocessing.get_context("spawn")  # safe beside threads (progress bars, decoders)
        workers = min(self.jobs, len(items))
        threads = max(1, (os.cpu_count() or 1) // workers)  # don't oversubscribe the cores
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        try:
            for future in as_completed([pool.submit(fn, item, threads=threads) for item in items]):
                yield future.result()
        finally:  # stopped early (a full disk, Ctrl-C): nothing new starts, running items end
            pool.shutdown(wait=True, cancel_futures=True)

    def map_batches(
        self, make_worker: Callable[[], Any], rows: list[dict[str, Any]], batch_size: int
    ) -> Iterator[dict[str, Any]]:
        """One worker in this process; the readers share each batch in slices, where the worker
        can ``join()`` them. The readers work ahead while a batch is computed, unless the worker
        says its ``run`` keeps every core busy (``uses_all_cores``: a network on the CPU). Then
        they take turns: reading beside it only slowed both (on 2 cores, to 45 % of the network's
        speed, against about 80 % in turns)."""
        if not rows:
            return
        worker = make_worker()
        batches = [
            {key: [row[key] for row in rows[s : s + batch_size]] for key in rows[0]}
            for s in range(0, len(rows), batch_size)
        ]
        ahead = 0 if getattr(worker, "uses_all_cores", False) else max(2, self.threads)
        pool: Executor
        if hasattr(worker, "reader") and self.threads > 1 and len(rows) >= self.process_rows:
            pool = ProcessPoolExecutor(self.threads, mp_context=multiprocessing.get_context("spawn"))
            read = worker.reader()
        else:
            pool, read = ThreadPoolExecutor(max_workers=self.threads), worker.prepare
        # readers share each batch in 4 slices apiece: one that finishes early takes the next slice
        sliced = hasattr(worker, "join")
        step = -(-batch_size // (4 * self.threads)) if sliced else batch_size

        def submit(batch: dict[str, list]) -> list[Future]:
            n = len(next(iter(batch.values())))
            return [
                pool.submit(read, {k: v[s : s + step] for k, v in batch.items()}) for s in range(0, n, step)
            ]

        def collect(futures: list[Future]) -> Any:
            slices = [f.result() for f in futures]
            return worker.join(slices) if sliced else slices[0]

        with pool:
            pending = [submit(b) for b in batches[:ahead]]
            for n in range(len(batches)):
                if n == len(pending):  # taking turns: read this batch now, on every reader
                    pending.append(submit(batches[n]))
                prepared = collect(pending[n])
                if ahead and n + ahead < len(batches):
                    pending.append(submit(batches[n + ahead]))
                yield worker.run(prepared)
