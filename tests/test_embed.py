import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from whodirected.features.dataset import load_dataset
from whodirected.features.embed import STORE_INDEX, embed_dataset


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
