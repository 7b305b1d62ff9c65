import numpy as np
import pytest

from nsp.errors import NSPError
from nsp.video.io import read_video, write_video
from tests.conftest import random_frames


def test_write_then_read_round_trips(tmp_path, clip):
    path = write_video(tmp_path / "a.mp4", clip.frames, clip.fps)
    back = read_video(path)
    assert back.frames.shape == clip.frames.shape
    assert back.fps == pytest.approx(clip.fps)
    # H.264 at crf 18 on flat colours: close to the source.
    assert np.abs(back.frames.astype(int) - clip.frames.astype(int)).mean() < 4
    assert [p.name for p in tmp_path.iterdir()] == ["a.mp4"]  # no temporary file left behind


def test_odd_sizes_are_cropped_to_even(tmp_path):
    path = write_video(tmp_path / "odd.mp4", random_frames(3, 33, 47), 10.0)
    assert read_video(path).frames.shape == (3, 32, 46, 3)


def _audio_only(path):
    import av

    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*s.encode(frame), *s.encode()]:
            c.mux(packet)


def test_bad_inputs_give_one_line_errors_naming_the_file(tmp_path):
    big = write_video(tmp_path / "big.mp4", random_frames(24, 96, 96), 24.0)
    cases = {
        "missing.mp4": "file not found",
        "empty.mp4": "empty file",
        "text.mp4": "not a readable video",
        "audio.mp4": "no video stream",
        "truncated.mp4": "not a readable video|truncated|corrupt",
        "loop.mp4": "symlink loop",
        "dangling.mp4": "broken symlink",
    }
    (tmp_path / "loop.mp4").symlink_to(tmp_path / "loop2.mp4")
    (tmp_path / "loop2.mp4").symlink_to(tmp_path / "loop.mp4")
    (tmp_path / "dangling.mp4").symlink_to(tmp_path / "gone.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("this is not a video\n")
    _audio_only(tmp_path / "audio.mp4")
    data = big.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    for name, reason in cases.items():
        with pytest.raises(NSPError, match=reason) as err:
            read_video(tmp_path / name)
        message = str(err.value)
        assert name in message and "\n" not in message


def test_unsupported_output_extension_writes_nothing(tmp_path):
    with pytest.raises(NSPError, match="unsupported output extension"):
        write_video(tmp_path / "a.gif", random_frames(2, 32, 32), 8.0)
    assert list(tmp_path.iterdir()) == []


def _per_frame_rgb(data: bytes, **size) -> np.ndarray:
    """PyAV's own conversion, a swscale context per frame: what `read_video` must give, cheaper."""
    import io

    import av

    with av.open(io.BytesIO(data)) as c:
        return np.stack([f.to_ndarray(format="rgb24", **size) for f in c.decode(c.streams.video[0])])


def test_decoding_gives_pyav_rgb_exactly(tmp_path):
    from nsp.video.io import decode_video_bytes, encode_video

    lossy = write_video(tmp_path / "a.mp4", random_frames(5, 96, 128), 8.0).read_bytes()  # yuv420p
    assert np.array_equal(read_video(tmp_path / "a.mp4").frames, _per_frame_rgb(lossy))
    assert np.array_equal(read_video(tmp_path / "a.mp4", max_side=64).frames,
                          _per_frame_rgb(lossy, width=64, height=48))
    lossless = encode_video(random_frames(4, 32, 32), 8.0, lossless=True)  # the synthetic shards' own (gbrp)
    assert np.array_equal(decode_video_bytes(lossless, "x").frames, _per_frame_rgb(lossless))
