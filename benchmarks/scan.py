"""``whodirected scan`` on a media centre's library of 10,000 films: ``Movies/<Title (Year)>/``
folders, each with an empty video file and a Jellyfin-style ``movie.nfo`` naming its director
(one in 50 co-directed, one in 100 with no director). Nothing is decoded: the figure is the
walk plus 10,000 hardened XML parses. Then the slow path: films with no NFO, whose director
is in the video's Matroska tags (a 1-second clip, copied), read from each file's header.

    python benchmarks/scan.py [--films 10000] [--tagged 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from whodirected.extract.sources import scan


def make_library(root: Path, films: int) -> None:
    for i in range(films):
        folder = root / "Movies" / f"Film {i:05d} ({1930 + i % 90})"
        folder.mkdir(parents=True)
        (folder / f"{folder.name}.mkv").touch()
        people = "" if i % 100 == 7 else f"<director>Director {i % 400}</director>"
        people += "<director>Second Person</director>" if i % 50 == 3 else ""
        (folder / "movie.nfo").write_text(
            '<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n'
            f"<movie><title>Film {i:05d}</title><year>{1930 + i % 90}</year>{people}"
            "<plot>Somebody does something, somewhere.</plot><runtime>96</runtime>"
            "<actor><name>An Actor</name><role>Someone</role></actor></movie>\n"
        )


def tagged_library(root: Path, films: int) -> None:
    """``films`` folders holding a copy of one small Matroska file tagged with its director."""
    import av
    import numpy as np

    clip = root / "clip.mkv"
    with av.open(str(clip), "w") as container:
        container.metadata["DIRECTOR"] = "Tag Person"
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    data = clip.read_bytes()
    for i in range(films):
        folder = root / "library" / "Movies" / f"Tagged {i:05d} ({1950 + i % 70})"
        folder.mkdir(parents=True)
        (folder / "film.mkv").write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=10_000)
    parser.add_argument("--tagged", type=int, default=1_000, help="films with tags and no NFO (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        make_library(root, args.films)
        print(f"wrote {args.films:,} film folders with NFO files in {time.perf_counter() - start:.1f} s")
        for run in ("first", "again"):
            start = time.perf_counter()
            library = scan(root)
            seconds = time.perf_counter() - start
            one = sum(1 for f in library.films if f.status == "ok")
            print(
                f"scan ({run}): {seconds:.2f} s for {len(library.films):,} films "
                f"({len(library.films) / seconds:,.0f} films/s); {one:,} with one director, "
                f"{len(library.left_out()):,} left out (co-directed or no director)"
            )
    if args.tagged:
        tagged(args.tagged)


def tagged(films: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tagged_library(root, films)
        start = time.perf_counter()
        library = scan(root / "library")
        seconds = time.perf_counter() - start
        found = sum(1 for f in library.films if f.label_source == "tags")
        print(
            f"scan of {films:,} films with tags and no NFO: {seconds:.2f} s "
            f"({1000 * seconds / films:.1f} ms a film, each header opened); {found:,} directors from tags"
        )


if __name__ == "__main__":
    main()
