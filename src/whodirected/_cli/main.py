"""The ``whodirected`` command: a Typer app of one thin command per module in ``commands/``."""

from __future__ import annotations

from typing import Annotated

import typer

from whodirected import __version__
from whodirected._cli.commands.backbones import backbones
from whodirected._cli.commands.demo_library import demo_library
from whodirected._cli.commands.embed import embed
from whodirected._cli.commands.evaluate import evaluate
from whodirected._cli.commands.explore import explore
from whodirected._cli.commands.extract import extract
from whodirected._cli.commands.predict import predict
from whodirected._cli.commands.scan import scan
from whodirected._cli.commands.serve import serve
from whodirected._cli.commands.train import train

app = typer.Typer(
    help="Recognise a film's director from a screenshot.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


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


for command in (scan, extract, backbones, embed, explore, train, evaluate, predict, serve):
    app.command()(command)
app.command("demo-library")(demo_library)


def main() -> None:
    app()
