"""The style read-out names what a person would see in a frame."""

import numpy as np
from PIL import Image, ImageDraw

from whodirected.features.style import describe
from whodirected.models.readout import StyleProfiles, read_out, traits


def frame(colour: tuple[int, int, int], aspect: float, seed: int) -> Image.Image:
    """A 16:9 frame with a picture of ``aspect`` inside black bars, a few shapes and noise."""
    rng = np.random.default_rng(seed)
    width, height = 640, 360
    picture_h = min(height, round(width / aspect))
    picture_w = min(width, round(picture_h * aspect))
    canvas = Image.new("RGB", (width, height))
    picture = Image.new("RGB", (picture_w, picture_h), colour)
    draw = ImageDraw.Draw(picture)
    for _ in range(4):
        x, y = rng.integers(0, picture_w - 60), rng.integers(0, picture_h - 60)
        shade = tuple(int(c * rng.uniform(0.5, 1.2)) % 256 for c in colour)
        draw.rectangle((x, y, x + 60, y + 50), fill=shade)
    canvas.paste(picture, ((width - picture_w) // 2, (height - picture_h) // 2))
    noisy = np.asarray(canvas, np.int16) + rng.integers(-3, 4, (height, width, 3))
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


def test_letterbox_palette_and_black_and_white_are_named() -> None:
    teal = [describe(frame((20, 140, 150), 2.39, s)) for s in range(6)]
    warm = [describe(frame((210, 120, 40), 1.78, s)) for s in range(6)]
    grey = [describe(frame((128, 128, 128), 1.33, s).convert("L").convert("RGB")) for s in range(6)]
    values = np.array(teal + warm + grey)
    profiles = StyleProfiles.fit(values, np.repeat([0, 1, 2], 6), 3)

    said = traits(teal[0], profiles.overall_mean, profiles.overall_std)
    assert "2.39:1 letterbox" in said and any("teal" in t and "palette" in t for t in said), said
    assert "4:3 pillarbox" in traits(grey[0], profiles.overall_mean, profiles.overall_std)
    assert "black-and-white" in traits(grey[0], profiles.overall_mean, profiles.overall_std)

    readout = read_out(teal[1], profiles, 0, "Denis Villeneuve")
    assert readout.summary.endswith("typical of Denis Villeneuve") and "2.39:1 letterbox" in readout.shared
    unlike = read_out(teal[1], profiles, 1, "Agnès Varda")
    assert "Agnès Varda usually:" in unlike.summary
