"""Extraction speed: `whodirected extract --every N` against the original method (one seek per frame).

The original project opened the film and seeked once per screenshot. Here the baseline does
the same with PyAV (open, seek, decode to the frame, save a JPEG) and, on a few frames, with
the `ffmpeg -ss T -i film -frames:v 1` program from imageio-ffmpeg. Same timestamps, one run.

    python benchmarks/extract.py [--every 1.0]

It ends with what durable writes cost: the same extraction with every file flushed to the disk
(the default) and with ``WHODIRECTED_FSYNC=0``, each run as a fresh ``whodirected extract``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import av
from _common import CACHE, demo_library, real_clips

from whodirected.config import ExtractConfig
from whodirected.extract.library import extract_library
from whodirected.extract.sampling import uniform
from whodirected.extract.sources import discover
from whodirected.extract.video import Video, to_display_image


def targets(library: Path, every: float) -> list[tuple[Path, list[float]]]:
    jobs = []
    for film in discover(library).films:
        with Video(film.path) as video:
            jobs.append((film.path, [t.time for t in uniform(video.duration, every)]))
    return jobs


def baseline_pyav(jobs: list[tuple[Path, list[float]]], out: Path) -> int:
    """Open the film and seek once per frame, as the original project did with OpenCV."""
    count = 0
    for path, times in jobs:
        for t in times:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                container.seek(int(t / stream.time_base), stream=stream, backward=True)
                for frame in container.decode(stream):
                    if frame.time is not None and frame.time + 0.5 / float(stream.average_rate) >= t:
                        to_display_image(frame, stream).save(out / f"{count}.jpg", quality=90)
                        count += 1
                        break
    return count


def baseline_ffmpeg(jobs: list[tuple[Path, list[float]]], out: Path, limit: int) -> tuple[int, float]:
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    flat = [(p, t) for p, times in jobs for t in times][:limit]
    start = time.perf_counter()
    for i, (path, t) in enumerate(flat):
        cmd = [
            exe,
            "-v",
            "fatal",
            "-ss",
            f"{t:.3f}",
            "-i",
            str(path),
            "-frames:v",
            "1",
            str(out / f"f{i}.jpg"),
        ]
        subprocess.run(cmd, check=True)
    return len(flat), time.perf_counter() - start


def measure(name: str, library: Path, every: float) -> None:
    jobs = targets(library, every)
    frames = sum(len(t) for _, t in jobs)
    print(f"\n== {name}: {len(jobs)} films, {frames} timestamps (--every {every}) ==")
    config = ExtractConfig(mode="every", every=every, drop_duplicates=False)
    results = {}
    for n in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = extract_library(library, Path(tmp) / "out", config, jobs=n)
            seconds = time.perf_counter() - start
        results[n] = frames / seconds
        print(
            f"whodirected extract --jobs {n}: {seconds:6.2f} s  {results[n]:7.1f} frames/s  ({summary.frames} kept)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        count = baseline_pyav(jobs, Path(tmp))
        seconds = time.perf_counter() - start
    base = count / seconds
    print(f"baseline, PyAV seek per frame: {seconds:6.2f} s  {base:7.1f} frames/s")
    with tempfile.TemporaryDirectory() as tmp:
        n, seconds = baseline_ffmpeg(jobs, Path(tmp), limit=40)
    print(f"baseline, ffmpeg -ss per frame ({n} frames): {n / seconds:7.1f} frames/s")
    print(f"ratio, ours (1 job) / PyAV baseline: {results[1] / base:5.2f}x")
    print(f"scaling, 2 jobs / 1 job: {results[2] / results[1]:5.2f}x")


def fsync_cost(library: Path, every: float) -> None:
    """Seconds of a fresh `whodirected extract` with and without fsync, best of three each."""
    import os
    import sys

    times = {}
    for flag in ("1", "0"):
        best = float("inf")
        for _ in range(3):
            with tempfile.TemporaryDirectory(dir=CACHE) as out:  # the project's disk, not a RAM /tmp
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "whodirected", "extract", str(library), f"{out}/f", "--every", str(every)],
                    check=True, capture_output=True, env={**os.environ, "WHODIRECTED_FSYNC": flag},
                )  # fmt: skip
                best = min(best, time.perf_counter() - start)
        times[flag] = best
    frames = sum(1 for _ in Path(library).rglob("*.mp4"))
    print(
        f"durable writes (fsync file and folder): {times['1']:.2f} s against {times['0']:.2f} s without "
        f"({(times['1'] / times['0'] - 1):+.0%}) for the demo library ({frames} films), on "
        f"the disk of {CACHE}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=1.0)
    args = parser.parse_args()
    measure("demo library 3x3x12 s (the README's)", demo_library(), args.every)
    measure("longer demo library 2x2x90 s", demo_library(2, 2, 90.0), args.every)
    real = real_clips()
    if real:
        measure("shared real clips", real, args.every)
    fsync_cost(demo_library(), args.every)


if __name__ == "__main__":
    main()
