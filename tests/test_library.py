"""Bring your own library: a generated Jellyfin/Plex-style library with NFO files, container
tags, parts, extras and a TV show; directors read from its own metadata, then a user's map."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from whodirected.config import ExtractConfig, LibraryConfig
from whodirected.extract.library import extract_library
from whodirected.extract.manifest import read_manifest
from whodirected.extract.metadata import DirectorMap, MetadataError, read_nfo, title_key
from whodirected.extract.sources import scan

BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<movie><title>Bomb</title><director>&lol3;</director></movie>"""


def nfo(title: str, year: int, *directors: str) -> str:
    people = "".join(f"<director>{d}</director>" for d in directors)
    return (
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'
        f"<movie><title>{title}</title><year>{year}</year>{people}<plot>A film.</plot></movie>"
    )


@pytest.fixture(scope="module")
def media_library(tmp_path_factory: pytest.TempPathFactory, encode_video: Callable[..., Path]) -> Path:
    root = tmp_path_factory.mktemp("media") / "Media"
    movies = root / "Movies"
    rng = np.random.default_rng(3)

    def video(path: Path, tags: dict[str, str] | None = None, seed: int = 0) -> Path:
        base = rng.integers(0, 255, (3, 48, 64, 3), dtype=np.uint8)
        return encode_video(path, lambda i: base[(i // 10 + seed) % 3], count=30, codec="mpeg4", tags=tags)

    heat = movies / "Heat (1995)"
    video(heat / "Heat (1995).mkv")
    (heat / "movie.nfo").write_text(nfo("Heat", 1995, "Michael Mann"))
    video(heat / "trailers" / "Heat teaser.mkv")  # an extras folder
    video(heat / "Heat (1995)-trailer.mkv")  # an extra by its suffix
    fish = movies / "Big Fish (2003) [imdbid-tt0319061]"
    video(fish / "Big Fish.mp4")
    (fish / "Big Fish.nfo").write_text(nfo("Big Fish", 2003, "Tim Burton"))  # <video stem>.nfo
    both = movies / "Together (2001)"
    video(both / "Together (2001).mkv")
    (both / "movie.nfo").write_text(nfo("Together", 2001, "Ann One", "Bob Two"))
    nobody = movies / "Unknown (2010)"
    video(nobody / "Unknown (2010).mkv")
    (nobody / "movie.nfo").write_text(nfo("Unknown", 2010))
    broken = movies / "Broken (2011)"
    video(broken / "Broken (2011).mkv", tags={"DIRECTOR": "Tag Person", "DATE": "2011"})
    (broken / "movie.nfo").write_text("<movie><title>Broken</title><director>oops</movie>")
    bomb = movies / "Bomb (2012)"
    video(bomb / "Bomb (2012).mkv")
    (bomb / "movie.nfo").write_text(BOMB)
    video(movies / "Tagged (2005)" / "Tagged.mp4", tags={"director": "Mp4 Maker", "title": "Tagged"})
    split = movies / "Split (1999)"
    video(split / "Split (1999) - part1.mkv", seed=0)
    video(split / "Split (1999) - part2.mkv", seed=1)
    (split / "movie.nfo").write_text(nfo("Split", 1999, "Parted Person"))
    video(movies / "Loose (2020) - pt1.mkv", tags={"DIRECTOR": "Plex Person"})  # Plex: loose parts
    video(movies / "Loose (2020) - pt2.mkv", tags={"DIRECTOR": "Plex Person"}, seed=2)
    show = root / "Some Show"
    (show / "tvshow.nfo").parent.mkdir(parents=True)
    (show / "tvshow.nfo").write_text("<tvshow><title>Some Show</title></tvshow>")
    video(show / "Season 01" / "Some Show S01E01.mkv")
    # the classic layout beside it, with an animated GIF as a short clip
    gif = root / "Gif Maker" / "loop.gif"
    gif.parent.mkdir(parents=True)
    frames = [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(3)]
    from PIL import Image

    pictures = [Image.fromarray(f) for f in frames]
    pictures[0].save(gif, save_all=True, append_images=pictures[1:], duration=1000, loop=0)
    return root


@pytest.fixture(scope="module")
def directors_csv(media_library: Path) -> Path:
    path = media_library.parent / "directors.csv"
    path.write_text("title,year,director\nBomb,2012,Mapped Person\nUnknown,1970,Wrong Year\n")
    return path


def rows(csv_text: str) -> dict[str, dict[str, str]]:
    return {row["film"]: row for row in csv.DictReader(io.StringIO(csv_text))}


def test_scan_reads_each_films_director_and_says_where_from(media_library: Path, directors_csv: Path) -> None:
    library = scan(media_library, LibraryConfig(directors=str(directors_csv)))
    films = rows(library.to_csv())
    assert {name: (r["director"], r["label_source"]) for name, r in films.items()} == {
        "Heat (1995)": ("Michael Mann", "nfo"),
        "Big Fish (2003) [imdbid-tt0319061]": ("Tim Burton", "nfo"),
        "Together (2001)": ("Ann One; Bob Two", "nfo"),  # co-directed: both named, never the first
        "Unknown (2010)": ("", ""),  # the map's entry is for another year
        "Broken (2011)": ("Tag Person", "tags"),  # a malformed NFO falls through to the tags
        "Bomb (2012)": ("Mapped Person", "map:directors.csv"),  # the entity bomb is refused
        "Tagged (2005)": ("Mp4 Maker", "tags"),
        "Split (1999)": ("Parted Person", "nfo"),
        "Loose (2020)": ("Plex Person", "tags"),
        "loop": ("Gif Maker", "folder"),
    }
    assert (
        films["Together (2001)"]["status"] == "co-directed"
        and films["Unknown (2010)"]["status"] == "no director"
    )
    assert films["Heat (1995)"]["year"] == "1995" and films["Broken (2011)"]["year"] == "2011"
    # films, not files: two parts each for Split and Loose; no extras, no TV episode
    files = [Path(f.path).name for f in library.films]
    assert len(files) == 12 and files.count("Heat (1995).mkv") == 1
    assert not any("trailer" in f or "teaser" in f or "S01E01" in f for f in files)
    assert library.extras == 2 and library.tv_shows == [str(media_library / "Some Show")]
    assert any("Broken (2011)" in p and "not valid XML" in p for p in library.problems)
    assert any("Bomb (2012)" in p and "unsafe XML" in p for p in library.problems)
    left_out = library.left_out()
    assert any(line.startswith("Together (2001): co-directed (Ann One; Bob Two)") for line in left_out)
    assert any(line.startswith("Unknown (2010): no director found") for line in left_out)
    assert any("TV show" in line for line in left_out) and any("2 extras" in line for line in left_out)
    with_extras = scan(media_library, LibraryConfig(extras=True))
    assert len(with_extras.films) == 14


def test_nfo_reader_refuses_hostile_and_oversized_files(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.nfo"
    bomb.write_text(BOMB)
    with pytest.raises(MetadataError, match="unsafe XML"):
        read_nfo(bomb)
    external = tmp_path / "external.nfo"
    external.write_text(
        '<!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><movie><director>&x;</director></movie>'
    )
    with pytest.raises(MetadataError, match="unsafe XML"):
        read_nfo(external)
    huge = tmp_path / "huge.nfo"
    huge.write_bytes(b"<movie>" + b" " * (2 << 20) + b"</movie>")
    with pytest.raises(MetadataError, match="over the 1,048,576-byte NFO limit"):
        read_nfo(huge)
    url_only = tmp_path / "url.nfo"
    url_only.write_text("https://www.imdb.com/title/tt0113277/\n")
    assert read_nfo(url_only).directors == ()


def test_imdb_tsv_files_name_directors_by_title_and_year(media_library: Path, tmp_path: Path) -> None:
    imdb = tmp_path / "imdb"
    imdb.mkdir()
    (imdb / "title.basics.tsv").write_text(
        "tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\tendYear\truntimeMinutes\tgenres\n"
        "tt1\tmovie\tThe Bomb\tLa Bombe\t0\t2012\t\\N\t90\tDrama\n"
        "tt2\tmovie\tThe Bomb\tThe Bomb\t0\t1950\t\\N\t80\tDrama\n"
        "tt3\ttvSeries\tBomb\tBomb\t0\t2012\t\\N\t30\tDrama\n"
        "tt4\tmovie\tHeat\tHeat\t0\t1995\t\\N\t170\tCrime\n"
    )
    (imdb / "title.crew.tsv").write_text(
        "tconst\tdirectors\twriters\ntt1\tnm1,nm2\t\\N\ntt2\tnm3\t\\N\ntt3\tnm3\t\\N\ntt4\tnm4\t\\N\n"
    )
    (imdb / "name.basics.tsv").write_text(
        "nconst\tprimaryName\tbirthYear\tdeathYear\tprimaryProfession\tknownForTitles\n"
        "nm1\tIris Imdb\t\\N\t\\N\tdirector\ttt1\nnm2\tJo Imdb\t\\N\t\\N\tdirector\ttt1\n"
        "nm3\tOld Timer\t\\N\t\\N\tdirector\ttt2\nnm4\tMichael Mann\t\\N\t\\N\tdirector\ttt4\n"
    )
    names = DirectorMap.load(imdb)
    assert names.source == "imdb"
    assert names.lookup("Bomb", 2012) == ("Iris Imdb", "Jo Imdb")  # "The" and case ignored
    assert names.lookup("la bombe", 2012) == ("Iris Imdb", "Jo Imdb")  # the original title too
    assert names.lookup("The Bomb", 1950) == ("Old Timer",)
    assert names.lookup("The Bomb", None) == ()  # two films of that name: no guess
    assert names.lookup("The Bomb", 1999) == ()
    assert names.lookup("Heat", 1995) == ("Michael Mann",)
    assert title_key("Amélie!") == title_key("amelie") and title_key("七人の侍") != title_key("羅生門")
    assert DirectorMap.load(imdb, wanted={"bomb"}).lookup("Heat", 1995) == ()  # only the wanted titles kept
    # a library scanned with the IMDb folder: Bomb's NFO is refused, so IMDb names its directors
    bomb = rows(scan(media_library, LibraryConfig(directors=str(imdb))).to_csv())["Bomb (2012)"]
    assert (bomb["director"], bomb["label_source"], bomb["status"]) == (
        "Iris Imdb; Jo Imdb",
        "imdb",
        "co-directed",
    )
    with pytest.raises(MetadataError, match="no name.basics.tsv"):
        (imdb / "name.basics.tsv").unlink()
        DirectorMap.load(imdb)


def test_extract_uses_the_metadata_and_reads_the_scan_csv_back(
    media_library: Path, directors_csv: Path, tmp_path: Path
) -> None:
    config = ExtractConfig(
        mode="every", every=1.0, min_frames=2, drop_black=False, drop_credits=False, drop_duplicates=False
    )
    summary = extract_library(media_library, tmp_path / "frames", config, jobs=2, library=LibraryConfig())
    frames = read_manifest(tmp_path / "frames")
    sources = frames.groupby("film").label_source.first().to_dict()
    assert (
        sources["Heat (1995)"] == "nfo" and sources["Tagged (2005)"] == "tags" and sources["loop"] == "folder"
    )
    assert "Together (2001)" not in sources and "Bomb (2012)" not in sources  # no single director
    assert (
        summary.directors["Parted Person"].films == 1
        and frames.groupby("film").source.nunique()["Split (1999)"] == 2
    )
    assert any("co-directed" in line for line in summary.left_out)
    # the user reviews the scan's CSV and names Together's director; extract takes the CSV
    edited = scan(media_library).to_csv().replace("Ann One; Bob Two", "Ann One")
    listing = tmp_path / "films.csv"
    listing.write_text(edited)
    again = extract_library(listing, tmp_path / "frames", config, jobs=2)
    frames = read_manifest(tmp_path / "frames")
    assert set(frames.film) >= {"Together (2001)", "Heat (1995)"} and "Bomb (2012)" not in set(frames.film)
    assert frames[frames.film == "Heat (1995)"].label_source.iloc[0] == "nfo"  # kept from the scan
    assert frames[frames.film == "Together (2001)"].label_source.iloc[0] == "csv"  # the user's choice
    assert again.reused >= 9


def test_scan_command_writes_the_csv_to_stdout_and_diagnostics_to_stderr(
    media_library: Path, directors_csv: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "whodirected", "scan", str(media_library), "--directors", str(directors_csv)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "40", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert rows(done.stdout)["Bomb (2012)"]["director"] == "Mapped Person"
    lines = done.stderr.splitlines()
    assert lines[0].startswith("10 films (12 files) in ")
    assert any(line.startswith("left out: Together (2001): co-directed") for line in lines)
    assert any("unsafe XML" in line for line in lines)  # one line each, whatever the width
    missing = subprocess.run(
        [sys.executable, "-m", "whodirected", "scan", str(media_library), "--directors", "nope.csv"],
        capture_output=True,
        text=True,
    )
    assert (
        missing.returncode == 2
        and missing.stderr.strip() == "error: directors: nope.csv: no such file or folder (--directors)"
    )
