"""Atomic, durable writes: write to a temporary file beside the target, flush it to the disk
(fsync), rename it over the target, then flush the folder, as SQLite, PostgreSQL and git do: after a
power cut the file is the old one or the new one, never empty. ``WHODIRECTED_FSYNC=0`` turns
the flushes off (the renames stay atomic)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_UMASK = os.umask(0)
os.umask(_UMASK)
DURABLE = os.environ.get("WHODIRECTED_FSYNC", "1") != "0"


def fsync(path: str | Path) -> None:
    """Flush a file's or a folder's contents to the disk (no-op when ``DURABLE`` is off)."""
    if not DURABLE:
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if os.path.isdir(path) else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename.

    A crash (even ``kill -9``) leaves either the old file or the new one, never half of
    one; the temporary file starts with ``.`` and ends with ``.tmp`` so readers skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
    os.close(fd)
    try:
        yield Path(tmp)
        fsync(tmp)
        os.replace(tmp, path)
        fsync(path.parent)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    """Atomically write UTF-8 ``text`` to ``path``."""
    write_bytes(path, text.encode("utf-8"))


@contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it replaces folder ``path`` (the old one is
    moved aside first, then removed), so readers see the old folder or the new one, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        for file in tmp.rglob("*"):
            if file.is_file():
                fsync(file)
        fsync(tmp)
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes 0700 folders
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        fsync(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def exclusive(folder: str | Path, what: str, name: str = ".whodirected.lock") -> Iterator[None]:
    """Hold the lock ``name`` in output ``folder`` while ``what`` (e.g. "extract") writes. A second
    writer does not wait: it gets :class:`~whodirected.errors.Busy` naming the holder's process.
    The lock is the operating system's (``filelock``), so a killed holder never leaves it stale."""
    from filelock import FileLock, Timeout

    from whodirected.errors import Busy

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock, pid_file = FileLock(folder / name), folder / f"{name}.pid"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            pid, _, running = pid_file.read_text().strip().partition(" ")
        except OSError:
            pid, running = "unknown", ""
        raise Busy(
            f"{folder}: another whodirected {running or 'process'} (PID {pid}) is writing here; wait for it "
            "to end, or use another output folder"
        ) from None
    try:
        pid_file.write_text(f"{os.getpid()} {what}\n")
        yield
    finally:
        pid_file.unlink(missing_ok=True)
        lock.release()
