"""Classifier heads on features, scikit-learn style (``fit`` / ``predict_proba``).

Every head ends as the same plain structure — a feature scaler and a stack of dense layers
(ReLU between, softmax at the end) — so a trained model is a handful of arrays, saved
without pickle and run with NumPy alone.

- ``centroid`` (default): nearest director mean. Each director is the mean direction of
  their frames (:func:`whodirected.vectors.centroids`); a frame's logits are its cosine
  similarities to them, each less half that director's hub level (:func:`hub_levels`), times a
  temperature chosen on held-out scenes or films. With a
  handful of films per director it generalises to new scenes far better than a fitted
  boundary (``benchmarks/real.py``). With a ``faces`` block it also knows each director's
  actors (:class:`Actors`).
- ``logistic``: multinomial logistic regression, class-balanced, its regularisation chosen
  by cross-validation grouped by held-out unit (film, or scene when films are few).
- ``mlp``: one hidden layer, early stopping (scikit-learn).
- ``sgd-linear``: the original project's recipe, a linear layer (``hidden`` adds the one
  dense layer its code had) trained by mini-batch SGD in PyTorch for ``epochs`` epochs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from whodirected.config import HEADS, SCALINGS, TrainConfig
from whodirected.features import faces
from whodirected.features.backbones.registry import block_columns, weighted
from whodirected.features.vectors import block_unit, centroids, shares, sizes
from whodirected.models.labelled import Labelled

__all__ = ["HEADS", "SCALINGS", "Actors", "Head", "HeadConfig", "Scaler", "fit", "fit_head", "head_config"]


@dataclass
class Scaler:
    """Per-feature standardisation, then each block weighted by 1/sqrt(its size) so that a
    1280-d network block and a 22-d style block count alike.

    ``shrunk`` (default) divides by sqrt(variance + the block's median variance) rather than
    the standard deviation: with a few hundred frames, a feature that barely varied in
    training would otherwise be blown up and drown a new screenshot in noise. ``none`` keeps
    the raw features (only the block weights): with the centroid head that is plain
    L2-normalised features.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, blocks, scaling: str = "shrunk") -> Scaler:
        if scaling not in SCALINGS:
            raise ValueError(f"unknown scaling {scaling!r}; choose from {', '.join(SCALINGS)}")
        widths = sizes(blocks)
        relative = np.sqrt(shares(blocks) * len(widths))  # 1 for blocks of equal weight
        relative[relative == 0] = 1.0  # a block without a share is kept, standardised (heads.Actors read it)
        weights = np.concatenate(
            [np.full(size, r / np.sqrt(size)) for size, r in zip(widths, relative, strict=True)]
        )
        weights *= np.sqrt(len(widths))
        if scaling == "none":
            return cls(np.zeros(x.shape[1], np.float32), weights.astype(np.float32))
        variance = x.var(axis=0)
        if scaling == "shrunk":
            edges = np.cumsum([0, *sizes(blocks)])
            for a, b in zip(edges[:-1], edges[1:], strict=True):
                variance[a:b] += np.median(variance[a:b])
        std = np.sqrt(variance)
        std[std < 1e-8] = 1.0
        return cls(x.mean(axis=0).astype(np.float32), (weights / std).astype(np.float32))

    def transform(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) * self.scale).astype(np.float32)


@dataclass
class Actors:
    """Recurring actors: directors cast the same people again, so a face that is the same person
    (dlib descriptors nearer than :data:`whodirected.features.faces.MATCH_DISTANCE`) as a face in
    a director's training frames adds ``bonus`` to that director's logit.

    ``faces`` are the training frames' largest-face descriptors and ``directors`` whose frames
    they are. The head sees scaled features, so the scaler's ``mean`` and ``scale`` of the
    ``faces`` block's columns are kept to read the descriptors back (``benchmarks/real.py``:
    films never seen)."""

    faces: np.ndarray  # (n, 128) float32
    directors: np.ndarray  # (n,) int64
    bonus: float  # added to a matched director's logit (similarity bonus x temperature)
    columns: slice  # the faces block in the features
    mean: np.ndarray  # the scaler's mean and scale of those columns
    scale: np.ndarray

    @classmethod
    def of(cls, raw: np.ndarray, y: np.ndarray, blocks, scaler: Scaler, bonus: float) -> Actors | None:
        """The actors of training frames ``raw`` (unscaled features) by directors ``y``; ``None``
        without a ``faces`` block."""
        columns = block_columns(blocks, "faces")
        if columns is None:
            return None
        descriptors, found = faces.embeddings(raw[:, columns])
        return cls.build(descriptors[found], y[found], bonus, columns, scaler)

    @classmethod
    def build(
        cls, descriptors: np.ndarray, directors: np.ndarray, bonus: float, columns: slice, scaler: Scaler
    ) -> Actors:
        """Actors from their descriptors and directors (as a model file keeps them), the faces
        block at ``columns`` of the features ``scaler`` scales."""
        return cls(
            np.asarray(descriptors, np.float32),
            np.asarray(directors, np.int64),
            float(bonus),
            columns,
            scaler.mean[columns],
            scaler.scale[columns],
        )

    def logits(self, x: np.ndarray, n_classes: int) -> np.ndarray:
        """``bonus`` for each director whose actor is in each row of scaled features ``x``."""
        out = np.zeros((len(x), n_classes), np.float32)
        block = x[:, self.columns] / self.scale + self.mean
        found = np.flatnonzero(block[:, 0] >= 0.5)  # a face count, read back through float rounding
        query = faces.embeddings(block[found])[0]
        squared = (query**2).sum(1)[:, None] + (self.faces**2).sum(1)[None] - 2 * query @ self.faces.T
        rows, matched = np.nonzero(squared < faces.MATCH_DISTANCE**2)
        out[found[rows], self.directors[matched]] = self.bonus
        return out


@dataclass
class Head:
    """Dense layers as arrays: ``weights[i]`` is (in, out), ReLU between, softmax at the end;
    the centroid head may add its directors' :class:`Actors`."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    history: dict[str, list[float]] = field(default_factory=dict)  # training curves
    unit_blocks: list = field(
        default_factory=list
    )  # blocks made unit first (centroid head): (name, size, weight) or size
    actors: Actors | None = None

    def logits(self, x: np.ndarray) -> np.ndarray:
        scaled = x
        if self.unit_blocks:
            x = block_unit(x, self.unit_blocks)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w + b
            if i < len(self.weights) - 1:
                x = np.maximum(x, 0)
        if self.actors is not None:
            x = x + self.actors.logits(np.atleast_2d(scaled), x.shape[1])
        return x

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        z = self.logits(x)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


@dataclass
class HeadConfig:
    head: str = "centroid"
    c_grid: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)
    temperatures: tuple[float, ...] = (5.0, 10.0, 20.0, 40.0, 80.0)  # centroid: softmax sharpness tried
    hubness: float = TrainConfig.hubness
    hubness_k: int = TrainConfig.hubness_k
    actors: float = TrainConfig.actors
    hidden: int = 0  # sgd-linear: add one dense layer of this size (0: none); mlp: its size (0 → 256)
    learning_rate: float = 1e-3
    epochs: int = 200
    batch_size: int = 32
    seed: int = 0


def _full_classes(head: Head, present: np.ndarray, n_classes: int) -> Head:
    """Pad a head fitted on a subset of classes so it scores all ``n_classes`` (absent: -inf)."""
    if len(present) == n_classes:
        return head
    w, b = head.weights[-1], head.biases[-1]
    full_w = np.zeros((w.shape[0], n_classes), np.float32)
    full_b = np.full(n_classes, -1e9, np.float32)
    full_w[:, present], full_b[present] = w, b
    return Head(head.weights[:-1] + [full_w], head.biases[:-1] + [full_b], head.history, head.unit_blocks)


def fit_head(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, config: HeadConfig, blocks=None
) -> Head:
    """Fit the configured head on scaled features ``x`` and integer labels ``y``; ``groups``
    are the units held out together when a setting is chosen by cross-validation, and
    ``blocks`` the feature blocks (the centroid head compares block by block)."""
    present = np.unique(y)
    if len(present) < 2:
        raise ValueError("training needs frames of at least two directors")
    if config.head == "centroid":  # scores every class already (absent ones: -inf)
        return _fit_centroid(x, y, groups, n_classes, config, blocks or [x.shape[1]])
    if config.head == "logistic":
        head = _fit_logistic(x, y, groups, n_classes, config)
    elif config.head == "mlp":
        head = _fit_mlp(x, y, config)
    elif config.head == "sgd-linear":
        head = _fit_sgd(x, y, n_classes, config)
        return head
    else:
        raise ValueError(f"unknown head {config.head!r}; choose from {', '.join(HEADS)}")
    return _full_classes(head, present, n_classes)


def _fit_centroid(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, config: HeadConfig, blocks
) -> Head:
    """Director mean directions; the temperature that gives held-out units the lowest log-loss."""
    unit_blocks = [int(b) for b in blocks] if isinstance(blocks[0], (int, np.integer)) else weighted(blocks)
    u = block_unit(x, unit_blocks)
    history: dict[str, list[float]] = {"temperature": [], "cv_log_loss": []}
    best_t = config.temperatures[len(config.temperatures) // 2]
    if len(config.temperatures) > 1 and len(np.unique(groups)) >= 2:
        sims, labels = [], []
        for g in np.unique(groups):  # each unit held out in turn, against the others' means
            held = groups == g
            means = centroids(u[~held], y[~held], n_classes, unit_blocks)
            known = np.isin(y[held], y[~held])  # a unit whose director is left with no frames says nothing
            if known.any():
                offset = -config.hubness * hub_levels(u[~held], y[~held], means, config.hubness_k)
                sims.append(u[held][known] @ means.T + np.where(means.any(axis=1), offset, -1e9))
                labels.append(y[held][known])
        if sims:
            sim, label = np.concatenate(sims), np.concatenate(labels)
            for t in config.temperatures:
                z = t * sim
                z = z - z.max(axis=1, keepdims=True)
                log_p = z[np.arange(len(label)), label] - np.log(np.exp(z).sum(axis=1))
                history["temperature"].append(float(t))
                history["cv_log_loss"].append(float(-log_p.mean()))
            best_t = history["temperature"][int(np.argmin(history["cv_log_loss"]))]
    history["chosen_temperature"] = [float(best_t)]
    means = centroids(u, y, n_classes, unit_blocks)
    offset = -config.hubness * hub_levels(u, y, means, config.hubness_k)
    bias = np.where(means.any(axis=1), best_t * offset, -1e9).astype(np.float32)
    return Head([(means.T * best_t).astype(np.float32)], [bias], history, unit_blocks)


def hub_levels(u: np.ndarray, y: np.ndarray, means: np.ndarray, k: int) -> np.ndarray:
    """Each director mean's hub level: its mean cosine similarity to the ``k`` nearest frames
    of *other* directors (0 for a director without frames, or without others).

    Among many directors, some means sit close to everyone's frames and win for frames of
    directors they did not make; scoring similarity less half this level is cross-domain
    similarity local scaling (CSLS, Conneau et al. 2018), which evens that out.
    """
    sims = u @ means.T  # (frames, directors)
    sims[np.arange(len(y)), y] = np.nan  # a director's own frames do not count
    top = min(k, len(u))
    nearest = -np.sort(-np.nan_to_num(sims, nan=-np.inf), axis=0)[:top]  # k highest of each column
    nearest[~np.isfinite(nearest)] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column of no other frames: NaN → 0
        levels = np.nan_to_num(np.nanmean(nearest, axis=0), nan=0.0)
    return np.where(means.any(axis=1), levels, 0.0).astype(np.float32)


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, n_classes: int, config: HeadConfig
) -> Head:
    """C chosen by film-grouped cross-validated log-loss (so probabilities stay calibrated)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score, log_loss
    from sklearn.model_selection import GroupKFold

    def model(c: float) -> LogisticRegression:
        return LogisticRegression(C=c, class_weight="balanced", max_iter=2000)

    history: dict[str, list[float]] = {"C": [], "cv_log_loss": [], "cv_balanced_accuracy": []}
    n_groups = len(np.unique(groups))
    best_c = config.c_grid[len(config.c_grid) // 2]  # 1.0 for the default grid
    if n_groups >= 3 and len(config.c_grid) > 1:
        folds = list(GroupKFold(n_splits=min(3, n_groups)).split(x, y, groups))
        for c in config.c_grid:
            losses, scores = [], []
            for train, test in folds:
                if len(np.unique(y[train])) < 2:
                    continue
                fitted = model(c).fit(x[train], y[train])
                proba = np.full((len(test), n_classes), 1e-7)
                proba[:, fitted.classes_] = fitted.predict_proba(x[test])
                losses.append(
                    log_loss(y[test], proba / proba.sum(1, keepdims=True), labels=np.arange(n_classes))
                )
                with warnings.catch_warnings():  # a fold may hold one director only
                    warnings.simplefilter("ignore", UserWarning)
                    scores.append(balanced_accuracy_score(y[test], proba.argmax(1)))
            history["C"].append(c)
            history["cv_log_loss"].append(float(np.mean(losses)))
            history["cv_balanced_accuracy"].append(float(np.mean(scores)))
        best_c = history["C"][int(np.argmin(history["cv_log_loss"]))]
    fitted = model(best_c).fit(x, y)
    history["chosen_C"] = [best_c]
    return Head(
        *_two_columns([fitted.coef_.T.astype(np.float32)], [fitted.intercept_.astype(np.float32)]), history
    )


def _two_columns(weights: list[np.ndarray], biases: list[np.ndarray]) -> tuple[list, list]:
    """scikit-learn scores two classes with one logistic output; make it a two-way softmax."""
    if weights[-1].shape[1] == 1:
        weights[-1] = np.concatenate([-weights[-1] / 2, weights[-1] / 2], axis=1)
        biases[-1] = np.concatenate([-biases[-1] / 2, biases[-1] / 2])
    return weights, biases


def _fit_mlp(x: np.ndarray, y: np.ndarray, config: HeadConfig) -> Head:
    from sklearn.neural_network import MLPClassifier

    counts = np.bincount(y)
    early = counts[counts > 0].min() >= 5  # early stopping needs a validation split of each class
    mlp = MLPClassifier(
        hidden_layer_sizes=(config.hidden or 256,),
        alpha=1e-3,
        early_stopping=early,
        max_iter=300,
        random_state=config.seed,
        learning_rate_init=config.learning_rate,
    ).fit(x, y)
    history = {"loss": [float(v) for v in mlp.loss_curve_]}
    if early:
        history["validation_accuracy"] = [float(v) for v in mlp.validation_scores_]
    weights, biases = _two_columns(
        [w.astype(np.float32) for w in mlp.coefs_], [b.astype(np.float32) for b in mlp.intercepts_]
    )
    return Head(weights, biases, history)


def _fit_sgd(x: np.ndarray, y: np.ndarray, n_classes: int, config: HeadConfig) -> Head:
    import torch
    from torch import nn

    torch.manual_seed(config.seed)
    layers: list[nn.Module] = []
    width = x.shape[1]
    if config.hidden:
        layers += [nn.Linear(width, config.hidden), nn.ReLU(), nn.Dropout(0.5)]
        width = config.hidden
    layers.append(nn.Linear(width, n_classes))
    net = nn.Sequential(*layers)
    optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    weight = torch.tensor(
        np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0), dtype=torch.float32
    )
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    generator = torch.Generator().manual_seed(config.seed)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    for _ in range(config.epochs):
        net.train()
        order = torch.randperm(len(xt), generator=generator)
        total = 0.0
        for start in range(0, len(xt), config.batch_size):
            batch = order[start : start + config.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(net(xt[batch]), yt[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        net.eval()
        with torch.no_grad():
            history["accuracy"].append(float((net(xt).argmax(1) == yt).float().mean()))
        history["loss"].append(total / len(xt))
    linears = [m for m in net if isinstance(m, nn.Linear)]
    return Head(
        [m.weight.detach().numpy().T.copy() for m in linears],
        [m.bias.detach().numpy().copy() for m in linears],
        history,
    )


def head_config(config: TrainConfig, chosen: dict | None = None) -> HeadConfig:
    """The head's settings; ``chosen`` (a fitted head's history) fixes what was tuned, so refits
    in the held-out checks skip the search."""
    fixed = {}
    if chosen and "chosen_C" in chosen:
        fixed["c_grid"] = (chosen["chosen_C"][0],)
    if chosen and "chosen_temperature" in chosen:
        fixed["temperatures"] = (chosen["chosen_temperature"][0],)
    return HeadConfig(
        **fixed,
        head=config.head,
        hubness=config.hubness,
        hubness_k=config.hubness_k,
        actors=config.actors,
        hidden=config.hidden,
        learning_rate=config.learning_rate,
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=config.seed,
    )


def fit(
    data: Labelled, config: TrainConfig, index: np.ndarray | None = None, head: HeadConfig | None = None
) -> tuple[Scaler, object]:
    """Fit scaler and head on the frames at ``index`` (all when ``None``); settings are tuned
    on the held-out units (:mod:`whodirected.models.labelled`) unless ``head`` fixes them."""
    index = np.arange(len(data.y)) if index is None else index
    return fit_scaled(data, index, head or head_config(config), config.scaling)


def fit_scaled(data: Labelled, index: np.ndarray, head: HeadConfig, scaling: str) -> tuple[Scaler, Head]:
    """A scaler and head fitted on the frames at ``index``; a centroid head with a ``faces`` block
    gets its directors' :class:`Actors`. Beside other blocks the faces block has no share in the
    similarities (its registry weight is 0): a mean of many people's faces is no one's face,
    and every frame without a face would look alike."""
    blocks = data.features.blocks
    scaler = Scaler.fit(data.x[index], blocks, scaling)
    fitted = fit_head(
        scaler.transform(data.x[index]), data.y[index], data.units[index], len(data.classes), head, blocks
    )
    if head.head == "centroid" and head.actors > 0:
        temperature = fitted.history["chosen_temperature"][0]
        fitted.actors = Actors.of(data.x[index], data.y[index], blocks, scaler, head.actors * temperature)
    return scaler, fitted
