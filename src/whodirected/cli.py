"""The ``whodirected`` command: a thin layer over the library, one function per command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .config import HEADS, TrainConfig

app = typer.Typer(
    help="Recognise a film's director from a screenshot.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML file of settings (flags override it).")
]
RunnerOption = Annotated[
    str,
    typer.Option(
        "--runner", help="local (this machine) or ray (a Ray cluster; pip install 'whodirected[ray]')."
    ),
]
AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        help="With --runner ray: auto (a running `ray start` cluster) or ray://host:port; "
        "default: start a local Ray.",
    ),
]


def _err(message: str) -> None:
    """Print one readable error line to stderr."""
    from rich.console import Console

    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def _fail(message: str, code: int = 1) -> typer.Exit:
    _err(message)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"whodirected {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Recognise a film's director from a screenshot."""


@app.command("demo-library")
def demo_library(
    dest: Annotated[Path, typer.Argument(help="Folder to write <Director>/<Film>.mp4 into.")],
    directors: Annotated[int, typer.Option(min=1, help="Number of directors.")] = 3,
    films: Annotated[int, typer.Option(min=1, help="Films per director.")] = 3,
    seconds: Annotated[float, typer.Option(help="Length of each film in seconds.")] = 12.0,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same films.")] = 0,
) -> None:
    """Generate a demo film library of directors with distinct, learnable styles."""
    from .demo import make_library

    try:
        paths = make_library(dest, directors, films, seconds, seed)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    typer.echo(f"{len(paths)} films by {directors} directors in {dest}")


@app.command()
def extract(
    src: Annotated[
        Path,
        typer.Argument(
            help="Library folder <Director>/<film> or <Director>/<Film>/<part>, or a CSV path,director[,film]."
        ),
    ],
    dst: Annotated[Path, typer.Argument(help="Output folder for frames and manifest.csv.")],
    every: Annotated[float | None, typer.Option(help="Uniform sampling: one frame every SECONDS.")] = None,
    per_film: Annotated[int | None, typer.Option(help="N frames spread evenly over each film.")] = None,
    shots: Annotated[
        bool, typer.Option("--shots", help="Frames per shot, shots found by PySceneDetect.")
    ] = False,
    frames_per_shot: Annotated[int | None, typer.Option(help="Frames inside each shot with --shots.")] = None,
    skip_edges: Annotated[float | None, typer.Option(help="Fraction skipped at each end of a film.")] = None,
    black: Annotated[
        bool | None, typer.Option("--black/--keep-black", help="Drop black and near-uniform frames.")
    ] = None,
    credits: Annotated[
        bool | None, typer.Option("--credits/--keep-credits", help="Drop credits (text on black).")
    ] = None,
    dedupe: Annotated[
        bool | None,
        typer.Option("--dedupe/--keep-duplicates", help="Drop near-duplicate frames within a film."),
    ] = None,
    duplicate_distance: Annotated[
        int | None, typer.Option(help="Perceptual-hash distance (bits) counted as duplicate.")
    ] = None,
    max_side: Annotated[
        int | None, typer.Option(help="Downscale frames to this longest side (0: full size).")
    ] = None,
    quality: Annotated[int | None, typer.Option(help="JPEG quality, 1-100.")] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Parallel films (default: CPU count).")
    ] = None,
    runner: RunnerOption = "local",
    address: AddressOption = None,
    config: ConfigOption = None,
) -> None:
    """Save well-chosen frames of every film, with a manifest; reruns skip finished films."""
    from .extract import extract_library
    from .sources import LibraryError

    if sum([every is not None, per_film is not None, shots]) > 1:
        raise _fail("choose one sampling mode: --every, --per-film or --shots", 2)
    mode = (
        "every" if every is not None else "per-film" if per_film is not None else "shots" if shots else None
    )
    settings = _settings(
        config,
        "extract",
        mode=mode,
        every=every,
        per_film=per_film,
        frames_per_shot=frames_per_shot,
        skip_edges=skip_edges,
        drop_black=black,
        drop_credits=credits,
        drop_duplicates=dedupe,
        duplicate_distance=duplicate_distance,
        max_side=max_side,
        jpeg_quality=quality,
    )

    from .console import FilmProgress

    try:
        with FilmProgress() as progress:
            summary = extract_library(
                src,
                dst,
                settings,
                jobs=jobs,
                on_start=progress.start,
                on_result=progress.advance,
                runner=runner,
                address=address,
            )
    except (LibraryError, RuntimeError) as exc:
        raise _fail(str(exc), 2) from None
    from .console import print_extract_summary

    print_extract_summary(summary)
    if not summary.ok:
        raise typer.Exit(1)


def _settings(config: Path | None, section: str, **flags):
    """The ``[section]`` settings: defaults, then the TOML file, then the flags; exit 2 if invalid."""
    from .config import load_config, override

    try:
        settings = override(getattr(load_config(config), section), **flags)
        return settings.validate() if hasattr(settings, "validate") else settings
    except ValueError as exc:
        raise _fail(str(exc), 2) from None


def _dataset(path: Path):
    from .dataset import DatasetError, load_dataset

    try:
        dataset = load_dataset(path)
    except DatasetError as exc:
        raise _fail(str(exc), 2) from None
    from .console import console

    for warning in dataset.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return dataset


def _features(dataset, settings, store: Path | None, runner: str = "local", address: str | None = None):
    """Embed through the cache with a progress bar; exit 2 for a backbone that cannot run."""
    from .backbones import BackboneError
    from .console import EmbedProgress
    from .embed import embed_dataset

    store = store or dataset.root / ".whodirected" / "features"
    try:
        with EmbedProgress() as progress:
            return embed_dataset(
                dataset,
                settings.backbone,
                store,
                settings.batch_size,
                settings.device,
                settings.max_pixels,
                on_progress=progress.update,
                runner=runner,
                address=address,
                ray_actors=settings.ray_actors,
            )
    except (BackboneError, RuntimeError, ValueError) as exc:
        raise _fail(str(exc), 2) from None


BackboneOption = Annotated[
    str | None,
    typer.Option("--backbone", "-b", help="Backbone name; combine with +, see `whodirected backbones`."),
]


@app.command()
def backbones() -> None:
    """List the feature backbones: size, input, where the weights come from, licence."""
    from rich.table import Table

    from .backbones import list_backbones
    from .config import EmbedConfig
    from .console import console

    table = Table(title=f"Backbones (default: {EmbedConfig().backbone})", title_justify="left")
    for column in ("name", "features", "input", "here", "weights", "licence"):
        table.add_column(column, no_wrap=column == "name")
    for spec in list_backbones():
        here = (
            "yes"
            if spec.available() and spec.bundled
            else "download"
            if spec.available()
            else "not installed"
        )
        table.add_row(spec.name, str(spec.dim), f"{spec.input_size}px", here, spec.weights, spec.licence)
    console.print(table)


@app.command()
def embed(
    dataset: Annotated[
        Path, typer.Argument(help="A manifest.csv (or its folder), or <Director>/<Film>/*.jpg folders.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Feature store folder (default: DATASET/.whodirected/features)."),
    ] = None,
    backbone: BackboneOption = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Frames per forward pass.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda when available).")] = None,
    runner: RunnerOption = "local",
    address: AddressOption = None,
    actors: Annotated[
        int | None,
        typer.Option(min=1, help="With --runner ray: backbone copies at once (default: one per CPU)."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Turn frames into features, cached: a rerun computes nothing, new frames only themselves."""
    settings = _settings(
        config, "embed", backbone=backbone, batch_size=batch_size, device=device, ray_actors=actors
    )
    data = _dataset(dataset)
    features = _features(data, settings, output, runner, address)
    from .console import print_embed_summary

    print_embed_summary(features.summary, features.matrix.shape[1])
    if features.summary.skipped:
        raise typer.Exit(1)


@app.command()
def explore(
    dataset: Annotated[
        Path, typer.Argument(help="A manifest.csv (or its folder), or <Director>/<Film>/*.jpg folders.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML report to write.")] = Path(
        "report.html"
    ),
    backbone: BackboneOption = None,
    features: Annotated[
        Path | None, typer.Option(help="Feature store folder (default: DATASET/.whodirected/features).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Write a one-file HTML report: counts, imbalance warnings, contact sheets, style, a map."""
    from dataclasses import replace

    from .console import console
    from .explore import imbalance_warnings, write_report

    settings = _settings(config, "embed", backbone=backbone)
    data = _dataset(dataset)
    style_features = _features(data, replace(settings, backbone="style"), features)
    map_features = _features(data, settings, features)
    path = write_report(data, output, style_features, map_features, settings.backbone)
    for warning in imbalance_warnings(data)[len(data.warnings) :]:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(f"report → {path}", highlight=False)


def _labelled(dataset: Path, embed_settings, store: Path | None, warn: bool = True):
    from .train import TrainError, dataset_warnings, labelled

    data = _dataset(dataset)
    try:
        result = labelled(data, _features(data, embed_settings, store))
    except TrainError as exc:
        raise _fail(str(exc), 2) from None
    from .console import console

    for warning in dataset_warnings(result) if warn else []:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return data, result


HeadOption = Annotated[
    str | None,
    typer.Option(
        "--head", help=f"{', '.join(HEADS)} (default {TrainConfig.head}: nearest director mean; see README)."
    ),
]
EpochsOption = Annotated[int | None, typer.Option(help="sgd-linear: training epochs.")]
LearningRateOption = Annotated[float | None, typer.Option("--lr", help="mlp/sgd-linear: learning rate.")]
HiddenOption = Annotated[
    int | None, typer.Option(help="sgd-linear: add a dense layer of this size (e.g. 128).")
]


@app.command()
def train(
    dataset: Annotated[
        Path, typer.Argument(help="A manifest.csv (or its folder), or <Director>/<Film>/*.jpg folders.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")] = Path("model"),
    backbone: BackboneOption = None,
    head: HeadOption = None,
    epochs: EpochsOption = None,
    lr: LearningRateOption = None,
    hidden: HiddenOption = None,
    batch_size: Annotated[int | None, typer.Option(help="sgd-linear: mini-batch size.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Save the training figure (PNG) here.")] = None,
    features: Annotated[
        Path | None, typer.Option(help="Feature store folder (default: DATASET/.whodirected/features).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Fit a classifier head on cached features and save the model (no pickle)."""
    from .console import console

    embed_settings = _settings(config, "embed", backbone=backbone)
    settings = _settings(
        config,
        "train",
        head=head,
        epochs=epochs,
        learning_rate=lr,
        hidden=hidden,
        batch_size=batch_size,
        seed=seed,
    )
    from dataclasses import replace

    from .backbones import parts
    from .train import build_model

    data, labelled_data = _labelled(dataset, embed_settings, features)
    style = None
    if "style" not in parts(embed_settings.backbone):  # the style read-out needs every frame's style
        style = _features(data, replace(embed_settings, backbone="style"), features)
    with console.status("fitting the head, calibrating the unknown-director threshold, indexing evidence"):
        model = build_model(data, labelled_data, embed_settings, settings, style)
    try:
        path = model.save(output)
    except OSError as exc:
        raise _fail(f"{output}: cannot write the model ({exc.strerror or exc})", 1) from None
    if plot:
        from .plots import training_figure

        training_figure(model.head.history, plot, settings.head)
    console.print(
        f"model → {path}  ({len(model.classes)} directors, {len(labelled_data.y)} frames, head {settings.head}, "
        f"backbone {model.backbone})",
        highlight=False,
    )
    from .console import print_open_set

    print_open_set(model.meta.get("open_set"))


@app.command()
def evaluate(
    dataset: Annotated[
        Path, typer.Argument(help="A manifest.csv (or its folder), or <Director>/<Film>/*.jpg folders.")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Report folder (report.json, report.html, PNGs).")
    ] = Path("evaluation"),
    backbone: BackboneOption = None,
    head: HeadOption = None,
    epochs: EpochsOption = None,
    lr: LearningRateOption = None,
    hidden: HiddenOption = None,
    folds: Annotated[int | None, typer.Option(min=2, help="Cross-validation folds, grouped by film.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    features: Annotated[
        Path | None, typer.Option(help="Feature store folder (default: DATASET/.whodirected/features).")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model", help="Score this trained model on DATASET instead of cross-validating."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Cross-validate with folds grouped by film, beside a random frame split (the leakage gap).

    With --model, score a trained model on DATASET (e.g. a separate library) without refitting.
    """
    from dataclasses import replace

    from .console import print_evaluation
    from .evaluate import evaluate as run_evaluation
    from .evaluate import evaluate_model, write_report
    from .model import Model, ModelError

    embed_settings = _settings(config, "embed", backbone=backbone)
    settings = _settings(
        config, "train", head=head, epochs=epochs, learning_rate=lr, hidden=hidden, folds=folds, seed=seed
    )
    trained = None
    if model is not None:
        try:
            trained = Model.load(model)
        except ModelError as exc:
            raise _fail(str(exc), 2) from None
        embed_settings = replace(embed_settings, backbone=trained.backbone)
    _, labelled_data = _labelled(dataset, embed_settings, features, warn=trained is not None)
    try:
        report = (
            evaluate_model(trained, labelled_data) if trained else run_evaluation(labelled_data, settings)
        )
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    report["backbone"] = embed_settings.backbone
    write_report(report, output)
    print_evaluation(report, output)


@app.command()
def predict(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Screenshots (jpg, png, webp, bmp, tiff), folders of them, or video clips."),
    ],
    model: Annotated[
        Path, typer.Option("--model", "-m", help="Model folder from `whodirected train`.")
    ] = Path("model"),
    top_k: Annotated[
        int | None, typer.Option("--top-k", "-k", min=1, help="Directors shown (default 3).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
    save: Annotated[
        Path | None, typer.Option(help="Also write the results to FILE: .json or .csv (one row per frame).")
    ] = None,
    aggregate: Annotated[
        str | None,
        typer.Option(
            help="Combine a clip's or folder's frames: mean, log or none (default: mean for clips, none for folders)."
        ),
    ] = None,
    per_frame: Annotated[
        bool, typer.Option("--per-frame", help="Also show each frame of an aggregate.")
    ] = False,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Below this the verdict is 'unknown director' (default: the model's calibrated one).",
        ),
    ] = None,
    evidence: Annotated[
        int | None, typer.Option(min=0, help="Nearest training frames shown (default 5).")
    ] = None,
    clip_frames: Annotated[
        int | None, typer.Option(min=1, help="Frames sampled from a clip (default 16).")
    ] = None,
    trim: Annotated[
        bool | None, typer.Option("--trim/--no-trim", help="Trim uniform borders (player UI, margins).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda when available).")] = None,
    config: ConfigOption = None,
) -> None:
    """Rank the likely directors of screenshots, folders or clips, with the nearest training frames
    as evidence; "unknown director" when the model is not confident enough."""
    settings = _settings(
        config,
        "predict",
        top_k=top_k,
        evidence=evidence,
        min_confidence=min_confidence,
        aggregate=aggregate,
        clip_frames=clip_frames,
        trim_borders=trim,
    )
    from .predict import AGGREGATES

    if settings.aggregate not in (None, *AGGREGATES):
        raise _fail(f"unknown --aggregate {settings.aggregate!r}; choose from {', '.join(AGGREGATES)}", 2)
    from .backbones import BackboneError
    from .model import Model, ModelError

    try:
        trained = Model.load(model)
        trained.device = device
        trained.extractors()
    except (ModelError, BackboneError) as exc:
        raise _fail(str(exc), 2) from None
    from .predict import collect, predict_items

    items, errors = collect(paths)
    from .console import console

    with console.status(f"predicting {len(items)} input(s)") as status:
        results, failed = predict_items(
            trained, items, settings, on_progress=lambda n: status.update(f"predicting: {n} frames done")
        )
    errors += failed
    report = {
        "model": {"path": str(model), "backbone": trained.backbone, "directors": trained.classes},
        "predictions": [r.to_dict(settings.top_k) for r in results],
        "errors": errors,
    }
    if json_out:
        import json

        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        from .console import print_prediction

        for result in results:
            print_prediction(result, settings.top_k, per_frame)
    if save is not None:
        from .predict import save_results

        try:
            save_results(report, results, save)
        except (OSError, ValueError) as exc:
            raise _fail(f"{save}: cannot save ({exc})", 2) from None
        console.print(f"results → {save}", highlight=False)
    for error in errors:
        _err(error)
    if errors:
        raise typer.Exit(1)


@app.command()
def serve(
    model: Annotated[
        Path, typer.Option("--model", "-m", help="Model folder from `whodirected train`.")
    ] = Path("model"),
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default 127.0.0.1: this computer only).")
    ] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default 8000).")] = None,
    max_upload_mb: Annotated[
        float | None, typer.Option(min=0.001, help="Largest accepted upload in MB (default 20).")
    ] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default: cuda when available).")] = None,
    config: ConfigOption = None,
) -> None:
    """Serve a local web page: drop a screenshot, see the ranked directors and the evidence."""
    settings = _settings(
        config,
        "serve",
        host=host,
        port=port,
        max_upload_bytes=None if max_upload_mb is None else int(max_upload_mb * 1_000_000),
    )
    try:
        import uvicorn

        from .serve import create_app
    except ImportError as exc:
        raise _fail(
            f"the web page needs the [web] extra: pip install 'whodirected[web]' ({exc})", 2
        ) from None
    from .backbones import BackboneError
    from .model import Model, ModelError

    try:
        trained = Model.load(model)
        trained.device = device
        web = create_app(trained, settings)
    except (ModelError, BackboneError) as exc:
        raise _fail(str(exc), 2) from None
    import socket

    from .console import console

    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))  # bound here, so port 0 can pick a free port
    except OSError as exc:
        raise _fail(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror or exc})", 2) from None
    shown = f"[{settings.host}]" if ":" in settings.host else settings.host
    console.print(
        f"whodirected page at http://{shown}:{sock.getsockname()[1]}/  (Ctrl+C to stop)", highlight=False
    )
    uvicorn.Server(uvicorn.Config(web, log_level="warning")).run(sockets=[sock])


def main() -> None:
    app()


if __name__ == "__main__":
    main()
