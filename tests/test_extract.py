import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from whodirected.config import ExtractConfig
from whodirected.extract.demo import CREDITS_SECONDS
from whodirected.extract.library import extract_library, frame_name
from whodirected.extract.manifest import COLUMNS, STATE_DIR, read_manifest
from whodirected.extract.sources import LibraryError
from whodirected.extract.video import Video

FAST = ExtractConfig(mode="every", every=0.5)


def test_frame_names_carry_the_timestamp() -> None:
    assert frame_name("Blue Hours", 3723.5) == "Blue Hours_01-02-03.500.jpg"


def test_demo_library_extracts_without_credits_or_black(demo_library: Path, tmp_path: Path) -> None:
    summary = extract_library(demo_library, tmp_path / "out", FAST, jobs=2)
    assert summary.ok and set(summary.directors) == {"Wes Anderson", "Agnès Varda"}
    frames = read_manifest(tmp_path / "out")
    assert list(frames.columns) == COLUMNS and len(frames) == summary.frames > 10
    assert frames.groupby("director").film.nunique().to_dict() == {"Agnès Varda": 2, "Wes Anderson": 2}
    # 6-second films open and close with 1.5 s of credits: none of it survives the filters
    assert frames.timestamp.min() >= CREDITS_SECONDS and frames.timestamp.max() < 6 - CREDITS_SECONDS
    assert sum(d.skipped["credits"] for d in summary.directors.values()) >= 8
    for row in frames.itertuples():
        with Image.open(row.frame_path) as image:
            assert image.size == (row.width, row.height) == (384, 216)
        assert Path(row.frame_path).name == frame_name(row.film, row.timestamp)
        assert Path(row.frame_path).parent == tmp_path / "out" / row.director / row.film


def test_rerun_is_idempotent_and_new_settings_replace_frames(demo_library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = extract_library(demo_library, out, FAST, jobs=1)
    manifest = (out / "manifest.csv").read_bytes()
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")}
    again = extract_library(demo_library, out, FAST, jobs=1)
    assert again.reused == 4 and again.frames == first.frames
    assert (out / "manifest.csv").read_bytes() == manifest
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")} == stamps
    changed = extract_library(demo_library, out, ExtractConfig(mode="per-film", per_film=3), jobs=1)
    assert changed.reused == 0
    frames = read_manifest(out)
    assert sorted(str(p) for p in out.rglob("*.jpg")) == sorted(frames.frame_path)


def test_corrupt_truncated_and_empty_films_fail_alone(library_copy: Path, tmp_path: Path) -> None:
    good = next(library_copy.rglob("*.mp4"))
    (library_copy / "Wes Anderson" / "garbage.mp4").write_bytes(b"not a video at all" * 100)
    (library_copy / "Wes Anderson" / "truncated.mp4").write_bytes(good.read_bytes()[:20_000])
    (library_copy / "Agnès Varda" / "empty.mkv").write_bytes(b"")
    (library_copy / "Nobody").mkdir()
    summary = extract_library(library_copy, tmp_path / "out", FAST, jobs=2)
    assert not summary.ok
    assert sorted(Path(e.split(":")[0]).name for e in summary.errors) == [
        "empty.mkv",
        "garbage.mp4",
        "truncated.mp4",
    ]
    assert any("Nobody" in p and "no video files" in p for p in summary.problems)
    assert read_manifest(tmp_path / "out").film.nunique() == 4  # every good film still extracted


def test_nested_film_folders_and_csv_library(demo_library: Path, tmp_path: Path) -> None:
    nested = tmp_path / "nested"
    for film in demo_library.rglob("*.mp4"):
        target = nested / film.parent.name / film.stem / f"part-{len(film.stem) % 2}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(film, target)
    frames = read_manifest(extract_library(nested, tmp_path / "a", FAST).manifest)
    assert frames.film.nunique() == 4 and frames.frame_path.str.contains("/part-").all()

    listing = tmp_path / "library.csv"
    films = sorted(demo_library.rglob("*.mp4"))
    rows = [f"{f},{f.parent.name},Film {i}" for i, f in enumerate(films)]
    listing.write_text("path,director,film\n" + "\n".join(rows) + "\n", encoding="utf-8")
    frames = read_manifest(extract_library(listing, tmp_path / "b", FAST).manifest)
    assert sorted(frames.film.unique()) == [f"Film {i}" for i in range(4)]


def test_shots_mode_records_shot_indices(demo_library: Path, tmp_path: Path) -> None:
    summary = extract_library(demo_library, tmp_path / "out", ExtractConfig(mode="shots"), jobs=1)
    frames = read_manifest(summary.manifest)
    assert summary.ok and len(frames) >= 4 and (frames.shot >= 0).all()


def test_output_inside_library_and_missing_library_are_refused(demo_library: Path, tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="inside the library"):
        extract_library(demo_library, demo_library / "frames")
    with pytest.raises(LibraryError, match="no such file"):
        extract_library(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LibraryError, match="no video files"):
        extract_library(tmp_path / "empty", tmp_path / "out")


def test_killed_run_leaves_whole_files_and_resumes(demo_library: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [
        "extract",
        str(demo_library),
        str(out),
        "--every",
        "0.05",
        "--keep-duplicates",
        "--max-side",
        "0",
        "-j",
        "1",
    ]
    process = subprocess.Popen([sys.executable, "-m", "whodirected", *args], stderr=subprocess.DEVNULL)
    records = out / STATE_DIR / "films"
    deadline = time.monotonic() + 60
    while not list(records.glob("*.json")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "extraction finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.csv").exists()
    for path in out.rglob("*.jpg"):
        with Image.open(path) as image:
            image.load()  # every visible frame is whole

    resumed = extract_library(
        demo_library, out, ExtractConfig(mode="every", every=0.05, drop_duplicates=False, max_side=0), jobs=1
    )
    assert resumed.ok and 1 <= resumed.reused < 4
    assert not list(out.rglob("*.tmp"))
    extract_library(
        demo_library,
        tmp_path / "fresh",
        ExtractConfig(mode="every", every=0.05, drop_duplicates=False, max_side=0),
        jobs=1,
    )
    assert (out / "manifest.csv").read_text() == (tmp_path / "fresh" / "manifest.csv").read_text().replace(
        str(tmp_path / "fresh"), str(out)
    )


def test_real_clips_keep_their_size_and_timestamps(real_clips: Path, tmp_path: Path) -> None:
    summary = extract_library(
        real_clips, tmp_path / "out", ExtractConfig(mode="every", every=1.0, drop_duplicates=False), jobs=2
    )
    assert summary.ok, summary.errors
    frames = read_manifest(summary.manifest)
    assert set(frames.director) == {"Colin Levy", "Ian Hubert", "Pablo Vazquez", "Sacha Goedegebure"}
    by_source = frames.groupby("source")
    for source, rows in by_source:
        expected = {"part-a.mp4": None, "part-b.mp4": (768, 432), "part-b.webm": (768, 432)}.get(
            Path(source).name
        )
        sizes = set(zip(rows.width, rows.height, strict=True))
        aspect = 480 / 204 if Path(source).name == "trailer.mp4" else 16 / 9  # the trailer is 2.35:1
        for width, height in sizes:
            assert width / height == pytest.approx(aspect, abs=0.02)
        if expected:
            assert sizes == {expected}
        assert (rows.frame_time - rows.timestamp).abs().max() < 0.05
    webm = frames[frames.source.str.endswith(".webm")]
    assert len(webm) >= 20  # 30 s of VP8, one frame a second, minus black frames
    assert pd.Series(webm.timestamp).is_monotonic_increasing


def test_a_film_that_fails_midway_leaves_no_frame_behind(tmp_path: Path, encode_video) -> None:
    rng = np.random.default_rng(0)
    whole = encode_video(
        tmp_path / "whole.mkv", lambda i: rng.integers(0, 255, (96, 128, 3), np.uint8), count=120
    )
    film = tmp_path / "library" / "Someone" / "Cut (2001).mkv"
    film.parent.mkdir(parents=True)
    film.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])  # frames, then nothing
    for mode in ("keyframes", "every"):
        out = tmp_path / mode
        summary = extract_library(tmp_path / "library", out, ExtractConfig(mode=mode, every=0.5), jobs=1)
        assert len(summary.errors) == 1 and "truncated" in summary.errors[0]
        assert not list(out.rglob("*.jpg"))  # what it wrote before failing is gone again


def test_keyframes_mode_adds_frames_only_where_keyframes_are_sparse(tmp_path: Path, encode_video) -> None:
    """Keyframes at 0 and 6 s of a 12 s film (a slow fade: no scene cut), --max-gap 2.5: frames
    at the keyframes, and two in each 6 s stretch after them; each the picture shown at its time."""
    film = tmp_path / "library" / "Someone" / "Sparse (2001).mp4"
    encode_video(film, lambda i: np.full((96, 128, 3), 40 + 1.5 * i, np.uint8), count=120, gop=60)
    config = ExtractConfig(
        max_gap=2.5, min_frames=0, drop_black=False, drop_credits=False, drop_duplicates=False
    )
    summary = extract_library(tmp_path / "library", tmp_path / "out", config, jobs=1)
    assert summary.ok
    frames = read_manifest(tmp_path / "out")
    assert frames.timestamp.tolist() == pytest.approx([0, 2, 4, 6, 8, 10])
    for row in frames.itertuples():
        with Image.open(row.frame_path) as image:
            level = np.asarray(image.convert("L"), np.float32).mean()
        assert level == pytest.approx(40 + 1.5 * round(row.timestamp * 10), abs=2.5)


def test_a_keyframe_dropped_as_black_is_tried_again_a_second_later(tmp_path: Path, encode_video) -> None:
    """A film fading in from black (no scene cut, keyframes at 0 and 6 s): the black keyframe is
    dropped, and the frame a second later, into the fade, is kept in its place."""
    stripes = np.tile(np.repeat([0.5, 1.5], 8), 8)[None, :, None]  # texture that grows with the light

    def fade(i: int) -> np.ndarray:
        return np.broadcast_to(min(2 * i, 150) * stripes, (96, 128, 3)).astype(np.uint8)

    film = encode_video(tmp_path / "library" / "Someone" / "Fade (2001).mp4", fade, count=120, gop=60)
    config = ExtractConfig(min_frames=0, drop_duplicates=False)
    with Video(film) as video:
        keys = sorted(f.time for f in video.keyframes(config.min_gap))
    assert keys[0] == 0.0 and keys[1] > 1.5  # the encoder's choice: the test needs it so
    summary = extract_library(tmp_path / "library", tmp_path / "out", config, jobs=1)
    assert summary.ok and summary.directors["Someone"].skipped["black"] == 1
    times = read_manifest(tmp_path / "out").timestamp.tolist()
    assert times[0] == 1.0 and times[1:] == pytest.approx(keys[1:])


def test_a_subtitle_track_that_outlasts_the_video_is_not_a_truncation(tmp_path: Path) -> None:
    shared = Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "pd-clips"
    popeye = shared / "Dave Fleischer" / "Popeye the Sailor Meets Sinbad the Sailor" / "part-1.mkv"
    if not popeye.is_file():
        pytest.skip(f"public-domain clips not present at {shared}")
    with Video(popeye) as video:
        assert video.duration == pytest.approx(60.0)  # the video track's, not the container's 63.5 s
    library = tmp_path / "library" / "Dave Fleischer" / "Popeye"
    library.mkdir(parents=True)
    (library / "part-1.mkv").symlink_to(popeye)
    for mode in ("keyframes", "every"):  # the default, and the one that samples to the last second
        out = tmp_path / mode
        summary = extract_library(tmp_path / "library", out, ExtractConfig(mode=mode), jobs=1)
        assert summary.ok and summary.frames >= 10
        assert read_manifest(out).timestamp.max() > 50  # to the end of the picture
