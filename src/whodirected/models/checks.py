"""Open-set checks that run the whole training recipe — head, tuning and the "unknown director"
thresholds — on what is left after holding something out:

- **held-out units** (:func:`held_out_check`): top-1 on frames of a held-out film or scene,
  and the share accepted (not called "unknown director");
- **unseen directors** (:func:`unseen_director_check`): each director left out of training in
  turn; the share of their frames refused, and of held-out frames of the others accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from whodirected.config import TrainConfig
from whodirected.features.vectors import block_unit, centroids, familiarity
from whodirected.models.calibrate import calibrate, director_folds, unit_folds
from whodirected.models.heads import HeadConfig, fit, head_config
from whodirected.models.labelled import Labelled
from whodirected.models.metrics import film_accuracy


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


FILMS_NEVER_SEEN = "films never seen: one film of each director with two or more held out, in turn"


def films_never_seen_rotations(data: Labelled) -> int:
    """How many rotations the films-never-seen check can make: the most films any director has
    (every film of every director held out at least once); 0 when no director has two films."""
    counts = [n for n in data.films_per_director.values() if n >= 2]
    return max(counts, default=0)


def films_never_seen_not_measurable(data: Labelled) -> str | None:
    """Why the films-never-seen figures cannot be measured on ``data``, or ``None``."""
    if films_never_seen_rotations(data):
        return None
    return (
        "films never seen: not measurable — no director has two films, so no film of a known director can be "
        "held out (add a second film of a director)"
    )


def unseen_film_folds(data: Labelled, rotations: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rotation ``r`` holds out film ``r mod n`` of each director with ``n >= 2`` films and trains
    on everything else (directors with one film stay in training: a user's library has them)."""
    films_of = [np.unique(data.groups[data.y == c]) for c in range(len(data.classes))]
    folds = []
    for r in range(rotations):
        held = [films[r % len(films)] for films in films_of if len(films) >= 2]
        test = np.isin(data.groups, held)
        folds.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return folds


def unseen_film_scores(
    data: Labelled, config: TrainConfig, rotations: int, head=None, queries: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-training probabilities of every held-out frame of every rotation, their labels and
    the (rotation, film) each belongs to; ``head`` fixes the head's tuned settings. ``queries``
    (one row per frame of ``data``) are what is asked about the held-out frames instead of their
    own features: the same frames as screenshots, say."""
    asked = data.x if queries is None else queries
    probas, labels, films = [], [], []
    for r, (train_idx, test_idx) in enumerate(unseen_film_folds(data, rotations)):
        scaler, fitted = fit(data, config, train_idx, head)
        probas.append(fitted.predict_proba(scaler.transform(asked[test_idx])))
        labels.append(data.y[test_idx])
        films.append(np.char.add(f"{r}:", data.groups[test_idx].astype(str)))
    return np.concatenate(probas), np.concatenate(labels), np.concatenate(films)


def unseen_film_figures(proba: np.ndarray, y: np.ndarray, films: np.ndarray) -> dict[str, float]:
    """Frame top-1 and top-5, and one verdict per film (the mean of its frames' probabilities, as
    ``predict`` aggregates a folder or clip)."""
    rank = (proba > proba[np.arange(len(y)), y][:, None]).sum(axis=1)
    return {
        "top1": float((proba.argmax(axis=1) == y).mean()),
        "top5": float((rank < 5).mean()),
        "film_verdict": film_accuracy(y, proba, films),
    }


def relabel(data: Labelled, by: np.ndarray, rng: np.random.Generator) -> Labelled:
    """``data`` with directors permuted between the units of ``by`` (films, or held-out units):
    each unit keeps its frames and gets another unit's director, so every director keeps as many
    units as before and any link between look and director is broken."""
    units, first = np.unique(by, return_index=True)
    director_of = data.y[first][rng.permutation(len(units))]
    y = director_of[np.searchsorted(units, by)]
    return Labelled(data.x, y, data.groups, data.classes, data.films, data.features, data.parts, data.times)


CHANCE_LEVEL = 0.05  # a figure is "above chance" when the permutation test's p-value is at most this


def beats_chance(figure: dict) -> str:
    """A figure of :func:`unseen_film_check` or the held-out chance test, against chance, in words."""
    if figure.get("p") is None:
        return "not tested against chance (chance_permutations = 0)"
    if figure["p"] <= CHANCE_LEVEL:
        return f"above chance (p = {figure['p']:.2f})"
    return f"not distinguishable from chance on this library (p = {figure['p']:.2f})"


def tested(observed: dict[str, float], null: list[dict[str, float]]) -> dict[str, dict]:
    """Each figure of ``observed`` with the permutation test's p-value — how often a library with
    directors shuffled between films (``null``, one dict of figures each) scored at least as well,
    counting the observed library itself — and the shuffled libraries' mean."""
    return {
        name: {
            "value": value,
            "p": (1 + sum(n[name] >= value - 1e-12 for n in null)) / (1 + len(null)) if null else None,
            "shuffled_mean": float(np.mean([n[name] for n in null])) if null else None,
        }
        for name, value in observed.items()
    }


def unseen_film_check(
    data: Labelled, config: TrainConfig, rotations: int | None = None, head: HeadConfig | None = None
) -> dict | None:
    """The question a user asks: a film the model has never seen, by a director it knows.

    One film of each director with two films or more is held out, in turn (``rotations``, at
    most :func:`films_never_seen_rotations`), and the whole recipe is trained on the rest. Frame
    top-1 and top-5, one verdict per film, each beside chance (1 / directors) and a permutation
    test (directors shuffled between films, ``config.chance_permutations`` times). ``head`` fixes
    the head's settings (those tuned on all of ``data``; tuned here when ``None``). ``None`` when
    no director has two films."""
    most = films_never_seen_rotations(data)
    if not most:
        return None
    rotations = most if rotations is None else rotations
    if not 1 <= rotations <= most:
        raise ValueError(
            f"films never seen: {rotations} rotations asked, but this library allows 1 to {most} "
            f"(the most films any director has)"
        )
    if head is None:
        head = head_config(config, getattr(fit(data, config)[1], "history", None))
    proba, y, films = unseen_film_scores(data, config, rotations, head)
    observed = unseen_film_figures(proba, y, films)
    rng = np.random.default_rng(config.seed)
    null = [
        unseen_film_figures(*unseen_film_scores(relabel(data, data.groups, rng), config, rotations, head))
        for _ in range(config.chance_permutations)
    ]
    n_classes = len(data.classes)
    return {
        "protocol": FILMS_NEVER_SEEN,
        "rotations": rotations,
        "directors_tested": int(sum(n >= 2 for n in data.films_per_director.values())),
        "directors": n_classes,
        "frames": int(len(y)),
        "films": int(len(np.unique(films))),
        "chance": {"top1": 1 / n_classes, "top5": min(1.0, 5 / n_classes), "film_verdict": 1 / n_classes},
        "permutations": config.chance_permutations,
        **tested(observed, null),
    }
