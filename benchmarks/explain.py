"""Show why, measured: is the heat where the evidence is, and what does it cost?

    python benchmarks/explain.py [--pairs N]

A model (the default recipe) is trained on every other frame of the real clips
(../shared/data/real-clips, four Blender films) and the public-domain films
(../shared/data/pd-clips, pd-stills); composites are made of two of the other frames, the
left half from one director's film and the right half from another's. Explaining each
director of a composite should put most of that director's heat on its own half: the script
prints the mean share on the right half over all composites, both directors explained, and
the time an explanation takes (whodirected.models.explain).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from _common import CACHE, real_clips
from PIL import Image

from whodirected.config import EmbedConfig, ExtractConfig, TrainConfig
from whodirected.extract.library import extract_library
from whodirected.features.dataset import Dataset, load_dataset
from whodirected.models.explain import ROWS, explain
from whodirected.models.train import train

SHARED = Path(__file__).resolve().parent.parent / ".." / "shared" / "data"
HALF = (192, 216)  # each half of a composite: a 384 x 216 (16:9) picture


def frames(root: Path, out: Path):
    summary = extract_library(root, out, ExtractConfig(), jobs=2)
    print(
        f"{root.name}: {summary.frames} frames"
        + (f", {len(summary.errors)} files failed" if summary.errors else "")
    )
    return load_dataset(out).frames


def half(path: str) -> Image.Image:
    picture = Image.open(path).convert("RGB")
    scale = max(HALF[0] / picture.width, HALF[1] / picture.height)
    picture = picture.resize((round(picture.width * scale) + 1, round(picture.height * scale) + 1))
    left, top = (picture.width - HALF[0]) // 2, (picture.height - HALF[1]) // 2
    return picture.crop((left, top, left + HALF[0], top + HALF[1]))


def side_share(grid: list[list[float]], right: bool) -> float:
    """The share of the heat on the right (or left) half, cells split where the halves meet."""
    heat = np.asarray(grid)
    columns = heat.shape[1]
    edges = np.linspace(0, 1, columns + 1)
    on_right = np.clip((edges[1:] - 0.5) / (edges[1:] - edges[:-1]), 0, 1)
    share = (heat * on_right[None, :]).sum()
    return float(share if right else heat.sum() - share)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4, help="composites per pair of directors")
    parser.add_argument("--rows", type=int, default=ROWS, help=f"grid rows (default {ROWS})")
    args = parser.parse_args()
    clips = real_clips()
    if clips is None:
        return
    tables = [frames(clips, CACHE / "real-frames")]
    for name in ("pd-clips",):
        if (SHARED / name).is_dir():
            tables.append(frames(SHARED / name, CACHE / f"{name}-frames"))
    if (SHARED / "pd-stills").is_dir():
        tables.append(load_dataset(SHARED / "pd-stills").frames)
    import pandas as pd

    every = pd.concat(tables, ignore_index=True)
    every = every[~every.director.str.contains(";")].reset_index(drop=True)  # co-directed: left out
    every["source"] = every["source"].fillna(every["path"])  # stills are their own source
    held = (every.groupby(["director", "film"]).cumcount() % 2 == 1).to_numpy()
    training = Dataset(every[~held].reset_index(drop=True), CACHE / "explain")
    model, _ = train(training, EmbedConfig(), TrainConfig(), CACHE / "explain-features")
    print(f"model: {len(model.classes)} directors ({', '.join(model.classes)}), {len(training)} frames")
    rest = every[held]
    by_director = {d: rest[rest.director == d].path.tolist() for d in model.classes}
    rng = np.random.default_rng(0)
    shares, seconds = [], []
    for a, b in itertools.permutations(model.classes, 2):
        for _ in range(args.pairs):
            left, right = half(rng.choice(by_director[a])), half(rng.choice(by_director[b]))
            composite = Image.new("RGB", (2 * HALF[0], HALF[1]))
            composite.paste(left, (0, 0))
            composite.paste(right, (HALF[0], 0))
            for director, on_right in ((a, False), (b, True)):
                found = explain(model, composite, director, args.rows)
                if sum(map(sum, found.grid)) > 0:
                    shares.append(side_share(found.grid, on_right))
                seconds.append(found.seconds)
    start = time.perf_counter()
    explain(model, composite, rows=args.rows)
    print(
        f"{len(shares)} explanations of {len(seconds) // 2} composites ({len(model.classes)} directors, "
        f"{args.pairs} a pair): the explained director's own half holds {np.mean(shares):.0%} of the heat "
        f"on average (median {np.median(shares):.0%}; {np.mean(np.asarray(shares) > 0.5):.0%} over half)"
    )
    print(
        f"time per explanation ({model.backbone}, {len(found.grid)}x{len(found.grid[0])} cells, this machine): "
        f"median {np.median(seconds):.2f} s, last {time.perf_counter() - start:.2f} s"
    )


if __name__ == "__main__":
    main()
