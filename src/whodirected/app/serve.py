"""The local web page and its API (FastAPI), a thin layer over ``Model.predict_many``.

``create_app(model)`` builds the app, so tests and other servers can import it;
``whodirected serve`` runs it with uvicorn. The model is loaded once and shared.

- ``POST /api/predict``: one image as the multipart field ``file`` (optional ``top_k``) →
  the JSON of ``whodirected predict --json``; more than one file is refused (400);
- ``GET /api/model``: directors, backbone, training set and the unknown-director thresholds;
- ``GET /api/evidence/{id}.jpg``: a training frame's thumbnail, by its id in the model's index;
- ``GET /healthz``; ``GET /`` the page; ``GET /docs`` the API docs, served from this machine,
  with ``--docs`` only.

Hardened for a local server (:class:`Guard`): the body is counted as it arrives and cut at
the cap (413), a body that stalls gets 408, a Host that is not this server's gets 421 (DNS
rebinding), a cross-site POST gets 403, and every error, the framework's own included, is
``{"error": "<a sentence>"}``. Uploads are decoded in worker threads, so a rejection never
waits behind a prediction; predictions run in one inference thread, and requests that arrive
while it works go through the model together, in one batch.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from whodirected import __version__
from whodirected.config import PredictConfig, ServeConfig
from whodirected.errors import ImageError, ImageTooLarge
from whodirected.features.images import WORK_SIDE, open_image, trim_borders, work_copy
from whodirected.models.model import Model
from whodirected.models.prediction import Prediction
from whodirected.predict.output import PredictionReport

FORM_OVERHEAD = 64_000  # bytes a multipart request may carry beyond the file itself
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" '
    'fill="#0a5cd6"/><path d="M7 11h18v10H7z" fill="none" stroke="#fff" stroke-width="2.5"/>'
    '<circle cx="16" cy="16" r="3" fill="#fff"/></svg>'
)


CLOSING = {403, 408, 413, 421}  # refusals after which the connection is closed: nothing more is read


def _error(status: int, message: str) -> JSONResponse:
    headers = {"Connection": "close"} if status in CLOSING else None
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def model_summary(model: Model) -> dict:
    """What the page and ``GET /api/model`` show of a model (no paths, no package versions)."""
    training = model.meta.get("training_set", {})
    return {
        "backbone": model.backbone,
        "directors": model.classes,
        "training_set": {k: training[k] for k in ("frames", "films", "held_out_units") if k in training},
        "open_set": model.open_set.to_dict() if model.open_set else None,
        "evidence_frames": len(model.index) if model.index is not None else 0,
    }


def host_name(value: str) -> str:
    """The name of a Host header or an Origin's netloc, without port or IPv6 brackets."""
    return (urlsplit(f"//{value}").hostname or "").lower()


class Guard:
    """ASGI middleware for the limits the framework does not enforce on its own."""

    def __init__(self, app: Any, config: ServeConfig) -> None:
        self.app, self.config = app, config
        names = {h.lower() for h in config.allowed_hosts}
        bound = config.host.strip("[]").lower()
        # on a loopback bind only this computer's names; shared on a LAN, any unless some are listed
        self.hosts: set[str] | None = LOOPBACK | names | {bound} if bound in LOOPBACK or names else None
        self.cap = config.max_upload_bytes + FORM_OVERHEAD

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal:
            return await _error(*refusal)(scope, receive, send)
        failure: list[tuple[int, str]] = []
        received = 0

        async def counted() -> dict:
            nonlocal received
            if failure:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), self.config.body_timeout)
            except TimeoutError:
                failure.append((408, f"the upload stalled for {self.config.body_timeout:g} s; send it again"))
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done[0] = not message.get("more_body", False)
                if received > self.cap:  # stop reading: nothing past the cap is kept
                    failure.append((413, f"upload is over the {self.config.max_upload_bytes:,}-byte limit"))
                    return {"type": "http.disconnect"}
            return message

        started = False
        body_done = [scope["method"] in ("GET", "HEAD", "OPTIONS")]

        async def checked(message: dict) -> None:
            nonlocal started
            if failure:
                return  # the app's answer to a cut-off body is replaced by ours below
            if message["type"] == "http.response.start" and message["status"] >= 400 and not body_done[0]:
                # an error before the body was read whole: close, rather than read the rest of it
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            started = True
            await send(message)

        try:
            await self.app(scope, counted, checked)
        except Exception:
            if not failure:
                raise
        if failure and not started:
            await _error(*failure[0])(scope, receive, send)

    def _refusal(self, scope: dict, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if self.hosts is not None and host_name(host) not in self.hosts:
            return 421, f"this server answers to {', '.join(sorted(self.hosts))}, not {host or 'no Host'}"
        if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            origin = headers.get("origin")
            if headers.get("sec-fetch-site") == "cross-site" or (
                origin and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower())
            ):
                return 403, "requests from other web sites are refused; use the page this server serves"
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.cap:
            return (
                413,
                f"upload of {int(length):,} bytes is over the {self.config.max_upload_bytes:,}-byte limit",
            )
        return None


def header_deadline(seconds: float) -> type:
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's line and headers: a
    connection that has not sent them whole within ``seconds`` of opening (or of its previous
    answer) is closed, so a trickle of one byte every few seconds cannot hold it open. The body
    has its own deadline (:class:`Guard`)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def _arm(self) -> None:
            self.loop.call_later(seconds, self._expire, self.conn)

        def _expire(self, conn: Any) -> None:
            # h11 stays IDLE until a request's headers are whole; a later request re-arms
            if conn is self.conn and conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadline


class Batcher:
    """Predictions in one inference thread; requests that arrive while it works wait together
    and go through the model as one batch (at most ``max_batch``)."""

    def __init__(self, model: Model, max_batch: int) -> None:
        self.model, self.max_batch = model, max_batch
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self.queue: asyncio.Queue | None = None

    async def predict(self, picture: Any, name: str, explain_for: str | bool = False) -> Prediction:
        """The prediction of one picture; ``explain_for`` adds a heat map, computed apart in the
        same thread (it takes a batch of its own)."""
        loop = asyncio.get_running_loop()
        if explain_for:
            call = partial(
                self.model.predict_many,
                [picture],
                sources=[name],
                trim_borders=False,
                explain_for=explain_for,
            )
            return (await loop.run_in_executor(self.pool, call))[0]
        if self.queue is None:
            self.queue = asyncio.Queue()
            loop.create_task(self._work())
        answer: asyncio.Future = loop.create_future()
        await self.queue.put((picture, name, answer))
        return await answer

    def _predict(self, pictures: list, names: list[str]) -> list[Prediction]:
        return self.model.predict_many(pictures, sources=names, trim_borders=False)

    async def _work(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            pictures, names = [b[0] for b in batch], [b[1] for b in batch]
            try:
                results = await loop.run_in_executor(self.pool, partial(self._predict, pictures, names))
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
                results = [exc] * len(batch)
            for (_, _, answer), result in zip(batch, results, strict=True):
                if answer.done():
                    continue
                if isinstance(result, Exception):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)


def _app(config: ServeConfig) -> FastAPI:
    """FastAPI, with the API docs served from this machine when ``config.docs`` (never a CDN)."""
    common = {"title": "whodirected", "version": __version__, "description": "Who directed this shot?"}
    if config.docs:
        from fastapi_offline import FastAPIOffline

        return FastAPIOffline(redoc_url=None, favicon_url="/favicon.svg", **common)
    return FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **common)


def create_app(model: Model | str, config: ServeConfig | None = None) -> FastAPI:
    """The app for ``model`` (a loaded model or its folder)."""
    config = config or ServeConfig()
    model = model if isinstance(model, Model) else Model.load(model)
    batcher = Batcher(model, config.max_batch)
    # built once, before the first request (raises for an unusable backbone), and in the
    # inference thread: PyTorch's OpenMP threads then serve that thread, not the event loop's
    batcher.pool.submit(model.extractors).result()
    summary = model_summary(model)
    page = resources.files("whodirected.app").joinpath("web/index.html").read_text(encoding="utf-8")
    app = _app(config)
    app.add_middleware(Guard, config=config)
    decoding = asyncio.Semaphore(config.max_decodes)  # each may hold a 60-megapixel picture at full size

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        framework = {  # the framework's own terse details, as sentences for a person
            404: f"nothing at {request.url.path}",
            405: f"{request.method} is not allowed on {request.url.path}",
            400: "the upload is not a readable multipart form; send the image as the multipart field 'file'",
        }
        ours = exc.status_code not in framework or exc.detail == "no such evidence frame"
        return _error(exc.status_code, str(exc.detail) if ours else framework[exc.status_code])

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path.startswith("/api/evidence/"):
            return _error(404, "no such evidence frame")
        fields = ", ".join(sorted({str(e["loc"][-1]) for e in exc.errors()}))
        return _error(422, f"invalid or missing {fields}; send one image as the multipart field 'file'")

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, "the server failed on this request; its log says why")

    @app.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page

    @app.get("/favicon.svg", include_in_schema=False)
    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(FAVICON, media_type="image/svg+xml")

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/api/model")
    async def model_info() -> dict:
        return summary

    @app.get("/api/evidence/{frame_id}.jpg", responses={200: {"content": {"image/jpeg": {}}}})
    async def evidence(frame_id: int) -> Response:
        """A training frame's thumbnail, by id in the model's own index (never by path)."""
        if model.index is None or not 0 <= frame_id < len(model.index):
            raise HTTPException(404, "no such evidence frame")
        return Response(model.index.thumbnail(frame_id), media_type="image/jpeg")

    @app.post("/api/predict")
    async def predict(
        request: Request,
        file: Annotated[UploadFile, File(description="The screenshot: any image format; one per request")],
        top_k: Annotated[int, Form(ge=1, le=100)] = PredictConfig.top_k,
        explain: Annotated[
            str, Form(max_length=500, description="A director to explain (a heat map), or 'top'")
        ] = "",
    ) -> JSONResponse:
        uploads = (await request.form()).getlist("file")
        if len(uploads) > 1:
            return _error(400, f"send one image per request, not {len(uploads)}")
        data = await file.read(config.max_upload_bytes + 1)
        if len(data) > config.max_upload_bytes:
            return _error(413, f"upload is over the {config.max_upload_bytes:,}-byte limit")
        name = file.filename or "upload"
        if explain and explain != "top" and explain not in model.classes:
            return _error(400, "explain: not one of the model's directors (see /api/model)")
        if not data:
            return _error(400, f"{name}: empty upload")
        try:  # decoded in a worker thread, a few at once: a bad upload never waits behind predictions
            async with decoding:
                picture = await asyncio.to_thread(_decode, data, name, config.max_pixels)
        except ImageTooLarge as exc:
            return _error(413, str(exc))
        except ImageError as exc:
            return _error(415, str(exc))
        prediction = await batcher.predict(picture, name, True if explain == "top" else explain)
        return JSONResponse(PredictionReport.of(model, [prediction], with_path=False).to_dict(top_k))

    app.state.model, app.state.pool = model, batcher.pool
    return app


def _decode(data: bytes, name: str, max_pixels: int):
    """The upload as the picture that waits for the model: small (:func:`work_copy`)."""
    return work_copy(trim_borders(open_image(data, max_pixels, name=name, work_side=WORK_SIDE)))
