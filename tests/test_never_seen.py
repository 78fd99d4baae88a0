"""Films never seen: the grade block, the films-never-seen check, the test against chance, and
what `evaluate`, `train` and `predict` say of them — on real generated pictures and real models."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from whodirected.config import TrainConfig
from whodirected.features import grade
from whodirected.features.dataset import load_dataset
from whodirected.features.embed import embed_dataset
from whodirected.models.checks import beats_chance, relabel, unseen_film_check
from whodirected.models.labelled import labelled


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whodirected", *args], capture_output=True, text=True)


def test_grade_reads_the_tone_split_toning_and_aspect_of_a_frame() -> None:
    h, w = 200, 480
    ramp = np.linspace(0, 1, w)[None, :, None]
    # shadows on the left, blue; highlights on the right, orange: the teal-and-orange look
    blue, orange = np.array([20, 40, 90]), np.array([255, 190, 120])
    picture = (blue + (orange - blue) * ramp).repeat(h, axis=0).astype(np.uint8)
    framed = np.zeros((h + 80, w, 3), np.uint8)
    framed[40:-40] = picture  # letterboxed: the aspect is the picture's, not the frame's
    values = dict(zip(grade.NAMES, grade.describe(Image.fromarray(framed)), strict=True))
    assert len(values) == len(grade.NAMES) and all(np.isfinite(v) for v in values.values())
    assert values["shadows_b"] < 0 < values["highlights_b"]
    assert values["tone_p02"] < values["tone_p50"] < values["tone_p98"]
    assert values["log_aspect"] == pytest.approx(np.log(w / h), abs=0.02)
    assert values["light_middle_right"] > 1 > values["light_middle_left"]
    flat = grade.describe(Image.new("RGB", (4, 3), (128, 128, 128)))  # a sliver is measured, not a crash
    assert np.isfinite(flat).all()


def _noise_library(root: Path, directors: int = 3, films: int = 2, frames: int = 4) -> Path:
    """Directors whose frames are noise of one distribution: no look tells them apart."""
    rng = np.random.default_rng(0)
    for d in range(directors):
        for f in range(films):
            folder = root / f"Director {d}" / f"Film {d}-{f}"
            folder.mkdir(parents=True)
            for i in range(frames):
                Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def twelve_films(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four generated directors x three films, extracted: enough films for a permutation test."""
    from whodirected.config import ExtractConfig
    from whodirected.extract.demo import make_library
    from whodirected.extract.library import extract_library

    root = tmp_path_factory.mktemp("twelve")
    make_library(root / "library", directors=4, films=3, seconds=4, seed=2)
    extract_library(root / "library", root / "frames", ExtractConfig(mode="per-film", per_film=4), jobs=1)
    return root / "frames"


def test_films_never_seen_beats_chance_where_directors_have_a_look(
    twelve_films: Path, demo_frames: Path, tmp_path: Path
) -> None:
    dataset = load_dataset(twelve_films)
    data = labelled(dataset, embed_dataset(dataset, "grade", tmp_path / "store"))
    config = TrainConfig(chance_permutations=19)
    check = unseen_film_check(data, config)
    assert check["rotations"] == 3 and check["directors_tested"] == 4  # three films each: each held out once
    assert check["films"] == 12 and check["chance"]["top1"] == 0.25
    assert check["top1"]["value"] > 0.8 and check["top1"]["p"] == 0.05  # no shuffled library did as well
    assert beats_chance(check["top1"]).startswith("above chance")
    with pytest.raises(ValueError, match="allows 1 to 3"):
        unseen_film_check(data, config, rotations=4)
    # directors shuffled between films: each keeps as many films, and the look no longer tells them
    shuffled = relabel(data, data.groups, np.random.default_rng(1))
    assert sorted(shuffled.films_per_director.values()) == sorted(data.films_per_director.values())
    assert not np.array_equal(shuffled.y, data.y)

    # two directors with two films each: too few films for any figure to be told from chance
    small = load_dataset(demo_frames)
    few = unseen_film_check(labelled(small, embed_dataset(small, "grade", tmp_path / "store")), config)
    assert few["top1"]["value"] == 1.0 and few["top1"]["p"] >= 0.05
    assert beats_chance(few["top1"]).startswith("not distinguishable from chance")


def test_evaluate_says_when_a_library_is_at_chance(tmp_path: Path) -> None:
    library = _noise_library(tmp_path / "noise")
    result = run(
        "evaluate", str(library), "-o", str(tmp_path / "report"), "--backbone", "style",
        "--features", str(tmp_path / "store"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    said = " ".join((result.stdout + result.stderr).split())  # the console wraps long lines
    never_seen = said[said.index("films never seen (") :]
    assert "frame top-1" in never_seen.split(";")[0]
    assert "not distinguishable from chance on this library" in never_seen.split(";")[0]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["films_never_seen"]["top1"]["p"] >= 0.05
    assert len(report["held_out_films"]) == 6  # every film, with a frame and its verdict
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Held-out films and their verdict" in page and "Against chance" in page
    shown = list((tmp_path / "report" / "frames").glob("*.jpg"))
    assert len(shown) >= 6 and all(Image.open(p).size[0] <= 200 for p in shown)

    too_many = run(
        "evaluate", str(library), "-o", str(tmp_path / "r2"), "--backbone", "style", "--folds", "34",
        "--features", str(tmp_path / "store"),
    )  # fmt: skip
    assert too_many.returncode == 2 and "Traceback" not in too_many.stderr
    assert "folds: 34 asked, but this library allows at most" in too_many.stderr


def test_train_and_predict_keep_the_two_claims_apart(demo_frames: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    trained = run("train", str(demo_frames), "-o", str(model), "--backbone", "grade")
    assert trained.returncode == 0, trained.stderr
    said = " ".join((trained.stdout + trained.stderr).split())
    assert "films never seen: this model named the director of" in said
    meta = json.loads((model / "model.json").read_text())["films_never_seen"]
    assert meta["chance"] == 0.5 and 0 <= meta["top1"] <= 1

    frame = sorted(demo_frames.glob("*/*/*.jpg"))[0]
    have = json.loads(run("predict", str(frame), "-m", str(model), "--json").stdout)["predictions"][0]
    assert have["claim"].startswith("from a film you have: ")  # a training frame is its own nearest
    odd = tmp_path / "odd.png"  # a picture of no training film
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (90, 160, 3), dtype=np.uint8)).save(odd)
    other = json.loads(run("predict", str(odd), "-m", str(model), "--json").stdout)["predictions"][0]
    assert not other["claim"].startswith("from a film you have")


def test_a_sequel_is_not_claimed_as_the_film_you_have() -> None:
    """A library of one-film directors and one director with two films that look alike (a
    series): the director-aware film-match threshold rises above what the second film scores
    against the first, where the plain one (every other film alike) lets most of it through."""
    from whodirected.models.index import film_threshold

    rng = np.random.default_rng(0)
    vectors, films, directors = [], [], []
    for d in range(31):
        look = rng.normal(size=64)
        for f in range(2 if d == 0 else 1):
            base = look + (0.3 if d == 0 else 2.0) * rng.normal(size=64)
            vectors += [base + 0.6 * rng.normal(size=64) for _ in range(15)]
            films += [f"{d}/{f}"] * 15
            directors += [d] * 15
    v = np.asarray(vectors)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    films_, directors_ = np.asarray(films), np.asarray(directors)
    second_best = (v[films_ == "0/1"] @ v[films_ == "0/0"].T).max(axis=1)
    blind = film_threshold(v, films_, 0.05)
    aware = film_threshold(v, films_, 0.05, directors_)
    assert (second_best >= aware).mean() <= 0.1 < 0.5 < (second_best >= blind).mean()
    # where no director has several films, it is the plain threshold
    assert film_threshold(v, films_, 0.05, np.arange(len(v))) == blind


def test_the_hubness_correction_gives_a_hub_director_fewer_of_the_others_frames() -> None:
    """Director 0's frames sit around what every director shares (a hub): nearest mean gives
    it many of the others' new frames; less half its hub level (CSLS), fewer."""
    from whodirected.models.heads import HeadConfig, fit_head, hub_levels

    rng = np.random.default_rng(0)
    shared, looks = 3 * rng.normal(size=32), rng.normal(size=(6, 32))
    looks[0] = 0  # the hub: nothing of its own beyond what all share

    def frames(d: int, n: int) -> np.ndarray:
        return shared + 0.7 * looks[d] + 1.5 * rng.normal(size=(n, 32))

    x = np.vstack([frames(d, 40) for d in range(6)])
    y = np.repeat(np.arange(6), 40)
    new = np.vstack([frames(d, 200) for d in range(1, 6)])  # new frames of the other five
    truth = np.repeat(np.arange(1, 6), 200)
    levels = hub_levels(x / np.linalg.norm(x, axis=1, keepdims=True), y, np.eye(6, 32), 10)
    assert levels.shape == (6,) and np.isfinite(levels).all()
    taken, right = {}, {}
    for hubness in (0.0, 0.5):
        head = fit_head(x, y, y, 6, HeadConfig(hubness=hubness, temperatures=(20.0,)))
        verdict = head.predict_proba(new).argmax(axis=1)
        taken[hubness], right[hubness] = (verdict == 0).mean(), (verdict == truth).mean()
    assert taken[0.5] < 0.75 * taken[0.0] and right[0.5] > right[0.0]  # 0.093 → 0.056; 0.81 → 0.83
