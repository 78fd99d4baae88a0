"""Scores of out-of-fold predictions: accuracy, top-k, balanced accuracy, macro-F1, one verdict
per film, calibration (ECE and the reliability diagram's bins) and per-director figures."""

from __future__ import annotations

import numpy as np

N_BINS = 10  # reliability diagram bins


def film_accuracy(y: np.ndarray, proba: np.ndarray, films: np.ndarray) -> float:
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
        "film_accuracy": film_accuracy(y, proba, films),
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


def per_director(y: np.ndarray, groups: np.ndarray, classes: list[str], pred: np.ndarray) -> list[dict]:
    from sklearn.metrics import precision_recall_fscore_support

    p, r, f, s = precision_recall_fscore_support(y, pred, labels=np.arange(len(classes)), zero_division=0)
    return [
        {
            "director": c,
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "frames": int(s[i]),
            "films": int(len(np.unique(groups[y == i]))),
        }
        for i, c in enumerate(classes)
    ]
