"""Backbones by name (timm-style): :func:`create` builds one, ``a+b`` names combine blocks.

The registry and the ``style`` block live in :mod:`.registry`; each family registers its
entries from its own module: :mod:`.efficientnet` (bundled, offline) and :mod:`.hub`
(Hugging Face, downloaded).
"""

from whodirected.errors import BackboneError
from whodirected.features.backbones import efficientnet, hub  # noqa: F401 (they register their backbones)
from whodirected.features.backbones.registry import (
    REGISTRY,
    BackboneSpec,
    ComputedExtractor,
    Extractor,
    Preprocess,
    TorchExtractor,
    block_columns,
    content_blocks,
    create,
    default_device,
    list_backbones,
    parts,
    register,
    weighted,
)

__all__ = [
    "REGISTRY",
    "BackboneError",
    "BackboneSpec",
    "ComputedExtractor",
    "Extractor",
    "Preprocess",
    "TorchExtractor",
    "block_columns",
    "content_blocks",
    "create",
    "default_device",
    "list_backbones",
    "parts",
    "register",
    "weighted",
]
