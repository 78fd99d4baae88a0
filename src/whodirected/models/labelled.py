"""Frames ready for a head: features, integer labels, and the units held out together.

A *held-out unit* is what a check leaves out of training to see how the model does on
something new. A user's library is small and uneven, so the unit is chosen per director:

- a director with two films or more: a **film** (honest: a new film of a known director);
- a director with one film in several files (``Sintel/part-a.mp4``, ``trailer.mp4``): a
  **part**;
- a director with one single-file film: a contiguous **time block** of it
  (:data:`SCENE_BLOCKS` per film).

Parts and blocks are *scene-held-out*: the model has seen the film, so the figures they give
are optimistic, and every report says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from whodirected.errors import TrainError

if TYPE_CHECKING:
    from whodirected.features.dataset import Dataset
    from whodirected.features.embed import Features

SCENE_BLOCKS = 3  # a director's only single-file film is cut into this many time blocks
FILM_HELD_OUT = "film-held-out"
SCENE_HELD_OUT = "scene-held-out (optimistic: the model has seen other scenes of the same film)"
_TIMECODE = re.compile(r"_(\d{2})-(\d{2})-(\d{2})\.(\d{3})$")  # extract's frame names


@dataclass
class Labelled:
    """Features with integer labels, films, parts, times and held-out units."""

    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray  # film id per frame
    classes: list[str]
    films: np.ndarray  # film name per frame ("director/film")
    features: Features
    parts: np.ndarray | None = None  # the film's file per frame ("director/film/part"); None: one per film
    times: np.ndarray | None = None  # seconds into the part (or any order); None: frame order
    units: np.ndarray = field(init=False)  # held-out unit id per frame
    unit_kinds: dict[str, str] = field(init=False)  # director -> "film", "part" or "block"

    def __post_init__(self) -> None:
        parts = self.films if self.parts is None else self.parts
        times = np.arange(len(self.y), dtype=float) if self.times is None else self.times
        self.units, self.unit_kinds = holdout_units(self.y, self.classes, self.films, parts, times)

    @property
    def films_per_director(self) -> dict[str, int]:
        return {c: len(np.unique(self.groups[self.y == i])) for i, c in enumerate(self.classes)}

    @property
    def film_grouped(self) -> bool:
        """True when every director has two films or more: film-held-out checks are possible."""
        return all(kind == "film" for kind in self.unit_kinds.values())

    @property
    def protocol(self) -> str:
        """What the held-out checks hold out, in words."""
        kinds = set(self.unit_kinds.values())
        if kinds == {"film"}:
            return FILM_HELD_OUT
        if "film" in kinds:
            return f"{FILM_HELD_OUT} where a director has two films or more, else {SCENE_HELD_OUT}"
        return SCENE_HELD_OUT


def holdout_units(
    y: np.ndarray, classes: list[str], films: np.ndarray, parts: np.ndarray, times: np.ndarray
) -> tuple[np.ndarray, dict[str, str]]:
    """The held-out unit of every frame (see the module's docstring) and each director's kind."""
    labels = np.empty(len(y), dtype=object)
    kinds: dict[str, str] = {}
    for c, name in enumerate(classes):
        mine = np.flatnonzero(y == c)
        if not len(mine):  # a director left out of this subset
            continue
        if len(np.unique(films[mine])) >= 2:
            kinds[name], labels[mine] = "film", films[mine]
        elif len(np.unique(parts[mine])) >= 2:
            kinds[name], labels[mine] = "part", parts[mine]
        else:
            kinds[name] = "block"
            order = mine[np.lexsort((mine, times[mine]))]
            for b, chunk in enumerate(np.array_split(order, min(SCENE_BLOCKS, len(order)))):
                labels[chunk] = f"{films[mine[0]]}#block{b}"
    _, units = np.unique(labels.astype(str), return_inverse=True)
    return units, kinds


def part_name(path: str, film: str) -> str:
    """The file of a film a frame comes from: its source video's stem ("" when that is the film)."""
    stem = Path(path).stem
    return "" if stem == film else stem


def frame_time(path: str) -> float:
    """Seconds into the source from an extracted frame's name (``x_00-01-02.500.jpg``), else NaN."""
    match = _TIMECODE.search(Path(path).stem)
    if not match:
        return float("nan")
    h, m, s, ms = (int(v) for v in match.groups())
    return h * 3600 + m * 60 + s + ms / 1000


def frame_parts(dataset: Dataset) -> np.ndarray:
    """Each frame's part name: its source video (manifest), or its name before the timecode."""
    frames = dataset.frames
    films = frames.film.astype(str).tolist()
    if "source" in frames:
        return np.asarray([part_name(s, f) for s, f in zip(frames.source.astype(str), films, strict=True)])
    stems = [_TIMECODE.sub("", Path(p).stem) if _TIMECODE.search(Path(p).stem) else "" for p in frames.path]
    return np.asarray([s if s != f else "" for s, f in zip(stems, films, strict=True)])


def frame_times(dataset: Dataset) -> np.ndarray:
    """Each frame's time in its part: the manifest's timestamp, or the frame name's timecode."""
    frames = dataset.frames
    if "timestamp" in frames:
        return frames.timestamp.to_numpy(dtype=float)
    return np.asarray([frame_time(p) for p in frames.path], dtype=float)


def labelled(dataset: Dataset, features: Features) -> Labelled:
    ok = features.ok
    frames = dataset.frames[ok]
    classes = sorted(frames.director.unique())
    if len(classes) < 2:
        raise TrainError(
            f"{dataset.root}: only {len(classes)} director(s) with readable frames; a classifier needs at least two"
        )
    index = {c: i for i, c in enumerate(classes)}
    films = (frames.director + "/" + frames.film.astype(str)).to_numpy()
    _, groups = np.unique(films, return_inverse=True)
    y = frames.director.map(index).to_numpy()
    parts = np.char.add(np.char.add(films.astype(str), "/"), frame_parts(dataset)[ok])
    times = frame_times(dataset)[ok]
    times = np.where(np.isnan(times), np.arange(len(times)), times)  # no time known: frame order
    return Labelled(features.matrix, y, groups, classes, films, features, parts, times)


def named(names: list[str], most: int = 3) -> str:
    """The first ``most`` of ``names`` and how many more: one line, however many there are."""
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def dataset_warnings(data: Labelled) -> list[str]:
    """One line naming the directors whose checks cannot hold out a whole film, and what is held
    out instead."""
    single = [name for name, films in data.films_per_director.items() if films < 2]
    if not single:
        return []
    kinds = sorted({"parts" if data.unit_kinds[name] == "part" else "time blocks" for name in single})
    return [
        f"{named(single)}: only one film each; the model can learn "
        f"{'it' if len(single) == 1 else 'them'}, but film-grouped accuracy is not measurable, so checks hold "
        f"out {' or '.join(kinds)} of a film instead (optimistic)"
    ]
