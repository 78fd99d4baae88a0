"""``whodirected evaluate``."""

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
)
from whodirected.config import TrainConfig as D


def evaluate(
    dataset: DatasetArgument,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Report folder (report.json, report.html, PNGs).")
    ] = Path("evaluation"),
    backbone: BackboneOption = None,
    head: HeadOption = None,
    epochs: EpochsOption = None,
    lr: LearningRateOption = None,
    hidden: HiddenOption = None,
    folds: Annotated[
        int | None, typer.Option(min=2, help=f"Cross-validation folds, grouped by film (default {D.folds}).")
    ] = None,
    seed: SeedOption = None,
    features: FeaturesOption = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Score this trained model on DATASET instead of cross-validating."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Cross-validate with folds grouped by film (scenes when films are few), beside a random
    frame split (the leakage gap), with the unknown-director checks.

    With --model, score a trained model on DATASET (e.g. a separate library) without refitting.
    """
    from whodirected._cli.console import EmbedProgress, print_evaluation
    from whodirected.errors import WhodirectedError
    from whodirected.models.evaluate import evaluate_dataset
    from whodirected.models.model import Model
    from whodirected.reports.evaluation import write_report

    embed_settings = settings(config, "embed", backbone=backbone)
    chosen = settings(
        config, "train", head=head, epochs=epochs, learning_rate=lr, hidden=hidden, folds=folds, seed=seed
    )
    try:
        trained = Model.load(model) if model is not None else None
        data = load(dataset)
        with EmbedProgress() as progress:
            report = evaluate_dataset(data, embed_settings, chosen, features, trained, progress.update)
    except WhodirectedError as exc:
        fail(str(exc), 2)
    write_report(report, output)
    print_evaluation(report, output)
