"""Extract and embed on a local Ray cluster give what the local runner gives."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whodirected.config import ExtractConfig
from whodirected.extract.library import extract_library
from whodirected.features.dataset import load_dataset
from whodirected.features.embed import embed_dataset
from whodirected.runners.ray import RayRunner

ray = pytest.importorskip("ray", reason="the [ray] extra is not installed (pip install 'whodirected[ray]')")
SETTINGS = ExtractConfig(mode="every", every=0.5)


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def manifest(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "manifest.csv")


def test_extract_and_embed_match_the_local_runner(demo_library: Path, demo_frames: Path, tmp_path: Path):
    local = manifest(demo_frames)  # the local runner's output (every 0.5 s)
    out = tmp_path / "ray"
    summary = extract_library(demo_library, out, SETTINGS, runner=RayRunner())
    assert summary.ok and summary.frames == len(local)
    pd.testing.assert_frame_equal(manifest(out), local)
    for rel in local.frame_path:
        assert (out / rel).read_bytes() == (demo_frames / rel).read_bytes()

    dataset = load_dataset(out)
    here = embed_dataset(dataset, "efficientnet-lite0+style", tmp_path / "local-store", batch_size=8)
    there = embed_dataset(
        dataset, "efficientnet-lite0+style", tmp_path / "ray-store", batch_size=8, runner=RayRunner(actors=2)
    )
    assert there.summary.computed == {"efficientnet-lite0": len(dataset), "style": len(dataset)}
    np.testing.assert_allclose(there.matrix, here.matrix, rtol=1e-4, atol=1e-4)
    again = embed_dataset(dataset, "efficientnet-lite0+style", tmp_path / "ray-store", runner=RayRunner())
    assert again.summary.computed == {"efficientnet-lite0": 0, "style": 0}  # resumes from the cache


def test_corrupt_film_fails_alone(library_copy: Path, tmp_path: Path) -> None:
    (library_copy / "Wes Anderson" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 500)
    summary = extract_library(library_copy, tmp_path / "out", SETTINGS, runner=RayRunner())
    assert len(summary.errors) == 1 and "broken.mp4" in summary.errors[0]
    assert summary.frames > 0 and sum(d.films for d in summary.directors.values()) == 4


def kill_when_seen(title: str, killed: list[int], seconds: float = 60) -> None:
    """kill -9 the first process whose command line (Ray's process title) contains ``title``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title in text and "pytest" not in text:
                os.kill(int(cmdline.parent.name), signal.SIGKILL)
                killed.append(int(cmdline.parent.name))
                return
        time.sleep(0.02)


def test_a_killed_worker_is_retried(encode_video, tmp_path: Path) -> None:
    """kill -9 the worker extracting a long film mid-run: Ray reruns the film, nothing is lost."""
    library = tmp_path / "library"
    rng = np.random.default_rng(0)
    encode_video(
        library / "Slow Director" / "Long Film.mp4",
        lambda i: (
            np.full((240, 320, 3), (i * 3) % 255, np.uint8)
            + rng.integers(0, 40, (240, 320, 3), dtype=np.uint8)
        ),
        count=600,
        fps=20,
    )
    killed: list[int] = []
    assassin = threading.Thread(target=kill_when_seen, args=("ray::process_film", killed))
    assassin.start()
    summary = extract_library(
        library,
        tmp_path / "out",
        ExtractConfig(mode="every", every=0.25, drop_duplicates=False),
        runner=RayRunner(),
    )
    assassin.join()
    assert killed, "no extraction worker was seen running"
    assert summary.ok and summary.frames > 5, summary.errors
    local = extract_library(
        library, tmp_path / "local", ExtractConfig(mode="every", every=0.25, drop_duplicates=False), jobs=1
    )
    pd.testing.assert_frame_equal(manifest(tmp_path / "out"), manifest(tmp_path / "local"))
    assert local.frames == summary.frames


def test_cli_runner_ray(demo_library: Path, demo_frames: Path, tmp_path: Path) -> None:
    """`whodirected extract --runner ray` starts its own local Ray and writes the same manifest."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "whodirected", "extract", str(demo_library), str(tmp_path / "out"),
         "--every", "0.5", "--runner", "ray"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pd.testing.assert_frame_equal(manifest(tmp_path / "out"), manifest(demo_frames))
    bad = subprocess.run(
        [sys.executable, "-m", "whodirected", "embed", str(demo_frames), "--runner", "spark"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown runner" in bad.stderr


def test_a_killed_embed_actor_is_restarted(demo_frames: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_frames)
    local = embed_dataset(dataset, "efficientnet-lite0", tmp_path / "local")
    killed: list[int] = []
    assassin = threading.Thread(target=kill_when_seen, args=("BatchActor", killed))
    assassin.start()
    there = embed_dataset(
        dataset, "efficientnet-lite0", tmp_path / "ray", batch_size=4, runner=RayRunner(actors=1)
    )
    assassin.join()
    assert killed, "no embedding actor was seen running"
    np.testing.assert_allclose(there.matrix, local.matrix, rtol=1e-4, atol=1e-4)
