"""Running extract and embed on a Ray cluster (``--runner ray``), with the same results as the
local runner.

Nothing here re-implements a step: extraction maps the per-film function
:func:`whodirected.extract.process_film` over Ray tasks (a film is the unit of work, retried
when its worker dies); embedding maps the per-batch function
:func:`whodirected.embed.embed_batch` over Ray Data ``map_batches`` with actors that build
the backbone once each. The driver keeps writing the manifest records and feature shards,
exactly as in local mode, so a rerun after a crash resumes.

Inputs and outputs must be paths every node can read and write (one machine, or a shared
filesystem mounted at the same path on every node).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .config import ExtractConfig
from .extract import FilmResult, process_film
from .sources import FilmSource

TASK_RETRIES = 3  # a film whose worker dies is run again this many times


def connect(address: str | None = None) -> None:
    """Join the cluster at ``address`` (``auto``, ``ray://host:port``) or start a local one."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("--runner ray needs the [ray] extra: pip install 'whodirected[ray]'") from None
    if not ray.is_initialized():
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise RuntimeError(
                f"cannot reach a Ray cluster at {address or 'a new local one'}: {exc}"
            ) from None
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # our own progress bar reports, as in local mode
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def run_extract(
    films: list[FilmSource], dst: Path, config: ExtractConfig, address: str | None = None
) -> Iterator[FilmResult]:
    """Yield each film's result as its Ray task finishes (``process_film`` on a worker); a film
    whose workers kept dying fails alone, like a corrupt one."""
    connect(address)
    import ray

    remote = ray.remote(max_retries=TASK_RETRIES, num_cpus=1)(process_film)
    sources = {remote.remote(source, str(dst), config, 1): source for source in films}
    pending = list(sources)
    while pending:
        (done,), pending = ray.wait(pending, num_returns=1)
        try:
            yield ray.get(done)
        except ray.exceptions.RayError as exc:
            yield FilmResult(
                sources[done], error=f"{sources[done].path}: lost on the cluster ({type(exc).__name__})"
            )


class _EmbedActor:
    """A Ray Data actor: the backbone is built once, then every batch goes through it."""

    def __init__(self, name: str, device: str | None, random_weights: bool, max_pixels: int) -> None:
        from .backbones import create

        self.extractor = create(name, device=device, random_weights=random_weights)
        self.max_pixels = max_pixels

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from .embed import embed_batch
        from .images import ImageError, open_image

        inputs, ok, errors = [], [], []
        for path in batch["path"]:
            try:
                inputs.append(self.extractor.preprocess(open_image(str(path), self.max_pixels)))
                ok.append(True)
                errors.append("")
            except ImageError as exc:
                ok.append(False)
                errors.append(str(exc))
        features = np.zeros((len(ok), self.extractor.dim), np.float32)
        if inputs:
            features[np.asarray(ok)] = embed_batch(self.extractor, inputs)
        return {"i": batch["i"], "features": features, "error": np.asarray(errors, dtype=object)}


def embed_batches(
    name: str,
    paths: list[str],
    indices: list[int],
    batch_size: int,
    device: str | None,
    max_pixels: int,
    random_weights: bool = False,
    concurrency: int | None = None,
    address: str | None = None,
) -> Iterator[tuple[list[int], np.ndarray, list[tuple[int, str]]]]:
    """Like the local embed loop: ``(frame indices, features, [(index, error line)])`` per batch."""
    connect(address)
    import ray

    if not indices:
        return
    workers = concurrency or max(1, int(ray.available_resources().get("CPU", 1)))
    items = [{"i": i, "path": p} for i, p in zip(indices, paths, strict=True)]
    blocks = max(min(workers, len(items)), -(-len(items) // batch_size))  # every actor gets work
    workers = min(workers, blocks)
    data = ray.data.from_items(items, override_num_blocks=blocks).map_batches(
        _EmbedActor,
        fn_constructor_args=(name, device, random_weights, max_pixels),
        batch_size=batch_size,
        concurrency=workers,
        num_cpus=1,  # Ray Data restarts a dead actor and retries its batches
    )
    for batch in data.iter_batches(batch_size=batch_size, batch_format="numpy"):
        good = batch["error"] == ""
        errors = [(int(i), str(e)) for i, e in zip(batch["i"][~good], batch["error"][~good], strict=True)]
        yield [int(i) for i in batch["i"][good]], batch["features"][good], errors
