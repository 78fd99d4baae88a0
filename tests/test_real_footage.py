"""The defaults on real footage: ../shared/data/real-clips (Blender open movies, one film per
director), extracted, trained and evaluated as a new user would, with the defaults."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from whodirected.config import EmbedConfig, ExtractConfig, TrainConfig
from whodirected.extract.library import extract_library
from whodirected.features.dataset import Dataset, load_dataset
from whodirected.features.style import describe
from whodirected.models.model import Model
from whodirected.models.prediction import BLANK, TOO_SMALL, UNKNOWN
from whodirected.models.train import train


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whodirected", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def real_frames(real_clips: Path, tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("real") / "frames"
    summary = extract_library(real_clips, out, ExtractConfig(), jobs=2)
    assert not summary.errors
    return load_dataset(out)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("real-store")


def part_of(dataset: Dataset, film: str, part: str) -> np.ndarray:
    frames = dataset.frames
    return ((frames.film == film) & frames.source.map(lambda s: Path(s).stem == part)).to_numpy()


def test_defaults_keep_enough_frames_from_short_real_clips(real_frames: Dataset) -> None:
    per_director = real_frames.frames.groupby("director").size()
    # the fewest: the 10-second Caminandes part, one llama in one place (4 frames not within 4 bits)
    assert len(per_director) == 4 and per_director.min() >= 4, per_director.to_dict()
    sintel_b = part_of(real_frames, "Sintel", "part-b")  # a 2-second clip
    assert sintel_b.sum() >= 5


def test_calibration_without_a_part_of_sintel_accepts_most_of_it(real_frames: Dataset, store: Path) -> None:
    held = part_of(real_frames, "Sintel", "part-a")
    rest = replace(real_frames, frames=real_frames.frames[~held].reset_index(drop=True))
    model, _ = train(rest, EmbedConfig(), TrainConfig(), store)
    open_set = model.open_set
    assert open_set is not None and open_set.note is None and "scene-held-out" in open_set.method
    assert open_set.known_accepted >= TrainConfig().open_set_accept
    predictions = model.predict_many(real_frames.frames.path[held].tolist())
    assert np.mean([p.verdict == "Colin Levy" for p in predictions]) > 0.5
    for p in predictions:  # one rule for the film line and the evidence
        assert p.film is not None and p.film.film == p.evidence[0].film
        assert p.film.similarity == p.evidence[0].similarity
        assert not (p.film.known and p.unfamiliar)  # never "trained on" and "unlike all" at once


def test_evidence_names_the_part_file(real_frames: Dataset, store: Path) -> None:
    model, _ = train(real_frames, EmbedConfig(), TrainConfig(calibrate=False), store)
    trailer = real_frames.frames.path[part_of(real_frames, "Sintel", "trailer")].iloc[3]
    prediction = model.predict(trailer)
    first = prediction.evidence[0]
    assert (first.film, first.part, first.frame) == ("Sintel", "trailer", Path(trailer).name)
    assert prediction.film is not None and prediction.film.known and prediction.film.film == "Sintel"


def test_train_and_evaluate_say_what_they_can_and_cannot_measure(
    real_frames: Dataset, store: Path, tmp_path: Path
) -> None:
    trained = run("train", str(real_frames.root), "-o", str(tmp_path / "model"), "--features", str(store))
    assert trained.returncode == 0, trained.stderr
    assert "keep 80% of held-out frames of known directors accepted" in trained.stderr
    assert "scene-held-out" in trained.stderr and "called unknown" in trained.stderr
    info = json.loads((tmp_path / "model" / "model.json").read_text(encoding="utf-8"))
    assert (
        info["open_set"]["unknown_refused"] is not None
        and info["backbone"] == "efficientnet-lite2+grade+style"
    )

    result = run("evaluate", str(real_frames.root), "-o", str(tmp_path / "eval"), "--features", str(store))
    assert result.returncode == 0, result.stderr
    assert "film-grouped director accuracy: not measurable" in result.stderr
    assert "0.000 ± 0.000" not in result.stderr
    report = json.loads((tmp_path / "eval" / "report.json").read_text(encoding="utf-8"))
    assert report["film_grouped"] is None and report["leakage_gap"] is None
    assert report["scene_held_out"]["top1"]["mean"] > 0.5 and "optimistic" in report["protocol"]
    assert report["warnings"] and "not measurable" in report["warnings"][0]
    assert report["open_set"]["held_out"]["accepted"] > 0.5
    assert report["learning_curve"] == [] and not (tmp_path / "eval" / "learning_curve.png").exists()
    page = (tmp_path / "eval" / "report.html").read_text(encoding="utf-8")
    assert page.index("not measurable") < page.index("<table>")  # the warning opens the report


def test_degenerate_pictures_name_no_director(demo_model: Path, tmp_path: Path) -> None:
    model = Model.load(demo_model)
    Image.new("RGB", (1, 1), (200, 30, 30)).save(tmp_path / "dot.png")
    Image.new("RGBA", (640, 360), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    Image.new("RGB", (640, 360), (40, 90, 160)).save(tmp_path / "flat.png")
    cases = {"dot.png": TOO_SMALL, "clear.png": BLANK, "flat.png": BLANK}
    for name, refusal in cases.items():
        p = model.predict(tmp_path / name)
        assert p.verdict == refusal and p.unknown and p.ranking == [] and p.reason, name
        assert p.verdict not in model.classes and p.to_dict()["verdict"] == refusal
    result = run("predict", *(str(tmp_path / n) for n in cases), "--model", str(demo_model), "--json")
    assert result.returncode == 0, result.stderr
    verdicts = [p["verdict"] for p in json.loads(result.stdout)["predictions"]]
    assert verdicts == list(cases.values()) and UNKNOWN not in verdicts


def test_transparency_is_never_a_letterbox(tmp_path: Path) -> None:
    from whodirected.features.images import open_image
    from whodirected.features.style import NAMES

    picture = Image.new("RGBA", (640, 480), (0, 0, 0, 0))  # a 16:9 picture on a transparent 4:3 canvas
    picture.paste(Image.effect_noise((640, 360), 60).convert("RGBA"), (0, 60))
    picture.save(tmp_path / "sticker.png")
    values = dict(zip(NAMES, describe(open_image(tmp_path / "sticker.png")), strict=True))
    assert values["letterbox"] < 0.02 and abs(values["active_aspect"] - 640 / 360) < 0.05
