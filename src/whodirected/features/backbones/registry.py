"""The registry of backbones that turn a frame into a feature vector (timm-style), and the
``style`` block.

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
