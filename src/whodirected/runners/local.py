"""Running on this machine: films in worker processes, batches in this process with their
inputs read ahead in threads."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any

PREFETCH = 2  # batches whose inputs are read ahead while one is computed


class LocalRunner:
    in_process = True

    def __init__(self, jobs: int | None = None) -> None:
        self.jobs = jobs or os.cpu_count() or 1

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
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for future in as_completed([pool.submit(fn, item, threads=threads) for item in items]):
                yield future.result()

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
        with ThreadPoolExecutor(max_workers=PREFETCH) as pool:
            pending = [pool.submit(worker.prepare, b) for b in batches[:PREFETCH]]
            for n in range(len(batches)):
                prepared = pending[n].result()
                if n + PREFETCH < len(batches):
                    pending.append(pool.submit(worker.prepare, batches[n + PREFETCH]))
                yield worker.run(prepared)
