"""Extraction speed on film-length files: each sampling mode beside a full decode, with the
frames it keeps and the shots it covers.

    python benchmarks/extract.py [--minutes 90] [--hevc-minutes 90] [--modes keyframes,per-film,every]
    python benchmarks/extract.py --original     # the older table: `--every 1` against the
                                                # original project's seek per frame, and fsync

It builds, once, from the shared real footage (``../shared/data``: the CC-BY Blender clips and
the public-domain films, about 8 minutes in all) two test films, cached outside the repository
in ``$XDG_CACHE_HOME/whodirected-bench`` (``~/.cache`` by default) with imageio-ffmpeg:

- 1080p H.264: every clip scaled and padded to 1920x1080 at 24 fps, one after another, x264
  with its default GOP (a keyframe every 250 frames, and at scene cuts; ``-preset veryfast -crf
  20``), then repeated (stream copy) to ``--minutes``;
- 4K HEVC: the same, at 3840x2160, x265 (``-preset superfast -crf 24``, its default GOP), from
  the first ``--hevc-unique`` seconds, repeated to ``--hevc-minutes``.

For each it prints: a full decode and a keyframes-only decode (PyAV, threaded, no conversion),
then ``extract_library`` in each mode on the film alone, with × real time, frames kept, and
shot coverage. Shots are found once by PySceneDetect on a full decode of the clips' part
(before repeating); a shot counts as covered when a kept frame lies in it in that first pass
(the duplicate filter rightly drops most frames of the repeats), and coverage is given against
all shots and against those one-frame-a-second (``--every 1``) covers. It ends
with what a two-hour film and a 100-film library take at each mode's rate, one film at a time.
Rates do not depend on ``--minutes``: a shorter film gives the same × real time sooner.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av
from _common import CACHE, REAL_CLIPS, demo_library, real_clips

from whodirected.config import ExtractConfig
from whodirected.extract.library import extract_library
from whodirected.extract.manifest import read_manifest
from whodirected.extract.sampling import detect_shots, uniform
from whodirected.extract.sources import discover
from whodirected.extract.video import Video, to_display_image

FILMS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "whodirected-bench"
FOOTAGE = (REAL_CLIPS, REAL_CLIPS.parent / "pd-clips")


def ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


def clips() -> list[Path]:
    """The shared real footage's video files (GIFs left out), in a fixed order."""
    found = [p for root in FOOTAGE if root.is_dir() for p in root.rglob("*") if p.is_file()]
    return sorted(p for p in found if p.suffix in (".mp4", ".mkv", ".webm"))


def build_unique(path: Path, width: int, height: int, encoder: list[str], seconds: float | None) -> None:
    """Every clip in turn at ``width`` x ``height``, 24 fps, encoded once."""
    inputs = clips()
    scaled = ";".join(
        f"[{i}:v:0]scale={width}:{height}:force_original_aspect_ratio=decrease,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=24,format=yuv420p[v{i}]"
        for i in range(len(inputs))
    )
    joined = "".join(f"[v{i}]" for i in range(len(inputs))) + f"concat=n={len(inputs)}:v=1:a=0[out]"
    limit = ["-t", f"{seconds:g}"] if seconds else []
    args = [a for p in inputs for a in ("-i", str(p))]
    tmp = path.with_suffix(".part" + path.suffix)
    ffmpeg(*args, "-filter_complex", f"{scaled};{joined}", "-map", "[out]", *limit, *encoder, str(tmp))
    tmp.replace(path)


def build_film(unique: Path, path: Path, minutes: float) -> None:
    """``unique`` repeated (stream copy: the same GOPs) to ``minutes``."""
    loops = int(minutes * 60 / duration(unique)) + 1
    tmp = path.with_suffix(".part" + path.suffix)
    ffmpeg("-stream_loop", str(loops), "-i", str(unique), "-c", "copy", "-t", f"{minutes * 60:g}", str(tmp))
    tmp.replace(path)


def duration(path: Path) -> float:
    with Video(path) as video:
        return video.duration


@dataclass
class TestFilm:
    name: str
    unique: Path  # the clips' part, before repeating
    film: Path  # the film the modes run on
    shots: list[tuple[float, float]]  # of the unique part, by PySceneDetect


def test_film(
    name: str, size: tuple[int, int], encoder: list[str], minutes: float, unique_s: float | None
) -> TestFilm:
    FILMS.mkdir(parents=True, exist_ok=True)
    slug = name.lower().replace(" ", "-").replace(".", "")
    tag = f"{slug}-{unique_s:g}s" if unique_s else slug
    unique = FILMS / f"unique-{tag}.mp4"
    if not unique.is_file():
        print(f"building {unique} (once) ...", flush=True)
        start = time.perf_counter()
        build_unique(unique, *size, encoder, unique_s)
        print(f"  {time.perf_counter() - start:.0f} s", flush=True)
    film = FILMS / f"film-{tag}-{minutes:g}min.mp4"
    if not film.is_file():
        build_film(unique, film, minutes)
    shots_file = unique.with_suffix(".shots.json")
    if not shots_file.is_file():
        print(f"finding the shots of {unique.name} (PySceneDetect, full decode, once) ...", flush=True)
        shots_file.write_text(
            json.dumps(detect_shots(unique, ExtractConfig.shot_threshold, ExtractConfig.min_shot_seconds))
        )
    return TestFilm(name, unique, film, [tuple(s) for s in json.loads(shots_file.read_text())])


def decode_seconds(path: Path, keyframes_only: bool) -> tuple[float, int]:
    """Seconds to decode the film (every frame, or the keyframes alone), and frames decoded."""
    start = time.perf_counter()
    count = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        for _ in container.decode(stream):
            count += 1
    return time.perf_counter() - start, count


def covered(times: list[float], shots: list[tuple[float, float]], period: float) -> set[int]:
    """The shots of the clips' part holding at least one of ``times`` in its first pass (later
    passes repeat it, so the duplicate filter rightly drops most of their frames)."""
    import bisect

    starts = [s for s, _ in shots]
    out = set()
    for t in times:
        if t >= period:
            continue
        i = bisect.bisect_right(starts, t) - 1
        if i >= 0 and t < shots[i][1]:
            out.add(i)
    return out


MODES = {
    "keyframes": ExtractConfig(),
    "per-film": ExtractConfig(mode="per-film"),
    "every": ExtractConfig(mode="every", every=1.0),
}


def run_modes(film: TestFilm, modes: list[str]) -> dict[str, float]:
    length = duration(film.film)
    period = duration(film.unique)
    print(
        f"\n== {film.name}: {film.film.name}, {length / 60:.1f} min; shots covered are counted in its first "
        f"{period / 60:.1f} min (the clips, once: {len(film.shots)} shots), frames kept in all of it =="
    )
    print("| what | seconds | × real time | frames kept | shots covered | of those 1 fps covers |")
    print("|---|---|---|---|---|---|")
    for keyframes_only in (False, True):
        seconds, count = decode_seconds(film.film, keyframes_only)
        what = "decode keyframes only" if keyframes_only else "decode every frame"
        print(f"| {what} ({count} frames) | {seconds:.1f} | {length / seconds:.0f}× | | | |", flush=True)
    rates, cover = {}, {}
    for mode in ["every", *[m for m in modes if m != "every"]] if "every" in modes else modes:
        with tempfile.TemporaryDirectory() as tmp:
            library = Path(tmp) / "library" / "Test Director"
            library.mkdir(parents=True)
            (library / film.film.name).symlink_to(film.film)
            start = time.perf_counter()
            summary = extract_library(library.parent, Path(tmp) / "out", MODES[mode], jobs=1)
            seconds = time.perf_counter() - start
            assert summary.ok, summary.errors
            times = read_manifest(summary.manifest).timestamp.tolist()
        cover[mode] = covered(times, film.shots, period)
        rates[mode] = length / seconds
        relative = (
            f"{len(cover[mode] & cover['every']) / max(1, len(cover['every'])):.0%}"
            if "every" in cover
            else "–"
        )
        print(
            f"| `extract`, {mode} mode | {seconds:.1f} | {rates[mode]:.0f}× | {len(times)} | "
            f"{len(cover[mode]) / len(film.shots):.0%} | {relative} |",
            flush=True,
        )
    return rates


def estimates(rates: dict[str, dict[str, float]]) -> None:
    print("\n== what a two-hour film and a 100-film library take (one film at a time, this machine) ==")
    for film, by_mode in rates.items():
        for mode, rate in by_mode.items():
            film_s = 7200 / rate
            print(
                f"{film}, {mode} mode: a two-hour film {film_s / 60:.1f} min; 100 such films {film_s * 100 / 3600:.1f} h"
            )


# -- the older table: --every 1 against the original project's method, and fsync's cost ------


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
    flat = [(p, t) for p, times in jobs for t in times][:limit]
    start = time.perf_counter()
    for i, (path, t) in enumerate(flat):
        ffmpeg("-ss", f"{t:.3f}", "-i", str(path), "-frames:v", "1", str(out / f"f{i}.jpg"))
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


def original(every: float) -> None:
    measure("demo library 3x3x12 s (the README's)", demo_library(), every)
    measure("longer demo library 2x2x90 s", demo_library(2, 2, 90.0), every)
    real = real_clips()
    if real:
        measure("shared real clips", real, every)
    fsync_cost(demo_library(), every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=90.0, help="length of the 1080p H.264 film")
    parser.add_argument("--hevc-minutes", type=float, default=90.0, help="length of the 4K HEVC film")
    parser.add_argument("--hevc-unique", type=float, default=120.0, help="seconds of clips in the 4K film")
    parser.add_argument("--modes", default="keyframes,per-film,every", help="sampling modes to run")
    parser.add_argument("--original", action="store_true", help="the older table instead")
    parser.add_argument("--every", type=float, default=1.0, help="with --original")
    args = parser.parse_args()
    if args.original:
        original(args.every)
        return
    if not clips():
        print(f"skipping: the shared real footage is not present at {REAL_CLIPS.parent}")
        return
    modes = args.modes.split(",")
    rates = {}
    h264 = test_film(
        "1080p H.264",
        (1920, 1080),
        ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20"],
        args.minutes,
        None,
    )
    rates["1080p H.264"] = run_modes(h264, modes)
    hevc = test_film(
        "4K HEVC", (3840, 2160), ["-c:v", "libx265", "-preset", "superfast", "-crf", "24", "-x265-params", "log-level=error"],
        args.hevc_minutes, args.hevc_unique,
    )  # fmt: skip
    rates["4K HEVC"] = run_modes(hevc, modes)
    estimates(rates)


if __name__ == "__main__":
    main()
