"""Terminal output with Rich: progress bars and summary tables for the CLI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
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
    from whodirected.extract.library import ExtractSummary, FilmResult
    from whodirected.extract.sources import Library
    from whodirected.features.embed import EmbedSummary
    from whodirected.models.calibrate import OpenSet

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(text: object) -> str:
    """Text from the outside world (a folder, an NFO, a model's class names) as the terminal may
    show it: control characters, escape sequences among them, and bytes that are not UTF-8 as
    ``\\xNN``, and Rich's markup escaped, so a name can neither restyle the terminal nor break
    the output."""
    from whodirected.extract.sources import as_text

    return escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", as_text(text)))


console = Console(stderr=True, soft_wrap=True)  # progress and diagnostics; one line per message
out = Console(soft_wrap=True)  # results: standard output


class FilmProgress:
    """A bar over video files (a film may have several) with a running frame count; failures
    print one line each above it."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("[bold]extract"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files · {task.fields[frames]} frames"),
            TimeElapsedColumn(),
            console=console,
            transient=True,  # the summary table follows; a refused run leaves no empty bar
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
            self._progress.console.print(f"[red]failed:[/] {shown(result.error)}", highlight=False)
        else:
            self._frames += len(result.record.rows) if result.record else 0
        self._progress.update(self._task, advance=1, frames=self._frames)


def print_extract_summary(summary: ExtractSummary) -> None:
    """Per-director table (films, frames, frames dropped by each filter, failures)."""
    from whodirected.extract.filters import FILTERS

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
            shown(director),
            str(row.films),
            str(row.frames),
            *(str(row.skipped.get(f, 0)) for f in FILTERS),
            f"[red]{row.failed}[/]" if row.failed else "0",
        )
    out.print(table)
    for line in summary.left_out:
        console.print(f"[dim]left out:[/] {shown(line)}", highlight=False)
    for problem in summary.problems:
        console.print(f"[yellow]warning:[/] {shown(problem)}", highlight=False)
    reused = f" ({summary.reused} files up to date, not redone)" if summary.reused else ""
    out.print(f"{summary.frames} frames → {shown(summary.manifest)}{reused}", highlight=False)
    if summary.errors:
        console.print(f"[red]{len(summary.errors)} film(s) failed:[/]", highlight=False)
        for error in summary.errors:
            console.print(f"  {shown(error)}", highlight=False)


def print_scan_summary(library: Library, seconds: float, output: Path | None) -> None:
    """Films found, by where their director came from; what is left out, and why (stderr:
    the CSV itself may be on standard output)."""
    from collections import Counter

    films = {f.film: f for f in library.films}
    sources = Counter(f.label_source for f in films.values() if f.director)
    directors = {f.director for f in films.values() if f.director}
    console.print(
        f"{len(films)} films ({len(library.films)} files) in {seconds:.2f} s: "
        f"{sum(sources.values())} with one director ({len(directors)} directors)"
        + (f", from {', '.join(f'{source} {n}' for source, n in sources.most_common())}" if sources else ""),
        highlight=False,
    )
    for line in library.left_out():
        console.print(f"[dim]left out:[/] {shown(line)}", highlight=False)
    for problem in library.problems:
        console.print(f"[yellow]warning:[/] {shown(problem)}", highlight=False)
    if output is not None:
        console.print(
            f"library CSV → {shown(output)}; check or edit it, then: whodirected extract {shown(output)} FRAMES",
            highlight=False,
        )


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
        console.print(f"[yellow]skipped:[/] {shown(line)}", highlight=False)
    for name, computed in summary.computed.items():
        console.print(
            f"{name}: {computed} computed, {summary.cached.get(name, 0)} from cache", highlight=False
        )
    computed = sum(summary.computed.values())
    rate = f", {computed / summary.seconds:.1f} frames/s computed" if computed and summary.seconds else ""
    console.print(
        f"{summary.frames - len(summary.skipped)} of {summary.frames} frames embedded, {dim} features each, "
        f"in {summary.seconds:.1f} s{rate}"
        + ("" if computed else " (all from the cache)")
        + f"; {len(summary.skipped)} unreadable skipped",
        highlight=False,
    )


def print_evaluation(report: dict, out) -> None:
    """The evaluation's headline figures, the same as report.json."""
    from whodirected.reports.evaluation import chance_lines, headline, open_set_lines

    for warning in report.get("warnings", []):
        console.print(f"[yellow]warning:[/] {shown(warning)}", highlight=False)
    protocol, held = headline(report)
    shuffled, gap = report.get("random_split"), report.get("leakage_gap")
    table = Table(
        title=f"Evaluation: {report['frames']} frames, {report['films']} films", title_justify="left"
    )
    table.add_column("metric")
    table.add_column(protocol.split(" (")[0], justify="right")
    if shuffled is not None:
        table.add_column("random split", justify="right")
        table.add_column("leakage gap", justify="right")
    for name, g in held.items():
        cells = [name, f"{g['mean']:.3f} ± {g['std']:.3f}" if report["folds"] > 1 else f"{g['mean']:.3f}"]
        if shuffled is not None:
            cells += [
                f"{shuffled[name]['mean']:.3f}",
                "not measurable" if gap is None else f"{gap[name]:+.3f}",
            ]
        table.add_row(*cells)
    console.print(table)
    if report.get("film_grouped") is None:
        console.print("film-grouped director accuracy: [bold]not measurable[/]", highlight=False)
    for line in chance_lines(report) + open_set_lines(report):
        console.print(shown(line), highlight=False)
    chance = report["chance"]
    console.print(
        f"chance: majority {chance['majority']:.3f}, uniform {chance['uniform']:.3f}; "
        f"calibration error {report['calibration']['ece']:.3f} ({protocol.split(' (')[0]}); report → {out}/report.html",
        highlight=False,
    )


def print_open_set(open_set: OpenSet | None) -> None:
    """What the "unknown director" thresholds could be calibrated from, and what they give."""
    if open_set is None:
        return
    if open_set.note:
        console.print(
            f"[yellow]unknown director: not calibrated[/] — {shown(open_set.note)}", highlight=False
        )
        return
    console.print(
        f"unknown director below probability {open_set.threshold:.2f} or familiarity {open_set.familiarity:.2f}, "
        f"chosen to keep {open_set.target:.0%} of held-out frames of known directors accepted ({open_set.method}):",
        highlight=False,
    )
    console.print(
        f"  held-out frames of known directors: {open_set.known_accepted:.0%} accepted, "
        f"{open_set.known_right_accepted:.0%} accepted and right ({open_set.known_frames} frames)",
        highlight=False,
    )
    console.print(
        f"  frames of directors left out of training: {open_set.unknown_refused:.0%} called unknown "
        f"({open_set.unknown_frames} frames)",
        highlight=False,
    )


def _timecode(seconds: float | None) -> str:
    """`` · h:mm:ss.s`` into the film, or nothing where the frame's time is not known (stills)."""
    if seconds is None:
        return ""
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f" · {hours:d}:{minutes:02d}:{rest:04.1f}"


def print_prediction(prediction, top_k: int, per_frame: bool = False) -> None:
    """A prediction as a person reads it, on standard output: verdict, ranked directors with
    bars, evidence, style."""
    p = prediction
    head = f"[bold]{shown(p.source)}[/]"
    if p.frames:
        head += f"  ({len(p.frames)} frames, {p.aggregate} of probabilities)"
    if p.refusal is not None:
        out.print(f"{head} → [bold yellow]{p.refusal}[/] — {p.reason}; no director named", highlight=False)
        out.print()
        return
    if p.unknown:
        why = (
            f"below the {p.min_confidence:.0%} the model trusts"
            if p.confidence < p.min_confidence
            else f"but unlike every director's usual look (familiarity {p.familiarity:.2f} < {p.min_familiarity:.2f})"
        )
        verdict = f"[bold yellow]unknown director[/] — best guess {shown(p.ranking[0].director)} at {p.confidence:.1%}, {why}"
    else:
        verdict = f"[bold green]{shown(p.ranking[0].director)}[/] ({p.confidence:.1%})"
    out.print(f"{head} → {verdict}", highlight=False)
    table = Table(show_header=True, box=None, padding=(0, 1))
    for column in ("#", "director", "probability", ""):
        table.add_column(column, justify="right" if column in ("#", "probability") else "left")
    for rank, r in enumerate(p.ranking[:top_k], start=1):
        table.add_row(
            str(rank), shown(r.director), f"{r.probability:.1%}", "█" * max(1, round(r.probability * 30))
        )
    out.print(table)
    if p.claim:
        nearest = (
            f" (nearest training frame: {p.film.film} by {p.film.director}, similarity {p.film.similarity:.2f})"
            if p.film is not None
            else ""
        )
        out.print(f"  film: {shown(p.claim)}{shown(nearest)}", highlight=False)
    for e in p.evidence:
        part = f" · {e.part}" if e.part else ""
        out.print(
            f"  evidence: {e.similarity:.2f}  {shown(e.director)} · {shown(e.film)}{shown(part)}{_timecode(e.timestamp)}",
            highlight=False,
        )
    if p.style is not None:
        out.print(f"  style: {shown(p.style.summary)}", highlight=False)
    if p.shot is not None:
        out.print(f"  shot: {shown(p.shot)}", highlight=False)
    for match in p.face_matches:
        out.print(f"  face: {shown(match.summary)} (distance {match.distance:.2f})", highlight=False)
    if per_frame:
        for frame in p.frames:
            top = frame.ranking[0]
            out.print(
                f"    {shown(Path(frame.source).name)}: {shown(frame.verdict)} ({top.probability:.1%})",
                highlight=False,
            )
    out.print()
