"""The evaluation report as files: ``report.json``, ``report.html`` and its figures, and the same
figures in words for the terminal."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np

from whodirected import _atomic as atomic
from whodirected.models.checks import beats_chance
from whodirected.models.index import thumbnail

MIN_BIN_FRAMES = 5  # reliability bins with fewer frames are greyed
LEAKAGE = (
    "The leakage gap is how much better the original project's random frame split scores than "
    "holding out whole films: frames of one film look alike, so a random split tests the model on "
    "films it has already seen."
)


def headline(report: dict) -> tuple[str, dict]:
    """The report's measured protocol and its metrics (film-grouped, or else scene-held-out)."""
    if report.get("film_grouped") is not None:
        return report["protocol"], report["film_grouped"]
    return report["protocol"], report["scene_held_out"]


def chance_lines(report: dict) -> list[str]:
    """The figures users ask about first, each against chance, in words: films never seen (or why
    not measurable), then the held-out check of the table."""
    lines = []
    never = report.get("films_never_seen")
    if never:
        lines.append(
            f"films never seen ({never['films']} films of {never['directors_tested']} directors held out, "
            f"{never['rotations']} rotations, {never['directors']} directors known): "
            f"frame top-1 {never['top1']['value']:.3f} (chance {never['chance']['top1']:.3f}), "
            f"{beats_chance(never['top1'])}; top-5 {never['top5']['value']:.3f} "
            f"(chance {never['chance']['top5']:.3f}); one verdict per film {never['film_verdict']['value']:.3f}, "
            f"{beats_chance(never['film_verdict'])}"
        )
    elif report.get("films_never_seen_note"):
        lines.append(report["films_never_seen_note"])
    test = report.get("chance_test")
    if test:
        protocol = report["protocol"].split(" (")[0]
        lines.append(
            f"{protocol} frame top-1 {test['top1']['value']:.3f} (directors shuffled between held-out units: "
            f"{test['top1']['shuffled_mean']:.3f}): {beats_chance(test['top1'])}"
            if test["top1"]["shuffled_mean"] is not None
            else f"{protocol} frame top-1 {test['top1']['value']:.3f}: {beats_chance(test['top1'])}"
        )
    return lines


def open_set_lines(report: dict) -> list[str]:
    """The open-set checks in words, or why they could not run."""
    checks = report.get("open_set")
    if not checks:
        return []
    lines = []
    held = checks.get("held_out")
    if held:
        lines.append(
            f"held-out frames of known directors ({held['protocol']}): top-1 {held['top1']:.2f}, "
            f"accepted {held['accepted']:.2f}, accepted and right {held['accepted_and_right']:.2f} "
            f"({held['frames']} frames)"
        )
    else:
        lines.append("held-out frames of known directors: not measurable (nothing can be held out)")
    unseen = checks.get("unseen_directors")
    if unseen:
        known = unseen["known_accepted"]
        lines.append(
            f"directors left out of training: {unseen['refused']:.2f} of their frames called unknown "
            f"({unseen['unseen_frames']} frames); held-out frames of the others accepted: "
            + (f"{known:.2f} ({unseen['known_frames']} frames)" if known is not None else "not measurable")
        )
    else:
        lines.append("directors left out of training: not measurable (needs three directors or more)")
    return lines


MAX_COUNTED_DIRECTORS = 30  # a confusion matrix of more directors shows colours, not counts


def _plots(report: dict, out: Path) -> list[str]:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    protocol, _ = headline(report)
    cm = np.asarray(report["confusion"])
    few = len(cm) <= MAX_COUNTED_DIRECTORS  # more: colours only, in smaller cells and type
    cell = 0.6 if few else max(0.12, 0.6 * MAX_COUNTED_DIRECTORS / len(cm))
    fig, ax = plt.subplots(figsize=(1.2 + cell * len(cm), 1 + cell * len(cm)))
    ax.imshow(cm, cmap="Blues")
    names_size = 10 if few else max(4, round(72 * cell * 0.8))
    ax.set_xticks(
        range(len(cm)), report["classes"], rotation=45 if few else 90, ha="right", fontsize=names_size
    )
    ax.set_yticks(range(len(cm)), report["classes"], fontsize=names_size)
    if few:
        for (i, j), v in np.ndenumerate(cm):  # light digits on dark cells, dark on light
            colour = "white" if cm.max() and v > cm.max() / 2 else "black"
            ax.text(j, i, str(v), ha="center", va="center", fontsize=10, color=colour)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"Confusion ({protocol.split(' (')[0]} folds)")
    names.append("confusion.png")
    fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    bins = report["calibration"]["bins"]
    if len(bins) >= 2:  # one bin is a dot, not a diagram
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot([0, 1], [0, 1], "--", color="grey")
        ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "-", color="#0a5cd6")
        for b in bins:  # each bin with its frame count; thin bins greyed, they prove little
            few = b["frames"] < MIN_BIN_FRAMES
            ax.plot(b["confidence"], b["accuracy"], "o", color="#bbbbbb" if few else "#0a5cd6")
            ax.annotate(
                str(b["frames"]),
                (b["confidence"], b["accuracy"]),
                textcoords="offset points",
                xytext=(5, -12),
                fontsize=8,
                color="#999999" if few else "#333333",
            )
        ax.set_xlabel(f"confidence (grey: bins of under {MIN_BIN_FRAMES} frames)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"Reliability (ECE {report['calibration']['ece']:.3f})")
        names.append("reliability.png")
        fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
        plt.close(fig)

    if len(report["learning_curve"]) >= 2:
        fig, ax = plt.subplots(figsize=(5, 3.5))
        curve = report["learning_curve"]
        ax.plot([p["frames_per_film"] for p in curve], [p["balanced_accuracy"] for p in curve], "o-")
        ax.axhline(report["chance"]["uniform"], ls="--", color="grey", label="chance")
        ax.set_xscale("log")
        steps = [p["frames_per_film"] for p in curve]
        ax.set_xticks(steps, [str(k) for k in steps])  # plain integers, not 3×10⁰
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel("training frames per film")
        ax.set_ylabel("balanced accuracy")
        ax.legend()
        names.append("learning_curve.png")
        fig.savefig(out / names[-1], dpi=110, bbox_inches="tight")
        plt.close(fig)
    return names


THUMB_SIDE = 200  # longest side of the frames shown in the report


def _gallery(report: dict, out: Path) -> tuple[str, str]:
    """The held-out films with a frame and their verdict, and the most confused pairs of
    directors with example frames, as HTML; the frames are copied small into ``out/frames``."""
    (out / "frames").mkdir(exist_ok=True)
    shown: dict[str, str] = {}

    def img(path: str, alt: str) -> str:
        if path not in shown:
            name = f"frames/{len(shown):04d}.jpg"
            try:
                atomic.write_bytes(out / name, thumbnail(path, THUMB_SIDE))
            except OSError:  # the frame was moved since: say so rather than fail the report
                return f"<span>({html.escape(Path(path).name)} not found)</span>"
            shown[path] = name
        return f'<img src="{shown[path]}" alt="{html.escape(alt)}" loading="lazy">'

    films = "".join(
        f'<figure class="{"right" if f["right"] else "wrong"}">{img(f["frame"], f["film"])}<figcaption>'
        f"<b>{html.escape(f['film'])}</b><br>{html.escape(f['director'])}<br>"
        + ("✔ named right" if f["right"] else f"✘ taken for {html.escape(f['predicted'])}")
        + "</figcaption></figure>"
        for f in report.get("held_out_films", [])
    )
    pairs = "".join(
        f"<div><p><b>{html.escape(p['director'])}</b> taken for <b>{html.escape(p['taken_for'])}</b>: "
        f"{p['frames']} held-out frames ({p['share']:.0%} of theirs)</p>"
        + "".join(img(e, p["director"]) for e in p["examples"])
        + "</div>"
        for p in report.get("confused_pairs", [])
    )
    return (
        f'<h2>Held-out films and their verdict</h2><div class="films">{films}</div>' if films else "",
        f"<h2>Most confused directors</h2>{pairs}" if pairs else "",
    )


def write_report(report: dict, out: str | Path) -> Path:
    """``report.json``, ``report.html`` and the plots as PNG in folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False))
    for old in ("confusion.png", "reliability.png", "learning_curve.png"):  # a rerun draws anew
        (out / old).unlink(missing_ok=True)
    for old in (out / "frames").glob("*.jpg"):
        old.unlink()
    images = _plots(report, out)
    protocol, held = headline(report)
    shuffled, gap = report.get("random_split"), report.get("leakage_gap")
    head_cells = f"<th>{html.escape(protocol)} (mean ± sd)</th>"
    if shuffled is not None:
        head_cells += "<th>random frame split</th><th>leakage gap</th>"
    rows = ""
    for n, g in held.items():
        rows += f"<tr><td>{n}</td><td>{g['mean']:.3f} ± {g['std']:.3f}</td>"
        if shuffled is not None:
            rows += f"<td>{shuffled[n]['mean']:.3f}</td><td>{'not measurable' if gap is None else f'{gap[n]:+.3f}'}</td>"
        rows += "</tr>"
    directors = "".join(
        f"<tr><td>{html.escape(d['director'])}</td><td>{d['precision']:.2f}</td><td>{d['recall']:.2f}</td>"
        f"<td>{d['f1']:.2f}</td><td>{d['frames']}</td><td>{d['films']}</td></tr>"
        for d in report["per_director"]
    )
    warnings_html = "".join(f'<p class="warn">⚠ {html.escape(w)}</p>' for w in report.get("warnings", []))
    open_set = "".join(f"<li>{html.escape(line)}</li>" for line in open_set_lines(report))
    chance = "".join(f"<li>{html.escape(line)}</li>" for line in chance_lines(report))
    films, pairs = _gallery(report, out)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>whodirected evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem}}
td,th{{padding:.3rem .8rem;border-bottom:1px solid #ddd;text-align:left}}img{{max-width:100%}}
.warn{{background:#fff4d6;border:1px solid #e0b000;border-radius:6px;padding:.6rem .8rem}}
.films{{display:flex;flex-wrap:wrap;gap:.6rem}}figure{{margin:0;width:200px;font-size:.85rem}}
figure.right{{border-top:4px solid #2a8a2a}}figure.wrong{{border-top:4px solid #c03030}}
div>img{{max-height:120px;margin-right:.3rem}}</style></head><body>
<h1>Evaluation</h1>{warnings_html}<p>{report["frames"]} frames, {report["films"]} films, {len(report["classes"])} directors,
{report["folds"]} folds ({html.escape(protocol)}), head <b>{html.escape(report["head"])}</b>. Chance: majority class
{report["chance"]["majority"]:.3f}, uniform {report["chance"]["uniform"]:.3f}.</p>
<h2>Against chance</h2><ul>{chance}</ul>
<table><tr><th>metric</th>{head_cells}</tr>{rows}</table>
{f"<p><small>{LEAKAGE}</small></p>" if shuffled is not None else ""}
{f"<h2>Unknown directors</h2><ul>{open_set}</ul>" if open_set else ""}
{films}{pairs}
<h2>Per director</h2><table><tr><th>director</th><th>precision</th><th>recall</th><th>F1</th><th>frames</th><th>films</th></tr>{directors}</table>
{"".join(f'<img src="{name}" alt="{name}">' for name in images)}
</body></html>"""
    atomic.write_text(out / "report.html", page)
    return out
