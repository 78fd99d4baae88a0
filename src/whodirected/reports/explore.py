"""The explore report: one self-contained HTML file showing what a dataset looks like."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from whodirected import _atomic as atomic
from whodirected.config import EmbedConfig
from whodirected.features import faces, style
from whodirected.features.backbones import REGISTRY
from whodirected.features.dataset import Dataset
from whodirected.features.embed import Features, embed
from whodirected.features.images import ImageError, open_image

IMBALANCE_RATIO = 2.0  # a director with fewer than 1/2 of the median frames is flagged
FEW_FILMS = 3  # fewer films than this makes a director's signature hard to tell from a film's
DOMINANT_FILM_SHARE = 0.5  # one film giving more than half of a director's frames is flagged
SHEET_FRAMES = 8
PLOTTED = (
    "brightness",
    "contrast",
    "colourfulness",
    "saturation",
    "warmth",
    "active_aspect",
    "symmetry",
    "grain",
)


@dataclass
class DirectorStats:
    director: str
    frames: int
    films: int
    top_film_share: float


def director_stats(dataset: Dataset) -> list[DirectorStats]:
    rows = []
    for director, group in dataset.frames.groupby("director", sort=True):
        counts = group.film.value_counts()
        rows.append(DirectorStats(str(director), len(group), len(counts), float(counts.iloc[0] / len(group))))
    return rows


def imbalance_warnings(dataset: Dataset) -> list[str]:
    """Warnings about directors with few frames, few films, or frames from one film mostly."""
    stats = director_stats(dataset)
    median = float(np.median([s.frames for s in stats]))
    warnings = list(dataset.warnings)
    if len(stats) < 2:
        warnings.append("only one director: a classifier needs at least two")
    for s in stats:
        if s.frames * IMBALANCE_RATIO < median:
            warnings.append(
                f"{s.director}: {s.frames} frames, under half the median ({median:g}); consider more"
            )
        if dataset.grouped and s.films < FEW_FILMS:
            warnings.append(
                f"{s.director}: only {s.films} film(s); the model may learn the film rather than the director"
            )
        if dataset.grouped and s.films > 1 and s.top_film_share > DOMINANT_FILM_SHARE:
            warnings.append(f"{s.director}: one film gives {s.top_film_share:.0%} of the frames")
    return warnings


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _thumb(path: str, height: int = 96) -> str | None:
    try:
        image = open_image(path)
    except (ImageError, OSError):
        return None
    image.thumbnail((height * 3, height))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def _style_figure(frames: pd.DataFrame, descriptors: pd.DataFrame) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directors = sorted(frames.director.unique())
    fig, axes = plt.subplots(2, 4, figsize=(14, 6))
    for ax, name in zip(axes.ravel(), PLOTTED, strict=False):
        data = [descriptors.loc[frames.director == d, name].to_numpy() for d in directors]
        ax.boxplot(data, tick_labels=[d[:14] for d in directors], vert=False)
        unit = next(d.unit for d in style.DESCRIPTORS if d.name == name)
        ax.set_title(f"{name} ({unit})", fontsize=12)
        ax.tick_params(labelsize=10)
    fig.suptitle("Style descriptors per director")
    fig.tight_layout()
    return _png(fig)


def _scale_figure(frames: pd.DataFrame, block: np.ndarray) -> str:
    """Each director's shares of close-up, medium, long and no-face frames, as stacked bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directors = sorted(frames.director.unique())
    shares = np.array([faces.scale_shares(block[(frames.director == d).to_numpy()]) for d in directors])
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(directors) + 1.4))
    left = np.zeros(len(directors))
    colours = ("#1b4f72", "#2e86c1", "#85c1e9", "#d5d8dc")
    for i, (scale, colour) in enumerate(zip(faces.SCALES, colours, strict=True)):
        ax.barh(directors, shares[:, i], left=left, color=colour, label=scale)
        left += shares[:, i]
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the director's frames (scale from the largest face's height)", fontsize=11)
    ax.tick_params(labelsize=11)
    ax.legend(ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=10, frameon=False)
    fig.tight_layout()
    return _png(fig)


def _map_figure(frames: pd.DataFrame, matrix: np.ndarray, title: str, by: str) -> str:
    """The frames' first two principal components, coloured by ``by`` (director or film), with
    the share of the variance each axis explains."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    pca = PCA(n_components=2, random_state=0)
    points = pca.fit_transform(StandardScaler().fit_transform(matrix))
    labels = frames[by].astype(str) if by == "director" else frames.director + " · " + frames.film.astype(str)
    fig, ax = plt.subplots(figsize=(8, 6))
    for i, label in enumerate(sorted(labels.unique())):
        mask = (labels == label).to_numpy()
        ax.scatter(
            points[mask, 0], points[mask, 1], s=16, alpha=0.75, label=label, color=plt.cm.tab20(i % 20)
        )
    ax.legend(fontsize=10, loc="best", title=by)
    ax.set_title(title, fontsize=13)
    first, second = pca.explained_variance_ratio_
    ax.set_xlabel(f"principal component 1 ({first:.0%} of the variance)", fontsize=11)
    ax.set_ylabel(f"principal component 2 ({second:.0%} of the variance)", fontsize=11)
    ax.tick_params(labelsize=9)
    ax.axhline(0, color="#ddd", lw=0.8, zorder=0)
    ax.axvline(0, color="#ddd", lw=0.8, zorder=0)
    return _png(fig)


def _palette(paths: list[str]) -> list[tuple[tuple[int, int, int], float]]:
    images = []
    for path in paths:
        try:
            image = open_image(path)
        except (ImageError, OSError):
            continue
        image.thumbnail((64, 64))
        images.append(np.asarray(style.trim_bars(image).resize((48, 27))))
    if not images:
        return []
    return style.dominant_colours(Image.fromarray(np.concatenate(images, axis=0)), k=6)


CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} table{border-collapse:collapse} td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd}
.warn{background:#fff4e0;border-left:4px solid #f0a000;padding:.4rem .8rem;margin:.3rem 0}
.sheet img{height:96px;margin:2px;border-radius:3px} .swatch{display:inline-block;height:28px;border-radius:3px}
section{margin:2rem 0} img.plot{max-width:100%}
"""


def write_report(
    dataset: Dataset,
    out: str | Path,
    style_features: Features,
    map_features: Features,
    backbone: str,
    seed: int = 0,
    face_features: Features | None = None,
) -> Path:
    """Write the explore report (HTML, images embedded) for ``dataset``; return its path. With
    ``face_features`` (the ``faces`` block), each director's shot scales too."""
    frames = dataset.frames[style_features.ok].reset_index(drop=True)
    descriptors = pd.DataFrame(style_features.matrix, columns=list(style.NAMES))
    stats = director_stats(dataset)
    warnings = imbalance_warnings(dataset)
    parts = [
        f"<h1>whodirected · dataset report</h1><p>{html.escape(str(dataset.root))}: "
        f"{len(dataset)} frames, {dataset.frames.film.nunique()} films, {len(stats)} directors</p>"
    ]
    parts.append("<section><h2>Warnings</h2>")
    parts += [f'<div class="warn">{html.escape(w)}</div>' for w in warnings] or ["<p>None.</p>"]
    parts.append("</section><section><h2>Frames and films per director</h2><table>")
    parts.append("<tr><th>director</th><th>frames</th><th>films</th><th>largest film's share</th></tr>")
    for s in stats:
        parts.append(
            f"<tr><td>{html.escape(s.director)}</td><td>{s.frames}</td><td>{s.films}</td>"
            f"<td>{s.top_film_share:.0%}</td></tr>"
        )
    parts.append("</table></section>")
    parts.append(
        f'<section><h2>Style</h2><img class="plot" alt="style descriptors" src="{_style_figure(frames, descriptors)}">'
    )
    parts.append("</section>")
    scales: dict[str, str] = {}
    if face_features is not None:
        face_frames = dataset.frames[face_features.ok].reset_index(drop=True)
        parts.append(
            '<section><h2>Shot scale</h2><img class="plot" alt="shot scales per director" '
            f'src="{_scale_figure(face_frames, face_features.matrix)}"><p>{html.escape(faces.SCALE_NOTE)}</p></section>'
        )
        for director, group in face_frames.groupby("director"):
            shares = faces.scale_shares(face_features.matrix[group.index])
            scales[str(director)] = ", ".join(
                f"{n} {v:.0%}" for n, v in zip(faces.SCALES, shares, strict=True)
            )
    map_frames = dataset.frames[map_features.ok].reset_index(drop=True)
    maps = "".join(
        f'<img class="plot" alt="map of the frames by {by}" '
        f'src="{_map_figure(map_frames, map_features.matrix, f"PCA of {backbone} features, by {by}", by)}">'
        for by in ("director", "film")
    )
    parts.append(f"<section><h2>Map of the frames</h2>{maps}</section>")
    rng = np.random.default_rng(seed)
    for director, group in frames.groupby("director", sort=True):
        sample = group.iloc[rng.permutation(len(group))[:SHEET_FRAMES]]
        parts.append(f'<section class="director"><h2>{html.escape(str(director))}</h2>')
        swatches = "".join(
            f'<span class="swatch" title="{share:.0%}" style="width:{max(4, share * 400):.0f}px;'
            f'background:rgb{colour}"></span>'
            for colour, share in _palette(group.path.tolist()[:40])
        )
        parts.append(f"<p>Palette: {swatches}</p>")
        means = descriptors.loc[group.index]
        parts.append(
            f"<p>brightness {means.brightness.mean():.0f} L*, contrast {means.contrast.mean():.0f}, "
            f"aspect {means.active_aspect.median():.2f}:1, symmetry {means.symmetry.mean():.2f}</p>"
        )
        if str(director) in scales:
            parts.append(f"<p>Shot scale: {html.escape(scales[str(director)])}</p>")
        thumbs = [t for t in (_thumb(p) for p in sample.path) if t]
        parts.append(
            '<div class="sheet">' + "".join(f'<img alt="frame" src="{t}">' for t in thumbs) + "</div>"
        )
        parts.append("</section>")
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>whodirected report</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head>'
        f"<body>{''.join(parts)}</body></html>"
    )
    out = Path(out)
    atomic.write_text(out, page)
    return out


def explore(
    dataset: Dataset,
    out: str | Path,
    config: EmbedConfig,
    store: str | Path | None = None,
    on_progress=None,
    shot_scales: bool | None = None,
) -> tuple[Path, list[str]]:
    """Embed what is missing (the style block, ``config.backbone`` for the map, and with
    ``shot_scales`` the faces block; ``None``: when it is installed), write the report; return
    its path and the imbalance warnings."""
    style_features = embed(dataset, config, store, on_progress, backbone="style")
    map_features = embed(dataset, config, store, on_progress)
    wanted = REGISTRY["faces"].available() if shot_scales is None else shot_scales
    face_features = embed(dataset, config, store, on_progress, backbone="faces") if wanted else None
    path = write_report(
        dataset, out, style_features, map_features, config.backbone, face_features=face_features
    )
    return path, imbalance_warnings(dataset)
