"""The film's picture is found in a screenshot of a web page or a window, and nowhere else."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from whodirected.features.images import find_picture, trim_borders

skimage_data = pytest.importorskip("skimage.data")

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")


def photo(name: str, width: int = 960, aspect: float = 1.85) -> Image.Image:
    """A public-domain sample photograph cut to a film's frame, ``width`` wide."""
    image = Image.fromarray(getattr(skimage_data, name)()).convert("RGB")
    height = min(image.height, round(image.width / aspect))
    top = (image.height - height) // 2
    image = image.crop((0, top, image.width, top + height))
    return image.resize((width, round(width * image.height / image.width)))


def page(picture: Image.Image, background: tuple, ink: tuple, player: tuple | None = None) -> tuple:
    """A screenshot of a video site: ``picture`` in a 16:9 player (bars of ``player``'s colour,
    or none: the player is the picture) under a toolbar, a title and a channel line below, a
    column of suggested videos to the right. Returns the screenshot and the picture's box."""
    width = picture.width
    height = width * 9 // 16 if player else picture.height
    screen = Image.new("RGB", (width * 3 // 2 + 80, max(height + 200, 760)), background)
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, screen.width, 40), fill=tuple(max(0, c - 12) for c in background))
    draw.rounded_rectangle((screen.width // 3, 8, 2 * screen.width // 3, 32), 12, outline=ink)
    left, top = 24, 64
    if player:
        draw.rectangle((left, top, left + width - 1, top + height - 1), fill=player)
    inner = (left, top + (height - picture.height) // 2)
    screen.paste(picture, inner)
    font = ImageFont.load_default(22)
    draw.text((left, top + height + 16), "A Film, Its Trailer In Full", font=font, fill=ink)
    draw.ellipse((left, top + height + 56, left + 32, top + height + 88), fill=(128, 128, 128))
    for i in range(6):
        y = top + i * 110
        draw.rectangle(
            (left + width + 24, y, left + width + 184, y + 90), fill=(60 + 30 * i, 120, 200 - 25 * i)
        )
        draw.text((left + width + 194, y + 8), "Another video", font=font, fill=ink)
    box = (*inner, inner[0] + picture.width, inner[1] + picture.height)
    return screen, box


def close(found, expected, tolerance: int) -> bool:
    return found is not None and all(abs(a - b) <= tolerance for a, b in zip(found, expected, strict=True))


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize(
    "theme",
    [
        ((255, 255, 255), (15, 15, 15), None),  # light, the picture fills the player
        ((15, 15, 15), (240, 240, 240), None),  # dark
        ((249, 249, 249), (15, 15, 15), (0, 0, 0)),  # light, a wide film in a 16:9 player
        ((24, 24, 24), (240, 240, 240), (0, 0, 0)),  # dark, the player's black bars on a dark page
    ],
)
def test_the_picture_is_found_on_a_page(name: str, theme: tuple) -> None:
    background, ink, player = theme
    picture = photo(name, aspect=2.39 if player else 1.78)
    screen, box = page(picture, background, ink, player)
    found = find_picture(screen)
    if name == "hubble_deep_field" and max(background) < 128 and not player:
        assert found is None  # a black sky on a black page: no telling them apart, so no cut
        return
    if player:  # the player is found, bars and all: the bars are trimmed later, as in training
        left, top = box[0], 64
        assert close(found, (left, top, left + picture.width, top + picture.width * 9 // 16), 6), found
    else:
        assert close(found, box, 6), found
    cropped = trim_borders(screen)
    assert cropped.size == (found[2] - found[0], found[3] - found[1])


@pytest.mark.parametrize("name", PHOTOS)
def test_frames_are_left_alone(name: str) -> None:
    """A frame, a frame in black bars (measured as bars, then trimmed, as in training), a flat
    page with only a small picture on it, and a blank page are not pages with a picture."""
    picture = photo(name)
    assert find_picture(picture) is None
    bars = Image.new("RGB", (picture.width, picture.height + 160))
    bars.paste(picture, (0, 80))
    assert find_picture(bars) is None
    assert trim_borders(bars).size == bars.size
    article = Image.new("RGB", (1280, 800), (255, 255, 255))  # a picture of 2 % of the page: an icon
    article.paste(photo(name, width=160), (560, 300))
    ImageDraw.Draw(article).text((560, 400), "A caption under a small picture", fill=(15, 15, 15))
    assert find_picture(article) is None
    blank = Image.new("RGB", (800, 450), (255, 255, 255))
    assert find_picture(blank) is None and find_picture(Image.new("RGB", (20, 10))) is None


def test_a_huge_screenshot_is_searched_on_a_small_copy() -> None:
    picture = photo("astronaut", width=3200, aspect=1.78)
    screen, box = page(picture, (255, 255, 255), (15, 15, 15))
    assert close(find_picture(screen), box, 2 * int(np.ceil(screen.width / 480)))


@pytest.mark.parametrize("background", [(255, 255, 255), (0, 0, 0)])
def test_a_phone_screenshot_of_a_video_app(background: tuple) -> None:
    """Portrait, the video across the whole width under the status bar, comments below it."""
    ink = tuple(255 - c for c in background)
    picture = photo("astronaut", width=1170, aspect=1.78)
    screen = Image.new("RGB", (1170, 2532), background)
    draw, font = ImageDraw.Draw(screen), ImageFont.load_default(36)
    draw.text((40, 40), "9:41", font=font, fill=ink)
    screen.paste(picture, (0, 140))
    for i in range(10):
        draw.text((40, 180 + picture.height + i * 90), "A comment on the video", font=font, fill=ink)
    box = (0, 140, picture.width, 140 + picture.height)
    assert close(find_picture(screen), box, 2 * int(np.ceil(screen.height / 480)))


def test_a_video_embedded_in_an_article() -> None:
    """A 640-pixel video among the lines of an article on a 1920 x 1080 screenshot (11 %)."""
    screen = Image.new("RGB", (1920, 1080), (250, 250, 250))
    draw, font = ImageDraw.Draw(screen), ImageFont.load_default(20)
    for i in range(6):
        draw.text(
            (560, 60 + i * 30), "A paragraph of the article about the film", font=font, fill=(30, 30, 30)
        )
    picture = photo("chelsea", width=640, aspect=1.78)
    screen.paste(picture, (560, 260))
    for i in range(8):
        draw.text((560, 280 + picture.height + i * 30), "More of the article", font=font, fill=(30, 30, 30))
    box = (560, 260, 560 + picture.width, 260 + picture.height)
    assert close(find_picture(screen), box, 2 * int(np.ceil(screen.width / 480)))
