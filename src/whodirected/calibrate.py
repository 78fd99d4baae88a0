"""Open set: the confidence below which a prediction says "unknown director".

A classifier's softmax is confident about directors it never saw, so two signals decide: the
top probability, and the frame's familiarity, its mean similarity to its nearest training
frames (:func:`whodirected.index.familiarity`; a frame unlike anything seen is a stranger's). Both thresholds are chosen at training time from what
the model has not seen. Frames of held-out *films* (film-grouped folds) show both signals
when the model meets a new film of a director it knows; frames of held-out *directors* (a
group of directors left out of training in turn) show them for a director it cannot know.
The pair of thresholds maximises the mean of the share of new-film frames accepted and right
and the share of unknown-director frames refused. With fewer than three directors none can
be held out; the probability threshold then keeps the accepted new-film frames at least
:data:`FALLBACK_PRECISION` right, and no familiarity threshold is set.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, replace

import numpy as np

from .classifier import HeadConfig, Scaler, fit_head
from .index import block_unit, familiarity
from .train import Labelled

DIRECTOR_GROUPS = 5  # directors are held out in this many groups, in turn
FILM_FOLDS = 3
FALLBACK_PRECISION = 0.9
GRID = np.linspace(0.0, 1.0, 101)  # probability thresholds tried
FAMILIARITY_GRID = np.linspace(-0.2, 1.0, 121)  # familiarity thresholds tried
GRID_FRAMES = 2000  # frames of each kind the threshold search looks at


@dataclass
class OpenSet:
    """The chosen threshold and what it gives on held-out films and directors."""

    threshold: float  # top probability below which the verdict is "unknown director"
    familiarity: float  # mean similarity to the nearest training frames below which it is too
    method: str
    known_right_accepted: float | None  # new-film frames of known directors: accepted and right
    known_accepted: float | None  # new-film frames of known directors: accepted at all
    unknown_refused: float | None  # frames of held-out directors called "unknown director"

    def to_dict(self) -> dict:
        return asdict(self)


def _out_of_fold(
    data: Labelled, folds, head: HeadConfig, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each test frame of each fold, from a head fitted without that fold: the director
    probabilities, and the familiarity to the training frames; and the test rows."""
    probas, familiar, rows = [], [], []
    for train_idx, test_idx in folds:
        if len(np.unique(data.y[train_idx])) < 2:
            continue
        scaler = Scaler.fit(data.x[train_idx], data.features.blocks)
        train_x = scaler.transform(data.x[train_idx])
        fitted = fit_head(train_x, data.y[train_idx], data.groups[train_idx], n_classes, head)
        test_x = scaler.transform(data.x[test_idx])
        probas.append(fitted.predict_proba(test_x))
        blocks = data.features.blocks
        familiar.append(familiarity(block_unit(test_x, blocks) @ block_unit(train_x, blocks).T))
        rows.append(test_idx)
    if not rows:
        return np.zeros((0, n_classes)), np.zeros(0), np.zeros(0, int)
    return np.concatenate(probas), np.concatenate(familiar), np.concatenate(rows)


def calibrate(data: Labelled, head: HeadConfig, seed: int = 0) -> OpenSet:
    """Choose the "unknown director" thresholds for a model fitted on ``data`` with ``head``."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_classes = len(data.classes)
    n_films = len(np.unique(data.groups))
    if n_films < 3:
        return OpenSet(0.0, -1.0, "none: too few films to hold any out", None, None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        splitter = StratifiedGroupKFold(n_splits=min(FILM_FOLDS, n_films), shuffle=True, random_state=seed)
        proba, familiar, rows = _out_of_fold(
            data, splitter.split(data.x, data.y, data.groups), head, n_classes
        )
    confidence, right = proba.max(axis=1), proba.argmax(axis=1) == data.y[rows]
    by_probability = confidence[None, :] >= GRID[:, None]  # (thresholds, frames)

    if n_classes < 3:
        precision = np.array([right[a].mean() if a.any() else 1.0 for a in by_probability])
        t = int(np.argmax(precision >= FALLBACK_PRECISION))
        return OpenSet(
            float(GRID[t]),
            -1.0,
            f"held-out films (accepted frames {FALLBACK_PRECISION:.0%} right)",
            float((by_probability[t] & right).mean()),
            float(by_probability[t].mean()),
            None,
        )

    # directors held out in turn: what the model says about someone it never saw
    n_groups = min(DIRECTOR_GROUPS, n_classes)
    director_group = np.random.default_rng(seed).permutation(n_classes) % n_groups
    folds = []
    for g in range(n_groups):
        held = np.isin(data.y, np.flatnonzero(director_group == g))
        folds.append((np.flatnonzero(~held), np.flatnonzero(held)))
    unknown_proba, unknown_familiarity, _ = _out_of_fold(data, folds, head, n_classes)
    if not len(unknown_familiarity):
        return OpenSet(0.0, -1.0, "none: too few directors to hold any out", None, None, None)
    unknown_confidence = unknown_proba.max(axis=1)
    rng = np.random.default_rng(seed)  # the grid search below holds (thresholds² x frames) booleans
    known = rng.permutation(len(familiar))[:GRID_FRAMES]
    familiar, right, by_probability = familiar[known], right[known], by_probability[:, known]
    stranger = rng.permutation(len(unknown_familiarity))[:GRID_FRAMES]
    unknown_confidence, unknown_familiarity = unknown_confidence[stranger], unknown_familiarity[stranger]
    by_familiarity = familiar[None, :] >= FAMILIARITY_GRID[:, None]
    unknown_by_p = unknown_confidence[None, :] >= GRID[:, None]
    unknown_by_f = unknown_familiarity[None, :] >= FAMILIARITY_GRID[:, None]
    # accepted[i, j, frame]: probability threshold i and familiarity threshold j both passed
    accepted = by_probability[:, None, :] & by_familiarity[None, :, :]
    right_accepted = (accepted & right).mean(axis=2)
    refused = 1.0 - (unknown_by_p[:, None, :] & unknown_by_f[None, :, :]).mean(axis=2)
    score = 0.5 * right_accepted + 0.5 * refused
    best = np.argwhere(score >= score.max() - 1e-9)  # the best plateau: take its member nearest its centre
    i, j = best[np.argmin(((best - best.mean(axis=0)) ** 2).sum(axis=1))]
    return OpenSet(
        float(GRID[i]),
        float(FAMILIARITY_GRID[j]),
        f"held-out films and directors ({n_groups} groups)",
        float(right_accepted[i, j]),
        float(accepted[i, j].mean()),
        float(refused[i, j]),
    )


def fixed(head: HeadConfig, chosen_c: float | None) -> HeadConfig:
    """``head`` with the logistic regularisation already chosen, so refits skip the search."""
    return replace(head, c_grid=(chosen_c,)) if chosen_c is not None else head
