"""What the command line accepts: image files, folders of them (subfolders too) and video
clips, each turned into pictures a batch at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from whodirected.config import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, ExtractConfig, PredictConfig
from whodirected.errors import ImageError, VideoError
from whodirected.extract.filters import DuplicateFilter, rejection
from whodirected.extract.sampling import spread
from whodirected.extract.video import Video
from whodirected.features.images import load_picture


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


def batches(
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
                    pictures.append(load_picture(frame[1], config.trim_borders))
                else:
                    pictures.append(
                        load_picture(frame, config.trim_borders, config.max_pixels, config.max_bytes)
                    )
                    sources.append(str(frame))
            except ImageError as exc:
                errors.append(str(exc))
        if pictures:
            yield pictures, sources
