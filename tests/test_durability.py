"""Nothing lost: a truncated frame, a full disk, Ctrl-C, and two runs on one output folder —
each with real `extract` processes on real video files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from whodirected.config import ExtractConfig
from whodirected.extract.library import extract_library
from whodirected.extract.manifest import STATE_DIR, read_manifest

SETTINGS = ExtractConfig(mode="every", every=0.5)


def command(src: Path, dst: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "whodirected", "extract", str(src), str(dst), "--every", "0.5", *extra]


def same_manifest(a: Path, b: Path) -> bool:
    """Two extractions hold the same frames (paths made relative to their folders)."""
    left, right = read_manifest(a), read_manifest(b)
    left["frame_path"] = [str(Path(p).relative_to(a)) for p in left.frame_path]
    right["frame_path"] = [str(Path(p).relative_to(b)) for p in right.frame_path]
    return left.equals(right)


@pytest.fixture(scope="module")
def fresh(demo_library: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fresh") / "frames"
    assert extract_library(demo_library, out, SETTINGS, jobs=1).ok
    return out


def started(src: Path, dst: Path) -> subprocess.Popen:
    """An extract run in the background, with Ctrl-C handled as in a terminal (children of a
    background job start with it ignored, and Python then never raises KeyboardInterrupt)."""
    return subprocess.Popen(
        command(src, dst, "--jobs", "1"),
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_a_truncated_frame_is_redone_on_resume(demo_library: Path, fresh: Path, tmp_path: Path) -> None:
    out = Path(shutil.copytree(fresh, tmp_path / "frames"))
    frame = Path(read_manifest(out).frame_path.iloc[0])
    size = frame.stat().st_size
    frame.write_bytes(frame.read_bytes()[: size // 2])  # a power cut's half-written file
    summary = extract_library(demo_library, out, SETTINGS, jobs=1)
    films = read_manifest(out).source.nunique()
    assert summary.ok and summary.reused == films - 1  # that film alone is redone
    assert frame.stat().st_size == size and same_manifest(out, fresh)


def test_ctrl_c_keeps_finished_films_and_a_rerun_completes(
    demo_library: Path, fresh: Path, tmp_path: Path
) -> None:
    out = tmp_path / "frames"
    run = started(demo_library, out)
    wait_for(lambda: len(list((out / STATE_DIR / "films").glob("*.json"))) >= 1)
    run.send_signal(signal.SIGINT)
    stderr = run.communicate(timeout=60)[1]
    assert run.returncode == 130, stderr
    assert "run the same command again" in stderr and "Traceback" not in stderr
    assert not list(out.rglob("*.tmp"))  # no half-written file
    again = subprocess.run(command(demo_library, out), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert same_manifest(out, fresh)


def test_sigterm_exits_143(demo_library: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    run = started(demo_library, out)
    wait_for(lambda: len(list((out / STATE_DIR / "films").glob("*.json"))) >= 1)
    run.terminate()
    assert run.wait(timeout=60) == 143


def test_a_second_run_on_the_same_output_is_refused(demo_library: Path, fresh: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    first = started(demo_library, out)
    wait_for(lambda: (out / ".whodirected.lock.pid").exists())
    second = subprocess.run(command(demo_library, out), capture_output=True, text=True)
    assert second.returncode == 2 and f"PID {first.pid}" in second.stderr, second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert first.wait(timeout=120) == 0
    assert same_manifest(out, fresh)  # whole, no duplicates: the first run was not disturbed


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real 320 KB filesystem (tmpfs; mounting needs root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=320k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.decode().strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_with_one_line_and_a_rerun_completes(
    demo_library: Path, fresh: Path, small_disk: Path, tmp_path: Path
) -> None:
    out = small_disk / "frames"
    result = subprocess.run(command(demo_library, out, "--jobs", "1", "--max-side", "0", "--quality", "100"),
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert (
        "no space left" in result.stderr and "MB free" in result.stderr and "Traceback" not in result.stderr
    )
    recorded = list((out / STATE_DIR / "films").glob("*.json"))
    assert len(recorded) < 4  # the film in progress is not recorded
    if (out / "manifest.csv").exists():  # written when the failed film's partial file freed room
        assert read_manifest(out).source.nunique() == len(recorded)
    moved = Path(shutil.copytree(out, tmp_path / "frames"))  # "free space": carry on on a bigger disk
    rerun = subprocess.run(command(demo_library, moved, "--max-side", "0", "--quality", "100"),
                           capture_output=True, text=True)  # fmt: skip
    assert rerun.returncode == 0, rerun.stderr
    assert read_manifest(moved).source.nunique() == 4


def _embed(frames: Path, store: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "whodirected", "embed", str(frames), "-o", str(store), *options]


def test_embed_on_a_full_disk_is_one_line_and_resumes(fresh: Path, small_disk: Path, tmp_path: Path) -> None:
    store = small_disk / "features"
    free = os.statvfs(small_disk)
    filler = small_disk / "filler"  # leave room for a few frames' 1280 floats, not for all
    filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 24_000))
    result = subprocess.run(_embed(fresh, store, "--backbone", "efficientnet-lite0", "--batch-size", "8"),
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "the disk is full" in result.stderr and "run the same command again" in result.stderr
    assert "Traceback" not in result.stdout
    moved = Path(shutil.copytree(store, tmp_path / "features"))  # carry on on a bigger disk
    again = subprocess.run(
        _embed(fresh, moved, "--backbone", "efficientnet-lite0"), capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr


def test_ctrl_c_and_sigterm_stop_embed_and_train_with_one_line(fresh: Path, tmp_path: Path) -> None:
    store = tmp_path / "features"
    run = subprocess.Popen(
        _embed(fresh, store, "--backbone", "efficientnet-lite2", "--batch-size", "1"),
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wait_for(lambda: len(list(store.glob("efficientnet-lite2-*/shard-*.npz"))) >= 1 or run.poll() is not None)
    run.send_signal(signal.SIGINT)
    stderr = run.communicate(timeout=60)[1]
    if run.returncode == 0:
        pytest.skip("embed finished before Ctrl-C reached it")
    assert run.returncode == 130 and "Traceback" not in stderr, stderr
    assert "stopped: the features computed so far are cached" in stderr

    train = subprocess.Popen(
        [sys.executable, "-m", "whodirected", "train", str(fresh), "-o", str(tmp_path / "model"),
         "--features", str(store)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for(
        lambda: len(list(store.glob("efficientnet-lite2-*/shard-*.npz"))) >= 2 or train.poll() is not None
    )
    train.terminate()
    stderr = train.communicate(timeout=60)[1]
    if train.returncode == 0:
        pytest.skip("train finished before SIGTERM reached it")
    assert train.returncode == 143 and "Traceback" not in stderr, stderr
    assert "no model written" in stderr and not (tmp_path / "model").exists()
