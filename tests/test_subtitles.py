"""Burnt-in subtitles are found on real photographs and do not change what the measured blocks see."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from whodirected.features import grade, style, subtitles
from whodirected.features.backbones import create

skimage_data = pytest.importorskip("skimage.data")

LINES = ("I never said that we would", "come back here again, you know")


def photo(name: str, width: int = 1280) -> Image.Image:
    """A public-domain sample photograph, cut to a film's 1.85 frame and ``width`` wide."""
    image = Image.fromarray(getattr(skimage_data, name)()).convert("RGB")
    height = round(image.width / 1.85)
    top = (image.height - height) // 2 if image.height > height else 0
    image = image.crop((0, top, image.width, top + min(height, image.height)))
    return image.resize((width, round(width * image.height / image.width)))


def with_text(
    image: Image.Image, kind: str, lines=LINES, where: str = "bottom"
) -> tuple[Image.Image, np.ndarray]:
    """``image`` with ``lines`` drawn as ``kind`` ("white": outlined, "yellow": drop shadow), and
    where the letters are (a bool mask)."""
    image, size = image.copy(), max(12, image.height // 14)
    font = ImageFont.load_default(size)
    letters = Image.new("L", image.size)
    shadow = Image.new("L", image.size)
    for i, text in enumerate(lines):
        width = ImageDraw.Draw(image).textlength(text, font=font)
        x = (image.width - width) / 2 if where == "bottom" else size
        y = (
            image.height - (len(lines) - i) * size * 1.3 - size * 0.5
            if where != "top-left"
            else size * (1 + 1.3 * i)
        )
        ImageDraw.Draw(letters).text((x, y), text, font=font, fill=255)
        ImageDraw.Draw(shadow).text((x + 2, y + 2), text, font=font, fill=200)
        if kind == "white":
            ImageDraw.Draw(image).text(
                (x, y), text, font=font, fill="white", stroke_width=size // 10, stroke_fill="black"
            )
    if kind == "yellow":
        image = Image.composite(
            Image.new("RGB", image.size), image, shadow.filter(ImageFilter.GaussianBlur(1.5))
        )
        image.paste((250, 220, 40), mask=letters)
    return image, np.asarray(letters) > 127


@pytest.mark.parametrize("name", ["coffee", "chelsea", "astronaut", "rocket"])
@pytest.mark.parametrize("kind", ["white", "yellow"])
def test_subtitles_are_found_and_nothing_else(name: str, kind: str) -> None:
    subtitled, letters = with_text(photo(name), kind)
    found = subtitles.mask(np.asarray(subtitled))
    assert found[letters].mean() > 0.9  # the letters are found...
    rows, cols = np.flatnonzero(letters.any(axis=1)), np.flatnonzero(letters.any(axis=0))
    around = np.zeros_like(found)
    around[rows[0] - 15 : rows[-1] + 16, cols[0] - 15 : cols[-1] + 16] = True
    assert not found[~around].any()  # ... and nothing away from them


@pytest.mark.parametrize("name", ["coffee", "chelsea", "astronaut", "rocket", "camera", "hubble_deep_field"])
def test_a_frame_without_subtitles_is_left_as_it_is(name: str) -> None:
    picture = np.asarray(photo(name))
    assert not subtitles.mask(picture).any()
    assert subtitles.find(Image.fromarray(picture)) is None
    assert subtitles.paint_out(picture, None) is picture


@pytest.mark.parametrize("where", ["top-left", "bottom-left"])
def test_text_that_is_not_a_subtitle_stays_picture(where: str) -> None:
    """A title card or a sign at the top, a credit or a logo in a corner."""
    text, _ = with_text(photo("coffee"), "white", lines=("DIRECTED BY", "A. SMITHEE"), where=where)
    assert not subtitles.mask(np.asarray(text)).any()


@pytest.mark.parametrize("kind", ["white", "yellow"])
def test_the_measured_blocks_see_through_subtitles(kind: str) -> None:
    """Painted out, subtitles move grade and style less than as drawn on every photograph, and
    on the four together by less than a third as much."""
    for block in (grade, style):
        painted_out, as_drawn = [], []
        for name in ("coffee", "chelsea", "astronaut", "rocket"):
            clean = photo(name)
            subtitled = with_text(clean, kind)[0]
            before = block.describe(clean)
            painted_out.append(np.abs(block.describe(subtitled) - before).sum())
            as_drawn.append(np.abs(block.describe(subtitled, without_subtitles=False) - before).sum())
        assert all(p < a for p, a in zip(painted_out, as_drawn, strict=True)), block.__name__
        assert sum(painted_out) < sum(as_drawn) / 3, block.__name__


def test_the_network_sees_through_subtitles() -> None:
    """Painted out, subtitles move EfficientNet-Lite2's features less than as drawn (cosine
    distance to the clean photograph's, over four photographs and two kinds of subtitle)."""
    network = create("efficientnet-lite2", device="cpu")
    squash = replace(network.prep, resize="squash")  # as drawn: the same resize, nothing painted

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return 1 - float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    painted_out, as_drawn = 0.0, 0.0
    for name in ("coffee", "chelsea", "astronaut", "rocket"):
        for kind in ("white", "yellow"):
            clean = photo(name)
            subtitled = with_text(clean, kind)[0]
            drawn = np.asarray(subtitled.resize((squash.size,) * 2, Image.Resampling.BILINEAR))
            features = network.embed([squash(clean), squash(subtitled), drawn])
            painted_out += distance(features[0], features[1])
            as_drawn += distance(features[0], features[2])
    assert painted_out < 0.8 * as_drawn


def test_subtitles_in_the_black_bars_are_trimmed_with_them() -> None:
    picture, bar = photo("chelsea", 960), 48
    frame = Image.new("RGB", (960, picture.height + 2 * bar))
    frame.paste(picture, (0, bar))
    frame.paste(
        with_text(Image.new("RGB", (960, bar)), "white", lines=LINES[:1])[0], (0, bar + picture.height)
    )
    assert style.active_box(frame) == (0, bar, 960, bar + picture.height)
