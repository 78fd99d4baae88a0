"""Video decoding with PyAV: open a film, read its facts, and sample frames at timestamps."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from whodirected.errors import VideoError

_INTRA = 1  # FFmpeg's AV_PICTURE_TYPE_I


@dataclass(frozen=True)
class Frame:
    """One decoded frame: the requested timestamp, the frame's own time, and its picture."""

    target: float  # the timestamp asked for, in seconds
    time: float  # presentation time of the frame actually decoded, in seconds
    image: Image.Image  # RGB, display aspect ratio and rotation applied


def _rotation(stream: av.video.stream.VideoStream, frame: av.VideoFrame) -> int:
    """Counter-clockwise display rotation in degrees, as FFmpeg's display matrix gives it.

    Old files carry a clockwise ``rotate`` tag instead of the matrix.
    """
    ccw = round(getattr(frame, "rotation", 0) or 0)
    if not ccw:
        try:
            ccw = -int(stream.metadata.get("rotate", 0))
        except ValueError:
            ccw = 0
    return ccw % 360


class Video:
    """A film file opened with PyAV.

    ``Video(path).sample([1.0, 5.0])`` yields :class:`Frame` objects; nearby targets are
    reached by decoding forward, distant ones by seeking to the previous keyframe.
    ``Video(path).keyframes()`` yields the keyframes alone, decoding nothing else.
    """

    def __init__(self, path: str | Path, seek_gap: float = 3.0, threads: int = 0, max_side: int = 0) -> None:
        """``threads``: decoder threads, 0 lets FFmpeg choose (one per core). ``max_side``:
        pictures are scaled to this longest side (0: full size) in the same pass that turns
        them into RGB."""
        self.path = Path(path)
        self.seek_gap = seek_gap
        self.max_side = max_side
        self._keys: list[float] = []  # keyframe times seen by keyframes(): where a seek can land
        if not self.path.is_file():
            raise VideoError(f"{self.path}: no such file")
        if self.path.stat().st_size == 0:
            raise VideoError(f"{self.path}: empty file (0 bytes)")
        try:
            self._container = av.open(str(self.path))
        except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise VideoError(f"{self.path}: cannot open as video ({_reason(exc)})") from None
        if not self._container.streams.video:
            self._container.close()
            raise VideoError(f"{self.path}: no video stream (audio-only or not a film)")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._stream.thread_count = threads

    # -- facts -----------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        rate = self._stream.average_rate or self._stream.base_rate or Fraction(25)
        return float(rate)

    @property
    def duration(self) -> float:
        """Length in seconds of the video stream — its own duration, or its Matroska
        ``DURATION`` tag — else the container's; 0.0 when unknown. A container may last longer
        than its video: a subtitle or audio track can outlast the picture."""
        stream = self._stream
        if stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
        tagged = _clock(stream.metadata.get("DURATION") or stream.metadata.get("duration") or "")
        if tagged:
            return tagged
        if self._container.duration:
            return self._container.duration / av.time_base
        return 0.0

    @property
    def size(self) -> tuple[int, int]:
        """Stored (width, height) of the coded picture."""
        return self._stream.codec_context.width, self._stream.codec_context.height

    @property
    def codec(self) -> str:
        return self._stream.codec_context.name

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> Video:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- decoding --------------------------------------------------------------------------
    def frames(self) -> Iterator[av.VideoFrame]:
        """Every frame from the current position, raising :class:`VideoError` on corrupt data."""
        try:
            for frame in self._container.decode(self._stream):
                if frame.time is not None:
                    yield frame
        except av.FFmpegError as exc:
            raise VideoError(f"{self.path}: decoding failed ({_reason(exc)})") from None

    def _seek(self, seconds: float) -> Iterator[av.VideoFrame]:
        target = max(0, int(seconds / self._stream.time_base)) if self._stream.time_base else 0
        try:
            self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        except av.FFmpegError as exc:
            raise VideoError(f"{self.path}: seek to {seconds:.3f}s failed ({_reason(exc)})") from None
        return self.frames()

    def keyframes(
        self, min_gap: float = 0.0, start: float = 0.0, end: float = float("inf")
    ) -> Iterator[Frame]:
        """Yield the keyframes between ``start`` and ``end`` seconds, at least ``min_gap`` apart.

        Keyframes here are the intra-coded frames: the regular ones, and those an encoder puts
        at scene cuts (x264 and x265 do). The decoder skips every other frame (``skip_frame =
        NONINTRA``, or ``NONKEY`` for a decoder that ignores it), about a twentieth of a full
        decode's work. Afterwards :meth:`sample` knows where seeks can land.
        """
        context = self._stream.codec_context
        context.skip_frame = "NONINTRA"
        kept: list[float] = []  # sorted; keyframes may come out of time order
        try:
            for frame in self._seek(0.0):
                if not _intra(frame):
                    context.skip_frame = "NONKEY"  # this decoder ignores NONINTRA
                    continue
                t = float(frame.time)
                bisect.insort(self._keys, t)
                i = bisect.bisect_left(kept, t)
                near = (i > 0 and t - kept[i - 1] < min_gap) or (i < len(kept) and kept[i] - t < min_gap)
                if start <= t <= end and not near:
                    kept.insert(i, t)
                    yield Frame(target=t, time=t, image=to_display_image(frame, self._stream, self.max_side))
        finally:
            context.skip_frame = "DEFAULT"

    def _keyframe_between(self, after: float, upto: float) -> bool:
        """Whether a seek to ``upto`` could land after ``after``: True unless the keyframes are
        known (from :meth:`keyframes`) and none lies in ``(after, upto]``."""
        if not self._keys:
            return True
        return bisect.bisect_right(self._keys, upto) > bisect.bisect_right(self._keys, after)

    def sample(self, timestamps: Iterable[float]) -> Iterator[Frame]:
        """Yield the frame shown at each timestamp (sorted, duplicates collapsed).

        A target more than ``seek_gap`` ahead is reached by seeking to the keyframe before it,
        unless no keyframe lies between (then decoding on is cheaper). Raises
        :class:`VideoError` if the file ends well before a requested time (truncated).
        """
        wanted = sorted(set(float(t) for t in timestamps))
        half = 0.5 / self.fps
        frames: Iterator[av.VideoFrame] | None = None
        current: av.VideoFrame | None = None
        for t in wanted:
            if (
                frames is None
                or current is None
                or (
                    t - float(current.time) > self.seek_gap and self._keyframe_between(float(current.time), t)
                )
            ):
                frames, current = self._seek(t), None
            while current is None or float(current.time) + half < t:
                following = next(frames, None)
                if following is None:
                    break
                current = following
            if current is None or float(current.time) + half < t:
                if current is not None and float(current.time) >= self.duration - max(0.5, 3 / self.fps):
                    return  # a complete film: the remaining targets lie past its last frame
                raise VideoError(
                    f"{self.path}: ends before {t:.3f}s of {self.duration:.3f}s (truncated or corrupt?)"
                )
            yield Frame(
                target=t,
                time=float(current.time),
                image=to_display_image(current, self._stream, self.max_side),
            )


def to_display_image(
    frame: av.VideoFrame, stream: av.video.stream.VideoStream, max_side: int = 0
) -> Image.Image:
    """RGB picture as a viewer shows it: non-square pixels stretched, rotation applied, and at
    most ``max_side`` pixels on its longest side (0: full size). Scaling and the conversion to
    RGB are one pass of FFmpeg's scaler, on the decoder's own pixels."""
    sar = stream.codec_context.sample_aspect_ratio or stream.sample_aspect_ratio
    width, height = frame.width, frame.height
    if sar and sar != 1 and sar > 0:
        width = max(1, round(width * float(sar)))
    if max_side and max(width, height) > max_side:
        scale = max_side / max(width, height)
        width, height = max(1, round(width * scale)), max(1, round(height * scale))
    if (width, height) == (frame.width, frame.height):
        image = frame.to_image()
    else:
        image = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_image()
    degrees = _rotation(stream, frame)
    if degrees:
        image = image.rotate(degrees, expand=True)  # PIL rotates counter-clockwise too
    return image


def _intra(frame: av.VideoFrame) -> bool:
    """A keyframe, or another intra-coded frame (PyAV gives the picture type as an int, or
    before version 13 as an enum item)."""
    kind = frame.pict_type
    return bool(frame.key_frame) or getattr(kind, "name", None) == "I" or kind == _INTRA


def _clock(text: str) -> float:
    """Seconds from a ``HH:MM:SS.fraction`` tag (Matroska's per-track ``DURATION``); 0.0 if not one."""
    parts = text.strip().split(":")
    try:
        if len(parts) == 3:
            return int(parts[0]) * 3600 + int(parts[1]) * 60 + float(parts[2])
    except ValueError:
        pass
    return 0.0


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip().rstrip(".") or type(exc).__name__
