import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from whodirected.features.dataset import load_dataset
from whodirected.features.embed import STORE_INDEX, EmbedWorker, embed_dataset
from whodirected.features.images import DEFAULT_MAX_PIXELS
from whodirected.runners.local import LocalRunner


def test_cache_hit_miss_partial_and_corrupt_shard(demo_frames: Path, tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    shutil.copytree(demo_frames, frames)
    dataset = load_dataset(frames)
    store = tmp_path / "store"
    first = embed_dataset(dataset, "efficientnet-lite0+style", store, batch_size=8)
    assert first.summary.computed == {"efficientnet-lite0": len(dataset), "style": len(dataset)}
    assert first.matrix.shape == (len(dataset), 1280 + 22)

    again = embed_dataset(dataset, "efficientnet-lite0+style", store, batch_size=8)
    assert again.summary.computed == {"efficientnet-lite0": 0, "style": 0}
    np.testing.assert_allclose(again.matrix, first.matrix, rtol=1e-6)

    extra = frames / "Wes Anderson" / "New Film"
    extra.mkdir()
    Image.open(dataset.frames.path.iloc[0]).transpose(Image.FLIP_LEFT_RIGHT).save(
        extra / "new_00-00-01.000.jpg"
    )
    more = dataset.frames[["path", "director", "film"]].copy()
    more.loc[len(more)] = [str(extra / "new_00-00-01.000.jpg"), "Wes Anderson", "New Film"]
    dataset.frames = more
    partial = embed_dataset(dataset, "style", store, batch_size=8)
    assert partial.summary.computed == {"style": 1}

    shard = sorted((store).glob("efficientnet-lite0-*/shard-*.npz"))[0]
    shard.write_bytes(shard.read_bytes()[:100])
    repaired = embed_dataset(dataset, "efficientnet-lite0", store, batch_size=8)
    assert repaired.summary.corrupt and 0 < repaired.summary.computed["efficientnet-lite0"] <= 9
    np.testing.assert_allclose(
        repaired.matrix[: len(first.matrix)], first.matrix[:, :1280], rtol=1e-4, atol=1e-5
    )

    # readable with pandas and NumPy alone
    index = pd.read_csv(store / STORE_INDEX)
    stored = {}
    for shard in store.glob("style-*/shard-*.npz"):
        with np.load(shard) as data:
            stored.update(zip(data["keys"], data["features"], strict=True))
    np.testing.assert_allclose(stored[index.key.iloc[0]], first.matrix[0, 1280:], rtol=1e-6)


def test_unreadable_images_are_skipped_with_one_line(demo_frames: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_frames)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    frames = dataset.frames[["path", "director", "film"]].copy()
    frames.loc[len(frames)] = [str(bad), "Wes Anderson", "x"]
    frames.loc[len(frames)] = [str(tmp_path / "missing.jpg"), "Wes Anderson", "x"]
    dataset.frames = frames
    features = embed_dataset(dataset, "style", tmp_path / "store")
    assert len(features.summary.skipped) == 2 and (~features.ok).sum() == 2
    assert features.matrix.shape[0] == len(frames) - 2


def test_many_reader_threads_give_the_features_of_one(demo_frames: Path, tmp_path: Path) -> None:
    dataset = load_dataset(demo_frames)
    one = embed_dataset(dataset, "efficientnet-lite0", tmp_path / "one", batch_size=4, workers=1)
    many = embed_dataset(dataset, "efficientnet-lite0", tmp_path / "many", batch_size=4, workers=4)
    processes = LocalRunner(threads=2, process_rows=1)  # reader processes, as for big libraries
    forked = embed_dataset(
        dataset, "efficientnet-lite0+style", tmp_path / "proc", batch_size=4, runner=processes
    )
    keys = [pd.read_csv(tmp_path / s / STORE_INDEX).key.tolist() for s in ("one", "many", "proc")]
    assert keys[0] == keys[1] == keys[2] and many.summary.computed["efficientnet-lite0"] == len(dataset)
    np.testing.assert_allclose(many.matrix, one.matrix, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(forked.matrix[:, :1280], one.matrix, rtol=1e-5, atol=1e-5)


def test_readers_wait_while_a_network_computes_on_the_cpu(demo_frames: Path) -> None:
    """On a CPU the network uses every core: reading the next batch beside it only slowed
    both, so the readers take turns with it (and share each batch between them)."""
    import threading
    import time

    spans: list[tuple[str, float, float]] = []
    lock = threading.Lock()

    class Timed(EmbedWorker):
        def prepare(self, batch):
            start = time.perf_counter()
            prepared = super().prepare(batch)
            with lock:
                spans.append(("read", start, time.perf_counter()))
            return prepared

        def run(self, prepared):
            start = time.perf_counter()
            result = super().run(prepared)
            spans.append(("run", start, time.perf_counter()))
            return result

    paths = load_dataset(demo_frames).frames.path.tolist()[:12]
    rows = [{"i": i, "path": p} for i, p in enumerate(paths)]
    worker = partial(Timed, "efficientnet-lite0", "cpu", False, DEFAULT_MAX_PIXELS)
    results = list(LocalRunner(threads=2).map_batches(worker, rows, 4))
    assert [int(i) for r in results for i in r["i"]] == list(range(12))
    reads = [(a, b) for kind, a, b in spans if kind == "read"]
    runs = [(a, b) for kind, a, b in spans if kind == "run"]
    assert len(runs) == 3 and len(reads) >= 6  # each batch of 4 read in slices, on both readers
    assert not any(a < d and c < b for a, b in reads for c, d in runs)  # never at the same time
    assert not EmbedWorker("style", "cpu", False, DEFAULT_MAX_PIXELS).uses_all_cores


def test_a_cached_rerun_imports_no_torch(demo_frames: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    store = tmp_path / "store"
    embed_dataset(load_dataset(demo_frames), "efficientnet-lite0+style", store)
    script = (
        "import sys\n"
        "from whodirected.features.dataset import load_dataset\n"
        "from whodirected.features.embed import embed_dataset\n"
        f"f = embed_dataset(load_dataset({str(demo_frames)!r}), 'efficientnet-lite0+style', {str(store)!r})\n"
        "assert sum(f.summary.computed.values()) == 0, f.summary.computed\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"  # nothing to compute: no network built, torch not imported


def test_the_stat_index_reads_only_changed_files(tmp_path: Path) -> None:
    import os

    from whodirected.features.embed import STAT_INDEX, file_key, file_keys

    path = tmp_path / "frame.jpg"
    path.write_bytes(b"a" * 1000)
    (first,), _ = file_keys([str(path)], tmp_path)
    assert first == file_key(b"a" * 1000) and (tmp_path / STAT_INDEX).is_file()
    stamp = path.stat().st_mtime_ns
    path.write_bytes(b"b" * 1000)  # rewritten, same size: the new time tells
    os.utime(path, ns=(stamp + 1_000_000, stamp + 1_000_000))
    (second,), _ = file_keys([str(path)], tmp_path)
    assert second == file_key(b"b" * 1000)
    path.write_bytes(b"c" * 1000)  # same size and time as indexed: trusted, not read again
    os.utime(path, ns=(stamp + 1_000_000, stamp + 1_000_000))
    (third,), _ = file_keys([str(path)], tmp_path)
    assert third == second
    copy = tmp_path / "copy.jpg"  # a copied frame is found by its content: still a cache hit
    copy.write_bytes(b"b" * 1000)
    (fourth,), _ = file_keys([str(copy)], tmp_path)
    assert fourth == second


def test_fp32_stays_the_default_and_half_precision_needs_cuda() -> None:
    import pytest

    from whodirected.config import EmbedConfig
    from whodirected.errors import BackboneError
    from whodirected.features.backbones import create

    assert EmbedConfig().precision == "fp32"
    with pytest.raises(BackboneError, match="CUDA"):
        create("efficientnet-lite0", device="cpu", random_weights=True, precision="bf16")
