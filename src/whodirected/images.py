"""Reading images safely: size cap before decoding, EXIF rotation, every mode made RGB."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, ImageOps

from .config import EmbedConfig

DEFAULT_MAX_PIXELS = EmbedConfig.max_pixels


class ImageError(Exception):
    """A file that is not a readable image, or too big to decode; the message names it."""


def open_image(
    source: str | Path | bytes, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> Image.Image:
    """Decode ``source`` (a path or the file's bytes) to an upright RGB picture.

    The pixel count is checked from the header before any pixel is decoded. Transparent
    images are composited on black (a film frame has no alpha); greyscale, palette, CMYK
    and 16-bit images are converted.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "upload")
    if (
        isinstance(source, bytes)
        and not source
        or not isinstance(source, bytes)
        and Path(source).stat().st_size == 0
    ):
        raise ImageError(f"{label}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    f"{label}: {width}x{height} is over the {max_pixels:,}-pixel limit, refused unread"
                )
            image.load()
            image = ImageOps.exif_transpose(image)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"{label}: over the {max_pixels:,}-pixel limit, refused unread ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{label}: not a readable image ({exc})") from None
    return to_rgb(image)


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB copy of any PIL mode; alpha is composited on black."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode.startswith("I;16") or image.mode == "I":
        return image.point(lambda v: v / 256).convert("L").convert("RGB")
    return image.convert("RGB")
