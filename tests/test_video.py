import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from whodirected.extract.video import Video, VideoError


def counter_frame(i: int) -> np.ndarray:
    """Frame ``i`` is a flat grey of level 40 + 4 i: its brightness tells its index."""
    return np.full((96, 128, 3), 40 + 4 * i, np.uint8)


@pytest.fixture
def counter_video(tmp_path: Path, encode_video) -> Path:
    return encode_video(tmp_path / "counter.mp4", counter_frame, count=50, fps=10, gop=12)


@pytest.mark.parametrize("seek_gap", [0.0, 100.0])  # always seek / never seek
def test_sample_returns_the_frame_shown_at_each_time(counter_video: Path, seek_gap: float) -> None:
    with Video(counter_video, seek_gap=seek_gap) as video:
        assert video.fps == 10 and video.duration == pytest.approx(5.0, abs=0.11)
        frames = list(video.sample([3.0, 0.0, 1.25, 4.9, 3.0]))
    assert [f.target for f in frames] == [0.0, 1.25, 3.0, 4.9]
    for frame in frames:
        index = round(frame.time * 10)
        assert abs(frame.time - frame.target) <= 0.05 + 1e-9  # the nearest frame
        level = np.asarray(frame.image, np.float32).mean()
        assert level == pytest.approx(40 + 4 * index, abs=2.5)


def test_non_square_pixels_are_stretched_to_display_aspect(tmp_path: Path, encode_video) -> None:
    path = encode_video(tmp_path / "anamorphic.mp4", [counter_frame(0)] * 5, sar=Fraction(4, 3))
    with Video(path) as video:
        image = next(video.sample([0.0])).image
    assert image.size == (171, 96)  # 128 x 4/3 wide


def test_letterbox_bars_are_kept_as_encoded(tmp_path: Path, encode_video) -> None:
    frame = np.zeros((90, 160, 3), np.uint8)
    frame[12:78] = 180  # a 2.39:1 picture inside a 16:9 frame
    path = encode_video(tmp_path / "letterbox.mp4", [frame] * 5)
    with Video(path) as video:
        image = np.asarray(next(video.sample([0.2])).image)
    assert image.shape[:2] == (90, 160)
    assert image[:8].mean() < 10 and image[20:70].mean() > 150


def test_rotation_metadata_matches_ffmpeg(tmp_path: Path, encode_video) -> None:
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    frame = np.zeros((96, 128, 3), np.uint8)
    frame[:, :64] = (250, 250, 250)  # white left half, black right half
    plain = encode_video(tmp_path / "plain.mp4", [frame] * 5)
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-display_rotation", "90", "-i", plain, "-c", "copy", rotated], check=True
    )
    reference = tmp_path / "reference.png"  # the ffmpeg program applies the rotation itself
    subprocess.run([ffmpeg, "-v", "error", "-i", rotated, "-frames:v", "1", reference], check=True)
    with Video(rotated) as video:
        ours = np.asarray(next(video.sample([0.0])).image, np.float32)
    theirs = np.asarray(Image.open(reference).convert("RGB"), np.float32)
    assert ours.shape == theirs.shape == (128, 96, 3)
    assert np.abs(ours - theirs).mean() < 8


def test_empty_audio_only_and_garbage_files_raise_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mkv"
    garbage.write_bytes(np.random.default_rng(0).bytes(50_000))
    audio = tmp_path / "audio.m4a"
    with av.open(str(audio), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=44100)
        for i in range(20):
            samples = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    for path, message in [(empty, "empty file"), (garbage, "cannot open"), (audio, "no video stream")]:
        with pytest.raises(VideoError, match=message) as info:
            Video(path)
        assert str(path) in str(info.value)


def test_truncated_mkv_fails_when_a_frame_is_missing(tmp_path: Path, encode_video) -> None:
    rng = np.random.default_rng(0)
    path = encode_video(
        tmp_path / "whole.mkv", lambda i: rng.integers(0, 255, (96, 128, 3), np.uint8), count=50
    )
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with Video(cut) as video, pytest.raises(VideoError, match="truncated"):
        list(video.sample([0.5, 4.5]))


def keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(float(p.pts * stream.time_base) for p in container.demux(stream) if p.is_keyframe)


def test_keyframes_decodes_the_keyframes_alone(counter_video: Path) -> None:
    keys = keyframe_times(counter_video)  # a keyframe every 12 frames: 0, 1.2, 2.4, 3.6, 4.8 s
    assert len(keys) == 5
    with Video(counter_video) as video:
        frames = list(video.keyframes())
        assert [f.time for f in frames] == pytest.approx(keys)
        for frame in frames:  # each is the picture shown at its time
            level = np.asarray(frame.image, np.float32).mean()
            assert level == pytest.approx(40 + 4 * round(frame.time * 10), abs=2.5)
        thinned = [f.time for f in video.keyframes(min_gap=2.0, start=1.0, end=4.0)]
        assert thinned == pytest.approx([1.2, 3.6])
        # afterwards, sampling still finds every frame, seeking only where a keyframe lies between
        later = list(video.sample([0.5, 4.9]))
        assert [round(f.time * 10) for f in later] == [5, 49]


def test_without_keyframes_sampling_decodes_on_and_stays_right(tmp_path: Path, encode_video) -> None:
    path = encode_video(tmp_path / "one-key.mp4", counter_frame, count=50, fps=10, gop=1000)
    with Video(path, seek_gap=0.0) as video:
        assert [f.time for f in video.keyframes()] == [0.0]
        frames = list(video.sample([1.0, 2.0, 3.0, 4.0]))
    for frame in frames:
        level = np.asarray(frame.image, np.float32).mean()
        assert level == pytest.approx(40 + 4 * round(frame.target * 10), abs=2.5)


def test_pictures_are_scaled_to_max_side_as_they_are_decoded(counter_video: Path) -> None:
    with Video(counter_video, max_side=64) as video:
        assert next(video.keyframes()).image.size == (64, 48)
        assert next(video.sample([2.0])).image.size == (64, 48)


def test_keyframes_include_the_intra_frame_an_encoder_puts_at_a_cut(tmp_path: Path, encode_video) -> None:
    """A cut 0.8 s in, closer to the first keyframe than x264 puts another: it codes the cut as an
    intra frame that is not a keyframe to the container, and it still counts as one here."""
    rng = np.random.default_rng(0)
    shots = [rng.integers(0, 255, (96, 128, 3), np.uint8) for _ in range(2)]
    path = encode_video(tmp_path / "cut.mp4", lambda i: shots[i >= 8], count=40, gop=1000)
    assert keyframe_times(path) == [0.0]
    with Video(path) as video:
        frames = list(video.keyframes())
    assert [f.time for f in frames] == pytest.approx([0.0, 0.8])
    picture = np.asarray(frames[1].image, np.float32)
    assert np.abs(picture - shots[1]).mean() < np.abs(picture - shots[0]).mean()  # the second shot
