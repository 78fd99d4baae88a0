"""whodirected: recognise a film's director from a screenshot.

The library API; the ``whodirected`` command only wraps it::

    from whodirected import ExtractConfig, Model, Video, extract_library
    summary = extract_library("films/", "frames/", ExtractConfig(max_gap=10.0))
    prediction = Model.load("model").predict("shot.png")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "Config": "config",
    "ExtractConfig": "config",
    "EmbedConfig": "config",
    "TrainConfig": "config",
    "PredictConfig": "config",
    "load_config": "config",
    "Video": "extract.video",
    "VideoError": "errors",
    "ModelError": "errors",
    "WhodirectedError": "errors",
    "extract_library": "extract.library",
    "process_film": "extract.library",
    "discover": "extract.sources",
    "read_manifest": "extract.manifest",
    "make_library": "extract.demo",
    "load_dataset": "features.dataset",
    "embed_dataset": "features.embed",
    "make_runner": "runners",
    "train": "models.train",
    "Model": "models.model",
    "Prediction": "models.prediction",
}
__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    """Import API names on first use, so ``whodirected --version`` stays instant."""
    if name in _API:
        return getattr(import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
