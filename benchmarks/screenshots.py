"""Screenshots, not frames: films never seen, asked about with what a user really captures.

    python benchmarks/screenshots.py --stills DIR [--backbone NAME] [--only VARIANT]

A model is trained on frames, but a user asks about a screenshot: taken from a player at full
screen (the film inside black bars), with subtitles on, shrunk and recompressed by a chat app,
cropped, with the player's controls showing, or of a whole web page around the video. Each is
read as ``predict`` reads a picture (``load_picture``: borders trimmed, the picture found on a
page) before the features see it. This holds out one film of each director with
two or more, in turn, on the real feature-film stills that ``../shared/data/real-stills/build.sh``
builds outside the repository (as ``benchmarks/real.py --stills`` does), trains the recipe on
the rest *as they are*, and asks about each held-out still turned into each kind of screenshot.
Frame top-1, top-5 and one verdict per film, among the directors with several films and among
all of them, beside the unchanged stills ("frames").

The screenshots are made once into ``benchmarks/.cache/screenshots`` (copies of copyrighted
stills: they stay outside the repository). Every variant is drawn the same way on every run.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from _common import CACHE
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from whodirected.config import EmbedConfig, TrainConfig
from whodirected.features.dataset import Dataset, load_dataset
from whodirected.features.embed import embed_dataset
from whodirected.features.images import load_picture
from whodirected.models.checks import films_never_seen_rotations, unseen_film_figures, unseen_film_scores
from whodirected.models.labelled import labelled

WORDS = tuple(
    [
        "I",
        "never",
        "said",
        "that",
        "we",
        "would",
        "come",
        "back",
        "here",
        "again",
        "you",
        "know",
        "it",
        "where",
        "were",
        "last",
        "night",
        "she",
        "asked",
        "nobody",
        "the",
        "truth",
    ]
)


def player(image: Image.Image, rng: random.Random) -> Image.Image:
    """Full screen in a 16:9 player: the picture inside black bars, 1920 x 1080."""
    scale = min(1920 / image.width, 1080 / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
    screen = Image.new("RGB", (1920, 1080))
    screen.paste(image, ((1920 - image.width) // 2, (1080 - image.height) // 2))
    return screen


def _line(
    draw: ImageDraw.ImageDraw, image: Image.Image, rng: random.Random, size: int, y: float, **style
) -> None:
    font = ImageFont.load_default(size)
    text = " ".join(rng.choice(WORDS) for _ in range(5))
    draw.text(((image.width - draw.textlength(text, font=font)) / 2, y), text, font=font, **style)


def subtitles(image: Image.Image, rng: random.Random) -> Image.Image:
    """Two lines of white subtitles with a black outline."""
    image = image.copy()
    draw, size = ImageDraw.Draw(image), max(12, image.height // 14)
    for line in range(2):
        y = image.height - (2 - line) * size * 1.3 - size * 0.5
        _line(
            draw,
            image,
            rng,
            size,
            y,
            fill=(255, 255, 255),
            stroke_width=max(1, size // 10),
            stroke_fill=(0, 0, 0),
        )
    return image


def yellow_subtitles(image: Image.Image, rng: random.Random) -> Image.Image:
    """One line of yellow subtitles over a soft drop shadow, no outline."""
    size = max(12, image.height // 12)
    y = image.height - size * 1.8
    shadow = Image.new("L", image.size)
    state = rng.getstate()
    _line(ImageDraw.Draw(shadow), image, rng, size, y + 2, fill=200)
    rng.setstate(state)  # the same words for the letters
    shadow = shadow.filter(ImageFilter.GaussianBlur(1.5))
    image = Image.composite(Image.new("RGB", image.size), image, shadow)
    _line(ImageDraw.Draw(image), image, rng, size, y, fill=(250, 220, 40))
    return image


def small_jpeg(image: Image.Image, rng: random.Random) -> Image.Image:
    """Shrunk to 320 pixels wide and saved as a JPEG of quality 35, as a chat app sends it."""
    image = image.resize((320, max(1, round(image.height * 320 / image.width))), Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=35)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def cropped(image: Image.Image, rng: random.Random) -> Image.Image:
    """A part of the picture, 70 % of each side, somewhere in it."""
    w, h = round(image.width * 0.7), round(image.height * 0.7)
    left, top = rng.randint(0, image.width - w), rng.randint(0, image.height - h)
    return image.crop((left, top, left + w, top + h))


def controls(image: Image.Image, rng: random.Random) -> Image.Image:
    """The player's controls over the picture: a dark band, a progress bar and a time code."""
    image = image.convert("RGBA")
    w, h = image.size
    band = h // 6
    shade = Image.new("RGBA", (w, band))
    draw = ImageDraw.Draw(shade)
    for row in range(band):
        draw.line([(0, row), (w, row)], fill=(0, 0, 0, int(170 * row / band)))
    image.alpha_composite(shade, (0, h - band))
    draw, y, done = ImageDraw.Draw(image), h - band // 2, rng.uniform(0.1, 0.9)
    draw.line([(w * 0.03, y), (w * 0.97, y)], fill=(200, 200, 200, 160), width=max(2, h // 120))
    draw.line([(w * 0.03, y), (w * (0.03 + 0.94 * done), y)], fill=(230, 30, 30, 255), width=max(2, h // 120))
    draw.text((w * 0.03, y + h // 40), "1:23:45 / 2:01:10", fill=(255, 255, 255, 255))
    return image.convert("RGB")


def web_page(image: Image.Image, rng: random.Random) -> Image.Image:
    """A browser window at 1920 x 1080 around a video page: the picture in a 16:9 player (black
    bars) in its upper left, a title and a channel line under it, a column of suggested videos
    (coloured thumbnails, two lines of text each) to its right; a light or a dark theme."""
    dark = rng.random() < 0.5
    page, ink, faint = (
        ((15, 15, 15), (241, 241, 241), (170, 170, 170))
        if dark
        else ((255, 255, 255), (15, 15, 15), (96, 96, 96))
    )
    screen = Image.new("RGB", (1920, 1080), page)
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 1920, 56), fill=(33, 33, 33) if dark else (248, 248, 248))  # the address bar
    draw.rounded_rectangle((560, 10, 1360, 46), 18, outline=faint, width=2)
    left, top, width = 24, 80, 1280
    box = Image.new("RGB", (width, width * 9 // 16))
    scale = min(box.width / image.width, box.height / image.height)
    fitted = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BICUBIC)
    box.paste(fitted, ((box.width - fitted.width) // 2, (box.height - fitted.height) // 2))
    screen.paste(box, (left, top))
    font, small = ImageFont.load_default(28), ImageFont.load_default(18)
    y = top + box.height + 16
    draw.text((left, y), " ".join(rng.choice(WORDS) for _ in range(6)).title(), font=font, fill=ink)
    draw.ellipse((left, y + 52, left + 40, y + 92), fill=faint)
    draw.text((left + 52, y + 60), " ".join(rng.choice(WORDS) for _ in range(2)), font=small, fill=faint)
    for i in range(9):  # suggested videos
        x, y = left + width + 24, top + i * 108
        colour = tuple(rng.randint(30, 220) for _ in range(3))
        draw.rectangle((x, y, x + 168, y + 94), fill=colour)
        draw.text((x + 180, y + 6), " ".join(rng.choice(WORDS) for _ in range(4)), font=small, fill=ink)
        draw.text((x + 180, y + 34), " ".join(rng.choice(WORDS) for _ in range(2)), font=small, fill=faint)
    return screen


VARIANTS: dict[str, Callable[[Image.Image, random.Random], Image.Image]] = {
    "player": player,
    "subtitles": subtitles,
    "yellow subtitles": yellow_subtitles,
    "small jpeg": small_jpeg,
    "cropped": cropped,
    "controls": controls,
    "web page": web_page,
}


def screenshots(dataset: Dataset, name: str) -> Dataset:
    """The stills of ``dataset`` turned into ``name`` screenshots (made once, then reused)."""
    folder = CACHE / "screenshots" / name.replace(" ", "-")
    paths = []
    for path in dataset.frames.path:
        relative = Path(path).relative_to(dataset.root)
        out = (folder / relative).with_suffix(".png")
        if not out.is_file():
            seed = int(hashlib.sha256(str(relative).encode()).hexdigest()[:8], 16)
            image = VARIANTS[name](Image.open(path).convert("RGB"), random.Random(seed))
            out.parent.mkdir(parents=True, exist_ok=True)
            partial = out.with_name(f".{out.name}.part{out.suffix}")
            image.save(partial, compress_level=1)  # fast: these are read once
            partial.replace(out)
        paths.append(out)
    return replace(dataset, root=folder, frames=dataset.frames.assign(path=paths))


def as_predict_reads(shots: Dataset, folder: Path) -> Dataset:
    """``shots`` as ``predict`` reads a picture before any backbone sees it (``load_picture``:
    uniform borders trimmed, the picture found in a screenshot of a page, huge ones shrunk),
    written into ``folder`` (features are cached by the files' bytes, so unchanged pictures cost
    nothing the next time)."""
    paths = []
    for path in shots.frames.path:
        out = folder / Path(path).relative_to(shots.root)
        out.parent.mkdir(parents=True, exist_ok=True)
        load_picture(path).save(out, compress_level=1)
        paths.append(out)
    return replace(shots, root=folder, frames=shots.frames.assign(path=paths))


def figures(frames, shots, backbone: str, config: TrainConfig) -> dict[str, float]:
    """Films never seen: the recipe trained on frames, asked about the held-out ones' screenshots."""
    store = CACHE / "stills-features"  # keyed by each file's bytes: shared with real.py
    data = labelled(frames, embed_dataset(frames, backbone, store))
    queries = embed_dataset(shots, backbone, store).matrix
    rotations = films_never_seen_rotations(data)
    return unseen_film_figures(*unseen_film_scores(data, config, rotations, queries=queries))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stills", type=Path, required=True, help="the folder real-stills/build.sh made")
    parser.add_argument("--backbone", default=EmbedConfig().backbone, help="features (default: %(default)s)")
    parser.add_argument("--only", default="", help="only the variants whose name contains this")
    args = parser.parse_args()
    dataset = load_dataset(args.stills)
    films = dataset.frames.groupby("director").film.nunique()
    several = dataset.frames[dataset.frames.director.isin(films[films >= 2].index)].reset_index(drop=True)
    sets = (("several films", replace(dataset, frames=several)), ("all", dataset))
    config = TrainConfig(chance_permutations=0)
    print(
        f"screenshots of {len(dataset)} real stills, {args.backbone}: films never seen; chance "
        + " / ".join(f"{1 / part.frames.director.nunique():.3f}" for _, part in sets)
    )
    print(
        "| asked about | "
        + " | ".join(f"{name}: top-1 | top-5 | one verdict per film" for name, _ in sets)
        + " |"
    )
    print("|---|" + "---|---|---|" * len(sets))
    for name in ("frames", *VARIANTS):
        if args.only not in name:
            continue
        start, cells = time.perf_counter(), []
        for _, part in sets:
            shots = part if name == "frames" else screenshots(part, name)
            with tempfile.TemporaryDirectory() as read:
                shots = as_predict_reads(shots, Path(read))
                got = figures(part, shots, args.backbone, config)
            cells.append(f"{got['top1']:.3f} | {got['top5']:.3f} | {got['film_verdict']:.3f}")
        print(f"| {name} | {' | '.join(cells)} | ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
