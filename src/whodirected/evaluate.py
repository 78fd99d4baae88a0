"""Honest evaluation: cross-validation with folds grouped by film, beside the random frame
split that flatters (the leakage gap), with film-level votes, calibration and curves.

A small library often has one film per director. Then film-grouped director accuracy is
**not measurable** — holding out a director's only film leaves nothing of that director to
learn — and the report says so in those words. It holds out scenes instead (parts or time
blocks of each film, :mod:`whodirected.labelled`), labelled as optimistic, and shows a
leakage gap only when both of its numbers are measurable.

Beside the accuracy, two open-set checks run the whole training recipe — head, tuning and
the "unknown director" thresholds — on what is left after holding something out:

- **held-out units** (:func:`held_out_check`): top-1 on frames of a held-out film or scene,
  and the share accepted (not called "unknown director");
- **unseen directors** (:func:`unseen_director_check`): each director left out of training in
  turn; the share of their frames refused, and of held-out frames of the others accepted.
"""

from __future__ import annotations

import html
import json
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from . import atomic
from .calibrate import calibrate, director_folds, unit_folds
from .config import TrainConfig
from .labelled import Labelled
from .train import fit, head_config
from .vectors import block_unit, centroids, familiarity

N_BINS = 10  # reliability diagram bins
FILM_GROUPED = "film-grouped"


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


def subset(data: Labelled, index: np.ndarray) -> Labelled:
    """The frames at ``index``, their held-out units worked out anew."""
    return Labelled(
        data.x[index],
        data.y[index],
        data.groups[index],
        data.classes,
        data.films[index],
        data.features,
        None if data.parts is None else data.parts[index],
        None if data.times is None else data.times[index],
    )


@dataclass
class Trained:
    """The whole training recipe run on part of the data: scaler, head, centroids, thresholds."""

    scaler: object
    head: object
    centroids: np.ndarray
    threshold: float
    familiarity: float

    @classmethod
    def fit(cls, data: Labelled, config: TrainConfig) -> Trained:
        scaler, head = fit(data, config)
        means = centroids(scaler.transform(data.x), data.y, len(data.classes), data.features.blocks)
        open_set = calibrate(data, config, head_config(config, head.history))
        return cls(scaler, head, means, open_set.threshold, open_set.familiarity)

    def judge(self, x: np.ndarray, blocks) -> tuple[np.ndarray, np.ndarray]:
        """Each frame's top director and whether it is accepted (not "unknown director")."""
        scaled = self.scaler.transform(x)
        proba = self.head.predict_proba(scaled)
        familiar = familiarity(block_unit(scaled, blocks), self.centroids)
        return proba.argmax(axis=1), (proba.max(axis=1) >= self.threshold) & (familiar >= self.familiarity)


def _balanced(values: np.ndarray, y: np.ndarray) -> float:
    """The mean over directors of each director's mean: a director with many frames counts once."""
    return float(np.mean([values[y == c].mean() for c in np.unique(y)]))


def held_out_check(data: Labelled, config: TrainConfig) -> dict | None:
    """Each fold of held-out units predicted by the recipe trained on the rest: balanced top-1,
    share accepted, and share accepted and right. ``None`` when nothing can be held out."""
    folds = unit_folds(data)
    if not folds:
        return None
    top, accepted, y = [], [], []
    for train_idx, test_idx in folds:
        if len(np.unique(data.y[train_idx])) < 2:
            continue
        trained = Trained.fit(subset(data, train_idx), config)
        best, ok = trained.judge(data.x[test_idx], data.features.blocks)
        top.append(best == data.y[test_idx])
        accepted.append(ok)
        y.append(data.y[test_idx])
    if not y:
        return None
    right, ok, labels = np.concatenate(top), np.concatenate(accepted), np.concatenate(y)
    return {
        "protocol": data.protocol,
        "frames": int(len(labels)),
        "top1": _balanced(right, labels),
        "accepted": _balanced(ok, labels),
        "accepted_and_right": _balanced(ok & right, labels),
    }


def unseen_director_check(data: Labelled, config: TrainConfig) -> dict | None:
    """Each group of directors left out in turn, with one held-out unit of every other director:
    the share of the left-out directors' frames refused, and of the held-out frames accepted.
    ``None`` with fewer than three directors (two must stay to train a classifier)."""
    if len(data.classes) < 3:
        return None
    units = unit_folds(data)
    refused, accepted, unseen_y, known_y = [], [], [], []
    for k, (rest, unseen) in enumerate(director_folds(data, config.seed)):
        known = units[k % len(units)][1] if units else np.zeros(0, int)
        known = np.setdiff1d(known, unseen)
        train_idx = np.setdiff1d(rest, known)
        if len(np.unique(data.y[train_idx])) < 2:
            continue
        trained = Trained.fit(subset(data, train_idx), config)
        refused.append(~trained.judge(data.x[unseen], data.features.blocks)[1])
        unseen_y.append(data.y[unseen])
        if len(known):
            accepted.append(trained.judge(data.x[known], data.features.blocks)[1])
            known_y.append(data.y[known])
    if not refused:
        return None
    return {
        "unseen_frames": int(sum(len(r) for r in refused)),
        "refused": _balanced(np.concatenate(refused), np.concatenate(unseen_y)),
        "known_frames": int(sum(len(a) for a in accepted)),
        "known_accepted": _balanced(np.concatenate(accepted), np.concatenate(known_y)) if accepted else None,
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


def evaluate(data: Labelled, config: TrainConfig, with_curve: bool = True) -> dict:
    """The whole report as a JSON-ready dict."""
    with warnings.catch_warnings():  # folds without every director make scikit-learn chatty
        warnings.simplefilter("ignore", UserWarning)
        return _evaluate(data, config, with_curve)


def not_measurable(data: Labelled) -> str | None:
    """Why film-grouped director accuracy cannot be measured on ``data``, or ``None``."""
    single = [name for name, films in data.films_per_director.items() if films < 2]
    if not single:
        return None
    who = ", ".join(single[:3]) + (f" and {len(single) - 3} more" if len(single) > 3 else "")
    return (
        f"film-grouped director accuracy is not measurable: {who} "
        f"{'has' if len(single) == 1 else 'have'} only one film, and a director whose only film is held "
        "out cannot be learnt; the figures below hold out scenes instead (parts or time blocks of a film) "
        "and are optimistic"
    )


def _evaluate(data: Labelled, config: TrainConfig, with_curve: bool) -> dict:
    from sklearn.metrics import confusion_matrix

    reason = not_measurable(data)
    if reason is None:
        folds = grouped_folds(data, config.folds, config.seed)
        for train_idx, test_idx in folds:  # the promise, checked on every run
            assert not set(data.groups[train_idx]) & set(data.groups[test_idx])
    else:
        folds = unit_folds(data)
        if not folds:
            raise ValueError(
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


def headline(report: dict) -> tuple[str, dict]:
    """The report's measured protocol and its metrics (film-grouped, or else scene-held-out)."""
    if report.get("film_grouped") is not None:
        return report["protocol"], report["film_grouped"]
    return report["protocol"], report["scene_held_out"]


def open_set_lines(report: dict) -> list[str]:
    """The open-set checks in words, or why they could not run."""
    checks = report.get("open_set")
    if not checks:
        return []
    lines = []
    held = checks.get("held_out")
    if held:
        lines.append(
            f"held-out frames of known directors ({held['protocol']}): top-1 {held['top1']:.2f}, "
            f"accepted {held['accepted']:.2f}, accepted and right {held['accepted_and_right']:.2f} "
            f"({held['frames']} frames)"
        )
    else:
        lines.append("held-out frames of known directors: not measurable (nothing can be held out)")
    unseen = checks.get("unseen_directors")
    if unseen:
        known = unseen["known_accepted"]
        lines.append(
            f"directors left out of training: {unseen['refused']:.2f} of their frames called unknown "
            f"({unseen['unseen_frames']} frames); held-out frames of the others accepted: "
            + (f"{known:.2f} ({unseen['known_frames']} frames)" if known is not None else "not measurable")
        )
    else:
        lines.append("directors left out of training: not measurable (needs three directors or more)")
    return lines


# -- report files ---------------------------------------------------------------------------------
def _plots(report: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    protocol, _ = headline(report)
    cm = np.asarray(report["confusion"])
    fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(cm), 1 + 0.6 * len(cm)))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(cm)), report["classes"], rotation=45, ha="right")
    ax.set_yticks(range(len(cm)), report["classes"])
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion ({protocol.split(' (')[0]} folds)")
    names.append("confusion.png")
    fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    bins = report["calibration"]["bins"]
    if len(bins) >= 2:  # one bin is a dot, not a diagram
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([0, 1], [0, 1], "--", color="grey")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-")
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Reliability (ECE {report['calibration']['ece']:.3f})")
        names.append("reliability.png")
        fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
        plt.close(fig)

    if len(report["learning_curve"]) >= 2:
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


def _cell(value: float | None) -> str:
    return "not measurable" if value is None else f"{value:.3f}"


def write_report(report: dict, out: str | Path) -> Path:
    """``report.json``, ``report.html`` and the plots as PNG in folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False))
    for old in ("confusion.png", "reliability.png", "learning_curve.png"):  # a rerun draws anew
        (out / old).unlink(missing_ok=True)
    images = _plots(report, out)
    protocol, held = headline(report)
    shuffled, gap = report.get("random_split"), report.get("leakage_gap")
    head_cells = f"<th>{html.escape(protocol)} (mean ± sd)</th>"
    if shuffled is not None:
        head_cells += "<th>random frame split</th><th>leakage gap</th>"
    rows = ""
    for n, g in held.items():
        rows += f"<tr><td>{n}</td><td>{g['mean']:.3f} ± {g['std']:.3f}</td>"
        if shuffled is not None:
            rows += f"<td>{shuffled[n]['mean']:.3f}</td><td>{'not measurable' if gap is None else f'{gap[n]:+.3f}'}</td>"
        rows += "</tr>"
    directors = "".join(
        f"<tr><td>{html.escape(d['director'])}</td><td>{d['precision']:.2f}</td><td>{d['recall']:.2f}</td>"
        f"<td>{d['f1']:.2f}</td><td>{d['frames']}</td><td>{d['films']}</td></tr>"
        for d in report["per_director"]
    )
    warnings_html = "".join(f'<p class="warn">⚠ {html.escape(w)}</p>' for w in report.get("warnings", []))
    open_set = "".join(f"<li>{html.escape(line)}</li>" for line in open_set_lines(report))
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>whodirected evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem}}
td,th{{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}}img{{max-width:100%}}
.warn{{background:#fff4d6;border:1px solid #e0b000;border-radius:6px;padding:.6rem .8rem}}</style></head><body>
<h1>Evaluation</h1>{warnings_html}<p>{report["frames"]} frames, {report["films"]} films, {len(report["classes"])} directors,
{report["folds"]} folds ({html.escape(protocol)}), head <b>{html.escape(report["head"])}</b>. Chance: majority class
{report["chance"]["majority"]:.3f}, uniform {report["chance"]["uniform"]:.3f}.</p>
<table><tr><th>metric</th>{head_cells}</tr>{rows}</table>
{f"<h2>Unknown directors</h2><ul>{open_set}</ul>" if open_set else ""}
<h2>Per director</h2><table><tr><th>director</th><th>precision</th><th>recall</th><th>F1</th><th>frames</th><th>films</th></tr>{directors}</table>
{"".join(f'<img src="{name}" alt="{name}">' for name in images)}
</body></html>"""
    atomic.write_text(out / "report.html", page)
    return out
