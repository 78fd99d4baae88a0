"""Honest evaluation: cross-validation with folds grouped by film, beside the random frame
split that flatters (the leakage gap), with film-level votes, calibration and curves.

A small library often has one film per director. Then film-grouped director accuracy is
**not measurable** — holding out a director's only film leaves nothing of that director to
learn — and the report says so in those words. It holds out scenes instead (parts or time
blocks of each film, :mod:`whodirected.models.labelled`), labelled as optimistic, and shows a
leakage gap only when both of its numbers are measurable.

Beside the accuracy, the open-set checks of :mod:`whodirected.models.checks` run.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from whodirected.config import EmbedConfig, TrainConfig
from whodirected.errors import TrainError
from whodirected.features.dataset import Dataset
from whodirected.features.embed import embed
from whodirected.models.calibrate import unit_folds
from whodirected.models.checks import (
    films_never_seen_not_measurable,
    films_never_seen_rotations,
    held_out_check,
    relabel,
    tested,
    unseen_director_check,
    unseen_film_check,
)
from whodirected.models.heads import HeadConfig, fit, head_config
from whodirected.models.labelled import Labelled, labelled, named
from whodirected.models.metrics import calibration, frame_metrics, per_director

FILM_GROUPED = "film-grouped"


@dataclass
class CrossVal:
    """Out-of-fold probabilities for every frame, and each frame's fold."""

    proba: np.ndarray
    fold: np.ndarray


EXAMPLES = 3  # example frames shown for each confused pair of directors
CONFUSED_PAIRS = 5  # the most confused pairs of directors shown


def most_folds(data: Labelled) -> int:
    """The most film-grouped folds ``data`` allows: no more than its films, nor than the frames of
    its smallest director (each fold must be able to hold some of every director)."""
    return int(min(len(np.unique(data.groups)), np.bincount(data.y).min()))


def check_folds(data: Labelled, config: TrainConfig) -> int:
    """The folds to run: ``config.folds``, or fewer when the library allows fewer and the number is
    the default one. Asking for more than the library allows is an error that says how many it does."""
    film_grouped = not_measurable(data) is None
    allowed = max(most_folds(data), 2) if film_grouped else max(films_never_seen_rotations(data), 2)
    if config.folds > allowed and config.folds != TrainConfig.folds:
        what = (
            f"{len(np.unique(data.groups))} films, and {int(np.bincount(data.y).min())} frames for its smallest director"
            if film_grouped
            else "no more rotations than the most films any director has"
        )
        raise TrainError(f"folds: {config.folds} asked, but this library allows at most {allowed} ({what})")
    return min(config.folds, allowed)


def grouped_folds(data: Labelled, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds grouped by film: a film is never in both train and test."""
    from sklearn.model_selection import StratifiedGroupKFold

    n = min(n_folds, most_folds(data))
    if n < 2:
        raise TrainError("film-grouped evaluation needs at least two films and two frames of every director")
    splitter = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed)
    return list(splitter.split(data.x, data.y, data.groups))


def random_folds(data: Labelled, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The original project's method: frames shuffled, films ignored."""
    from sklearn.model_selection import StratifiedKFold

    n = max(2, min(n_folds, int(np.bincount(data.y).min())))
    return list(StratifiedKFold(n_splits=n, shuffle=True, random_state=seed).split(data.x, data.y))


def cross_validate(data: Labelled, folds, config: TrainConfig, head=None) -> CrossVal:
    """Out-of-fold probabilities; ``head`` fixes the head's tuned settings (else tuned per fold)."""
    proba = np.zeros((len(data.y), len(data.classes)), np.float32)
    fold_of = np.full(len(data.y), -1)
    for k, (train_idx, test_idx) in enumerate(folds):
        if len(np.unique(data.y[train_idx])) < 2:
            continue
        scaler, head_k = fit(data, config, train_idx, head)
        proba[test_idx] = head_k.predict_proba(scaler.transform(data.x[test_idx]))
        fold_of[test_idx] = k
    return CrossVal(proba, fold_of)


def held_out_chance(
    data: Labelled, folds, config: TrainConfig, head: HeadConfig, observed: dict[str, float]
) -> dict:
    """The held-out figures against a permutation test: the same folds, with directors shuffled
    between held-out units (films where there are several, else parts or time blocks) and the
    head's settings fixed to ``head`` (those tuned on the real library)."""
    rng = np.random.default_rng(config.seed)
    null = []
    for _ in range(config.chance_permutations):
        shuffled = relabel(data, data.units, rng)
        cv = cross_validate(shuffled, folds, config, head)
        scored = cv.fold >= 0
        metrics = frame_metrics(
            shuffled.y[scored], cv.proba[scored], shuffled.films[scored], len(data.classes)
        )
        null.append({name: metrics[name] for name in observed})
    return tested(observed, null)


def held_out_films(data: Labelled, cv: CrossVal, paths: list[str]) -> list[dict]:
    """Each film's held-out verdict (the mean of its out-of-fold probabilities) with one of its
    frames, director by director."""
    out = []
    for film in np.unique(data.films):
        rows = np.flatnonzero((data.films == film) & (cv.fold >= 0))
        if not len(rows):
            continue
        verdict = int(cv.proba[rows].mean(axis=0).argmax())
        truth = int(data.y[rows[0]])
        out.append(
            {
                "director": data.classes[truth],
                "film": str(film).split("/", 1)[-1],
                "predicted": data.classes[verdict],
                "right": verdict == truth,
                "frames": int(len(rows)),
                "frame": paths[rows[len(rows) // 2]],
            }
        )
    return sorted(out, key=lambda f: (f["director"], f["film"]))


def confused_pairs(data: Labelled, cv: CrossVal, paths: list[str]) -> list[dict]:
    """The pairs of directors most often mistaken one for the other on held-out frames, each
    with example frames of the true director that were given to the other."""
    scored = np.flatnonzero(cv.fold >= 0)
    pred = cv.proba[scored].argmax(axis=1)
    wrong = scored[pred != data.y[scored]]
    if not len(wrong):
        return []
    pairs: dict[tuple[int, int], list[int]] = {}
    for i in wrong:
        pairs.setdefault((int(data.y[i]), int(cv.proba[i].argmax())), []).append(int(i))
    ranked = sorted(pairs.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:CONFUSED_PAIRS]
    return [
        {
            "director": data.classes[a],
            "taken_for": data.classes[b],
            "frames": len(rows),
            "share": len(rows) / int((data.y[scored] == a).sum()),
            "examples": [paths[i] for i in rows[:: max(1, len(rows) // EXAMPLES)][:EXAMPLES]],
        }
        for (a, b), rows in ranked
    ]


def summarise(data: Labelled, cv: CrossVal) -> dict[str, dict[str, float]]:
    """Each metric's mean and standard deviation across folds."""
    per_fold = []
    for k in np.unique(cv.fold[cv.fold >= 0]):
        m = cv.fold == k
        per_fold.append(frame_metrics(data.y[m], cv.proba[m], data.films[m], len(data.classes)))
    return {
        name: {
            "mean": float(np.mean([f[name] for f in per_fold])),
            "std": float(np.std([f[name] for f in per_fold])),
        }
        for name in per_fold[0]
    }


def learning_curve(data: Labelled, folds, config: TrainConfig, steps=(1, 2, 5, 10, 20)) -> list[dict]:
    """Film-grouped balanced accuracy when training keeps only ``k`` frames per film."""
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(config.seed)
    most = int(np.bincount(data.groups).max())
    points = []
    for k in [s for s in steps if s < most] + [most]:
        scores = []
        for train_idx, test_idx in folds:
            keep = np.concatenate(
                [
                    rng.permutation(train_idx[data.groups[train_idx] == g])[:k]
                    for g in np.unique(data.groups[train_idx])
                ]
            )
            if len(np.unique(data.y[keep])) < 2:
                continue
            scaler, head = fit(data, config, keep)
            pred = head.predict_proba(scaler.transform(data.x[test_idx])).argmax(axis=1)
            scores.append(balanced_accuracy_score(data.y[test_idx], pred))
        if scores:
            points.append({"frames_per_film": k, "balanced_accuracy": float(np.mean(scores))})
    return points


def evaluate(
    data: Labelled, config: TrainConfig, with_curve: bool = True, paths: list[str] | None = None
) -> dict:
    """The whole report as a JSON-ready dict; ``paths`` (each frame's image) adds the held-out
    films and the most confused directors with example frames."""
    with warnings.catch_warnings():  # folds without every director make scikit-learn chatty
        warnings.simplefilter("ignore", UserWarning)
        return _evaluate(data, config, with_curve, paths)


def not_measurable(data: Labelled) -> str | None:
    """Why film-grouped director accuracy cannot be measured on ``data``, or ``None``."""
    single = [name for name, films in data.films_per_director.items() if films < 2]
    if not single:
        return None
    return (
        f"film-grouped director accuracy is not measurable: {named(single)} "
        f"{'has' if len(single) == 1 else 'have'} only one film, and a director whose only film is held "
        "out cannot be learnt; the figures below hold out scenes instead (parts or time blocks of a film) "
        "and are optimistic"
    )


def _evaluate(data: Labelled, config: TrainConfig, with_curve: bool, paths: list[str] | None) -> dict:
    from sklearn.metrics import confusion_matrix

    reason = not_measurable(data)
    n_folds = check_folds(data, config)
    if reason is None:
        folds = grouped_folds(data, n_folds, config.seed)
        for train_idx, test_idx in folds:  # the promise, checked on every run
            assert not set(data.groups[train_idx]) & set(data.groups[test_idx])
    else:
        folds = unit_folds(data)
        if not folds:
            raise TrainError(
                "nothing can be held out: every director has a single film of a single frame or two"
            )
    held_out = cross_validate(data, folds, config)
    # the original method ignores films everywhere, its inner model selection included
    each = np.arange(len(data.y))
    frames_as_films = replace(data, groups=each, films=each.astype(str), parts=None)
    shuffled = cross_validate(frames_as_films, random_folds(data, config.folds, config.seed), config)
    counts = np.bincount(data.y, minlength=len(data.classes))
    scored = held_out.fold >= 0
    pred = held_out.proba.argmax(axis=1)
    held_summary, random_summary = summarise(data, held_out), summarise(data, shuffled)
    curve = learning_curve(data, folds, config) if with_curve and reason is None else []
    overall = frame_metrics(data.y[scored], held_out.proba[scored], data.films[scored], len(data.classes))
    head = head_config(config, getattr(fit(data, config)[1], "history", None))  # tuned once, fixed below
    never_seen = unseen_film_check(data, config, min(n_folds, films_never_seen_rotations(data)) or None, head)
    return {
        "classes": data.classes,
        "frames": int(len(data.y)),
        "films": int(len(np.unique(data.groups))),
        "folds": len(folds),
        "head": config.head,
        "protocol": FILM_GROUPED if reason is None else data.protocol,
        "warnings": [reason] if reason else [],
        "film_grouped": held_summary if reason is None else None,
        "scene_held_out": held_summary if reason is not None else None,
        "random_split": random_summary,
        "leakage_gap": {
            name: random_summary[name]["mean"] - held_summary[name]["mean"] for name in held_summary
        }
        if reason is None
        else None,
        "chance": {"majority": float(counts.max() / counts.sum()), "uniform": 1.0 / len(data.classes)},
        "chance_test": held_out_chance(
            data, folds, config, head, {"top1": overall["top1"], "film_accuracy": overall["film_accuracy"]}
        ),
        "films_never_seen": never_seen,
        "films_never_seen_note": films_never_seen_not_measurable(data),
        "held_out_films": held_out_films(data, held_out, paths) if paths else [],
        "confused_pairs": confused_pairs(data, held_out, paths) if paths else [],
        "per_director": per_director(data.y[scored], data.groups[scored], data.classes, pred[scored]),
        "confusion": confusion_matrix(
            data.y[scored], pred[scored], labels=np.arange(len(data.classes))
        ).tolist(),
        "calibration": calibration(data.y[scored], held_out.proba[scored]),
        "learning_curve": curve if len(curve) >= 2 else [],
        "open_set": {
            "held_out": held_out_check(data, config),
            "unseen_directors": unseen_director_check(data, config),
        },
    }


def evaluate_model(model, data: Labelled) -> dict:
    """A trained model scored on a separate library (no refitting), in the report's shape."""
    from sklearn.metrics import confusion_matrix

    known = [c for c in data.classes if c in model.classes]
    if not known:
        raise TrainError("the model knows none of this library's directors")
    columns = [model.classes.index(c) for c in data.classes if c in model.classes]
    keep = np.isin(np.asarray(data.classes)[data.y], known)
    proba = model.predict_proba(data.x[keep])
    y = np.array([known.index(data.classes[v]) for v in data.y[keep]])
    sub = proba[:, columns]
    single = {
        k: {"mean": v, "std": 0.0} for k, v in frame_metrics(y, sub, data.films[keep], len(known)).items()
    }
    counts = np.bincount(y, minlength=len(known))
    return {
        "classes": known,
        "frames": int(keep.sum()),
        "films": int(len(np.unique(data.groups[keep]))),
        "unknown_director_frames": int((~keep).sum()),
        "folds": 1,
        "head": model.meta.get("config", {}).get("train", {}).get("head", "?"),
        "protocol": "a trained model on a separate library",
        "warnings": [],
        "film_grouped": single,
        "scene_held_out": None,
        "random_split": None,
        "leakage_gap": None,
        "chance": {"majority": float(counts.max() / counts.sum()), "uniform": 1.0 / len(model.classes)},
        "per_director": per_director(y, data.groups[keep], known, sub.argmax(1)),
        "confusion": confusion_matrix(y, sub.argmax(1), labels=np.arange(len(known))).tolist(),
        "calibration": calibration(y, sub),
        "learning_curve": [],
        "open_set": None,
    }


def evaluate_dataset(
    dataset: Dataset,
    embed_config: EmbedConfig,
    config: TrainConfig,
    store: str | Path | None = None,
    model=None,
    on_progress=None,
) -> dict:
    """Embed what is missing and evaluate: cross-validation on ``dataset``, or, given a trained
    ``model``, that model scored on it without refitting. The report as a JSON-ready dict."""
    backbone = model.backbone if model is not None else embed_config.backbone
    features = embed(dataset, embed_config, store, on_progress, backbone)
    data = labelled(dataset, features)
    paths = dataset.frames.path[features.ok].astype(str).tolist()
    report = evaluate_model(model, data) if model is not None else evaluate(data, config, paths=paths)
    report["backbone"] = backbone
    return report
