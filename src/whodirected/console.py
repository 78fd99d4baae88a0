"""Terminal output with Rich: progress bars and summary tables for the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

if TYPE_CHECKING:  # kept out of start-up: `whodirected predict` needs none of them
    from .embed import EmbedSummary
    from .extract import ExtractSummary, FilmResult

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
    from .filters import FILTERS

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


class EmbedProgress:
    """One bar per backbone, with frames/s."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]embed[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> EmbedProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, backbone: str, done: int, total: int) -> None:
        if backbone not in self._tasks:
            self._tasks[backbone] = self._progress.add_task(backbone, total=total, rate="")
        task = self._tasks[backbone]
        elapsed = self._progress.tasks[task].elapsed or 0.0
        self._progress.update(
            task, completed=done, rate=f"{done / elapsed:.1f} frames/s" if elapsed > 0.5 else ""
        )


def print_embed_summary(summary: EmbedSummary, dim: int) -> None:
    for line in summary.corrupt + summary.skipped:
        console.print(f"[yellow]skipped:[/] {line}", highlight=False)
    for name, computed in summary.computed.items():
        console.print(
            f"{name}: {computed} computed, {summary.cached.get(name, 0)} from cache", highlight=False
        )
    rate = f" ({sum(summary.computed.values()) / summary.seconds:.1f} frames/s)" if summary.seconds else ""
    console.print(
        f"{summary.frames - len(summary.skipped)} of {summary.frames} frames embedded, {dim} features each, "
        f"in {summary.seconds:.1f} s{rate}; {len(summary.skipped)} unreadable skipped",
        highlight=False,
    )


def print_evaluation(report: dict, out) -> None:
    """The evaluation's headline figures, the same as report.json."""
    cross_validated = report["folds"] > 1  # one fold: a trained model scored on another library
    table = Table(
        title=f"Evaluation: {report['frames']} frames, {report['films']} films", title_justify="left"
    )
    columns = (
        ("metric", "film-grouped", "random split", "leakage gap") if cross_validated else ("metric", "score")
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "metric" else "right")
    for name, g in report["film_grouped"].items():
        if cross_validated:
            table.add_row(
                name,
                f"{g['mean']:.3f} ± {g['std']:.3f}",
                f"{report['random_split'][name]['mean']:.3f}",
                f"{report['leakage_gap'][name]:+.3f}",
            )
        else:
            table.add_row(name, f"{g['mean']:.3f}")
    console.print(table)
    chance = report["chance"]
    console.print(
        f"chance: majority {chance['majority']:.3f}, uniform {chance['uniform']:.3f}; "
        f"calibration error {report['calibration']['ece']:.3f}; report → {out}/report.html",
        highlight=False,
    )


def print_open_set(open_set: dict | None) -> None:
    """How the "unknown director" threshold was chosen and what it gives on held-out data."""
    if not open_set:
        return
    parts = [
        f"unknown director below probability {open_set['threshold']:.2f} or familiarity "
        f"{open_set['familiarity']:.2f} ({open_set['method']})"
    ]
    if open_set.get("known_right_accepted") is not None:
        parts.append(
            f"new films of known directors: {open_set['known_right_accepted']:.0%} accepted and right"
        )
    if open_set.get("unknown_refused") is not None:
        parts.append(f"unseen directors: {open_set['unknown_refused']:.0%} called unknown")
    console.print("; ".join(parts), highlight=False)


def _timecode(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:d}:{minutes:02d}:{rest:04.1f}"


def print_prediction(prediction, top_k: int, per_frame: bool = False, out: Console | None = None) -> None:
    """A prediction as a person reads it: verdict, ranked directors with bars, evidence, style."""
    out = out or Console()
    p = prediction
    head = f"[bold]{p.source}[/]"
    if p.frames:
        head += f"  ({len(p.frames)} frames, {p.aggregate} of probabilities)"
    if p.unknown:
        why = (
            f"below the {p.min_confidence:.0%} the model trusts"
            if p.confidence < p.min_confidence
            else f"but unlike any training frame (familiarity {p.familiarity:.2f} < {p.min_familiarity:.2f})"
        )
        verdict = f"[bold yellow]unknown director[/] — best guess {p.ranking[0].director} at {p.confidence:.1%}, {why}"
    else:
        verdict = f"[bold green]{p.ranking[0].director}[/] ({p.confidence:.1%})"
    out.print(f"{head} → {verdict}", highlight=False)
    table = Table(show_header=True, box=None, padding=(0, 1))
    for column in ("#", "director", "probability", ""):
        table.add_column(column, justify="right" if column in ("#", "probability") else "left")
    for rank, r in enumerate(p.ranking[:top_k], start=1):
        table.add_row(str(rank), r.director, f"{r.probability:.1%}", "█" * max(1, round(r.probability * 30)))
    out.print(table)
    if p.film is not None:
        where = "a film the model was trained on" if p.film.known else "not like any training film"
        out.print(
            f"  film: the nearest frames point to [italic]{p.film.film}[/] ({p.film.director}), best match "
            f"{p.film.similarity:.2f} — {where}",
            highlight=False,
        )
    for e in p.evidence:
        out.print(
            f"  evidence: {e.similarity:.2f}  {e.director} · {e.film} · {_timecode(e.timestamp)}",
            highlight=False,
        )
    if p.style is not None:
        out.print(f"  style: {p.style.summary}", highlight=False)
    if per_frame:
        for frame in p.frames:
            top = frame.ranking[0]
            out.print(
                f"    {Path(frame.source).name}: {frame.verdict} ({top.probability:.1%})", highlight=False
            )
    out.print()
