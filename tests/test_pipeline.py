import numpy as np
import pytest

from nsp.pipeline import NSPPipeline


@pytest.fixture(scope="module")
def pipe(tiny_model):
    return NSPPipeline(tiny_model)


def test_predicts_a_clip_of_the_configured_shape(pipe, clip):
    out = pipe(clip, "the ball keeps rolling", num_inference_steps=3, progress=False)
    assert out.frames.shape == (1, 9, 64, 64, 3) and out.frames.dtype == np.uint8
    assert out.fps == 8.0


def test_same_seed_same_video_other_seed_other_video(pipe, clip):
    a = pipe(clip, None, num_inference_steps=2, seed=7, progress=False).frames
    b = pipe(clip, None, num_inference_steps=2, seed=7, progress=False).frames
    c = pipe(clip, None, num_inference_steps=2, seed=8, progress=False).frames
    assert (a == b).all() and not (a == c).all()


def test_context_changes_the_prediction(pipe, clip):
    a = pipe(clip, "a", num_inference_steps=2, seed=1, progress=False).frames
    b = pipe(None, "a", num_inference_steps=2, seed=1, progress=False).frames
    assert not (a == b).all()


def test_guidance_one_skips_the_unconditional_pass(pipe, clip):
    out = pipe(clip, None, num_inference_steps=2, guidance_scale=1.0, num_videos=2, progress=False)
    assert out.frames.shape[0] == 2


def test_reads_a_clip_from_a_path(pipe, clip_file):
    assert pipe(clip_file, num_inference_steps=2, progress=False).frames.shape == (1, 9, 64, 64, 3)


def test_needs_some_context_and_two_steps(pipe, clip):
    with pytest.raises(ValueError, match="context"):
        pipe(None, None)
    with pytest.raises(ValueError, match="at least 2"):
        pipe(clip, num_inference_steps=1)
