"""Honest evaluation: cross-validation with folds grouped by film, beside the random frame
split that flatters (the leakage gap), with film-level votes, calibration and curves."""

from __future__ import annotations

import html
import json
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import atomic
from .config import TrainConfig
from .train import Labelled, fit

N_BINS = 10  # reliability diagram bins


@dataclass
class CrossVal:
    """Out-of-fold probabilities for every frame, and each frame's fold."""

    proba: np.ndarray
    fold: np.ndarray


def grouped_folds(data: Labelled, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds grouped by film: a film is never in both train and test."""
    from sklearn.model_selection import StratifiedGroupKFold

    n = min(n_folds, len(np.unique(data.groups)))
    if n < 2:
        raise ValueError("film-grouped evaluation needs at least two films")
    splitter = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed)
    return list(splitter.split(data.x, data.y, data.groups))


def random_folds(data: Labelled, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The original project's method: frames shuffled, films ignored."""
    from sklearn.model_selection import StratifiedKFold

    n = max(2, min(n_folds, int(np.bincount(data.y).min())))
    return list(StratifiedKFold(n_splits=n, shuffle=True, random_state=seed).split(data.x, data.y))


def cross_validate(data: Labelled, folds, config: TrainConfig) -> CrossVal:
    proba = np.zeros((len(data.y), len(data.classes)), np.float32)
    fold_of = np.full(len(data.y), -1)
    for k, (train_idx, test_idx) in enumerate(folds):
        if len(np.unique(data.y[train_idx])) < 2:
            continue
        scaler, head = fit(data, config, train_idx)
        proba[test_idx] = head.predict_proba(scaler.transform(data.x[test_idx]))
        fold_of[test_idx] = k
    return CrossVal(proba, fold_of)


def _film_accuracy(y: np.ndarray, proba: np.ndarray, films: np.ndarray) -> float:
    """Accuracy of one verdict per film: the mean of its frames' probabilities."""
    right = []
    for film in np.unique(films):
        mask = films == film
        right.append(proba[mask].mean(axis=0).argmax() == y[mask][0])
    return float(np.mean(right))


def frame_metrics(y: np.ndarray, proba: np.ndarray, films: np.ndarray, n_classes: int) -> dict[str, float]:
    from sklearn.metrics import balanced_accuracy_score, f1_score, top_k_accuracy_score

    pred = proba.argmax(axis=1)
    k = min(3, n_classes - 1) if n_classes > 2 else 1
    return {
        "top1": float((pred == y).mean()),
        "top3": float(top_k_accuracy_score(y, proba, k=k, labels=np.arange(n_classes)))
        if n_classes > 2
        else float((pred == y).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=np.unique(y), zero_division=0)),
        "film_accuracy": _film_accuracy(y, proba, films),
    }


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


def calibration(y: np.ndarray, proba: np.ndarray) -> dict:
    """Expected calibration error and the reliability diagram's bins."""
    confidence, correct = proba.max(axis=1), proba.argmax(axis=1) == y
    edges = np.linspace(0, 1, N_BINS + 1)
    bins, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (confidence > lo) & (confidence <= hi)
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - confidence[m].mean())
            bins.append(
                {
                    "low": float(lo),
                    "high": float(hi),
                    "confidence": float(confidence[m].mean()),
                    "accuracy": float(correct[m].mean()),
                    "frames": int(m.sum()),
                }
            )
    return {"ece": float(ece), "bins": bins}


def per_director(data: Labelled, pred: np.ndarray) -> list[dict]:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(
        data.y, pred, labels=np.arange(len(data.classes)), zero_division=0
    )
    return [
        {
            "director": c,
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "frames": int(s[i]),
            "films": int(len(np.unique(data.groups[data.y == i]))),
        }
        for i, c in enumerate(data.classes)
    ]


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


def evaluate(data: Labelled, config: TrainConfig, with_curve: bool = True) -> dict:
    """The whole report as a JSON-ready dict."""
    with warnings.catch_warnings():  # folds without every director make scikit-learn chatty
        warnings.simplefilter("ignore", UserWarning)
        return _evaluate(data, config, with_curve)


def _evaluate(data: Labelled, config: TrainConfig, with_curve: bool) -> dict:
    from sklearn.metrics import confusion_matrix

    folds = grouped_folds(data, config.folds, config.seed)
    for train_idx, test_idx in folds:  # the promise, checked on every run
        assert not set(data.groups[train_idx]) & set(data.groups[test_idx])
    grouped = cross_validate(data, folds, config)
    # the original method ignores films everywhere, its inner model selection included
    frames_as_films = replace(data, groups=np.arange(len(data.y)))
    shuffled = cross_validate(frames_as_films, random_folds(data, config.folds, config.seed), config)
    counts = np.bincount(data.y, minlength=len(data.classes))
    pred = grouped.proba.argmax(axis=1)
    grouped_summary, random_summary = summarise(data, grouped), summarise(data, shuffled)
    return {
        "classes": data.classes,
        "frames": int(len(data.y)),
        "films": int(len(np.unique(data.groups))),
        "folds": len(folds),
        "head": config.head,
        "film_grouped": grouped_summary,
        "random_split": random_summary,
        "leakage_gap": {
            name: random_summary[name]["mean"] - grouped_summary[name]["mean"] for name in grouped_summary
        },
        "chance": {"majority": float(counts.max() / counts.sum()), "uniform": 1.0 / len(data.classes)},
        "per_director": per_director(data, pred),
        "confusion": confusion_matrix(data.y, pred, labels=np.arange(len(data.classes))).tolist(),
        "calibration": calibration(data.y, grouped.proba),
        "learning_curve": learning_curve(data, folds, config) if with_curve else [],
    }


def evaluate_model(model, data: Labelled) -> dict:
    """A trained model scored on a separate library (no refitting), in the report's shape."""
    from sklearn.metrics import confusion_matrix

    known = [c for c in data.classes if c in model.classes]
    if not known:
        raise ValueError("the model knows none of this library's directors")
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
        "film_grouped": single,
        "random_split": single,
        "leakage_gap": dict.fromkeys(single, 0.0),
        "chance": {"majority": float(counts.max() / counts.sum()), "uniform": 1.0 / len(model.classes)},
        "per_director": per_director(
            replace(data, y=y, groups=data.groups[keep], classes=known), sub.argmax(1)
        ),
        "confusion": confusion_matrix(y, sub.argmax(1), labels=np.arange(len(known))).tolist(),
        "calibration": calibration(y, sub),
        "learning_curve": [],
    }


# -- report files ---------------------------------------------------------------------------------
def _plots(report: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    cm = np.asarray(report["confusion"])
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(cm), 1 + 0.6 * len(cm)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(cm)), report["classes"], rotation=45, ha="right")
    ax.set_yticks(range(len(cm)), report["classes"])
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion (film-grouped folds)")
    names.append("confusion.png")
    fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    bins = report["calibration"]["bins"]
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability (ECE {report['calibration']['ece']:.3f})")
    names.append("reliability.png")
    fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    if report["learning_curve"]:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        curve = report["learning_curve"]
        ax.plot([p["frames_per_film"] for p in curve], [p["balanced_accuracy"] for p in curve], "o-")
        ax.axhline(report["chance"]["uniform"], ls="--", color="grey", label="chance")
        ax.set_xscale("log")
        ax.set_xlabel("training frames per film")
        ax.set_ylabel("balanced accuracy")
        ax.legend()
        names.append("learning_curve.png")
        fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
        plt.close(fig)
    return names


def write_report(report: dict, out: str | Path) -> Path:
    """``report.json``, ``report.html`` and the plots as PNG in folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False))
    images = _plots(report, out)
    rows = "".join(
        f"<tr><td>{n}</td><td>{g['mean']:.3f} ± {g['std']:.3f}</td>"
        f"<td>{report['random_split'][n]['mean']:.3f}</td><td>{report['leakage_gap'][n]:+.3f}</td></tr>"
        for n, g in report["film_grouped"].items()
    )
    directors = "".join(
        f"<tr><td>{html.escape(d['director'])}</td><td>{d['precision']:.2f}</td><td>{d['recall']:.2f}</td>"
        f"<td>{d['f1']:.2f}</td><td>{d['frames']}</td><td>{d['films']}</td></tr>"
        for d in report["per_director"]
    )
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>whodirected evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem}}
td,th{{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}}img{{max-width:100%}}</style></head><body>
<h1>Evaluation</h1><p>{report["frames"]} frames, {report["films"]} films, {len(report["classes"])} directors,
{report["folds"]} folds grouped by film, head <b>{html.escape(report["head"])}</b>. Chance: majority class
{report["chance"]["majority"]:.3f}, uniform {report["chance"]["uniform"]:.3f}.</p>
<table><tr><th>metric</th><th>film-grouped (mean ± sd)</th><th>random frame split</th><th>leakage gap</th></tr>{rows}</table>
<h2>Per director</h2><table><tr><th>director</th><th>precision</th><th>recall</th><th>F1</th><th>frames</th><th>films</th></tr>{directors}</table>
{"".join(f'<img src="{name}" alt="{name}">' for name in images)}
</body></html>"""
    atomic.write_text(out / "report.html", page)
    return out
