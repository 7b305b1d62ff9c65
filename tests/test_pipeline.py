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


def test_denoising_and_decoding_match_diffusers_ltx_pipeline(tiny_model, pipe, clip):
    """Given the same condition, NSPPipeline must produce LTXPipeline's video: same latents, schedule, CFG, decode."""
    import torch
    from diffusers import LTXPipeline

    gen = tiny_model.generator
    ltx = LTXPipeline(scheduler=gen.scheduler, vae=gen.vae, text_encoder=None, tokenizer=None,
                      transformer=gen.transformer)
    ltx.set_progress_bar_config(disable=True)
    with torch.no_grad():
        cond = tiny_model.condition(tiny_model.prepare_context(["t"], [clip]))
    mask = torch.ones(cond.shape[:2], dtype=torch.long)
    ref = ltx(prompt_embeds=cond, prompt_attention_mask=mask, negative_prompt_embeds=tiny_model.null(1).detach(),
              negative_prompt_attention_mask=mask, num_frames=9, height=64, width=64, frame_rate=8.0,
              num_inference_steps=4, guidance_scale=3.0, generator=torch.Generator().manual_seed(5),
              output_type="np").frames
    ours = pipe(clip, "t", num_inference_steps=4, guidance_scale=3.0, seed=5, progress=False).frames
    assert ours.shape == ref.shape
    assert np.abs(ours.astype(float) - ref * 255).max() <= 1.0  # only uint8 rounding differs


# ---- speed and memory switches: each must give the same videos ------------------------------------------------------
def test_cfg_branches_in_one_batch_equal_two_forwards(tiny_model):
    import torch

    from nsp.generation.ltx import guided_velocity

    torch.manual_seed(0)
    gen, grid = tiny_model.generator, (3, 2, 2)
    tokens = torch.randn(2, 12, gen.transformer.config.in_channels)
    cond, null = torch.randn(2, 16, 64), tiny_model.null(2)
    with torch.no_grad():
        both = guided_velocity(gen, tokens, torch.tensor(0.7), cond, null, 3.0, grid, 8.0)
        c, u = (gen.velocity(tokens, torch.tensor(0.7), x, grid, 8.0) for x in (cond, null))
    torch.testing.assert_close(both, u + 3.0 * (c - u), rtol=1e-4, atol=1e-5)


def test_offload_tiling_compile_and_the_attention_kernel_give_the_same_video(tiny_model, tiny_checkpoint, clip):
    import torch

    expected = NSPPipeline(tiny_model)(clip, "a ball", progress=False).frames

    offloaded = NSPPipeline.from_pretrained(tiny_checkpoint).enable_model_cpu_offload("cpu")
    np.testing.assert_array_equal(offloaded(clip, "a ball", progress=False).frames, expected)
    assert {p.device.type for p in offloaded.model.parameters()} == {"cpu"}  # all back in CPU memory

    tiled = NSPPipeline.from_pretrained(tiny_checkpoint).enable_vae_tiling()
    assert tiled.model.generator.vae.use_tiling
    np.testing.assert_array_equal(tiled(clip, "a ball", progress=False).frames, expected)  # one tile at this size

    math = NSPPipeline.from_pretrained(tiny_checkpoint, overrides=["generator.attention_backend=_native_math"])
    assert np.abs(math(clip, "a ball", progress=False).frames.astype(int) - expected).max() <= 1

    compiled = NSPPipeline.from_pretrained(tiny_checkpoint).compile_transformer(backend="aot_eager")
    assert np.abs(compiled(clip, "a ball", progress=False).frames.astype(int) - expected).max() <= 1
    assert torch.equal(compiled.model.generator.transformer.proj_in.weight,
                       tiny_model.generator.transformer.proj_in.weight)


def test_bf16_denoising_gives_the_fp32_video_to_bf16_rounding(tiny_model, tiny_checkpoint, clip):
    import torch

    expected = NSPPipeline(tiny_model)(clip, "a ball", progress=False).frames
    pipe = NSPPipeline.from_pretrained(tiny_checkpoint).enable_bf16()
    frames = pipe(clip, "a ball", progress=False).frames
    difference = np.abs(frames.astype(int) - expected)
    assert 0 < difference.max() <= 4 and difference.mean() < 0.5  # bf16 was used, and only rounds
    assert {p.dtype for p in pipe.model.parameters()} == {torch.float32}  # autocast: the weights are kept
