"""The full-size path at the real widths, one layer deep: each supported base's shapes (Qwen2.5-VL-7B and Qwen3-VL-8B,
the DiTs of LTX-Video 2B and 13B) with random weights in bf16, through a prediction, an SFT step and an RL step.
Shape and dtype bugs of the paper preset fail the suite here, on a CPU, with no download."""

import numpy as np
import torch

from nsp.data.synth import synthesize

CASES = [  # (VLM family, VLM shapes, its width, DiT shapes, its width)
    ("qwen2_5_vl", "qwen2.5-vl-7b", 3584, "ltx-video-2b", 2048),
    ("qwen3_vl", "qwen3-vl-8b", 4096, "ltx-video-13b", 4096),
]


def test_each_base_at_real_widths_predicts_and_trains_an_sft_and_an_rl_step(tmp_path, clip, monkeypatch):
    """One test, the cases one after the other: each model is GBs, and two at once on the two test workers would
    crowd the rest of the suite. The vocabulary is the tiny tokenizer's: its rows are a lookup table, not a width,
    and building 152k of them (1.1 B parameters) would be most of the test's time."""
    from nsp.understanding.vlm import VLM_ARCHS

    for family, arch, *_ in CASES:
        monkeypatch.setitem(VLM_ARCHS[family], arch, {k: v for k, v in VLM_ARCHS[family][arch].items()
                                                      if k != "vocab_size"})
    from nsp.config import preset_config
    from nsp.data.loader import PairStream
    from nsp.model import NSPModel
    from nsp.pipeline import NSPPipeline
    from nsp.stages.config import load_train_config
    from nsp.stages.rl import RLStage
    from nsp.stages.sft import SFTStage

    data = tmp_path / "synth"
    synthesize(data, {"train": 4, "val": 1, "test": 0}, seed=2, workers=1, progress=False, world="continuation")
    small = ["vlm.depth=1", "generator.depth=1", "generator.num_frames=9", "generator.height=64",
             "generator.width=64", "sampling.steps=2", "connector.num_queries=8", "vlm.max_tokens=256",
             "vlm.video.min_tokens_per_frame=4", "vlm.video.max_tokens_per_frame=16", "vlm.video.fps=4"]
    for family, vlm_arch, vlm_width, dit_arch, dit_width in CASES:
        torch.manual_seed(0)
        model = NSPModel.from_config(preset_config(
            "paper", [f"vlm.family={family}", f"vlm.arch={vlm_arch}", f"generator.arch={dit_arch}", *small]))
        vlm, dit = model.context_encoder.vlm, model.generator.transformer
        assert vlm.config.text_config.hidden_size == vlm_width
        assert dit.config.num_attention_heads * dit.config.attention_head_dim == dit_width
        assert len(dit.transformer_blocks) == 1
        # Built in bf16 from the start (no fp32 copy); the trained-from-scratch parts stay fp32.
        assert {p.dtype for p in vlm.parameters()} == {p.dtype for p in dit.parameters()} == {torch.bfloat16}
        assert model.context_encoder.queries.dtype == torch.float32

        frames = NSPPipeline(model)(clip, "a red ball rolls left", progress=False).frames
        assert frames.shape == (1, 9, 64, 64, 3) and frames.dtype == np.uint8

        base = ["model.patch.vlm.path=null", "model.patch.generator.vae_path=null", f"data.path={data}"]
        sft = SFTStage(load_train_config("stages/configs/sft_tiny.yaml", [*base, "data.batch_size=1"]), model)
        phase = sft.cfg.phases[-1]
        sft.set_trainable(phase)
        trained = [p for p in model.parameters() if p.requires_grad]
        before = dit.proj_out.weight.detach().clone()
        optimizer = torch.optim.AdamW(trained, lr=1e-3)
        loss, _ = sft.loss(sft.module(), next(sft.train_batches(phase, np.random.default_rng(0), skip=0)),
                           torch.Generator().manual_seed(0))
        assert torch.isfinite(loss)
        loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trained)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        assert not torch.equal(before, dit.proj_out.weight)

        rl = RLStage(load_train_config("stages/configs/rl_tiny.yaml", [
            *base, "rl.group_size=2", "rl.contexts=1", "rl.sampling_steps=2", "rl.train_steps=1",
            "rl.train_window=null", "rl.noise_only_trained=false"]), model)
        rl.set_trainable(rl.cfg.phases[-1])
        units = rl.rollout_units(iter(PairStream(data, "train", shuffle=False)), seed=1)
        loss, metrics = rl.objective(units[0])
        loss.backward()
        assert torch.isfinite(loss) and abs(metrics["ratio"] - 1.0) < 1e-2  # the first update: ratio 1 (bf16)
        assert torch.isfinite(model.context_encoder.queries.grad).all()
        del model, vlm, dit, sft, rl, units, optimizer, trained
