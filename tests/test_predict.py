"""`nsp predict` on the clips people have: every container, odd sizes and frame rates, long clips, directories."""

from fractions import Fraction

import av
import numpy as np
import pytest

from nsp.video.frames import center_crop, fit_context, resample, side_by_side
from nsp.video.io import read_video
from tests.conftest import run_nsp

CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".avi": "mpeg4", ".webm": "libvpx-vp9"}


def numbered_frames(n: int, h: int, w: int) -> np.ndarray:
    """Frame i is a flat grey of level 8 * i (readable back after lossy coding), with a white bar on the left."""
    frames = np.repeat((np.arange(n, dtype=np.uint8) * 8)[:, None, None, None], 3, -1) * np.ones((1, h, w, 1), np.uint8)
    frames[:, :, : w // 8] = 255
    return frames


def write_clip(path, frames: np.ndarray, fps: float, audio: bool = False):
    """A clip as a user's camera or browser writes it: the container's usual codec, optionally with an audio track."""
    with av.open(str(path), mode="w") as out:
        video = out.add_stream(CODECS[path.suffix], rate=Fraction(fps).limit_denominator(1001))
        video.width, video.height, video.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        sound = out.add_stream("aac" if path.suffix != ".webm" else "libopus", rate=48000) if audio else None
        for f in frames:
            out.mux(video.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        out.mux(video.encode())
        if sound is not None:
            samples = sound.codec_context.frame_size or 1024
            chunk = av.AudioFrame.from_ndarray(np.zeros((1, samples), np.float32), format="fltp", layout="mono")
            chunk.sample_rate = 48000
            for _ in range(10):
                out.mux(sound.encode(chunk))
            out.mux(sound.encode())
    return path


def test_center_crop_keeps_the_middle_at_the_target_aspect():
    wide = numbered_frames(2, 144, 176)
    square = center_crop(wide, 1.0)
    assert square.shape == (2, 144, 144, 3) and (square == wide[:, :, 16:160]).all()
    tall = center_crop(np.zeros((1, 100, 40, 3), np.uint8), 2.0)
    assert tall.shape == (1, 20, 40, 3)


def test_resample_counts_back_from_the_last_frame():
    frames = np.arange(31)  # 1 s at 30 fps
    out = resample(frames, 30.0, 8.0)
    assert len(out) == 9 and out[-1] == 30  # 8 intervals of 1/8 s, ending at the clip's last frame
    assert np.allclose(np.diff(out), 30 / 8, atol=1)
    assert (resample(frames, 8.0, 8.0) == frames).all()


def test_fit_context_gives_the_models_frames():
    frames = numbered_frames(50, 144, 176)  # 2 s at 25 fps, 176x144
    fitted = fit_context(frames, 25.0, 9, 64, 64, 8.0)
    assert fitted.shape == (9, 64, 64, 3)
    assert fitted[-1, 32, 40, 0] == frames[-1, 72, 88, 0]  # ends with the clip's last frame
    assert fitted[0, 32, 40, 0] == frames[24, 72, 88, 0]  # one second (8 ticks at 8 fps) earlier
    short = fit_context(frames[:3], 25.0, 9, 64, 64, 8.0)  # shorter than a scene: its first frame held in front
    assert short.shape == (9, 64, 64, 3)


def test_side_by_side_holds_the_shorter_clip():
    a, b = numbered_frames(3, 64, 64), numbered_frames(9, 64, 64)
    both = side_by_side(a, b)
    assert both.shape == (9, 64, 130, 3)
    assert (both[8, :, :64] == a[2]).all() and (both[8, :, 66:] == b[8]).all() and (both[:, :, 64:66] == 255).all()


def test_read_video_keeps_only_the_end_at_a_bounded_size(tmp_path):
    clip = write_clip(tmp_path / "long.mp4", numbered_frames(30, 144, 176), 10.0)  # 3 s
    full = read_video(clip)
    tail = read_video(clip, last_seconds=1.0, max_side=88)
    assert full.num_frames == 30 and tail.num_frames == 11  # 1 s at 10 fps, both ends included
    assert tail.frames.shape[1:3] == (72, 88)  # aspect kept
    assert abs(int(tail.frames[-1, 36, 44, 0]) - int(full.frames[-1, 72, 88, 0])) <= 3


@pytest.fixture(scope="module")
def user_clips(tmp_path_factory):
    """One clip per container (the mkv with an audio track), plus a 176x144 clip at 12.5 fps."""
    folder = tmp_path_factory.mktemp("user_clips")
    frames = numbered_frames(24, 96, 128)
    for suffix in CODECS:
        write_clip(folder / f"clip{suffix}", frames, 24.0, audio=suffix in (".mkv", ".webm"))
    write_clip(folder / "odd.mp4", numbered_frames(20, 144, 176), 12.5)
    (folder / "notes.txt").write_text("not a clip, not picked up")
    return folder


def test_predict_every_container_and_odd_sizes_from_a_directory(user_clips, tiny_checkpoint, tmp_path):
    out = tmp_path / "predictions"
    result = run_nsp("predict", user_clips, "--checkpoint", tiny_checkpoint, "--out", out, "--steps", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["clip.avi.mp4", "clip.mkv.mp4", "clip.mov.mp4", "clip.mp4.mp4", "clip.webm.mp4", "odd.mp4"]
    for name in names:
        video = read_video(out / name)
        assert video.frames.shape == (9, 64, 64, 3) and video.fps == pytest.approx(8.0)

    again = run_nsp("predict", user_clips, "--checkpoint", tiny_checkpoint, "--out", out, "--steps", "2")
    assert again.returncode == 0 and "nothing to do" in again.stdout  # a finished directory is not redone


def test_predict_side_by_side_and_scenes(user_clips, tiny_checkpoint, tmp_path):
    out = tmp_path / "sbs.mp4"
    result = run_nsp("predict", user_clips / "odd.mp4", "--checkpoint", tiny_checkpoint, "--out", out, "--steps",
                     "2", "--scenes", "2", "--side-by-side")
    assert result.returncode == 0, result.stderr[-2000:]
    video = read_video(out)
    assert video.frames.shape == (18, 64, 130, 3)  # context (held) | two predicted scenes


def test_a_bad_clip_in_a_directory_is_named_and_the_rest_predicted(user_clips, tiny_checkpoint, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.mp4").write_bytes((user_clips / "odd.mp4").read_bytes())
    (folder / "broken.mov").write_bytes(b"\x00" * 100)
    out = tmp_path / "out"
    result = run_nsp("predict", folder, "--checkpoint", tiny_checkpoint, "--out", out, "--steps", "2")
    assert result.returncode == 1
    assert "broken.mov" in result.stderr and sorted(p.name for p in out.iterdir()) == ["good.mp4"]
