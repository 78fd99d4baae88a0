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
