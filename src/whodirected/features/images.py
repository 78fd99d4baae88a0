"""Reading images safely: size cap before decoding, EXIF rotation, every mode made RGB; and
cleaning real screenshots (the picture found on a page or in a window around it, uniform
borders of a player or a screen grab trimmed)."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from whodirected.config import MAX_PIXELS, PredictConfig
from whodirected.errors import ImageError, ImageTooLarge

DEFAULT_MAX_PIXELS = MAX_PIXELS
_OBJECT_REPR = re.compile(r"<[^<>]* at 0x[0-9a-f]+>")
BORDER_STD = 4.0  # a row or column this flat (0-255 levels) is a border, not picture
BORDER_DARK = 20.0  # darker borders are letterbox bars: kept, the style block measures them


WORK_SIDE = 2048  # longest side a picture is judged at: every block looks at 260 px or fewer


def open_image(
    source: str | Path | bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
    max_bytes: int | None = None,
    work_side: int | None = None,
) -> Image.Image:
    """Decode ``source`` (a path or the file's bytes) to an upright RGB picture.

    The pixel count is checked from the header before any pixel is decoded. Transparent
    areas are cut away (see :func:`to_rgb`); greyscale, palette, CMYK and 16-bit images are
    converted. With ``work_side``, a larger picture is reduced by a whole factor right after
    decoding, before any conversion copies it (JPEG decodes at the reduced scale directly), so
    a 60-megapixel upload never exists as more than one copy at full size.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "upload")
    try:
        size = len(source) if isinstance(source, bytes) else Path(source).stat().st_size
    except OSError as exc:
        raise ImageError(f"{label}: cannot read ({exc.strerror or exc})") from None
    if size == 0:
        raise ImageError(f"{label}: empty file")
    if max_bytes is not None and size > max_bytes:
        raise ImageTooLarge(f"{label}: {size:,} bytes is over the {max_bytes:,}-byte limit, refused unread")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLarge(
                    f"{label}: {width}x{height} is over the {max_pixels:,}-pixel limit, refused unread"
                )
            if work_side is not None:
                image.draft(image.mode, (work_side, work_side))  # JPEG: decode at 1/2, 1/4 or 1/8
            image.load()
            if work_side is not None and max(image.size) > work_side:
                image = image.reduce(-(-max(image.size) // work_side))
            image = ImageOps.exif_transpose(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge(f"{label}: over the {max_pixels:,}-pixel limit, refused unread") from None
    except UnidentifiedImageError:
        raise ImageError(f"{label}: not a readable image (no image format Pillow knows)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = _OBJECT_REPR.sub("the file", str(exc))  # never an object's repr
        raise ImageError(f"{label}: not a readable image ({reason})") from None
    return to_rgb(image)


TRANSPARENT_FILL = (128, 128, 128)  # what shows through transparency: mid grey, never a black bar


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of any PIL mode. A transparent picture is cropped to its visible part, and what
    stays transparent inside it shows mid grey: transparency is never a black letterbox bar
    (a fully transparent picture becomes flat grey, which predict calls a blank frame)."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        box = rgba.getchannel("A").getbbox()
        if box:
            rgba = rgba.crop(box)
        background = Image.new("RGBA", rgba.size, (*TRANSPARENT_FILL, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode.startswith("I;16") or image.mode == "I":
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def from_array(pixels: np.ndarray) -> Image.Image:
    """An RGB picture from an ``HxW`` (grey), ``HxWx3`` (RGB) or ``HxWx4`` (RGBA) array."""
    pixels = np.asarray(pixels)
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 3, 4)):
        raise ImageError(f"array of shape {pixels.shape} is not an image (HxW, HxWx3 or HxWx4)")
    if pixels.dtype != np.uint8:
        top = 1.0 if pixels.dtype.kind == "f" and pixels.max(initial=0) <= 1.0 else 255.0
        pixels = np.clip(pixels.astype(np.float32) * (255.0 / top), 0, 255).astype(np.uint8)
    return to_rgb(
        Image.fromarray(pixels.squeeze(axis=2) if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels)
    )


def trim_borders(image: Image.Image, min_keep: float = 0.3, work_side: int = 1024) -> Image.Image:
    """Cut a screenshot down to the film's picture: the picture found on a page or in a window
    around it (:func:`find_picture`), else flat, non-black borders (a player's frame, a screen
    grab's margin) removed from each edge.

    Black borders are letterbox or pillarbox bars, part of the film's look: they are kept.
    Nothing is trimmed if less than ``min_keep`` of either side would remain. The borders are
    found on a copy at most ``work_side`` pixels wide, so huge screenshots stay cheap.
    """
    picture = find_picture(image)
    if picture is not None:
        return image.crop(picture)
    small = image.convert("RGB")
    edges = np.asarray(small)
    outer = [edges[0], edges[-1], edges[:, 0], edges[:, -1]]
    if not any(_flat_line(line) for line in outer):  # the usual case: no border at all
        return image
    if max(small.size) > work_side:
        small = small.copy()
        small.thumbnail((work_side, work_side), Image.Resampling.NEAREST)
    rgb = np.asarray(small, dtype=np.float32)

    def flat(lines: np.ndarray) -> np.ndarray:  # (n_lines, length, 3) -> True where a line is a border
        return (lines.std(axis=1).max(axis=1) < BORDER_STD) & (lines.mean(axis=(1, 2)) > BORDER_DARK)

    def span(border: np.ndarray) -> tuple[int, int]:
        if border.all():
            return 0, len(border)
        return int(np.argmin(border)), len(border) - int(np.argmin(border[::-1]))

    (top, bottom), (left, right) = span(flat(rgb)), span(flat(rgb.transpose(1, 0, 2)))
    sx, sy = image.width / small.width, image.height / small.height
    box = (
        int(np.ceil(left * sx)),
        int(np.ceil(top * sy)),
        int(np.floor(right * sx)),
        int(np.floor(bottom * sy)),
    )
    if box == (0, 0, image.width, image.height):
        return image
    if box[3] - box[1] < min_keep * image.height or box[2] - box[0] < min_keep * image.width:
        return image
    return image.crop(box)


PAGE_WORK_SIDE = 480  # a page is searched for on a copy this wide
PAGE_TOLERANCE = 8  # 0-255 levels: a pixel this close to the page's colour is page
PAGE_RING = 0.6  # share of the outermost pixels that must be page for a screenshot to be a page
PICTURE_MIN = 0.05  # share of the screenshot the picture must cover at least (a 640-px video on a 1080p page)
PICTURE_FILL = 0.6  # share of its box the picture must fill (dark parts may merge with a dark page)
PICTURE_SIDES = 0.25  # share of each side of its box along which the picture must show
PICTURE_ASPECT = (0.9, 3.0)  # width over height a film's picture has
PAGE_CONTENT = 0.002  # share of a black page that titles or thumbnails cover, else it is bars


def find_picture(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Where the film's picture is in a screenshot of a page or a window (a video site in a
    browser, a player with a playlist beside it), as a box ``(left, top, right, bottom)``, or
    ``None`` when the screenshot is not one.

    A page is a flat colour over most of the screenshot's outermost pixels. The picture is the
    largest patch of anything else (page colour inside it included, unless it runs out to the
    page): a rectangle with a film's proportions, covering :data:`PICTURE_MIN` of the screenshot
    or more, filling :data:`PICTURE_FILL` of its box and showing along :data:`PICTURE_SIDES` of
    each side. Titles, buttons and thumbnails are smaller. A film's frame is not flat around its
    edge, so it is not a page; a frame inside black bars alone is not a page either (the bars
    are measured, then trimmed, as in training: :func:`whodirected.features.style.trim_bars`).
    """
    import cv2

    def ring(a: np.ndarray) -> np.ndarray:  # the outermost pixels
        return np.concatenate([a[0], a[-1], a[1:-1, 0], a[1:-1, -1]])

    def page_like(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
        return np.abs(pixels - colour).max(axis=-1) <= PAGE_TOLERANCE

    width, height = image.size  # first its four outermost lines alone, at full size
    lines = [
        image.crop(box).convert("RGB")
        for box in (
            (0, 0, width, 1),
            (0, height - 1, width, height),
            (0, 0, 1, height),
            (width - 1, 0, width, height),
        )
    ]
    outermost = np.concatenate([np.asarray(line, dtype=np.int16).reshape(-1, 3) for line in lines])
    if page_like(outermost, np.median(outermost, axis=0)).mean() < PAGE_RING:  # the usual case: a frame
        return None
    small = image.convert("RGB")  # a copy, whatever the mode
    if max(small.size) > PAGE_WORK_SIDE:
        small.thumbnail((PAGE_WORK_SIDE, PAGE_WORK_SIDE), Image.Resampling.BOX)
    rgb = np.asarray(small, dtype=np.int16)
    h, w = rgb.shape[:2]
    if min(h, w) < 32:
        return None
    page_colour = np.median(ring(rgb), axis=0)
    is_page = page_like(rgb, page_colour).astype(np.uint8)
    if ring(is_page).mean() < PAGE_RING:
        return None
    _, labels = cv2.connectedComponents(is_page, connectivity=4)
    edge = np.unique(ring(labels))
    outside = np.isin(labels, edge[edge > 0]) & (is_page > 0)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~outside).astype(np.uint8), connectivity=4)
    if count < 2:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    left, top, width, height, area = (int(v) for v in stats[best])
    box = labels[top : top + height, left : left + width] == best
    inner = box[1:-1, 1:-1] if min(box.shape) > 2 else box  # edge pixels of the copy mix in page
    sides = (inner[0].mean(), inner[-1].mean(), inner[:, 0].mean(), inner[:, -1].mean())
    if (
        area < PICTURE_MIN * h * w
        or area < PICTURE_FILL * width * height
        or min(sides) < PICTURE_SIDES
        or not PICTURE_ASPECT[0] <= width / height <= PICTURE_ASPECT[1]
        or (width >= w - 2 and height >= h - 2)  # the whole screenshot: nothing around it
    ):
        return None
    others = (~outside).sum() - area  # what else is on the page: titles, buttons, thumbnails
    if page_colour.max() < BORDER_DARK and others < PAGE_CONTENT * h * w:
        return None  # a frame inside black bars, not a page
    sx, sy = image.width / w, image.height / h
    inset = int(sx > 1 or sy > 1)  # an edge pixel of a shrunk copy mixes page and picture: left out
    return (
        int(np.ceil((left + inset) * sx)),
        int(np.ceil((top + inset) * sy)),
        int(np.floor((left + width - inset) * sx)),
        int(np.floor((top + height - inset) * sy)),
    )


def _flat_line(line: np.ndarray) -> bool:
    """True for one row or column of pixels ``(length, 3)`` that looks like a border."""
    line = line.astype(np.float32)
    return bool(line.std(axis=0).max() < BORDER_STD and line.mean() > BORDER_DARK)


def load_picture(
    image: Any,
    trim: bool = True,
    max_pixels: int = PredictConfig.max_pixels,
    max_bytes: int = PredictConfig.max_bytes,
) -> Image.Image:
    """Any accepted input as an upright RGB picture, cut to the film's picture (:func:`trim_borders`;
    ``ImageError``)."""
    if isinstance(image, Image.Image):
        picture = to_rgb(image)
    elif isinstance(image, np.ndarray):
        picture = from_array(image)
    elif isinstance(image, (str, Path, bytes)):
        picture = open_image(image, max_pixels, max_bytes=max_bytes, work_side=WORK_SIDE)
    else:
        raise ImageError(f"cannot predict a {type(image).__name__}: give a path, bytes, PIL image or array")
    return work_copy(trim_borders(picture) if trim else picture)


def work_copy(picture: Image.Image) -> Image.Image:
    """``picture`` no larger than :data:`WORK_SIDE` on its longest side (box-filtered down): the
    same verdict, and a 60-megapixel screenshot held as 12 MB rather than 180."""
    if max(picture.size) <= WORK_SIDE:
        return picture
    scale = WORK_SIDE / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.BOX)
