"""Real footage first: which features, heads and scalings recognise directors in real films, and
whether the "unknown director" thresholds hold up — measured on ../shared/data/real-clips (CC-BY
Blender films), with the generated demo library beside it as a sanity check only.

    python benchmarks/real.py [--only TEXT]   # only the rows whose features contain TEXT
    python benchmarks/real.py --stills DIR    # first, films never seen on real feature-film stills
    python benchmarks/real.py --stills DIR --small-libraries 14   # and 20 random libraries of 14 directors

**Films never seen, first** (``--stills``): the real feature-film stills that
``../shared/data/real-stills/build.sh`` builds outside the repository (6 stills a film, 35 of
136 directors with 2-9 films). One film of each director with two or more is held out in turn
(every film once), the recipe trained on the rest (whodirected.models.checks.unseen_film_check):
frame top-1, top-5 and one verdict per film (its stills' probabilities averaged), against
chance; once among the 35 directors with several films, once with the 101 one-film directors
in training too (as a user's library has them).

The real clips are extracted with the default settings (ExtractConfig(), or another sampling
mode with --extract-mode), the demo library one frame every second. Every row runs the
whole training recipe — scaling, head and its tuning, the calibrated thresholds — on what is
left after holding something out (whodirected.models.evaluate):

- (a) held-out units: one part or contiguous time block of every film (scene-held-out; whole
  films on the demo, where each director has three), predicted by the recipe trained on the
  rest: balanced top-1, the share accepted (not "unknown director"), and accepted and right;
- (b) unseen directors: each director left out of training in turn (with one held-out unit of
  each of the others): the share of their frames refused, and of the others' held-out frames
  accepted.

Real-clips has one film per director, so film-grouped accuracy is not measurable there; the
scene-held-out figures are optimistic (the model has seen other scenes of the same film).
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import CACHE, demo_frames, real_clips

from whodirected.config import ExtractConfig, TrainConfig
from whodirected.extract.library import extract_library
from whodirected.features import faces
from whodirected.features.backbones import REGISTRY, create
from whodirected.features.dataset import load_dataset
from whodirected.features.embed import embed_dataset
from whodirected.features.images import open_image
from whodirected.features.style import trim_bars
from whodirected.features.vectors import block_unit
from whodirected.models.calibrate import unit_folds
from whodirected.models.checks import held_out_check, unseen_director_check, unseen_film_check
from whodirected.models.heads import Scaler
from whodirected.models.labelled import Labelled, labelled

LITE0 = "efficientnet-lite0"
DEFAULT = ("efficientnet-lite2+grade+style", "centroid", "shrunk")
ROWS: list[tuple[str, str, str, str]] = [  # backbone, head, scaling, what the row is
    (
        "efficientnet-lite0+style",
        "logistic",
        "standard",
        "the defaults before real footage (style weighed 1)",
    ),
    ("efficientnet-lite0", "logistic", "standard", ""),
    ("efficientnet-lite0", "logistic", "shrunk", ""),
    ("efficientnet-lite0", "centroid", "standard", ""),
    ("efficientnet-lite0", "centroid", "none", "L2-normalised, not standardised"),
    ("efficientnet-lite0", "centroid", "shrunk", "the default before films never seen"),
    ("efficientnet-lite1", "centroid", "shrunk", ""),
    ("efficientnet-lite2", "centroid", "shrunk", ""),
    ("style", "centroid", "shrunk", "the 22 style descriptors alone"),
    ("efficientnet-lite0+style", "centroid", "shrunk", "style 1/13 of the similarity"),
    ("efficientnet-lite0-stats", "centroid", "shrunk", "intermediate channel means and spreads"),
    ("efficientnet-lite0+efficientnet-lite0-stats", "centroid", "shrunk", ""),
    ("grade", "centroid", "shrunk", "the 54 grading, light and framing descriptors alone"),
    ("efficientnet-lite0+grade", "centroid", "shrunk", ""),
    ("efficientnet-lite2+style", "centroid", "shrunk", ""),
    ("efficientnet-lite2+grade", "centroid", "shrunk", "the default before style: grade a quarter"),
    ("efficientnet-lite2+grade+style", "centroid", "shrunk", "the default: grade 4/17, style 1/17"),
    ("efficientnet-lite2+grade+style", "logistic", "shrunk", ""),
    ("efficientnet-lite2+grade+style+efficientnet-lite0-stats", "centroid", "shrunk", ""),
    ("efficientnet-lite0", "mlp", "shrunk", ""),
    ("faces", "centroid", "shrunk", "faces alone: count, shot scale, position, who"),
    ("efficientnet-lite0+faces", "centroid", "shrunk", "faces as recurring actors"),
    ("efficientnet-lite2+grade+style+faces", "centroid", "shrunk", "faces as recurring actors"),
]


STILLS_ROWS: list[tuple[str, str, str]] = [  # backbone, head, what the row is
    ("efficientnet-lite0", "centroid", "the default before films never seen"),
    ("efficientnet-lite2", "centroid", ""),
    ("style", "centroid", "the 22 style descriptors"),
    ("grade", "centroid", "the 54 grading, light and framing descriptors"),
    ("efficientnet-lite2+style", "centroid", "style 1/13 of the similarity"),
    ("efficientnet-lite0+grade", "centroid", ""),
    ("efficientnet-lite2+grade", "centroid", "the default before style: grade a quarter"),
    ("efficientnet-lite2+grade+style", "centroid", "the default: grade 4/17, style 1/17"),
    (
        "efficientnet-lite2+grade+style+efficientnet-lite0-stats",
        "centroid",
        "with intermediate channel statistics",
    ),
    ("efficientnet-lite2+grade+style", "logistic", ""),
    ("efficientnet-lite2+grade+style+faces", "centroid", "faces as recurring actors"),
]


def films_never_seen(stills: Path, only: str) -> None:
    """The films-never-seen table on the real stills (see the module's docstring)."""
    dataset = load_dataset(stills)
    films = dataset.frames.groupby("director").film.nunique()
    several = dataset.frames[dataset.frames.director.isin(films[films >= 2].index)].reset_index(drop=True)
    sets = (("several films", replace(dataset, frames=several)), ("all", dataset))
    print(
        f"real stills: {len(dataset)} stills of {dataset.frames.film.nunique()} films by {len(films)} directors, "
        f"{int((films >= 2).sum())} of them with 2-{films.max()} films"
    )
    print(
        "| features | head | "
        + " | ".join(f"{name}: top-1 | top-5 | one verdict per film" for name, _ in sets)
        + " | note |"
    )
    print("|---|---|" + "---|---|---|" * len(sets) + "---|")
    store = CACHE / "stills-features"
    for backbone, head, note in STILLS_ROWS:
        if only not in backbone:
            continue
        start = time.perf_counter()
        cells = []
        for _, part in sets:
            features = embed_dataset(part, backbone, store)
            check = unseen_film_check(labelled(part, features), TrainConfig(head=head, chance_permutations=0))
            cells.append(
                f"{check['top1']['value']:.3f} | {check['top5']['value']:.3f} | {check['film_verdict']['value']:.3f}"
            )
        chance = [f"{1 / part.frames.director.nunique():.3f}" for _, part in sets]
        mark = "**" if (backbone, head) == DEFAULT[:2] else ""
        print(
            f"| {mark}{backbone}{mark} | {head} | {' | '.join(cells)} | {note} "
            f"({time.perf_counter() - start:.0f} s; chance {' / '.join(chance)}) |",
            flush=True,
        )
    print()


def films_never_seen_in_small_libraries(stills: Path, directors: int, sets: int = 20) -> None:
    """The default on films never seen in libraries of ``directors`` directors with 2-3 films
    each, drawn ``sets`` times at random from the real stills: how much the figure depends on
    the library rather than on the features."""
    dataset = load_dataset(stills)
    films = dataset.frames.groupby("director").film.nunique()
    pool = sorted(films[(films >= 2) & (films <= 3)].index)
    if len(pool) < directors:
        raise SystemExit(
            f"only {len(pool)} directors of the stills have 2-3 films; ask for at most that many"
        )
    rng = np.random.default_rng(0)
    figures = []
    for _ in range(sets):
        keep = dataset.frames.director.isin(rng.choice(pool, directors, replace=False))
        part = replace(dataset, frames=dataset.frames[keep].reset_index(drop=True))
        features = embed_dataset(part, DEFAULT[0], CACHE / "stills-features")
        check = unseen_film_check(labelled(part, features), TrainConfig(chance_permutations=0))
        figures.append((check["top1"]["value"], check["film_verdict"]["value"]))
    top1, film = np.asarray(figures).T
    print(
        f"{sets} libraries of {directors} directors with 2-3 films ({DEFAULT[0]}, films never seen; chance "
        f"{1 / directors:.3f}): frame top-1 {top1.mean():.3f} (sd {top1.std():.3f}, {top1.min():.3f}-"
        f"{top1.max():.3f}), one verdict per film {film.mean():.3f} (sd {film.std():.3f})\n"
    )


def frames_of(root, out, config: ExtractConfig):
    summary = extract_library(root, out, config, jobs=2)
    if summary.errors:
        raise SystemExit("\n".join(summary.errors))
    return load_dataset(out)


def data_for(dataset, backbone: str) -> Labelled:
    return labelled(dataset, embed_dataset(dataset, backbone, dataset.root / ".whodirected" / "features"))


def views(path: str, extractor) -> np.ndarray:
    """Multi-crop views: square crops tiling the long side of the active picture, averaged."""
    picture = trim_bars(open_image(path))
    w, h = picture.size
    side = min(w, h)
    n = max(1, round(max(w, h) / side))
    offsets = np.linspace(0, max(w, h) - side, n).round().astype(int)
    crops = [picture.crop((o, 0, o + side, side) if w >= h else (0, o, side, o + side)) for o in offsets]
    return extractor.embed([extractor.preprocess(c) for c in crops]).mean(axis=0)


def multi_crop(data: Labelled, dataset) -> Labelled:
    extractor = create(LITE0)
    paths = dataset.frames.path[data.features.ok].tolist()
    x = np.stack([views(p, extractor) for p in paths]).astype(np.float32)
    return replace_x(data, x)


def replace_x(data: Labelled, x: np.ndarray) -> Labelled:
    return Labelled(x, data.y, data.groups, data.classes, data.films, data.features, data.parts, data.times)


def knn_top1(data: Labelled, k: int = 5) -> float:
    """k-nearest-neighbour voting (similarity-weighted) on the held-out units: balanced top-1."""
    right, labels = [], []
    for train_idx, test_idx in unit_folds(data):
        scaler = Scaler.fit(data.x[train_idx], data.features.blocks, "shrunk")
        train_u = block_unit(scaler.transform(data.x[train_idx]), data.features.blocks)
        test_u = block_unit(scaler.transform(data.x[test_idx]), data.features.blocks)
        sims = test_u @ train_u.T
        nearest = np.argsort(-sims, axis=1)[:, :k]
        votes = np.zeros((len(test_idx), len(data.classes)))
        for row, ids in enumerate(nearest):
            np.add.at(votes[row], data.y[train_idx][ids], np.maximum(sims[row, ids], 0) + 1e-6)
        right.append(votes.argmax(axis=1) == data.y[test_idx])
        labels.append(data.y[test_idx])
    right_all, y = np.concatenate(right), np.concatenate(labels)
    return float(np.mean([right_all[y == c].mean() for c in np.unique(y)]))


def figures(data: Labelled, head: str, scaling: str) -> tuple[dict, dict | None, float]:
    config = TrainConfig(head=head, scaling=scaling)
    start = time.perf_counter()
    a, b = held_out_check(data, config), unseen_director_check(data, config)
    return a, b, time.perf_counter() - start


def cells(a: dict | None, b: dict | None) -> str:
    first = (
        f"{a['top1']:.2f} | {a['accepted']:.2f} | {a['accepted_and_right']:.2f}"
        if a
        else " | ".join(["not measurable"] * 3)
    )
    if b is None:
        return f"{first} | not measurable | not measurable"
    known = "not measurable" if b["known_accepted"] is None else f"{b['known_accepted']:.2f}"
    return f"{first} | {b['refused']:.2f} | {known}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="only the rows whose features contain this text")
    parser.add_argument(
        "--stills", type=Path, help="the real stills built by real-stills/build.sh (first table)"
    )
    parser.add_argument("--stills-only", action="store_true", help="only the films-never-seen table")
    parser.add_argument(
        "--small-libraries",
        type=int,
        metavar="N",
        help="with --stills: also the default in 20 random libraries of N directors with 2-3 films",
    )
    parser.add_argument(
        "--extract-mode",
        default=ExtractConfig.mode,
        help="how the real clips' frames are sampled (extract's modes)",
    )
    args = parser.parse_args()
    if args.stills is not None:
        films_never_seen(args.stills, args.only)
        if args.small_libraries:
            films_never_seen_in_small_libraries(args.stills, args.small_libraries)
    else:
        print(
            "(films never seen: pass --stills DIR, the real stills built by ../shared/data/real-stills/build.sh)"
        )
    if args.stills_only:
        return
    warnings.filterwarnings("ignore", category=UserWarning)  # scikit-learn's MLP convergence notes
    clips = real_clips()
    if clips is None:
        return
    config = ExtractConfig(mode=args.extract_mode)
    real = frames_of(clips, CACHE / f"real-frames-{config.mode}", config)
    demo = load_dataset(demo_frames(4, 3, 12.0, every=config.every))
    how = (
        f"keyframes at least {config.min_gap:g} s apart, frames added over {config.max_gap:g} s gaps"
        if config.mode == "keyframes"
        else f"every {config.every:g} s"
    )
    for name, dataset, mode in (
        ("real-clips", real, how),
        ("demo 4x3x12 s", demo, f"every {config.every:g} s"),
    ):
        per = dataset.frames.groupby("director").size()
        print(
            f"{name}: {len(dataset)} frames ({mode}, at least {config.min_frames} per file, duplicates "
            f"within {config.duplicate_distance} bits dropped): "
            + ", ".join(f"{d} {n}" for d, n in per.items())
        )
    print(
        "\n(a) held-out units: balanced top-1 | accepted | accepted and right;  "
        "(b) unseen directors: refused | others' held-out frames accepted"
    )
    print(
        "| features | head | scaling | real (a) top-1 | (a) accepted | (a) accepted & right | (b) refused "
        "| (b) known accepted | demo (a) top-1 | demo (b) refused | note |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    if create_faces_rows := REGISTRY["faces"].available():
        for name, dataset in (("real-clips", real), ("demo 4x3x12 s", demo)):
            block = embed_dataset(dataset, "faces", dataset.root / ".whodirected" / "features").matrix
            shares = ", ".join(
                f"{s} {v:.0%}" for s, v in zip(faces.SCALES, faces.scale_shares(block), strict=True)
            )
            per = dataset.frames[block[:, 0] > 0].groupby("director").size().to_dict()
            print(f"{name}: frames with a face by director {per or 'none'}; shot scales {shares}")
    else:
        print(f"(faces rows skipped: the faces block is not installed; {faces.INSTALL})")
    for backbone, head, scaling, note in ROWS:
        if args.only not in backbone or ("faces" in backbone and not create_faces_rows):
            continue
        real_data, demo_data = data_for(real, backbone), data_for(demo, backbone)
        a, b, seconds = figures(real_data, head, scaling)
        demo_a, demo_b, _ = figures(demo_data, head, scaling)
        demo_cells = (
            f"{demo_a['top1']:.2f} | {demo_b['refused']:.2f}" if demo_a and demo_b else "not measurable"
        )
        mark = "**" if (backbone, head, scaling) == DEFAULT else ""
        print(
            f"| {mark}{backbone}{mark} | {head} | {scaling} | {cells(a, b)} | {demo_cells} | {note} "
            f"({seconds:.0f} s) |",
            flush=True,
        )
    if args.only:
        return
    # methods outside the training recipe: a top-1 figure only
    real_lite0, demo_lite0 = data_for(real, LITE0), data_for(demo, LITE0)
    print(
        f"| {LITE0} | 5-NN vote | shrunk | {knn_top1(real_lite0):.2f} | no open-set rule | | | "
        f"| {knn_top1(demo_lite0):.2f} | | nearest-frame voting |"
    )
    crops_real, crops_demo = multi_crop(real_lite0, real), multi_crop(demo_lite0, demo)
    a, b, seconds = figures(crops_real, "centroid", "shrunk")
    demo_a, demo_b, _ = figures(crops_demo, "centroid", "shrunk")
    print(
        f"| {LITE0}, multi-crop views | centroid | shrunk | {cells(a, b)} | {demo_a['top1']:.2f} | "
        f"{demo_b['refused']:.2f} | square crops tiling each frame, averaged ({seconds:.0f} s) |"
    )


if __name__ == "__main__":
    main()
