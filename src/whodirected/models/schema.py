"""What a model folder may hold, checked before anything in it is used: a model may come from a
stranger, so every file is untrusted input.

- ``model.json``: at most :data:`MAX_JSON_BYTES`, nested no deeper than JSON allows Python to
  parse, and each field the code reads of the type and range it needs (:func:`check_info`);
- ``model.npz``, ``index.npz``: plain arrays (no pickle), each entry's size read from the zip
  directory and from the array's own header before anything is inflated
  (:func:`read_npz`), within :data:`MAX_ARRAY_BYTES` in all; numbers finite where they are
  weights.

A refusal is a :class:`~whodirected.errors.ModelError` naming the file and the field.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from whodirected.errors import ModelError
from whodirected.features import faces

MAX_JSON_BYTES = 16 << 20  # model.json: settings, names and figures, never near this
MAX_ARRAY_BYTES = 1 << 30  # all arrays of one .npz inflated (a 20,000-frame index is ~0.3 GB)
MAX_LAYERS = 8
_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def read_json(path: Path) -> dict:
    """``model.json`` as a dict, or one :class:`ModelError` line."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ModelError(f"{path}: {size:,} bytes, over the {MAX_JSON_BYTES:,}-byte limit; not read")
        with path.open("rb") as handle:
            text = handle.read(MAX_JSON_BYTES + 1).decode("utf-8")
        info = json.loads(text)
    except ModelError:
        raise
    except RecursionError:
        raise ModelError(f"{path}: nested too deeply to be a model") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(info, dict):
        raise ModelError(f"{path}: a model.json is an object, not {type(info).__name__}")
    return info


def _field(path: Path, name: str, ok: bool, what: str) -> None:
    if not ok:
        raise ModelError(f"{path}: {name} must be {what}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _block(b: Any) -> bool:
    """``[name, size]`` or ``[name, size, weight]``: a feature block of a model file."""
    return (
        isinstance(b, list)
        and len(b) in (2, 3)
        and isinstance(b[0], str)
        and type(b[1]) is int
        and b[1] > 0
        and all(_number(w) and w >= 0 for w in b[2:])
    )


def check_info(path: Path, info: dict) -> None:
    """Every field of ``model.json`` that loading reads, of the type and range it needs."""
    classes = info.get("classes")
    _field(
        path,
        "classes",
        isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) and c for c in classes),
        "a list of at least two director names",
    )
    _field(path, "classes", len(set(classes)) == len(classes), "names that differ")
    _field(path, "backbone", isinstance(info.get("backbone"), str) and info["backbone"], "a backbone name")
    blocks = info.get("blocks")
    _field(
        path,
        "blocks",
        isinstance(blocks, list) and bool(blocks) and all(_block(b) for b in blocks),
        "a list of [name, size] or [name, size, weight]",
    )
    layers = info.get("layers")
    _field(
        path,
        "layers",
        type(layers) is int and 1 <= layers <= MAX_LAYERS,
        f"a whole number from 1 to {MAX_LAYERS}",
    )
    unit = info.get("head_unit_blocks", [])
    _field(
        path,
        "head_unit_blocks",
        isinstance(unit, list) and all((type(b) is int and b > 0) or _block(b) for b in unit),
        "a list of block sizes, [name, size] or [name, size, weight]",
    )
    _field(path, "history", isinstance(info.get("history", {}), dict), "an object")
    bonus = info.get("actor_bonus")
    if bonus is not None:
        _field(path, "actor_bonus", _number(bonus) and bonus >= 0, "null or a finite number, 0 or more")
        _field(
            path,
            "actor_bonus",
            any(b[:2] == ["faces", faces.DIM] for b in info["blocks"]),
            f"null without a faces block of {faces.DIM} columns",
        )
    open_set = info.get("open_set")
    if open_set is not None:
        _field(path, "open_set", isinstance(open_set, dict), "an object or null")
        for name in ("threshold", "familiarity"):
            _field(path, f"open_set.{name}", _number(open_set.get(name)), "a finite number")
        _field(path, "open_set.threshold", 0.0 <= open_set["threshold"] <= 1.0, "between 0 and 1")
        _field(path, "open_set.familiarity", -1.0 <= open_set["familiarity"] <= 1.0, "between -1 and 1")
        _field(path, "open_set.method", isinstance(open_set.get("method"), str), "a sentence")


def read_npz(path: Path, limit: int = MAX_ARRAY_BYTES) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, without pickle. Each entry's inflated size is read from
    the zip directory, and its shape and type from the array's own header, before any of it is
    inflated: an entry that would inflate past ``limit`` (all entries together), claims more
    data than it holds, or holds objects is refused in one line."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [e for e in archive.infolist() if e.filename.endswith(".npy")]
            total = sum(e.file_size for e in entries)
            if total > limit:
                raise ModelError(
                    f"{path}: its arrays would inflate to {total:,} bytes, over the {limit:,}-byte limit"
                )
            arrays = {}
            for entry in entries:
                with archive.open(entry) as handle:
                    reader = _HEADERS.get(np.lib.format.read_magic(handle))
                    if reader is None:
                        raise ModelError(
                            f"{path}: {entry.filename} is in an array format this version cannot read"
                        )
                    shape, fortran, dtype = reader(handle)
                    if dtype.hasobject:
                        raise ModelError(f"{path}: {entry.filename} holds objects, not numbers; not read")
                    claimed = math.prod(shape) * dtype.itemsize
                    if claimed > entry.file_size:
                        raise ModelError(
                            f"{path}: {entry.filename} claims {claimed:,} bytes of data in {entry.file_size:,}"
                        )
                    data = handle.read(claimed)
                    if len(data) != claimed:
                        raise ModelError(f"{path}: {entry.filename} is cut short")
                    array = np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")
                    arrays[entry.filename[: -len(".npy")]] = array.copy()
            return arrays
    except ModelError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, MemoryError) as exc:
        raise ModelError(f"{path}: corrupt model ({type(exc).__name__}: {exc})") from None


def check_arrays(path: Path, arrays: dict[str, np.ndarray], layers: int, n_classes: int, width: int) -> None:
    """The head and scaler: 2-D weights chained from the features to the classes, 1-D biases and
    scaler, finite numbers throughout."""
    names = [f"layer{i}_{kind}" for i in range(layers) for kind in ("weight", "bias")]
    for name in [*names, "scaler_mean", "scaler_scale"]:
        _field(path, name, name in arrays, "present in model.npz")
        array = arrays[name]
        _field(path, name, array.dtype.kind == "f", "numbers")
        _field(path, name, bool(np.isfinite(array).all()), "finite (no NaN or infinity)")
    inputs = width
    for i in range(layers):
        weight, bias = arrays[f"layer{i}_weight"], arrays[f"layer{i}_bias"]
        _field(path, f"layer{i}_weight", weight.ndim == 2 and weight.shape[0] == inputs, f"({inputs}, n)")
        _field(path, f"layer{i}_bias", bias.shape == (weight.shape[1],), f"({weight.shape[1]},)")
        inputs = weight.shape[1]
    _field(path, f"layer{layers - 1}_weight", inputs == n_classes, f"one column per director ({n_classes})")
    for name in ("scaler_mean", "scaler_scale"):
        _field(path, name, arrays[name].shape == (width,), f"({width},), the features' width")
    if "centroids" in arrays:
        _field(path, "centroids", arrays["centroids"].shape == (n_classes, width), f"({n_classes}, {width})")


def check_actors(path: Path, arrays: dict[str, np.ndarray], n_classes: int) -> None:
    """The recurring actors of a centroid head with a faces block: (n, faces.EMBEDDING) finite descriptors
    and, for each, a director that the model has."""
    for name in ("actor_faces", "actor_directors"):
        _field(path, name, name in arrays, "present in model.npz (model.json has an actor_bonus)")
    descriptors, directors = arrays["actor_faces"], arrays["actor_directors"]
    _field(
        path, "actor_faces", descriptors.dtype.kind == "f" and descriptors.ndim == 2, "a 2-D array of numbers"
    )
    _field(
        path, "actor_faces", descriptors.shape[1:] == (faces.EMBEDDING,), f"{faces.EMBEDDING} numbers a face"
    )
    _field(path, "actor_faces", bool(np.isfinite(descriptors).all()), "finite (no NaN or infinity)")
    _field(path, "actor_directors", directors.dtype.kind in "iu", "whole numbers")
    _field(path, "actor_directors", directors.shape == (len(descriptors),), "one director a face")
    _field(
        path,
        "actor_directors",
        bool(((directors >= 0) & (directors < n_classes)).all()),
        f"directors of the model (0 to {n_classes - 1})",
    )
