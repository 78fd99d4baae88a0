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

from whodirected.config import PRECISIONS
from whodirected.errors import BackboneError
from whodirected.features import faces, grade, style, subtitles


@dataclass(frozen=True)
class Preprocess:
    """How a frame becomes the network's input: trim bars, paint out burnt-in subtitles
    (:mod:`..subtitles`), resize and centre-crop here, as uint8 (a quarter of float32's bytes to
    move); normalised where the network runs."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: str = "shorter-side"  # "shorter-side" then centre crop, or "squash" to size x size

    @property
    def version(self) -> str:
        return f"trim-bars-3;{subtitles.VERSION};{self.resize}{self.size};mean{self.mean};std{self.std};device-norm"

    def __call__(self, image: Image.Image) -> np.ndarray:
        """HWC uint8 array, ``size`` x ``size`` x 3."""
        image = style.trim_bars(image.convert("RGB"))
        where = subtitles.find(image)
        if self.resize == "squash":
            return subtitles.paint_out(
                np.asarray(image.resize((self.size, self.size), Image.Resampling.BILINEAR)), where
            )
        scale = self.size / min(image.size)
        w, h = max(self.size, round(image.width * scale)), max(self.size, round(image.height * scale))
        left, top = (w - self.size) // 2, (h - self.size) // 2
        if where is not None:  # painted out on the whole resized picture, then cropped
            picture = subtitles.paint_out(np.asarray(image.resize((w, h), Image.Resampling.BILINEAR)), where)
            return np.ascontiguousarray(picture[top : top + self.size, left : left + self.size])
        sx, sy = image.width / w, image.height / h  # the centre crop, resampling only the pixels it keeps
        box = (left * sx, top * sy, (left + self.size) * sx, (top + self.size) * sy)
        return np.asarray(
            image.resize((self.size, self.size), Image.Resampling.BILINEAR, box=box), dtype=np.uint8
        )


class Extractor:
    """A built backbone: ``preprocess`` one image (thread-safe), ``embed`` a batch."""

    name: str
    dim: int
    version: str  # changes whenever weights or preprocessing change the features
    uses_all_cores: bool = False  # ``embed`` keeps every CPU core busy (a network on the CPU)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return self.preprocessor(image)

    @property
    def preprocessor(self) -> Callable[[Image.Image], np.ndarray]:
        """The preprocessing alone, picklable: reader processes run it without the network."""
        raise NotImplementedError

    def embed(self, batch: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError


# Frames per forward pass on a CPU, whatever the batch handed to ``embed``: per frame, 2 to 4 are
# fastest, and 32 took twice as long once activations outgrew the caches (benchmarks/embed.py
# prints the sweep). On CUDA the whole batch goes at once.
CPU_CHUNK = 4


def torch_version(name: str, weights: str, prep: Preprocess, precision: str = "fp32") -> str:
    """What a network's features depend on: weights, preprocessing and, below fp32, precision."""
    return f"{name};{weights};{prep.version}" + ("" if precision == "fp32" else f";{precision}")


class TorchExtractor(Extractor):
    """A PyTorch network plus its preprocessing and the function that pools its features.

    Batches arrive as uint8 and are normalised where the network runs, channels-last (2-4x
    faster than channels-first on a CPU too). On a CPU they run :data:`CPU_CHUNK` frames at a
    time; on CUDA they go from pinned memory without blocking, in ``precision`` (bf16 or fp16
    under autocast; fp32, the default, everywhere)."""

    def __init__(
        self,
        name: str,
        dim: int,
        net,
        pool: Callable,
        prep: Preprocess,
        weights: str,
        device: str,
        precision: str = "fp32",
    ) -> None:
        import torch

        if precision not in PRECISIONS:
            raise BackboneError(f"precision: unknown {precision!r}; choose from {', '.join(PRECISIONS)}")
        if precision != "fp32" and not device.startswith("cuda"):
            raise BackboneError(f"precision: {precision} runs on a CUDA device only; on {device} use fp32")
        self.name, self.dim, self.prep, self.device, self.precision = name, dim, prep, device, precision
        self.version = torch_version(name, weights, prep, precision)
        self.cuda = device.startswith("cuda")
        self.uses_all_cores = not self.cuda
        net = net.eval().to(device)
        self.net = net.to(memory_format=torch.channels_last)  # 2-4x faster on CPU too
        self.pool, self._torch = pool, torch
        shape = (1, 3, 1, 1)
        self.mean = torch.tensor([255.0 * m for m in prep.mean], device=device).view(shape)
        self.std = torch.tensor([255.0 * s for s in prep.std], device=device).view(shape)

    @property
    def preprocessor(self) -> Preprocess:
        return self.prep

    def embed(self, batch: list[np.ndarray]) -> np.ndarray:
        if not self.cuda and len(batch) > CPU_CHUNK:
            chunks = [self.embed(batch[s : s + CPU_CHUNK]) for s in range(0, len(batch), CPU_CHUNK)]
            return np.concatenate(chunks)
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.stack(batch))
            if self.cuda:
                x = x.pin_memory().to(self.device, non_blocking=True)
            x = (x.permute(0, 3, 1, 2).float() - self.mean) / self.std
            x = x.contiguous(memory_format=torch.channels_last)
            if self.precision == "fp32":
                out = self.pool(self.net, x)
            else:
                dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
                with torch.autocast("cuda", dtype=dtype):
                    out = self.pool(self.net, x)
            return out.float().cpu().numpy().reshape(len(batch), -1)


class ComputedExtractor(Extractor):
    """A block computed by a function of the picture rather than a network: the style
    descriptors (:mod:`whodirected.features.style`), the faces block (:mod:`.faces`)."""

    def __init__(
        self, name: str, dim: int, version: str, describe: Callable[[Image.Image], np.ndarray]
    ) -> None:
        self.name, self.dim, self.version, self._describe = name, dim, version, describe

    @property
    def preprocessor(self) -> Callable[[Image.Image], np.ndarray]:
        return self._describe

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
    build: Callable[[str, bool, str], Extractor]  # (device, random_weights, precision) -> Extractor
    about: str = ""
    prep: Preprocess | None = None  # None: not a network (its version is fixed)
    weights_tag: str = ""  # the weights' name in the features' version
    fixed_version: str = ""  # a block that is not a network: its features' version
    install: str = ""  # how to install what it requires, when that is not a dependency
    weight: float = 1.0  # its weight beside other blocks in the similarities (vectors.shares); 0: none

    def version(self, random_weights: bool = False, precision: str = "fp32") -> str:
        """The features' version, known without building the backbone (nor importing torch)."""
        if self.prep is None:
            return self.fixed_version
        return torch_version(
            self.name, "random" if random_weights else self.weights_tag, self.prep, precision
        )

    def available(self) -> bool:
        """True when the package is installed (weights of hub backbones may still need a download)."""
        return all(importlib.util.find_spec(m) is not None for m in self.requires.split(","))


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


def weighted(blocks) -> list[tuple[str, int, float]]:
    """``blocks`` as ``(name, size, weight)``: the weight a block already carries, else its
    registry entry's (1 for a name the registry does not know)."""
    out = []
    for name, size, *carried in blocks:
        weight = float(carried[0]) if carried else REGISTRY[name].weight if name in REGISTRY else 1.0
        out.append((str(name), int(size), weight))
    return out


def block_columns(blocks, name: str) -> slice | None:
    """The columns of block ``name`` in features combined from ``blocks``, or ``None``."""
    offset = 0
    for block, size, *_ in blocks:
        if block == name:
            return slice(offset, offset + size)
        offset += size
    return None


def content_blocks(blocks) -> tuple[list[tuple], np.ndarray]:
    """The blocks that say what is in a frame — the networks, not computed descriptors such as
    ``grade`` — and their columns: the evidence index looks up frames, and recognises films, by
    these (all blocks when there is no network)."""
    columns, kept, offset = [], [], 0
    for name, size, *weight in blocks:
        spec = REGISTRY.get(name)
        if spec is not None and spec.prep is not None:
            kept.append((name, size, *weight))
            columns.append(np.arange(offset, offset + size))
        offset += size
    if not kept:
        return list(blocks), np.arange(offset)
    return kept, np.concatenate(columns)


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def create(
    name: str, device: str | None = None, random_weights: bool = False, precision: str = "fp32"
) -> Extractor:
    """Build the single backbone ``name`` (``random_weights``: no download, for tests)."""
    (single,) = parts(name) if "+" not in name else (None,)
    if single is None:
        raise BackboneError(f"{name}: create() builds one backbone; use parts() for combinations")
    spec = REGISTRY[single]
    if not spec.available():
        how = f": {spec.install}" if spec.install else f" (weights: {spec.weights})"
        raise BackboneError(
            f"backbone {single} needs the Python package(s) {spec.requires.replace(',', ', ')}{how}"
        )
    if spec.prep is not None and "OMP_NUM_THREADS" not in os.environ:  # Ray workers get their share
        import torch

        torch.set_num_threads(max(1, os.cpu_count() or 1))
    return spec.build(device or ("cpu" if spec.prep is None else default_device()), random_weights, precision)


def register_computed(
    name: str, dim: int, work_size: int, version: str, describe: Callable[[Image.Image], np.ndarray], **spec
) -> BackboneSpec:
    """Register a block computed by ``describe`` rather than a network (``spec``: the rest of its
    :class:`BackboneSpec`; by default Apache-2.0, computed, needing OpenCV)."""
    defaults = {"licence": "Apache-2.0", "weights": "none: computed", "requires": "cv2"}
    return register(
        BackboneSpec(
            name=name,
            dim=dim,
            input_size=work_size,
            bundled=True,
            build=lambda device, random_weights, precision: ComputedExtractor(name, dim, version, describe),
            fixed_version=version,
            **(defaults | spec),
        )
    )


register_computed(
    "style",
    len(style.NAMES),
    style.WORK_WIDTH,
    style.VERSION,
    style.describe,
    about="palette, brightness, contrast, aspect ratio, symmetry, grain...",
    # beside a network and grade, 1/17 of the similarity (benchmarks/real.py: films never seen)
    weight=1 / 12,
)
register_computed(
    "grade",
    len(grade.NAMES),
    grade.WORK_WIDTH,
    grade.VERSION,
    grade.describe,
    about="grading, light and framing: tone curve, split toning, sharpness, grain, layout, palette",
    weight=1 / 3,  # beside a network, a quarter of the similarity (benchmarks/real.py: films never seen)
)
register_computed(
    "faces",
    faces.DIM,
    faces.WORK_HEIGHT,
    faces.VERSION,
    faces.describe,
    licence="Boost-1.0 (dlib); MIT (face models)",
    weights="bundled (PyPI: dlib-bin, face-recognition-models)",
    requires="dlib,face_recognition_models",
    about="faces: shot scale (close-up, medium, long), position, and who (recurring actors)",
    install=faces.INSTALL,
    weight=0.0,  # beside other blocks, faces count as recurring actors (models.heads.Actors), not in similarities
)
