from pathlib import Path

import numpy as np

from whodirected.config import ExtractConfig
from whodirected.extract.sampling import choose, detect_shots, per_shot, spread, uniform


def times(targets):
    return [t.time for t in targets]


def test_uniform_every_seconds_with_skipped_edges() -> None:
    assert times(uniform(10.0, 2.0)) == [0, 2, 4, 6, 8]
    assert times(uniform(10.0, 2.0, skip_edges=0.1)) == [1, 3, 5, 7]
    assert uniform(0.0, 1.0) == []


def test_short_files_still_give_min_frames() -> None:
    config = ExtractConfig(mode="every", every=1.0, min_frames=10)
    assert times(choose("clip.mp4", 2.0, config)) == times(spread(2.0, 10))  # 2 s: 10 frames, not 2
    assert len(choose("film.mp4", 60.0, config)) == 60  # long enough: one a second
    assert len(choose("clip.mp4", 2.0, ExtractConfig(mode="every", every=1.0, min_frames=0))) == 2


def test_spread_takes_centres_of_equal_parts() -> None:
    assert times(spread(10.0, 5)) == [1, 3, 5, 7, 9]
    assert times(spread(10.0, 2, skip_edges=0.25)) == [3.75, 6.25]


def test_per_shot_spreads_inside_each_shot() -> None:
    targets = per_shot([(0, 2), (2, 6)], frames_per_shot=2, duration=6)
    assert times(targets) == [0.5, 1.5, 3, 5]
    assert [t.shot for t in targets] == [0, 0, 1, 1]


def test_pyscenedetect_finds_known_cuts(tmp_path: Path, encode_video) -> None:
    colours = [(220, 40, 40), (20, 20, 90), (240, 240, 130)]  # hue, saturation and value all jump
    rng = np.random.default_rng(0)

    def frame(i: int) -> np.ndarray:  # three 2-second shots of textured colour
        base = np.array(colours[i // 20], np.float32)
        return np.clip(base + rng.normal(0, 3, (120, 160, 3)), 0, 255).astype(np.uint8)

    path = encode_video(tmp_path / "cuts.mp4", frame, count=60, fps=10)
    shots = detect_shots(path, threshold=27, min_shot_seconds=0.5)
    assert [round(start, 1) for start, _ in shots] == [0.0, 2.0, 4.0]
    config = ExtractConfig(mode="shots", frames_per_shot=1)
    assert [(t.time, t.shot) for t in choose(path, 6.0, config)] == [(1.0, 0), (3.0, 1), (5.0, 2)]
