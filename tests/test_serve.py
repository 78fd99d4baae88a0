"""The web page and its API, served by a real uvicorn process and driven by a real browser."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from whodirected.features.dataset import load_dataset
from whodirected.models.model import Model

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


BODY_TIMEOUT = 2.0


@contextmanager
def serving(model: Path, *options: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """``whodirected serve --model MODEL OPTIONS`` in its own process on a free port, up and
    answering; yields its URL and process, and stops it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "whodirected", "serve", "--model", str(model), "--port", str(port), *options],
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
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server_process(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``whodirected serve --docs`` with a 1 MB upload cap and a 2-second body timeout; yields
    its URL and PID."""
    config = tmp_path_factory.mktemp("serve") / "serve.toml"
    config.write_text(f"[serve]\nbody_timeout = {BODY_TIMEOUT}\nheader_timeout = {BODY_TIMEOUT}\n")
    with serving(demo_model, "--max-upload-mb", "1", "--docs", "--config", str(config)) as (url, process):
        yield url, process.pid


@pytest.fixture(scope="module")
def server(server_process: tuple[str, int]) -> str:
    return server_process[0]


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
    assert "versions" not in info and "path" not in info and "path" not in body["model"]
    assert info["open_set"]["threshold"] == prediction["min_confidence"]
    assert httpx.get(f"{server}/openapi.json").json()["paths"]["/api/predict"]

    picture = Image.open(frame.path).convert("RGB")  # a screenshot of a web page around the frame
    page = Image.new("RGB", (picture.width * 3 // 2 + 60, picture.height * 3 // 2 + 40), (255, 255, 255))
    page.paste(picture, (20, 30))
    draw = ImageDraw.Draw(page)
    draw.text((20, picture.height + 40), "The film's title, and who uploaded it", fill=(20, 20, 20))
    draw.rectangle(
        (picture.width + 40, 30, picture.width * 5 // 4 + 40, 30 + picture.height // 4), fill=(200, 60, 60)
    )
    (on_page,) = post(server, png(page), "page.png").json()["predictions"]
    assert on_page["ranking"][0]["director"] == frame.director
    assert on_page["evidence"][0]["id"] == prediction["evidence"][0]["id"]


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
        "two files": (
            httpx.post(f"{server}/api/predict", files=[("file", ("a.png", b"1")), ("file", ("b.png", b"2"))]),
            400,
            "one image per request",
        ),
        "not multipart": (
            httpx.post(
                f"{server}/api/predict",
                content=b"--x\r\nbroken",
                headers={"Content-Type": "multipart/form-data; boundary=x"},
            ),
            422,  # python-multipart reads what it can: the field is missing
            "multipart",
        ),
        "unknown path": (httpx.get(f"{server}/nothing/here"), 404, "nothing at /nothing/here"),
        "wrong method": (httpx.get(f"{server}/api/predict"), 405, "GET is not allowed"),
        "bad evidence id": (httpx.get(f"{server}/api/evidence/abc.jpg"), 404, "no such evidence frame"),
        "bad host": (httpx.get(f"{server}/api/model", headers={"Host": "evil.example"}), 421, "evil.example"),
        "cross-site": (
            httpx.post(
                f"{server}/api/predict",
                files={"file": ("a.png", b"x")},
                headers={"Origin": "http://evil.example"},
            ),
            403,
            "other web sites",
        ),
    }
    for name, (reply, status, needle) in cases.items():
        assert reply.status_code == status, (name, reply.status_code, reply.text)
        assert set(reply.json()) == {"error"} and needle in reply.json()["error"], (name, reply.text)
        assert "object at 0x" not in reply.text and "Traceback" not in reply.text, (name, reply.text)
    same_site = httpx.post(
        f"{server}/api/predict", files={"file": ("a.png", b"x")}, headers={"Origin": server}
    )
    assert same_site.status_code == 415  # the page's own origin passes the check, then the bytes are judged


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_request(url: str, head: bytes, chunks, read_after: float = 30.0) -> bytes:
    """Send ``head`` then ``chunks`` on a raw socket, stopping as soon as the server answers."""
    import select

    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_after) as sock:
        sock.sendall(head)
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:  # the server has answered: stop sending
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                    break
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def test_oversize_chunked_upload_is_cut_at_the_cap(server_process: tuple[str, int]) -> None:
    url, pid = server_process
    before = rss_kib(pid)
    boundary = b"cut"
    head = (
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: multipart/form-data; boundary=" + boundary + b"\r\n\r\n"
    )
    part = b'--cut\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n\r\n'
    block = os.urandom(64 * 1024)
    chunks = [b"%x\r\n%s\r\n" % (len(part), part)] + [b"%x\r\n%s\r\n" % (len(block), block)] * 960  # 60 MB
    start = time.monotonic()
    answer = raw_request(url, head, chunks)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"byte limit" in answer and time.monotonic() - start < 20
    assert rss_kib(pid) - before < 30_000  # nothing near 60 MB was kept


def test_a_stalled_body_gets_408(server: str) -> None:
    head = (
        b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n"
        b"Content-Type: multipart/form-data; boundary=x\r\n\r\n--x\r\n"
    )
    start = time.monotonic()
    answer = raw_request(server, head, [], read_after=BODY_TIMEOUT + 10)
    waited = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"stalled" in answer and BODY_TIMEOUT - 0.5 < waited < BODY_TIMEOUT + 5


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


WATCH_BUSY = """() => {
  window.sawBusy = false; window.sawStale = false;
  const look = () => {
    if (!document.getElementById('busy').hidden) window.sawBusy = true;
    if (document.getElementById('result').classList.contains('stale')) window.sawStale = true;
  };
  new MutationObserver(look).observe(document.body, {subtree: true, attributes: true});
}"""
PASTE_TEXT = """() => {
  const data = new DataTransfer();
  data.setData('text/plain', 'not a picture');
  document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data}));
}"""


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
            page.evaluate(WATCH_BUSY)
            page.set_input_files("#file", frame.path)
            page.wait_for_selector("#result.shown", timeout=30_000)
            assert page.evaluate("window.sawBusy") and page.is_hidden("#busy")  # shown while it worked
            page.evaluate(WATCH_BUSY)
            page.set_input_files("#file", frame.path)  # a second look: the old answer is dimmed meanwhile
            page.wait_for_function(
                "window.sawBusy && !document.querySelector('#result').classList.contains('stale')"
            )
            assert page.evaluate("window.sawStale")
            assert page.inner_text("#verdict") in (frame.director, "Unknown director")
            assert frame.director in page.inner_text("#bars")
            page.wait_for_function("document.querySelectorAll('#evidence img').length > 0")
            page.wait_for_selector("#heat:not([hidden])", timeout=30_000)  # then why: the heat map
            assert page.inner_text("#why-note").startswith("Red: regions that pulled the verdict towards")
            page.screenshot(path=str(ARTIFACTS / "serve-page.png"), full_page=True)
            page.uncheck("#show-heat")
            assert page.is_hidden("#heat")
            page.check("#show-heat")
            other = page.eval_on_selector_all("#heat-for option", "os => os.map(o => o.value)")[-1]
            page.select_option("#heat-for", other)  # explain another director
            page.wait_for_function(
                f"document.querySelector('#why-note').textContent.includes({json.dumps(other)})"
                " && document.querySelector('#why-note').textContent.startsWith('Red')"
            )
            page.set_input_files(
                "#file", files=[{"name": "x.png", "mimeType": "image/png", "buffer": b"nope"}]
            )
            page.wait_for_function("document.querySelector('#error').textContent.includes('415')")
            assert "object at 0x" not in page.inner_text("#error")
            page.evaluate(PASTE_TEXT)
            assert "text, not a picture" in page.inner_text("#error")
            outside: list[str] = []
            docs = browser.new_page()
            docs.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
            docs.goto(f"{server}/docs")
            docs.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
            assert not outside, outside  # the API docs load nothing from outside this computer
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(server)
            phone.set_input_files("#file", frame.path)
            phone.wait_for_selector("#result.shown", timeout=30_000)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
            phone.screenshot(path=str(ARTIFACTS / "serve-page-phone.png"), full_page=True)
        finally:
            browser.close()


def _peak_rss_mb(pid: int) -> float:
    """The process's largest resident memory so far (Linux's VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    pytest.skip("no /proc/PID/status VmHWM on this system")


def test_refusals_close_the_connection_and_huge_pictures_stay_bounded(
    server_process: tuple[str, int], demo_model: Path
) -> None:
    server, pid = server_process
    assert httpx.head(f"{server}/").status_code == 200
    tiny = {"file": ("a.png", png(Image.new("RGB", (64, 48), (90, 120, 200))), "image/png")}
    forged = httpx.post(f"{server}/api/predict", files=tiny, headers={"Origin": "null"})
    assert forged.status_code == 403 and forged.headers["connection"] == "close"
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])), timeout=10) as sock:
        sock.sendall(
            b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            b"Content-Length: 1000000000000\r\n\r\n" + b"x" * 65536
        )
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 413") and b"connection: close" in answer.lower()
        sent = 0
        try:  # the server reads no more: the connection is closed, or the writes stall
            while sent < 64 << 20:
                sock.sendall(b"x" * 65536)
                sent += 65536
        except OSError:
            pass
        assert sent < 64 << 20, "the server kept reading after its 413"

    for preamble in (b"", b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'):
        # chunked: no length to refuse up front; a broken form (400) or one past the cap (413)
        with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])), timeout=10) as sock:
            sock.sendall(
                b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                b"Content-Type: multipart/form-data; boundary=x\r\n\r\n"
                + (b"%x\r\n%s\r\n" % (len(preamble), preamble) if preamble else b"")
            )
            sent, chunk = 0, b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
            try:
                while sent < 64 << 20:
                    sock.sendall(chunk)
                    sent += 65536
            except OSError:
                pass
            assert sent < 32 << 20, f"the server read {sent:,} bytes of a refused upload"

    # 59-megapixel grey pictures (a few kilobytes each as PNG), decoded a few at a time
    big = png(Image.new("L", (7700, 7650), 128))
    assert len(big) < 1_000_000
    with ThreadPoolExecutor(6) as pool:
        answers = list(
            pool.map(
                lambda _: httpx.post(
                    f"{server}/api/predict", files={"file": ("big.png", big, "image/png")}, timeout=120
                ),
                range(6),
            )
        )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert _peak_rss_mb(pid) < 1536  # the bound: 8 at once once peaked at 5.1 GB


def test_the_api_schema_is_served_only_with_docs(demo_model: Path) -> None:
    with serving(demo_model) as (url, _):
        assert httpx.get(f"{url}/openapi.json").status_code == 404


def test_headers_sent_a_byte_at_a_time_are_cut_off(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=BODY_TIMEOUT * 4) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        closed = False
        while time.monotonic() - start < BODY_TIMEOUT * 4 and not closed:
            try:
                sock.sendall(b"X")  # a header that never ends
                sock.settimeout(0.5)
                closed = sock.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
    assert closed and time.monotonic() - start < BODY_TIMEOUT * 3
    assert httpx.get(f"{server}/healthz").status_code == 200  # whole requests are still answered


def test_the_api_explains_a_director_on_request(server: str, demo_frames: Path) -> None:
    frame = load_dataset(demo_frames).frames.iloc[0]
    upload = {"file": ("shot.jpg", Path(frame.path).read_bytes(), "image/jpeg")}
    plain = httpx.post(f"{server}/api/predict", files=upload).json()["predictions"][0]
    assert plain["explanation"] is None  # only when asked: it costs a batch of its own
    last = plain["ranking"][-1]["director"]
    asked = httpx.post(f"{server}/api/predict", files=upload, data={"explain": last}, timeout=60)
    explanation = asked.json()["predictions"][0]["explanation"]
    assert explanation["director"] == last and len(explanation["grid"]) == explanation["rows"]
    wrong = httpx.post(f"{server}/api/predict", files=upload, data={"explain": "Nobody"})
    assert wrong.status_code == 400 and "explain" in wrong.json()["error"]
