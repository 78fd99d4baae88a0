"""``whodirected extract``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from whodirected._cli.options import (
    AddressOption,
    ConfigOption,
    DirectorsOption,
    ExtrasOption,
    RunnerOption,
    err,
    fail,
    runner,
    settings,
    sigterm_as_ctrl_c,
)
from whodirected.config import ExtractConfig as D


def extract(
    src: Annotated[
        Path,
        typer.Argument(
            help="Library folder (<Director>/<film>, <Director>/<Film>/<parts>, or a media centre's "
            "<Title (Year)>/ folders with NFO files), or a CSV path,director[,film] such as `scan` writes."
        ),
    ],
    dst: Annotated[Path, typer.Argument(help="Output folder for frames and manifest.csv.")],
    keyframes: Annotated[
        bool,
        typer.Option(
            "--keyframes",
            help=f"The film's keyframes (shot starts and regular intervals), at least {D.min_gap:g} s apart, "
            "plus frames where they lie more than --max-gap apart; decodes little else: a two-hour "
            f"1080p H.264 film in about 1.3 min on 2 cores (default mode: {D.mode}).",
        ),
    ] = False,
    max_gap: Annotated[
        float | None,
        typer.Option(
            help=f"With --keyframes: SECONDS between keyframes beyond which frames are added (default {D.max_gap})."
        ),
    ] = None,
    every: Annotated[
        float | None,
        typer.Option(
            help=f"One frame every SECONDS (default {D.every}; at least {D.min_frames} a file); decodes "
            "nearly every frame: a two-hour 1080p H.264 film in about 15 min on 2 cores."
        ),
    ] = None,
    per_film: Annotated[
        int | None,
        typer.Option(
            help=f"N frames spread evenly over each film (default {D.per_film}); each is a seek and a "
            "decode from the keyframe before it: fast for H.264, slow for 4K HEVC's long GOPs."
        ),
    ] = None,
    shots: Annotated[
        bool,
        typer.Option(
            "--shots",
            help="Frames inside each shot, shots found by PySceneDetect on a full decode: the slowest.",
        ),
    ] = False,
    frames_per_shot: Annotated[
        int | None, typer.Option(help=f"Frames inside each shot with --shots (default {D.frames_per_shot}).")
    ] = None,
    skip_edges: Annotated[
        float | None, typer.Option(help=f"Fraction skipped at each end of a film (default {D.skip_edges}).")
    ] = None,
    black: Annotated[
        bool | None,
        typer.Option(
            "--black/--keep-black",
            help=f"Drop black and near-uniform frames (default: {'drop' if D.drop_black else 'keep'}).",
        ),
    ] = None,
    credits: Annotated[
        bool | None,
        typer.Option(
            "--credits/--keep-credits",
            help=f"Drop credits, text on black (default: {'drop' if D.drop_credits else 'keep'}).",
        ),
    ] = None,
    dedupe: Annotated[
        bool | None,
        typer.Option(
            "--dedupe/--keep-duplicates",
            help=f"Drop near-duplicate frames within a film (default: {'drop' if D.drop_duplicates else 'keep'}).",
        ),
    ] = None,
    duplicate_distance: Annotated[
        int | None,
        typer.Option(
            help=f"Perceptual-hash distance (bits) counted as duplicate (default {D.duplicate_distance})."
        ),
    ] = None,
    max_side: Annotated[
        int | None,
        typer.Option(help=f"Downscale frames to this longest side, 0: full size (default {D.max_side})."),
    ] = None,
    quality: Annotated[
        int | None, typer.Option(help=f"JPEG quality, 1-100 (default {D.jpeg_quality}).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Parallel films (default: CPU count).")
    ] = None,
    directors: DirectorsOption = None,
    extras: ExtrasOption = None,
    runner_name: RunnerOption = "local",
    address: AddressOption = None,
    config: ConfigOption = None,
) -> None:
    """Save well-chosen frames of every film, with a manifest; reruns skip finished films."""
    from whodirected._cli.console import FilmProgress, print_extract_summary
    from whodirected.errors import DiskFull, WhodirectedError
    from whodirected.extract.library import extract_library

    modes = {
        "keyframes": keyframes,
        "every": every is not None,
        "per-film": per_film is not None,
        "shots": shots,
    }
    if sum(modes.values()) > 1:
        fail("choose one sampling mode: --keyframes, --every, --per-film or --shots", 2)
    mode = next((name for name, chosen in modes.items() if chosen), None)
    chosen = settings(
        config,
        "extract",
        mode=mode,
        max_gap=max_gap,
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
    )
    library = settings(config, "library", directors=str(directors) if directors else None, extras=extras)
    work = runner(runner_name, address, jobs)
    try:
        with sigterm_as_ctrl_c() as signals, FilmProgress() as progress:
            summary = extract_library(
                src,
                dst,
                chosen,
                jobs=jobs,
                on_start=progress.start,
                on_result=progress.advance,
                runner=work,
                library=library,
            )
    except DiskFull as exc:
        fail(str(exc), 1)
    except WhodirectedError as exc:
        fail(str(exc), 2)
    print_extract_summary(summary)
    if summary.stopped == "interrupted":
        err("stopped: the films above are done and recorded; run the same command again to finish")
        raise typer.Exit(143 if signals else 130)
    if summary.stopped:
        fail(f"stopped: {summary.stopped}; the films above are done, run again once there is room", 1)
    if not summary.ok:
        raise typer.Exit(1)
