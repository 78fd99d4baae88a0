"""Training: features from the embed cache, a head fitted on them, a safe model file."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
from dataclasses import asdict
from pathlib import Path

import numpy as np

from whodirected import __version__
from whodirected.config import EmbedConfig, TrainConfig
from whodirected.features import faces
from whodirected.features.backbones import block_columns, parts, weighted
from whodirected.features.dataset import Dataset
from whodirected.features.embed import Features, embed
from whodirected.features.vectors import centroids
from whodirected.models.calibrate import calibrate
from whodirected.models.checks import (
    CHANCE_LEVEL,
    films_never_seen_not_measurable,
    films_never_seen_rotations,
    unseen_film_check,
)
from whodirected.models.heads import HeadConfig, fit, head_config
from whodirected.models.index import build_index, index_vectors
from whodirected.models.labelled import Labelled, TrainError, dataset_warnings, frame_parts, labelled
from whodirected.models.model import Model
from whodirected.models.readout import StyleProfiles

__all__ = ["Labelled", "TrainError", "dataset_warnings", "labelled", "train", "build_model", "fit"]


def versions() -> dict[str, str]:
    found = {"whodirected": __version__}
    for package in ("numpy", "scikit-learn", "torch"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[package] = importlib.metadata.version(package)
    return found


def train_meta(dataset: Dataset, data: Labelled, embed: EmbedConfig, config: TrainConfig) -> dict:
    """What a model records of its making: settings, training set, package versions."""
    names = sorted(Path(p).name for p in dataset.frames.path[data.features.ok])
    return {
        "config": {"embed": asdict(embed), "train": asdict(config)},
        "training_set": {
            "frames": int(len(data.y)),
            "films": int(len(np.unique(data.groups))),
            "held_out_units": data.protocol,
            "hash": hashlib.blake2b("\n".join(names).encode(), digest_size=12).hexdigest(),
            "frames_per_director": {c: int((data.y == i).sum()) for i, c in enumerate(data.classes)},
        },
        "versions": versions(),
    }


def style_values(data: Labelled, style: Features | None) -> np.ndarray:
    """The style descriptors of every training frame: the model's own style block, or ``style``
    (the same dataset embedded with the ``style`` backbone alone)."""
    columns = block_columns(data.features.blocks, "style")
    if columns:
        return data.x[:, columns]
    if style is None:
        raise ValueError("the model has no style block: pass the dataset's style features")
    row = np.cumsum(style.ok) - 1  # dataset frame -> row of style.matrix
    wanted = np.flatnonzero(data.features.ok)
    values = style.matrix[row[wanted]].copy()
    values[~style.ok[wanted]] = np.nan
    return values


def face_descriptors(x: np.ndarray, blocks: list[tuple[str, int]]) -> np.ndarray | None:
    """Each row's largest-face descriptor (NaN without a face), when there is a faces block."""
    columns = block_columns(blocks, "faces")
    if columns is None:
        return None
    descriptors, found = faces.embeddings(x[:, columns])
    return np.where(found[:, None], descriptors, np.nan).astype(np.float32)


def never_seen_summary(data: Labelled, config: TrainConfig, head: HeadConfig) -> dict:
    """The films-never-seen check (at most ``config.folds`` rotations, the head's settings fixed
    to ``head``) as the model records it: frame top-1, one verdict per film, chance and whether
    the test against chance passed; or a note saying why it is not measurable."""
    note = films_never_seen_not_measurable(data)
    if note is not None:
        return {"note": note}
    check = unseen_film_check(data, config, min(config.folds, films_never_seen_rotations(data)), head)
    assert check is not None
    p = check["top1"]["p"]
    return {
        "top1": check["top1"]["value"],
        "film_verdict": check["film_verdict"]["value"],
        "chance": check["chance"]["top1"],
        "p": p,
        "above_chance": p is not None and p <= CHANCE_LEVEL,
        "films": check["films"],
        "directors_tested": check["directors_tested"],
        "rotations": check["rotations"],
    }


def build_model(
    dataset: Dataset, data: Labelled, embed: EmbedConfig, config: TrainConfig, style: Features | None = None
) -> Model:
    """Fit the head on every frame of ``data`` and wrap it, with its evidence index, style
    profiles, "unknown director" thresholds and metadata, as a model."""
    scaler, head = fit(data, config)
    meta = train_meta(dataset, data, embed, config)
    frames = dataset.frames[data.features.ok]
    timestamps = frames["timestamp"] if "timestamp" in frames else np.full(len(frames), np.nan)
    scaled = scaler.transform(data.x)
    index = build_index(
        index_vectors(scaled, data.features.blocks),
        data.y,
        frames.film.astype(str).to_numpy(),
        frame_parts(dataset)[data.features.ok],
        np.asarray(timestamps, dtype=np.float64),
        frames.path.tolist(),
        config.index_frames,
        config.thumbnail_side,
        config.film_match_false_rate,
        face_descriptors(data.x, data.features.blocks),
    )
    meta["film_match_threshold"] = index.film_threshold
    face_columns = block_columns(data.features.blocks, "faces")
    if face_columns is not None:  # each director's shot scales, for the read-out
        meta["shot_scales"] = {
            c: dict(
                zip(
                    faces.SCALES,
                    faces.scale_shares(data.x[data.y == i, face_columns]).round(4).tolist(),
                    strict=True,
                )
            )
            for i, c in enumerate(data.classes)
        }
    tuned = head_config(config, head.history)
    meta["films_never_seen"] = never_seen_summary(data, config, tuned)
    open_set = calibrate(data, config, tuned) if config.calibrate else None
    profiles = StyleProfiles.fit(style_values(data, style), data.y, len(data.classes))
    means = centroids(scaled, data.y, len(data.classes), data.features.blocks)
    return Model(
        data.classes,
        embed.backbone,
        weighted(data.features.blocks),  # the model keeps each block's weight
        scaler,
        head,
        meta,
        index,
        profiles,
        means,
        open_set,
    )


def embed_for_training(
    dataset: Dataset, embed_config: EmbedConfig, store: str | Path, on_progress=None
) -> tuple[Features, Features | None]:
    """The dataset's features, and its style block apart when the backbone has none."""
    features = embed(dataset, embed_config, store, on_progress)
    style = None
    if "style" not in parts(embed_config.backbone):
        style = embed(dataset, embed_config, store, on_progress, backbone="style")
    return features, style


def train(
    dataset: Dataset,
    embed: EmbedConfig,
    config: TrainConfig,
    store: str | Path | None = None,
    on_progress=None,
) -> tuple[Model, Labelled]:
    """Embed what is missing (into ``store``, default the dataset's own), fit the head on every
    frame, calibrate; return the model and its data."""
    features, style = embed_for_training(dataset, embed, store or dataset.store, on_progress)
    data = labelled(dataset, features)
    return build_model(dataset, data, embed, config, style), data
