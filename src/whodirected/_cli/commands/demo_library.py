"""``whodirected demo-library``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from whodirected._cli.options import fail


def demo_library(
    dest: Annotated[Path, typer.Argument(help="Folder to write <Director>/<Film>.mp4 into.")],
    directors: Annotated[int, typer.Option(min=1, help="Number of directors.")] = 3,
    films: Annotated[int, typer.Option(min=1, help="Films per director.")] = 3,
    seconds: Annotated[float, typer.Option(help="Length of each film in seconds.")] = 12.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same films.")] = 0,
) -> None:
    """Generate a library of directors with distinct, learnable styles (for tests and benchmarks)."""
    from whodirected.extract.demo import make_library

    try:
        paths = make_library(dest, directors, films, seconds, seed)
    except ValueError as exc:
        fail(str(exc), 2)
    typer.echo(f"{len(paths)} films by {directors} directors in {dest}")
