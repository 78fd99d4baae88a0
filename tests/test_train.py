import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from whodirected.config import EmbedConfig, TrainConfig, load_config, override
from whodirected.features.backbones import weighted
from whodirected.features.dataset import load_dataset
from whodirected.features.embed import EmbedSummary, Features
from whodirected.models.evaluate import evaluate, grouped_folds
from whodirected.models.heads import HeadConfig, Scaler, fit_head
from whodirected.models.model import FORMAT_VERSION, Model, ModelError
from whodirected.models.train import Labelled, TrainError, dataset_warnings, labelled, train
from whodirected.reports.evaluation import _plots


def synthetic(per_film_only: bool, directors=4, films=6, frames=12, dim=16, seed=0) -> Labelled:
    """Features with a director signal, or with a signal that belongs to each film only."""
    rng = np.random.default_rng(seed)
    xs, ys, groups = [], [], []
    director_means = rng.normal(0, 1, (directors, dim))
    for d in range(directors):
        for f in range(films):
            film_mean = rng.normal(0, 1, dim) * 1.5 + (0 if per_film_only else director_means[d] * 1.5)
            xs.append(film_mean + rng.normal(0, 0.3, (frames, dim)))
            ys += [d] * frames
            groups += [d * films + f] * frames
    x = np.concatenate(xs).astype(np.float32)
    y, g = np.array(ys), np.array(groups)
    features = Features(x, np.ones(len(y), bool), [("synthetic", dim)], EmbedSummary())
    return Labelled(x, y, g, [f"D{d}" for d in range(directors)], np.array([f"film{i}" for i in g]), features)


@pytest.mark.parametrize("head", ["logistic", "mlp", "sgd-linear"])
def test_heads_fit_and_predict(head: str) -> None:
    data = synthetic(per_film_only=False)
    scaler = Scaler.fit(data.x, data.features.blocks)
    config = HeadConfig(head=head, epochs=30, learning_rate=1e-2, hidden=16 if head == "sgd-linear" else 0)
    fitted = fit_head(scaler.transform(data.x), data.y, data.groups, 4, config)
    proba = fitted.predict_proba(scaler.transform(data.x))
    assert proba.shape == (len(data.y), 4) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert (proba.argmax(axis=1) == data.y).mean() > 0.9


def test_no_film_in_both_train_and_test() -> None:
    data = synthetic(per_film_only=False)
    for train_idx, test_idx in grouped_folds(data, 5, seed=0):
        assert not set(data.groups[train_idx]) & set(data.groups[test_idx])
        assert len(np.unique(data.y[test_idx])) == 4


def test_per_film_signal_shows_a_leakage_gap_and_chance_when_grouped() -> None:
    # a fitted boundary (logistic) memorises films; the random split then flatters it
    report = evaluate(synthetic(per_film_only=True), TrainConfig(folds=3, head="logistic"), with_curve=False)
    grouped = report["film_grouped"]["balanced_accuracy"]["mean"]
    shuffled = report["random_split"]["balanced_accuracy"]["mean"]
    assert shuffled > 0.9 and grouped < 0.45 and report["leakage_gap"]["balanced_accuracy"] > 0.5
    real = evaluate(synthetic(per_film_only=False), TrainConfig(folds=3))
    assert real["film_grouped"]["balanced_accuracy"]["mean"] > 0.9 and real["learning_curve"]


def test_model_round_trip_is_identical_and_has_no_pickle(tmp_path: Path) -> None:
    data = synthetic(per_film_only=False)
    scaler = Scaler.fit(data.x, data.features.blocks)
    head = fit_head(scaler.transform(data.x), data.y, data.groups, 4, HeadConfig())
    model = Model(data.classes, "synthetic", data.features.blocks, scaler, head, {"note": "é"})
    model.save(tmp_path / "m")
    loaded = Model.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(data.x), model.predict_proba(data.x))
    assert loaded.classes == data.classes and loaded.meta["note"] == "é"
    with zipfile.ZipFile(tmp_path / "m" / "model.npz") as archive:
        for name in archive.namelist():
            assert b"\x80" not in archive.read(name)[:2] or name.endswith(".npy")
            assert archive.read(name)[:6] == b"\x93NUMPY"  # plain arrays, no pickled objects
    np.load(tmp_path / "m" / "model.npz", allow_pickle=False)  # loads with pickle forbidden

    info = (tmp_path / "m" / "model.json").read_text()
    (tmp_path / "m" / "model.json").write_text(
        info.replace(f'"format_version": {FORMAT_VERSION}', '"format_version": 99')
    )
    with pytest.raises(ModelError, match="newer"):
        Model.load(tmp_path / "m")
    with pytest.raises(ModelError, match="not a whodirected model"):
        Model.load(tmp_path / "nothing")


def test_a_model_keeps_its_block_weights_and_an_older_model_the_weights_it_had(tmp_path: Path) -> None:
    """A model file records each block's weight, so a later change of a registry weight (style:
    1 → 1/12 in format 5) leaves models already trained as they were."""
    data = synthetic(per_film_only=False)
    blocks = [("efficientnet-lite0", 8), ("style", 8)]
    scaler = Scaler.fit(data.x, blocks)
    head = fit_head(scaler.transform(data.x), data.y, data.groups, 4, HeadConfig(), blocks)
    Model(data.classes, "efficientnet-lite0+style", weighted(blocks), scaler, head).save(tmp_path / "m")
    info = json.loads((tmp_path / "m" / "model.json").read_text())
    assert info["format_version"] == FORMAT_VERSION == 5
    assert info["blocks"] == [["efficientnet-lite0", 8, 1.0], ["style", 8, pytest.approx(1 / 12)]]
    now = Model.load(tmp_path / "m").predict_proba(data.x)

    old = {**info, "format_version": 4, "blocks": [b[:2] for b in info["blocks"]]}
    old["head_unit_blocks"] = [b[:2] for b in info["head_unit_blocks"]]
    (tmp_path / "m" / "model.json").write_text(json.dumps(old))
    loaded = Model.load(tmp_path / "m")
    assert [w for *_, w in loaded.blocks] == [1.0, 1.0]  # style weighed as much as the network, as then
    assert [w for *_, w in loaded.head.unit_blocks] == [1.0, 1.0]
    assert not np.allclose(loaded.predict_proba(data.x), now)

    (tmp_path / "m" / "model.json").write_text(json.dumps({**info, "blocks": [["style", 8, -1.0]]}))
    with pytest.raises(ModelError, match="blocks must be"):
        Model.load(tmp_path / "m")


def test_a_library_of_many_one_film_directors_is_warned_about_in_one_short_line() -> None:
    data = synthetic(per_film_only=False, directors=40, films=1, frames=4)
    (line,) = dataset_warnings(data)
    assert line.startswith("D0, D1, D2 and 37 more: only one film each") and len(line) < 250


def test_config_precedence_defaults_toml_flags(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[train]\nepochs = 50\nhead = "sgd-linear"\n[embed]\nbackbone = "style"\n')
    config = load_config(toml)
    assert (config.train.epochs, config.train.head, config.embed.backbone) == (50, "sgd-linear", "style")
    assert override(config.train, epochs=7).epochs == 7 and TrainConfig().epochs == 200


def test_train_on_demo_frames_and_single_director(demo_frames: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_frames)
    model, data = train(dataset, EmbedConfig(backbone="style"), TrainConfig(), tmp_path / "store")
    assert model.classes == ["Agnès Varda", "Wes Anderson"]
    assert model.meta["training_set"]["frames"] == len(data.y) and "scikit-learn" in model.meta["versions"]
    one = load_dataset(demo_frames)
    one.frames = one.frames[one.frames.director == "Wes Anderson"]
    features = Features(np.zeros((len(one), 3)), np.ones(len(one), bool), [("x", 3)], EmbedSummary())
    with pytest.raises(TrainError, match="at least two"):
        labelled(one, features)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whodirected", *args], capture_output=True, text=True)


def test_train_and_evaluate_commands(demo_frames: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    result = run(
        "train",
        str(demo_frames),
        "-o",
        str(tmp_path / "model"),
        "-b",
        "style",
        "--features",
        store,
        "--plot",
        str(tmp_path / "train.png"),
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "model" / "model.json").is_file() and (tmp_path / "train.png").stat().st_size > 1000
    assert "only 2 film" not in result.stderr  # two films each: grouping works
    report = run(
        "evaluate", str(demo_frames), "-o", str(tmp_path / "eval"), "-b", "style", "--features", store
    )
    assert report.returncode == 0, report.stderr
    assert "film_accuracy" in report.stderr and (tmp_path / "eval" / "report.json").is_file()
    drawn = {p.name for p in (tmp_path / "eval").glob("*.png")}
    bins = json.loads((tmp_path / "eval" / "report.json").read_text())["calibration"]["bins"]
    assert "confusion.png" in drawn and ("reliability.png" in drawn) == (len(bins) >= 2)  # no empty plots
    many = json.loads((tmp_path / "eval" / "report.json").read_text())  # a library of 120 directors
    many["classes"] = [f"Director {i}" for i in range(120)]
    many["confusion"] = np.random.default_rng(0).integers(0, 5, (120, 120)).tolist()
    (tmp_path / "many").mkdir()
    _plots(many, tmp_path / "many")
    with Image.open(tmp_path / "many" / "confusion.png") as drawing:  # colours, not 14,400 counts
        assert max(drawing.size) < 2500

    scored = run(
        "evaluate",
        str(demo_frames),
        "--model",
        str(tmp_path / "model"),
        "-o",
        str(tmp_path / "on"),
        "--features",
        store,
    )
    assert scored.returncode == 0, scored.stderr
    assert json.loads((tmp_path / "on" / "report.json").read_text())["film_grouped"]["top1"]["mean"] > 0.9

    bad = run("train", str(demo_frames), "-b", "nope", "--features", store, "-o", str(tmp_path / "m2"))
    assert bad.returncode == 2 and "unknown backbone" in bad.stderr and not (tmp_path / "m2").exists()
    (tmp_path / "a-file").write_text("not a folder")  # unwritable even for root
    unwritable = run(
        "train", str(demo_frames), "-b", "style", "--features", store, "-o", str(tmp_path / "a-file" / "m")
    )
    assert unwritable.returncode == 1 and "cannot write the model" in unwritable.stderr


@pytest.mark.parametrize("head", ["logistic", "mlp"])
def test_two_directors_give_a_two_way_softmax(head: str) -> None:
    data = synthetic(per_film_only=False, directors=2)
    scaler = Scaler.fit(data.x, data.features.blocks)
    fitted = fit_head(
        scaler.transform(data.x), data.y, data.groups, 2, HeadConfig(head=head, learning_rate=1e-2)
    )
    proba = fitted.predict_proba(scaler.transform(data.x))
    assert proba.shape == (len(data.y), 2) and (proba.argmax(1) == data.y).mean() > 0.9
