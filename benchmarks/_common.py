"""Helpers shared by the benchmark scripts: the demo library and the shared real footage."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
REAL_CLIPS = HERE.parent / ".." / "shared" / "data" / "real-clips"


def demo_library(directors: int = 3, films: int = 3, seconds: float = 12.0) -> Path:
    """The README's demo library, generated once into benchmarks/.cache."""
    from whodirected.extract.demo import make_library  # needs PyAV: imported only here

    root = CACHE / f"demo-{directors}x{films}x{seconds:g}"
    make_library(root, directors, films, seconds, seed=0)
    return root


def real_clips() -> Path | None:
    if REAL_CLIPS.is_dir():
        return REAL_CLIPS
    print(f"(skipping real footage: {REAL_CLIPS} not present)")
    return None


def demo_frames(directors: int = 3, films: int = 3, seconds: float = 12.0, every: float = 0.5) -> Path:
    """The demo library extracted once (frames and manifest) into benchmarks/.cache."""
    from whodirected.config import ExtractConfig
    from whodirected.extract.library import extract_library

    out = CACHE / f"frames-{directors}x{films}x{seconds:g}-every{every:g}"
    extract_library(
        demo_library(directors, films, seconds), out, ExtractConfig(mode="every", every=every), jobs=2
    )
    return out


UNSEEN = ("Denis Villeneuve", "Akira Kurosawa")  # the demo's 5th and 6th directors, never trained on


def demo_model():
    """A model trained on the 6x3x16 s demo frames of every director but :data:`UNSEEN`, saved once
    into benchmarks/.cache; returns (its folder, the whole dataset, the mask of known frames)."""
    from dataclasses import replace

    from whodirected.config import EmbedConfig, TrainConfig
    from whodirected.features.dataset import load_dataset
    from whodirected.models.train import train

    dataset = load_dataset(demo_frames(6, 3, 16.0))
    known = ~dataset.frames.director.isin(UNSEEN)
    folder = CACHE / "predict-model"
    if not (folder / "model.json").is_file():
        model, _ = train(
            replace(dataset, frames=dataset.frames[known].reset_index(drop=True)),
            EmbedConfig(),
            TrainConfig(),
            dataset.root / ".whodirected" / "features",
        )
        model.save(folder)
    return folder, dataset, known


def median_seconds(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
