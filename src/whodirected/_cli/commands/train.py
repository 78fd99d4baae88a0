"""``whodirected train``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from whodirected._cli.options import (
    BackboneOption,
    ConfigOption,
    DatasetArgument,
    EpochsOption,
    FeaturesOption,
    HeadOption,
    HiddenOption,
    LearningRateOption,
    SeedOption,
    fail,
    load,
    settings,
    stoppable,
    warn,
)
from whodirected.config import TrainConfig as D


def train(
    dataset: DatasetArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")] = Path("model"),
    backbone: BackboneOption = None,
    head: HeadOption = None,
    epochs: EpochsOption = None,
    lr: LearningRateOption = None,
    hidden: HiddenOption = None,
    batch_size: Annotated[
        int | None, typer.Option(help=f"sgd-linear: mini-batch size (default {D.batch_size}).")
    ] = None,
    seed: SeedOption = None,
    plot: Annotated[Path | None, typer.Option(help="Save the training figure (PNG) here.")] = None,
    features: FeaturesOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit a classifier head on cached features, calibrate "unknown director", save the model (no pickle)."""
    from whodirected._atomic import exclusive
    from whodirected._cli.console import EmbedProgress, console, print_open_set, shown
    from whodirected.errors import WhodirectedError
    from whodirected.models.labelled import dataset_warnings
    from whodirected.models.train import train as fit_model

    embed_settings = settings(config, "embed", backbone=backbone)
    chosen = settings(
        config,
        "train",
        head=head,
        epochs=epochs,
        learning_rate=lr,
        hidden=hidden,
        batch_size=batch_size,
        seed=seed,
    )
    data = load(dataset)
    try:
        with (
            stoppable(f"no model written to {output}; the features computed so far are cached"),
            exclusive(output.parent, "train", f".{output.name}.lock"),
            EmbedProgress() as progress,
        ):
            model, labelled = fit_model(data, embed_settings, chosen, features, progress.update)
            path = model.save(output)
    except WhodirectedError as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"{output}: cannot write the model ({exc.strerror or exc})")
    warn(dataset_warnings(labelled))
    if plot:
        from whodirected.reports.plots import training_figure

        training_figure(model.head.history, plot, chosen.head)
    console.print(
        f"model → {shown(path)}  ({len(model.classes)} directors, {len(labelled.y)} frames, head {chosen.head}, "
        f"backbone {model.backbone})",
        highlight=False,
    )
    print_open_set(model.open_set)
    console.print(shown(model.never_seen), highlight=False)
