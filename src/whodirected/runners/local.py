"""Running on this machine: films in worker processes, batches in this process with their
inputs read ahead in threads."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any

PROCESS_ROWS = 2_000  # from this many rows, a worker's ``reader()`` runs in processes, not threads


class LocalRunner:
    """``jobs`` processes for items; for batches, ``threads`` readers (one per CPU by default)
    that prepare the next batches while this process computes: threads for small jobs, and
    processes from ``process_rows`` rows on, where a worker offers a picklable ``reader()`` and
    ``join()`` for the slices of a batch (reading that holds Python's lock in parts then scales
    with the cores)."""

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
        """One worker in this process; the next batches are prepared in threads meanwhile."""
        if not rows:
            return
        worker = make_worker()
        batches = [
            {key: [row[key] for row in rows[s : s + batch_size]] for key in rows[0]}
            for s in range(0, len(rows), batch_size)
        ]
        ahead = max(2, self.threads)  # batches read ahead while one is computed
        if hasattr(worker, "reader") and self.threads > 1 and len(rows) >= self.process_rows:
            # every reader process takes a slice of each batch; the worker joins the slices
            pool: Executor = ProcessPoolExecutor(
                self.threads, mp_context=multiprocessing.get_context("spawn")
            )
            reader = worker.reader()
            step = -(-batch_size // self.threads)

            def submit(batch: dict[str, list]) -> list[Future]:
                n = len(next(iter(batch.values())))
                return [
                    pool.submit(reader, {k: v[s : s + step] for k, v in batch.items()})
                    for s in range(0, n, step)
                ]

            def collect(futures: list[Future]) -> Any:
                return worker.join([f.result() for f in futures])
        else:
            pool = ThreadPoolExecutor(max_workers=self.threads)

            def submit(batch: dict[str, list]) -> list[Future]:
                return [pool.submit(worker.prepare, batch)]

            def collect(futures: list[Future]) -> Any:
                return futures[0].result()

        with pool:
            pending = [submit(b) for b in batches[:ahead]]
            for n in range(len(batches)):
                prepared = collect(pending[n])
                if n + ahead < len(batches):
                    pending.append(submit(batches[n + ahead]))
                yield worker.run(prepared)
