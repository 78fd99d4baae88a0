"""Prediction speed and open-set behaviour, in one run:

- a bare backbone forward on one ready image (the limit);
- one warm ``Model.predict`` from a JPEG file;
- a folder of 100 frames (throughput);
- the cold start of the ``whodirected predict`` command;
- how often frames of directors the model never saw get "unknown director".

    python benchmarks/predict.py
"""

from __future__ import annotations

import csv
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import CACHE, UNSEEN, demo_model, median_seconds
from PIL import Image

from whodirected.models.model import Model
from whodirected.models.prediction import UNKNOWN


def main() -> None:
    start = time.perf_counter()
    model_dir, dataset, known = demo_model()
    print(f"model: {int(known.sum())} frames of 4 directors, ready in {time.perf_counter() - start:.1f} s")
    model = Model.load(model_dir)
    (extractor, *_), path = model.extractors(), dataset.frames.path.iloc[0]
    ready = [extractor.preprocess(Image.open(path).convert("RGB"))]
    bare = median_seconds(lambda: extractor.embed(ready), 20)
    warm = median_seconds(lambda: model.predict(path), 20)
    print(f"bare {extractor.name} forward, one ready image: {bare * 1000:7.1f} ms  (the limit)")
    print(
        f"warm Model.predict from a JPEG:          {warm * 1000:7.1f} ms  = {warm / bare:.2f}x the bare forward (goal <= 1.5x)"
    )

    folder = Path(tempfile.mkdtemp(prefix="predict-bench-"))
    for i, p in enumerate(dataset.frames.path.iloc[:100]):
        (folder / f"{i:03d}.jpg").write_bytes(Path(p).read_bytes())
    from whodirected.config import PredictConfig
    from whodirected.predict.batch import predict_items
    from whodirected.predict.inputs import Item

    start = time.perf_counter()
    results, _ = predict_items(model, [Item(folder, "folder")], PredictConfig())
    seconds = time.perf_counter() - start
    print(
        f"folder of {len(results)} frames:               {len(results) / seconds:7.1f} frames/s ({seconds:.2f} s)"
    )

    command = [
        sys.executable,
        "-m",
        "whodirected",
        "predict",
        str(path),
        "--model",
        str(model_dir),
        "--json",
    ]
    colds = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        colds.append(time.perf_counter() - start)
    print(f"cold `whodirected predict` (one image):  {statistics.median(colds):7.2f} s  (goal < 3 s)")

    rows = dataset.frames[~known]
    predictions = model.predict_many(rows.path.tolist())
    unknown = np.array([p.verdict == UNKNOWN for p in predictions])
    print(f"frames of {len(UNSEEN)} unseen directors called unknown: {unknown.mean():.0%} of {len(rows)}")
    for director in UNSEEN:
        mine = (rows.director == director).to_numpy()
        print(f"  {director}: {unknown[mine].mean():.0%} of {mine.sum()}")
    open_set = model.open_set.to_dict()
    print(
        f"calibrated at training: {open_set['unknown_refused']:.0%} of held-out directors' frames refused, "
        f"{open_set['known_right_accepted']:.0%} of held-out films' frames accepted and right"
    )
    with (CACHE / "predict-results.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["director", "verdict", "confidence", "familiarity"])
        for (_, row), p in zip(rows.iterrows(), predictions, strict=True):
            writer.writerow([row.director, p.verdict, f"{p.confidence:.3f}", f"{p.familiarity:.3f}"])


if __name__ == "__main__":
    main()
