import numpy as np
import pytest
from PIL import Image

from whodirected.features.style import NAMES, active_box, describe, dominant_colours


def value(image: Image.Image, name: str) -> float:
    return float(describe(image)[NAMES.index(name)])


def letterboxed(aspect: float, size=(384, 216)) -> Image.Image:
    rng = np.random.default_rng(0)
    pixels = rng.integers(60, 200, (size[1], size[0], 3), dtype=np.uint8)
    bar = round((size[1] - size[0] / aspect) / 2)
    pixels[:bar], pixels[size[1] - bar :] = 0, 0
    return Image.fromarray(pixels)


def test_letterbox_ratio_is_measured() -> None:
    image = letterboxed(2.39)
    assert value(image, "active_aspect") == pytest.approx(2.39, abs=0.05)
    assert value(image, "letterbox") == pytest.approx(1 - (384 / 2.39) / 216, abs=0.02)
    assert active_box(Image.new("RGB", (50, 20))) == (0, 0, 50, 20)  # all black: no bars found


@pytest.mark.parametrize(
    ("bars", "expected"),
    [
        ((0, 0, 0, 0), (0, 0, 120, 80)),  # no bar: the whole frame
        ((10, 10, 0, 0), (0, 10, 120, 70)),  # letterbox
        ((0, 0, 15, 15), (15, 0, 105, 80)),  # pillarbox
        ((0, 7, 0, 0), (0, 0, 120, 80)),  # black at the bottom only: picture, bars come in pairs
        ((6, 7, 0, 0), (0, 6, 120, 74)),  # uneven bars: the shallower depth from both sides
        ((5, 5, 9, 9), (9, 5, 111, 75)),  # windowbox
    ],
)
def test_bars_are_found_on_any_side(bars: tuple[int, int, int, int], expected: tuple) -> None:
    top, bottom, left, right = bars
    pixels = np.random.default_rng(1).integers(60, 200, (80, 120, 3), dtype=np.uint8)
    pixels[:top], pixels[80 - bottom :], pixels[:, :left], pixels[:, 120 - right :] = 0, 0, 0, 0
    assert active_box(Image.fromarray(pixels)) == expected


def test_a_dark_scene_is_not_a_bar() -> None:
    """Night, shadow and vignette are dark but textured; bars are flat black. A frame lit only
    in its middle, or only in one half, keeps its whole picture (it was cut to a strip)."""
    rng = np.random.default_rng(2)
    pixels = rng.integers(0, 18, (80, 120, 3), dtype=np.uint8)  # a dark, grainy scene
    pixels[30:50, 40:80] = 200  # one lit window
    assert active_box(Image.fromarray(pixels)) == (0, 0, 120, 80)
    pixels[:10], pixels[70:] = 0, 0  # the same scene letterboxed: the flat bars go
    assert active_box(Image.fromarray(pixels)) == (0, 10, 120, 70)
    thin = np.zeros((80, 120, 3), np.uint8)
    thin[39:41] = 200  # only a line of light: a dark frame, not a picture 2 lines high
    assert active_box(Image.fromarray(thin)) == (0, 0, 120, 80)


def test_symmetry_and_off_centre() -> None:
    left = np.full((100, 200, 3), 40, np.uint8)
    left[30:70, 20:60] = 230  # a bright block on the left
    symmetric = left.copy()
    symmetric[30:70, 140:180] = 230  # and its mirror image
    assert value(Image.fromarray(symmetric), "symmetry") > 0.99
    assert value(Image.fromarray(left), "symmetry") < value(Image.fromarray(symmetric), "symmetry") - 0.05
    assert value(Image.fromarray(left), "off_centre") > 0.5
    assert value(Image.fromarray(symmetric), "off_centre") < 0.05


def test_uniform_grey_has_zero_contrast_and_colour() -> None:
    grey = Image.new("RGB", (120, 80), (128, 128, 128))
    assert value(grey, "contrast") == pytest.approx(0, abs=1e-3)
    assert value(grey, "colourfulness") == pytest.approx(0, abs=1e-3)
    assert value(grey, "grain") == pytest.approx(0, abs=1e-3)
    warm = Image.new("RGB", (120, 80), (220, 140, 60))
    cool = Image.new("RGB", (120, 80), (60, 140, 220))
    assert value(warm, "warmth") > 20 > -20 > value(cool, "warmth")


def test_dominant_colours_find_the_palette() -> None:
    pixels = np.zeros((60, 60, 3), np.uint8)
    pixels[:, :40] = (200, 30, 30)
    pixels[:, 40:] = (30, 30, 200)
    colours = dominant_colours(Image.fromarray(pixels), k=2)
    assert colours[0][1] == pytest.approx(2 / 3, abs=0.05)
    assert np.allclose(colours[0][0], (200, 30, 30), atol=6) and np.allclose(
        colours[1][0], (30, 30, 200), atol=6
    )
