"""Datasets of frames: from an extract manifest, or from image folders.

Folder layouts (torchvision ImageFolder style):

- ``<root>/<Director>/<Film>/*.jpg`` — films known, evaluation can be grouped by film;
- ``<root>/<Director>/*.jpg`` — the original project's flat layout: works, but every frame
  counts as its own "film", so film-grouped evaluation is impossible and scores are optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from whodirected.config import IMAGE_EXTENSIONS
from whodirected.errors import DatasetError
from whodirected.extract.manifest import MANIFEST_NAME, read_manifest

FLAT_WARNING = (
    "{root}: images sit directly in director folders (no film folders), so evaluation cannot "
    "be grouped by film and will be optimistic; use <Director>/<Film>/<frames> when you can"
)


@dataclass
class Dataset:
    """Frames with their director and film; ``frames`` has columns path, director, film."""

    frames: pd.DataFrame
    root: Path
    grouped: bool = True  # False when films are unknown (flat layout)
    warnings: list[str] = field(default_factory=list)

    @property
    def store(self) -> Path:
        """The default feature store: ``<root>/.whodirected/features``."""
        return self.root / ".whodirected" / "features"

    @property
    def directors(self) -> list[str]:
        return sorted(self.frames.director.unique())

    def __len__(self) -> int:
        return len(self.frames)


def _images(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )


def load_dataset(path: str | Path) -> Dataset:
    """Load an extract manifest (file or its folder) or an image-folder dataset."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    manifest = path if path.is_file() else path / MANIFEST_NAME
    if manifest.is_file():
        frames = read_manifest(manifest).rename(columns={"frame_path": "path"})
        dataset = Dataset(frames, manifest.parent)
    else:
        dataset = _from_folders(path)
    if dataset.frames.empty:
        raise DatasetError(f"{path}: no frames found (expected a manifest.csv or <Director>/<Film>/*.jpg)")
    return dataset


def _from_folders(root: Path) -> Dataset:
    rows, flat = [], False
    for director in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for image in _images(director):
            flat = True
            rows.append((str(image), director.name, f"{director.name}/{image.stem}"))
        for film in sorted(p for p in director.iterdir() if p.is_dir() and not p.name.startswith(".")):
            rows += [(str(image), director.name, film.name) for image in _images(film)]
    frames = pd.DataFrame(rows, columns=["path", "director", "film"])
    warnings = [FLAT_WARNING.format(root=root)] if flat else []
    return Dataset(frames, root, grouped=not flat, warnings=warnings)
