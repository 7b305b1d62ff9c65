"""NSPModel: trainable sets per stage, the flow-matching loss, checkpoints, and the paper preset's loading path."""

import json
import re

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from nsp.config import preset_config
from nsp.errors import NSPError
from nsp.generation.ltx import frames_to_video
from nsp.model import STAGE_TRAINABLE, NSPModel
from nsp.pipeline import NSPPipeline
from tests.conftest import paper_overrides


def _trainable_groups(model):
    return {name for name, params in model.groups().items() if any(p.requires_grad for p in params)}


@pytest.mark.parametrize("stage", list(STAGE_TRAINABLE))
def test_each_stage_trains_its_set(tiny_model, stage):
    tiny_model.set_trainable(stage)
    assert _trainable_groups(tiny_model) == set(STAGE_TRAINABLE[stage])
    report = tiny_model.parameter_report()
    # The VLM and the VAE are trained only in their own (tiny-model) pre-steps, never in the NSP stages.
    assert (report["vlm"]["trainable"] > 0) == (stage == "vlm")
    assert (report["vae"]["trainable"] > 0) == (stage == "vae")
    assert report["total"]["trainable"] == sum(report[g]["trainable"] for g in STAGE_TRAINABLE[stage])


def test_unknown_stage_and_frozen_groups_are_refused(tiny_model):
    with pytest.raises(NSPError, match="unknown"):
        tiny_model.set_trainable("pretrain")
    with pytest.raises(NSPError, match="VLM is frozen in the NSP stages"):
        tiny_model.set_trainable(["vlm", "queries"])
    with pytest.raises(NSPError, match="VAE is frozen in the NSP stages"):
        tiny_model.set_trainable(["vae", "connector"])


def test_flow_matching_loss_trains_connector_queries_and_dit_only(tiny_model, clip):
    tiny_model.set_trainable("sft")
    tiny_model.zero_grad(set_to_none=True)
    batch = tiny_model.prepare_context(["a ball"], [clip])
    video = torch.from_numpy(clip.frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1
    latents = tiny_model.generator.encode(video)
    assert latents.shape == (1, 3 * 8 * 8, 16)
    g = torch.Generator().manual_seed(0)
    loss = tiny_model.flow_matching_loss(tiny_model.condition(batch), latents, 8.0, (3, 8, 8), g)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    for name, params in tiny_model.groups().items():
        has_grad = any(p.grad is not None and p.grad.abs().sum() > 0 for p in params)
        assert has_grad == (name in STAGE_TRAINABLE["sft"]), name
    tiny_model.zero_grad(set_to_none=True)


def test_sigma_shift_moves_training_to_higher_noise(tiny_model, clip):
    """dit.sigma_shift: the same draws, each noise level higher; the model's loss is taken at the shifted levels."""
    from nsp.generation import flow

    cfg = tiny_model.generator.scheduler.config
    base = flow.sample_sigmas(512, 192, cfg, torch.Generator().manual_seed(0))
    shifted = flow.sample_sigmas(512, 192, cfg, torch.Generator().manual_seed(0), extra_shift=2.0)
    assert torch.all(shifted > base)
    assert (base > 0.9).float().mean() < 0.1 < 0.4 < (shifted > 0.9).float().mean()

    # A huge shift puts every level at pure noise: the loss is then the velocity's error at sigma 1 on that noise.
    gen = tiny_model.generator
    latents = gen.encode(torch.from_numpy(clip.frames).permute(3, 0, 1, 2)[None].float() / 127.5 - 1)
    condition = torch.randn(1, 16, gen.caption_channels)
    g = torch.Generator().manual_seed(3)
    torch.randn(1, generator=g)  # the sigma draw comes first
    noise = torch.randn(latents.shape, generator=g)
    with torch.no_grad():
        expected = flow.flow_matching_loss(gen.velocity(noise, torch.ones(1), condition, (3, 8, 8), 8.0),
                                           latents, noise)
        loss = tiny_model.flow_matching_loss(condition, latents, 8.0, (3, 8, 8), torch.Generator().manual_seed(3),
                                             sigma_shift=30.0)
        plain = tiny_model.flow_matching_loss(condition, latents, 8.0, (3, 8, 8), torch.Generator().manual_seed(3))
    # (An untrained DiT barely tells noise levels apart: the plain loss differs by ~0.1%, far above float error.)
    assert torch.allclose(loss, expected, rtol=1e-5) and not torch.allclose(plain, expected, rtol=1e-4)


def test_tiny_checkpoint_embeds_everything_and_reloads_identically(tiny_model, tiny_checkpoint, clip):
    meta = json.loads((tiny_checkpoint / "nsp_config.json").read_text())
    for name in ("vlm", "transformer", "vae", "scheduler"):
        assert meta["components"][name]["path"] == name
        assert list((tiny_checkpoint / name).glob("*config.json")), name
    weights = load_file(str(tiny_checkpoint / "nsp_weights.safetensors"))
    assert {"queries", "null_condition"} <= set(weights) and any(k.startswith("connector.") for k in weights)
    assert not [p for p in tiny_checkpoint.parent.iterdir() if p.name.startswith(".")]  # atomic: no temp dirs
    reloaded = NSPModel.from_pretrained(tiny_checkpoint)
    a = NSPPipeline(tiny_model)(clip, "x", num_inference_steps=2, seed=3, progress=False).frames
    b = NSPPipeline(reloaded)(clip, "x", num_inference_steps=2, seed=3, progress=False).frames
    assert (a == b).all()


def test_paper_preset_loads_local_hf_snapshots_and_references_them(hf_snapshots, tmp_path, clip):
    qwen, ltx = hf_snapshots
    model = NSPModel.from_config(preset_config("paper", paper_overrides(qwen, ltx)))
    # The weights are the snapshots' own, not a fresh random init.
    from safetensors.torch import load_file as load

    saved = load(str(next(qwen.glob("*.safetensors"))))
    key = next(k for k in saved if k.endswith("embed_tokens.weight"))
    assert torch.equal(model.context_encoder.vlm.get_input_embeddings().weight, saved[key])
    saved_dit = load(str(ltx / "transformer" / "diffusion_pytorch_model.safetensors"))
    assert torch.equal(model.generator.transformer.proj_in.weight, saved_dit["proj_in.weight"])
    frames = NSPPipeline(model)(clip, "the next scene", progress=False).frames
    assert frames.shape == (1, 9, 64, 64, 3)

    # Untrained checkpoint: frozen bases referenced (absolute local path, and the directory's name), never copied.
    ck = model.save_pretrained(tmp_path / "ck")
    comps = json.loads((ck / "nsp_config.json").read_text())["components"]
    assert comps["vlm"]["path"] == str(qwen.resolve()) and not (ck / "vlm").exists()
    assert comps["vae"] == {"class": "AutoencoderKLLTXVideo", "path": str(ltx.resolve()), "subfolder": "vae",
                            "ref": "LTX-Video-tiny"}
    assert not (ck / "vae").exists() and not (ck / "transformer").exists()
    # Once the DiT is trained it is embedded; the VLM and VAE still are not.
    model.set_trainable("sft")
    with torch.no_grad():
        model.generator.transformer.proj_in.weight.add_(1.0)
    ck2 = model.save_pretrained(tmp_path / "ck2")
    assert (ck2 / "transformer" / "config.json").is_file() and not (ck2 / "vlm").exists()
    again = NSPModel.from_pretrained(ck2)
    assert torch.equal(again.generator.transformer.proj_in.weight, model.generator.transformer.proj_in.weight)
    assert again.sources["vlm"] == str(qwen)


def test_a_checkpoint_finds_its_base_models_on_another_machine(hf_snapshots, tmp_path, clip, monkeypatch):
    """Frozen bases are referenced by path and by a name found elsewhere: a hub repo id (the local HF cache), a
    directory name (under $NSP_MODELS_DIR). Moved to "another machine", the checkpoint loads and predicts the same."""
    import shutil

    qwen, ltx = hf_snapshots
    repo = tmp_path / "a" / "hub" / "models--tiny-org--Qwen2.5-VL-tiny"
    shutil.copytree(qwen, repo / "snapshots" / "0123abc")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abc")
    models = tmp_path / "a" / "models"
    shutil.copytree(ltx, models / "LTX-Video-tiny")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "a" / "hub"))
    monkeypatch.delenv("NSP_MODELS_DIR", raising=False)
    model = NSPModel.from_config(preset_config("paper", paper_overrides("tiny-org/Qwen2.5-VL-tiny",
                                                                        models / "LTX-Video-tiny")))
    ck = model.save_pretrained(tmp_path / "ck")
    comps = json.loads((ck / "nsp_config.json").read_text())["components"]
    assert comps["vlm"]["ref"] == "tiny-org/Qwen2.5-VL-tiny"
    assert comps["vlm"]["path"] == str((repo / "snapshots" / "0123abc").resolve())
    assert comps["vae"]["ref"] == comps["transformer"]["ref"] == "LTX-Video-tiny" and comps["vae"]["subfolder"] == "vae"
    expected = NSPPipeline(model)(clip, "the next scene", progress=False).frames

    # Another machine: the hub cache and the models directory elsewhere, the saved paths gone.
    shutil.move(tmp_path / "a", tmp_path / "b")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "b" / "hub"))
    with pytest.raises(NSPError, match=r"ck: its transformer base model LTX-Video-tiny is not on this machine: not at "
                                       r".*/a/models/LTX-Video-tiny, NSP_MODELS_DIR unset"):
        NSPModel.from_pretrained(ck)
    monkeypatch.setenv("NSP_MODELS_DIR", str(tmp_path / "b" / "models"))
    moved = NSPModel.from_pretrained(ck)
    np.testing.assert_array_equal(NSPPipeline(moved)(clip, "the next scene", progress=False).frames, expected)
    # What is saved from it names the same bases, so the next machine finds them too.
    assert moved.sources["generator"] == "LTX-Video-tiny" and moved.sources["vlm"] == "tiny-org/Qwen2.5-VL-tiny"
    again = json.loads((moved.save_pretrained(tmp_path / "ck2") / "nsp_config.json").read_text())["components"]
    assert again["vae"]["ref"] == "LTX-Video-tiny"
    assert again["vae"]["path"] == str(tmp_path / "b" / "models" / "LTX-Video-tiny")
    assert again["vlm"]["ref"] == "tiny-org/Qwen2.5-VL-tiny"
    with pytest.raises(NSPError, match="not in the Hugging Face cache .*/b/hub, not under NSP_MODELS_DIR="):
        NSPModel.from_config(preset_config("tiny", ["vlm.path=other-org/missing"]))


def test_a_five_second_context_fits_the_paper_budget_beside_its_queries():
    """The paper's budget: 1024 tokens, 256 of them queries. The clip's share is what the queries leave (a 5 s
    360x640 clip at the default policy once overflowed by 24 tokens)."""
    from nsp.video.io import Clip

    model = NSPModel.from_config(preset_config("tiny", ["vlm.max_tokens=1024", "connector.num_queries=256",
                                                        "vlm.video.fps=2", "vlm.video.min_tokens_per_frame=128",
                                                        "vlm.video.max_tokens_per_frame=768"]))
    clip = Clip(np.zeros((120, 360, 640, 3), np.uint8), 24.0)
    batch = model.prepare_context(["a person walks to the door"], [clip])
    video_tokens = int(batch.video_grid_thw.prod()) // 4
    assert video_tokens >= 500 and batch.input_ids.shape[1] + 256 <= 1024


def test_vlm_loads_in_8bit_with_bitsandbytes_and_still_trains_the_queries(hf_snapshots):
    qwen, ltx = hf_snapshots
    model = NSPModel.from_config(preset_config("paper", paper_overrides(qwen, ltx) + ["vlm.quantization=8bit"]))
    layer = model.context_encoder.vlm.model.language_model.layers[0].mlp.gate_proj
    assert type(layer).__name__ == "Linear8bitLt"
    batch = model.prepare_context(["hello"], [None])
    model.context_encoder(batch).sum().backward()
    assert model.context_encoder.queries.grad.abs().sum() > 0


def test_missing_weight_directories_are_clear_errors(tmp_path):
    with pytest.raises(NSPError, match="vlm.path=.*not a local directory"):
        NSPModel.from_config(preset_config("tiny", [f"vlm.path={tmp_path / 'nope'}"]))
    with pytest.raises(NSPError, match="not an LTX-Video snapshot"):
        NSPModel.from_config(preset_config("tiny", [f"generator.path={tmp_path}"]))
    with pytest.raises(NSPError, match="not an NSP checkpoint"):
        NSPModel.from_pretrained(tmp_path)


def test_clean_history_conditions_the_dit(clip):
    """generator.history_frames: the context's last latent frames go in clean before the noisy clip (Video-GPT)."""
    from nsp.video.io import Clip

    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny", ["generator.history_frames=1"]))
    gen = model.generator
    grid = gen.latent_grid(9, 64, 64)
    small = Clip(clip.frames[:5, ::2, ::2], clip.fps)  # another size and length: fitted to the generator's
    history = model.encode_history([clip, None, small])
    channels = gen.transformer.config.in_channels
    assert history.shape == (3, grid[1] * grid[2], channels)
    assert torch.all(history[1] == 0) and history[0].abs().sum() > 0 and history[2].abs().sum() > 0

    tokens = torch.randn(2, grid[0] * grid[1] * grid[2], channels)
    condition = torch.randn(2, 16, gen.caption_channels)
    with torch.no_grad():
        plain = gen.velocity(tokens, 0.5, condition, grid, 8.0)
        seen = gen.velocity(tokens, 0.5, condition, grid, 8.0, history=history[:2])
        swapped = gen.velocity(tokens, 0.5, condition, grid, 8.0, history=history[:2].flip(0))
    assert seen.shape == tokens.shape  # only the clip's velocity comes back
    assert not torch.allclose(seen, plain, atol=1e-4)  # the history is seen
    assert not torch.allclose(seen[0], swapped[0], atol=1e-4)  # and which history matters

    # The training loss runs through it and gradients reach the DiT; the no-history model is unchanged.
    model.set_trainable("sft")
    batch = model.prepare_context([None], [clip])
    latents = gen.encode(torch.zeros(1, 3, 9, 64, 64))
    loss = model(batch, latents, grid, 8.0, history=history[:1])
    loss.backward()
    assert torch.isfinite(loss) and gen.transformer.proj_in.weight.grad.abs().sum() > 0
    assert NSPModel.from_config(preset_config("tiny")).encode_history([clip]) is None


def test_noisy_history_is_given_at_its_level(clip):
    """Noise-augmented history: training noises each row's history at a random level up to dit.history_noise and
    tells the DiT that level; sampling gives it at generator.history_sigma, the same for a row in any batch."""
    from nsp.generation import flow

    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny", ["generator.history_frames=1"]))
    gen = model.generator
    clean = model.encode_history([clip, clip])
    model.config.generator.history_sigma = 0.2
    noisy = model.encode_history([clip, clip])
    alone = model.encode_history([clip])
    assert torch.allclose(noisy[:1], alone, atol=1e-5) and torch.allclose(noisy[0], noisy[1], atol=1e-5)  # row by row, batch-free
    expected = flow.add_noise(clean[:1], torch.randn(clean.shape[1:], generator=torch.Generator().manual_seed(0)),
                              torch.tensor([0.2]))
    assert torch.allclose(alone, expected, atol=1e-6)
    drawn = model.encode_history([clip], torch.Generator().manual_seed(1))  # a sampler's own generator
    assert not torch.allclose(drawn, alone)

    grid = gen.latent_grid(9, 64, 64)
    tokens = torch.randn(1, grid[0] * grid[1] * grid[2], gen.transformer.config.in_channels)
    condition = torch.randn(1, 16, gen.caption_channels)
    with torch.no_grad():
        at_zero = gen.velocity(tokens, 0.5, condition, grid, 8.0, history=alone)
        at_level = gen.velocity(tokens, 0.5, condition, grid, 8.0, history=alone, history_sigma=0.2)
    assert not torch.allclose(at_zero, at_level, atol=1e-5)  # the DiT is told the history's level

    batch = model.prepare_context([None], [clip])
    latents = gen.encode(torch.zeros(1, 3, 9, 64, 64))

    def loss(history_noise: float) -> float:
        with torch.no_grad():
            return float(model(batch, latents, grid, 8.0, generator=torch.Generator().manual_seed(3),
                               history=clean[:1], history_noise=history_noise))

    assert loss(0.0) == loss(0.0) and loss(0.5) == loss(0.5)  # replayable from the generator
    assert loss(0.5) != loss(0.0)  # the history was noised


def test_a_multi_clip_context_is_encoded_clip_by_clip(clip):
    """generator.context_clips: a visual sentence (A, A', B) is one context of 3 clips; the VAE encodes each clip on
    its own, and the history counts its latent frames from the end of the sentence."""
    from nsp.video.io import Clip

    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny", ["generator.context_clips=3", "generator.history_frames=9"]))
    gen = model.generator
    a, a2, b = clip.frames, clip.frames[::-1].copy(), clip.frames[:, :, ::-1].copy()
    sentence = np.concatenate([a, a2, b])
    with torch.no_grad():
        whole = gen.encode_clips(frames_to_video(sentence[None]), 9)
        parts = [gen.encode_latents(frames_to_video(x[None]), sample=False) for x in (a, a2, b)]
        assert whole.shape[2] == 3 * parts[0].shape[2] == 9
        assert torch.allclose(whole, torch.cat(parts, 2), atol=1e-5)
        one = gen.encode_clips(frames_to_video(a[None]), 9)  # a single clip: plain encode_latents
        assert torch.equal(one, parts[0])

        history = model.encode_history([Clip(sentence, clip.fps)])
        assert torch.allclose(history, gen.pack(torch.cat(parts, 2)), atol=1e-5)  # all 9 latent frames, in order
    # The pipeline keeps the whole sentence (27 frames at the model's size), not only its last clip.
    fitted = NSPPipeline(model).fit_context(Clip(sentence, clip.fps))
    assert fitted.frames.shape == (27, 64, 64, 3) and np.array_equal(fitted.frames, sentence)


def test_a_dit_lora_checkpoint_loads_back_exactly(tmp_path):
    """A LoRA on an embedded DiT: the base DiT is saved under its own key names, the LoRA on its own."""
    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny"))
    model.add_dit_lora(4)
    with torch.no_grad():
        for name, p in model.generator.transformer.named_parameters():
            if "lora_B" in name:
                p.normal_()  # a trained LoRA (peft starts B at zero)
    loaded = NSPModel.from_pretrained(model.save_pretrained(tmp_path / "ck"))
    before, after = dict(model.named_parameters()), dict(loaded.named_parameters())
    assert before.keys() == after.keys() and not any(p.is_meta for p in after.values())
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_timestep_conditioned_vae_decodes_with_noise_from_the_given_generator():
    """LTX 0.9.1+ VAEs add seeded noise before decoding: the same seed gives the same video. (The noise is drawn on
    the generator's device and moved, so the pipeline's CPU generator also serves CUDA latents: not testable here.)"""
    import torch
    from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel

    from nsp.generation.ltx import GENERATOR_ARCHS, LTX_SCHEDULER, LTXGenerator

    torch.manual_seed(0)
    arch = GENERATOR_ARCHS["tiny"]
    gen = LTXGenerator(LTXVideoTransformer3DModel(**arch["transformer"]),
                       AutoencoderKLLTXVideo(**{**arch["vae"], "upsample_residual": (True, True),  # as in 0.9.1
                                                "upsample_factor": (2, 2)}, timestep_conditioning=True).eval(),
                       FlowMatchEulerDiscreteScheduler(**LTX_SCHEDULER))
    grid = gen.latent_grid(9, 64, 64)
    tokens = torch.randn(1, grid[0] * grid[1] * grid[2], 16)
    first, again, other = (gen.decode(tokens, grid, 0.05, 0.5, torch.Generator("cpu").manual_seed(seed))
                           for seed in (1, 1, 2))
    assert first.shape == (1, 3, 9, 64, 64)
    assert torch.equal(first, again) and not torch.allclose(first, other)


class _Payload:
    """Unpickling this would create a file: the proof that a pickle was run."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("damage", ["weights_pickle", "queries_shape", "vlm_pickle"])
def test_a_bad_checkpoint_is_a_one_line_error_and_no_pickle_runs(tiny_checkpoint, tmp_path, damage):
    import pickle
    import shutil

    from safetensors.torch import save_file

    ck = tmp_path / "ck"
    shutil.copytree(tiny_checkpoint, ck)
    marker = tmp_path / "pwned"
    if damage == "weights_pickle":
        (ck / "nsp_weights.safetensors").write_bytes(pickle.dumps(_Payload(marker)))
        expected = "nsp_weights.safetensors: not a readable safetensors file"
    elif damage == "queries_shape":
        state = load_file(str(ck / "nsp_weights.safetensors"))
        state["queries"] = state["queries"][:3].contiguous()
        save_file(state, str(ck / "nsp_weights.safetensors"))
        expected = "queries is (3,"
    else:
        vlm = ck / "vlm"
        (vlm / "model.safetensors").unlink()
        torch.save({"x": _Payload(marker)}, vlm / "pytorch_model.bin")
        expected = "vlm.path="
    with pytest.raises(NSPError, match=re.escape(expected)) as err:
        NSPModel.from_pretrained(ck)
    assert "\n" not in str(err.value) and not marker.exists()
