"""Show why: heat maps of where a director's evidence lies, on a real model of the generated
demo library (whose two directors look clearly different)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from whodirected.features.dataset import load_dataset
from whodirected.models.explain import explain
from whodirected.models.model import Model

HALF = (160, 180)


def composite(left: str, right: str) -> Image.Image:
    picture = Image.new("RGB", (2 * HALF[0], HALF[1]))
    for n, path in enumerate((left, right)):
        picture.paste(Image.open(path).convert("RGB").resize(HALF), (n * HALF[0], 0))
    return picture


def half_share(grid: list[list[float]], right: bool) -> float:
    heat = np.asarray(grid)
    half = heat.shape[1] / 2
    columns = np.arange(heat.shape[1]) + 0.5
    on_right = np.clip(columns - half + 0.5, 0, 1)  # the middle column is split
    share = float((heat * on_right).sum())
    return share if right else float(heat.sum()) - share


def test_each_directors_heat_sits_on_their_half(demo_model: Path, demo_frames: Path) -> None:
    model = Model.load(demo_model)
    frames = load_dataset(demo_frames).frames
    a, b = model.classes[:2]
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(3):
        left = rng.choice(frames.path[frames.director == a].to_numpy())
        right = rng.choice(frames.path[frames.director == b].to_numpy())
        picture = composite(left, right)
        for director, on_right in ((a, False), (b, True)):
            found = explain(model, picture, director)
            heat = np.asarray(found.grid)
            assert found.director == director and heat.shape == (3, 5)
            assert heat.min() >= 0 and heat.sum() == pytest.approx(1.0, abs=1e-3)
            shares.append(half_share(found.grid, on_right))
    assert np.mean(shares) > 0.6, shares
    with pytest.raises(ValueError, match="not one of the model's directors"):
        explain(model, picture, "Nobody")


def test_predict_explain_writes_overlays_and_the_json_carries_the_map(
    demo_model: Path, demo_frames: Path, tmp_path: Path
) -> None:
    frame = sorted(demo_frames.glob("*/*/*.jpg"))[0]
    result = subprocess.run(
        [sys.executable, "-m", "whodirected", "predict", str(frame), "-m", str(demo_model), "--json",
         "--explain", str(tmp_path / "why")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    prediction = json.loads(result.stdout)["predictions"][0]
    explanation = prediction["explanation"]
    assert explanation["director"] == prediction["ranking"][0]["director"]
    assert sum(map(sum, explanation["grid"])) == pytest.approx(1.0, abs=1e-3)
    (written,) = (tmp_path / "why").glob("*.heat.png")
    overlay = Image.open(written)
    assert overlay.size == Image.open(frame).size and overlay.mode == "RGB"
    assert not np.array_equal(np.asarray(overlay), np.asarray(Image.open(frame).convert("RGB")))
