import os

import numpy as np
import pytest
from PIL import Image

from whodirected.features.backbones import REGISTRY, BackboneError, create, parts

FRAME = Image.fromarray(np.random.default_rng(0).integers(0, 255, (216, 384, 3), dtype=np.uint8))


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_backbone_builds_and_returns_its_documented_shape(name: str) -> None:
    spec = REGISTRY[name]
    if spec.install and not spec.available():
        pytest.skip(f"{name} is an extra: {spec.install}")
    extractor = create(name, random_weights=not spec.bundled)  # hub weights can't be downloaded here
    batch = [extractor.preprocess(FRAME), extractor.preprocess(FRAME.transpose(Image.FLIP_LEFT_RIGHT))]
    features = extractor.embed(batch)
    assert features.shape == (2, spec.dim) == (2, extractor.dim)
    assert features.dtype == np.float32 and np.isfinite(features).all()
    if name != "faces":  # noise has no face either way (tests/test_faces.py feeds it faces)
        assert not np.array_equal(features[0], features[1])  # the input reaches the output


def test_bundled_default_uses_pretrained_weights() -> None:
    pretrained = create("efficientnet-lite0").embed([create("efficientnet-lite0").preprocess(FRAME)])
    random = create("efficientnet-lite0", random_weights=True).embed(
        [create("efficientnet-lite0").preprocess(FRAME)]
    )
    assert not np.allclose(pretrained, random)


@pytest.mark.parametrize("name", ["efficientnet-lite0", "efficientnet-lite0-stats"])
def test_the_fast_cpu_path_gives_the_plain_networks_features(name: str) -> None:
    """BatchNorm folded into the convolutions, channels-last, 4 frames a pass: the same features
    as the network as published, run channels-first in one pass."""
    import torch

    from whodirected.features.backbones import efficientnet

    extractor = create(name)
    rng = np.random.default_rng(1)
    batch = [
        extractor.preprocess(Image.fromarray(rng.integers(0, 255, (216, 384, 3), dtype=np.uint8)))
        for _ in range(6)
    ]
    plain = efficientnet._network(0, random_weights=False).eval()
    x = (torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float() - extractor.mean) / extractor.std
    pool = efficientnet._pooled if name == "efficientnet-lite0" else efficientnet._channel_stats
    with torch.inference_mode():
        expected = pool(plain, x).numpy()
    np.testing.assert_allclose(extractor.embed(batch), expected, rtol=1e-4, atol=1e-4)


def test_unknown_and_undownloadable_backbones_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BackboneError, match="unknown backbone nope"):
        parts("style+nope")
    assert parts("efficientnet-lite2+style") == ["efficientnet-lite2", "style"]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneError, match="resnet-50 needs its weights from the Hugging Face hub"):
        create("resnet-50")


def test_black_bars_are_trimmed_before_the_network_sees_the_frame() -> None:
    extractor = create("efficientnet-lite0")
    picture = np.asarray(FRAME.resize((384, 160)))
    boxed = np.zeros((216, 384, 3), np.uint8)
    boxed[28:188] = picture
    same = [extractor.preprocess(Image.fromarray(picture)), extractor.preprocess(Image.fromarray(boxed))]
    assert np.abs(same[0] - same[1]).mean() < 0.05
    assert os.cpu_count()


@pytest.mark.parametrize("size", [(384, 216), (1279, 533), (500, 800), (224, 224)])
def test_preprocessing_is_the_centre_crop_of_the_resized_frame(size: tuple[int, int]) -> None:
    """Only the kept pixels are resampled: the result is the resize-then-crop one, but for
    rounding (Pillow rounds to 8 bits between its two passes, whose order may differ)."""
    prep = create("efficientnet-lite0").preprocessor
    frame = Image.fromarray(np.random.default_rng(2).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    scale = prep.size / min(frame.size)
    w, h = max(prep.size, round(frame.width * scale)), max(prep.size, round(frame.height * scale))
    left, top = (w - prep.size) // 2, (h - prep.size) // 2
    full = frame.resize((w, h), Image.Resampling.BILINEAR)
    expected = np.asarray(full.crop((left, top, left + prep.size, top + prep.size)), dtype=int)
    got = prep(frame)
    assert got.shape == (prep.size, prep.size, 3) and got.dtype == np.uint8
    assert np.abs(got - expected).max() <= 1 and np.abs(got - expected).mean() < 0.25
