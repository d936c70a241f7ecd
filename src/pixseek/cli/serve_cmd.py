"""`pixseek serve`: the HTTP API and web UI under uvicorn."""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from pixseek.cli.common import fail, non_negative_int, positive_int, settings_from_args
from pixseek.models.loader import STARTER
from pixseek.models.pack_manifest import ModelPackFiles

APP_FACTORY = "pixseek.api.app:create_app"


def register(subparsers: argparse._SubParsersAction) -> None:
    help_text = "serve the HTTP API and the web UI (/ui)"
    p = subparsers.add_parser("serve", help=help_text, description=help_text)
    p.add_argument("--db", help="store folder (default: $PIXSEEK_DB or the user data dir)")
    p.add_argument("--pack", help="model pack: 'starter' or a model directory ($PIXSEEK_MODELS)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port_number, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    # Say what is wrong before the workers start loading models: a bad PIXSEEK_* setting, a busy port.
    try:
        settings = settings_from_args(args)
        if settings.inference == "local" and settings.models != STARTER:
            ModelPackFiles(
                Path(settings.models)
            )  # reads pack.json: a wrong --pack fails here, not in a worker
    except ValueError as exc:  # PackFormatError too
        return fail(str(exc))
    if problem := cannot_listen(args.host, args.port):
        return fail(f"cannot listen on {args.host}:{args.port}: {problem}", code=3)
    # Workers build their app from the import-string factory, which reads Settings from the
    # environment: pass the flags on that way so every worker sees the same store and pack.
    if args.db:
        os.environ["PIXSEEK_DB"] = str(args.db)
    if args.pack:
        os.environ["PIXSEEK_MODELS"] = args.pack
    # Observability: a clean PROMETHEUS_MULTIPROC_DIR so /metrics sums every worker, and one log
    # format (JSON with PIXSEEK_LOG_JSON=1) carrying request ids, in every worker.
    from pixseek.api.observability_serve import observed_serving

    with observed_serving(args.workers, args.log_level) as log_config:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            log_config=log_config,
            # Workers load models at start; on a busy small machine that outlasts the 5 s default ping.
            timeout_worker_healthcheck=60,
        )
    return 0


def port_number(text: str) -> int:
    port = non_negative_int(text)
    if port > 65_535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535: {port}")
    return port


def cannot_listen(host: str, port: int) -> str | None:
    """Why binding host:port fails now (in use, no such address), or None when it works."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
