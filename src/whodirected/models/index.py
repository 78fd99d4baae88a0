"""The evidence index: training frames as unit vectors, for nearest-frame look-ups.

Stored in a model folder as ``index.npz`` (plain arrays, read with ``allow_pickle=False``):
each frame's vector, director, film, part, timestamp and file name, and a small JPEG
thumbnail, so that evidence can be shown without the training frames. Search is by NumPy
brute force, or FAISS when it is installed and the index is large.

Frames are compared by what is in them: the network blocks of the features (not computed
descriptors such as ``grade``, which name a director across films but mistake one film for
another of the same look), made by :func:`index_vectors`. The film a screenshot most likely
comes from is the film of its nearest frame — the first line of the evidence, with the same
similarity — so the film line and the evidence can never disagree.
"""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from whodirected.errors import ModelError
from whodirected.features.backbones import content_blocks
from whodirected.features.vectors import block_unit
from whodirected.models.schema import read_npz

INDEX_NAME = "index.npz"
FAISS_MIN_FRAMES = 50_000  # below this, NumPy's matrix product is as fast as FAISS


def index_vectors(scaled: np.ndarray, blocks: list[tuple[str, int]]) -> np.ndarray:
    """Scaled features as the index compares them: their content blocks
    (:func:`~whodirected.features.backbones.content_blocks`) made block-unit."""
    kept, columns = content_blocks(blocks)
    return block_unit(np.atleast_2d(scaled)[:, columns], kept)


def thumbnail(path: str | Path, side: int) -> bytes:
    """A JPEG thumbnail of an image file, at most ``side`` pixels on its longest side."""
    with Image.open(path) as image:
        image.draft("RGB", (side, side))  # JPEG decodes straight at a reduced scale
        image = image.convert("RGB")
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=80)
    return out.getvalue()


@dataclass
class FilmMatch:
    """The training film of a screenshot's nearest frame, and whether it really comes from it."""

    film: str
    director: str
    similarity: float  # cosine similarity to that nearest frame (the first evidence line)
    known: bool  # similarity at or above the model's film-match threshold


@dataclass
class FrameIndex:
    """Training frames as unit vectors with what a person needs to see them as evidence."""

    vectors: np.ndarray  # (n, d) float32, unit length
    director: np.ndarray  # (n,) index into the model's classes
    film: np.ndarray  # (n,) str
    part: np.ndarray  # (n,) str: the film's file the frame comes from ("" for a one-file film)
    timestamp: np.ndarray  # (n,) seconds into the film, NaN when unknown
    name: np.ndarray  # (n,) str, the frame's file name
    thumbs: np.ndarray  # all thumbnails' JPEG bytes, concatenated (uint8)
    offsets: np.ndarray  # (n + 1,) int64: thumbnail i is thumbs[offsets[i]:offsets[i + 1]]
    film_threshold: float  # similarity from which a screenshot is said to come from a known film
    faces: np.ndarray | None = None  # (n, 128) descriptor of each frame's largest face (NaN: none)
    _faiss: Any = field(default=None, repr=False)  # built on the first search of a large index

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Similarities and ids ``(m, k)`` of the ``k`` nearest frames of each query vector
        (made by :func:`index_vectors`, like the index's own)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, len(self))
        if len(self) >= FAISS_MIN_FRAMES and importlib.util.find_spec("faiss") is not None:
            if self._faiss is None:
                import faiss

                self._faiss = faiss.IndexFlatIP(self.vectors.shape[1])
                self._faiss.add(self.vectors)
            return self._faiss.search(queries, k)
        sims = queries @ self.vectors.T
        ids = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(sims, ids, axis=1), ids

    def film_match(self, sim: float, i: int, classes: list[str]) -> FilmMatch:
        """The film of frame ``i``, a query's nearest frame at similarity ``sim``."""
        sim = round(float(sim), 4)  # the precision the evidence shows
        return FilmMatch(str(self.film[i]), classes[int(self.director[i])], sim, sim >= self.film_threshold)

    def face_matches(self, embedding: np.ndarray, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
        """Frames whose largest face is the same person as ``embedding`` (descriptor distance
        under ``max_distance``): their ids and distances, nearest first."""
        if self.faces is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        distance = np.linalg.norm(self.faces - np.asarray(embedding, np.float32), axis=1)
        ids = np.flatnonzero(distance < max_distance)  # NaN rows (no face) never pass
        ids = ids[np.argsort(distance[ids], kind="stable")]
        return ids, distance[ids]

    def thumbnail(self, i: int) -> bytes:
        """The JPEG bytes of frame ``i``'s thumbnail."""
        if not 0 <= i < len(self):
            raise IndexError(f"no frame {i} in the index ({len(self)} frames)")
        return self.thumbs[self.offsets[i] : self.offsets[i + 1]].tobytes()

    # -- files ---------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        with (folder / INDEX_NAME).open("wb") as handle:
            np.savez(
                handle,
                vectors=self.vectors.astype(np.float16),  # half the size, same neighbours
                director=self.director.astype(np.int32),
                film=self.film.astype(str),
                part=self.part.astype(str),
                timestamp=self.timestamp.astype(np.float64),
                name=self.name.astype(str),
                thumbs=self.thumbs,
                offsets=self.offsets,
                film_threshold=np.float64(self.film_threshold),
                **({} if self.faces is None else {"faces": self.faces.astype(np.float16)}),
            )

    @classmethod
    def load(cls, folder: Path, n_classes: int | None = None) -> FrameIndex | None:
        """The index of a model folder, or ``None`` for a model saved without one; its arrays
        checked against each other (and the directors against ``n_classes``) before use."""
        path = folder / INDEX_NAME
        if not path.is_file():
            return None
        arrays = read_npz(path)
        try:
            vectors, director, offsets = arrays["vectors"], arrays["director"], arrays["offsets"]
            n = len(vectors)
            problems = [
                (vectors.ndim != 2 or vectors.dtype.kind != "f", "vectors must be a 2-D array of numbers"),
                (
                    director.shape != (n,) or director.dtype.kind not in "iu",
                    "director must be one id per frame",
                ),
                (
                    n_classes is not None and n and not (director.min() >= 0 and director.max() < n_classes),
                    f"director ids must name one of the model's {n_classes} directors",
                ),
                (
                    any(arrays[k].shape != (n,) for k in ("film", "part", "timestamp", "name")),
                    "film, part, timestamp and name must have one entry per frame",
                ),
                (
                    offsets.shape != (n + 1,)
                    or offsets.dtype.kind not in "iu"
                    or (
                        n
                        and (
                            offsets[0] != 0
                            or (np.diff(offsets) < 0).any()
                            or offsets[-1] > len(arrays["thumbs"])
                        )
                    ),
                    "offsets must run from 0 up through the thumbnails",
                ),
                (not np.isfinite(arrays["film_threshold"]).all(), "film_threshold must be a finite number"),
            ]
        except KeyError as exc:
            raise ModelError(f"{path}: {exc.args[0]} is missing") from None
        for wrong, what in problems:
            if wrong:
                raise ModelError(f"{path}: {what}")
        return cls(
            vectors.astype(np.float32),
            director,
            arrays["film"],
            arrays["part"],
            arrays["timestamp"],
            arrays["name"],
            arrays["thumbs"],
            offsets,
            float(arrays["film_threshold"]),
            arrays["faces"].astype(np.float32) if "faces" in arrays else None,
        )


def film_threshold(
    vectors: np.ndarray,
    films: np.ndarray,
    false_rate: float,
    directors: np.ndarray | None = None,
    max_queries: int = 2000,
    min_same: int = 20,
) -> float:
    """The similarity that a frame of an *unseen* film exceeds only ``false_rate`` of the time.

    Each training frame stands in for a screenshot of a film the model never saw: its best
    similarity to the frames of every *other* film is what an unseen film would score. With
    ``directors``, a sequel or a series is not claimed either: the threshold is also at least
    what ``false_rate`` of frames reach against the director's *other* films (measured where
    ``min_same`` or more frames have a director with several films), since those look most alike.
    """
    films = np.asarray(films)
    if len(np.unique(films)) < 2:
        return 1.0
    step = max(1, len(vectors) // max_queries)
    best, same = [], []
    for i in range(0, len(vectors), step):
        sims = vectors @ vectors[i]
        others = films != films[i]
        best.append(float(sims[others].max()))
        if directors is not None:
            siblings = others & (directors == directors[i])
            if siblings.any():
                same.append(float(sims[siblings].max()))
    threshold = float(np.quantile(best, 1.0 - false_rate))
    if len(same) >= min_same:
        threshold = max(threshold, float(np.quantile(same, 1.0 - false_rate)))
    return threshold


def build_index(
    vectors: np.ndarray,  # made by index_vectors
    director: np.ndarray,
    film: np.ndarray,
    part: np.ndarray,
    timestamp: np.ndarray,
    paths: list[str],
    max_frames: int,
    thumbnail_side: int,
    false_rate: float,
    faces: np.ndarray | None = None,
) -> FrameIndex:
    """An index of at most ``max_frames`` frames (a random sample beyond that), with thumbnails,
    and ``faces`` (each frame's largest-face descriptor, NaN without one) when given."""
    keep = np.arange(len(vectors))
    if len(keep) > max_frames:
        keep = np.sort(np.random.default_rng(0).choice(len(vectors), max_frames, replace=False))
    films = np.char.add(np.char.add(np.asarray(director).astype(str), "/"), np.asarray(film, dtype=str))
    threshold = film_threshold(vectors, films, false_rate, np.asarray(director))
    thumbs = [thumbnail(paths[i], thumbnail_side) for i in keep]
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in thumbs])]).astype(np.int64)
    return FrameIndex(
        vectors[keep],
        np.asarray(director)[keep],
        np.asarray(film, dtype=str)[keep],
        np.asarray(part, dtype=str)[keep],
        np.asarray(timestamp, dtype=np.float64)[keep],
        np.asarray([Path(paths[i]).name for i in keep], dtype=str),
        np.frombuffer(b"".join(thumbs), dtype=np.uint8),
        offsets,
        threshold,
        None if faces is None else np.asarray(faces, np.float32)[keep],
    )
