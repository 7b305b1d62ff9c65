"""Everything is a video: other modalities rendered as frames (T, H, W, 3) uint8 the model reads as a context clip.

    text    one frame per whitespace token: the token in a fixed-width bitmap font, white on black, scaled (nearest,
            so strokes stay sharp) to fill the frame's width or height, centred
    audio   a log-magnitude spectrogram on a log-frequency axis (60 Hz at the bottom, half the sample rate at the top,
            as pitch is heard), time to the right, cut into one slice per slot of the context (`slots_per_second`)
    image   one frame: centre-cropped to the frame's aspect ratio and resized

`place_tokens` lays rendered frames out as a context at the model's frame rate for the VLM's frame sampling: each
rendered frame fills one whole temporal patch of the frames the VLM samples, so every token and spectrogram slice is
seen, and no visual token mixes two of them (held at a fixed rate instead, some words fell between sampled frames).
`token_slots` says where those patches start, hence how many rendered frames a context holds."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from nsp.errors import NSPError
from nsp.video.frames import center_crop, fit_context, resize_frames
from nsp.video.qwen_input import sample_indices

AUDIO_SAMPLE_RATE = 16000  # what audio files are resampled to before their spectrogram is taken


@lru_cache(maxsize=1)
def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default_imagefont()  # Pillow's built-in bitmap font: fixed width, no file to ship


def render_token(token: str, height: int, width: int, colour: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """One token as a frame (H, W, 3), in `colour` on black."""
    font = _font()
    _, top, _, bottom = font.getbbox("Ay|gj")  # one line's height for every token, and fixed-width cells: tokens of
    glyphs = Image.new("L", (max(1, int(font.getlength(token))), bottom - top))  # a length scale alike
    ImageDraw.Draw(glyphs).text((0, -top), token, font=font, fill=255)
    scale = min(width / glyphs.width, height / glyphs.height)
    w, h = max(1, int(glyphs.width * scale)), max(1, int(glyphs.height * scale))
    frame = np.zeros((height, width), np.uint8)
    y0, x0 = (height - h) // 2, (width - w) // 2
    frame[y0:y0 + h, x0:x0 + w] = np.asarray(glyphs.resize((w, h), Image.NEAREST))
    return (frame[..., None].astype(np.uint16) * np.array(colour, np.uint16) // 255).astype(np.uint8)


def render_text(text: str, height: int, width: int) -> np.ndarray:
    """Each whitespace token a frame: (tokens, H, W, 3)."""
    tokens = text.split()
    if not tokens:
        raise ValueError("render_text: no tokens in the text")
    return np.stack([render_token(t, height, width) for t in tokens])


def spectrogram(samples: np.ndarray, sample_rate: int, rows: int = 128, n_fft: int = 512) -> np.ndarray:
    """Log-magnitude spectrogram (rows, time steps) in [0, 1] (80 dB below the loudest bin is 0), its rows spaced
    geometrically from 60 Hz (row 0) to half the sample rate."""
    wave = torch.as_tensor(np.asarray(samples, np.float32))
    if wave.numel() < n_fft:
        wave = torch.nn.functional.pad(wave, (0, n_fft - wave.numel()))
    hop = max(1, sample_rate // 100)  # 10 ms steps
    magnitude = torch.stft(wave, n_fft, hop_length=hop, window=torch.hann_window(n_fft), return_complex=True).abs()
    db = 20 * torch.log10(magnitude + 1e-8)
    db = ((db - db.max() + 80.0).clamp(min=0) / 80.0).numpy()
    bins = np.geomspace(60.0, sample_rate / 2, rows) / (sample_rate / n_fft)  # fractional FFT bin of each row
    low = np.clip(np.floor(bins).astype(int), 0, db.shape[0] - 2)
    frac = (bins - low)[:, None]
    return (1 - frac) * db[low] + frac * db[low + 1]


def render_audio(samples: np.ndarray, sample_rate: int, height: int, width: int, slices_per_second: float
                 ) -> np.ndarray:
    """(frames, H, W, 3): one frame per 1 / slices_per_second seconds of audio (at least one), each its slice of the
    spectrogram."""
    spec = spectrogram(samples, sample_rate, rows=2 * height)[::-1]  # low frequencies at the bottom
    duration = len(samples) / sample_rate
    count = max(1, int(round(duration * slices_per_second)))
    edges = np.linspace(0, spec.shape[1], count + 1).round().astype(int)
    frames = []
    for a, b in zip(edges[:-1], edges[1:]):
        part = spec[:, a:max(b, a + 1)]
        image = Image.fromarray((part * 255).astype(np.uint8)).resize((width, height), Image.BILINEAR)
        frames.append(np.repeat(np.asarray(image)[..., None], 3, axis=2))
    return np.stack(frames)


def render_image(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """An RGB image (h, w, 3) -> one frame (1, H, W, 3)."""
    return resize_frames(center_crop(np.asarray(image, np.uint8)[None], width / height), height, width)


def token_slots(length: int, fps: float, video_cfg, temporal_patch: int) -> np.ndarray:
    """The first context frame of each temporal patch the VLM makes from a context of `length` frames at `fps`
    (`video_cfg`: the model's vlm.video): one slot per rendered frame."""
    return sample_indices(length, fps, video_cfg)[::temporal_patch]


def slots_per_second(length: int, fps: float, video_cfg, temporal_patch: int) -> float:
    """Rendered frames per second of context: the rate audio is cut into spectrogram slices at."""
    return len(token_slots(length, fps, video_cfg, temporal_patch)) * fps / length


def place_tokens(rendered: np.ndarray, length: int, fps: float, video_cfg, temporal_patch: int,
                 before: np.ndarray | None = None, hint: str = "shorten the text or the audio") -> np.ndarray:
    """Rendered frames (N, H, W, 3) -> a context of `length` frames: the rendered frames fill the last N slots (each
    from its slot's first frame to the next slot's), frames before them are `before` (a clip, its last frames) or
    the first rendered frame. Raises if N is more than the slots, or with `before` leaves none for it."""
    starts = token_slots(length, fps, video_cfg, temporal_patch)
    room = len(starts) - (before is not None)
    if len(rendered) > room:
        raise NSPError(f"image/audio/text input: {len(rendered)} rendered frames (images, spectrogram slices, "
                       f"tokens); the context holds {room}"
                       + (" after the clip" if before is not None else "") + f" ({hint})")
    bounds = [*starts[len(starts) - len(rendered):], length]
    out = np.empty((length, *rendered.shape[1:]), np.uint8)
    for frame, a, b in zip(rendered, bounds, bounds[1:]):
        out[a:b] = frame
    lead = bounds[0]
    if lead:
        h, w = rendered.shape[1:3]
        out[:lead] = rendered[0] if before is None else fit_context(before, fps, lead, h, w, fps)
    return out
