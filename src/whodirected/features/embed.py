"""Embedding frames: a pure per-batch function (:func:`embed_batch`), a feature cache
(:class:`FeatureStore`), the per-batch worker a runner maps (:class:`EmbedWorker`) and a
thin scheduler (:func:`embed_dataset`).

The cache keys every frame by the hash of its file's bytes, per backbone and preprocessing
version: a rerun computes nothing, new frames compute only themselves, and an interrupted
run loses at most one batch. Each batch is one ``.npz`` shard (arrays ``keys`` and
``features``), written atomically, readable with plain NumPy::

    np.load("features/efficientnet-lite0-1a2b3c/shard-000001.npz")["features"]
"""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from whodirected import _atomic as atomic
from whodirected.config import EmbedConfig
from whodirected.features.backbones import REGISTRY, Extractor, create, default_device, parts
from whodirected.features.dataset import Dataset
from whodirected.features.images import DEFAULT_MAX_PIXELS, ImageError, open_image
from whodirected.runners import Runner
from whodirected.runners.local import LocalRunner

STORE_INDEX = "frames.csv"
STAT_INDEX = "stat-index.csv"  # path, size, mtime_ns -> key: unchanged files are not read again
# frames read and embedded together when the setting is 0 (auto); a CPU's network still takes
# them registry.CPU_CHUNK at a time
CPU_BATCH, CUDA_BATCH = 32, 256


def file_key(data: bytes) -> str:
    """The cache key of an image file: a hash of its bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def file_keys(paths: list[str], store: Path) -> tuple[list[str | None], list[str]]:
    """Each file's cache key, and one line per unreadable file. A file whose path, size and
    modification time (ns) are in the stat index keeps its key unread; any other is hashed,
    so a moved or copied frame is still a cache hit. The index is rewritten atomically."""
    known: dict[str, tuple[int, int, str]] = {}
    index = store / STAT_INDEX
    if index.is_file():
        try:
            table = pd.read_csv(index, dtype={"path": str, "key": str})
            known = {
                p: (int(s), int(m), k)
                for p, s, m, k in table[["path", "size", "mtime_ns", "key"]].itertuples(index=False)
            }
        except (OSError, ValueError, KeyError, pd.errors.ParserError):
            known = {}  # an unreadable index only costs a re-read
    keys: list[str | None] = []
    errors: list[str] = []
    updated = dict(known)  # other datasets' files sharing this store keep their entries
    for path in paths:
        try:
            info = os.stat(path)
            seen = known.get(path)
            if seen and seen[:2] == (info.st_size, info.st_mtime_ns):
                key = seen[2]
            else:
                key = file_key(Path(path).read_bytes())
        except OSError as exc:
            errors.append(f"{path}: cannot read ({exc.strerror or exc})")
            keys.append(None)
            continue
        keys.append(key)
        updated[path] = (info.st_size, info.st_mtime_ns, key)
    if updated != known:
        table = pd.DataFrame(
            [(p, *v) for p, v in updated.items()], columns=["path", "size", "mtime_ns", "key"]
        )
        atomic.write_text(index, table.to_csv(index=False))
    return keys, errors


class FeatureStore:
    """Features of one backbone version, in ``<root>/<backbone>-<version hash>/shard-*.npz``."""

    def __init__(self, root: str | Path, name: str, version: str, dim: int) -> None:
        digest = hashlib.blake2b(version.encode(), digest_size=4).hexdigest()
        self.folder = Path(root) / f"{name}-{digest}"
        self.dim = dim
        self.corrupt: list[str] = []  # shards found unreadable and removed
        self._features: dict[str, np.ndarray] = {}
        self._next = 0
        for shard in sorted(self.folder.glob("shard-*.npz")):
            self._next = max(self._next, int(shard.stem.split("-")[1]) + 1)
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys, features = data["keys"], data["features"]
                if features.shape != (len(keys), self.dim) or not np.isfinite(features).all():
                    raise ValueError("wrong shape or non-finite values")
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
                self.corrupt.append(f"{shard}: unreadable feature shard, recomputing its frames ({exc})")
                shard.unlink(missing_ok=True)
                continue
            self._features.update(zip(keys.tolist(), features, strict=True))

    def __contains__(self, key: str) -> bool:
        return key in self._features

    def __len__(self) -> int:
        return len(self._features)

    def get(self, keys: list[str]) -> np.ndarray:
        if not keys:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self._features[k] for k in keys]).astype(np.float32)

    def add(self, keys: list[str], features: np.ndarray) -> None:
        """Save one batch as a new shard (atomically) and remember it."""
        if not keys:
            return
        path = self.folder / f"shard-{self._next:06d}.npz"
        self._next += 1
        with atomic.atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.savez(handle, keys=np.asarray(keys, dtype=str), features=features.astype(np.float32))
        self._features.update(zip(keys, features.astype(np.float32), strict=True))


def embed_batch(extractor: Extractor, inputs: list[np.ndarray]) -> np.ndarray:
    """The pure per-batch step: preprocessed inputs to an ``(n, dim)`` float32 array."""
    return extractor.embed(inputs).astype(np.float32)


@dataclass
class EmbedSummary:
    frames: int = 0
    computed: dict[str, int] = field(default_factory=dict)  # per backbone
    cached: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # one line per unreadable image
    corrupt: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Features:
    """Features aligned with ``dataset.frames[ok]``, and the block sizes of a combined backbone."""

    matrix: np.ndarray
    ok: np.ndarray  # boolean mask over the dataset's frames
    blocks: list[tuple[str, int]]
    summary: EmbedSummary


def embed_dataset(
    dataset: Dataset,
    backbone: str,
    store: str | Path,
    batch_size: int = 32,
    device: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    on_progress: Callable[[str, int, int], None] | None = None,
    random_weights: bool = False,
    runner: Runner | None = None,
    precision: str = "fp32",
    workers: int = 0,
) -> Features:
    """Embed every frame of ``dataset`` with ``backbone`` (``a+b`` combines), through the cache.

    ``on_progress(backbone, done, total)`` reports frames computed. Unreadable images are
    skipped, each with one line in the summary. ``runner`` computes the missing features, a
    batch at a time through :class:`EmbedWorker` (default: this process, inputs read in
    threads, ahead of a CUDA network or in turns with a CPU one; see
    :mod:`whodirected.runners`); this process writes the cache. Nothing is built,
    and torch is not even imported, when every frame is cached. ``workers`` threads read and
    preprocess images (0: one per CPU); ``batch_size`` 0 is 32 on a CPU, 256 on CUDA;
    ``precision`` bf16 or fp16 runs CUDA networks in half precision.
    """
    with atomic.exclusive(store, "embed"):  # one writer per feature store
        return _embed(dataset, backbone, Path(store), batch_size, device, max_pixels, on_progress, random_weights,
                      runner or LocalRunner(threads=workers or None), precision)  # fmt: skip


def _embed(
    dataset, backbone, store, batch_size, device, max_pixels, on_progress, random_weights, runner, precision
):
    start = time.perf_counter()
    names = parts(backbone)
    summary = EmbedSummary(frames=len(dataset))
    paths = dataset.frames.path.tolist()
    keys, summary.skipped = file_keys(paths, Path(store))
    bad: set[int] = {i for i, k in enumerate(keys) if k is None}
    blocks, matrices = [], []
    for name in names:
        spec = REGISTRY[name]
        chosen_precision = precision if spec.prep is not None else "fp32"  # only networks have one
        version = spec.version(random_weights, chosen_precision)
        cache = FeatureStore(store, name, version, spec.dim)
        summary.corrupt += cache.corrupt
        todo = [i for i, k in enumerate(keys) if k is not None and i not in bad and k not in cache]
        todo = list({keys[i]: i for i in todo}.values())  # identical files computed once
        summary.cached[name] = sum(1 for i, k in enumerate(keys) if k is not None and k in cache)
        done = computed = 0
        worker = partial(EmbedWorker, name, device, random_weights, max_pixels, chosen_precision)
        size = batch_size or (CUDA_BATCH if todo and _on_cuda(spec, device) else CPU_BATCH)
        rows = [{"i": i, "path": paths[i]} for i in todo]
        for batch in runner.map_batches(worker, rows, size):
            good = np.asarray(batch["error"]) == ""
            batch_idx = [int(i) for i in np.asarray(batch["i"])[good]]
            features = np.asarray(batch["features"])[good]
            for i, message in zip(
                np.asarray(batch["i"])[~good], np.asarray(batch["error"])[~good], strict=True
            ):
                bad.add(int(i))
                summary.skipped.append(str(message))
            errors = int((~good).sum())
            if batch_idx:
                cache.add([keys[i] for i in batch_idx], features)  # type: ignore[misc]
                computed += len(batch_idx)
            done += len(batch_idx) + errors
            if on_progress:
                on_progress(name, done, len(todo))
        summary.computed[name] = computed
        blocks.append((name, spec.dim))
        matrices.append(cache)
    ok = np.array([i not in bad for i in range(len(paths))], dtype=bool)
    good_keys = [k for k, flag in zip(keys, ok, strict=True) if flag]
    matrix = np.concatenate([c.get(good_keys) for c in matrices], axis=1)  # type: ignore[arg-type]
    _write_index(Path(store), dataset, keys, ok)
    summary.seconds = time.perf_counter() - start
    summary.skipped = sorted(set(summary.skipped))
    return Features(matrix, ok, blocks, summary)


def read_batch(
    preprocess: Callable, max_pixels: int, batch: dict
) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
    """Read and preprocess a batch's images: ``(frame indices, inputs, error lines)``, "" for a
    frame that worked. Picklable with its arguments, so reader processes can run it."""
    inputs, errors = [], []
    for path in batch["path"]:
        try:
            inputs.append(preprocess(open_image(str(path), max_pixels)))
            errors.append("")
        except ImageError as exc:
            errors.append(str(exc))
    return np.asarray(batch["i"]), inputs, errors


class EmbedWorker:
    """The per-batch step, built once per worker (the backbone loaded once): ``prepare`` reads and
    preprocesses a batch's images (:func:`read_batch`; ``reader()`` gives it without the network,
    for reader processes), ``run`` computes their features. A batch is columns ``i`` (frame
    index) and ``path``; the result, ``i``, ``features`` and ``error`` ("" for a frame that
    worked, else its one-line reason)."""

    def __init__(
        self, name: str, device: str | None, random_weights: bool, max_pixels: int, precision: str = "fp32"
    ) -> None:
        self.extractor = create(name, device=device, random_weights=random_weights, precision=precision)
        self.max_pixels = max_pixels
        self.uses_all_cores = self.extractor.uses_all_cores  # then reading waits for the network

    def reader(self) -> Callable[[dict], tuple[np.ndarray, list[np.ndarray], list[str]]]:
        return partial(read_batch, self.extractor.preprocessor, self.max_pixels)

    def prepare(self, batch: dict) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
        return read_batch(self.extractor.preprocessor, self.max_pixels, batch)

    @staticmethod
    def join(slices: list[tuple[np.ndarray, list[np.ndarray], list[str]]]) -> tuple:
        """One prepared batch from the prepared slices of it, in order."""
        return (
            np.concatenate([s[0] for s in slices]),
            [x for s in slices for x in s[1]],
            [e for s in slices for e in s[2]],
        )

    def run(self, prepared: tuple[np.ndarray, list[np.ndarray], list[str]]) -> dict[str, np.ndarray]:
        index, inputs, errors = prepared
        features = np.zeros((len(errors), self.extractor.dim), np.float32)
        if inputs:
            features[np.asarray(errors) == ""] = embed_batch(self.extractor, inputs)
        return {"i": index, "features": features, "error": np.asarray(errors, dtype=object)}


def _write_index(store: Path, dataset: Dataset, keys: list[str | None], ok: np.ndarray) -> None:
    """``frames.csv`` beside the shards: each frame's path, director, film and cache key."""
    frames = dataset.frames[["path", "director", "film"]].copy()
    frames["key"] = keys
    frames["ok"] = ok
    atomic.write_text(store / STORE_INDEX, frames.to_csv(index=False))


def _on_cuda(spec, device: str | None) -> bool:
    """Whether a network will run on CUDA (the only place where big batches pay)."""
    if spec.prep is None or (device is not None and not device.startswith("cuda")):
        return False
    return device is not None or default_device() == "cuda"


def embed(
    dataset: Dataset,
    config: EmbedConfig,
    store: str | Path | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    backbone: str | None = None,
    runner: Runner | None = None,
) -> Features:
    """:func:`embed_dataset` with the settings of ``config`` (``backbone`` overrides its
    backbone; the store defaults to the dataset's own)."""
    name = backbone or config.backbone
    return embed_dataset(
        dataset,
        name,
        store or dataset.store,
        config.batch_size,
        config.device,  # blocks that are no network run on the CPU whatever it says
        config.max_pixels,
        on_progress,
        runner=runner,
        precision=config.precision,
        workers=config.workers,
    )
