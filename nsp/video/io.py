"""Reading and writing clips with PyAV (and reading the audio and images nsp/video/render.py turns into frames).
Every failure becomes one NSPError line naming the file and the problem."""

from __future__ import annotations

import io
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from nsp.errors import NSPError
from nsp.files import atomic_path, not_found


@dataclass
class Clip:
    """Decoded RGB frames (T, H, W, 3) uint8 and their frame rate."""

    frames: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps


@dataclass
class DecodeLimits:
    """What a decode may cost, checked frame by frame (a header can lie or say nothing: a raw stream has no
    duration). Over a limit: ClipTooLarge. `on_frame` is called after every frame (a deadline check may raise)."""

    max_seconds: float | None = None
    max_pixels: int | None = None  # per frame
    on_frame: Callable[[], None] | None = None


class ClipTooLarge(NSPError):
    """A clip over a decode limit (a server answers 413)."""


def read_video(path: str | Path, last_seconds: float | None = None, max_side: int | None = None,
               limits: DecodeLimits | None = None) -> Clip:
    """Decode the first video stream (audio is ignored). `last_seconds` keeps only the clip's end and `max_side`
    shrinks frames while decoding (aspect kept): a long or large upload then never sits in memory whole."""
    path = Path(path)
    _check_file(path, "a video file")
    return _decode(str(path), str(path), last_seconds, max_side, limits)


def read_context_clip(path: str | Path, generator, clips: int | None = None,
                      limits: DecodeLimits | None = None) -> Clip:
    """Decode what a context of `clips` clip lengths (default generator.context_clips; `generator` a
    GeneratorConfig) needs: only the clip's end, at a bounded size."""
    frames = generator.num_frames * (clips or generator.context_clips)
    side = 2 * max(generator.height, generator.width)
    return read_video(path, last_seconds=frames / generator.fps + 1.0, max_side=side, limits=limits)


@dataclass
class VideoHeader:
    """What a container says of its first video stream before any decoding (seconds: None when it does not say)."""

    width: int
    height: int
    seconds: float | None


def probe_video(path: str | Path) -> VideoHeader:
    """The first video stream's header; raises the same NSPError as `read_video` for a file that is not a video."""
    container, stream = _open_video(str(path), str(path))
    with container:
        if stream.duration is not None and stream.time_base is not None:
            seconds = float(stream.duration * stream.time_base)
        else:
            seconds = container.duration / av.time_base if container.duration is not None else None
        return VideoHeader(int(stream.codec_context.width or 0), int(stream.codec_context.height or 0), seconds)


_local = threading.local()


def _rgb(frame: av.VideoFrame, **size) -> np.ndarray:
    """A decoded frame as RGB (H, W, 3). One reformatter per thread, reused: `frame.to_ndarray(format=...)` builds a
    new swscale context for every frame, which costs most where the cores are busy (the latent cache's encoder)."""
    if not hasattr(_local, "reformatter"):
        _local.reformatter = VideoReformatter()
    return _local.reformatter.reformat(frame, format="rgb24", **size).to_ndarray()


def decode_video_bytes(data: bytes, name: str) -> Clip:
    """Decode an in-memory video file (a shard member); `name` is used in error messages."""
    if not data:
        raise NSPError(f"{name}: empty video data")
    return _decode(io.BytesIO(data), name)


def _open_video(source, name: str):
    """(open container, its first video stream), or one NSPError line naming `name`."""
    try:
        container = av.open(source)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise NSPError(f"{name}: not a readable video ({_short(err)})") from None
    if not container.streams.video:
        kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
        container.close()
        raise NSPError(f"{name}: has no video stream (streams: {kinds})")
    return container, container.streams.video[0]


def _decode(source, name: str, last_seconds: float | None = None, max_side: int | None = None,
            limits: DecodeLimits | None = None) -> Clip:
    limits = limits or DecodeLimits()
    container, stream = _open_video(source, name)
    with container:
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 25.0  # containers without timing (raw streams): the FFmpeg default
        expected = int(stream.frames or 0)
        keep = None if last_seconds is None else int(np.ceil(last_seconds * fps)) + 1
        most = None if limits.max_seconds is None else int(limits.max_seconds * fps) + 1
        frames, decoded = deque(maxlen=keep), 0
        try:
            for frame in container.decode(stream):
                if limits.max_pixels and frame.width * frame.height > limits.max_pixels:
                    raise ClipTooLarge(f"{name}: {frame.width}x{frame.height} frames; the limit is "
                                       f"{limits.max_pixels:,} pixels")
                if most is not None and decoded >= most:
                    raise ClipTooLarge(f"{name}: longer than {limits.max_seconds:g} s ({decoded} frames at "
                                       f"{fps:g} fps and more)")
                size = {}
                if max_side and max(frame.width, frame.height) > max_side:
                    scale = max_side / max(frame.width, frame.height)
                    size = {"width": max(2, round(frame.width * scale)), "height": max(2, round(frame.height * scale))}
                frames.append(_rgb(frame, **size))
                decoded += 1
                if limits.on_frame is not None:
                    limits.on_frame()
        except (av.error.FFmpegError, ValueError) as err:
            raise NSPError(f"{name}: corrupt or truncated video data after frame {decoded} ({_short(err)})") from None
    if not frames:
        raise NSPError(f"{name}: no decodable video frames (truncated or corrupt)")
    if expected and decoded < 0.9 * expected:
        raise NSPError(f"{name}: truncated video: decoded {decoded} of {expected} frames")
    return Clip(np.stack(frames), fps)


def _check_file(path: Path, what: str) -> None:
    if not path.exists():
        raise not_found(path)
    if path.is_dir():
        raise NSPError(f"{path}: is a directory, expected {what}")
    if path.stat().st_size == 0:
        raise NSPError(f"{path}: empty file (0 bytes)")


def read_audio(path: str | Path, sample_rate: int = 16000, max_seconds: float = 60.0) -> np.ndarray:
    """The first audio stream (any container or codec FFmpeg reads) as mono float32 (the channels' mean) at
    `sample_rate`; at most its first `max_seconds`."""
    path = Path(path)
    _check_file(path, "an audio file")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise NSPError(f"{path}: not a readable audio file ({_short(err)})") from None
    with container:
        if not container.streams.audio:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
            raise NSPError(f"{path}: has no audio stream (streams: {kinds})")
        resampler = av.AudioResampler(format="fltp", rate=sample_rate)  # channels kept: averaged below
        chunks, total, limit = [], 0, int(max_seconds * sample_rate)
        try:
            for frame in container.decode(container.streams.audio[0]):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().mean(axis=0))
                    total += chunks[-1].size
                if total >= limit:
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().mean(axis=0))
        except (av.error.FFmpegError, ValueError) as err:
            raise NSPError(f"{path}: corrupt audio data ({_short(err)})") from None
    samples = np.concatenate(chunks)[:limit] if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise NSPError(f"{path}: no decodable audio samples")
    return samples.astype(np.float32)


def read_image(path: str | Path) -> np.ndarray:
    """An image file (PNG, JPEG, ...) as RGB (H, W, 3) uint8."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    _check_file(path, "an image file")
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise NSPError(f"{path}: not a readable image ({_short(err)})") from None


CONTAINERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}


def write_video(path: str | Path, frames: np.ndarray, fps: float, crf: int = 18) -> Path:
    """Write (T, H, W, 3) uint8 frames as H.264 (yuv420p, even sides), atomically."""
    path = Path(path)
    fmt = CONTAINERS.get(path.suffix.lower())
    if fmt is None:
        raise NSPError(f"{path}: unsupported output extension (use {', '.join(CONTAINERS)})")
    with atomic_path(path) as tmp:
        _encode(str(tmp), fmt, frames, fps, crf)
    return path


def encode_video(frames: np.ndarray, fps: float, crf: int = 18, lossless: bool = False) -> bytes:
    """(T, H, W, 3) uint8 -> the bytes of an H.264 mp4 (for shards).

    `lossless`: RGB H.264 at crf 0, which decodes to exactly the input frames (no chroma subsampling, no drift; and
    x264 is not bit-reproducible here even single-threaded, so exactness is what makes stored data deterministic)."""
    buffer = io.BytesIO()
    _encode(buffer, "mp4", frames, fps, crf, lossless)
    return buffer.getvalue()


def _encode(target, fmt: str, frames: np.ndarray, fps: float, crf: int, lossless: bool = False) -> None:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    h, w = frames.shape[1] - frames.shape[1] % 2, frames.shape[2] - frames.shape[2] % 2
    with av.open(target, mode="w", format=fmt) as container:
        codec, pix_fmt = ("libx264rgb", "rgb24") if lossless else ("libx264", "yuv420p")
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.options = {"crf": "0" if lossless else str(crf)}
        for image in frames[:, :h, :w]:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")))
        container.mux(stream.encode())


def _short(err: Exception) -> str:
    """FFmpeg's reason without errno or file name (the message already names the file)."""
    text = getattr(err, "strerror", None) or str(err).strip() or type(err).__name__
    return text.splitlines()[0][:160]
