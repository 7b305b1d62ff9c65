"""`nsp serve`'s web app (Starlette): the page and the HTTP API, over one job queue.

    GET  /                   the page (nsp/serve/page.html)
    GET  /api/info           the model's sizes, the defaults and the server's limits
    POST /api/jobs           multipart: clip (a video file), text, steps, guidance, seed, scenes -> 202 + the job
    GET  /api/jobs/ID        the job: status, queue position, progress with ETA, and when done its result
    GET  /api/jobs/ID/video  the prediction (mp4); /context: the context as the model saw it (mp4)
    POST /api/predict        as POST /api/jobs, but waits: the prediction (mp4), its summary in X-NSP-Summary (JSON)

Every error is a 4xx/5xx with {"error": "one line naming the input and the problem"}. Uploads go into a private
directory under a random name (the client's file name is only echoed back, never used as a path). A request only
reads the clip's header (its frame size and length, refused over the limits before any decoding); the clip is decoded
by the job, in the queue's one worker and within the job's time, counting frames and pixels as it goes (a header can
lie, and a raw stream has no length), and deleted once decoded. Result files live in the job's directory until the
job expires."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.routing import Route

from nsp.errors import NSPError
from nsp.pipeline import NSPPipeline
from nsp.serve.jobs import Job, JobQueue, QueueFull, ServerClosing
from nsp.video.io import Clip, ClipTooLarge, DecodeLimits, probe_video, read_context_clip, write_video

log = logging.getLogger("nsp.serve")
PAGE = Path(__file__).with_name("page.html")
FIELDS = ("clip", "text", "steps", "guidance", "seed", "scenes")
CHUNK = 1 << 20
FAILURE_STATUS = {"timeout": 504, "input": 422, "too_large": 413, "shutdown": 503}


@dataclass
class Limits:
    max_upload_mb: float = 200.0
    max_clip_seconds: float = 300.0
    timeout: float = 600.0  # seconds from submission to a finished prediction
    max_queued: int = 8
    max_steps: int = 100
    max_scenes: int = 8
    max_text_chars: int = 2000
    max_pixels: int = 4096 * 2160  # per frame (4K)
    read_timeout: float = 30.0  # seconds a client may take to send its whole request

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 2**20)


@dataclass
class Work:
    """What one job predicts."""

    upload: Path | None  # the clip as uploaded, in the server's private directory, until the job decodes it
    clip_name: str | None  # as the client named it: for display only
    text: str | None
    steps: int
    guidance: float
    seed: int
    scenes: int
    context: Clip | None = None  # the decoded, fitted context


class UploadTooLarge(NSPError):
    failure = "too_large"


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class BodyLimit:
    """Refuses request bodies over the upload limit before reading them (Content-Length), and stops bodies without a
    declared length once they pass it."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        limit_mb = f"{self.max_bytes / 2**20:g} MB"
        if declared is not None and int(declared) > self.max_bytes:
            response = error(413, f"upload: {int(declared) / 2**20:.1f} MB is over this server's {limit_mb} limit")
            return await response(scope, receive, send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise HTTPException(413, f"upload: over this server's {limit_mb} limit")
            return message

        return await self.app(scope, counted, send)


def job_json(queue: JobQueue, job: Job) -> dict:
    w = job.work
    out = {"id": job.id, "status": job.status, "queue_position": queue.position(job),
           "progress": {"step": job.step, "total_steps": job.total_steps,
                        "fraction": job.step / job.total_steps if job.total_steps else 0.0,
                        "eta_seconds": job.eta_seconds()},
           "request": {"clip": w.clip_name, "text": w.text, "steps": w.steps, "guidance": w.guidance, "seed": w.seed,
                       "scenes": w.scenes},
           "error": job.error, "result": None}
    if job.status == "done":
        out["result"] = dict(job.summary, video=f"/api/jobs/{job.id}/video",
                             context=f"/api/jobs/{job.id}/context" if w.context is not None else None)
    return out


def clip_label(name: str | None) -> str:
    """How errors name an upload: as the client named it, never by the server's path."""
    return f"clip {name!r}" if name else "clip"


def decode_upload(pipe: NSPPipeline, job: Job, limits: Limits) -> Clip:
    """The job's clip -> the model's context, within the server's limits and the job's time; the upload is deleted
    whatever happens. Errors name the clip as the client did, never the server's path."""
    w = job.work
    label = clip_label(w.clip_name)
    try:
        clip = read_context_clip(w.upload, pipe.model.config.generator, limits=DecodeLimits(
            max_seconds=limits.max_clip_seconds, max_pixels=limits.max_pixels, on_frame=job.check))
        return pipe.fit_context(clip)
    except ClipTooLarge as err:
        raise UploadTooLarge(str(err).replace(str(w.upload), label)) from None
    except NSPError as err:
        raise NSPError(str(err).replace(str(w.upload), label)) from None
    finally:
        w.upload.unlink(missing_ok=True)


def predict(pipe: NSPPipeline, job: Job, limits: Limits) -> dict:
    """The worker's side of a job: its clip decoded, the scenes, written into the job's directory."""
    w = job.work
    if w.upload is not None:
        w.context = decode_upload(pipe, job, limits)
    result = pipe.rollout(w.context, w.text, num_scenes=w.scenes, seed=w.seed, num_inference_steps=w.steps,
                          guidance_scale=w.guidance, progress=False, callback=job.advance)
    video = result.frames[0]
    write_video(job.dir / "video.mp4", video, result.fps)
    if w.context is not None:
        write_video(job.dir / "context.mp4", w.context.frames, w.context.fps)
    note = pipe.text_note(bool(w.text) and w.context is not None)
    return {"frames": int(video.shape[0]), "fps": result.fps, "height": int(video.shape[1]),
            "width": int(video.shape[2]), "scenes": w.scenes, "seconds": round(time.monotonic() - job.started, 3),
            **({"note": note} if note else {})}


def form_number(form, name: str, kind, default, low, high):
    """A form field as a number in [low, high] (empty: the default); anything else is a 400 naming the field."""
    raw = form.get(name)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = kind(str(raw))
    except ValueError:
        raise HTTPException(400, f"{name}: expected {kind.__name__}, got {str(raw)[:40]!r}") from None
    if not low <= value <= high:
        raise HTTPException(400, f"{name}: {value} is outside {low}..{high}")
    return value


class Server:
    """The model, the server's limits, its private directories and the job queue; each route is a method."""

    def __init__(self, pipe: NSPPipeline, limits: Limits, workdir: Path):
        self.pipe, self.limits, self.cfg = pipe, limits, pipe.model.config
        self.uploads, self.results = workdir / "uploads", workdir / "jobs"
        self.uploads.mkdir(mode=0o700, exist_ok=True)
        self.results.mkdir(mode=0o700, exist_ok=True)
        self.queue = JobQueue(lambda job: predict(pipe, job, limits), max_queued=limits.max_queued)
        self.probing: anyio.CapacityLimiter | None = None  # made in the event loop, on first use

    def routes(self) -> list[Route]:
        return [Route("/", self.page), Route("/api/info", self.info),
                Route("/api/jobs", self.create_job, methods=["POST"]), Route("/api/jobs/{job_id}", self.get_job),
                Route("/api/predict", self.predict_now, methods=["POST"]),
                Route("/api/jobs/{job_id}/{which:str}", self.job_file)]

    # ---- requests -> work -----------------------------------------------------------------------------------------
    def check_upload(self, path: Path, name: str | None) -> None:
        """What the clip's header says, against the limits, before anything is decoded; a refused upload is deleted
        at once. Every problem is a 4xx naming the clip (never the server's path)."""
        label = clip_label(name)
        try:
            if path.stat().st_size == 0:
                raise HTTPException(400, f"{label}: empty file (0 bytes)")
            try:
                header = probe_video(path)
            except NSPError as err:
                raise HTTPException(415, str(err).replace(str(path), label)) from None
            if header.width * header.height > self.limits.max_pixels:
                raise HTTPException(413, f"{label}: {header.width}x{header.height} frames; this server takes frames of up to "
                                         f"{self.limits.max_pixels:,} pixels")
            if header.seconds is not None and header.seconds > self.limits.max_clip_seconds:
                raise HTTPException(413, f"{label}: {header.seconds:.0f} s long; this server takes clips up to "
                                         f"{self.limits.max_clip_seconds:g} s")
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    async def read_work(self, request: Request) -> Work:
        kind = request.headers.get("content-type", "")
        if not kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            raise HTTPException(415, "send the clip as multipart/form-data (fields: " + ", ".join(FIELDS) + ")")
        limits, sampling = self.limits, self.cfg.sampling
        async with request.form(max_files=1, max_fields=len(FIELDS)) as form:
            unknown = sorted(set(form.keys()) - set(FIELDS))
            if unknown:
                raise HTTPException(400, f"{unknown[0]}: unknown field (expected {', '.join(FIELDS)})")
            text = str(form.get("text") or "").strip() or None
            if text and len(text) > limits.max_text_chars:
                raise HTTPException(400, f"text: {len(text)} characters; at most {limits.max_text_chars}")
            steps = form_number(form, "steps", int, sampling.steps, 2, limits.max_steps)
            guidance = form_number(form, "guidance", float, sampling.guidance, 0.0, 20.0)
            seed = form_number(form, "seed", int, 0, 0, 2**31 - 1)
            scenes = form_number(form, "scenes", int, 1, 1, limits.max_scenes)
            upload = form.get("clip")
            if upload is not None and not isinstance(upload, UploadFile):
                raise HTTPException(400, "clip: expected a file upload")
            if upload is None and not text:
                raise HTTPException(400, "clip: missing (give a clip, a text, or both)")
            path = name = None
            if upload is not None:
                name = (upload.filename or "")[:200] or None
                path = self.uploads / uuid.uuid4().hex  # our name, in our private directory
                try:
                    with path.open("wb") as f:
                        while chunk := await upload.read(CHUNK):
                            f.write(chunk)
                except BaseException:
                    path.unlink(missing_ok=True)
                    raise
                # Reading a header can decode a frame or two: a few at a time, whatever comes in at once.
                self.probing = self.probing or anyio.CapacityLimiter(2)
                await anyio.to_thread.run_sync(self.check_upload, path, name, limiter=self.probing)
        return Work(path, name, text, steps, guidance, seed, scenes)

    async def submit(self, request: Request) -> Job:
        if self.queue.closing:
            raise HTTPException(503, self.queue.closing)
        if self.queue.full():  # before reading a large upload that would only be refused
            raise HTTPException(503, f"the queue is full ({self.limits.max_queued} waiting); try again later")
        try:
            work = await self.read_work(request)
        except ClientDisconnect:  # nobody to answer: one log line, not a traceback
            log.info("a client went away while sending its request")
            raise HTTPException(400, "the client went away while sending its request") from None
        job_id = uuid.uuid4().hex
        (self.results / job_id).mkdir(mode=0o700)
        try:
            return self.queue.submit(Job(work, self.results / job_id, self.limits.timeout, id=job_id))
        except (QueueFull, ServerClosing) as err:
            (self.results / job_id).rmdir()
            if work.upload is not None:
                work.upload.unlink(missing_ok=True)
            raise HTTPException(503, str(err)) from None

    def close(self, reason: str) -> None:
        """The server is stopping: new requests get 503, and so do the waiting and running jobs (at their next
        frame or step), so every request in flight is answered before the server goes."""
        self.queue.close(reason)

    def find(self, request: Request) -> Job:
        job = self.queue.get(request.path_params["job_id"])
        if job is None:
            raise HTTPException(404, f"job {request.path_params['job_id'][:40]!r}: not found (unknown or expired)")
        return job

    # ---- routes ---------------------------------------------------------------------------------------------------
    async def page(self, request: Request):
        return HTMLResponse(PAGE.read_text())

    async def info(self, request: Request):
        g, sampling = self.cfg.generator, self.cfg.sampling
        return JSONResponse({"model": {"frames": g.num_frames, "fps": g.fps, "height": g.height, "width": g.width},
                             "defaults": {"steps": sampling.steps, "guidance": sampling.guidance, "seed": 0,
                                          "scenes": 1},
                             "limits": dict(asdict(self.limits), max_upload_bytes=self.limits.max_upload_bytes),
                             "queued": self.queue.waiting()})

    async def create_job(self, request: Request):
        job = await self.submit(request)
        return JSONResponse(job_json(self.queue, job), status_code=202, headers={"Location": f"/api/jobs/{job.id}"})

    async def get_job(self, request: Request):
        return JSONResponse(job_json(self.queue, self.find(request)))

    async def job_file(self, request: Request):
        job, which = self.find(request), request.path_params["which"]
        if which not in ("video", "context"):  # the URL names one of our two files, never a path
            raise HTTPException(404, f"{which[:40]!r}: not found (video or context)")
        path = job.dir / f"{which}.mp4"
        if job.status != "done" or not path.exists():
            raise HTTPException(404, f"job {job.id}: no {which} video ({job.status})")
        return FileResponse(path, media_type="video/mp4", filename=f"nsp-{job.id[:8]}-{which}.mp4")

    async def predict_now(self, request: Request):
        job = await self.submit(request)
        await anyio.to_thread.run_sync(job.done.wait)  # the job itself ends by limits.timeout
        summary = job_json(self.queue, job)
        if job.status != "done":
            return error(FAILURE_STATUS.get(job.failure, 500), job.error or "prediction failed")
        return FileResponse(job.dir / "video.mp4", media_type="video/mp4", filename=f"nsp-{job.id[:8]}.mp4",
                            headers={"X-NSP-Summary": json.dumps(summary)})


async def http_error(request: Request, exc: HTTPException):
    return error(exc.status_code, exc.detail)


def build_app(server: Server):
    """The ASGI app: the server's routes behind the upload limit."""
    app = Starlette(routes=server.routes(), exception_handlers={HTTPException: http_error})
    return BodyLimit(app, server.limits.max_upload_bytes)
