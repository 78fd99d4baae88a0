"""Running on a Ray cluster, with the same results as on this machine.

Per-item work goes to Ray tasks (retried when a worker dies); batches go through Ray Data
``map_batches`` with actors that build their worker once each (a dead actor is restarted and
its batches retried). The caller keeps writing every output in its own process, so a rerun
after a crash resumes as in local mode.

Inputs and outputs must be paths every node can read and write (one machine, or a shared
filesystem mounted at the same path on every node).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from whodirected.errors import RunnerError

TASK_RETRIES = 3  # an item whose worker dies is run again this many times


def connect(address: str | None = None) -> None:
    """Join the cluster at ``address`` (``auto``, ``ray://host:port``) or start a local one."""
    try:
        import ray
    except ImportError:
        raise RunnerError("the ray runner needs the [ray] extra: pip install 'whodirected[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise RunnerError(
                f"cannot reach a Ray cluster at {address or 'a new local one'}: {exc}"
            ) from None
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the caller's own progress bar reports, as in local mode
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def _call(fn: Callable[..., Any], item: Any, threads: int) -> Any:
    return fn(item, threads=threads)


class LostOnCluster:
    """What :meth:`RayRunner.map` yields for an item whose workers kept dying."""

    def __init__(self, item: Any, error: str) -> None:
        self.item, self.error = item, error


class BatchActor:
    """A Ray Data actor: the worker is built once, then every batch goes through it."""

    def __init__(self, make_worker: Callable[[], Any]) -> None:
        self.worker = make_worker()

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        return self.worker.run(self.worker.prepare(batch))


class RayRunner:
    in_process = False

    def __init__(self, address: str | None = None, actors: int = 0) -> None:
        self.address, self.actors = address, actors

    def map(self, fn: Callable[..., Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn(item, threads=1)`` in a Ray task per item, as each finishes; an item lost on the cluster
        yields :class:`LostOnCluster`."""
        connect(self.address)
        import ray

        name = getattr(fn, "func", fn).__name__  # a partial's function: its name titles the worker
        remote = ray.remote(max_retries=TASK_RETRIES, num_cpus=1)(_call).options(name=name)
        tasks = {remote.remote(fn, item, 1): item for item in items}
        pending = list(tasks)
        while pending:
            (done,), pending = ray.wait(pending, num_returns=1)
            try:
                yield ray.get(done)
            except ray.exceptions.RayError as exc:
                yield LostOnCluster(tasks[done], f"lost on the cluster ({type(exc).__name__})")

    def map_batches(
        self, make_worker: Callable[[], Any], rows: list[dict[str, Any]], batch_size: int
    ) -> Iterator[dict[str, Any]]:
        connect(self.address)
        import ray

        if not rows:
            return
        workers = self.actors or max(1, int(ray.available_resources().get("CPU", 1)))
        blocks = max(min(workers, len(rows)), -(-len(rows) // batch_size))  # every actor gets work
        data = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            BatchActor,
            fn_constructor_args=(make_worker,),
            batch_size=batch_size,
            concurrency=min(workers, blocks),
            num_cpus=1,
        )
        yield from data.iter_batches(batch_size=batch_size, batch_format="numpy")
