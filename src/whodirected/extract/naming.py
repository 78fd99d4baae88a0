"""A media centre's naming rules, as Kodi, Jellyfin, Emby and Plex keep a library: which names
are films, their parts, extras and TV shows, and a film's title and year. Names only: the
walk that applies them is :mod:`whodirected.extract.sources`."""

from __future__ import annotations

import os
import re
from pathlib import Path

from whodirected.config import VIDEO_EXTENSIONS

TITLE_YEAR = re.compile(r"^(?P<title>.+?)\s*\((?P<year>(?:1[89]|2[01])\d\d)\)")  # "Title (1999) ..."
PART = re.compile(r"(?:^|[\s._-])(?:cd|dvd|part|pt|disc|disk)[\s._-]*\d{1,2}$", re.IGNORECASE)
EXTRA_FOLDERS = {
    "behind the scenes", "deleted scenes", "featurettes", "interviews", "scenes", "shorts",
    "trailers", "other", "extras", "specials", "samples", "sample", "bonus", "clips",
}  # fmt: skip
EXTRA_SUFFIX = re.compile(
    r"[-._ ](trailer|sample|behindthescenes|deleted|deletedscene|featurette|interview|scene|short|"
    r"clip|other|extra)\d*$",
    re.IGNORECASE,
)
EPISODE = re.compile(r"[Ss]\d{1,2}[ ._-]?[Ee]\d{1,3}|\b\d{1,2}x\d{2}\b")
SEASON = re.compile(r"^(season[ ._-]*\d+|specials)$", re.IGNORECASE)


def is_video(entry: os.DirEntry | Path) -> bool:
    name = entry.name
    return (
        not name.startswith(".") and os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS and entry.is_file()
    )


def film_name(stem: str) -> str:
    """A file's film: its name without a part marker (``Heat (1995) - part1`` -> ``Heat (1995)``)."""
    return PART.sub("", stem).rstrip(" ._-") or stem


def is_extra(name: str) -> bool:
    """Whether a file or folder name is an extra: ``trailers/``, ``Heat-trailer.mkv``, ``sample.mkv``."""
    stem = os.path.splitext(name)[0] if "." in name[-6:] else name
    lowered = stem.casefold()
    return lowered in EXTRA_FOLDERS or lowered in ("trailer", "sample") or bool(EXTRA_SUFFIX.search(stem))


def title_and_year(name: str) -> tuple[str, int | None]:
    """``("Heat", 1995)`` from ``"Heat (1995) [imdbid-tt0113277]"``; the name itself otherwise."""
    found = TITLE_YEAR.match(name)
    return (found.group("title").strip(), int(found.group("year"))) if found else (name.strip(), None)


def is_film_folder(folder: Path, children: list[os.DirEntry]) -> bool:
    """A media centre's film folder: an NFO beside a video, or a ``Title (Year)`` name."""
    has_video = any(is_video(c) for c in children)
    if "movie.nfo" in {c.name for c in children}:
        return True
    if has_video and any(c.name.endswith(".nfo") for c in children):
        return True
    return has_video and TITLE_YEAR.match(folder.name) is not None


def is_tv_show(children: list[os.DirEntry]) -> bool:
    """Whether a folder with these entries is a TV show's: a ``tvshow.nfo``, a ``Season 01/``
    folder, or two episode files (``S01E02``, ``1x02``)."""
    return (
        "tvshow.nfo" in {c.name.casefold() for c in children}
        or any(SEASON.match(c.name) for c in children if c.is_dir())
        or sum(1 for c in children if is_video(c) and EPISODE.search(c.name)) >= 2
    )
