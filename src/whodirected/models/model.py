"""A trained model on disk: arrays in ``model.npz`` and ``index.npz`` plus ``model.json`` —
never a pickle.

``model.json`` holds the format version, backbone id and preprocessing, class names, feature
blocks, configuration, metrics, the "unknown director" thresholds, package versions and the
training set's hash; ``model.npz`` the head, the feature scaler, each director's mean
direction (for familiarity) and style profile; ``index.npz`` the evidence index (:mod:`whodirected.models.index`). Loading reads arrays
with ``allow_pickle=False``, so a model from a stranger runs no code.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from whodirected._atomic import atomic_folder
from whodirected.errors import ModelError
from whodirected.features.backbones import REGISTRY, block_columns, content_blocks, create, parts, weighted
from whodirected.features.images import load_picture
from whodirected.features.vectors import block_unit, familiarity
from whodirected.models.calibrate import OpenSet
from whodirected.models.explain import Explanation, explain
from whodirected.models.heads import Actors, Head, Scaler
from whodirected.models.index import FrameIndex, index_vectors
from whodirected.models.prediction import predict_images
from whodirected.models.readout import StyleProfiles
from whodirected.models.schema import check_actors, check_arrays, check_info, read_json, read_npz

FORMAT = "whodirected-model"
FORMAT_VERSION = 5
READABLE_VERSIONS = (3, 4, 5)  # 3: familiarity is the similarity to the nearest director's mean
# 4: a faces block counts as recurring actors, not in the similarities (a 3 with one is refused)
# 5: each block keeps its weight, [name, size, weight], whatever the registry says later
WEIGHTS_BEFORE_5 = {"style": 1.0}  # registry weights that have changed since, for older models
STRUCTURE = (
    "format",
    "format_version",
    "classes",
    "backbone",
    "blocks",
    "layers",
    "head_unit_blocks",
    "history",
    "actor_bonus",
)


def _weighted_as_saved(blocks: list[list]) -> list[tuple[str, int, float]]:
    """A model file's blocks with their weights: its own (format 5), else the registry's weights
    of the time it was saved."""
    return weighted(
        [
            (name, size, *weight)
            if weight or name not in WEIGHTS_BEFORE_5
            else (name, size, WEIGHTS_BEFORE_5[name])
            for name, size, *weight in blocks
        ]
    )


@dataclass
class Model:
    """A classifier head on a backbone's features, with everything needed to use it."""

    classes: list[str]
    backbone: str
    blocks: list[tuple[str, int, float]]  # (name, size, weight in the similarities)
    scaler: Scaler
    head: Head
    meta: dict = field(default_factory=dict)  # config, training set, versions, film-match threshold...
    index: FrameIndex | None = None  # training frames shown as evidence
    profiles: StyleProfiles | None = None  # each director's usual style
    centroids: np.ndarray | None = None  # (directors, features): each one's mean direction (familiarity)
    open_set: OpenSet | None = None  # the calibrated "unknown director" thresholds and what they give
    device: str | None = None  # where the backbone runs (None: cuda when available)
    path: Path | None = None  # the folder it was loaded from or saved to
    _extractors: list = field(default_factory=list, repr=False)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Director probabilities, ``(n, len(classes))``, for raw (unscaled) features."""
        return self.head.predict_proba(self.scaler.transform(np.atleast_2d(features)))

    def logits(self, features: np.ndarray) -> np.ndarray:
        """The head's scores before the softmax, ``(n, len(classes))``, for raw features."""
        return self.head.logits(self.scaler.transform(np.atleast_2d(features)))

    def explain(self, image, director: str | None = None) -> Explanation:
        """Where in ``image`` (a path, bytes, PIL image or array) the evidence for ``director``
        (default: the top one) lies: a coarse heat map (:mod:`whodirected.models.explain`)."""
        return explain(self, load_picture(image), director)

    def unit_vectors(self, features: np.ndarray) -> np.ndarray:
        """Raw features as the block-unit vectors that the director means use."""
        return block_unit(self.scaler.transform(np.atleast_2d(features)), self.blocks)

    def index_vectors(self, features: np.ndarray) -> np.ndarray:
        """Raw features as the evidence index compares them (:func:`~.index.index_vectors`; a
        model saved before the index kept to content blocks has every block in it)."""
        scaled = self.scaler.transform(np.atleast_2d(features))
        if self.index is not None and self.index.vectors.shape[1] == scaled.shape[1]:
            return block_unit(scaled, self.blocks)
        return index_vectors(scaled, self.blocks)

    def familiarity(self, vectors: np.ndarray) -> np.ndarray:
        """Similarity of each of :meth:`unit_vectors` to the nearest director's mean direction
        (1 for a model without director means: nothing is unfamiliar)."""
        if self.centroids is None:
            return np.ones(len(vectors), np.float32)
        return familiarity(vectors, self.centroids)

    @property
    def min_confidence(self) -> float:
        """The calibrated top probability below which the verdict is "unknown director"."""
        return self.open_set.threshold if self.open_set else 0.0

    @property
    def min_familiarity(self) -> float:
        """The calibrated familiarity (similarity to the nearest director's mean) below which the
        verdict is "unknown director"."""
        return self.open_set.familiarity if self.open_set else -1.0

    @property
    def never_seen(self) -> str:
        """How often the model names the director of a film it has never seen, measured at
        training time (``train``'s films-never-seen check), in words; or why it is not measurable."""
        figure = self.meta.get("films_never_seen")
        if not isinstance(figure, dict):
            return ""
        if figure.get("note"):
            return str(figure["note"])
        try:
            return (
                f"films never seen: this model named the director of {float(figure['top1']):.0%} of their "
                f"frames (chance {float(figure['chance']):.0%}): "
                + ("above chance" if figure.get("above_chance") else "not distinguishable from chance")
                + (f", p = {float(figure['p']):.2f}" if figure.get("p") is not None else "")
            )
        except (KeyError, TypeError, ValueError):
            return ""

    def extractors(self) -> list:
        """The backbone blocks, built on first use and kept (raises ``BackboneError``)."""
        if not self._extractors:
            names = parts(self.backbone)
            blocks = [(name, REGISTRY[name].dim) for name in names]
            if blocks != [(name, size) for name, size, *_ in self.blocks]:
                raise ModelError(
                    f"backbone {self.backbone} gives features {blocks}, the model expects {self.blocks}"
                )
            self._extractors = [create(name, self.device) for name in names]
        return self._extractors

    def predict(self, image, **options):
        """Rank the directors of one image (a path, bytes, PIL image or array) as a
        :class:`~whodirected.predict.Prediction`; ``options`` as for :meth:`predict_many`."""
        return self.predict_many([image], **options)[0]

    def predict_many(self, images: list, **options) -> list:
        """Predictions for several images in one batched forward pass; ``options``: ``evidence``
        (nearest frames), ``trim_borders``, ``min_confidence`` (default: the model's own)."""

        return predict_images(self, images, **options)

    # -- files -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model folder atomically (a temporary folder renamed into place)."""
        arrays = {"scaler_mean": self.scaler.mean, "scaler_scale": self.scaler.scale}
        if self.centroids is not None:
            arrays["centroids"] = self.centroids
        if self.profiles is not None:
            arrays.update(self.profiles.arrays())
        for i, (w, b) in enumerate(zip(self.head.weights, self.head.biases, strict=True)):
            arrays[f"layer{i}_weight"], arrays[f"layer{i}_bias"] = w, b
        actors = self.head.actors
        if actors is not None:
            arrays["actor_faces"] = actors.faces.astype(np.float16)  # as the index keeps faces
            arrays["actor_directors"] = actors.directors
        info = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "classes": self.classes,
            "backbone": self.backbone,
            "blocks": [list(b) for b in self.blocks],
            "layers": len(self.head.weights),
            "head_unit_blocks": self.head.unit_blocks,
            "history": self.head.history,
            "actor_bonus": None if actors is None else actors.bonus,
            "open_set": self.open_set.to_dict() if self.open_set else None,
            **self.meta,
        }
        with atomic_folder(path) as tmp:
            if self.index is not None:
                self.index.save(tmp)
            with (tmp / "model.npz").open("wb") as handle:
                np.savez(handle, **arrays)
            (tmp / "model.json").write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
        self.path = Path(path)
        return self.path

    @classmethod
    def load(cls, path: str | Path) -> Model:
        path = Path(path)
        if not (path / "model.json").is_file():
            raise ModelError(
                f"{path}: not a whodirected model (no model.json); train one with `whodirected train`"
            )
        try:
            info = read_json(path / "model.json")
            if info.get("format") != FORMAT:
                raise ModelError(f"{path}: model.json is not a whodirected model")
            version = info.get("format_version")
            if version not in READABLE_VERSIONS:
                newer = isinstance(version, int) and version > FORMAT_VERSION
                raise ModelError(
                    f"{path}: model format {version} is {'newer' if newer else 'older'} than this whodirected "
                    f"reads ({FORMAT_VERSION}); {'upgrade whodirected' if newer else 'retrain the model'}"
                )
            check_info(path / "model.json", info)
            if version == 3 and any(block[0] == "faces" for block in info["blocks"]):
                raise ModelError(
                    f"{path}: this model weighs its faces block as whodirected did before faces counted "
                    "as recurring actors (format 3); retrain it"
                )
            blocks = _weighted_as_saved(info["blocks"])
            width = sum(size for _, size, _ in blocks)
            layers = info["layers"]
            arrays = read_npz(path / "model.npz")
            check_arrays(path / "model.npz", arrays, layers, len(info["classes"]), width)
            head = Head(
                [arrays[f"layer{i}_weight"] for i in range(layers)],
                [arrays[f"layer{i}_bias"] for i in range(layers)],
                info.get("history", {}),
                [
                    v if isinstance(v, int) else _weighted_as_saved([v])[0]
                    for v in info.get("head_unit_blocks", [])
                ],
            )
            scaler = Scaler(arrays["scaler_mean"], arrays["scaler_scale"])
            if info.get("actor_bonus") is not None:
                check_actors(path / "model.npz", arrays, len(info["classes"]))
                head.actors = Actors.build(
                    arrays["actor_faces"],
                    arrays["actor_directors"],
                    info["actor_bonus"],
                    block_columns(blocks, "faces"),  # check_info: a model with actors has the block
                    scaler,
                )
            profiles = StyleProfiles.from_arrays(arrays)
            index = FrameIndex.load(path, len(info["classes"]))
            open_set = OpenSet(**info["open_set"]) if info.get("open_set") else None
            if index is not None and index.vectors.shape[1] not in (
                len(content_blocks(blocks)[1]),
                width,  # saved before the index kept to content blocks
            ):
                raise ModelError(f"{path}: index.npz does not match the model's features")
        except ModelError:
            raise
        except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile) as exc:
            raise ModelError(f"{path}: corrupt model ({type(exc).__name__}: {exc})") from None
        meta = {k: v for k, v in info.items() if k not in STRUCTURE and k != "open_set"}
        return cls(
            list(info["classes"]),
            info["backbone"],
            blocks,
            scaler,
            head,
            meta,
            index,
            profiles,
            arrays.get("centroids"),
            open_set,
            path=path,
        )
