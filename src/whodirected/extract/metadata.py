"""What a media library already says about its films: Kodi/Jellyfin/Emby NFO files, container
tags, and a user's list of directors (a ``title,year,director`` CSV, or the public IMDb TSV
files). Every reader here takes untrusted input: size caps, a hardened XML parser, and one
readable line (:class:`MetadataError`) for anything it cannot use.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import stat
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from whodirected.errors import WhodirectedError

MAX_NFO_BYTES = 1 << 20  # a real movie.nfo is a few KB; anything far bigger is not one
CO_DIRECTOR_SEPARATOR = "; "  # how several directors are written in one field
_NAME_SPLIT = re.compile(r"\s*(?:;|\s/\s|\s&\s)\s*")  # "A; B", "A / B", "A & B" in one tag
_YEAR = re.compile(r"(1[89]\d\d|2[01]\d\d)")


class MetadataError(WhodirectedError):
    """A metadata file that cannot be used (malformed, too large, hostile)."""


@dataclass(frozen=True)
class FilmInfo:
    """What one source says of a film: any of title, year and directors may be missing."""

    title: str | None = None
    year: int | None = None
    directors: tuple[str, ...] = ()


def split_names(value: str) -> tuple[str, ...]:
    """Director names from one field: ``"A; B"``, ``"A / B"`` and ``"A & B"`` name two."""
    return tuple(dict.fromkeys(n.strip() for n in _NAME_SPLIT.split(value) if n.strip()))


def parse_year(value: object) -> int | None:
    """The year in ``"1999"``, ``"1999-05-21"`` and the like; ``None`` when there is none."""
    found = _YEAR.search(str(value or ""))
    return int(found.group(1)) if found else None


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. A FIFO, a device (a link to
    ``/dev/zero``), a folder or a longer file is refused in one line, having read at most
    ``limit + 1`` bytes whatever its size claims; opening never blocks."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise MetadataError(f"{path}: not a regular file; not read")
            data = handle.read(limit + 1)
    except OSError as exc:
        raise MetadataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise MetadataError(f"{path}: over the {limit:,}-byte {what} limit; not read")
    return data


def read_nfo(path: str | Path) -> FilmInfo:
    """Title, year and directors from a Kodi/Jellyfin/Emby ``<movie>`` NFO file.

    Parsed with defusedxml: entity declarations (the "billion laughs"), external entities and
    DTD fetching are refused, and files over :data:`MAX_NFO_BYTES` are not read. An NFO that
    holds only a web address (Kodi allows that) names nothing, and is not an error.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    path = Path(path)
    data = read_regular(path, MAX_NFO_BYTES, "NFO")
    if b"<" not in data:  # a URL-only NFO
        return FilmInfo()
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MetadataError(f"{path}: refused, unsafe XML ({type(exc).__name__})") from None
    except ParseError as exc:
        raise MetadataError(f"{path}: not valid XML ({exc})") from None
    if root.tag != "movie":
        return FilmInfo()  # a tvshow.nfo, an episode's, a music video's: not a film's
    directors = [name for node in root.iter("director") for name in split_names(node.text or "")]
    title = (root.findtext("title") or root.findtext("originaltitle") or "").strip() or None
    year = parse_year(root.findtext("year")) or parse_year(root.findtext("premiered"))
    return FilmInfo(title, year, tuple(dict.fromkeys(directors)))


def container_tags(path: str | Path) -> FilmInfo:
    """Title, year and directors from a video's container tags (Matroska ``DIRECTOR``, MP4 and
    QuickTime director atoms), read from the header: no frame is decoded."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            tags = {key.lower(): value for key, value in container.metadata.items()}
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise MetadataError(f"{path}: cannot read its tags ({exc})") from None
    directors = split_names(tags.get("director", ""))
    title = tags.get("title", "").strip() or None
    year = parse_year(tags.get("year")) or parse_year(tags.get("date"))
    return FilmInfo(title, year, directors)


def title_key(title: str) -> str:
    """A title for matching: case, accents, punctuation and a leading article ignored."""
    text = "".join(c for c in unicodedata.normalize("NFKD", title) if not unicodedata.combining(c))
    words = re.sub(r"[\W_]+", " ", text.casefold()).split()  # letters of every script are kept
    if len(words) > 1 and words[0] in ("the", "a", "an"):
        words = words[1:]
    return " ".join(words)


class DirectorMap:
    """Directors looked up by title and year: from a user's CSV (``title,year,director``; an
    empty year matches any) or from the IMDb ``title.basics``, ``title.crew`` and
    ``name.basics`` TSV files (:meth:`from_imdb`)."""

    def __init__(self, entries: Iterable[tuple[str, int | None, tuple[str, ...]]], source: str) -> None:
        self.source = source
        self._by_title: dict[str, dict[int | None, tuple[str, ...]]] = {}
        for title, year, directors in entries:
            years = self._by_title.setdefault(title_key(title), {})
            known = years.get(year)
            years[year] = tuple(dict.fromkeys((*known, *directors))) if known else directors

    def lookup(self, title: str, year: int | None) -> tuple[str, ...]:
        """The directors of ``title`` from ``year``: an entry of that year, else one with no
        year; a film with no year matches only when the title has a single entry."""
        years = self._by_title.get(title_key(title), {})
        if year is not None and year in years:
            return years[year]
        if None in years:
            return years[None]
        if year is None and len(years) == 1:
            return next(iter(years.values()))
        return ()

    @classmethod
    def load(cls, path: str | Path, wanted: set[str] | None = None) -> DirectorMap:
        """A ``title,year,director`` CSV, or a folder holding the IMDb TSV files (of which only
        the ``wanted`` :func:`title_key` titles are kept, when given)."""
        path = Path(path)
        if path.is_dir():
            return cls.from_imdb(path, wanted)
        try:
            with path.open(newline="", encoding="utf-8-sig") as handle:
                reader = csv.DictReader(handle)
                if not reader.fieldnames or not {"title", "director"} <= set(reader.fieldnames):
                    raise MetadataError(f"{path}: a directors file needs the columns title,year,director")
                entries = [
                    (
                        (row.get("title") or "").strip(),
                        parse_year(row.get("year")),
                        split_names(row.get("director") or ""),
                    )
                    for row in reader
                ]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise MetadataError(f"{path}: cannot read directors file ({exc})") from None
        return cls([e for e in entries if e[0] and e[2]], f"map:{path.name}")

    @classmethod
    def from_imdb(cls, folder: str | Path, wanted: set[str] | None = None) -> DirectorMap:
        """Films (``movie``, ``tvMovie``, ``short``, ``video``) and their directors from the IMDb
        datasets (https://datasets.imdbws.com, ``.tsv`` or ``.tsv.gz``). ``wanted`` title keys,
        when given, keep only those titles in memory: the full files hold millions of rows."""
        folder = Path(folder)
        titles: dict[str, list[tuple[str, int | None]]] = {}
        for row in _tsv(folder, "title.basics"):
            if row.get("titleType") not in ("movie", "tvMovie", "short", "video"):
                continue
            year = parse_year(row.get("startYear"))
            names = {row.get("primaryTitle") or "", row.get("originalTitle") or ""} - {""}
            for name in names:
                if wanted is None or title_key(name) in wanted:
                    titles.setdefault(row["tconst"], []).append((name, year))
        crews = {}
        for row in _tsv(folder, "title.crew"):
            if row.get("tconst") in titles and row.get("directors") not in (None, "", r"\N"):
                crews[row["tconst"]] = row["directors"].split(",")
        needed = {n for ids in crews.values() for n in ids}
        names = {
            r["nconst"]: r["primaryName"] for r in _tsv(folder, "name.basics") if r.get("nconst") in needed
        }
        entries = [
            (title, year, tuple(names[n] for n in crews[tconst] if n in names))
            for tconst, known in titles.items()
            if tconst in crews
            for title, year in known
        ]
        return cls([e for e in entries if e[2]], "imdb")


def _tsv(folder: Path, name: str) -> Iterator[dict[str, str]]:
    """The rows of ``name.tsv`` or ``name.tsv.gz`` in ``folder`` (IMDb's quoting-free TSV)."""
    for path in (folder / f"{name}.tsv", folder / f"{name}.tsv.gz"):
        if path.is_file():
            break
    else:
        raise MetadataError(f"{folder}: no {name}.tsv(.gz); download it from https://datasets.imdbws.com")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
    except (OSError, EOFError, UnicodeDecodeError, csv.Error) as exc:
        raise MetadataError(f"{path}: cannot read ({exc})") from None
