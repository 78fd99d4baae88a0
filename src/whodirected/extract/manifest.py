"""The manifest: one row per extracted frame, the dataset's single source of truth.

Each film's rows are first saved as a small JSON record under ``DST/.whodirected/films/``
(written atomically, so a record exists only for a finished film); ``DST/manifest.csv`` is
then rebuilt from the records. A rerun reads the records to skip finished films.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from whodirected import _atomic as atomic

if TYPE_CHECKING:
    import pandas as pd

MANIFEST_NAME = "manifest.csv"
STATE_DIR = ".whodirected"
COLUMNS = [
    "director",
    "film",
    "label_source",  # where the director came from: folder, csv, nfo, tags, map:<file>, imdb
    "frame_path",  # relative to the manifest's folder
    "timestamp",  # requested time in seconds
    "frame_time",  # presentation time of the decoded frame, in seconds
    "shot",  # shot index in "shots" mode, else -1
    "width",
    "height",
    "source",  # the video file
    "source_hash",
    "settings_hash",
    "settings",  # the extraction settings as JSON
]


@dataclass
class FilmRecord:
    """What extracting one video file produced."""

    key: str  # source hash + settings hash: a record with the same key is up to date
    director: str
    film: str
    source: str
    rows: list[dict] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # frames dropped, by filter
    candidates: int = 0  # timestamps sampled before filtering
    sizes: dict[str, int] = field(default_factory=dict)  # frame path (relative) -> bytes, checked on resume

    def intact(self, dst: str | Path) -> bool:
        """Whether every frame of this record is still on disk at its recorded size (a record
        from before sizes were kept: at least present)."""
        for row in self.rows:
            path = Path(dst) / row["frame_path"]
            try:
                size = path.stat().st_size
            except OSError:
                return False
            if size == 0 or self.sizes.get(row["frame_path"], size) != size:
                return False
        return True


def record_path(dst: str | Path, source: str | Path) -> Path:
    """Where the record of ``source`` lives inside output folder ``dst``."""
    name = hashlib.blake2b(str(source).encode(), digest_size=10).hexdigest()
    return Path(dst) / STATE_DIR / "films" / f"{name}.json"


def save_record(dst: str | Path, record: FilmRecord) -> None:
    atomic.write_text(record_path(dst, record.source), json.dumps(asdict(record), ensure_ascii=False))


def load_record(dst: str | Path, source: str | Path) -> FilmRecord | None:
    """The saved record of ``source``, or ``None`` when missing or unreadable."""
    try:
        return FilmRecord(**json.loads(record_path(dst, source).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def write_manifest(dst: str | Path, records: list[FilmRecord]) -> Path:
    """Atomically (re)write ``DST/manifest.csv`` from film records, sorted for stable diffs."""
    import pandas as pd  # imported here: extraction workers never need it

    rows = [row for record in records for row in record.rows]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame = frame.sort_values(["director", "film", "source", "timestamp"], kind="stable")
    path = Path(dst) / MANIFEST_NAME
    atomic.write_text(path, frame.to_csv(index=False))
    return path


def read_manifest(path: str | Path) -> pd.DataFrame:
    """Load a manifest (a ``manifest.csv`` or the folder holding it), frame paths made absolute."""
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    frame = pd.read_csv(path, dtype={"director": str, "film": str, "source": str})
    frame["frame_path"] = [str(path.parent / p) for p in frame["frame_path"]]
    return frame
