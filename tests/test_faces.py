"""The faces block on real photographs: scikit-image's public-domain astronaut (Eileen Collins)
and a frame of Tears of Steel (CC-BY, ../shared)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

pytest.importorskip("dlib", reason="the faces extra is not installed: pip install 'whodirected[faces]'")
skimage_data = pytest.importorskip("skimage.data")

from whodirected.config import EmbedConfig, TrainConfig  # noqa: E402
from whodirected.features import faces  # noqa: E402
from whodirected.features.backbones import create  # noqa: E402
from whodirected.features.dataset import load_dataset  # noqa: E402
from whodirected.models.explain import features  # noqa: E402
from whodirected.models.model import Model, ModelError  # noqa: E402
from whodirected.models.train import train  # noqa: E402

ASTRONAUT = Image.fromarray(skimage_data.astronaut())


def test_a_real_face_is_found_with_a_sensible_shot_scale() -> None:
    found = faces.detect(ASTRONAUT)
    assert found.faces and found.embedding is not None and found.embedding.shape == (faces.EMBEDDING,)
    largest = found.faces[0]
    # a waist-up portrait: her face is about a sixth of the picture's height
    assert 0.12 < largest.height < 0.25 and found.scale == "medium"
    x, y = largest.centre
    assert 0.3 < x < 0.5 and 0.1 < y < 0.4  # upper left of the frame, where her face is
    row = faces.describe(ASTRONAUT)
    assert row.shape == (faces.DIM,) and row[0] >= 1 and row[faces.NAMES.index("medium")] == 1.0


def test_the_same_face_matches_and_another_person_does_not(real_clips: Path) -> None:
    from whodirected.extract.video import Video

    astronaut = faces.detect(ASTRONAUT).embedding
    mirrored = faces.detect(ASTRONAUT.transpose(Image.Transpose.FLIP_LEFT_RIGHT)).embedding
    crop = faces.detect(ImageEnhance.Brightness(ASTRONAUT.crop((60, 0, 460, 400))).enhance(0.8)).embedding
    assert np.linalg.norm(astronaut - mirrored) < faces.MATCH_DISTANCE
    assert np.linalg.norm(astronaut - crop) < faces.MATCH_DISTANCE
    with Video(real_clips / "Ian Hubert" / "Tears of Steel" / "part-a.mp4") as video:
        (frame,) = list(video.sample([4.0]))
    actor = faces.detect(frame.image)
    assert actor.scale == "close-up"  # her face is over a third of the frame's height
    assert np.linalg.norm(astronaut - actor.embedding) > faces.MATCH_DISTANCE


def test_reader_threads_each_get_their_own_detector() -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:  # dlib's objects shared by threads crashed the process
        rows = list(pool.map(lambda _: faces.describe(ASTRONAUT), range(12)))
    assert all(np.array_equal(row, rows[0]) for row in rows)


def test_a_frame_without_a_face_gives_an_empty_valid_block() -> None:
    coffee = Image.fromarray(skimage_data.coffee())
    found = faces.detect(coffee)
    assert found.faces == () and found.embedding is None and found.scale == "no face"
    row = faces.describe(coffee)
    assert row.shape == (faces.DIM,) and row[0] == 0 and row[faces.NAMES.index("no_face")] == 1.0
    assert not row[len(faces.NAMES) :].any()
    block = create("faces").embed([row, faces.describe(ASTRONAUT)])
    assert block.shape == (2, faces.DIM) and list(faces.scale_shares(block)) == [0, 0.5, 0, 0.5]


def test_a_long_strip_is_searched_at_a_bounded_size() -> None:
    """A 500 x 1 picture (once what bar trimming left of a dark frame) made a copy 216,000 pixels
    wide, and dlib aborted the whole process on it."""
    strip = Image.fromarray(skimage_data.coffee()[200:201, :500])
    found = faces.detect(strip)
    assert found.faces == () and faces.describe(strip)[faces.NAMES.index("no_face")] == 1.0


@pytest.fixture(scope="module")
def portraits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two "directors": one whose two films show the astronaut, one whose films show none."""
    root = tmp_path_factory.mktemp("faces") / "frames"
    rng = np.random.default_rng(0)
    pictures = {
        ("Astro Director", "Film One"): ASTRONAUT,
        ("Astro Director", "Film Two"): ImageEnhance.Color(ASTRONAUT).enhance(0.4),
        ("Still Life", "Coffee"): Image.fromarray(skimage_data.coffee()),
        ("Still Life", "Cat"): Image.fromarray(skimage_data.chelsea()),
    }
    for (director, film), picture in pictures.items():
        folder = root / director / film
        folder.mkdir(parents=True)
        for i in range(4):
            left, top = (int(v) for v in rng.integers(0, 40, 2))
            crop = picture.crop((left, top, picture.width - 40 + left, picture.height - 40 + top))
            ImageEnhance.Brightness(crop).enhance(0.85 + 0.1 * i).save(folder / f"frame{i}.jpg", quality=92)
    return root


@pytest.fixture(scope="module")
def face_models(portraits: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same frames trained with and without the faces block: the two model folders."""
    root = tmp_path_factory.mktemp("face-models")
    dataset = load_dataset(portraits)
    for name, backbone in (("with", "efficientnet-lite0+faces"), ("without", EmbedConfig.backbone)):
        model, _ = train(
            dataset, EmbedConfig(backbone=backbone), TrainConfig(calibrate=False), root / "store"
        )
        model.save(root / name)
    return root / "with", root / "without"


def test_a_model_with_the_faces_block_shows_recurring_actors(face_models: tuple[Path, Path]) -> None:
    with_faces, without = face_models
    query = ASTRONAUT.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # a view the model never saw
    prediction = Model.load(with_faces).predict(query)
    assert prediction.shot_scale == "medium" and prediction.shot_scale_share == 1.0
    assert prediction.shot == "medium (100% of Astro Director's training frames are)"
    (match,) = prediction.face_matches
    assert (
        match.director == "Astro Director"
        and match.frames == 8
        and sorted(match.films) == ["Film One", "Film Two"]
    )
    assert match.distance < faces.MATCH_DISTANCE and len(match.ids) == 4
    assert match.summary == "the face in this frame matches faces in 8 frames of 2 films by Astro Director"
    assert prediction.to_dict()["face_matches"][0]["summary"] == match.summary
    plain = Model.load(without).predict(query)
    assert plain.face_matches == [] and plain.shot_scale is None and plain.shot is None and plain.ranking
    still = Model.load(with_faces).predict(Image.fromarray(skimage_data.rocket()))
    assert still.face_matches == [] and still.shot_scale == "no face"


def test_recurring_actors_raise_their_director(face_models: tuple[Path, Path], tmp_path: Path) -> None:
    """Beside other blocks, faces count only through the actors: the same person as in one
    director's training frames adds the bonus to that director, a frame without a face gets
    none, and a model file keeps the actors."""
    model = Model.load(face_models[0])
    actors = model.head.actors
    assert actors is not None and len(actors.faces) == 8  # the astronaut, in both films' frames
    assert set(model.classes[int(d)] for d in actors.directors) == {"Astro Director"}
    assert actors.bonus == pytest.approx(TrainConfig.actors * model.head.history["chosen_temperature"][0])
    query = features(
        model, [ASTRONAUT.transpose(Image.Transpose.FLIP_LEFT_RIGHT), Image.fromarray(skimage_data.rocket())]
    )
    with_actors = model.logits(query)
    model.head.actors = None
    added = with_actors - model.logits(query)
    astro = model.classes.index("Astro Director")
    assert added[0, astro] == pytest.approx(actors.bonus) and added[0, 1 - astro] == 0
    assert not added[1].any()  # the rocket has no face: nothing added

    info = json.loads((face_models[0] / "model.json").read_text())
    copy = tmp_path / "model"
    shutil.copytree(face_models[0], copy)
    (copy / "model.json").write_text(json.dumps({**info, "format_version": 3}))
    with pytest.raises(ModelError, match="before faces counted as recurring actors.*retrain"):
        Model.load(copy)
    (copy / "model.json").write_text(json.dumps(info))
    arrays = dict(np.load(copy / "model.npz"))
    arrays["actor_directors"] = arrays["actor_directors"] + 5  # directors the model does not have
    np.savez(copy / "model.npz", **arrays)
    with pytest.raises(ModelError, match="actor_directors must be directors of the model"):
        Model.load(copy)


def test_the_page_shows_a_face_match(face_models: tuple[Path, Path], tmp_path: Path) -> None:
    from test_serve import ARTIFACTS, CHROMIUM, serving

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium; `make test` installs it)")
    from playwright.sync_api import sync_playwright

    query = tmp_path / "astronaut-mirrored.jpg"
    ASTRONAUT.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(query, quality=92)
    with serving(face_models[0]) as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(url)
            page.set_input_files("#file", str(query))
            page.wait_for_function("document.querySelectorAll('#faces img').length === 4", timeout=30_000)
            text = page.inner_text("#faces")
            assert "The face in this frame matches faces in 8 frames of 2 films by Astro Director" in text
            assert (
                page.inner_text("#shot-scale")
                == "Shot scale: medium (100.0% of Astro Director's training frames are)"
            )
            page.wait_for_function(
                "[...document.querySelectorAll('#faces img')].every((i) => i.complete && i.naturalWidth > 0)"
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "serve-page-face-match.png"), full_page=True)
        finally:
            browser.close()
