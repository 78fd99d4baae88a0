"""Frame filters: black or near-uniform frames, credits (text on black), near-duplicates."""

from __future__ import annotations

import imagehash
import numpy as np
from PIL import Image

from whodirected.config import ExtractConfig

#: Filter names, in the order they are applied; also the summary's column names.
FILTERS = ("credits", "black", "duplicate")

_SMALL = (160, 90)  # filters look at a thumbnail: fast, and blind to grain
_DARK_LUMA = 40.0  # luma (0-255) under which a pixel counts as dark


def _thumb(image: Image.Image) -> Image.Image:
    if image.size == _SMALL and image.mode == "RGB":
        return image
    return image.convert("RGB").resize(_SMALL, Image.Resampling.BILINEAR)


def is_black(image: Image.Image, config: ExtractConfig) -> bool:
    """True for black, fade-out or flat single-colour frames."""
    luma = np.asarray(_thumb(image).convert("L"), dtype=np.float32)
    return bool(luma.mean() < config.black_max_mean or luma.std() < config.black_max_std)


def is_credits(image: Image.Image, config: ExtractConfig) -> bool:
    """True for a title card: mostly dark, and what is not dark is unsaturated (white text)."""
    hsv = np.asarray(_thumb(image).convert("HSV"), dtype=np.float32) / 255.0
    value, saturation = hsv[..., 2], hsv[..., 1]
    dark = value < _DARK_LUMA / 255.0
    if dark.mean() < config.credits_min_dark or dark.all():
        return False
    return bool(saturation[~dark].mean() < config.credits_max_saturation)


class DuplicateFilter:
    """Remembers the perceptual hashes of kept frames; ``seen`` answers for a new one."""

    def __init__(self, max_distance: int) -> None:
        self.max_distance = max_distance
        self._hashes: list[np.ndarray] = []

    def seen(self, image: Image.Image) -> bool:
        """True if ``image`` is within ``max_distance`` bits of a kept frame; else keep it."""
        bits = imagehash.phash(image).hash.ravel()
        if self._hashes:
            distances = np.count_nonzero(np.asarray(self._hashes) != bits, axis=1)
            if distances.min() <= self.max_distance:
                return True
        self._hashes.append(bits)
        return False


def rejection(image: Image.Image, config: ExtractConfig, duplicates: DuplicateFilter) -> str | None:
    """The name of the first enabled filter that rejects ``image``, or ``None`` to keep it.

    Every filter looks at one small copy (the hash's 32 x 32 picture comes from it too)."""
    small = _thumb(image)
    if config.drop_credits and is_credits(small, config):
        return "credits"
    if config.drop_black and is_black(small, config):
        return "black"
    if config.drop_duplicates and duplicates.seen(small):
        return "duplicate"
    return None
