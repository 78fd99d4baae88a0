"""The web page and its API, served by a real uvicorn process and driven by a real browser."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from whodirected.features.dataset import load_dataset
from whodirected.models.model import Model

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_model: Path) -> Iterator[str]:
    """``whodirected serve`` in its own process on a free port, with a 1 MB upload cap."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "whodirected", "serve", "--model", str(demo_model), "--port", str(port),
         "--max-upload-mb", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"server exited: {process.stderr.read()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not start within 60 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def post(url: str, data: bytes, name: str = "shot.png", **form) -> httpx.Response:
    return httpx.post(f"{url}/api/predict", files={"file": (name, data)}, data=form, timeout=60)


def test_good_image_gives_the_predict_json(server: str, demo_frames: Path, demo_model: Path) -> None:
    frame = load_dataset(demo_frames).frames.iloc[3]
    reply = post(server, Path(frame.path).read_bytes(), "frame.jpg", top_k="2")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    (prediction,) = body["predictions"]
    assert prediction["source"] == "frame.jpg" and len(prediction["ranking"]) == 2
    assert prediction["ranking"][0]["director"] == frame.director
    expected = Model.load(demo_model).predict(frame.path)
    assert abs(prediction["confidence"] - expected.confidence) < 1e-4
    thumb = httpx.get(f"{server}/api/evidence/{prediction['evidence'][0]['id']}.jpg")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.content)).format == "JPEG"
    assert httpx.get(f"{server}/api/evidence/999999.jpg").status_code == 404
    assert httpx.get(f"{server}/api/evidence/..%2Fmodel.json").status_code in (404, 422)
    info = httpx.get(f"{server}/api/model").json()
    assert info["directors"] == body["model"]["directors"] and info["training_set"]["frames"] > 0
    assert httpx.get(f"{server}/openapi.json").json()["paths"]["/api/predict"]


def test_bad_uploads_get_one_clear_error(server: str) -> None:
    cases = {
        "non-image": (
            post(server, b"just some text, not a picture", "notes.png"),
            415,
            "not a readable image",
        ),
        "empty": (post(server, b"", "empty.png"), 400, "empty"),
        "oversize": (post(server, os.urandom(1_200_000), "big.png"), 413, "limit"),
        "bomb": (post(server, png(Image.new("1", (20000, 20000))), "bomb.png"), 413, "pixel limit"),
        "missing field": (httpx.post(f"{server}/api/predict", data={"top_k": "3"}), 422, "file"),
    }
    for name, (reply, status, needle) in cases.items():
        assert reply.status_code == status, (name, reply.status_code, reply.text)
        assert set(reply.json()) == {"error"} and needle in reply.json()["error"], (name, reply.text)


def test_concurrent_requests_each_get_their_own_answer(server: str, demo_frames: Path, demo_model: Path):
    frames = load_dataset(demo_frames).frames
    rows = [frames.iloc[i] for i in np.linspace(0, len(frames) - 1, 12).astype(int)]
    model = Model.load(demo_model)
    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(lambda r: post(server, Path(r.path).read_bytes(), Path(r.path).name), rows))
    for row, reply in zip(rows, replies, strict=True):
        (prediction,) = reply.json()["predictions"]
        assert prediction["source"] == Path(row.path).name
        expected = model.predict(row.path)
        assert prediction["ranking"][0]["director"] == expected.ranking[0].director
        assert abs(prediction["confidence"] - expected.confidence) < 1e-4


def test_page_in_a_real_browser(server: str, demo_frames: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not installed (Debian package chromium; `make test` installs it)")
    from playwright.sync_api import sync_playwright

    frame = load_dataset(demo_frames).frames.iloc[0]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(server)
            page.set_input_files("#file", frame.path)
            page.wait_for_selector("#result.shown", timeout=30_000)
            assert page.inner_text("#verdict") in (frame.director, "Unknown director")
            assert frame.director in page.inner_text("#bars")
            page.wait_for_function("document.querySelectorAll('#evidence img').length > 0")
            page.screenshot(path=str(ARTIFACTS / "serve-page.png"), full_page=True)
            page.set_input_files(
                "#file", files=[{"name": "x.png", "mimeType": "image/png", "buffer": b"nope"}]
            )
            page.wait_for_function("document.querySelector('#error').textContent.includes('415')")
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(server)
            phone.set_input_files("#file", frame.path)
            phone.wait_for_selector("#result.shown", timeout=30_000)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            phone.screenshot(path=str(ARTIFACTS / "serve-page-phone.png"), full_page=True)
        finally:
            browser.close()
