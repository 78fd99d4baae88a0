"""Frame extraction: a pure per-film function (:func:`process_film`) and a thin scheduler
(:func:`extract_library`) that has a runner map it over a library and writes the manifest."""

from __future__ import annotations

import errno
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

from PIL import Image

from whodirected import _atomic as atomic
from whodirected.config import ExtractConfig, LibraryConfig
from whodirected.errors import DiskFull
from whodirected.extract import manifest, sampling
from whodirected.extract.filters import FILTERS, DuplicateFilter, rejection
from whodirected.extract.manifest import FilmRecord
from whodirected.extract.sources import FilmSource, Library, LibraryError, content_hash, scan
from whodirected.extract.video import Frame, Video, VideoError
from whodirected.runners import Runner
from whodirected.runners.local import LocalRunner


def frame_name(stem: str, seconds: float) -> str:
    """``<stem>_<hh-mm-ss.mmm>.jpg``: sortable, and safe on every filesystem."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{stem}_{hours:02d}-{minutes:02d}-{rest // 1000:02d}.{rest % 1000:03d}.jpg"


Rejection = Callable[[Image.Image], "str | None"]  # the filter that drops a picture, or None


def film_folder(dst: Path, source: FilmSource) -> Path:
    return dst / source.director / source.film


def _save_jpeg(image: Image.Image, path: Path, config: ExtractConfig) -> Image.Image:
    if config.max_side and max(image.size) > config.max_side:
        image = image.copy()
        image.thumbnail((config.max_side, config.max_side), Image.Resampling.LANCZOS)
    with atomic.atomic_path(path) as tmp:
        image.save(tmp, format="JPEG", quality=config.jpeg_quality)
    return image


def extract_film(
    source: FilmSource,
    dst: Path,
    config: ExtractConfig,
    key: str,
    threads: int = 0,
    recorded: Iterable[str] = (),
) -> FilmRecord:
    """Sample, filter and save the frames of one video file; return its manifest record.

    Raises :class:`~whodirected.video.VideoError` for a file that cannot be decoded.
    Frames are written atomically; frames of an earlier extraction that are no longer
    chosen are removed only once this one has succeeded. If it fails (or is interrupted), the
    frames it wrote are removed again, but those of the earlier record (``recorded``, paths
    relative to ``dst``): no frame stays on disk that the manifest does not list.
    """
    record = FilmRecord(key=key, director=source.director, film=source.film, source=str(source.path))
    try:
        return _extract_film(source, dst, config, record, threads)
    except BaseException:
        for path in set(record.sizes) - set(recorded):
            (dst / path).unlink(missing_ok=True)
        raise


def _extract_film(
    source: FilmSource, dst: Path, config: ExtractConfig, record: FilmRecord, threads: int
) -> FilmRecord:
    key = record.key
    record.skipped = dict.fromkeys(FILTERS, 0)
    folder = film_folder(dst, source)
    for leftover in folder.glob(f".{source.stem}_*.tmp"):  # from a run killed mid-write
        leftover.unlink(missing_ok=True)
    settings = json.dumps(asdict(config), sort_keys=True)
    with Video(source.path, config.seek_gap, threads, config.max_side) as video:
        duration = video.duration
        if duration <= 0:
            raise VideoError(f"{source.path}: unknown or zero duration")
        shots: dict[float, int] = {}  # every frame decoded for keeping: its time, and its shot
        duplicates = DuplicateFilter(config.duplicate_distance)
        for frame, reason in sampled(
            video, duration, config, shots, partial(rejection, config=config, duplicates=duplicates)
        ):
            if reason:
                record.skipped[reason] += 1
                continue
            path = folder / frame_name(source.stem, frame.target)
            record.sizes[path.relative_to(dst).as_posix()] = 0  # written from here on: removed on failure
            saved = _save_jpeg(frame.image, path, config)
            record.sizes[path.relative_to(dst).as_posix()] = path.stat().st_size
            record.rows.append(
                {
                    "director": source.director,
                    "film": source.film,
                    "label_source": source.label_source,
                    "frame_path": path.relative_to(dst).as_posix(),
                    "timestamp": frame.target,
                    "frame_time": round(frame.time, 6),
                    "shot": shots[frame.target],
                    "width": saved.width,
                    "height": saved.height,
                    "source": str(source.path),
                    "source_hash": key.split("-")[0],
                    "settings_hash": config.settings_hash(),
                    "settings": settings,
                }
            )
    record.candidates = len(shots)
    kept = {Path(row["frame_path"]).name for row in record.rows}
    for old in folder.glob(f"{source.stem}_*.jpg"):
        if old.name not in kept:
            old.unlink(missing_ok=True)
    return record


def sampled(
    video: Video, duration: float, config: ExtractConfig, shots: dict[float, int], reject: Rejection
) -> Iterator[tuple[Frame, str | None]]:
    """The frames the sampling mode picks, each with the filter that ``reject`` says drops it
    (``None``: kept) and noted in ``shots`` (time → shot, -1 if none).

    "keyframes" mode decodes the keyframes alone, then seeks only into the stretches they
    leave too sparse (:func:`~whodirected.extract.sampling.fill`) and to a second after each
    keyframe dropped as black or credits (a fade-in, a title over the shot); the other modes
    decode to timestamps chosen beforehand.
    """
    if config.mode != "keyframes":
        targets = sampling.choose(video.path, duration, config)
        shots.update((t.time, t.shot) for t in targets)
        for frame in video.sample(shots):
            yield frame, reject(frame.image)
        return
    start, end = sampling.window(duration, config.skip_edges)
    kept, dropped = [], []
    for frame in video.keyframes(config.min_gap, start, end):
        kept.append(frame.time)
        shots[frame.target] = -1
        reason = reject(frame.image)
        if reason in ("black", "credits"):
            dropped.append(frame.time)
        yield frame, reason
    extra = sampling.fill(kept, duration, config, dropped)
    shots.update((t.time, t.shot) for t in extra)
    for frame in video.sample(t.time for t in extra):
        yield frame, reject(frame.image)


@dataclass
class FilmResult:
    """The outcome of one video file: its record, or the one-line reason it failed."""

    source: FilmSource
    record: FilmRecord | None = None
    error: str | None = None
    reused: bool = False  # up to date from an earlier run, nothing recomputed
    disk_full: bool = False  # the output's disk is full: the run stops


def process_film(source: FilmSource, dst: str | Path, config: ExtractConfig, threads: int = 0) -> FilmResult:
    """Extract one film unless an earlier run already did with the same file and settings.

    Never raises for a bad film: the error is returned, so one film fails alone; a full disk
    is flagged (``disk_full``), since every other film would fail on it too. A record is
    trusted only when its frames are all there at their recorded sizes; else the film is
    redone. ``threads`` is the decoder's thread count (0: one per core).
    """
    dst = Path(dst)
    try:
        key = f"{content_hash(source.path)}-{config.settings_hash()}"
        previous = manifest.load_record(dst, source.path)
        if previous is not None and previous.key == key and previous.intact(dst):
            return FilmResult(source, previous, reused=True)
        record = extract_film(source, dst, config, key, threads, previous.sizes if previous else ())
        manifest.save_record(dst, record)
        return FilmResult(source, record)
    except VideoError as exc:
        return FilmResult(source, error=str(exc))
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return FilmResult(source, error=disk_full(dst), disk_full=True)
        return FilmResult(source, error=f"{source.path}: {type(exc).__name__}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one film must never stop the library
        return FilmResult(source, error=f"{source.path}: {type(exc).__name__}: {exc}")


@dataclass
class DirectorSummary:
    titles: set[str] = field(default_factory=set)  # a film in several files counts once
    frames: int = 0
    failed: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def films(self) -> int:
        return len(self.titles)


@dataclass
class ExtractSummary:
    """What :func:`extract_library` did, per director, with every problem as one line."""

    manifest: Path
    directors: dict[str, DirectorSummary]
    errors: list[str]
    problems: list[str]
    reused: int = 0
    stopped: str | None = None  # why the run stopped early: "interrupted", or the disk-full line
    left_out: list[str] = field(default_factory=list)  # found, not used: no one director, TV, extras

    @property
    def frames(self) -> int:
        return sum(d.frames for d in self.directors.values())

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems


def check_paths(src: Path, dst: Path) -> None:
    """Refuse a missing source, and an output folder inside the library it reads."""
    if not src.exists():
        raise LibraryError(f"{src}: no such file or folder")
    library_root = src.resolve() if src.is_dir() else src.resolve().parent
    out = dst.resolve()
    if src.is_dir() and (out == library_root or library_root in out.parents):
        raise LibraryError(f"output folder {dst} is inside the library {src}; choose another")


def extract_library(
    src: str | Path,
    dst: str | Path,
    config: ExtractConfig | None = None,
    jobs: int | None = None,
    on_result: Callable[[FilmResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    runner: Runner | None = None,
    library: LibraryConfig | None = None,
) -> ExtractSummary:
    """Extract every film of the library at ``src`` into ``dst``; return the summary.

    ``src`` is a library folder or CSV (:func:`~whodirected.extract.sources.discover`, with
    ``library``'s settings); films without exactly one director are left out, a line each.
    ``on_start(n_files)`` and ``on_result(result)`` let a caller show progress. ``runner``
    maps :func:`process_film` over the films (default: this machine, ``jobs`` processes;
    see :mod:`whodirected.runners`); this process writes the manifest.
    """
    runner = runner or LocalRunner(jobs)
    src, dst = Path(src), Path(dst)
    check_paths(src, dst)
    found = scan(src, library)
    with atomic.exclusive(dst, "extract"):
        return _extract(found, src, dst, config, runner, on_result, on_start)


def _extract(library: Library, src, dst, config, runner, on_result, on_start) -> ExtractSummary:
    config = (config or ExtractConfig()).validate()
    films = library.labelled
    if not library.films:
        raise LibraryError(
            f"{src}: no video files found (expected <root>/<Director>/<film file>, a media centre's "
            "<Title (Year)>/ folders, or a CSV path,director)"
        )
    if not films:
        raise LibraryError(
            f"{src}: none of its {len(library.films)} video files has a single known director; "
            "`whodirected scan` lists them, --directors names them"
        )
    dst.mkdir(parents=True, exist_ok=True)
    if on_start:
        on_start(len(films))
    directors: dict[str, DirectorSummary] = {}
    records: list[FilmRecord] = []
    errors: list[str] = []
    reused = 0
    stopped = None
    results = runner.map(partial(process_film, dst=dst, config=config), films)
    try:
        for result in results:
            if not isinstance(result, FilmResult):  # the runner lost the film (a worker kept dying)
                result = FilmResult(result.item, error=f"{result.item.path}: {result.error}")
            reused += _count(result, directors, records, errors)
            if on_result:
                on_result(result)
            if result.disk_full:  # every other film would fail the same way: stop here
                stopped = result.error
                break
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM, which the CLI turns into one): stop cleanly
        stopped = "interrupted"
    finally:  # the finished films go into the manifest, whatever stopped the run
        results.close()  # the runner stops its workers
        try:
            path = manifest.write_manifest(dst, records)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            raise DiskFull(
                disk_full(dst) + "; finished films are recorded, rerun once there is room"
            ) from None
    directors = dict(sorted(directors.items()))
    return ExtractSummary(path, directors, errors, library.problems, reused, stopped, library.left_out())


def disk_full(dst: Path) -> str:
    """One line for a full disk: the path and the space left."""
    try:
        free = shutil.disk_usage(dst).free
    except OSError:
        return f"{dst}: no space left on the device"
    return f"{dst}: no space left on the device ({free / 1e6:.1f} MB free)"


def _count(result: FilmResult, directors: dict, records: list, errors: list) -> int:
    """Add one film's result to the tallies; 1 when it was reused from an earlier run."""
    summary = directors.setdefault(result.source.director, DirectorSummary())
    if result.record is None:
        summary.failed += 1
        errors.append(result.error or f"{result.source.path}: failed")
        return 0
    records.append(result.record)
    summary.titles.add(result.record.film)
    summary.frames += len(result.record.rows)
    summary.skipped.update(result.record.skipped)
    return int(result.reused)
