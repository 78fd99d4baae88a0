"""Hostile input, round two: a library built to break `scan`, and model folders tampered with
field by field — each one readable line, no traceback, no hang, nothing passed through raw."""

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from whodirected.errors import ModelError
from whodirected.extract.sources import from_spreadsheet, scan, spreadsheet_safe
from whodirected.models.model import Model
from whodirected.models.schema import read_npz


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "whodirected", *args], capture_output=True, text=True, timeout=timeout
    )


def test_a_hostile_library_is_scanned_to_the_end(tmp_path: Path) -> None:
    movies = tmp_path / "Movies"
    film = movies / "Styled [bold red]LOUD (2009)"
    film.mkdir(parents=True)
    (film / "Styled (2009).mkv").write_bytes(b"\x00" * 64)
    (film / "movie.nfo").write_text(  # a director named like a formula, with markup and an escape sequence
        '<movie><title>Styled</title><director>=HYPERLINK("http://x") [/x] \x1b]0;pwned\x07</director></movie>'
    )
    escaped = movies / "Title \x1b]0;pwned\x07 (2003)"  # an escape sequence that sets the window title
    escaped.mkdir()
    (escaped / "Title (2003).mkv").write_bytes(b"\x00" * 64)
    piped = movies / "Piped (2001)"
    piped.mkdir()
    (piped / "Piped (2001).mkv").write_bytes(b"\x00" * 64)
    os.mkfifo(piped / "movie.nfo")  # a FIFO: reading it would wait for ever
    endless = movies / "Endless (2002)"
    endless.mkdir()
    (endless / "Endless (2002).mkv").write_bytes(b"\x00" * 64)
    (endless / "movie.nfo").symlink_to("/dev/zero")  # claims 0 bytes, never ends
    (movies / "loop").symlink_to(tmp_path)  # a folder that contains itself
    (film / "back").symlink_to(movies)

    library = scan(tmp_path)
    assert any("a link" in p for p in library.problems)
    assert any("Piped" in p and "not a regular file" in p for p in library.problems)
    assert any("Endless" in p and "not a regular file" in p for p in library.problems)
    assert len({f.film for f in library.films}) == 4

    result = run("scan", str(tmp_path), "-o", str(tmp_path / "films.csv"), timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr + result.stdout and "\\x1b]0;pwned\\x07" in result.stderr
    assert "[bold red]LOUD" in result.stderr  # shown as written, not as a style
    import csv

    rows = list(csv.reader(io.StringIO((tmp_path / "films.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 5 and all(not cell.startswith(("=", "+", "@", "-")) for row in rows for cell in row)


def test_formula_cells_are_neutralised_and_read_back() -> None:
    for cell in ('=HYPERLINK("x")', "+cmd|' /C calc'!A0", "@SUM(1)", "-1+2", "\tx"):
        safe = spreadsheet_safe(cell)
        assert safe.startswith("'") and from_spreadsheet(safe) == cell
    assert spreadsheet_safe("Agnès Varda") == "Agnès Varda" == from_spreadsheet("Agnès Varda")
    assert from_spreadsheet("'quoted") == "'quoted"  # a quote not guarding a formula stays


def _tampered(model: Path, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(model, folder)
    return folder


def _edit_json(folder: Path, change) -> None:
    path = folder / "model.json"
    info = json.loads(path.read_text())
    path.write_text(change(info) if callable(change) else change)


def _edit_npz(folder: Path, name: str, change) -> None:
    path = folder / name
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    change(arrays)
    with path.open("wb") as handle:
        np.savez(handle, **arrays)


JSON_CASES = {
    "a list": "[]",
    "a string": '"model"',
    "nested deeply": "[" * 100_000 + "]" * 100_000,
    "not JSON": "{",
    "infinite threshold": lambda i: json.dumps(
        {**i, "open_set": {**i["open_set"], "threshold": 1e400}}
    ).replace("Infinity", "1e400"),
    "NaN threshold": lambda i: json.dumps({**i, "open_set": {**i["open_set"], "threshold": float("nan")}}),
    "no layers": lambda i: json.dumps({**i, "layers": 0}),
    "negative layers": lambda i: json.dumps({**i, "layers": -1}),
    "no backbone": lambda i: json.dumps({k: v for k, v in i.items() if k != "backbone"}),
    "numeric backbone": lambda i: json.dumps({**i, "backbone": 7}),
    "classes a string": lambda i: json.dumps({**i, "classes": "ABCD"}),
    "classes objects": lambda i: json.dumps({**i, "classes": [{"a": 1}] * len(i["classes"])}),
    "blocks wrong": lambda i: json.dumps({**i, "blocks": [["efficientnet-lite2", -5]]}),
}


@pytest.mark.parametrize("case", list(JSON_CASES))
def test_tampered_model_json_is_one_line(demo_model: Path, tmp_path: Path, case: str) -> None:
    folder = _tampered(demo_model, tmp_path, "m")
    _edit_json(folder, JSON_CASES[case])
    with pytest.raises(ModelError, match=r"model\.json|corrupt"):
        Model.load(folder)


NPZ_CASES = {
    "1-D weights": ("model.npz", lambda a: a.update(layer0_weight=a["layer0_weight"][:, 0])),
    "string weights": ("model.npz", lambda a: a.update(layer0_weight=a["layer0_weight"].astype(str))),
    "NaN head": ("model.npz", lambda a: a["layer0_weight"].__setitem__((0, 0), np.nan)),
    "no scaler": ("model.npz", lambda a: a.pop("scaler_mean")),
    "director out of range": ("index.npz", lambda a: a.update(director=a["director"] + 99)),
    "offsets past the thumbnails": ("index.npz", lambda a: a.update(offsets=a["offsets"] * 10**6)),
}


@pytest.mark.parametrize("case", list(NPZ_CASES))
def test_tampered_model_arrays_are_one_line(demo_model: Path, tmp_path: Path, case: str) -> None:
    folder = _tampered(demo_model, tmp_path, "m")
    name, change = NPZ_CASES[case]
    _edit_npz(folder, name, change)
    with pytest.raises(ModelError, match=name.replace(".", r"\.")):
        Model.load(folder)


def test_array_headers_are_read_before_anything_is_inflated(tmp_path: Path) -> None:
    claims = tmp_path / "claims.npz"  # a header that claims 10**12 float32 in a few bytes
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(claims, "w") as archive:
        archive.writestr("layer0_weight.npy", header.getvalue() + b"\x00" * 16)
    with pytest.raises(ModelError, match="claims 4,000,000,000,000 bytes"):
        read_npz(claims)
    bomb = tmp_path / "bomb.npz"  # 64 MB of zeros in a few KB
    with bomb.open("wb") as handle:
        np.savez_compressed(handle, zeros=np.zeros(16 << 20, np.float32))
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ModelError, match="would inflate to 67,108,992 bytes, over the 1,000,000-byte limit"):
        read_npz(bomb, limit=1_000_000)
    pickled = tmp_path / "pickled.npz"
    with pickled.open("wb") as handle:
        np.savez(handle, objects=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelError, match="holds objects"):
        read_npz(pickled)


def test_predict_with_a_tampered_model_says_so_in_one_line(demo_model: Path, tmp_path: Path) -> None:
    folder = _tampered(demo_model, tmp_path, "m")
    _edit_json(
        folder,
        lambda i: json.dumps({**i, "classes": ["\x1b[2J[bold]x[/bold]", "y", "z", "w"][: len(i["classes"])]}),
    )
    picture = tmp_path / "p.png"
    from PIL import Image

    Image.new("RGB", (64, 48), (200, 100, 50)).save(picture)
    result = run("predict", str(picture), "-m", str(folder))
    assert result.returncode == 0, result.stderr  # class names are data: shown, never run
    assert "\x1b" not in result.stdout and "Traceback" not in result.stderr
    _edit_json(folder, lambda i: json.dumps({**i, "layers": "two"}))
    broken = run("predict", str(picture), "-m", str(folder))
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1 and "layers must be" in broken.stderr


def test_a_name_that_is_not_utf8_stays_valid_text_and_reads_back(tmp_path: Path) -> None:
    folder = os.fsencode(tmp_path) + b"/Movies/Caf\xe9 (2001)"  # a Latin-1 name from an older system
    os.makedirs(folder)
    with open(folder + b"/Caf\xe9 (2001).mkv", "wb") as handle:
        handle.write(b"\x00" * 64)
    result = run("scan", str(tmp_path), "-o", str(tmp_path / "films.csv"), timeout=60)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    text = (tmp_path / "films.csv").read_bytes().decode("utf-8")  # valid UTF-8
    assert "Caf\\xe9 (2001)" in text and "Caf\\xe9 (2001)" in result.stderr
    listed = tmp_path / "listed.csv"  # the scanned path, given a director, names the real file
    path = text.splitlines()[1].split(",")[0]
    listed.write_text(f"path,director,film\n{path},Someone,Cafe\n", encoding="utf-8")
    (film,) = scan(listed).films
    assert film.path.exists() and os.fsencode(film.path).endswith(b"Caf\xe9 (2001).mkv")
