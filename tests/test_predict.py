"""Prediction on real models trained on the generated demo library and on real footage."""

from __future__ import annotations

import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from whodirected.config import EmbedConfig, ExtractConfig, PredictConfig, TrainConfig
from whodirected.extract.demo import make_library
from whodirected.extract.library import extract_library
from whodirected.features.dataset import Dataset, load_dataset
from whodirected.features.images import trim_borders
from whodirected.features.style import describe
from whodirected.models.heads import Head, Scaler
from whodirected.models.model import Model
from whodirected.models.prediction import UNKNOWN

UNSEEN = "Andrei Tarkovsky"  # the demo's fourth director: never shown to the model


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whodirected", *args], capture_output=True, text=True)


def subset(dataset: Dataset, keep: np.ndarray) -> Dataset:
    return replace(dataset, frames=dataset.frames[keep].reset_index(drop=True))


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four directors x three films; the last film of each director is held out of training."""
    root = tmp_path_factory.mktemp("open") / "library"
    make_library(root, directors=4, films=3, seconds=8, seed=3)
    return root


@pytest.fixture(scope="module")
def frames(library: Path, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("open-frames") / "frames"
    extract_library(library, out, ExtractConfig(mode="every", every=0.5), jobs=1)
    return load_dataset(out)


def held_out_films(dataset: Dataset) -> set[str]:
    return {sorted(group.film.unique())[-1] for _, group in dataset.frames.groupby("director")}


@pytest.fixture(scope="module")
def model_dir(frames: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from whodirected.models.train import train

    known = (frames.frames.director != UNSEEN) & ~frames.frames.film.isin(held_out_films(frames))
    # the generated directors differ by their grading and palette, so this fixture model keeps
    # grade beside the network (a quarter of the similarity; a small network keeps it quick)
    embed = EmbedConfig(backbone="efficientnet-lite0+grade")
    model, _ = train(subset(frames, known.to_numpy()), embed, TrainConfig(), frames.root / ".store")
    return model.save(tmp_path_factory.mktemp("model") / "model")


@pytest.fixture(scope="module")
def model(model_dir: Path) -> Model:
    return Model.load(model_dir)


def test_held_out_films_are_recognised(model: Model, frames: Dataset) -> None:
    rows = frames.frames[frames.frames.film.isin(held_out_films(frames)) & (frames.frames.director != UNSEEN)]
    predictions = model.predict_many(rows.path.tolist())
    top = [p.ranking[0].director for p in predictions]
    assert np.mean(np.asarray(top) == rows.director.to_numpy()) > 0.7
    assert all(abs(sum(r.probability for r in p.ranking) - 1) < 1e-5 for p in predictions)
    assert (
        model.open_set is not None and model.open_set.unknown_refused is not None
    )  # calibrated on held-out directors


def test_unseen_director_is_usually_unknown(model: Model, frames: Dataset) -> None:
    rows = frames.frames[frames.frames.director == UNSEEN]
    predictions = model.predict_many(rows.path.tolist())
    assert np.mean([p.verdict == UNKNOWN for p in predictions]) > 0.5
    assert all(p.ranking[0].director != UNSEEN for p in predictions)  # it cannot name them


def test_evidence_finds_the_same_training_film(model: Model, frames: Dataset) -> None:
    trained = frames.frames[
        (frames.frames.director != UNSEEN) & ~frames.frames.film.isin(held_out_films(frames))
    ]
    for _, row in trained.iloc[::9].iterrows():
        prediction = model.predict(row.path)
        assert prediction.evidence[0].film == row.film and prediction.evidence[0].similarity > 0.99
        assert prediction.film is not None and prediction.film.film == row.film and prediction.film.known
        assert prediction.style is not None and row.director in prediction.style.summary


def test_clip_and_folder_aggregate_through_the_cli(
    model_dir: Path, library: Path, frames: Dataset, tmp_path: Path
):
    director = "Wes Anderson"
    film = sorted(frames.frames[frames.frames.director == director].film.unique())[-1]  # held out
    clip = next((library / director).glob(f"{film}.*"))
    folder = Path(frames.frames[frames.frames.film == film].path.iloc[0]).parent
    result = run(
        "predict", str(clip), str(folder), "--model", str(model_dir), "--json", "--aggregate", "mean"
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [p["source"] for p in report["predictions"]] == [str(clip), str(folder)]
    for prediction in report["predictions"]:
        assert prediction["aggregate"] == "mean" and len(prediction["frames"]) > 3
        assert prediction["ranking"][0]["director"] == director
    per_image = run("predict", str(folder), "--model", str(model_dir), "--json", "--top-k", "2")
    images = json.loads(per_image.stdout)["predictions"]
    assert len(images) == len(list(folder.glob("*.jpg"))) and all(len(p["ranking"]) == 2 for p in images)


def test_json_and_save_schema(model_dir: Path, frames: Dataset, tmp_path: Path) -> None:
    image = frames.frames.path.iloc[0]
    result = run("predict", image, "--model", str(model_dir), "--json", "--save", str(tmp_path / "out.json"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == report
    assert set(report) == {"model", "predictions", "errors"} and report["errors"] == []
    (prediction,) = report["predictions"]
    assert set(prediction) == {
        "source", "verdict", "unknown", "confidence", "min_confidence", "familiarity", "min_familiarity",
        "ranking", "evidence", "film", "claim", "films_never_seen", "explanation", "style", "refusal", "reason", "aggregate", "frames",
        "shot_scale", "shot_scale_share", "face_matches",
    }  # fmt: skip
    assert prediction["shot_scale"] is None and prediction["face_matches"] == []  # no faces block
    assert len(prediction["ranking"]) == 3 and len(prediction["evidence"]) == 5
    assert set(prediction["evidence"][0]) == {
        "id",
        "director",
        "film",
        "part",
        "timestamp",
        "frame",
        "similarity",
    }
    assert set(prediction["film"]) == {"film", "director", "similarity", "known"}
    assert {"traits", "summary", "descriptors"} <= set(prediction["style"])

    table = run("predict", image, "--model", str(model_dir), "--save", str(tmp_path / "out.csv"))
    assert table.returncode == 0 and "→" in table.stdout
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert (
        len(rows) == 1
        and rows[0]["source"] == image
        and rows[0]["director1"] == prediction["ranking"][0]["director"]
    )


# -- messy screenshots --------------------------------------------------------------------------
def video_page(frame: Image.Image, page: tuple, ink: tuple) -> Image.Image:
    """A browser screenshot of a video site: the frame in a player, a title under it and a
    column of suggested videos beside it."""
    w, h = frame.size
    screen = Image.new("RGB", (w * 3 // 2 + 60, h * 3 // 2 + 40), page)
    draw = ImageDraw.Draw(screen)
    screen.paste(frame, (20, 30))
    draw.text((20, h + 40), "The film's title, and who uploaded it", fill=ink)
    for i in range(4):
        top = 30 + i * (h // 4 + 6)
        draw.rectangle((w + 40, top, w + 40 + w // 4, top + h // 4), fill=(40 + 50 * i, 90, 200 - 40 * i))
        draw.text((w + 50 + w // 4, top + 4), "Another video", fill=ink)
    return screen


def messy_variants(path: str, tmp_path: Path) -> dict[str, Path]:
    frame = Image.open(path).convert("RGB")
    w, h = frame.size
    out = {}
    player = Image.new("RGB", (w + 80, h + 120), (58, 58, 62))  # a player's flat grey chrome
    player.paste(frame, (40, 50))
    out["player border"] = player
    subtitled = Image.new("RGB", (w, h + 80), (0, 0, 0))  # letterboxed, subtitles in the bar
    subtitled.paste(frame, (0, 40))
    ImageDraw.Draw(subtitled).text((w // 4, h + 52), "I never said that, did I?", fill=(240, 240, 240))
    out["subtitles in the bar"] = subtitled
    out["odd size"] = frame.resize((w * 3 + 7, h * 3 + 1))
    rgba = frame.convert("RGBA")
    rgba.putalpha(255)
    out["png with alpha"] = rgba
    out["greyscale"] = frame.convert("L")
    out["web page, light"] = video_page(frame, (255, 255, 255), (20, 20, 20))
    out["web page, dark"] = video_page(frame, (15, 15, 15), (235, 235, 235))
    paths = {}
    for name, image in out.items():
        paths[name] = tmp_path / f"{name.replace(' ', '-')}.png"
        image.save(paths[name])
    rotated = tmp_path / "exif-rotated.jpg"  # stored on its side, EXIF says turn it upright
    exif = Image.Exif()
    exif[0x0112] = 6
    frame.transpose(Image.Transpose.ROTATE_90).save(rotated, exif=exif, quality=95)
    paths["exif rotation"] = rotated
    return paths


def test_messy_screenshots(model: Model, frames: Dataset, tmp_path: Path) -> None:
    source = frames.frames.path.iloc[len(frames.frames) // 3]
    clean = model.predict(source)
    for name, path in messy_variants(source, tmp_path).items():
        prediction = model.predict(path)
        assert prediction.ranking[0].director == clean.ranking[0].director, name
        if name != "greyscale":  # colour is gone: only the rest of the look can match
            assert prediction.evidence[0].frame == clean.evidence[0].frame, name


def test_border_trimming_and_subtitles_keep_the_picture(frames: Dataset, tmp_path: Path) -> None:
    source = frames.frames.path.iloc[0]
    variants = messy_variants(source, tmp_path)
    assert trim_borders(Image.open(variants["player border"])).size == Image.open(source).size
    for page in ("web page, light", "web page, dark"):  # the picture found on the page, to a pixel or two
        found, size = trim_borders(Image.open(variants[page])).size, Image.open(source).size
        assert all(0.97 * side <= got <= side for got, side in zip(found, size, strict=True)), (page, found)
    white = Image.new("RGB", (400, 300), (255, 255, 255))
    assert trim_borders(white).size == white.size  # all border: nothing trimmed
    picture = Image.open(source).convert("RGB")
    bars = Image.new("RGB", (picture.width, picture.height + 80))
    bars.paste(picture, (0, 40))
    plain = describe(bars)
    subtitled = describe(Image.open(variants["subtitles in the bar"]))
    np.testing.assert_allclose(plain[7], subtitled[7], atol=0.01)  # letterbox share unchanged


# -- bad input ----------------------------------------------------------------------------------
def huge_png(path: Path, width: int = 40000, height: int = 40000) -> Path:
    """A PNG header claiming 1.6 gigapixels, with hardly any data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def test_bad_inputs_fail_alone(model_dir: Path, frames: Dataset, tmp_path: Path) -> None:
    good = frames.frames.path.iloc[0]
    (tmp_path / "notes.jpg").write_text("not an image at all")
    (tmp_path / "empty.png").write_bytes(b"")
    huge_png(tmp_path / "huge.png")
    (tmp_path / "nothing").mkdir()
    args = [str(tmp_path / n) for n in ("notes.jpg", "empty.png", "huge.png", "missing.jpg", "nothing")]
    result = run("predict", good, *args, "--model", str(model_dir), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert [p["source"] for p in report["predictions"]] == [good]
    assert len(report["errors"]) == 5
    for needle in ("not a readable image", "empty file", "pixel limit", "no such file", "no images"):
        assert sum(needle in line for line in result.stderr.splitlines()) == 1, (needle, result.stderr)


def test_missing_corrupt_and_unavailable_models(model_dir: Path, frames: Dataset, tmp_path: Path) -> None:
    image = frames.frames.path.iloc[0]
    missing = run("predict", image, "--model", str(tmp_path / "none"))
    assert missing.returncode == 2 and "not a whodirected model" in missing.stderr

    corrupt = Path(shutil.copytree(model_dir, tmp_path / "corrupt"))
    (corrupt / "model.npz").write_bytes(b"PK\x03\x04 truncated")
    result = run("predict", image, "--model", str(corrupt))
    assert (
        result.returncode == 2 and "corrupt model" in result.stderr and len(result.stderr.splitlines()) == 1
    )

    for backbone, message in (("vgg-16+style", "unknown backbone"), ("resnet-50", "expects")):
        other = Path(shutil.copytree(model_dir, tmp_path / backbone))
        info = json.loads((other / "model.json").read_text(encoding="utf-8"))
        info["backbone"] = backbone
        (other / "model.json").write_text(json.dumps(info), encoding="utf-8")
        result = run("predict", image, "--model", str(other))
        assert result.returncode == 2 and message in result.stderr, result.stderr

    # a model of a backbone whose weights cannot be had here (a hub download, offline)
    head = Head([np.zeros((2048, 2), np.float32)], [np.zeros(2, np.float32)])
    scaler = Scaler(np.zeros(2048, np.float32), np.ones(2048, np.float32))
    Model(["A", "B"], "resnet-50", [("resnet-50", 2048)], scaler, head).save(tmp_path / "hub")
    offline = subprocess.run(
        [sys.executable, "-m", "whodirected", "predict", image, "--model", str(tmp_path / "hub")],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert offline.returncode == 2 and "could not be downloaded" in offline.stderr, offline.stderr


def test_library_api_accepts_arrays_and_images(model: Model, frames: Dataset) -> None:
    path = frames.frames.path.iloc[5]
    picture = Image.open(path)
    by_path, by_image, by_array = (
        model.predict(path),
        model.predict(picture),
        model.predict(np.asarray(picture)),
    )
    assert by_path.ranking[0].director == by_image.ranking[0].director == by_array.ranking[0].director
    np.testing.assert_allclose(by_image.confidence, by_array.confidence, rtol=1e-5)
    assert by_path.min_confidence == model.min_confidence
    lenient = model.predict(path, min_confidence=0.0)
    assert lenient.min_confidence == 0.0 and PredictConfig().top_k == 3


# -- real footage -------------------------------------------------------------------------------
def test_real_footage_film_identification(real_clips: Path, tmp_path: Path) -> None:
    """Trained on one part of each Blender film, it recognises the film of frames from another."""
    from whodirected.models.train import train
    from whodirected.predict.inputs import clip_frames

    listing = tmp_path / "library.csv"
    parts = sorted(real_clips.glob("*/*/part-a.*"))
    listing.write_text(
        "path,director,film\n" + "".join(f"{p},{p.parent.parent.name},{p.parent.name}\n" for p in parts),
        encoding="utf-8",
    )
    extract_library(listing, tmp_path / "frames", ExtractConfig(mode="every", every=0.5), jobs=1)
    dataset = load_dataset(tmp_path / "frames")
    model, _ = train(dataset, EmbedConfig(), TrainConfig(), tmp_path / "store")
    for film, clip in (("Sintel", "part-b.mp4"), ("Big Buck Bunny", "part-b.webm")):
        (path,) = real_clips.glob(f"*/{film}/{clip}")
        pictures = [image for _, image in clip_frames(path, 8)]
        predictions = model.predict_many(pictures)
        films = [p.film.film for p in predictions if p.film is not None]
        assert np.mean(np.asarray(films) == film) >= 0.75, (film, films)
