"""Finding the films of a library, and who directed each.

Layouts, mixed freely under one root:

- ``<root>/<Director>/<film file>`` and ``<root>/<Director>/<Film>/<part files>``: the director
  is the folder's name (label source ``folder``);
- a media centre's library, as Kodi, Jellyfin, Emby and Plex keep it: ``<root>/<Title (Year)>/``
  with the video inside, or loose ``Title (Year).mkv`` files. The director comes from, in this
  order: the film's NFO file (``nfo``), the video's container tags (``tags``), then the user's
  ``--directors`` file (``map:<file>`` or ``imdb``). A root folder that holds such film folders
  (``Movies/``) is walked the same way;
- a CSV listing ``path,director[,film]``, such as the one ``whodirected scan`` writes (``csv``,
  or the label source the scan recorded).

A film is its folder or its file: parts (``CD1``, ``part2``, ``- pt1``) and editions join it.
In a media centre's folders, extras (``trailers/``, ``-trailer``, samples...) are left out
unless asked for; in the ``<Director>/`` layout, which the user arranged, every video counts.
TV show folders are skipped with one line. A film with two or more directors is *co-directed*: listed,
never silently given to the first, and left out of training until one director is chosen in
the scan's CSV.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from whodirected.config import LibraryConfig
from whodirected.errors import LibraryError
from whodirected.extract.metadata import (
    CO_DIRECTOR_SEPARATOR,
    DirectorMap,
    FilmInfo,
    MetadataError,
    container_tags,
    parse_year,
    read_nfo,
    split_names,
    title_key,
)
from whodirected.extract.naming import (
    PART,
    film_name,
    is_extra,
    is_film_folder,
    is_tv_show,
    is_video,
    title_and_year,
)

_HASH_CHUNK = 1 << 20  # bytes read at each of the sampled places of a large file
_FULL_HASH_LIMIT = 64 << 20  # files up to this size are hashed whole


@dataclass(frozen=True)
class FilmSource:
    """One video file to extract: a whole film, or one part of a film. ``directors`` holds
    every director found; ``director`` is the one when there is exactly one."""

    directors: tuple[str, ...]
    film: str
    path: Path
    label_source: str = "folder"  # where the director came from: folder, csv, nfo, tags, map:..., imdb
    year: int | None = None
    title: str = ""  # a media centre's film: its title, to look its director up by

    @property
    def director(self) -> str:
        """The film's director, or "" when none or several were found."""
        return self.directors[0] if len(self.directors) == 1 else ""

    @property
    def stem(self) -> str:
        """Prefix of this file's frame names: the film for a one-file film, else the part."""
        return self.path.stem

    @property
    def status(self) -> str:
        """``ok``, ``no director`` or ``co-directed``."""
        if self.director:
            return "ok"
        return "co-directed" if len(self.directors) > 1 else "no director"


@dataclass
class Library:
    """What discovery found: every film file (those without one director included), and the
    problems worth one line each."""

    films: list[FilmSource]
    problems: list[str]
    extras: int = 0  # extras (trailers, samples...) left out
    tv_shows: list[str] = field(default_factory=list)

    @property
    def labelled(self) -> list[FilmSource]:
        """The files of films with exactly one director: what ``extract`` extracts."""
        return [f for f in self.films if f.director]

    def left_out(self) -> list[str]:
        """One line per film that ``extract`` leaves out for want of one director, per TV show
        folder, and one for the extras: what was found and is not used, not a failure."""
        lines = [
            f"{show}: a TV show folder; skipped (whodirected learns from films)" for show in self.tv_shows
        ]
        if self.extras:
            lines.append(
                f"{self.extras} extras (trailers, samples, featurettes...) skipped; --extras keeps them"
            )
        films = {f.film: f for f in self.films if f.status != "ok"}  # a film's parts give one line
        for f in films.values():
            if f.status == "co-directed":
                names = CO_DIRECTOR_SEPARATOR.join(f.directors)
                lines.append(
                    f"{f.film}: co-directed ({names}); left out until one director is chosen in the library CSV"
                )
            else:
                lines.append(
                    f"{f.film}: no director found; left out (name one in the library CSV, or give --directors)"
                )
        return lines

    def to_csv(self) -> str:
        """The library manifest ``whodirected scan`` writes and ``extract`` reads back: one row
        per file, ``path,director,film,year,label_source,status``; several directors are joined
        with "; "."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["path", "director", "film", "year", "label_source", "status"])
        for f in sorted(self.films, key=lambda f: (f.film.casefold(), str(f.path))):
            label = f.label_source if f.directors else ""
            row = [f.path, CO_DIRECTOR_SEPARATOR.join(f.directors), f.film, f.year or "", label, f.status]
            writer.writerow([spreadsheet_safe(as_text(cell)) for cell in row])
        return out.getvalue()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet reads as a formula


def spreadsheet_safe(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: one starting like a formula (``=HYPERLINK(…)``,
    ``+cmd|…``, ``@SUM(…)``) gets a leading ``'``, as OWASP advises; :func:`from_spreadsheet`
    takes it off again."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def from_spreadsheet(text: str) -> str:
    """A cell written by :func:`spreadsheet_safe`, as it was."""
    return text[1:] if text.startswith("'") and text[1:2] and text[1] in "".join(FORMULA_STARTS) else text


_ESCAPED_BYTE = re.compile(r"\\x([0-9a-f]{2})")


def as_text(name: object) -> str:
    """A file name as valid UTF-8 text: bytes that are not UTF-8 (a name from an older system,
    which Python keeps as surrogates) written ``\\xe9``; :func:`as_path` reads it back."""
    text = str(name)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no undecodable byte made
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def as_path(text: str) -> Path:
    """The file a CSV cell names: the text itself, or, when no such file exists and the text
    holds ``\\xNN`` escapes (:func:`as_text`), the name with those bytes put back."""
    path = Path(text)
    if "\\x" in text and not path.exists():
        restored = Path(_ESCAPED_BYTE.sub(lambda m: chr(0xDC00 + int(m.group(1), 16)), text))
        if restored.exists():
            return restored
    return path


def scan(src: str | Path, config: LibraryConfig | None = None) -> Library:
    """The films of the library at ``src`` and who directed each: what ``extract`` would do."""
    config = (config or LibraryConfig()).validate()
    return discover(src, config.directors, config.extras)


def discover(src: str | Path, directors: str | Path | None = None, extras: bool = False) -> Library:
    """Find the films under a library folder or listed in a CSV file (see the module's text).
    ``directors`` (a CSV or a folder of IMDb files, :class:`DirectorMap`) is the last source of
    directors, read only when a film needs it; ``extras`` keeps trailers and the like."""
    src = Path(src)
    if not src.exists():
        raise LibraryError(f"{src}: no such file or folder")
    if src.is_file():
        return _from_csv(src)
    walk = _Walk(extras)
    walk.root(src)
    films = walk.films
    wanted = {title_key(f.title) for f in films if f.title and not f.directors}
    if directors is not None and wanted:  # IMDb's files are large: only these titles are kept
        names = DirectorMap.load(directors, wanted)
        films = [_looked_up(f, names) if f.title and not f.directors else f for f in films]
    return Library(films, walk.problems, walk.extras, walk.tv_shows)


def _looked_up(film: FilmSource, names: DirectorMap) -> FilmSource:
    found = names.lookup(film.title, film.year)
    return replace(film, label_source=names.source, directors=found) if found else film


@dataclass
class _Walk:
    keep_extras: bool
    films: list[FilmSource] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    extras: int = 0
    tv_shows: list[str] = field(default_factory=list)
    listed: dict[str, list[os.DirEntry]] = field(default_factory=dict)  # each folder read once
    folders: dict[tuple[int, int], str] = field(default_factory=dict)  # (device, inode) -> first path
    repeated: set[str] = field(default_factory=set)  # folders reached again through a link

    def entries(self, folder: Path | str) -> list[os.DirEntry]:
        """A folder's entries, hidden ones left out, by name; an unreadable folder is one line,
        and so is a folder reached again through a link (a loop, or a second way in): it is
        walked once."""
        key = str(folder)
        if key not in self.listed:
            try:
                identity = os.stat(folder)
                first = self.folders.setdefault((identity.st_dev, identity.st_ino), key)
                if first != key:
                    self.problems.append(f"{folder}: the same folder as {first} (a link); walked once")
                    self.listed[key] = []
                    self.repeated.add(key)
                    return []
                with os.scandir(folder) as found:
                    self.listed[key] = sorted(
                        (e for e in found if not e.name.startswith(".")), key=lambda e: e.name
                    )
            except OSError as exc:
                self.problems.append(f"{folder}: cannot read folder ({exc.strerror or exc})")
                self.listed[key] = []
        return self.listed[key]

    def root(self, folder: Path) -> None:
        entries = self.entries(folder)
        self._loose_files(folder, entries)
        for entry in entries:
            if not entry.is_dir():
                continue
            path = Path(entry.path)
            children = self.entries(path)
            if str(path) in self.repeated or self._tv_show(path, children):
                continue
            if is_film_folder(path, children):
                self._film_folder(path, children)
            elif any(is_film_folder(Path(c.path), self.entries(c.path)) for c in children if c.is_dir()):
                self.root(path)  # a collection of film folders ("Movies/"): walked the same way
            else:
                self._director_folder(path, children)

    def _tv_show(self, path: Path, children: list[os.DirEntry]) -> bool:
        if is_tv_show(children):
            self.tv_shows.append(str(path))
            return True
        return False

    def _keep(self, name: str) -> bool:
        if self.keep_extras or not is_extra(name):
            return True
        self.extras += 1
        return False

    def _director_folder(self, folder: Path, children: list[os.DirEntry]) -> None:
        """``<Director>/<film file>`` and ``<Director>/<Film>/<part files>``: a layout the user
        arranged, so every video in it counts (extras are a media centre's naming)."""
        found = 0
        label = FilmInfo(directors=(folder.name,))
        for entry in children:
            if is_video(entry):
                self._add(Path(entry.path), film_name(os.path.splitext(entry.name)[0]), label, "folder")
                found += 1
            elif entry.is_dir():
                for part in self.entries(entry.path):
                    if is_video(part):
                        self._add(Path(part.path), entry.name, label, "folder")
                        found += 1
        if not found:
            self.problems.append(f"{folder}: director folder has no video files")

    def _loose_files(self, folder: Path, entries: list[os.DirEntry]) -> None:
        """``Title (Year).mkv`` and ``Title (Year) - part1.mkv`` straight in a library folder."""
        groups: dict[str, list[Path]] = {}
        for entry in entries:
            if is_video(entry) and self._keep(entry.name):
                groups.setdefault(film_name(os.path.splitext(entry.name)[0]), []).append(Path(entry.path))
        for name, files in groups.items():
            nfos = [f.with_suffix(".nfo") for f in files]
            self._media_film(name, files, [n for n in nfos if n.is_file()])

    def _film_folder(self, folder: Path, children: list[os.DirEntry]) -> None:
        files: list[Path] = []
        for entry in children:
            if is_video(entry) and self._keep(entry.name):
                files.append(Path(entry.path))
            # a part's folder (CD1/, Disc 2/) or an extras folder (trailers/)
            elif entry.is_dir() and (PART.search(f" {entry.name}") or is_extra(entry.name)):
                videos = [Path(p.path) for p in self.entries(entry.path) if is_video(p)]
                if self.keep_extras or not is_extra(entry.name):
                    files += videos
                else:
                    self.extras += len(videos)
        names = {c.name for c in children}
        nfos = [folder / "movie.nfo"] if "movie.nfo" in names else []
        nfos += [folder / f"{f.stem}.nfo" for f in files if f"{f.stem}.nfo" in names]
        if files:
            self._media_film(folder.name, files, nfos)
        elif not nfos:
            self.problems.append(f"{folder}: no video files")

    def _media_film(self, name: str, files: list[Path], nfos: list[Path]) -> None:
        """A media centre's film: its director from the NFO, then the tags (then, once the walk
        is done, the user's map: :func:`discover`)."""
        title, year = title_and_year(name)
        info, source = FilmInfo(), ""
        for nfo in nfos:
            try:
                info = read_nfo(nfo)
            except MetadataError as exc:
                self.problems.append(f"{exc}; its director is looked for elsewhere")
                continue
            if info.directors:
                source = "nfo"
                break
        title, year = info.title or title, info.year or year
        if not info.directors:
            try:
                tags = container_tags(files[0])
            except MetadataError as exc:
                tags = FilmInfo()
                self.problems.append(str(exc))
            if tags.directors:
                info, source = tags, "tags"
            year = year or tags.year
        for path in sorted(files):
            self._add(path, name, FilmInfo(title, year, info.directors), source)

    def _add(self, path: Path, film: str, info: FilmInfo, source: str) -> None:
        self.films.append(FilmSource(info.directors, film, path, source, info.year, info.title or ""))


def _from_csv(path: Path) -> Library:
    films: list[FilmSource] = []
    problems: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"path", "director"} <= set(reader.fieldnames):
                raise LibraryError(f"{path}: a library CSV needs the columns path,director[,film]")
            for line, cells in enumerate(reader, start=2):
                row = {k: from_spreadsheet(v) if isinstance(v, str) else v for k, v in cells.items()}
                video = as_path(row["path"] or "")
                video = video if video.is_absolute() else path.parent / video
                names = split_names(row.get("director") or "")
                film = (row.get("film") or "").strip() or video.stem
                if not row["path"]:
                    problems.append(f"{path}:{line}: empty path")
                elif not video.is_file():
                    problems.append(f"{path}:{line}: {video}: no such file")
                else:
                    # a scan's label stands while its row still says "ok"; a director the user
                    # gave a co-directed or unlabelled film is the CSV's
                    scanned = (row.get("status") or "ok").strip() == "ok"
                    label = ((row.get("label_source") or "").strip() if scanned else "") or "csv"
                    films.append(FilmSource(names, film, video, label, parse_year(row.get("year"))))
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
