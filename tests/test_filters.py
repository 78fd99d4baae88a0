import numpy as np
from PIL import Image

from whodirected.config import ExtractConfig
from whodirected.extract.demo import _card
from whodirected.extract.filters import DuplicateFilter, is_black, is_credits, rejection

CONFIG = ExtractConfig()


def noisy(seed: int, size=(90, 160)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8))


def test_black_and_uniform_frames_are_black() -> None:
    assert is_black(Image.new("RGB", (64, 36)), CONFIG)
    assert is_black(Image.new("RGB", (64, 36), (128, 128, 128)), CONFIG)  # uniform grey
    assert not is_black(noisy(0), CONFIG)


def test_credits_card_is_credits_and_a_dark_colourful_scene_is_not() -> None:
    assert is_credits(Image.fromarray(_card(["The Film", "a film by Someone"])), CONFIG)
    scene = np.zeros((90, 160, 3), np.uint8)
    scene[30:60, 40:120] = (220, 40, 40)  # a red neon sign in the dark
    assert not is_credits(Image.fromarray(scene), CONFIG)
    assert not is_credits(Image.new("RGB", (64, 36)), CONFIG)  # plain black is black, not credits


def test_duplicates_are_caught_but_different_frames_kept() -> None:
    frames = DuplicateFilter(max_distance=8)
    first = noisy(1)
    assert not frames.seen(first)
    again = np.asarray(first).astype(np.int16) + np.random.default_rng(2).integers(-4, 5, (90, 160, 3))
    assert frames.seen(Image.fromarray(np.clip(again, 0, 255).astype(np.uint8)))
    assert not frames.seen(noisy(3))


def test_filters_can_be_switched_off() -> None:
    black = Image.new("RGB", (64, 36))
    assert rejection(black, CONFIG, DuplicateFilter(8)) == "black"
    assert rejection(black, ExtractConfig(drop_black=False), DuplicateFilter(8)) is None
