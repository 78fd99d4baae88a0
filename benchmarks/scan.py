"""``whodirected scan`` on a media centre's library of 10,000 films: ``Movies/<Title (Year)>/``
folders, each with an empty video file and a Jellyfin-style ``movie.nfo`` naming its director
(one in 50 co-directed, one in 100 with no director). Nothing is decoded: the figure is the
walk plus 10,000 hardened XML parses.

    python benchmarks/scan.py [--films 10000]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=10_000)
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


if __name__ == "__main__":
    main()
