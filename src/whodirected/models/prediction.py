"""Prediction: screenshots, folders and clips to ranked directors with evidence.

The library call is ``Model.load(path).predict(image)``; this module does the work behind it
and gives the typed result (:class:`Prediction`) that the CLI and the web page both show:
the ranked directors, the verdict (a name, or "unknown director" below the model's
calibrated thresholds), the nearest training frames, the training film of the nearest one,
and the style read-out. A picture that cannot be judged — too small, or blank — gets that as
its verdict and no director at all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PIL import Image

from whodirected.config import PredictConfig
from whodirected.features import faces, style
from whodirected.features.backbones import block_columns
from whodirected.features.images import load_picture
from whodirected.models.explain import Explanation, explain, overlay
from whodirected.models.index import FilmMatch
from whodirected.models.readout import StyleReadout, read_out


class Model(Protocol):
    """What prediction needs of a model (:class:`whodirected.models.model.Model` has it all)."""

    classes: list[str]
    blocks: list[tuple[str, int]]
    index: Any
    meta: dict
    profiles: Any
    min_confidence: float
    min_familiarity: float
    never_seen: str

    def extractors(self) -> list: ...
    def predict_proba(self, features: np.ndarray) -> np.ndarray: ...
    def logits(self, features: np.ndarray) -> np.ndarray: ...
    def index_vectors(self, features: np.ndarray) -> np.ndarray: ...
    def unit_vectors(self, features: np.ndarray) -> np.ndarray: ...
    def familiarity(self, vectors: np.ndarray) -> np.ndarray: ...


UNKNOWN = "unknown director"
TOO_SMALL = "too small to judge"
BLANK = "blank frame"


@dataclass
class Ranked:
    director: str
    probability: float


@dataclass
class Evidence:
    """A training frame near the screenshot in feature space."""

    id: int  # position in the model's index (its thumbnail's id)
    director: str
    film: str
    part: str  # the film's file the frame comes from ("" when the film is one file)
    timestamp: float | None  # seconds into that file, when known
    frame: str  # the training frame's file name
    similarity: float  # cosine similarity, 1 identical


@dataclass
class FaceMatch:
    """The face in a screenshot matches faces of one director's training frames: a recurring
    actor. Only the user's own training frames are compared; nobody is named."""

    director: str
    frames: int  # training frames whose largest face is this person
    films: list[str]
    ids: list[int]  # the nearest of those frames (thumbnail ids), nearest first
    distance: float  # descriptor distance to the nearest (under 0.6: the same person)

    @property
    def summary(self) -> str:
        frames = f"{self.frames} frame{'s' if self.frames != 1 else ''}"
        films = f"{len(self.films)} film{'s' if len(self.films) != 1 else ''}"
        return f"the face in this frame matches faces in {frames} of {films} by {self.director}"


@dataclass
class Prediction:
    """What the model says of one image, or of several frames taken together."""

    source: str  # the file, "clip.mp4 @ 12.0 s", or "upload"
    ranking: list[Ranked]  # every director, most likely first (empty when the picture was not judged)
    min_confidence: float  # below it the verdict is "unknown director"
    familiarity: float = 1.0  # similarity to the nearest director's mean direction
    min_familiarity: float = -1.0  # below it the verdict is "unknown director" too
    refusal: str | None = None  # why the picture was not judged (TOO_SMALL, BLANK), with its reason
    reason: str = ""  # the refusal's reason in words
    evidence: list[Evidence] = field(default_factory=list)
    film: FilmMatch | None = None
    style: StyleReadout | None = None
    frames: list[Prediction] = field(default_factory=list)  # the frames behind an aggregate verdict
    aggregate: str | None = None  # how ``frames`` were combined
    shot_scale: str | None = None  # close-up, medium, long or "no face", with a faces block
    shot_scale_share: float | None = None  # the share of the top director's training frames at that scale
    face_matches: list[FaceMatch] = field(default_factory=list)  # recurring actors, by director
    films_never_seen: str = ""  # the model's measured accuracy on films it never saw, in words
    explanation: Explanation | None = None  # where the evidence for a director lies (asked for)
    overlay: Image.Image | None = field(default=None, repr=False)  # the picture with that heat on it

    @property
    def confidence(self) -> float:
        return self.ranking[0].probability if self.ranking else 0.0

    @property
    def shot(self) -> str | None:
        """The shot scale in words, beside the top director's habit when the model knows it."""
        if self.shot_scale is None:
            return None
        if self.shot_scale_share is None or not self.ranking:
            return self.shot_scale
        return f"{self.shot_scale} ({self.shot_scale_share:.0%} of {self.ranking[0].director}'s training frames are)"

    @property
    def unfamiliar(self) -> bool:
        """Unlike every director's usual look: the familiarity threshold says "unknown"."""
        return self.familiarity < self.min_familiarity

    @property
    def unknown(self) -> bool:
        """No director is named: not judged, or below either threshold."""
        return self.refusal is not None or self.confidence < self.min_confidence or self.unfamiliar

    @property
    def verdict(self) -> str:
        if self.refusal is not None:
            return self.refusal
        return UNKNOWN if self.unknown else self.ranking[0].director

    @property
    def claim(self) -> str:
        """Two claims kept apart: a frame of a film the model was trained on (the nearest frame
        passes the film-match threshold), or a film it does not have, named by its style only."""
        if self.refusal is not None or not self.ranking:
            return ""
        if self.film is not None and self.film.known:
            return f"from a film you have: {self.film.film} ({self.film.director})"
        if self.unknown:
            return "not from a film you have, and unlike the directors the model knows"
        claim = f"not matched to a film you have; by its style, most like {self.ranking[0].director}"
        return f"{claim} ({self.films_never_seen})" if self.films_never_seen else claim

    def to_dict(self, top_k: int | None = None) -> dict[str, Any]:
        """JSON-ready; the schema of ``predict --json``, ``--save`` and the web API."""
        return {
            "source": self.source,
            "verdict": self.verdict,
            "unknown": self.unknown,
            "confidence": round(self.confidence, 6),
            "min_confidence": round(self.min_confidence, 6),
            "familiarity": round(self.familiarity, 6),
            "min_familiarity": round(self.min_familiarity, 6),
            "ranking": [
                {"director": r.director, "probability": round(r.probability, 6)} for r in self.ranking[:top_k]
            ],
            "evidence": [asdict(e) for e in self.evidence],
            "film": asdict(self.film) if self.film else None,
            "claim": self.claim,
            "films_never_seen": self.films_never_seen,
            "explanation": self.explanation.to_dict() if self.explanation else None,
            "style": asdict(self.style) if self.style else None,
            "refusal": self.refusal,
            "reason": self.reason,
            "aggregate": self.aggregate,
            "shot_scale": self.shot_scale,
            "shot_scale_share": self.shot_scale_share,
            "face_matches": [asdict(m) | {"summary": m.summary} for m in self.face_matches],
            "frames": [f.to_dict(top_k) for f in self.frames],
        }


# -- images to predictions ------------------------------------------------------------------------
def judgeable(
    picture: Image.Image, min_side: int = PredictConfig.min_side, min_detail: float = PredictConfig.min_detail
) -> tuple[str, str] | None:
    """``(refusal, reason)`` for a picture that cannot be judged, else ``None``."""
    if min(picture.size) < min_side:
        return TOO_SMALL, f"{picture.width}x{picture.height} pixels; under {min_side} on a side"
    thumb = np.asarray(picture.convert("L").resize((64, 36), Image.Resampling.BILINEAR), dtype=np.float32)
    if thumb.std() < min_detail:
        return BLANK, f"near-uniform picture (brightness varies by {thumb.std():.1f} of 255 levels)"
    return None


def predict_images(
    model: Model,
    images: list[Any],
    evidence: int = PredictConfig.evidence,
    trim_borders: bool = PredictConfig.trim_borders,
    min_confidence: float | None = None,
    sources: list[str] | None = None,
    explain_for: str | bool = False,
) -> list[Prediction]:
    """One :class:`Prediction` per image, from one batched forward pass per backbone block;
    ``explain_for`` (``True``: the top director, or a director's name) adds each judged
    picture's heat map and overlay (:mod:`whodirected.models.explain`)."""
    if not images:
        return []
    pictures = [load_picture(image, trim_borders) for image in images]
    labels = sources or [_label(image) for image in images]
    threshold = model.min_confidence if min_confidence is None else min_confidence
    results = [
        Prediction(
            label, [], threshold, min_familiarity=model.min_familiarity, films_never_seen=model.never_seen
        )
        for label in labels
    ]
    judged = []
    for n, picture in enumerate(pictures):
        refused = judgeable(picture)
        if refused:
            results[n].refusal, results[n].reason = refused
        else:
            judged.append(n)
    if not judged:
        return results
    judged_pictures = [pictures[n] for n in judged]
    blocks = [e.embed([e.preprocess(p) for p in judged_pictures]) for e in model.extractors()]
    features = np.concatenate(blocks, axis=1).astype(np.float32)
    proba = model.predict_proba(features)
    styles = _style_values(model, features, judged_pictures)
    vectors = model.unit_vectors(features)
    familiar = model.familiarity(vectors)
    face_columns = block_columns(model.blocks, "faces")
    sims = ids = None
    if model.index is not None and len(model.index):
        sims, ids = model.index.search(model.index_vectors(features), max(evidence, 1))
    for row, n in enumerate(judged):
        p = proba[row]
        order = np.argsort(-p, kind="stable")
        prediction = results[n]
        prediction.ranking = [Ranked(model.classes[i], float(p[i])) for i in order]
        prediction.familiarity = float(familiar[row])
        if sims is not None and ids is not None:
            prediction.evidence = _evidence(model, sims[row], ids[row], evidence)
            film = model.index.film_match(sims[row][0], ids[row][0], model.classes)  # type: ignore[union-attr]
            film.known = film.known and not prediction.unfamiliar  # "trained on" and "unlike all": never both
            prediction.film = film
        if model.profiles is not None:
            prediction.style = read_out(styles[row], model.profiles, int(order[0]), model.classes[order[0]])
        if face_columns is not None:
            prediction.shot_scale = faces.scale_of_row(features[row, face_columns])
            shares = model.meta.get("shot_scales", {}).get(model.classes[order[0]])
            prediction.shot_scale_share = shares[prediction.shot_scale] if shares else None
            prediction.face_matches = _face_matches(model, features[row, face_columns])
        if explain_for:
            director = None if explain_for is True else str(explain_for)
            prediction.explanation = explain(model, judged_pictures[row], director)
            prediction.overlay = overlay(judged_pictures[row], prediction.explanation)
    return results


def _label(image: Any) -> str:
    return str(image) if isinstance(image, (str, Path)) else "upload" if isinstance(image, bytes) else "image"


def _style_values(model: Model, features: np.ndarray, pictures: list[Image.Image]) -> np.ndarray:
    """The style descriptors: the model's own style block when it has one, else computed."""
    columns = block_columns(model.blocks, "style")
    return features[:, columns] if columns else np.stack([style.describe(p) for p in pictures])


def _face_matches(model: Model, block: np.ndarray, shown: int = 4) -> list[FaceMatch]:
    """The training frames with the same person as this frame's largest face, by director."""
    descriptors, found = faces.embeddings(block)
    if model.index is None or not found[0]:
        return []
    ids, distances = model.index.face_matches(descriptors[0], faces.MATCH_DISTANCE)
    matches = []
    for director in dict.fromkeys(int(model.index.director[i]) for i in ids):  # nearest director first
        mine = [
            (int(i), float(d))
            for i, d in zip(ids, distances, strict=True)
            if model.index.director[i] == director
        ]
        films = list(dict.fromkeys(str(model.index.film[i]) for i, _ in mine))
        matches.append(
            FaceMatch(
                model.classes[director], len(mine), films, [i for i, _ in mine[:shown]], round(mine[0][1], 4)
            )
        )
    return matches


def _evidence(model: Model, sims: np.ndarray, ids: np.ndarray, n: int) -> list[Evidence]:
    index = model.index
    assert index is not None
    found = []
    for sim, i in zip(sims[:n], ids[:n], strict=True):
        timestamp = float(index.timestamp[i])
        found.append(
            Evidence(
                int(i),
                model.classes[int(index.director[i])],
                str(index.film[i]),
                str(index.part[i]),
                None if math.isnan(timestamp) else round(timestamp, 3),
                str(index.name[i]),
                round(float(sim), 4),
            )
        )
    return found
