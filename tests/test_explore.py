import subprocess
import sys
from pathlib import Path


def explore(demo_frames: Path, out: Path, store: Path, *options: str) -> subprocess.CompletedProcess:
    command = ["explore", str(demo_frames), "-o", str(out), "-b", "style", "--features", str(store), *options]
    return subprocess.run([sys.executable, "-m", "whodirected", *command], capture_output=True, text=True)


def test_explore_writes_a_self_contained_report(demo_frames: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = explore(demo_frames, out, tmp_path / "store")
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    for director in ("Agnès Varda", "Wes Anderson"):
        assert f"<h2>{director}</h2>" in page
    assert "only 2 film(s)" in page  # few films per director is flagged
    assert page.count("data:image/png;base64,") >= 2 and "data:image/jpeg;base64," in page
    assert "http://" not in page and "https://" not in page  # nothing from a CDN
    from whodirected.features.backbones import REGISTRY

    if REGISTRY["faces"].available():  # the demo's drawn films have no faces: every frame is "no face"
        assert (
            "<h2>Shot scale</h2>" in page
            and page.count("Shot scale: close-up 0%, medium 0%, long 0%, no face 100%") == 2
        )
    without = explore(demo_frames, tmp_path / "plain.html", tmp_path / "store", "--no-faces")
    assert without.returncode == 0 and "Shot scale" not in (tmp_path / "plain.html").read_text(
        encoding="utf-8"
    )
