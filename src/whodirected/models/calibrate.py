"""Open set: when a prediction says "unknown director" instead of a name.

A classifier's softmax is confident about directors it never saw, so two signals decide: the
top probability, and the frame's *familiarity*, its cosine similarity to the nearest
director's mean direction (:func:`whodirected.vectors.familiarity`; a frame unlike every
director's usual look is a stranger's).

Both thresholds are chosen at training time from what the model has not seen, with the
library the user has (:mod:`whodirected.models.labelled`):

- **known, but new:** the held-out units — whole films where a director has two or more,
  otherwise parts or time blocks of the film (scene-held-out: optimistic) — each predicted by
  a model fitted without it;
- **unknown:** each group of directors left out of training in turn, their frames predicted
  by the same model, which never saw them.

A model that left directors out knows fewer of them, and the top probability depends on how
many directors a model knows (chance is 1/K); so it is compared in :func:`normalised` units
(chance 0, certainty 1) and turned back into this model's probability at the end.

The pair of thresholds keeps at least ``TrainConfig.open_set_accept`` (80 %) of the known
held-out frames accepted and, among such pairs, refuses the most frames of left-out
directors. What that gives on both sides is recorded, with the protocol, in ``model.json``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np

from whodirected.config import TrainConfig
from whodirected.features.vectors import block_unit, centroids, familiarity
from whodirected.models.heads import HeadConfig, Scaler, fit_scaled
from whodirected.models.labelled import Labelled

DIRECTOR_GROUPS = 5  # directors are held out in this many groups, in turn
UNIT_FOLDS = 5  # held-out units are spread over at most this many folds
GRID = np.linspace(0.0, 1.0, 101)  # probability thresholds tried
FAMILIARITY_QUANTILES = np.linspace(0.0, 0.5, 51)  # familiarity thresholds tried: known frames' quantiles
GRID_FRAMES = 2000  # frames of each kind the threshold search looks at


@dataclass
class OpenSet:
    """The chosen thresholds, how they were chosen, and what they give on held-out frames."""

    threshold: float  # top probability below which the verdict is "unknown director" (this model's)
    familiarity: float  # similarity to the nearest director's mean below which it is too
    method: str  # what was held out, in words
    target: float | None = None  # share of known held-out frames the thresholds keep accepted
    known_accepted: float | None = None  # known held-out frames: accepted at all
    known_right_accepted: float | None = None  # known held-out frames: accepted and right
    unknown_refused: float | None = None  # frames of left-out directors called "unknown director"
    known_frames: int = 0
    unknown_frames: int = 0
    note: str | None = None  # why nothing could be calibrated, when so

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class HeldOut:
    """Out-of-fold scores: top probability, familiarity and whether the top director was right."""

    confidence: np.ndarray
    familiarity: np.ndarray
    right: np.ndarray

    @classmethod
    def empty(cls) -> HeldOut:
        return cls(np.zeros(0), np.zeros(0), np.zeros(0, bool))

    def sample(self, n: int, rng: np.random.Generator) -> HeldOut:
        keep = rng.permutation(len(self.confidence))[:n]
        return HeldOut(self.confidence[keep], self.familiarity[keep], self.right[keep])


def unit_folds(data: Labelled) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds over held-out units: each director's units dealt round-robin, so a director with
    two units or more always keeps one in training; a director with one unit is never held out."""
    fold_of = np.full(len(data.y), -1)
    per_director = [np.unique(data.units[data.y == c]) for c in range(len(data.classes))]
    n_folds = min(UNIT_FOLDS, max(len(units) for units in per_director))
    for units in per_director:
        if len(units) >= 2:
            for k, unit in enumerate(units):
                fold_of[data.units == unit] = k % n_folds
    return [
        (np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k))
        for k in range(n_folds)
        if (fold_of == k).any()
    ]


def normalised(confidence: np.ndarray, n_classes: int) -> np.ndarray:
    """Top probability rescaled so that chance is 0 and certainty 1, whatever the number of
    directors: a threshold found on models of fewer directors then carries over."""
    if n_classes < 2:
        return np.ones_like(confidence)
    return (confidence - 1.0 / n_classes) / (1.0 - 1.0 / n_classes)


def raw_threshold(normalised_threshold: float, n_classes: int) -> float:
    """The top-probability threshold of a model of ``n_classes`` directors."""
    return 1.0 / n_classes + normalised_threshold * (1.0 - 1.0 / n_classes)


def fit_and_score(
    data: Labelled, train_idx: np.ndarray, tests: list[np.ndarray], head: HeadConfig, scaling: str
) -> list[HeldOut]:
    """Fit a scaler and head on ``train_idx`` and score each index array of ``tests`` with it:
    normalised top probability (:func:`normalised`), familiarity, and whether the top was right."""
    n_classes = len(data.classes)
    blocks = data.features.blocks
    trained = np.unique(data.y[train_idx])
    fitted = None
    if len(trained) >= 2:
        scaler, fitted = fit_scaled(data, train_idx, head, scaling)
    else:
        scaler = Scaler.fit(data.x[train_idx], blocks, scaling)
    train_x = scaler.transform(data.x[train_idx])
    means = centroids(train_x, data.y[train_idx], n_classes, blocks)
    scores = []
    for test_idx in tests:
        test_x = scaler.transform(data.x[test_idx])
        if fitted is not None:
            proba = fitted.predict_proba(test_x)
        else:  # one director left: a classifier of one class is always sure
            proba = np.zeros((len(test_idx), n_classes))
            proba[:, trained[0]] = 1.0
        scores.append(
            HeldOut(
                normalised(proba.max(axis=1), len(trained)),
                familiarity(block_unit(test_x, blocks), means),
                proba.argmax(axis=1) == data.y[test_idx],
            )
        )
    return scores


def director_folds(data: Labelled, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Groups of directors left out of training in turn."""
    n_classes = len(data.classes)
    n_groups = min(DIRECTOR_GROUPS, n_classes)
    group = np.random.default_rng(seed).permutation(n_classes) % n_groups
    folds = []
    for g in range(n_groups):
        held = np.isin(data.y, np.flatnonzero(group == g))
        folds.append((np.flatnonzero(~held), np.flatnonzero(held)))
    return folds


def choose_thresholds(known: HeldOut, unknown: HeldOut, target: float) -> tuple[float, float]:
    """The (probability, familiarity) pair that keeps ``target`` of ``known`` accepted and,
    among those, refuses the most of ``unknown`` (ties: the most known frames accepted)."""
    familiar_grid = np.unique(np.concatenate([[-1.0], np.quantile(known.familiarity, FAMILIARITY_QUANTILES)]))
    # accepted[i, j, frame]: probability threshold i and familiarity threshold j both passed
    by_p = known.confidence[None, :] >= GRID[:, None]
    by_f = known.familiarity[None, :] >= familiar_grid[:, None]
    accepted = (by_p[:, None, :] & by_f[None, :, :]).mean(axis=2)
    if len(unknown.confidence):
        u_by_p = unknown.confidence[None, :] >= GRID[:, None]
        u_by_f = unknown.familiarity[None, :] >= familiar_grid[:, None]
        refused = 1.0 - (u_by_p[:, None, :] & u_by_f[None, :, :]).mean(axis=2)
    else:
        refused = np.zeros_like(accepted)
    score = np.where(accepted >= target - 1e-9, refused + 1e-3 * accepted, -np.inf)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    return float(GRID[i]), float(familiar_grid[j])


def _concat(parts: list[HeldOut]) -> HeldOut:
    if not parts:
        return HeldOut.empty()
    return HeldOut(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in ("confidence", "familiarity", "right"))
    )


def calibrate(data: Labelled, config: TrainConfig, head: HeadConfig) -> OpenSet:
    """Choose the "unknown director" thresholds for a model fitted on ``data`` with ``head``."""
    units = unit_folds(data)
    if not units:
        return OpenSet(
            0.0,
            -1.0,
            "none",
            note="no director has two held-out units (films, parts or time blocks of a film), so no "
            "threshold could be measured: every prediction names a director (--min-confidence sets one)",
        )
    with warnings.catch_warnings():  # folds without every director make scikit-learn chatty
        warnings.simplefilter("ignore", UserWarning)
        known = [fit_and_score(data, rest, [held], head, config.scaling)[0] for rest, held in units]
        unknown = [
            fit_and_score(data, rest, [unseen], head, config.scaling)[0]
            for rest, unseen in director_folds(data, config.seed)
        ]
    rng = np.random.default_rng(config.seed)  # the grid search holds (thresholds² x frames) booleans
    known_frames, unknown_frames = (
        _concat(known).sample(GRID_FRAMES, rng),
        _concat(unknown).sample(GRID_FRAMES, rng),
    )
    c, f = choose_thresholds(known_frames, unknown_frames, config.open_set_accept)
    accepted = (known_frames.confidence >= c) & (known_frames.familiarity >= f)
    refused = ~((unknown_frames.confidence >= c) & (unknown_frames.familiarity >= f))
    return OpenSet(
        raw_threshold(c, len(np.unique(data.y))),
        f,
        f"{data.protocol}; unknown: directors left out in turn",
        config.open_set_accept,
        float(accepted.mean()),
        float((accepted & known_frames.right).mean()),
        float(refused.mean()),
        int(len(known_frames.confidence)),
        int(len(unknown_frames.confidence)),
    )
