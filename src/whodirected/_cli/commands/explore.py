"""``whodirected explore``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from whodirected._cli.options import (
    BackboneOption,
    ConfigOption,
    DatasetArgument,
    FeaturesOption,
    fail,
    load,
    settings,
    warn,
)


def explore(
    dataset: DatasetArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML report to write.")] = Path(
        "report.html"
    ),
    backbone: BackboneOption = None,
    features: FeaturesOption = None,
    faces: Annotated[
        bool | None,
        typer.Option(
            "--faces/--no-faces",
            help="Shot scales from the faces block, about 0.14 s a frame once, then cached "
            "(default: when the faces extra is installed).",
        ),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write a one-file HTML report: counts, imbalance warnings, contact sheets, style, shot
    scales, a map."""
    from whodirected._cli.console import EmbedProgress, console, shown
    from whodirected.errors import WhodirectedError
    from whodirected.reports.explore import explore as write

    chosen = settings(config, "embed", backbone=backbone)
    data = load(dataset)
    try:
        with EmbedProgress() as progress:
            path, warnings = write(data, output, chosen, features, progress.update, shot_scales=faces)
    except WhodirectedError as exc:
        fail(str(exc), 2)
    warn(warnings[len(data.warnings) :])
    console.print(f"report → {shown(path)}", highlight=False)
