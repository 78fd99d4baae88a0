"""``whodirected backbones``."""

from __future__ import annotations

from fractions import Fraction


def backbones() -> None:
    """List the feature backbones: size, input, weight beside others, where the weights come from, licence."""
    from rich.table import Table

    from whodirected._cli.console import out
    from whodirected.config import EmbedConfig
    from whodirected.features.backbones import list_backbones

    table = Table(
        title=f"Backbones (default: {EmbedConfig().backbone})",
        title_justify="left",
        caption="weight: a block's weight in the similarities of a combined backbone (a+b), beside a network's 1; "
        "faces weigh 0 there and count as recurring actors",
        caption_justify="left",
    )
    for column in ("name", "features", "input", "weight", "here", "weights", "licence"):
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
        share = str(Fraction(spec.weight).limit_denominator(100))  # beside a block of weight 1
        table.add_row(
            spec.name, str(spec.dim), f"{spec.input_size}px", share, here, spec.weights, spec.licence
        )
    out.print(table)
