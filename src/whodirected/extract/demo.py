"""A generated demo film library: real H.264 files whose directors have learnable styles.

Each director has a visual signature (palette and grading, letterbox or pillarbox, symmetric
or off-centre composition, contrast, grain, shot length, camera motion) that every one of
their films follows with its own variations, the way real auteurs do. The names are homages;
the footage is abstract shapes. Every film opens and closes with credits (text on black), has
a few black frames and hard cuts, so extraction has real things to filter.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from whodirected import _atomic as atomic

WIDTH, HEIGHT, FPS = 384, 216, 12
CREDITS_SECONDS = 1.5
BLACK_SECONDS = 0.5


@dataclass(frozen=True)
class Style:
    """A director's visual signature."""

    name: str
    hue: float  # dominant hue, degrees
    accent: float  # accent hue, degrees
    saturation: float  # 0 (black and white) to 1
    brightness: float  # mean level, 0 to 1
    contrast: float  # 1 is neutral
    aspect: float  # active picture aspect ratio (the frame is 16:9)
    symmetric: bool
    grain: float  # noise standard deviation, in 0-255 levels
    shot_seconds: float  # typical shot length
    motion: str  # "static", "pan", "zoom" or "handheld"


STYLES = (
    Style("Wes Anderson", 35, 330, 0.45, 0.72, 0.85, 1.37, True, 2, 1.6, "static"),
    Style("Agnès Varda", 205, 20, 0.55, 0.60, 1.0, 1.66, False, 9, 3.0, "handheld"),
    Style("Wong Kar-wai", 140, 355, 0.85, 0.38, 1.45, 1.78, False, 12, 1.0, "pan"),
    Style("Andrei Tarkovsky", 30, 60, 0.22, 0.45, 0.9, 1.37, False, 6, 4.0, "zoom"),
    Style("Denis Villeneuve", 25, 190, 0.5, 0.5, 1.2, 2.39, True, 1, 2.5, "pan"),
    Style("Akira Kurosawa", 0, 0, 0.0, 0.5, 1.6, 1.33, False, 14, 2.0, "pan"),
)

_WORDS_A = ("The Quiet", "Blue", "Last", "Été", "Paper", "Distant", "Red", "Night", "Long")
_WORDS_B = ("Harbour", "Hours", "Summer", "Lanterns", "Mirror", "Garden", "Train", "Cinéma", "Rain")


def style_for(index: int, rng: np.random.Generator) -> Style:
    """The built-in styles first, then random ones for bigger demo libraries."""
    if index < len(STYLES):
        return STYLES[index]
    return Style(
        name=f"Director {index + 1}",
        hue=float(rng.uniform(0, 360)),
        accent=float(rng.uniform(0, 360)),
        saturation=float(rng.uniform(0, 0.9)),
        brightness=float(rng.uniform(0.35, 0.75)),
        contrast=float(rng.uniform(0.8, 1.6)),
        aspect=float(rng.choice([1.33, 1.37, 1.66, 1.78, 1.85, 2.39])),
        symmetric=bool(rng.random() < 0.5),
        grain=float(rng.uniform(0, 14)),
        shot_seconds=float(rng.uniform(1, 4)),
        motion=str(rng.choice(["static", "pan", "zoom", "handheld"])),
    )


def _rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb((hue % 360) / 360, np.clip(saturation, 0, 1), np.clip(value, 0, 1)))


class _Shot:
    """One shot's layout: a graded background and a few shapes, moved by the camera."""

    def __init__(self, style: Style, rng: np.random.Generator) -> None:
        s, v = style.saturation, style.brightness
        self.sky = _rgb(style.hue + rng.normal(0, 8), s, v + 0.15)
        self.ground = _rgb(style.accent + rng.normal(0, 8), s * 0.8, v - 0.2)
        self.horizon = rng.uniform(0.45, 0.75)
        main_x = 0.5 if style.symmetric else rng.choice([1 / 3, 2 / 3]) + rng.normal(0, 0.03)
        self.shapes = [(main_x, rng.uniform(0.4, 0.6), 0.22, _rgb(style.accent, s * 1.1, v + 0.2), True)]
        for _ in range(int(rng.integers(1, 4))):
            size = rng.uniform(0.06, 0.14)
            colour = _rgb(style.hue + rng.normal(0, 25), s * 1.1, v + rng.uniform(-0.25, 0.3))
            shape = (rng.uniform(0.05, 0.95), rng.uniform(0.3, 0.75), size, colour, bool(rng.random() < 0.5))
            self.shapes.append(shape)
            if style.symmetric:  # mirrored about the vertical centre line
                self.shapes.append((1 - shape[0], *shape[1:]))
        speed = {"static": 0.0, "pan": 0.06, "zoom": 0.0, "handheld": 0.0}[style.motion]
        self.pan = speed * rng.choice([-1, 1])
        self.zoom = 0.05 if style.motion == "zoom" else 0.0
        self.shake = 0.012 if style.motion == "handheld" else 0.0
        self.style = style

    def render(self, t: float, rng: np.random.Generator, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        yy, xx = grid
        aspect = WIDTH / HEIGHT
        scale = 1 + self.zoom * t
        dx = self.pan * t + rng.normal(0, self.shake)
        dy = rng.normal(0, self.shake)
        mix = np.clip((yy - self.horizon + 0.1) / 0.2, 0, 1)[..., None]
        img = self.sky * (1 - mix) + self.ground * mix
        img = img * (1 - 0.25 * yy[..., None])  # vignette from the top light
        for x, y, size, colour, round_shape in self.shapes:
            cx, cy = 0.5 + (x - 0.5 + dx) * scale, 0.5 + (y - 0.5 + dy) * scale
            r = size * scale
            if round_shape:
                mask = ((xx - cx) * aspect) ** 2 + (yy - cy) ** 2 < r**2
            else:
                mask = (np.abs((xx - cx) * aspect) < r) & (np.abs(yy - cy) < r * 1.4)
            img[mask] = colour
        img = (img - 0.5) * self.style.contrast + 0.5
        img = img * 255 + rng.normal(0, self.style.grain, img.shape[:2])[..., None]
        return _bars(np.clip(img, 0, 255).astype(np.uint8), self.style.aspect)


def _bars(frame: np.ndarray, aspect: float) -> np.ndarray:
    """Black letterbox (wider than the frame) or pillarbox (narrower) bars."""
    h, w = frame.shape[:2]
    if aspect > w / h + 0.01:
        bar = round((h - w / aspect) / 2)
        frame[:bar], frame[h - bar :] = 0, 0
    elif aspect < w / h - 0.01:
        bar = round((w - h * aspect) / 2)
        frame[:, :bar], frame[:, w - bar :] = 0, 0
    return frame


def _card(lines: list[str]) -> np.ndarray:
    """White text on black: an opening or closing credit."""
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=16)
    for i, line in enumerate(lines):
        y = HEIGHT // 2 - 14 * len(lines) + 28 * i
        draw.text((WIDTH // 2, y), line, fill=(235, 235, 235), font=font, anchor="mt")
    return np.asarray(image)


def write_film(path: Path, style: Style, title: str, seconds: float, seed: int) -> None:
    """Encode one demo film (H.264, yuv420p) atomically at ``path``."""
    rng = np.random.default_rng(seed)
    film_style = replace(
        style,
        hue=style.hue + rng.normal(0, 10),
        saturation=float(np.clip(style.saturation + rng.normal(0, 0.05), 0, 1)),
        brightness=float(np.clip(style.brightness + rng.normal(0, 0.04), 0.1, 0.9)),
        shot_seconds=style.shot_seconds * rng.uniform(0.75, 1.3),
    )
    total = round(seconds * FPS)
    credits = round(CREDITS_SECONDS * FPS)
    black = round(BLACK_SECONDS * FPS)
    grid = np.meshgrid(np.linspace(0, 1, HEIGHT), np.linspace(0, 1, WIDTH), indexing="ij")
    opening = _card([title, f"a film by {style.name}"])
    closing = _card(["directed by", style.name])
    black_at = set(range(total // 2, total // 2 + black))  # one fade to black mid-film
    with atomic.atomic_path(path) as tmp, av.open(str(tmp), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        shot, shot_end, shot_start = None, 0, 0
        for i in range(total):
            if i < credits:
                pixels = opening
            elif i >= total - credits:
                pixels = closing
            elif i in black_at:
                pixels = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
            else:
                if shot is None or i >= shot_end:  # a hard cut
                    shot = _Shot(film_style, rng)
                    length = max(2, round(rng.gamma(4, film_style.shot_seconds / 4) * FPS))
                    shot_start, shot_end = i, i + length
                pixels = shot.render((i - shot_start) / FPS, rng, grid)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def make_library(
    dest: str | Path, directors: int = 3, films: int = 3, seconds: float = 12.0, seed: int = 0
) -> list[Path]:
    """Write ``dest/<Director>/<Film>.mp4`` for each director and film; return the paths.

    Deterministic for a seed; existing files are kept, so an interrupted run resumes.
    """
    if directors < 1 or films < 1:
        raise ValueError("a demo library needs at least one director and one film")
    if seconds < 2 * CREDITS_SECONDS + 1:
        raise ValueError(f"demo films need at least {2 * CREDITS_SECONDS + 1:g} seconds")
    dest = Path(dest)
    rng = np.random.default_rng(seed)
    paths = []
    for d in range(directors):
        style = style_for(d, rng)
        for f in range(films):
            title = (
                f"{_WORDS_A[(d * 3 + f * 5 + seed) % len(_WORDS_A)]} {_WORDS_B[(d * 2 + f) % len(_WORDS_B)]}"
            )
            path = dest / style.name / f"{title}.mp4"
            if not path.exists():
                write_film(path, style, title, seconds, seed=seed * 100_003 + d * 1009 + f)
            paths.append(path)
    return paths
