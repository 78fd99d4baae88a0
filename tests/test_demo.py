from pathlib import Path

import numpy as np

from whodirected.extract.demo import STYLES, make_library
from whodirected.extract.video import Video


def test_demo_library_layout_names_and_determinism(tmp_path: Path) -> None:
    first = make_library(tmp_path / "a", directors=2, films=2, seconds=4, seed=7)
    second = make_library(tmp_path / "b", directors=2, films=2, seconds=4, seed=7)
    assert [p.relative_to(tmp_path / "a") for p in first] == [p.relative_to(tmp_path / "b") for p in second]
    assert {p.parent.name for p in first} == {"Wes Anderson", "Agnès Varda"}
    assert all(" " in p.stem for p in first)
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    with Video(first[0]) as video:
        assert video.codec == "h264" and video.duration == 4.0


def test_directors_have_their_letterbox_and_pillarbox(tmp_path: Path) -> None:
    paths = make_library(tmp_path, directors=5, films=1, seconds=4, seed=0)
    villeneuve = next(p for p in paths if p.parent.name == "Denis Villeneuve")  # 2.39:1
    anderson = next(p for p in paths if p.parent.name == "Wes Anderson")  # 1.37:1
    with Video(villeneuve) as v, Video(anderson) as a:
        wide = np.asarray(next(v.sample([1.75])).image.convert("L"), np.float32)
        narrow = np.asarray(next(a.sample([1.75])).image.convert("L"), np.float32)
    assert wide[:20].mean() < 20 and wide[60:150].mean() > 40  # bars above and below
    assert narrow[:, :40].mean() < 20 and narrow[:, 100:280].mean() > 40  # bars left and right
    assert len({s.name for s in STYLES}) == len(STYLES)
