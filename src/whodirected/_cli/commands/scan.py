"""``whodirected scan``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from whodirected._cli.options import ConfigOption, DirectorsOption, ExtrasOption, fail, settings


def scan(
    library: Annotated[
        Path,
        typer.Argument(
            help="A library folder: a media centre's Movies/<Title (Year)>/ folders, or <Director>/<film>."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the library CSV here (default: standard output)."),
    ] = None,
    directors: DirectorsOption = None,
    extras: ExtrasOption = None,
    config: ConfigOption = None,
) -> None:
    """List the films of a library and who directed each, from the metadata it already has
    (NFO files, container tags, --directors): the CSV that `extract` reads. Nothing is decoded."""
    from whodirected import _atomic as atomic
    from whodirected._cli.console import console, out, print_scan_summary
    from whodirected.errors import WhodirectedError
    from whodirected.extract.sources import scan as scan_library

    chosen = settings(config, "library", directors=str(directors) if directors else None, extras=extras)
    start = time.perf_counter()
    try:
        with console.status(f"scanning {library} (NFO files, then tags where they name no one)"):
            found = scan_library(library, chosen)
    except WhodirectedError as exc:
        fail(str(exc), 2)
    seconds = time.perf_counter() - start
    if output is None:
        out.file.write(found.to_csv())
    else:
        atomic.write_text(output, found.to_csv())
    print_scan_summary(found, seconds, output)
