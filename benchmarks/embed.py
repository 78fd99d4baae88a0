"""Embedding speed: the raw forward on batches already in memory (the limit; fp32 and, on CUDA,
the half precision asked for), ``embed`` from JPEG files with its share of the raw forward (from
the start, and in steady state paired with a raw timing), the style block's share, a cached
rerun, and a stat-only rerun over a synthetic store of 100,000 cached frames.

    python benchmarks/embed.py [--device cpu|cuda] [--workers N] [--precision bf16] [--synthetic N]

``--synthetic N`` writes N 768x432 JPEG frames instead of extracting the demo library (for a
machine without PyAV, such as a GPU box); it decodes like real frames of that size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from _common import CACHE
from PIL import Image

from whodirected.config import EmbedConfig
from whodirected.features.backbones import create, registry
from whodirected.features.backbones.registry import CPU_CHUNK
from whodirected.features.dataset import Dataset, load_dataset
from whodirected.features.embed import STAT_INDEX, FeatureStore, embed_dataset, file_key
from whodirected.features.style import describe


def synthetic_frames(n: int) -> Dataset:
    """``n`` distinct JPEG frames of smooth colour with grain, 768x432, in 4 folders standing for
    directors: 256 pictures, each copy marked with its own patch. Written on every core."""
    root = CACHE / f"synthetic-{n}"
    if not (root / "done").exists():
        cores = os.cpu_count() or 1
        with ProcessPoolExecutor(cores) as pool:
            list(pool.map(_write_synthetic, [(root, n, part, cores) for part in range(cores)]))
        (root / "done").touch()
    return load_dataset(root)


def _write_synthetic(job: tuple[Path, int, int, int]) -> None:
    root, n, part, parts = job
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:432, 0:768].astype(np.float32)
    phases = rng.uniform(0, 6.28, (min(n, 256), 3))
    for i in range(part, n, parts):
        a, b, c = phases[i % len(phases)]
        pixels = np.stack([np.sin(x / 97 + a), np.cos(y / 61 + b), np.sin((x + y) / 151 + c)], axis=2)
        noise = np.random.default_rng(i % len(phases)).normal(0, 12, pixels.shape)
        pixels = (pixels * 90 + 128 + noise).clip(0, 255).astype(np.uint8)
        pixels[:16, :16] = np.random.default_rng(n + i).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        folder = root / f"D{i % 4}" / f"F{i % 12}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(folder / f"f{i:06d}.jpg", quality=90)


def rate(fn, frames: int, seconds: float = 5.0) -> float:
    """Frames per second of ``fn`` (one call does ``frames``), after a warm-up call."""
    fn()
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        fn()
        done += frames
    return done / (time.perf_counter() - start)


def stat_only_rerun(n: int = 100_000) -> float:
    """Seconds of a rerun over ``n`` cached frames whose files did not change."""
    root = Path(tempfile.mkdtemp(prefix="stat-"))
    frames = root / "frames" / "D" / "F"
    frames.mkdir(parents=True)
    paths, keys = [], []
    for i in range(n):
        path = frames / f"f{i:06d}.jpg"
        data = i.to_bytes(4, "little")
        path.write_bytes(data)
        paths.append(str(path))
        keys.append(file_key(data))
    store = root / "store"
    spec_version = create("style").version
    cache = FeatureStore(store, "style", spec_version, 22)
    cache.add(keys, np.zeros((n, 22), np.float32))
    stats = [os.stat(p) for p in paths]
    pd.DataFrame(
        {
            "path": paths,
            "size": [s.st_size for s in stats],
            "mtime_ns": [s.st_mtime_ns for s in stats],
            "key": keys,
        }
    ).to_csv(store / STAT_INDEX, index=False)
    dataset = Dataset(pd.DataFrame({"path": paths, "director": "D", "film": "F"}), root / "frames")
    start = time.perf_counter()
    features = embed_dataset(dataset, "style", store)
    seconds = time.perf_counter() - start
    assert features.summary.computed == {"style": 0} and len(features.matrix) == n
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default=EmbedConfig.backbone)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--workers", type=int, default=0, help="reader threads (default: one per CPU)")
    parser.add_argument("--precision", default="fp32", help="fp32, bf16 or fp16 (the last two on CUDA)")
    parser.add_argument("--batch-size", type=int, default=0, help="0: 32 on a CPU, 256 on CUDA")
    parser.add_argument(
        "--synthetic", type=int, default=0, help="N synthetic JPEG frames instead of the demo"
    )
    parser.add_argument("--stat-frames", type=int, default=100_000)
    parser.add_argument(
        "--parts", type=int, default=5, help="steady-state runs, each paired with a raw timing"
    )
    args = parser.parse_args()
    if args.synthetic:
        dataset = synthetic_frames(args.synthetic)
    else:
        from _common import demo_frames

        dataset = load_dataset(demo_frames(4, 4, 20.0))
    n = len(dataset)
    fp32 = create(args.backbone, device=args.device)
    batch = args.batch_size or (256 if fp32.device.startswith("cuda") else 32)
    pictures = [Image.open(p).convert("RGB") for p in dataset.frames.path[:batch]]
    ready = [fp32.preprocess(p) for p in pictures]
    print(
        f"{n} frames ({pictures[0].size[0]}x{pictures[0].size[1]} JPEG), backbone {args.backbone} on {fp32.device}, "
        f"batch {batch}, {args.workers or os.cpu_count()} reader threads, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}"
    )
    if not fp32.device.startswith("cuda"):  # why a CPU runs registry.CPU_CHUNK frames per pass
        sweep = []
        for chunk in (1, 2, 4, 8, 16, 32):
            registry.CPU_CHUNK = chunk
            sweep.append(f"{chunk}: {rate(lambda: fp32.embed(ready), batch, 2.0):.0f}")
        registry.CPU_CHUNK = CPU_CHUNK
        print(f"raw forward by frames per pass (frames/s):    {', '.join(sweep)}; used: {CPU_CHUNK}")
    raw, timed = rate(lambda: fp32.embed(ready), batch), fp32  # timed: the network the pipeline runs
    print(f"raw forward, uint8 batches in memory, fp32:   {raw:8.1f} frames/s  (the limit)")
    if args.precision != "fp32":
        fast = create(args.backbone, device=args.device, precision=args.precision)
        raw_fast = rate(lambda: fast.embed(ready), batch)
        difference = np.abs(fast.embed(ready) - fp32.embed(ready)).max() / np.abs(fp32.embed(ready)).max()
        print(
            f"raw forward, {args.precision}:                          {raw_fast:8.1f} frames/s  "
            f"({raw_fast / raw:.1f}x fp32; largest difference {difference:.1e} of the largest feature)"
        )
        raw, timed = raw_fast, fast
    decode = rate(
        lambda: [fp32.preprocess(Image.open(p).convert("RGB")) for p in dataset.frames.path[:64]], 64
    )
    print(f"decode + preprocess, one thread:              {decode:8.1f} frames/s")
    with tempfile.TemporaryDirectory() as store:
        start = time.perf_counter()
        embed_dataset(
            dataset, args.backbone, store, batch, args.device, precision=args.precision, workers=args.workers
        )
        first = time.perf_counter() - start
        start = time.perf_counter()
        embed_dataset(dataset, args.backbone, store, batch, args.device, precision=args.precision)
        cached = time.perf_counter() - start
    print(
        f"embed from JPEG (incl. model load):           {n / first:8.1f} frames/s  = {n / first / raw:.0%} of raw"
    )
    # Steady state, each part of the frames against the raw forward timed just before it: on a
    # shared machine the speed of both drifts by tens of percent within a minute.
    shares = []
    for part in range(args.parts):
        rows = dataset.frames.iloc[part :: args.parts].reset_index(drop=True)
        raw_now = rate(lambda: timed.embed(ready), batch, 2.0)
        ticks: list[tuple[float, int]] = []  # (time, frames done) at the end of each batch
        with tempfile.TemporaryDirectory() as store:
            embed_dataset(
                Dataset(rows, dataset.root),
                args.backbone,
                store,
                batch,
                args.device,
                precision=args.precision,
                workers=args.workers,
                on_progress=lambda _name, done, _total, ticks=ticks: ticks.append(
                    (time.perf_counter(), done)
                ),
            )
        if len(ticks) < 3:
            print(f"  steady, part {part + 1}: not measurable, {len(rows)} frames make under 3 batches")
            continue
        steady = (ticks[-1][1] - ticks[0][1]) / (ticks[-1][0] - ticks[0][0])  # after the first batch
        shares.append(steady / raw_now)
        print(
            f"  steady, part {part + 1} of {args.parts} ({len(rows)} frames):      {steady:8.1f} frames/s  "
            f"= {steady / raw_now:.0%} of the raw {raw_now:.1f} timed just before"
        )
    if shares:
        print(f"  steady share of raw, median of the parts:   {np.median(shares):8.0%}")
    print(f"cached rerun of {n} frames:                  {cached:8.2f} s")
    style = rate(lambda: [describe(p) for p in pictures[:32]], 32, 3.0)
    print(
        f"style descriptors, one thread:                {style:8.1f} frames/s  ({1000 / style:.1f} ms a frame)"
    )
    if args.stat_frames:
        print(
            f"stat-only rerun over {args.stat_frames:,} cached frames:    {stat_only_rerun(args.stat_frames):8.2f} s"
        )


if __name__ == "__main__":
    main()
