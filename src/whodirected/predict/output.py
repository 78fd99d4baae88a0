"""The report of a prediction run — the JSON of ``predict --json``, ``--save`` and the web API
— and its CSV form (one row per frame)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whodirected import _atomic as atomic
from whodirected.extract.sources import spreadsheet_safe
from whodirected.models.model import Model
from whodirected.models.prediction import Prediction


@dataclass
class PredictionReport:
    """What one run predicted, for which model, and what could not be read."""

    model: dict[str, Any]  # path, backbone, directors
    predictions: list[Prediction]
    errors: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        model: Model,
        predictions: list[Prediction],
        errors: list[str] | None = None,
        with_path: bool = True,
    ) -> PredictionReport:
        """The report of ``predictions`` by ``model`` (``with_path``: name the model's folder)."""
        info = {"backbone": model.backbone, "directors": model.classes}
        if with_path:
            info = {"path": str(model.path) if model.path else None, **info}
        return cls(info, predictions, list(errors or []))

    def to_dict(self, top_k: int | None = None) -> dict[str, Any]:
        return {
            "model": self.model,
            "predictions": [p.to_dict(top_k) for p in self.predictions],
            "errors": self.errors,
        }


CSV_COLUMNS = ("source", "frame", "verdict", "confidence", "unknown", "film", "film_known", "film_similarity")


def save_results(report: PredictionReport, path: Path, top_k: int | None = None) -> Path:
    """Write ``report`` as JSON, or as CSV (one row per frame), atomically."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        atomic.write_text(path, json.dumps(report.to_dict(top_k), indent=2, ensure_ascii=False))
        return path
    if suffix != ".csv":
        raise ValueError(f"{path}: results are saved as .json or .csv")
    top_k = max((len(p.ranking[:top_k]) for p in report.predictions), default=0)
    rank_columns = [f"{kind}{i}" for i in range(1, top_k + 1) for kind in ("director", "probability")]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *rank_columns])
    cells = []
    for prediction in report.predictions:
        for frame in [prediction, *prediction.frames]:
            film = frame.film
            cells.append(
                [
                    prediction.source,
                    "" if frame is prediction else frame.source,
                    frame.verdict,
                    f"{frame.confidence:.6f}",
                    int(frame.unknown),
                    film.film if film else "",
                    int(film.known) if film else "",
                    f"{film.similarity:.4f}" if film else "",
                    *[v for r in frame.ranking[:top_k] for v in (r.director, f"{r.probability:.6f}")],
                ]
            )
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in cells)
    atomic.write_text(path, out.getvalue())
    return path


def save_overlays(report: PredictionReport, folder: str | Path) -> int:
    """Each explained picture's heat-map overlay as ``folder/<picture>.heat.png`` (a clip's
    frames as ``<clip>@<seconds>s.heat.png``); how many were written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for prediction in report.predictions:
        for frame in [prediction, *prediction.frames]:
            if frame.overlay is None:
                continue
            name = "".join(c if c.isalnum() or c in "._-@" else "_" for c in Path(frame.source).name)
            out = io.BytesIO()
            frame.overlay.save(out, format="PNG")
            atomic.write_bytes(folder / f"{name}.heat.png", out.getvalue())
            written += 1
    return written
