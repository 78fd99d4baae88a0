"""The ``whodirected`` command: a thin layer over the library, one function per command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import __version__

app = typer.Typer(
    help="Recognise a film's director from a screenshot.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML file of settings (flags override it).")
]


def _err(message: str) -> None:
    """Print one readable error line to stderr."""
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    _err(message)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"whodirected {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Recognise a film's director from a screenshot."""


@app.command("demo-library")
def demo_library(
    dest: Annotated[Path, typer.Argument(help="Folder to write <Director>/<Film>.mp4 into.")],
    directors: Annotated[int, typer.Option(min=1, help="Number of directors.")] = 3,
    films: Annotated[int, typer.Option(min=1, help="Films per director.")] = 3,
    seconds: Annotated[float, typer.Option(help="Length of each film in seconds.")] = 12.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same films.")] = 0,
) -> None:
    """Generate a demo film library of directors with distinct, learnable styles."""
    from .demo import make_library

    try:
        paths = make_library(dest, directors, films, seconds, seed)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"{len(paths)} films by {directors} directors in {dest}")


@app.command()
def extract(
    src: Annotated[
        Path,
        typer.Argument(
            help="Library folder <Director>/<film> or <Director>/<Film>/<part>, or a CSV path,director[,film]."
        ),
    ],
    dst: Annotated[Path, typer.Argument(help="Output folder for frames and manifest.csv.")],
    every: Annotated[float | None, typer.Option(help="Uniform sampling: one frame every SECONDS.")] = None,
    per_film: Annotated[int | None, typer.Option(help="N frames spread evenly over each film.")] = None,
    shots: Annotated[
        bool, typer.Option("--shots", help="Frames per shot, shots found by PySceneDetect.")
    ] = False,
    frames_per_shot: Annotated[int | None, typer.Option(help="Frames inside each shot with --shots.")] = None,
    skip_edges: Annotated[float | None, typer.Option(help="Fraction skipped at each end of a film.")] = None,
    black: Annotated[
        bool | None, typer.Option("--black/--keep-black", help="Drop black and near-uniform frames.")
    ] = None,
    credits: Annotated[
        bool | None, typer.Option("--credits/--keep-credits", help="Drop credits (text on black).")
    ] = None,
    dedupe: Annotated[
        bool | None,
        typer.Option("--dedupe/--keep-duplicates", help="Drop near-duplicate frames within a film."),
    ] = None,
    duplicate_distance: Annotated[
        int | None, typer.Option(help="Perceptual-hash distance (bits) counted as duplicate.")
    ] = None,
    max_side: Annotated[
        int | None, typer.Option(help="Downscale frames to this longest side (0: full size).")
    ] = None,
    quality: Annotated[int | None, typer.Option(help="JPEG quality, 1-100.")] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Parallel films (default: CPU count).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Save well-chosen frames of every film, with a manifest; reruns skip finished films."""
    from .config import load_config, override
    from .extract import extract_library
    from .sources import LibraryError

    if sum([every is not None, per_film is not None, shots]) > 1:
        raise _fail("choose one sampling mode: --every, --per-film or --shots", 2)
    mode = (
        "every" if every is not None else "per-film" if per_film is not None else "shots" if shots else None
    )
    try:
        settings = override(
            load_config(config).extract,
            mode=mode,
            every=every,
            per_film=per_film,
            frames_per_shot=frames_per_shot,
            skip_edges=skip_edges,
            drop_black=black,
            drop_credits=credits,
            drop_duplicates=dedupe,
            duplicate_distance=duplicate_distance,
            max_side=max_side,
            jpeg_quality=quality,
        ).validate()
    except ValueError as exc:
        raise _fail(str(exc), 2) from None

    from .console import FilmProgress

    try:
        with FilmProgress() as progress:
            summary = extract_library(
                src, dst, settings, jobs=jobs, on_start=progress.start, on_result=progress.advance
            )
    except LibraryError as exc:
        raise _fail(str(exc), 2) from None
    from .console import print_extract_summary

    print_extract_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
