"""``whodirected embed``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from whodirected._cli.options import (
    AddressOption,
    BackboneOption,
    ConfigOption,
    DatasetArgument,
    DeviceOption,
    RunnerOption,
    fail,
    load,
    runner,
    settings,
    stoppable,
)
from whodirected.config import EmbedConfig as D


def embed(
    dataset: DatasetArgument,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Feature store folder (default: DATASET/.whodirected/features)."),
    ] = None,
    backbone: BackboneOption = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"Frames read and embedded together (default {D.batch_size}: automatic, larger on CUDA).",
        ),
    ] = None,
    device: DeviceOption = None,
    runner_name: RunnerOption = "local",
    address: AddressOption = None,
    actors: Annotated[
        int | None,
        typer.Option(min=1, help="With --runner ray: backbone copies at once (default: one per CPU)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Turn frames into features, cached: a rerun computes nothing, new frames only themselves."""
    from whodirected._cli.console import EmbedProgress, print_embed_summary
    from whodirected.errors import WhodirectedError
    from whodirected.features.embed import embed as embed_features

    chosen = settings(
        config, "embed", backbone=backbone, batch_size=batch_size, device=device, ray_actors=actors
    )
    data = load(dataset)
    work = runner(runner_name, address, actors=chosen.ray_actors)
    try:
        with stoppable("the features computed so far are cached"), EmbedProgress() as progress:
            features = embed_features(data, chosen, output, progress.update, runner=work)
    except WhodirectedError as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(
            f"{exc.filename or output or 'the feature store'}: cannot write the features ({exc.strerror or exc})"
        )
    print_embed_summary(features.summary, features.matrix.shape[1])
    if features.summary.skipped:
        raise typer.Exit(1)
