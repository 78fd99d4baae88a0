"""Shared fixtures: real video files encoded with PyAV, and a small generated demo library."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from whodirected.extract.demo import make_library

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
REAL_CLIPS = SHARED / "data" / "real-clips"


def encode(
    path: Path,
    frames: Sequence[np.ndarray] | Callable[[int], np.ndarray],
    count: int | None = None,
    fps: int = 10,
    codec: str = "libx264",
    sar: Fraction | None = None,
    gop: int | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """Encode RGB frames (a list, or a function of the frame index) into a real video file,
    with container ``tags`` (Matroska tags; MP4/QuickTime metadata atoms)."""
    count = len(frames) if count is None else count  # type: ignore[arg-type]
    first = frames(0) if callable(frames) else frames[0]
    height, width = first.shape[:2]
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"movflags": "use_metadata_tags"} if tags and path.suffix in (".mp4", ".mov") else {}
    with av.open(str(path), mode="w", options=options) as container:
        container.metadata.update(tags or {})
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if sar is not None:
            stream.codec_context.sample_aspect_ratio = sar
        if gop is not None:
            stream.codec_context.gop_size = gop
        for i in range(count):
            pixels = frames(i) if callable(frames) else frames[i]
            container.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="session")
def encode_video() -> Callable[..., Path]:
    return encode


@pytest.fixture(scope="session")
def demo_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two directors (one with a non-ASCII name) x two films x 6 s; read-only for tests."""
    root = tmp_path_factory.mktemp("demo") / "library"
    make_library(root, directors=2, films=2, seconds=6, seed=1)
    return root


@pytest.fixture
def library_copy(demo_library: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the demo library."""
    return Path(shutil.copytree(demo_library, tmp_path / "library"))


@pytest.fixture(scope="session")
def real_clips() -> Path:
    if not REAL_CLIPS.is_dir():
        pytest.skip(f"real footage not present at {REAL_CLIPS} (the ../shared folder)")
    return REAL_CLIPS


@pytest.fixture(scope="session")
def demo_frames(demo_library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo library extracted (one frame every 0.5 s); read-only for tests."""
    from whodirected.config import ExtractConfig
    from whodirected.extract.library import extract_library

    out = tmp_path_factory.mktemp("frames") / "frames"
    extract_library(demo_library, out, ExtractConfig(mode="every", every=0.5), jobs=1)
    return out


@pytest.fixture(scope="session")
def demo_model(demo_frames: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained on every demo frame (default backbone and head); read-only for tests."""
    from whodirected.config import EmbedConfig, TrainConfig
    from whodirected.features.dataset import load_dataset
    from whodirected.models.train import train

    store = tmp_path_factory.mktemp("store")
    model, _ = train(load_dataset(demo_frames), EmbedConfig(), TrainConfig(), store)
    return model.save(tmp_path_factory.mktemp("model") / "model")
