"""Where the per-unit work of a stage runs: this machine (:class:`~whodirected.runners.local.LocalRunner`)
or a Ray cluster (:class:`~whodirected.runners.ray.RayRunner`).

A runner maps a function it is given and knows nothing of the stages: ``extract`` hands it the
per-film function, ``embed`` a factory of per-batch workers. The stage keeps writing its
outputs in this process, so every runner gives the same results and resumes the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

from whodirected.config import RUNNERS
from whodirected.errors import RunnerError


class BatchWorker(Protocol):
    """Built once per worker (a backbone loaded once), then given batches: ``prepare`` reads a
    batch's inputs (decoding, may run in threads ahead), ``run`` computes on them.

    Optional: ``join(slices)`` makes one prepared batch of the prepared slices of it (then
    readers share each batch), ``reader()`` is ``prepare`` without the worker, picklable (for
    reader processes), and ``uses_all_cores`` says that ``run`` keeps every CPU core busy
    (readers then wait for it rather than compete)."""

    def prepare(self, batch: dict[str, Any]) -> Any: ...

    def run(self, prepared: Any) -> dict[str, Any]: ...


class Runner(Protocol):
    in_process: bool  # the work runs in this process (its device settings apply here)

    def map(self, fn: Callable[..., Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item, threads=n)`` for every item, results in the order they finish; ``threads``
        is how many threads one call may use."""
        ...

    def map_batches(
        self, make_worker: Callable[[], BatchWorker], rows: list[dict[str, Any]], batch_size: int
    ) -> Iterator[dict[str, Any]]:
        """Each batch of ``rows`` (columns of equal length) through a worker; the results' columns."""
        ...


def make_runner(
    name: str = "local", address: str | None = None, jobs: int | None = None, actors: int = 0
) -> Runner:
    """The runner called ``name``: ``local`` (``jobs`` processes) or ``ray`` (the cluster at
    ``address``, or a local one; ``actors`` workers for batches, 0: one per cluster CPU)."""
    if name == "local":
        from whodirected.runners.local import LocalRunner

        return LocalRunner(jobs)
    if name == "ray":
        from whodirected.runners.ray import RayRunner

        return RayRunner(address, actors)
    raise RunnerError(f"unknown runner {name!r}; choose from {', '.join(RUNNERS)}")
