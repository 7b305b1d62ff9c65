"""`nsp serve`: load the model once, then serve the page and the HTTP API (nsp/serve/app.py) until Ctrl-C.

Everything the server writes lives in one private temporary directory, removed when the server stops."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

from nsp.cli.args import BF16_HELP, at_least, count, positive, positive_float
from nsp.errors import NSPError


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="a web page and an HTTP API that predict the next scene of uploaded clips",
                       description="Serve the model: a page at http://HOST:PORT/ to upload a clip, set the sampling "
                                   "and watch the prediction, and an HTTP API (POST /api/predict with a multipart "
                                   "field clip -> the mp4; POST /api/jobs + GET /api/jobs/ID for progress). Requests "
                                   "are queued and run one at a time; uploads live in a private temporary directory "
                                   "only until decoded.")
    p.add_argument("--checkpoint", help="checkpoint directory (default: the demo's, runs/demo/final, or "
                                        "$NSP_CHECKPOINT)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only; "
                                                       "0.0.0.0 lets anyone who can reach it in)")
    p.add_argument("--port", type=count, default=7860, help="port (default 7860)")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--bf16", action="store_true", help=BF16_HELP)
    p.add_argument("--max-upload-mb", type=positive_float, default=200.0, help="largest upload accepted (default 200 MB)")
    p.add_argument("--max-clip-seconds", type=positive_float, default=300.0, help="longest clip accepted (default 300 s)")
    p.add_argument("--timeout", type=positive_float, default=600.0,
                   help="seconds from a request to its finished prediction, queueing included, before it is "
                        "stopped (default 600)")
    p.add_argument("--max-queued", type=positive, default=8, help="requests that may wait; more get 503 (default 8)")
    p.add_argument("--max-steps", type=at_least(2), default=100, help="most denoising steps a request may ask (default 100)")
    p.add_argument("--max-scenes", type=positive, default=8, help="most scenes a request may ask (default 8)")
    p.add_argument("--max-pixels", type=positive, default=4096 * 2160,
                   help="largest frame accepted, in pixels (default 4096x2160: 4K); checked from the clip's header "
                        "before decoding, and again frame by frame")
    p.add_argument("--read-timeout", type=positive_float, default=30.0,
                   help="seconds a client may take to send its whole request, upload included; slower connections "
                        "are closed (default 30)")
    p.set_defaults(handler=run)


def run(args) -> int:
    if args.port > 65535:
        raise NSPError(f"--port {args.port}: must be 0..65535")

    import uvicorn

    from nsp.cli.common import resolve_checkpoint
    from nsp.pipeline import NSPPipeline
    from nsp.runtime import pick_device
    from nsp.serve.app import Limits, Server, build_app
    from nsp.serve.http import ClosingServer, timed_protocol

    checkpoint = resolve_checkpoint(args.checkpoint)
    _check_port(args.host, args.port)  # before the model loads, not after
    limits = Limits(max_upload_mb=args.max_upload_mb, max_clip_seconds=args.max_clip_seconds, timeout=args.timeout,
                    max_queued=args.max_queued, max_steps=args.max_steps, max_scenes=args.max_scenes,
                    max_pixels=args.max_pixels, read_timeout=args.read_timeout)
    print(f"loading {checkpoint} ...", file=sys.stderr)
    pipe = NSPPipeline.from_pretrained(checkpoint, device=pick_device(args.device))
    if args.bf16:
        pipe.enable_bf16()
    if not _is_loopback(args.host):
        print(f"warning: serving on {args.host}: anyone who can reach this machine can use the model",
              file=sys.stderr)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    workdir = Path(tempfile.mkdtemp(prefix="nsp-serve-"))  # mode 0700: only this user can read uploads
    http = None
    try:
        server = Server(pipe, limits, workdir)
        config = uvicorn.Config(build_app(server), host=args.host, port=args.port, log_level="warning",
                                access_log=False, timeout_graceful_shutdown=5, http=timed_protocol(limits.read_timeout))
        http = ClosingServer(config, on_stop=server.close)
        # uvicorn re-raises the stop signal once it has shut down; these handlers take it instead of the default
        # (for SIGTERM: death before the directory below is removed). One arriving before uvicorn listens stops it.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: http.handle_exit(signum, frame))
        print(f"nsp serve: http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
        http.run()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if http is not None and http.stopped_by:
        print(f"nsp serve: stopped by {http.stopped_by}; requests in flight were answered, {workdir} removed",
              file=sys.stderr)
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
