"""``whodirected backbones``."""

from __future__ import annotations


def backbones() -> None:
    """List the feature backbones: size, input, where the weights come from, licence."""
    from rich.table import Table

    from whodirected._cli.console import console
    from whodirected.config import EmbedConfig
    from whodirected.features.backbones import list_backbones

    table = Table(title=f"Backbones (default: {EmbedConfig().backbone})", title_justify="left")
    for column in ("name", "features", "input", "here", "weights", "licence"):
        table.add_column(column, no_wrap=column == "name")
    for spec in list_backbones():
        here = (
            "yes"
            if spec.available() and spec.bundled
            else "download"
            if spec.available()
            else f"not installed: {spec.install}"
            if spec.install
            else "not installed"
        )
        table.add_row(spec.name, str(spec.dim), f"{spec.input_size}px", here, spec.weights, spec.licence)
    console.print(table)
