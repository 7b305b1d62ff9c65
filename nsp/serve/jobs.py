"""The server's job queue: predictions wait in a bounded queue and one worker runs them in order.

One model, one worker: requests never run at once (they would only share the same cores or GPU and all get slower),
and a job's decoding runs there too, so that uploads cost memory and CPU one at a time. A job that is not finished
`timeout` seconds after it was submitted is stopped between frames or denoising steps. `close` (the server stopping)
fails the waiting jobs and stops the running one the same way. Finished jobs keep their result files for
`keep_seconds` (or until `max_kept` newer ones exist), then their directory is removed."""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from nsp.errors import NSPError

log = logging.getLogger("nsp.serve")


class QueueFull(Exception):
    pass


class JobTimeout(Exception):
    failure = "timeout"


class ServerClosing(Exception):
    failure = "shutdown"


@dataclass
class Job:
    """One prediction: its inputs (`work`, whatever the run function needs), its private directory, its state."""

    work: Any
    dir: Path
    timeout: float
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "queued"  # queued -> running -> done | failed
    step: int = 0  # denoising steps done, over all scenes
    total_steps: int = 0
    error: str | None = None
    failure: str | None = None  # timeout | input | too_large | shutdown | internal
    summary: dict | None = None
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    done: threading.Event = field(default_factory=threading.Event)
    closing: str | None = None  # set when the server stops: the job ends at its next check

    def check(self) -> None:
        """Called by the worker between frames and steps: stops the job once its time is up or the server stops."""
        if self.closing:
            raise ServerClosing(self.closing)
        if time.monotonic() > self.submitted + self.timeout:
            raise JobTimeout(f"not finished within the server's {self.timeout:g} s limit")

    def advance(self, step: int, total_steps: int) -> None:
        """Progress from the worker."""
        self.step, self.total_steps = step, total_steps
        self.check()

    def eta_seconds(self) -> float | None:
        if self.status != "running" or not self.step or not self.total_steps:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed / self.step * (self.total_steps - self.step)


class JobQueue:
    def __init__(self, run: Callable[[Job], dict], max_queued: int = 8, keep_seconds: float = 1800.0,
                 max_kept: int = 64):
        self._run, self.keep_seconds, self.max_kept = run, keep_seconds, max_kept
        self._queue: queue.Queue[Job] = queue.Queue(maxsize=max_queued)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self.closing: str | None = None
        self._worker = threading.Thread(target=self._work, name="nsp-serve-worker", daemon=True)
        self._worker.start()

    def submit(self, job: Job) -> Job:
        with self._lock:
            if self.closing:
                raise ServerClosing(self.closing)
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise QueueFull(f"the queue is full ({self._queue.maxsize} waiting); try again later") from None
            self._jobs[job.id] = job
        self._prune()
        return job

    def close(self, reason: str) -> None:
        """No new jobs; the waiting ones fail now, the running one at its next check (each with `reason`)."""
        with self._lock:
            self.closing = reason
            for job in self._jobs.values():
                job.closing = reason
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            self._finish(job, ServerClosing(reason))

    def full(self) -> bool:
        return self._queue.full()

    def waiting(self) -> int:
        return self._queue.qsize()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int:
        """How many queued jobs are ahead of `job` (0: next, or not queued)."""
        with self._lock:
            waiting = [j for j in self._jobs.values() if j.status == "queued"]
        return sum(j.submitted < job.submitted for j in waiting) if job.status == "queued" else 0

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            job.status, job.started = "running", time.monotonic()
            try:
                if job.started > job.submitted + job.timeout:
                    raise JobTimeout(f"waited longer than the server's {job.timeout:g} s limit in the queue")
                job.check()
                job.summary = self._run(job)
                job.status = "done"
                self._finish(job)
            except Exception as err:  # noqa: BLE001 - a failed job must never stop the worker
                self._finish(job, err)

    def _finish(self, job: Job, err: Exception | None = None) -> None:
        if err is not None:
            job.status, job.error = "failed", str(err) or type(err).__name__
            job.failure = getattr(err, "failure", None) or ("input" if isinstance(err, (NSPError, ValueError))
                                                            else "internal")
            if job.failure == "internal":
                log.exception("job %s failed", job.id, exc_info=err)
        job.finished = time.monotonic()
        log.info("job %s %s in %.1f s%s", job.id[:8], job.status, job.finished - (job.started or job.submitted),
                 f": {job.error}" if job.error else "")
        self._prune()
        job.done.set()

    def _prune(self) -> None:
        """Drop finished jobs older than keep_seconds, and the oldest beyond max_kept, with their files."""
        now = time.monotonic()
        with self._lock:
            finished = sorted((j for j in self._jobs.values() if j.finished is not None), key=lambda j: j.finished)
            stale = [j for j in finished if now - j.finished > self.keep_seconds]
            stale += [j for j in finished[:max(0, len(finished) - self.max_kept)] if j not in stale]
            for job in stale:
                del self._jobs[job.id]
        for job in stale:
            shutil.rmtree(job.dir, ignore_errors=True)
