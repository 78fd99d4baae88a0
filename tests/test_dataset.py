from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from whodirected.features.dataset import DatasetError, load_dataset
from whodirected.features.images import ImageError, open_image


def save(path: Path, colour=(100, 50, 20), size=(64, 36), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour if mode != "L" else 128).save(path)
    return path


def test_manifest_and_film_folders_and_flat_layout(demo_frames: Path, tmp_path: Path) -> None:
    from_manifest = load_dataset(demo_frames)
    assert from_manifest.grouped and set(from_manifest.directors) == {"Agnès Varda", "Wes Anderson"}
    assert all(Path(p).is_file() for p in from_manifest.frames.path)

    for director in ("A", "B"):
        for film in ("one", "two"):
            save(tmp_path / "films" / director / film / "f1.jpg")
            save(tmp_path / "films" / director / film / "f2.png")
    folders = load_dataset(tmp_path / "films")
    assert folders.grouped and not folders.warnings and len(folders) == 8
    assert folders.frames.film.nunique() == 2

    save(tmp_path / "flat" / "A" / "x.jpg")
    save(tmp_path / "flat" / "B" / "y.webp")
    flat = load_dataset(tmp_path / "flat")
    assert not flat.grouped and "cannot be grouped by film" in flat.warnings[0]


def test_missing_or_empty_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such"):
        load_dataset(tmp_path / "nope")
    (tmp_path / "empty" / "A").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no frames"):
        load_dataset(tmp_path / "empty")


def test_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (30000, 30000)).save(bomb)  # a few kB on disk, 900 megapixels
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(ImageError, match="pixel limit, refused unread"):
        open_image(bomb)


def test_bad_and_odd_images(tmp_path: Path) -> None:
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(ImageError, match="not a readable image"):
        open_image(tmp_path / "text.jpg")
    good = save(tmp_path / "good.jpg", size=(200, 100))
    (tmp_path / "cut.jpg").write_bytes(good.read_bytes()[:300])
    with pytest.raises(ImageError):
        open_image(tmp_path / "cut.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        open_image(tmp_path / "empty.png")
    rgba = tmp_path / "alpha.png"
    Image.new("RGBA", (10, 10), (255, 0, 0, 0)).save(rgba)
    assert np.unique(np.asarray(open_image(rgba))).tolist() == [128]  # transparent is grey, not red or black
    sticker = Image.new("RGBA", (200, 100), (0, 0, 0, 0))  # a picture on a transparent canvas
    sticker.paste((200, 40, 40, 255), (50, 30, 150, 70))
    sticker.save(rgba)
    assert open_image(rgba).size == (100, 40)  # cropped to what is visible: no black bars
    grey = save(tmp_path / "grey.png", mode="L")
    assert open_image(grey).mode == "RGB"


def test_size_cap_is_configurable(tmp_path: Path) -> None:
    big = save(tmp_path / "big.png", size=(3000, 2000))
    with pytest.raises(ImageError, match="3000x2000 is over the 1,000,000-pixel limit"):
        open_image(big, max_pixels=1_000_000)
