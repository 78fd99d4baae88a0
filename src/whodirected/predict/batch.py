"""Predicting many inputs: every frame through the model a batch at a time, frames of a clip or
folder combined into one verdict, and a bad file costing one error line, never the batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from whodirected.config import PredictConfig
from whodirected.errors import ImageError, VideoError
from whodirected.models.index import FilmMatch
from whodirected.models.model import Model
from whodirected.models.prediction import Evidence, Prediction, Ranked, predict_images
from whodirected.models.readout import read_out
from whodirected.predict.inputs import Item, batches, collect
from whodirected.predict.output import PredictionReport

AGGREGATES = ("mean", "log", "none")


def aggregate(model: Model, frames: list[Prediction], how: str, source: str) -> Prediction:
    """One verdict for several frames: the mean of their probabilities (``mean``) or of their
    log-probabilities (``log``, a product of experts that punishes any frame's doubt). Frames
    that could not be judged are left out; the film is that of the best evidence frame."""
    if how not in ("mean", "log"):
        raise ValueError(f"unknown aggregate {how!r}; choose from {', '.join(AGGREGATES)}")
    judged = [f for f in frames if f.refusal is None]
    result = Prediction(
        source,
        [],
        frames[0].min_confidence,
        min_familiarity=frames[0].min_familiarity,
        films_never_seen=frames[0].films_never_seen,
    )
    result.frames, result.aggregate = frames, how
    if not judged:
        result.refusal, result.reason = frames[0].refusal, f"none of its {len(frames)} frames could be judged"
        return result
    names = model.classes
    column = {name: i for i, name in enumerate(names)}
    proba = np.zeros((len(judged), len(names)))
    for row, frame in enumerate(judged):
        for ranked in frame.ranking:
            proba[row, column[ranked.director]] = ranked.probability
    if how == "mean":
        combined = proba.mean(axis=0)
    else:
        logs = np.log(np.clip(proba, 1e-12, 1.0)).mean(axis=0)
        combined = np.exp(logs - logs.max())
        combined /= combined.sum()
    order = np.argsort(-combined, kind="stable")
    result.ranking = [Ranked(names[i], float(combined[i])) for i in order]
    result.familiarity = float(np.mean([f.familiarity for f in judged]))
    best: dict[int, Evidence] = {}
    for evidence in (e for f in judged for e in f.evidence):
        if evidence.id not in best or evidence.similarity > best[evidence.id].similarity:
            best[evidence.id] = evidence
    result.evidence = sorted(best.values(), key=lambda e: -e.similarity)[: len(judged[0].evidence)]
    with_film = [f for f in judged if f.film is not None and f.evidence]
    if with_film:
        nearest = max(with_film, key=lambda f: f.evidence[0].similarity)
        film = nearest.film
        assert film is not None
        result.film = FilmMatch(
            film.film, film.director, film.similarity, film.known and not result.unfamiliar
        )
    if model.profiles is not None and all(f.style for f in judged):
        values = np.mean([list(f.style.descriptors.values()) for f in judged], axis=0)  # type: ignore[union-attr]
        result.style = read_out(
            values, model.profiles, names.index(result.ranking[0].director), result.ranking[0].director
        )
    return result


def predict_items(
    model: Model,
    items: list[Item],
    config: PredictConfig,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[Prediction], list[str]]:
    """Predict every item; a bad file costs one error line, never the rest of the batch.

    Frames go through the model ``config.batch_size`` at a time, so a folder of any size
    never sits in memory whole; ``on_progress(frames_done)`` follows them.
    """
    results: list[Prediction] = []
    errors: list[str] = []
    done = 0
    options = {
        "evidence": config.evidence,
        "min_confidence": config.min_confidence,
        "trim_borders": False,
        "explain_for": config.explain,
    }
    for item in items:
        predictions: list[Prediction] = []
        try:
            for pictures, sources in batches(item, config, errors):
                predictions += predict_images(model, pictures, sources=sources, **options)
                done += len(pictures)
                if on_progress:
                    on_progress(done)
        except (ImageError, VideoError) as exc:
            errors.append(str(exc))
            continue
        how = config.aggregate or ("mean" if item.kind == "clip" else "none")
        if how != "none" and len(predictions) > 1:
            results.append(aggregate(model, predictions, how, str(item.path)))
        else:
            results += predictions
    return results, errors


def predict_paths(
    model: Model, paths: list[Path], config: PredictConfig, on_progress: Callable[[int], None] | None = None
) -> PredictionReport:
    """Everything the command line asks: images, folders and clips, with every error as a line."""
    items, errors = collect(paths)
    results, failed = predict_items(model, items, config, on_progress)
    return PredictionReport.of(model, results, errors + failed)
