"""Scaling out: the local runner against the Ray runner (1 and 2 workers) for extract and embed,
Ray's overhead per film, and an estimate for a 10,000-film library from the measured costs.

    python benchmarks/scale.py
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import av
from _common import demo_frames, demo_library, real_clips

from whodirected.config import ExtractConfig
from whodirected.extract.library import extract_library
from whodirected.features.dataset import load_dataset
from whodirected.features.embed import embed_dataset
from whodirected.runners import make_runner

BACKBONE = "efficientnet-lite0+style"
SETTINGS = ExtractConfig(mode="every", every=0.5)
# the library to estimate: 10,000 films of 2 hours, one frame every 2 s, 1080p at 24 fps
FILMS, HOURS, EVERY, FPS, PIXELS_1080P = 10_000, 2.0, 2.0, 24, 1920 * 1080
NODE_CORES, DEADLINE_HOURS = 32, 24.0


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def extract_once(library: Path, runner: str, jobs: int) -> tuple[float, int]:
    out = Path(tempfile.mkdtemp(prefix="scale-"))
    try:
        seconds, summary = timed(
            lambda: extract_library(library, out / "f", SETTINGS, runner=make_runner(runner, jobs=jobs))
        )
        return seconds, summary.frames
    finally:
        shutil.rmtree(out)


def embed_once(dataset, runner: str) -> float:
    store = Path(tempfile.mkdtemp(prefix="scale-store-"))
    try:
        seconds, _ = timed(
            lambda: embed_dataset(dataset, BACKBONE, store, batch_size=32, runner=make_runner(runner))
        )
        return seconds
    finally:
        shutil.rmtree(store)


def decode_rate(path: Path) -> tuple[float, int]:
    """Frames decoded per second by one process (FFmpeg's own threads), and the pixels per frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start, frames = time.perf_counter(), 0
        for frame in container.decode(stream):
            frames += 1
            pixels = frame.width * frame.height
    return frames / (time.perf_counter() - start), pixels


def main() -> None:
    import ray

    library = demo_library(4, 4, 20.0)
    films = len(list(library.glob("*/*.mp4")))
    dataset = load_dataset(demo_frames(4, 4, 20.0))
    rows = []
    local1, frames = extract_once(library, "local", 1)
    local2, _ = extract_once(library, "local", 2)
    embed_local = embed_once(dataset, "local")
    rows += [("local, 1 job", local1, embed_local), ("local, 2 jobs", local2, None)]
    start_ray = {}
    for workers in (1, 2):
        start_ray[workers], _ = timed(
            lambda w=workers: ray.init(
                num_cpus=w, include_dashboard=False, log_to_driver=False, configure_logging=False
            )
        )
        extract_ray, ray_frames = extract_once(library, "ray", 1)
        assert ray_frames == frames, "Ray and local runners disagree"
        rows.append((f"ray, {workers} worker(s)", extract_ray, embed_once(dataset, "ray")))
        ray.shutdown()
    print(
        f"demo library: {films} films x 20 s, {frames} frames kept (every {SETTINGS.every} s); {len(dataset)} frames to embed"
    )
    print(f"{'runner':<18} {'extract frames/s':>17} {'embed frames/s':>15}")
    for name, extract_s, embed_s in rows:
        embed_text = f"{len(dataset) / embed_s:15.1f}" if embed_s else f"{'':>15}"
        print(f"{name:<18} {frames / extract_s:17.1f} {embed_text}")
    ray1 = rows[2][1]
    print(
        f"ray start-up: {start_ray[1]:.1f} s (1 worker), {start_ray[2]:.1f} s (2 workers), not in the rates above"
    )
    print(f"ray overhead per film (1 worker vs 1 local job): {(ray1 - local1) / films * 1000:+.0f} ms")

    # -- the estimate ----------------------------------------------------------------------
    clips = real_clips()
    source = next(clips.glob("*/Big Buck Bunny/part-a.mp4")) if clips else next(library.glob("*/*.mp4"))
    rate, pixels = decode_rate(source)
    cores_here = 2
    decode_core_s = cores_here / rate * PIXELS_1080P / pixels  # core-seconds per 1080p frame decoded
    frames_per_film = HOURS * 3600 * FPS
    kept_per_film = HOURS * 3600 / EVERY
    extract_core_h = FILMS * frames_per_film * decode_core_s / 3600
    embed_core_s = cores_here * embed_local / len(dataset)  # core-seconds per frame embedded
    embed_core_h = FILMS * kept_per_film * embed_core_s / 3600
    total = extract_core_h + embed_core_h
    nodes = total / (NODE_CORES * DEADLINE_HOURS)
    print(f"\nestimate for {FILMS:,} films x {HOURS:g} h at {FPS} fps 1080p, one frame every {EVERY:g} s:")
    print(
        f"  decode: {rate:.0f} frames/s here at {pixels:,} px -> {decode_core_s * 1000:.1f} core-ms per 1080p frame"
    )
    print(f"  extract: {frames_per_film:,.0f} frames decoded per film -> {extract_core_h:,.0f} core-hours")
    print(
        f"  embed: {embed_core_s * 1000:.0f} core-ms per frame x {FILMS * kept_per_film:,.0f} frames -> {embed_core_h:,.0f} core-hours"
    )
    print(
        f"  total {total:,.0f} core-hours: {nodes:.1f} nodes of {NODE_CORES} cores for {DEADLINE_HOURS:g} h "
        f"(or {total / NODE_CORES:,.0f} h on one such node)"
    )


if __name__ == "__main__":
    main()
