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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from . import style
from .backbones import block_columns
from .config import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, ExtractConfig, PredictConfig
from .images import ImageError, from_array, open_image, to_rgb, trim_borders
from .index import FilmMatch
from .readout import StyleReadout, read_out

if TYPE_CHECKING:
    from .model import Model

UNKNOWN = "unknown director"
TOO_SMALL = "too small to judge"
BLANK = "blank frame"
AGGREGATES = ("mean", "log", "none")


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

    @property
    def confidence(self) -> float:
        return self.ranking[0].probability if self.ranking else 0.0

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
            "style": asdict(self.style) if self.style else None,
            "refusal": self.refusal,
            "reason": self.reason,
            "aggregate": self.aggregate,
            "frames": [f.to_dict(top_k) for f in self.frames],
        }


# -- images to predictions ------------------------------------------------------------------------
def load_image(
    image: Any,
    trim: bool = True,
    max_pixels: int = PredictConfig.max_pixels,
    max_bytes: int = PredictConfig.max_bytes,
) -> Image.Image:
    """Any accepted input as an upright RGB picture, uniform borders trimmed (``ImageError``)."""
    if isinstance(image, Image.Image):
        picture = to_rgb(image)
    elif isinstance(image, np.ndarray):
        picture = from_array(image)
    elif isinstance(image, (str, Path, bytes)):
        picture = open_image(image, max_pixels, max_bytes=max_bytes)
    else:
        raise ImageError(f"cannot predict a {type(image).__name__}: give a path, bytes, PIL image or array")
    return trim_borders(picture) if trim else picture


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
) -> list[Prediction]:
    """One :class:`Prediction` per image, from one batched forward pass per backbone block."""
    if not images:
        return []
    pictures = [load_image(image, trim_borders) for image in images]
    labels = sources or [_label(image) for image in images]
    threshold = model.min_confidence if min_confidence is None else min_confidence
    results = [Prediction(label, [], threshold, min_familiarity=model.min_familiarity) for label in labels]
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
    sims = ids = None
    if model.index is not None and len(model.index):
        sims, ids = model.index.search(vectors, max(evidence, 1))
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
    return results


def _label(image: Any) -> str:
    return str(image) if isinstance(image, (str, Path)) else "upload" if isinstance(image, bytes) else "image"


def _style_values(model: Model, features: np.ndarray, pictures: list[Image.Image]) -> np.ndarray:
    """The style descriptors: the model's own style block when it has one, else computed."""
    columns = block_columns(model.blocks, "style")
    return features[:, columns] if columns else np.stack([style.describe(p) for p in pictures])


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


def aggregate(model: Model, frames: list[Prediction], how: str, source: str) -> Prediction:
    """One verdict for several frames: the mean of their probabilities (``mean``) or of their
    log-probabilities (``log``, a product of experts that punishes any frame's doubt). Frames
    that could not be judged are left out; the film is that of the best evidence frame."""
    if how not in ("mean", "log"):
        raise ValueError(f"unknown aggregate {how!r}; choose from {', '.join(AGGREGATES)}")
    judged = [f for f in frames if f.refusal is None]
    result = Prediction(source, [], frames[0].min_confidence, min_familiarity=frames[0].min_familiarity)
    result.frames, result.aggregate = frames, how
    if not judged:
        result.refusal, result.reason = frames[0].refusal, f"none of its {len(frames)} frames could be judged"
        return result
    names = model.classes
    column = {name: i for i, name in enumerate(names)}
    proba = np.zeros((len(judged), len(names)))
    for row, frame in enumerate(judged):
        for ranked in frame.ranking:
            proba[row, column[ranked.director]] = ranked.probability
    if how == "mean":
        combined = proba.mean(axis=0)
    else:
        logs = np.log(np.clip(proba, 1e-12, 1.0)).mean(axis=0)
        combined = np.exp(logs - logs.max())
        combined /= combined.sum()
    order = np.argsort(-combined, kind="stable")
    result.ranking = [Ranked(names[i], float(combined[i])) for i in order]
    result.familiarity = float(np.mean([f.familiarity for f in judged]))
    best: dict[int, Evidence] = {}
    for evidence in (e for f in judged for e in f.evidence):
        if evidence.id not in best or evidence.similarity > best[evidence.id].similarity:
            best[evidence.id] = evidence
    result.evidence = sorted(best.values(), key=lambda e: -e.similarity)[: len(judged[0].evidence)]
    with_film = [f for f in judged if f.film is not None and f.evidence]
    if with_film:
        nearest = max(with_film, key=lambda f: f.evidence[0].similarity)
        film = nearest.film
        assert film is not None
        result.film = FilmMatch(
            film.film, film.director, film.similarity, film.known and not result.unfamiliar
        )
    if model.profiles is not None and all(f.style for f in judged):
        values = np.mean([list(f.style.descriptors.values()) for f in judged], axis=0)  # type: ignore[union-attr]
        result.style = read_out(
            values, model.profiles, names.index(result.ranking[0].director), result.ranking[0].director
        )
    return result


# -- what the command line accepts: images, folders of them, video clips ----------------------------
@dataclass
class Item:
    """One thing to predict: an image file, or a clip or folder whose frames go together."""

    path: Path
    kind: str  # "image", "clip" or "folder"


def collect(paths: list[Path]) -> tuple[list[Item], list[str]]:
    """Sort the command line's paths into items; one error line for each unusable path."""
    items, errors = [], []
    for path in paths:
        suffix = path.suffix.lower()
        if not path.exists():
            errors.append(f"{path}: no such file or folder")
        elif path.is_dir():
            if folder_images(path):
                items.append(Item(path, "folder"))
            else:
                errors.append(f"{path}: folder has no images ({', '.join(IMAGE_EXTENSIONS)})")
        elif suffix in VIDEO_EXTENSIONS:
            items.append(Item(path, "clip"))
        else:
            items.append(Item(path, "image"))  # decoding decides, not the extension
    return items, errors


def folder_images(folder: Path) -> list[Path]:
    """The images in ``folder`` and its subfolders (hidden ones skipped), sorted."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def clip_frames(path: Path, count: int) -> list[tuple[float, Image.Image]]:
    """``count`` frames spread over a clip, black frames and credits left out (``VideoError``)."""
    from .filters import DuplicateFilter, rejection
    from .sampling import spread
    from .video import Video, VideoError

    config = ExtractConfig(mode="per-film", per_film=count, drop_duplicates=False)
    with Video(path) as video:
        if video.duration <= 0:
            raise VideoError(f"{path}: unknown or zero duration")
        targets = [t.time for t in spread(video.duration, count)]
        frames = [(f.target, f.image) for f in video.sample(targets)]
    duplicates = DuplicateFilter(config.duplicate_distance)
    kept = [(t, image) for t, image in frames if rejection(image, config, duplicates) is None]
    if not kept:
        raise VideoError(f"{path}: no usable frames (all black or credits)")
    return kept


def predict_items(
    model: Model,
    items: list[Item],
    config: PredictConfig,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[list[Prediction], list[str]]:
    """Predict every item; a bad file costs one error line, never the rest of the batch.

    Frames go through the model ``config.batch_size`` at a time, so a folder of any size
    never sits in memory whole; ``on_progress(frames_done)`` follows them.
    """
    from .video import VideoError

    results: list[Prediction] = []
    errors: list[str] = []
    done = 0
    options = {"evidence": config.evidence, "min_confidence": config.min_confidence, "trim_borders": False}
    for item in items:
        predictions: list[Prediction] = []
        try:
            for pictures, sources in _batches(item, config, errors):
                predictions += predict_images(model, pictures, sources=sources, **options)
                done += len(pictures)
                if on_progress:
                    on_progress(done)
        except (ImageError, VideoError) as exc:
            errors.append(str(exc))
            continue
        how = config.aggregate or ("mean" if item.kind == "clip" else "none")
        if how != "none" and len(predictions) > 1:
            results.append(aggregate(model, predictions, how, str(item.path)))
        else:
            results += predictions
    return results, errors


def _batches(
    item: Item, config: PredictConfig, errors: list[str]
) -> Iterator[tuple[list[Image.Image], list[str]]]:
    """An item's pictures and their labels, a batch at a time; unreadable images are skipped,
    each with a line in ``errors`` (a clip that cannot be read raises ``VideoError``)."""
    if item.kind == "clip":
        frames = [
            (f"{item.path} @ {t:.1f} s", image) for t, image in clip_frames(item.path, config.clip_frames)
        ]
    else:
        frames = folder_images(item.path) if item.kind == "folder" else [item.path]
    for start in range(0, len(frames), config.batch_size):
        pictures, sources = [], []
        for frame in frames[start : start + config.batch_size]:
            try:
                if isinstance(frame, tuple):
                    sources.append(frame[0])
                    pictures.append(load_image(frame[1], config.trim_borders))
                else:
                    pictures.append(
                        load_image(frame, config.trim_borders, config.max_pixels, config.max_bytes)
                    )
                    sources.append(str(frame))
            except ImageError as exc:
                errors.append(str(exc))
        if pictures:
            yield pictures, sources


CSV_COLUMNS = ("source", "frame", "verdict", "confidence", "unknown", "film", "film_known", "film_similarity")


def save_results(report: dict[str, Any], results: list[Prediction], path: Path) -> Path:
    """Write ``report`` as JSON, or ``results`` as CSV (one row per frame), atomically."""
    import csv
    import io
    import json

    from . import atomic

    suffix = path.suffix.lower()
    if suffix == ".json":
        atomic.write_text(path, json.dumps(report, indent=2, ensure_ascii=False))
        return path
    if suffix != ".csv":
        raise ValueError("--save writes .json or .csv")
    top_k = max((len(p["ranking"]) for p in report["predictions"]), default=0)
    rank_columns = [f"{kind}{i}" for i in range(1, top_k + 1) for kind in ("director", "probability")]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *rank_columns])
    for prediction in results:
        for frame in [prediction, *prediction.frames]:
            film = frame.film
            writer.writerow(
                [
                    prediction.source,
                    "" if frame is prediction else frame.source,
                    frame.verdict,
                    f"{frame.confidence:.6f}",
                    int(frame.unknown),
                    film.film if film else "",
                    int(film.known) if film else "",
                    f"{film.similarity:.4f}" if film else "",
                    *[v for r in frame.ranking[:top_k] for v in (r.director, f"{r.probability:.6f}")],
                ]
            )
    atomic.write_text(path, out.getvalue())
    return path
