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
from whodirected.models.labelled import Labelled
from whodirected.models.train import fit, head_config


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
