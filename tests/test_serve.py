"""`nsp serve`: the real server in a subprocess, spoken to over real HTTP on loopback; its job queue on its own."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import httpx
import numpy as np
import pytest

from nsp.pipeline import NSPPipeline
from nsp.serve.jobs import Job, JobQueue, QueueFull, ServerClosing
from nsp.video.io import read_video, write_video
from nsp.video.sample import moving_ball_clip
from tests.conftest import REPO
from tests.test_predict import write_clip

UPLOAD_LIMIT_MB = 0.25
MAX_PIXELS = 30_000  # the test clips are 176x144 (25,344 pixels)
READ_TIMEOUT = 3.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(checkpoint: Path, tmp: Path, *limits: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nsp.cli.main", "serve", "--checkpoint", str(checkpoint), "--port", str(port),
         *limits], cwd=REPO, env=dict(os.environ, TMPDIR=str(tmp)), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/api/info", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"nsp serve did not start:\n{proc.stdout.read()}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_checkpoint):
    """`nsp serve` with small limits; on the way out: stopped with Ctrl-C, no traceback logged on the way (clients
    that went away, slow ones cut off), and nothing of it left in its TMPDIR."""
    tmp = tmp_path_factory.mktemp("serve_tmp")
    proc, url = start_server(tiny_checkpoint, tmp, "--max-upload-mb", str(UPLOAD_LIMIT_MB), "--max-clip-seconds", "4",
                             "--max-pixels", str(MAX_PIXELS), "--read-timeout", str(READ_TIMEOUT))
    yield url, tmp
    proc.send_signal(signal.SIGINT)
    log = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, log
    assert "Traceback" not in log, log[-3000:]
    assert not list(tmp.glob("nsp-serve-*")), "the server left its temporary directory behind"


@pytest.fixture(scope="module")
def odd_clip(tmp_path_factory) -> Path:
    """176x144 at 12.5 fps, 2 s, with an audio track: not the model's size, rate or length."""
    clip = moving_ball_clip(25, 144, 176, 12.5, seed=3)
    return write_clip(tmp_path_factory.mktemp("serve_clips") / "phone clip.mp4", clip.frames, clip.fps, audio=True)


def uploads_left(tmp: Path) -> list[Path]:
    return [p for d in tmp.glob("nsp-serve-*/uploads") for p in d.iterdir()]


def test_predict_returns_a_decodable_mp4_with_the_expected_frames(server, odd_clip, tmp_path, tiny_model):
    url, tmp = server
    with odd_clip.open("rb") as f:
        r = httpx.post(f"{url}/api/predict", files={"clip": (odd_clip.name, f, "video/mp4")},
                       data={"steps": "3", "scenes": "2", "seed": "5"}, timeout=120)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "video/mp4"
    summary = json.loads(r.headers["x-nsp-summary"])
    assert summary["status"] == "done" and summary["request"]["clip"] == "phone clip.mp4"
    assert summary["result"]["frames"] == 18 and summary["progress"]["step"] == summary["progress"]["total_steps"] == 6
    (tmp_path / "next.mp4").write_bytes(r.content)
    video = read_video(tmp_path / "next.mp4")
    assert video.frames.shape == (18, 64, 64, 3) and video.fps == 8.0  # 2 scenes of 9 frames at the model's size
    assert not uploads_left(tmp)  # the upload is gone once decoded
    # the same prediction as the pipeline makes in-process (the server's checkpoint is this model, saved)
    local = NSPPipeline(tiny_model).rollout(odd_clip, None, num_scenes=2, seed=5, num_inference_steps=3, progress=False)
    write_video(tmp_path / "local.mp4", local.frames[0], local.fps)
    assert np.abs(read_video(tmp_path / "local.mp4").frames.astype(int) - video.frames).mean() < 1.0


def test_job_api_reports_progress_and_serves_the_result_next_to_the_context(server, odd_clip, tmp_path):
    url, _ = server
    r = httpx.post(f"{url}/api/jobs", files={"clip": ("a.mp4", odd_clip.read_bytes())}, data={"steps": "4"},
                   timeout=60)
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/api/jobs/{job['id']}" and job["status"] in ("queued", "running", "done")
    deadline = time.monotonic() + 120
    while job["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = httpx.get(f"{url}/api/jobs/{job['id']}").json()
    assert job["status"] == "done", job
    assert job["progress"] == {"step": 4, "total_steps": 4, "fraction": 1.0, "eta_seconds": None}
    for which, frames in (("video", 9), ("context", 9)):
        r = httpx.get(url + job["result"][which])
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
        (tmp_path / f"{which}.mp4").write_bytes(r.content)
        assert read_video(tmp_path / f"{which}.mp4").frames.shape == (frames, 64, 64, 3)
    assert httpx.get(f"{url}/api/jobs/{job['id']}/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert httpx.get(f"{url}/api/jobs/0123456789abcdef").json()["error"].endswith("not found (unknown or expired)")


@pytest.mark.parametrize("name,body,data,status,message", [
    ("notes.mp4", b"this is not a video, just text\n" * 20, {}, 415, "clip 'notes.mp4': not a readable video"),
    ("empty.mp4", b"", {}, 400, "clip 'empty.mp4': empty file (0 bytes)"),
    ("big.mp4", os.urandom(int(UPLOAD_LIMIT_MB * 2**20) + 50_000), {}, 413, "over this server's 0.25 MB limit"),
    ("ok.mp4", None, {"steps": "many"}, 400, "steps: expected int, got 'many'"),
    ("ok.mp4", None, {"scenes": "99"}, 400, "scenes: 99 is outside 1..8"),
    ("ok.mp4", None, {"sampler": "euler"}, 400, "sampler: unknown field"),
])
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(server, odd_clip, name, body, data, status,
                                                                   message):
    url, tmp = server
    r = httpx.post(f"{url}/api/predict", files={"clip": (name, odd_clip.read_bytes() if body is None else body)},
                   data=data, timeout=60)
    assert r.status_code == status, r.text
    assert message in r.json()["error"] and "\n" not in r.json()["error"]
    assert not uploads_left(tmp)
    ok = httpx.post(f"{url}/api/predict", files={"clip": ("ok.mp4", odd_clip.read_bytes())}, data={"steps": "2"},
                    timeout=120)
    assert ok.status_code == 200 and ok.content[4:8] == b"ftyp"  # still serving, an mp4


def test_too_long_clips_and_requests_without_a_clip_are_refused(server, tmp_path):
    url, _ = server
    long_clip = moving_ball_clip(50, 32, 32, 8.0, seed=0)  # 6.25 s; the server takes 4
    path = write_clip(tmp_path / "long.webm", long_clip.frames, long_clip.fps)
    r = httpx.post(f"{url}/api/predict", files={"clip": (path.name, path.read_bytes())}, timeout=60)
    assert r.status_code == 413 and "clip 'long.webm': 6 s long; this server takes clips up to 4 s" in r.json()["error"]
    r = httpx.post(f"{url}/api/predict", data={"steps": "2"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"] == "clip: missing (give a clip, a text, or both)"
    r = httpx.post(f"{url}/api/predict", content=b"{}", headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 415 and "multipart/form-data" in r.json()["error"]


def test_the_page_predicts_in_headless_chromium(server, odd_clip):
    """The page as a person uses it: choose a clip, start, wait; the result video plays. Screenshot in
    test-artifacts/serve_page.png."""
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium (Debian package `chromium`; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    url, _ = server
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-quic"])
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 760})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url + "/")
            page.wait_for_function("document.getElementById('steps').value !== ''")  # /api/info arrived
            page.set_input_files("#clip", str(odd_clip))
            page.fill("#steps", "3")
            page.fill("#text", "the ball keeps moving")
            page.click("#start")
            page.wait_for_function("document.getElementById('status').textContent.startsWith('done')", timeout=120_000)
            played = ("(() => { const v = document.getElementById('result-video');"
                      " return v.readyState >= 2 && v.currentTime > 0 && v.duration > 0; })()")
            page.wait_for_function(played, timeout=30_000)
            video = page.evaluate("(() => { const v = document.getElementById('result-video');"
                                  " return {w: v.videoWidth, h: v.videoHeight, d: v.duration, t: v.currentTime}; })()")
            context = page.evaluate("document.getElementById('context-video').videoWidth")
            artifacts = REPO / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / "serve_page.png"), full_page=True)
            assert page.get_attribute("#download", "href").endswith("/video")
        finally:
            browser.close()
    assert not errors, errors
    assert video["w"] == 64 and video["h"] == 64 and video["d"] > 0 and video["t"] > 0
    assert context == 64


def test_queue_runs_jobs_one_at_a_time_in_order(tmp_path):
    running, order, release = [], [], threading.Event()

    def run(job):
        running.append(job.work)
        assert len(running) == 1  # never two at once
        release.wait(10)
        order.append(job.work)
        running.remove(job.work)
        return {"n": job.work}

    queue = JobQueue(run, max_queued=2)
    jobs = [queue.submit(Job(0, tmp_path / "0", timeout=30))]
    deadline = time.monotonic() + 5
    while jobs[0].status != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    jobs += [queue.submit(Job(i, tmp_path / str(i), timeout=30)) for i in (1, 2)]  # 1 running + 2 waiting
    assert [queue.position(j) for j in jobs] == [0, 0, 1] and jobs[2].status == "queued"
    with pytest.raises(QueueFull, match="the queue is full"):
        queue.submit(Job(3, tmp_path / "3", timeout=30))
    release.set()
    assert all(j.done.wait(10) for j in jobs)
    assert order == [0, 1, 2] and [j.summary for j in jobs] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_queue_stops_a_job_past_its_time_and_goes_on(tmp_path):
    steps_run = []

    def run(job):
        for step in range(1, 1000):
            time.sleep(0.01)
            steps_run.append(step)
            job.advance(step, 999)
        return {}

    queue = JobQueue(run)
    slow = queue.submit(Job("slow", tmp_path / "slow", timeout=0.2))
    assert slow.done.wait(10)
    assert slow.status == "failed" and slow.failure == "timeout" and "0.2 s limit" in slow.error
    assert len(steps_run) < 100  # stopped between steps, not run to the end

    def boom(job):
        raise ValueError("clip: bad")

    queue._run = boom
    broken = queue.submit(Job("broken", tmp_path / "broken", timeout=5))
    assert broken.done.wait(10) and broken.failure == "input" and broken.error == "clip: bad"
    queue._run = lambda job: {"ok": True}
    fine = queue.submit(Job("fine", tmp_path / "fine", timeout=5))
    assert fine.done.wait(10) and fine.status == "done"  # the worker survived both


def test_queue_removes_expired_jobs_and_their_files(tmp_path):
    def run(job):
        (job.dir / "video.mp4").write_bytes(b"result")
        return {}

    queue = JobQueue(run, keep_seconds=60, max_kept=2)
    jobs = []
    for i in range(4):
        (tmp_path / str(i)).mkdir()
        jobs.append(queue.submit(Job(i, tmp_path / str(i), timeout=5)))
        assert jobs[-1].done.wait(10)
    kept = [j for j in jobs if queue.get(j.id) is not None]
    assert kept == jobs[-2:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2", "3"]
    queue.keep_seconds = 0.0
    time.sleep(0.01)
    queue._prune()
    assert queue.get(jobs[-1].id) is None and not list(tmp_path.iterdir())


def test_large_frames_are_refused_from_the_header_and_streams_without_a_length_while_decoding(server, tmp_path):
    url, tmp = server
    big = moving_ball_clip(9, 256, 256, 8.0, seed=1)  # 65,536 pixels a frame; the server takes 30,000
    path = write_clip(tmp_path / "big.mp4", big.frames, big.fps)
    r = httpx.post(f"{url}/api/jobs", files={"clip": (path.name, path.read_bytes())}, timeout=60)
    assert r.status_code == 413, r.text  # before any job: nothing was decoded
    assert r.json()["error"] == "clip 'big.mp4': 256x256 frames; this server takes frames of up to 30,000 pixels"

    # A raw H.264 stream says nothing of its length: it is counted while decoding (at FFmpeg's 25 fps, 4 s is 101
    # frames) and the job stops there.
    raw = tmp_path / "endless.h264"
    with av.open(str(raw), mode="w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for f in moving_ball_clip(150, 32, 32, 25.0, seed=2).frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(stream.encode())
    r = httpx.post(f"{url}/api/predict", files={"clip": (raw.name, raw.read_bytes())}, data={"steps": "2"},
                   timeout=60)
    assert r.status_code == 413, r.text
    assert r.json()["error"].startswith("clip 'endless.h264': longer than 4 s (101 frames at 25 fps")
    assert not uploads_left(tmp)


def test_slow_and_vanishing_clients_are_cut_off_without_a_traceback(server, odd_clip):
    url, tmp = server
    port = int(url.rsplit(":", 1)[1])
    head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
    slow = []
    for sent in (head[:20], head + b"Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data"):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(sent)  # and then nothing more: headers unfinished, or the body
        slow.append(sock)
    gone = socket.create_connection(("127.0.0.1", port))  # a client that sends part of an upload and goes
    gone.sendall(head + b"Content-Length: 100000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"clip\"; "
                        b"filename=\"a.mp4\"\r\n\r\n" + odd_clip.read_bytes()[:5000])
    gone.close()
    start = time.monotonic()
    for sock in slow:
        sock.settimeout(READ_TIMEOUT + 10)
        assert sock.recv(1000) == b""  # closed by the server
        sock.close()
    assert time.monotonic() - start < READ_TIMEOUT + 5
    assert httpx.get(f"{url}/api/info", timeout=10).status_code == 200
    assert not uploads_left(tmp)


def test_sigterm_answers_requests_in_flight_and_removes_the_servers_directory(tmp_path, tiny_checkpoint, odd_clip):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc, url = start_server(tiny_checkpoint, tmp)
    answers = []

    def ask():
        answers.append(httpx.post(f"{url}/api/predict", files={"clip": ("a.mp4", odd_clip.read_bytes())},
                                  data={"steps": "100", "scenes": "8"}, timeout=120))

    asking = [threading.Thread(target=ask) for _ in range(2)]  # one running, one waiting
    for t in asking:
        t.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and httpx.get(f"{url}/api/info").json()["queued"] < 1:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    for t in asking:
        t.join(60)
    log = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0 and "nsp serve: stopped by SIGTERM" in log and "Traceback" not in log, log[-3000:]
    assert sorted(a.status_code for a in answers) == [503, 503]
    assert all("the server is stopping (SIGTERM)" in a.json()["error"] for a in answers)
    assert not list(tmp.glob("nsp-serve-*"))


def test_closing_the_queue_fails_waiting_jobs_and_stops_the_running_one(tmp_path):
    started = threading.Event()

    def run(job):
        started.set()
        for step in range(1, 1000):
            time.sleep(0.01)
            job.advance(step, 999)
        return {}

    queue = JobQueue(run, max_queued=4)
    running = queue.submit(Job(0, tmp_path / "0", timeout=60))
    assert started.wait(10)
    waiting = queue.submit(Job(1, tmp_path / "1", timeout=60))
    queue.close("stopping")
    assert running.done.wait(10) and waiting.done.wait(10)
    assert [(j.status, j.failure, j.error) for j in (running, waiting)] == [("failed", "shutdown", "stopping")] * 2
    with pytest.raises(ServerClosing):
        queue.submit(Job(2, tmp_path / "2", timeout=60))
