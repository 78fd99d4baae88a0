"""The local web page and its API (FastAPI), a thin layer over ``Model.predict``.

``create_app(model)`` builds the app, so tests and other servers can import it;
``whodirected serve`` runs it with uvicorn. The model is loaded once and shared; each
prediction runs in an inference thread, so the event loop never waits on the network.

- ``POST /api/predict``: a multipart image upload (field ``file``, optional ``top_k``) →
  the JSON of ``whodirected predict --json``;
- ``GET /api/model``: directors, backbone and training figures;
- ``GET /api/evidence/{id}.jpg``: a training frame's thumbnail, by its id in the model's index;
- ``GET /healthz``; ``GET /`` the page; ``GET /docs`` the OpenAPI docs.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response

from whodirected import __version__
from whodirected.config import PredictConfig, ServeConfig
from whodirected.features.images import ImageError, ImageTooLarge, open_image, trim_borders
from whodirected.models.model import Model
from whodirected.predict.output import PredictionReport

FORM_OVERHEAD = 64_000  # bytes a multipart request may carry beyond the file itself


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def model_summary(model: Model) -> dict:
    """What the page and ``GET /api/model`` show of a model."""
    return {
        "path": str(model.path) if model.path else None,
        "backbone": model.backbone,
        "directors": model.classes,
        "training_set": model.meta.get("training_set", {}),
        "open_set": model.open_set.to_dict() if model.open_set else None,
        "evidence_frames": len(model.index) if model.index is not None else 0,
        "versions": model.meta.get("versions", {}),
    }


def create_app(model: Model | str | Path, config: ServeConfig | None = None) -> FastAPI:
    """The app for ``model`` (a loaded model or its folder)."""
    config = config or ServeConfig()
    model = model if isinstance(model, Model) else Model.load(model)
    pool = ThreadPoolExecutor(max_workers=config.threads, thread_name_prefix="predict")
    # built once, before the first request (raises for an unusable backbone), and in the
    # inference thread: PyTorch's OpenMP threads then serve that thread, not the event loop's
    pool.submit(model.extractors).result()
    summary = model_summary(model)
    page = resources.files("whodirected.app").joinpath("web/index.html").read_text(encoding="utf-8")
    app = FastAPI(title="whodirected", version=__version__, description="Who directed this shot?")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return _error(422, f"invalid request ({problems}); send an image as the multipart field 'file'")

    @app.middleware("http")
    async def _limit(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > config.max_upload_bytes + FORM_OVERHEAD:
            return _error(
                413, f"upload of {int(length):,} bytes is over the {config.max_upload_bytes:,}-byte limit"
            )
        return await call_next(request)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return page

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok", "version": __version__}

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
        file: Annotated[UploadFile, File(description="The screenshot: any image format")],
        top_k: Annotated[int, Form(ge=1, le=100)] = PredictConfig.top_k,
    ) -> JSONResponse:
        data = await file.read(config.max_upload_bytes + 1)
        if len(data) > config.max_upload_bytes:
            return _error(413, f"upload is over the {config.max_upload_bytes:,}-byte limit")
        name = file.filename or "upload"
        if not data:
            return _error(400, f"{name}: empty upload")
        loop = asyncio.get_running_loop()
        try:
            picture = await loop.run_in_executor(pool, _decode, data, name, config.max_pixels)
        except ImageTooLarge as exc:
            return _error(413, str(exc))
        except ImageError as exc:
            return _error(415, str(exc))
        (prediction,) = await loop.run_in_executor(
            pool, lambda: model.predict_many([picture], sources=[name], trim_borders=False)
        )
        return JSONResponse(PredictionReport.of(model, [prediction]).to_dict(top_k))

    app.state.model, app.state.pool = model, pool
    return app


def _decode(data: bytes, name: str, max_pixels: int):
    return trim_borders(open_image(data, max_pixels, name=name))
