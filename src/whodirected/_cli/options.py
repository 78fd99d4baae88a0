"""What every command shares: option definitions (their help reads the config dataclasses),
reading settings, one-line errors with flag hints, and the dataset and feature helpers."""

from __future__ import annotations

import errno
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from whodirected.config import HEADS, RUNNERS, EmbedConfig, LibraryConfig, TrainConfig

# settings whose flag is not simply --name-with-dashes
FLAG_OF = {"jpeg_quality": "--quality", "drop_duplicates": "--keep-duplicates", "ray_actors": "--actors"}

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML file of settings (flags override it).")
]
RunnerOption = Annotated[
    str,
    typer.Option(
        "--runner", help=f"Where the work runs: {' or '.join(RUNNERS)} (ray: pip install 'whodirected[ray]')."
    ),
]
AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="With --runner ray: auto (a running `ray start` cluster) or ray://host:port; default: start a local Ray.",
    ),
]
DatasetArgument = Annotated[
    Path, typer.Argument(help="A manifest.csv (or its folder), or <Director>/<Film>/*.jpg folders.")
]
FeaturesOption = Annotated[
    Path | None,
    typer.Option("--features", help="Feature store folder (default: DATASET/.whodirected/features)."),
]
BackboneOption = Annotated[
    str | None,
    typer.Option(
        "--backbone",
        "-b",
        help=(
            f"Backbone name, combined with + (default {EmbedConfig.backbone}); see `whodirected backbones`. "
            "Live-action films: add +faces (the faces extra) for recurring actors, about 3.5x the embedding time."
        ),
    ),
]
HeadOption = Annotated[
    str | None,
    typer.Option(
        "--head", help=f"{', '.join(HEADS)} (default {TrainConfig.head}: the nearest director mean)."
    ),
]
EpochsOption = Annotated[
    int | None, typer.Option(help=f"sgd-linear: training epochs (default {TrainConfig.epochs}).")
]
LearningRateOption = Annotated[
    float | None,
    typer.Option("--lr", help=f"mlp/sgd-linear: learning rate (default {TrainConfig.learning_rate})."),
]
HiddenOption = Annotated[
    int | None,
    typer.Option(
        help=f"sgd-linear: add a dense layer of this size, e.g. 128 (default {TrainConfig.hidden}: none)."
    ),
]
SeedOption = Annotated[int | None, typer.Option(help=f"Random seed (default {TrainConfig.seed}).")]
DeviceOption = Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda when available).")]
DirectorsOption = Annotated[
    Path | None,
    typer.Option(
        "--directors",
        help="Where directors come from when a film's NFO and tags name none: a CSV title,year,director, "
        "or a folder of IMDb's title.basics, title.crew and name.basics TSV files (default: none).",
    ),
]
ExtrasOption = Annotated[
    bool | None,
    typer.Option(
        "--extras/--no-extras",
        help=f"Keep trailers, samples and other extras as films (default: {'keep' if LibraryConfig.extras else 'skip'}).",
    ),
]
ModelOption = Annotated[Path, typer.Option("--model", "-m", help="Model folder from `whodirected train`.")]


def err(message: str) -> None:
    """Print one readable error line to stderr."""
    from whodirected._cli.console import console, shown

    console.print(f"[bold red]error:[/] {shown(message)}", highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """One error line, then exit with ``code`` (2: the command cannot run at all)."""
    err(message)
    raise typer.Exit(code)


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[list[int]]:
    """SIGTERM stops the work inside like Ctrl-C does (a ``KeyboardInterrupt``); the list it
    yields holds the signal once one came, for the exit status (143 rather than 130)."""
    signals: list[int] = []

    def terminate(signum: int, frame: object) -> None:
        signals.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield signals
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def stoppable(what: str) -> Iterator[None]:
    """A long command's work: Ctrl-C and SIGTERM stop it with one line and exit 130 or 143, a
    full disk with one line and exit 1. What was finished stays (every write is atomic), so the
    same command carries on where it stopped; ``what`` says what is kept."""
    with sigterm_as_ctrl_c() as signals:
        try:
            yield
        except KeyboardInterrupt:
            err(f"stopped: {what}; run the same command again to carry on")
            raise typer.Exit(143 if signals else 130) from None
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"stopped: {where}the disk is full; {what}; run the same command again once there is room")


def hint(message: str) -> str:
    """A library message naming a setting (``every: ...``), with the flag that sets it."""
    name = message.split(":", 1)[0]
    if name.isidentifier():
        return f"{message} ({FLAG_OF.get(name, '--' + name.replace('_', '-'))})"
    return message


def settings(config: Path | None, section: str, **flags: Any) -> Any:
    """The ``[section]`` settings: defaults, then the TOML file, then the flags; exit 2 if invalid."""
    from whodirected.config import load_config, override

    try:
        chosen = override(getattr(load_config(config), section), **flags)
        return chosen.validate() if hasattr(chosen, "validate") else chosen
    except ValueError as exc:
        fail(hint(str(exc)), 2)


def warn(lines: list[str]) -> None:
    from whodirected._cli.console import console, shown

    for line in lines:
        console.print(f"[yellow]warning:[/] {shown(line)}", highlight=False)


def load(path: Path):
    """The dataset at ``path``, its warnings printed; exit 2 when it cannot be used."""
    from whodirected.errors import DatasetError
    from whodirected.features.dataset import load_dataset

    try:
        dataset = load_dataset(path)
    except DatasetError as exc:
        fail(str(exc), 2)
    warn(dataset.warnings)
    return dataset


def runner(name: str, address: str | None, jobs: int | None = None, actors: int = 0):
    from whodirected.errors import RunnerError
    from whodirected.runners import make_runner

    try:
        return make_runner(name, address, jobs, actors)
    except RunnerError as exc:
        fail(str(exc), 2)
