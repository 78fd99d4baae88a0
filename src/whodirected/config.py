"""Every default in one place: dataclasses overridable by a TOML file and by flags.

Precedence is ``defaults < TOML file < command-line flags``. A TOML file has one
table per pipeline step, named like the dataclasses below::

    [extract]
    mode = "every"
    every = 2.0
    max_side = 512
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SamplingMode = Literal["keyframes", "every", "per-film", "shots"]

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".gif")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")
HEADS = ("centroid", "logistic", "mlp", "sgd-linear")  # classifier heads (whodirected.models.heads)
SCALINGS = ("shrunk", "standard", "none")  # feature scalings before the head
PRECISIONS = ("fp32", "bf16", "fp16")  # network precisions (half ones on CUDA only)
RUNNERS = ("local", "ray")  # where extract and embed run: this machine, or a Ray cluster
MAX_PIXELS = 60_000_000  # images larger than this are refused before decoding


@dataclass(frozen=True)
class LibraryConfig:
    """How a library's films and their directors are found (``scan`` and ``extract``)."""

    directors: str | None = None  # a title,year,director CSV or a folder of IMDb TSV files: the last source
    extras: bool = False  # keep trailers, samples, featurettes and other extras as films

    def validate(self) -> LibraryConfig:
        if self.directors is not None and not Path(self.directors).exists():
            raise ValueError(f"directors: {self.directors}: no such file or folder")
        return self


@dataclass(frozen=True)
class ExtractConfig:
    """How frames are chosen from films and written to disk."""

    mode: SamplingMode = "keyframes"
    min_gap: float = 0.25  # "keyframes" mode: seconds from one kept keyframe to the next, at least
    max_gap: float = 15.0  # "keyframes" mode: seconds without a keyframe beyond which frames are added
    every: float = 1.0  # seconds between frames in "every" mode
    min_frames: int = 10  # "keyframes" and "every" modes: a file giving fewer gets this many more, spread
    per_film: int = 50  # frames spread over a film in "per-film" mode
    frames_per_shot: int = 1  # frames inside each shot in "shots" mode
    shot_threshold: float = 27.0  # PySceneDetect ContentDetector threshold
    min_shot_seconds: float = 0.5  # shorter shots are merged by the detector
    skip_edges: float = 0.0  # fraction of the film skipped at each end (0 to <0.5)
    drop_black: bool = True
    black_max_std: float = 6.0  # luma std (0-255) below which a frame is near-uniform
    black_max_mean: float = 18.0  # mean luma (0-255) below which a frame counts as black
    drop_credits: bool = True
    credits_min_dark: float = 0.80  # fraction of near-black pixels on a credits card
    credits_max_saturation: float = 0.20  # mean saturation of the non-dark (text) pixels
    drop_duplicates: bool = True
    duplicate_distance: int = 4  # max Hamming distance of 64-bit perceptual hashes (distinct shots: 10+)
    max_side: int = 768  # longest side of saved frames, in pixels (0 keeps full size)
    jpeg_quality: int = 90
    seek_gap: float = 3.0  # seconds: farther targets are reached by seeking, nearer by decoding

    def settings_hash(self) -> str:
        """A short hash of every setting that changes the output frames."""
        return hashlib.blake2b(
            json.dumps(dataclasses.asdict(self), sort_keys=True).encode(), digest_size=8
        ).hexdigest()

    def validate(self) -> ExtractConfig:
        """Raise ``ValueError`` with a readable message for impossible settings."""
        if self.mode not in ("keyframes", "every", "per-film", "shots"):
            raise ValueError(f"mode: unknown sampling mode {self.mode!r}")
        if self.every <= 0:
            raise ValueError("every: must be a positive number of seconds")
        if self.min_gap < 0 or self.max_gap <= 0:
            raise ValueError("min_gap, max_gap: must be seconds, max_gap above 0")
        if self.per_film < 1 or self.frames_per_shot < 1 or self.min_frames < 0:
            raise ValueError("per_film, frames_per_shot: frame counts must be at least 1")
        if not 0 <= self.skip_edges < 0.5:
            raise ValueError("skip_edges: must be a fraction in [0, 0.5)")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError("jpeg_quality: must be between 1 and 100")
        if self.max_side < 0:
            raise ValueError("max_side: must be 0 (full size) or a positive pixel count")
        return self


@dataclass(frozen=True)
class EmbedConfig:
    """How frames become features."""

    backbone: str = "efficientnet-lite2+grade+style"  # benchmarks/real.py: best on films never seen
    batch_size: int = (
        0  # frames read and embedded together; 0: 32 on a CPU (its network takes 4 a pass), 256 on CUDA
    )
    device: str | None = None  # None: "cuda" when available, else "cpu"
    precision: str = (
        "fp32"  # fp32, or bf16 / fp16 on CUDA (features within about 5e-2 of the largest fp32 one)
    )
    workers: int = 0  # threads reading and preprocessing images; 0: one per CPU
    max_pixels: int = MAX_PIXELS  # images larger than this are refused unread
    ray_actors: int = 0  # with --runner ray: backbone copies working at once (0: one per cluster CPU)

    def validate(self) -> EmbedConfig:
        """Raise ``ValueError`` with a readable message for impossible settings."""
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: unknown {self.precision!r}; choose from {', '.join(PRECISIONS)}")
        if self.batch_size < 0 or self.workers < 0 or self.ray_actors < 0:
            raise ValueError("batch_size, workers, ray_actors: must be 0 (automatic) or more")
        return self


@dataclass(frozen=True)
class TrainConfig:
    """How the classifier head is fitted and evaluated."""

    head: str = "centroid"  # centroid, logistic, mlp or sgd-linear (benchmarks/real.py: why centroid)
    scaling: str = "shrunk"  # feature scaling: shrunk (variance shrunk towards the median) or standard
    hubness: float = 0.5  # centroid: each director's score less this times its hub level (0.5: CSLS)
    hubness_k: int = 10  # centroid: a director's hub level is its mean similarity to this many nearest other directors' frames
    actors: float = 0.2  # centroid with a faces block: added to the similarity of each director whose training frames show the face
    learning_rate: float = 1e-4  # mlp and sgd-linear (the original project's Adam rate)
    epochs: int = 200  # sgd-linear (the original project's best epoch count)
    batch_size: int = 32  # sgd-linear
    hidden: int = 0  # sgd-linear: 128 adds the original code's dense layer; mlp: layer size (0: 256)
    folds: int = 5  # evaluate: cross-validation folds, grouped by held-out unit (film, else scene)
    test_split: float = 0.1  # evaluate: the random frame split of the original project (leakage gap)
    seed: int = 0
    calibrate: bool = True  # choose the "unknown director" thresholds from held-out frames and directors
    open_set_accept: float = 0.8  # share of held-out frames of known directors the thresholds keep accepted
    index_frames: int = 20_000  # most training frames kept as nearest-frame evidence in the model
    thumbnail_side: int = 160  # longest side of the evidence thumbnails stored in the model
    film_match_false_rate: float = 0.05  # share of unseen-film frames allowed to match a training film
    chance_permutations: int = (
        49  # libraries with directors shuffled between films, for the test against chance
    )

    def validate(self) -> TrainConfig:
        """Raise ``ValueError`` with a readable message for impossible settings."""
        if self.head not in HEADS:
            raise ValueError(f"head: unknown head {self.head!r}; choose from {', '.join(HEADS)}")
        if self.scaling not in SCALINGS:
            raise ValueError(f"scaling: unknown scaling {self.scaling!r}; choose from {', '.join(SCALINGS)}")
        if self.chance_permutations < 0:
            raise ValueError("chance_permutations: must be 0 (no test against chance) or more")
        if not 0.5 <= self.open_set_accept <= 1.0:
            raise ValueError(
                "open_set_accept: must be between 0.5 and 1: thresholds that refuse most known frames are useless"
            )
        if self.actors < 0:
            raise ValueError("actors: must be 0 (faces do not count) or more")
        return self


@dataclass(frozen=True)
class PredictConfig:
    """How a screenshot, folder or clip becomes a ranked list of directors."""

    top_k: int = 3  # directors shown
    evidence: int = 5  # nearest training frames shown
    min_confidence: float | None = None  # below it the verdict is "unknown director"; None: the model's own
    aggregate: str | None = None  # mean, log or none; None: mean for clips, none for folders
    clip_frames: int = 16  # frames sampled over a video clip
    batch_size: int = 16  # frames per forward pass
    trim_borders: bool = True  # cut to the picture: uniform borders, a web page or window around it
    min_side: int = 32  # pictures smaller than this on a side (after trimming) are "too small to judge"
    min_detail: float = 2.0  # brightness std (0-255) under which a picture is a "blank frame"
    max_pixels: int = MAX_PIXELS  # images larger than this are refused unread
    max_bytes: int = 50_000_000  # image files larger than this are refused unread
    explain: bool = False  # a heat map of where the top director's evidence lies, for every picture


@dataclass(frozen=True)
class ServeConfig:
    """The local web page and its API."""

    host: str = "127.0.0.1"  # localhost only; 0.0.0.0 shares the page with the network
    port: int = 8000
    max_upload_bytes: int = 20_000_000  # larger uploads get 413
    max_pixels: int = MAX_PIXELS  # larger pictures get 413, refused before decoding (as for `predict`)
    body_timeout: float = 10.0  # seconds an upload may stall before 408
    header_timeout: float = 10.0  # seconds a connection has to send a request's headers whole
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted beside this computer's own (sharing on a LAN)
    max_batch: int = 16  # requests that arrive together go through the model as one batch of at most this
    max_decodes: int = 2  # uploads decoded at once (a 60-megapixel one takes ~180 MB while decoding)
    docs: bool = False  # serve the API docs at /docs (from this machine, never a CDN)


@dataclass(frozen=True)
class Config:
    """All settings of all steps."""

    library: LibraryConfig = field(default_factory=LibraryConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    embed: EmbedConfig = field(default_factory=EmbedConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    predict: PredictConfig = field(default_factory=PredictConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)


T = TypeVar("T")


def override(obj: T, **values: Any) -> T:
    """Return a copy of dataclass ``obj`` with the non-``None`` values replaced."""
    known = {f.name for f in fields(obj)}  # type: ignore[arg-type]
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown setting(s) for {type(obj).__name__}: {', '.join(sorted(unknown))}")
    return dataclasses.replace(obj, **{k: v for k, v in values.items() if v is not None})  # type: ignore[type-var]


def load_config(path: str | Path | None = None) -> Config:
    """Defaults, updated by the TOML file at ``path`` when given."""
    config = Config()
    if path is None:
        return config
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config file {path} is not valid TOML: {exc}") from None
    sections = {f.name for f in fields(config)}
    for name, values in data.items():
        if name not in sections:
            raise ValueError(f"{path}: unknown section [{name}] (known: {', '.join(sorted(sections))})")
        config = dataclasses.replace(config, **{name: override(getattr(config, name), **values)})
    return config
