"""Terminal output with Rich: progress bars and summary tables for the CLI."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .extract import ExtractSummary, FilmResult
from .filters import FILTERS

console = Console(stderr=True)


class FilmProgress:
    """A bar over films with a running frame count; failures print one line each above it."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]extract"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("films · {task.fields[frames]} frames"),
            TimeElapsedColumn(),
            console=console,
        )
        self._task = self._progress.add_task("extract", total=None, frames=0)
        self._frames = 0

    def __enter__(self) -> FilmProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start(self, films: int) -> None:
        self._progress.update(self._task, total=films)

    def advance(self, result: FilmResult) -> None:
        if result.error:
            self._progress.console.print(f"[red]failed:[/] {result.error}", highlight=False)
        else:
            self._frames += len(result.record.rows) if result.record else 0
        self._progress.update(self._task, advance=1, frames=self._frames)


def print_extract_summary(summary: ExtractSummary) -> None:
    """Per-director table (films, frames, frames dropped by each filter, failures)."""
    table = Table(
        title="Extraction summary",
        title_justify="left",
        caption=f"{', '.join(FILTERS)}: frames dropped by each filter",
        caption_justify="left",
    )
    table.add_column("director", no_wrap=True)
    for name in ("films", "frames", *FILTERS, "failed"):
        table.add_column(name, justify="right")
    for director, row in summary.directors.items():
        table.add_row(
            director,
            str(row.films),
            str(row.frames),
            *(str(row.skipped.get(f, 0)) for f in FILTERS),
            f"[red]{row.failed}[/]" if row.failed else "0",
        )
    console.print(table)
    for problem in summary.problems:
        console.print(f"[yellow]warning:[/] {problem}", highlight=False)
    reused = f" ({summary.reused} films up to date, not redone)" if summary.reused else ""
    console.print(f"{summary.frames} frames → {summary.manifest}{reused}", highlight=False)
    if summary.errors:
        console.print(f"[red]{len(summary.errors)} film(s) failed:[/]", highlight=False)
        for error in summary.errors:
            console.print(f"  {error}", highlight=False)
