"""Helpers shared by the benchmark scripts: the demo library and the shared real footage."""

from __future__ import annotations

from pathlib import Path

from whodirected.demo import make_library

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
REAL_CLIPS = HERE.parent / ".." / "shared" / "data" / "real-clips"


def demo_library(directors: int = 3, films: int = 3, seconds: float = 12.0) -> Path:
    """The README's demo library, generated once into benchmarks/.cache."""
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
    from whodirected.extract import extract_library

    out = CACHE / f"frames-{directors}x{films}x{seconds:g}-every{every:g}"
    extract_library(demo_library(directors, films, seconds), out, ExtractConfig(every=every), jobs=2)
    return out
