"""The command line as users run it: real subprocesses, real exit codes."""

import subprocess
import sys
from pathlib import Path

from whodirected import __version__


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whodirected", *args], capture_output=True, text=True)


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"whodirected {__version__}"
    for command in ([], ["extract"], ["demo-library"]):
        result = run(*command, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout


def test_extract_exit_codes(demo_library: Path, library_copy: Path, tmp_path: Path) -> None:
    ok = run("extract", str(demo_library), str(tmp_path / "ok"), "--per-film", "4")
    assert ok.returncode == 0, ok.stderr
    # the summary table is the result: standard output; progress and diagnostics: standard error
    assert "Agnès Varda" in ok.stdout and "frames →" in ok.stdout and "Agnès Varda" not in ok.stderr
    assert (tmp_path / "ok" / "manifest.csv").exists()

    (library_copy / "Wes Anderson" / "broken.mov").write_bytes(b"\x00" * 1000)
    failed = run("extract", str(library_copy), str(tmp_path / "bad"), "--per-film", "4")
    assert failed.returncode == 1 and "broken.mov" in failed.stderr
    assert (tmp_path / "bad" / "manifest.csv").exists()

    missing = run("extract", str(tmp_path / "nowhere"), str(tmp_path / "x"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    inside = run("extract", str(demo_library), str(demo_library / "frames"))
    assert inside.returncode == 2 and "inside the library" in inside.stderr
    both = run("extract", str(demo_library), str(tmp_path / "y"), "--every", "1", "--shots")
    assert both.returncode == 2 and "one sampling mode" in both.stderr
    bad_value = run("extract", str(demo_library), str(tmp_path / "z"), "--skip-edges", "0.9")
    assert bad_value.returncode == 2 and "skip-edges" in bad_value.stderr


def test_config_file_is_used_and_flags_win(demo_library: Path, tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text('[extract]\nmode = "per-film"\nper_film = 5\nmax_side = 192\n')
    result = run(
        "extract", str(demo_library), str(tmp_path / "out"), "--config", str(config), "--max-side", "96"
    )
    assert result.returncode == 0, result.stderr
    manifest = (tmp_path / "out" / "manifest.csv").read_text(encoding="utf-8")
    assert ",96,54," in manifest and '""per_film"": 5' in manifest


def test_help_defaults_are_the_config_defaults() -> None:
    """Every default a --help names is read from the config dataclasses, never written twice."""
    import typer

    from whodirected._cli.main import app
    from whodirected.config import EmbedConfig, ExtractConfig, PredictConfig, ServeConfig, TrainConfig

    expected = {
        "extract": {
            "max_gap": ExtractConfig.max_gap,
            "every": ExtractConfig.every,
            "per_film": ExtractConfig.per_film,
            "frames_per_shot": ExtractConfig.frames_per_shot,
            "skip_edges": ExtractConfig.skip_edges,
            "duplicate_distance": ExtractConfig.duplicate_distance,
            "max_side": ExtractConfig.max_side,
            "quality": ExtractConfig.jpeg_quality,
        },
        "embed": {"backbone": EmbedConfig.backbone, "batch_size": EmbedConfig.batch_size},
        "train": {
            "backbone": EmbedConfig.backbone,
            "head": TrainConfig.head,
            "epochs": TrainConfig.epochs,
            "lr": TrainConfig.learning_rate,
            "batch_size": TrainConfig.batch_size,
            "seed": TrainConfig.seed,
        },
        "evaluate": {"head": TrainConfig.head, "folds": TrainConfig.folds, "seed": TrainConfig.seed},
        "predict": {
            "top_k": PredictConfig.top_k,
            "evidence": PredictConfig.evidence,
            "clip_frames": PredictConfig.clip_frames,
        },
        "serve": {
            "host": ServeConfig.host,
            "port": ServeConfig.port,
            "max_upload_mb": f"{ServeConfig.max_upload_bytes / 1e6:g}",
        },
    }
    group = typer.main.get_command(app)
    for command, options in expected.items():
        params = {p.name: p for p in group.commands[command].params}
        for name, value in options.items():
            assert params[name].default is None  # unset flags leave the config file's value
            assert f"default {value}" in params[name].help, (command, name, params[name].help)


def test_backbones_lists_each_block_with_its_weight() -> None:
    import os

    from whodirected.config import EmbedConfig

    result = subprocess.run(
        [sys.executable, "-m", "whodirected", "backbones"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    rows = {
        line.split("│")[1].strip(): line.split("│")[4].strip()
        for line in result.stdout.splitlines()
        if "│" in line
    }
    assert EmbedConfig.backbone in result.stdout
    assert rows["style"] == "1/12" and rows["grade"] == "1/3" and rows["efficientnet-lite2"] == "1"
