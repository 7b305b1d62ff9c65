"""`nsp serve`: load the model once, then serve the page and the HTTP API (nsp/serve/app.py) until Ctrl-C.

Everything the server writes lives in one private temporary directory, removed when the server stops."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from nsp.errors import NSPError


def run(args) -> int:
    for name in ("max_upload_mb", "max_clip_seconds", "timeout", "max_queued", "max_steps", "max_scenes"):
        if getattr(args, name) <= 0:
            raise NSPError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be positive")
    if not 0 <= args.port <= 65535:
        raise NSPError(f"--port {args.port}: must be 0..65535")
    if args.max_steps < 2:
        raise NSPError(f"--max-steps {args.max_steps}: must be at least 2")

    import uvicorn

    from nsp.cli.common import pick_device, resolve_checkpoint
    from nsp.pipeline import NSPPipeline
    from nsp.serve.app import Limits, build_app

    checkpoint = resolve_checkpoint(args.checkpoint)
    _check_port(args.host, args.port)  # before the model loads, not after
    limits = Limits(max_upload_mb=args.max_upload_mb, max_clip_seconds=args.max_clip_seconds, timeout=args.timeout,
                    max_queued=args.max_queued, max_steps=args.max_steps, max_scenes=args.max_scenes)
    print(f"loading {checkpoint} ...", file=sys.stderr)
    pipe = NSPPipeline.from_pretrained(checkpoint, device=pick_device(args.device))
    if not _is_loopback(args.host):
        print(f"warning: serving on {args.host}: anyone who can reach this machine can use the model",
              file=sys.stderr)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    workdir = Path(tempfile.mkdtemp(prefix="nsp-serve-"))  # mode 0700: only this user can read uploads
    try:
        app = build_app(pipe, limits, workdir)
        print(f"nsp serve: http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=5)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        reason = os.strerror(err.errno) if err.errno else str(err)
        raise NSPError(f"--host {host} --port {port}: cannot listen there ({reason})") from None
