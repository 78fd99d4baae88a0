"""Training: features from the embed cache, a head fitted on them, a safe model file."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .backbones import block_columns
from .classifier import HeadConfig, Scaler, fit_head
from .config import EmbedConfig, TrainConfig
from .dataset import Dataset
from .embed import Features, embed_dataset
from .index import block_unit, build_index
from .model import Model
from .readout import StyleProfiles


class TrainError(Exception):
    """A dataset or setting that cannot give a model; the message says why."""


@dataclass
class Labelled:
    """Features with integer labels and film groups, ready for a head."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray  # film id per frame
    classes: list[str]
    films: np.ndarray  # film name per frame ("director/film")
    features: Features


def labelled(dataset: Dataset, features: Features) -> Labelled:
    frames = dataset.frames[features.ok]
    classes = sorted(frames.director.unique())
    if len(classes) < 2:
        raise TrainError(
            f"{dataset.root}: only {len(classes)} director(s) with readable frames; a classifier needs at least two"
        )
    index = {c: i for i, c in enumerate(classes)}
    films = (frames.director + "/" + frames.film.astype(str)).to_numpy()
    _, groups = np.unique(films, return_inverse=True)
    y = frames.director.map(index).to_numpy()
    return Labelled(features.matrix, y, groups, classes, films, features)


def dataset_warnings(data: Labelled) -> list[str]:
    """Directors whose evaluation cannot be grouped by film."""
    warnings = []
    for i, name in enumerate(data.classes):
        films = len(np.unique(data.groups[data.y == i]))
        if films < 2:
            warnings.append(
                f"{name}: only {films} film; the model can learn it, but film-grouped evaluation cannot test it"
            )
    return warnings


def head_config(config: TrainConfig) -> HeadConfig:
    return HeadConfig(
        head=config.head,
        hidden=config.hidden,
        learning_rate=config.learning_rate,
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=config.seed,
    )


def fit(data: Labelled, config: TrainConfig, index: np.ndarray | None = None) -> tuple[Scaler, object]:
    """Fit scaler and head on the frames at ``index`` (all when ``None``)."""
    index = np.arange(len(data.y)) if index is None else index
    scaler = Scaler.fit(data.x[index], data.features.blocks)
    head = fit_head(
        scaler.transform(data.x[index]),
        data.y[index],
        data.groups[index],
        len(data.classes),
        head_config(config),
    )
    return scaler, head


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


def build_model(
    dataset: Dataset, data: Labelled, embed: EmbedConfig, config: TrainConfig, style: Features | None = None
) -> Model:
    """Fit the head on every frame of ``data`` and wrap it, with its evidence index, style
    profiles, "unknown director" threshold and metadata, as a model."""
    from .calibrate import calibrate, fixed

    scaler, head = fit(data, config)
    meta = train_meta(dataset, data, embed, config)
    frames = dataset.frames[data.features.ok]
    timestamps = frames["timestamp"] if "timestamp" in frames else np.full(len(frames), np.nan)
    index = build_index(
        block_unit(scaler.transform(data.x), data.features.blocks),
        data.y,
        frames.film.astype(str).to_numpy(),
        np.asarray(timestamps, dtype=np.float64),
        frames.path.tolist(),
        config.index_frames,
        config.thumbnail_side,
        config.film_match_false_rate,
    )
    meta["film_match_threshold"] = index.film_threshold
    if config.calibrate:
        chosen = head.history.get("chosen_C", [None])[0]
        meta["open_set"] = calibrate(data, fixed(head_config(config), chosen), config.seed).to_dict()
    profiles = StyleProfiles.fit(style_values(data, style), data.y, len(data.classes))
    return Model(data.classes, embed.backbone, data.features.blocks, scaler, head, meta, index, profiles)


def embed_for_training(
    dataset: Dataset, embed: EmbedConfig, store: str | Path, on_progress=None
) -> tuple[Features, Features | None]:
    """The dataset's features, and its style block apart when the backbone has none."""
    from .backbones import parts

    features = embed_dataset(
        dataset,
        embed.backbone,
        store,
        embed.batch_size,
        embed.device,
        embed.max_pixels,
        on_progress=on_progress,
    )
    style = None
    if "style" not in parts(embed.backbone):
        style = embed_dataset(
            dataset, "style", store, embed.batch_size, "cpu", embed.max_pixels, on_progress=on_progress
        )
    return features, style


def train(
    dataset: Dataset, embed: EmbedConfig, config: TrainConfig, store: str | Path, on_progress=None
) -> tuple[Model, Labelled]:
    """Embed what is missing, fit the head on every frame, return the model and its data."""
    features, style = embed_for_training(dataset, embed, store, on_progress)
    data = labelled(dataset, features)
    return build_model(dataset, data, embed, config, style), data
