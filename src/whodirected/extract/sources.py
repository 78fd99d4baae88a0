"""Finding the films of a library: ``<root>/<Director>/<film>``, ``<root>/<Director>/<Film>/<part>``,
or a CSV listing ``path,director[,film]``."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from whodirected.config import VIDEO_EXTENSIONS
from whodirected.errors import LibraryError

_HASH_CHUNK = 1 << 20  # bytes read at each of the sampled places of a large file
_FULL_HASH_LIMIT = 64 << 20  # files up to this size are hashed whole


@dataclass(frozen=True)
class FilmSource:
    """One video file to extract: a whole film, or one part of a film."""

    director: str
    film: str
    path: Path

    @property
    def stem(self) -> str:
        """Prefix of this file's frame names: the film for a one-file film, else the part."""
        return self.path.stem


@dataclass
class Library:
    """What discovery found: the films, and the problems worth one line each."""

    films: list[FilmSource]
    problems: list[str]


def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS and not path.name.startswith(".")


def _listdir(folder: Path, problems: list[str]) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        problems.append(f"{folder}: cannot read folder ({exc.strerror or exc})")
        return []


def discover(src: str | Path) -> Library:
    """Find the films under a library folder or listed in a CSV file."""
    src = Path(src)
    if not src.exists():
        raise LibraryError(f"{src}: no such file or folder")
    if src.is_file():
        return _from_csv(src)
    films: list[FilmSource] = []
    problems: list[str] = []
    for director_dir in _listdir(src, problems):
        if not director_dir.is_dir():
            continue
        found = 0
        for entry in _listdir(director_dir, problems):
            if _is_video(entry):
                films.append(FilmSource(director_dir.name, entry.stem, entry))
                found += 1
            elif entry.is_dir():
                for part in _listdir(entry, problems):
                    if _is_video(part):
                        films.append(FilmSource(director_dir.name, entry.name, part))
                        found += 1
        if not found:
            problems.append(f"{director_dir}: director folder has no video files")
    return Library(films, problems)


def _from_csv(path: Path) -> Library:
    films: list[FilmSource] = []
    problems: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"path", "director"} <= set(reader.fieldnames):
                raise LibraryError(f"{path}: a library CSV needs the columns path,director[,film]")
            for line, row in enumerate(reader, start=2):
                video = Path(row["path"] or "")
                video = video if video.is_absolute() else path.parent / video
                director = (row.get("director") or "").strip()
                if not director or not row["path"]:
                    problems.append(f"{path}:{line}: empty path or director")
                elif not video.is_file():
                    problems.append(f"{path}:{line}: {video}: no such file")
                else:
                    film = (row.get("film") or "").strip() or video.stem
                    films.append(FilmSource(director, film, video))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LibraryError(f"{path}: cannot read library CSV ({exc})") from None
    return Library(films, problems)


def content_hash(path: str | Path) -> str:
    """blake2b of a file's content: whole up to 64 MiB, else its size and 1 MiB at 5 places.

    Sampling keeps hashing a 4 GB film instant while still changing on any re-encode.
    """
    path = Path(path)
    size = path.stat().st_size
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with path.open("rb") as handle:
        if size <= _FULL_HASH_LIMIT:
            digest.update(handle.read())
        else:
            for i in range(5):
                handle.seek((size - _HASH_CHUNK) * i // 4)
                digest.update(handle.read(_HASH_CHUNK))
    return digest.hexdigest()
