"""``whodirected serve``."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from whodirected._cli.options import ConfigOption, DeviceOption, ModelOption, fail, settings
from whodirected.config import ServeConfig as D


def serve(
    model: ModelOption = Path("model"),
    host: Annotated[
        str | None, typer.Option(help=f"Address to bind (default {D.host}: this computer only).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help=f"Port, 0: any free one (default {D.port}).")
    ] = None,
    max_upload_mb: Annotated[
        float | None,
        typer.Option(
            min=0.001, help=f"Largest accepted upload in MB (default {D.max_upload_bytes / 1e6:g})."
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            help="Also answer to this Host name (repeatable), e.g. the computer's name on your LAN."
        ),
    ] = None,
    docs: Annotated[
        bool | None, typer.Option("--docs", help="Serve the API docs at /docs (offline).")
    ] = None,
    device: DeviceOption = None,
    config: ConfigOption = None,
) -> None:
    """Serve a local web page: drop a screenshot, see the ranked directors and the evidence."""
    chosen = settings(
        config,
        "serve",
        host=host,
        port=port,
        max_upload_bytes=None if max_upload_mb is None else int(max_upload_mb * 1_000_000),
        allowed_hosts=tuple(allowed_host) if allowed_host else None,
        docs=docs,
    )
    try:
        import uvicorn

        from whodirected.app.serve import create_app, header_deadline
    except ImportError as exc:
        fail(f"the web page needs the [web] extra: pip install 'whodirected[web]' ({exc})", 2)
    from whodirected._cli.console import console
    from whodirected.errors import WhodirectedError
    from whodirected.models.model import Model

    try:
        trained = Model.load(model)
        trained.device = device
        web = create_app(trained, chosen)
    except WhodirectedError as exc:
        fail(str(exc), 2)
    # IPPROTO_TCP named: asyncio then sets TCP_NODELAY on every connection (no 40 ms delayed-ACK waits)
    sock = socket.socket(
        socket.AF_INET6 if ":" in chosen.host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP
    )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((chosen.host, chosen.port))  # bound here, so port 0 can pick a free port
    except OSError as exc:
        fail(f"cannot listen on {chosen.host}:{chosen.port} ({exc.strerror or exc})", 2)
    shown = f"[{chosen.host}]" if ":" in chosen.host else chosen.host
    console.print(
        f"whodirected page at http://{shown}:{sock.getsockname()[1]}/  (Ctrl+C to stop)", highlight=False
    )
    protocol = header_deadline(chosen.header_timeout)
    uvicorn.Server(uvicorn.Config(web, log_level="warning", http=protocol)).run(sockets=[sock])
