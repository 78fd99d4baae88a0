"""Choosing which timestamps of a film to keep: its keyframes (and where they are too sparse),
uniform, spread over the film, or per shot."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from whodirected.config import ExtractConfig


@dataclass(frozen=True)
class Target:
    """A timestamp to extract, with the shot it lies in (-1 when shots were not detected)."""

    time: float
    shot: int = -1


def window(duration: float, skip_edges: float) -> tuple[float, float]:
    """The part of the film kept after skipping ``skip_edges`` of it at each end."""
    return duration * skip_edges, duration * (1.0 - skip_edges)


def uniform(duration: float, every: float, skip_edges: float = 0.0) -> list[Target]:
    """One timestamp every ``every`` seconds, starting at the kept window's start."""
    start, end = window(duration, skip_edges)
    count = int((end - start) / every - 1e-9) + 1 if end > start else 0
    return [Target(round(start + i * every, 6)) for i in range(count)]


def spread(duration: float, n: int, skip_edges: float = 0.0) -> list[Target]:
    """``n`` timestamps at the centres of ``n`` equal parts of the kept window."""
    start, end = window(duration, skip_edges)
    step = (end - start) / n
    return [Target(round(start + (i + 0.5) * step, 6)) for i in range(n)] if end > start else []


RETRY_AFTER = 1.0  # seconds after a keyframe the filters dropped (a fade-in) where a frame is tried


def fill(
    kept: list[float], duration: float, config: ExtractConfig, dropped: Sequence[float] = ()
) -> list[Target]:
    """What "keyframes" mode adds to the keyframes ``kept``: timestamps spread evenly inside
    every stretch of the kept window longer than ``max_gap`` without one; one :data:`RETRY_AFTER`
    after each keyframe in ``dropped`` (by the black or credits filter), if that is before the
    next keyframe; and ``min_frames`` more spread over the film when it gave fewer than that (a
    short clip)."""
    start, end = window(duration, config.skip_edges)
    bounds = [start, *sorted(kept), end]
    targets = []
    for a, b in itertools.pairwise(bounds):
        n = int((b - a) / config.max_gap)
        targets += [Target(round(a + (b - a) * (i + 1) / (n + 1), 6)) for i in range(n)]
        if a in dropped and a + RETRY_AFTER < b:
            targets.append(Target(round(a + RETRY_AFTER, 6)))
    if len(kept) + len(targets) < config.min_frames:
        targets += spread(duration, config.min_frames, config.skip_edges)
    taken = {round(t * 1000) for t in kept}  # frames are named by the millisecond
    unique = {t.time: t for t in targets if round(t.time * 1000) not in taken}
    return sorted(unique.values(), key=lambda t: t.time)


def detect_shots(path: str | Path, threshold: float, min_shot_seconds: float) -> list[tuple[float, float]]:
    """Shot boundaries ``(start, end)`` in seconds, found by PySceneDetect's ContentDetector."""
    from scenedetect import ContentDetector, SceneManager, open_video

    video = open_video(str(path), backend="pyav", suppress_output=True)
    manager = SceneManager()
    manager.auto_downscale = True
    manager.add_detector(ContentDetector(threshold=threshold, min_scene_len=f"{min_shot_seconds}s"))
    manager.detect_scenes(video=video)
    scenes = manager.get_scene_list(start_in_scene=True)
    return [(start.seconds, end.seconds) for start, end in scenes]


def per_shot(
    shots: list[tuple[float, float]], frames_per_shot: int, duration: float, skip_edges: float = 0.0
) -> list[Target]:
    """``frames_per_shot`` timestamps spread inside each shot that lies in the kept window."""
    lo, hi = window(duration, skip_edges)
    targets = []
    for index, (start, end) in enumerate(shots):
        start, end = max(start, lo), min(end, hi)
        if end <= start:
            continue
        step = (end - start) / frames_per_shot
        targets += [Target(round(start + (i + 0.5) * step, 6), index) for i in range(frames_per_shot)]
    return targets


def choose(path: str | Path, duration: float, config: ExtractConfig) -> list[Target]:
    """The timestamps the configured sampling mode picks for one film ("keyframes" mode picks
    them while decoding: :func:`whodirected.extract.library.extract_film`)."""
    if config.mode == "every":
        targets = uniform(duration, config.every, config.skip_edges)
        if len(targets) < config.min_frames:  # a short clip: enough frames to learn from
            return spread(duration, config.min_frames, config.skip_edges)
        return targets
    if config.mode == "per-film":
        return spread(duration, config.per_film, config.skip_edges)
    if config.mode != "shots":
        raise ValueError(f"mode {config.mode!r} picks its frames while decoding, not beforehand")
    shots = detect_shots(path, config.shot_threshold, config.min_shot_seconds) or [(0.0, duration)]
    return per_shot(shots, config.frames_per_shot, duration, config.skip_edges)
