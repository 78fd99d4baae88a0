"""Training: the default head against the original recipe, end to end against the original
procedure, and which features carry the signal — same features, same film-grouped folds.

    python benchmarks/train.py
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace

from _common import demo_frames

from whodirected.config import TrainConfig
from whodirected.features.backbones import create
from whodirected.features.dataset import load_dataset
from whodirected.features.embed import embed_dataset
from whodirected.features.images import open_image
from whodirected.models.evaluate import cross_validate, grouped_folds
from whodirected.models.heads import fit
from whodirected.models.labelled import labelled
from whodirected.models.metrics import frame_metrics


def grouped_scores(data, config: TrainConfig, folds) -> tuple[dict, float]:
    start = time.perf_counter()
    cv = cross_validate(data, folds, config)
    seconds = (time.perf_counter() - start) / len(folds)
    return frame_metrics(data.y, cv.proba, data.films, len(data.classes)), seconds


def main() -> None:
    dataset = load_dataset(demo_frames(4, 4, 20.0))
    store = tempfile.mkdtemp()
    print(f"demo library 4 directors x 4 films x 20 s: {len(dataset)} frames")
    start = time.perf_counter()
    features = embed_dataset(dataset, "efficientnet-lite0+style", store)
    embed_seconds = time.perf_counter() - start
    data = labelled(dataset, features)
    folds = grouped_folds(data, 4, seed=0)

    print(
        "\n== heads (efficientnet-lite0+style features, 4 film-grouped folds; real footage: benchmarks/real.py) =="
    )
    results = {}
    for name, config in [
        ("centroid (default)", TrainConfig()),
        ("logistic", TrainConfig(head="logistic")),
        ("sgd-linear, 200 epochs", TrainConfig(head="sgd-linear", epochs=200)),
        ("sgd-linear + hidden 128", TrainConfig(head="sgd-linear", epochs=200, hidden=128)),
        ("mlp", TrainConfig(head="mlp", learning_rate=1e-3)),
    ]:
        metrics, seconds = grouped_scores(data, config, folds)
        results[name] = seconds
        print(
            f"{name:26s} top1 {metrics['top1']:.3f}  balanced {metrics['balanced_accuracy']:.3f}  "
            f"film {metrics['film_accuracy']:.3f}  fit {seconds:6.2f} s/fold"
        )
    print(
        f"fit-time ratio sgd-linear / default: {results['sgd-linear, 200 epochs'] / results['centroid (default)']:.0f}x"
    )

    print("\n== end to end, frames to model ==")
    start = time.perf_counter()
    fit(data, TrainConfig())
    ours = embed_seconds + time.perf_counter() - start
    print(f"whodirected (embed once, cached; fit the head): {ours:7.1f} s")
    extractor = create("efficientnet-lite0")
    start = time.perf_counter()
    epochs = 2
    for _ in range(epochs):  # the original re-ran the frozen network over every frame in every epoch
        for s in range(0, len(dataset), 32):
            batch = [extractor.preprocess(open_image(p)) for p in dataset.frames.path[s : s + 32]]
            extractor.embed(batch)
    per_epoch = (time.perf_counter() - start) / epochs
    print(
        f"original procedure: {per_epoch:.1f} s/epoch measured over {epochs} epochs, "
        f"x 200 epochs = {per_epoch * 200:7.0f} s (extrapolated)"
    )
    print(f"speed-up: {per_epoch * 200 / ours:.0f}x")

    print(
        "\n== which features (default head, same folds; the real-footage answer is in benchmarks/real.py) =="
    )
    network = dict(features.blocks)["efficientnet-lite0"]
    for name, columns, blocks in [
        ("style alone", slice(network, None), [("style", features.matrix.shape[1] - network)]),
        ("network alone", slice(0, network), [("efficientnet-lite0", network)]),
        ("both", slice(None), features.blocks),
    ]:
        part = replace(data, x=data.x[:, columns], features=replace(features, blocks=blocks))
        metrics, _ = grouped_scores(part, TrainConfig(), folds)
        print(
            f"{name:14s} balanced accuracy {metrics['balanced_accuracy']:.3f}  film accuracy {metrics['film_accuracy']:.3f}"
        )
    print(f"chance: {1 / len(data.classes):.3f}")

    print("\n== bundled backbones (+style, default head, same folds) ==")
    for backbone in ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"):
        start = time.perf_counter()
        embedded = embed_dataset(dataset, backbone, tempfile.mkdtemp())  # cold: time the network
        ms = (time.perf_counter() - start) / len(dataset) * 1000
        combined = labelled(dataset, embed_dataset(dataset, f"{backbone}+style", store))
        metrics, _ = grouped_scores(combined, TrainConfig(), folds)
        print(
            f"{backbone}: {ms:6.1f} ms/frame to embed (incl. load); with style: balanced accuracy "
            f"{metrics['balanced_accuracy']:.3f}, film accuracy {metrics['film_accuracy']:.3f}"
        )
        del embedded


if __name__ == "__main__":
    main()
