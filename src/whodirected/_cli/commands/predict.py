"""``whodirected predict``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from whodirected._cli.options import ConfigOption, DeviceOption, ModelOption, err, fail, settings
from whodirected.config import PredictConfig as D


def predict(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Screenshots (jpg, png, webp, bmp, tiff), folders of them, or video clips."),
    ],
    model: ModelOption = Path("model"),
    top_k: Annotated[
        int | None, typer.Option("--top-k", "-k", min=1, help=f"Directors shown (default {D.top_k}).")
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
        int | None, typer.Option(min=0, help=f"Nearest training frames shown (default {D.evidence}).")
    ] = None,
    clip_frames: Annotated[
        int | None, typer.Option(min=1, help=f"Frames sampled from a clip (default {D.clip_frames}).")
    ] = None,
    trim: Annotated[
        bool | None,
        typer.Option(
            "--trim/--no-trim",
            help=f"Cut screenshots to the picture: uniform borders, a web page or window around it (default: {'trim' if D.trim_borders else 'no-trim'}).",
        ),
    ] = None,
    explain: Annotated[
        Path | None,
        typer.Option(
            "--explain",
            help="Write a heat map of where the top director's evidence lies, one PNG per picture, into this folder (about 0.5 s a picture on 2 cores).",
        ),
    ] = None,
    device: DeviceOption = None,
    config: ConfigOption = None,
) -> None:
    """Rank the likely directors of screenshots, folders or clips, with the nearest training frames
    as evidence; "unknown director" when the model cannot vouch for any of them."""
    chosen = settings(
        config,
        "predict",
        top_k=top_k,
        evidence=evidence,
        min_confidence=min_confidence,
        aggregate=aggregate,
        clip_frames=clip_frames,
        trim_borders=trim,
        explain=True if explain is not None else None,
    )
    from whodirected._cli.console import console, print_prediction, shown
    from whodirected.errors import WhodirectedError
    from whodirected.models.model import Model
    from whodirected.predict.batch import predict_paths
    from whodirected.predict.output import save_results

    try:
        trained = Model.load(model)
        trained.device = device
        trained.extractors()
    except WhodirectedError as exc:
        fail(str(exc), 2)
    with console.status(f"predicting {len(paths)} input(s)") as status:
        report = predict_paths(
            trained, paths, chosen, lambda n: status.update(f"predicting: {n} frames done")
        )
    if json_out:
        import json

        typer.echo(json.dumps(report.to_dict(chosen.top_k), indent=2, ensure_ascii=False))
    else:
        for result in report.predictions:
            print_prediction(result, chosen.top_k, per_frame)
    if explain is not None:
        from whodirected.predict.output import save_overlays

        try:
            written = save_overlays(report, explain)
        except OSError as exc:
            fail(f"{explain}: cannot write the heat maps ({exc.strerror or exc}) (--explain)", 2)
        console.print(f"heat maps → {shown(explain)} ({written} pictures)", highlight=False)
    if save is not None:
        try:
            save_results(report, save, chosen.top_k)
        except (OSError, ValueError) as exc:
            fail(f"cannot save the results ({exc}) (--save)", 2)
        console.print(f"results → {shown(save)}", highlight=False)
    for error in report.errors:
        err(error)
    if report.errors:
        raise typer.Exit(1)
