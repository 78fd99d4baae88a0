"""Embedding speed: raw backbone forward on ready tensors (the limit), `embed` from JPEG files,
and a cached rerun; plus the style descriptors' time per frame.

    python benchmarks/embed.py [--backbone efficientnet-lite0]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from _common import demo_frames
from PIL import Image

from whodirected.features.backbones import create
from whodirected.features.dataset import load_dataset
from whodirected.features.embed import embed_dataset
from whodirected.features.style import describe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    dataset = load_dataset(demo_frames(4, 4, 20.0))
    n = len(dataset)
    extractor = create(args.backbone)
    ready = [
        extractor.preprocess(Image.open(p).convert("RGB")) for p in dataset.frames.path[: args.batch_size]
    ]
    extractor.embed(ready)  # warm-up
    start, done = time.perf_counter(), 0
    while time.perf_counter() - start < 10:
        extractor.embed(ready)
        done += len(ready)
    raw = done / (time.perf_counter() - start)
    print(f"{n} demo frames, backbone {args.backbone}, batch {args.batch_size}")
    print(f"raw forward on ready tensors:  {raw:7.1f} frames/s  (the limit)")
    with tempfile.TemporaryDirectory() as store:
        start = time.perf_counter()
        embed_dataset(dataset, args.backbone, store, batch_size=args.batch_size)
        first = time.perf_counter() - start
        start = time.perf_counter()
        embed_dataset(dataset, args.backbone, store, batch_size=args.batch_size)
        cached = time.perf_counter() - start
    print(f"embed from JPEG (incl. model load): {n / first:7.1f} frames/s  = {n / first / raw:.0%} of raw")
    print(
        f"cached rerun:                  {cached:7.3f} s  = {first / cached:.0f}x faster than the first run"
    )
    images = [Image.open(p).convert("RGB") for p in dataset.frames.path[:100]]
    start = time.perf_counter()
    for image in images:
        describe(image)
    print(
        f"style descriptors:             {(time.perf_counter() - start) / len(images) * 1000:7.2f} ms/frame"
    )
    print(f"(frame size {images[0].size}, {np.mean([i.width for i in images]):.0f} px wide)")


if __name__ == "__main__":
    main()
