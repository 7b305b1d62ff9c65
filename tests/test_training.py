"""The training engine on real DeepSpeed (CPU, gloo): tiny t2v / sft / vae runs, a 2-process ZeRO-2 run, frozen
weights untouched, and an exact resume after kill -9."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nsp.data.synth import synthesize
from tests.conftest import REPO, run_nsp

SMALL = ["run.log_every=1", "run.val_every=100", "run.save_every=100", "data.batch_size=4", "data.val_batches=1",
         "model.patch.vlm.path=null", "model.patch.generator.vae_path=null", "optim.warmup_steps=0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "synth"
    synthesize(out, {"train": 24, "val": 8, "test": 4}, seed=5, workers=1, progress=False, world="continuation")
    return out


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def train_losses(run: Path) -> dict[int, float]:
    return {m["step"]: m["loss"] for m in metrics(run) if "loss" in m}


def weights(ck: Path) -> dict[str, torch.Tensor]:
    out = {f"nsp.{k}": v for k, v in load_file(str(ck / "nsp_weights.safetensors")).items()}
    for part in ("transformer", "vae", "vlm"):
        for f in (ck / part).glob("*.safetensors"):
            out.update({f"{part}.{k}": v for k, v in load_file(str(f)).items()})
    return out


def test_t2v_curriculum_then_sft_in_one_process(data, tmp_path):
    t2v = tmp_path / "t2v"
    phases = ("phases=[{name: images, steps: 2, trainable: [queries, connector], images: 1.0},"
              " {name: mixed, steps: 2, trainable: [queries, connector, transformer], images: 0.5}]")
    r = run_nsp("train", "t2v", "--config", "stages/configs/t2v_tiny.yaml", "--data", data, "--out", t2v, *SMALL,
                phases)
    assert r.returncode == 0, r.stderr[-2000:]
    assert [m["phase"] for m in metrics(t2v) if "loss" in m] == ["images", "images", "mixed", "mixed"]
    assert (t2v / "phases" / "images" / "nsp_config.json").is_file() and (t2v / "final" / "nsp_config.json").is_file()
    assert list((t2v / "samples").glob("*.png"))
    assert list((t2v / "tensorboard").iterdir())

    untrained = weights(t2v / "phases" / "images")  # after phase 1: the DiT was frozen there
    sft = tmp_path / "sft"
    r = run_nsp("train", "sft", "--config", "stages/configs/sft_tiny.yaml", "--data", data, "--init", t2v / "final",
                "--out", sft, *SMALL, "phases=[{name: pairs, steps: 3, trainable: [queries, connector, transformer]}]",
                "model.patch.generator.history_frames=1",  # SFT turns on the clean history (T2V has no context to see)
                "dit.history_noise=0.5", "model.patch.generator.history_sigma=0.1",  # noise-augmented, for rollouts
                "deepspeed.precision=bf16",  # on a CPU: autocast, weights stay fp32
                "data.context_text=0")  # clips alone: the checkpoint says so, and predict warns of text beside one
    assert r.returncode == 0, r.stderr[-2000:]
    configs = [json.loads((d / "nsp_config.json").read_text())["model"]["generator"]
               for d in (t2v / "final", sft / "final")]
    assert [c["history_frames"] for c in configs] == [0, 1]  # and the checkpoint carries it to inference
    assert [c["history_sigma"] for c in configs] == [0.0, 0.1]
    before, after = weights(t2v / "final"), weights(sft / "final")
    for name in before:
        if name.startswith(("vlm.", "vae.")):
            assert torch.equal(before[name], after[name]), f"frozen {name} changed"
    for prefix in ("nsp.queries", "nsp.connector.fc1.weight", "transformer.proj_in.weight"):
        assert not torch.equal(before[prefix], after[prefix]), f"trainable {prefix} did not change"
        assert after[prefix].dtype == torch.float32 and torch.isfinite(after[prefix]).all()
    # Phase 1 (images) trained only queries + connector: the DiT left it as it came.
    initial = weights(t2v / "phases" / "images")
    assert torch.equal(initial["transformer.proj_in.weight"], untrained["transformer.proj_in.weight"])
    # The final checkpoint is the inference format.
    out = tmp_path / "next.mp4"
    clip = next((data / "test").glob("*.tar"))
    from nsp.data.loader import read_tar
    from nsp.video.io import decode_video_bytes, write_video

    sample = next(read_tar(clip))
    ctx = decode_video_bytes(sample["context.mp4"], "ctx")
    write_video(tmp_path / "ctx.mp4", ctx.frames, ctx.fps)
    r = run_nsp("predict", tmp_path / "ctx.mp4", "--checkpoint", sft / "final", "--out", out, "--steps", "2")
    assert r.returncode == 0 and out.is_file(), r.stderr
    assert "never gave it text beside a clip" not in r.stderr
    metas = [json.loads((d / "nsp_config.json").read_text()) for d in (t2v / "final", sft / "final")]
    assert "text_with_clip" not in metas[0] and metas[1]["text_with_clip"] is False  # T2V: no clip to read
    r = run_nsp("predict", tmp_path / "ctx.mp4", "--checkpoint", sft / "final", "--out", out, "--steps", "2",
                "--text", "the ball rolls on")
    assert r.returncode == 0 and "never gave it text beside a clip" in r.stderr, r.stderr


def test_t2v_text_as_answer_writes_the_caption_where_the_vlm_s_words_go(tiny_model):
    """data.text_as_answer: the user's turn is the model's prompt alone; the caption (a cut's next shot: the answer the
    tiny VLM was taught, outcome first) is the answer after it, cut to vlm.think_tokens."""
    import numpy as np

    from nsp.data.cache import LatentPair
    from nsp.data.cuts import cut_answer, cut_captions, sample_cut_scene
    from nsp.stages.config import TrainConfig
    from nsp.stages.t2v import T2VStage

    scenes = [sample_cut_scene(np.random.default_rng(i), family) for i, family in enumerate(("lamp", "time_skip"))]
    examples = [LatentPair(f"k{i}", {"next": torch.zeros(4, 2, 2, 2)}, None,
                           {"cut": s.to_json(), "captions": cut_captions(s), "fps": 8}) for i, s in enumerate(scenes)]
    cfg = TrainConfig(stage="t2v", phases=[{"name": "p", "steps": 1, "trainable": ["connector"]}],
                      data={"text_as_answer": True})
    enc, think = tiny_model.context_encoder, 6
    enc.cfg = enc.cfg.model_copy(update={"think_tokens": think})
    try:
        batch = T2VStage(cfg, tiny_model).make_batch(examples, np.random.default_rng(0), cfg.phases[0], train=False)
    finally:
        enc.cfg = enc.cfg.model_copy(update={"think_tokens": 0})
    tok = enc.tokenizer
    assert batch.target == "next"
    assert batch.context.answer_ids.tolist() == [tok(cut_answer(s), add_special_tokens=False)["input_ids"][:think]
                                                 for s in scenes]
    user = tok.decode(batch.context.input_ids[0][batch.context.attention_mask[0].bool()])
    assert enc.cfg.prompt in user and cut_captions(scenes[0])["next"] not in user


def test_an_sft_phase_sets_how_often_the_context_caption_is_given(tiny_model, clip):
    """phase.context_text overrides data.context_text: a clip-only phase, then one that always adds the caption."""
    import numpy as np

    from nsp.data.cache import LatentPair
    from nsp.stages.config import TrainConfig
    from nsp.stages.sft import SFTStage

    enc, caption = tiny_model.context_encoder, "a red ball rolls left"
    video = enc.video_input(clip.frames, clip.fps)
    examples = [LatentPair(f"k{i}", {"next": torch.zeros(4, 2, 2, 2)}, video, {"captions": {"context": caption}})
                for i in range(4)]
    cfg = TrainConfig(stage="sft", data={"context_text": 0.0},
                      phases=[{"name": "clip", "steps": 1, "trainable": ["connector"]},
                              {"name": "captions", "steps": 1, "trainable": ["connector"], "context_text": 1.0}])
    before = tiny_model.text_with_clip
    try:
        stage = SFTStage(cfg, tiny_model)
        assert tiny_model.text_with_clip  # one phase gives the caption beside the clip: the checkpoint will say so
    finally:
        tiny_model.text_with_clip = before
    for phase, given in zip(cfg.phases, (False, True)):
        for train in (True, False):  # validation reads the phase's share too (given when at least half)
            batch = stage.make_batch(examples, np.random.default_rng(0), phase, train=train)
            ids = batch.context.input_ids[0][batch.context.attention_mask[0].bool()]
            assert (caption in enc.tokenizer.decode(ids)) == given, (phase.name, train)


def test_bf16_on_cpu_autocasts_the_step_and_fp32_does_not():
    from nsp.stages.config import TrainConfig
    from nsp.stages.engine import cpu_autocast

    layer, x = torch.nn.Linear(4, 4), torch.randn(2, 4)
    dtypes = {}
    for precision in ("bf16", "fp32", "auto"):
        cfg = TrainConfig(stage="sft", phases=[{"name": "p", "steps": 1, "trainable": ["connector"]}],
                          deepspeed={"precision": precision})
        with cpu_autocast(cfg, torch.device("cpu")):
            dtypes[precision] = layer(x).dtype
    assert dtypes == {"bf16": torch.bfloat16, "fp32": torch.float32, "auto": torch.float32}
    assert layer.weight.dtype == torch.float32


def test_vae_stage_trains_only_the_vae_and_sets_latent_statistics(data, tmp_path):
    run = tmp_path / "vae"
    r = run_nsp("train", "vae", "--config", "stages/configs/vae_tiny.yaml", "--data", data, "--out", run, *SMALL,
                "phases=[{name: reconstruction, steps: 3, trainable: [vae]}]")
    assert r.returncode == 0, r.stderr[-2000:]
    final = weights(run / "final")
    assert not torch.equal(final["vae.latents_std"], torch.ones_like(final["vae.latents_std"]))
    assert "val_psnr" in metrics(run)[-1] and "val_oracle_pass" in metrics(run)[-1]


def test_vlm_stage_trains_only_the_vlm_and_embeds_it(data, tmp_path):
    run = tmp_path / "vlm"
    r = run_nsp("train", "vlm", "--config", "stages/configs/vlm_tiny.yaml", "--data", data, "--out", run, *SMALL,
                "phases=[{name: understanding, steps: 3, trainable: [vlm]}]")
    assert r.returncode == 0, r.stderr[-2000:]
    logged = [m["loss"] for m in metrics(run) if "loss" in m]
    assert len(logged) == 3 and all(x > 0 for x in logged)
    meta = json.loads((run / "final" / "nsp_config.json").read_text())
    assert meta["components"]["vlm"]["path"] == "vlm" and "vlm" in meta["trained"]
    from nsp.model import NSPModel

    model = NSPModel.from_pretrained(run / "final")  # the trained VLM loads as a local snapshot
    assert type(model.context_encoder.vlm).__name__ == "Qwen2_5_VLForConditionalGeneration"


def test_a_compiled_dit_trains_the_same_model_and_saves_the_same_keys(data, tmp_path):
    runs = {}
    for compiled in (False, True):
        out = runs[compiled] = tmp_path / f"compile_{compiled}"
        r = run_nsp("train", "sft", "--config", "stages/configs/sft_tiny.yaml", "--data", data, "--out", out, *SMALL,
                    "phases=[{name: pairs, steps: 2, trainable: [queries, connector, transformer]}]",
                    f"dit.compile={str(compiled).lower()}", "data.val_batches=0", timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
        assert ("the DiT is compiled" in r.stdout) == compiled
    eager, compiled = (train_losses(runs[c]) for c in (False, True))
    assert eager[1] == pytest.approx(compiled[1], rel=1e-4)  # the same weights and batch: the same loss
    assert eager[2] == pytest.approx(compiled[2], rel=1e-2)
    a, b = weights(runs[False] / "final"), weights(runs[True] / "final")
    assert a.keys() == b.keys()  # compiled in place: no wrapper prefix in the checkpoint
    assert torch.allclose(a["transformer.proj_in.weight"], b["transformer.proj_in.weight"], atol=1e-2)


def test_config_errors_fail_before_any_work(data, tmp_path):
    cases = [
        (["optim.lrr=1"], "optim.lrr: unknown key"),
        (["data.batch_size=big"], "data.batch_size"),
        (["phases=[{name: a, steps: 1, trainable: [vlm]}]"], "the vlm is trained only by the vlm stage"),
        (["model.patch.generator.num_frames=10"], "model: patch: generator: num_frames must be 8k+1"),
        (["model.patch.generator.histry=1"], "model: patch: generator.histry: unknown key"),
        (["optim.lr=.nan"], "optim.lr"),
        (["optim.lr=-0.001"], "optim.lr: Input should be greater than 0"),
        (["rl.keep_best=6", "rl.keep_worst=6"], "rl: keep_best + keep_worst exceed group_size"),
    ]
    for extra, message in cases:
        r = run_nsp("train", "t2v", "--config", "stages/configs/t2v_tiny.yaml", "--data", data, "--out",
                    tmp_path / "x", *extra)
        assert r.returncode == 2 and message in r.stderr, (extra, r.stderr[-500:])
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr[-500:]
        assert not (tmp_path / "x").exists()
    r = run_nsp("train", "t2v", "--config", "stages/configs/t2v_tiny.yaml", "--data", tmp_path / "nowhere")
    assert r.returncode == 2 and "not found" in r.stderr
    r = run_nsp("train", "sft", "--config", "stages/configs/t2v_tiny.yaml", "--data", data)
    assert r.returncode == 2 and "not 'sft'" in r.stderr


def _launch(args: list, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "nsp.cli.main", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_kill_9_or_sigterm_then_resume_matches_an_uninterrupted_run(data, tmp_path):
    args = ["train", "sft", "--config", "stages/configs/sft_tiny.yaml", "--data", data, *SMALL, "run.save_every=3",
            "phases=[{name: pairs, steps: 12, trainable: [queries, connector, transformer]}]", "run.seed=7"]
    straight = tmp_path / "straight"
    r = run_nsp(*args, "--out", straight)
    assert r.returncode == 0, r.stderr[-2000:]

    for sig in (signal.SIGKILL, signal.SIGTERM):
        run = tmp_path / sig.name
        proc = _launch([*args, "--out", run])
        latest = run / "checkpoints" / "latest"
        deadline = time.time() + 240
        while time.time() < deadline and proc.poll() is None:
            if sig == signal.SIGKILL and latest.is_file() and latest.read_text().strip() >= "step-0000006":
                break
            if sig == signal.SIGTERM and (run / "metrics.jsonl").is_file() and max(train_losses(run), default=0) >= 4:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be stopped"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
        stopped_at = int(latest.read_text().strip().split("-")[1])
        assert 4 <= stopped_at < 12 and not (run / "final").exists()
        if sig == signal.SIGTERM:  # saved the step it was on, said so in one line, exited as a SIGTERM'd process
            assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err[-2000:]
            assert f"nsp train: stopped by SIGTERM at step {stopped_at}; checkpoint" in err
            assert stopped_at == max(train_losses(run))

        r = run_nsp(*args, "--out", run, "--resume")
        assert r.returncode == 0, r.stderr[-2000:]
        a, b = train_losses(straight), train_losses(run)
        assert sorted(b) == list(range(1, 13))  # the same step count, each step logged once
        for step in range(1, 13):
            assert b[step] == pytest.approx(a[step], rel=1e-5, abs=1e-6), (sig.name, step)
        wa, wb = weights(straight / "final"), weights(run / "final")
        for name in ("nsp.queries", "transformer.proj_in.weight"):
            torch.testing.assert_close(wa[name], wb[name], rtol=1e-5, atol=1e-6)


def test_a_second_signal_stops_at_once():
    from nsp.stages.stopping import StopRequests

    # What a second signal does is what the replaced handler does: start from Python's own (an earlier test in the
    # same worker process can leave another one installed; a full run failed on that).
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    stops = StopRequests(announce=False).install()
    try:
        # Python runs a handler at its next check for signals, and a signal raised inside a handler (the second's
        # KeyboardInterrupt) only at the check after that: many short sleeps give those checks under any load,
        # where one long sleep, resumed after the first handler, may end before the second runs.
        def wait_until(done, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while not done() and time.monotonic() < deadline:
                time.sleep(0.01)

        os.kill(os.getpid(), signal.SIGINT)  # noted, not acted on
        wait_until(lambda: stops.signum, 5)
        assert stops.agreed(1, torch.device("cpu")) == signal.SIGINT
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C again: what it does without us
            os.kill(os.getpid(), signal.SIGINT)
            wait_until(lambda: False, 5)
    finally:
        stops.restore()
        restored = signal.signal(signal.SIGINT, before)
    assert restored is signal.default_int_handler


def test_resume_passes_over_a_damaged_checkpoint_and_a_failed_save_is_one_line(data, tmp_path):
    import resource

    args = ["train", "sft", "--config", "stages/configs/sft_tiny.yaml", "--data", data, *SMALL, "run.save_every=3",
            "phases=[{name: pairs, steps: 9, trainable: [queries, connector, transformer]}]", "run.seed=7"]
    run = tmp_path / "run"
    r = run_nsp(*args, "--out", run, "--max-steps", "6")
    assert r.returncode == 0, r.stderr[-2000:]
    ck = run / "checkpoints"
    assert (ck / "latest").read_text().strip() == "step-0000006"
    biggest = max((p for p in (ck / "step-0000006").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    biggest.write_bytes(biggest.read_bytes()[: biggest.stat().st_size // 2])  # a truncated copy
    (ck / ".tmp-step-0000004").mkdir()  # what a killed save leaves
    r = run_nsp(*args, "--out", run, "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "step-0000006 is damaged" in r.stdout and not (ck / ".tmp-step-0000004").exists()
    assert sorted(train_losses(run))[-3:] == [7, 8, 9] and (run / "final").is_dir()

    # A save that cannot be written (here: a file-size limit, as a full disk would): one line, nothing half-written.
    def limit():
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))  # a contact sheet fits, a checkpoint not

    full = tmp_path / "full"
    r = subprocess.run([sys.executable, "-m", "nsp.cli.main", *map(str, args), "--out", str(full)], cwd=REPO,
                       capture_output=True, text=True, timeout=300, preexec_fn=limit)
    errors = [line for line in r.stderr.splitlines() if "error" in line]  # (stderr also carries the progress bar)
    assert r.returncode == 2 and len(errors) == 1 and "Traceback" not in r.stderr, r.stderr[-800:]
    assert errors[0].startswith("nsp train: error: checkpoint") and "step-0000003 not saved: a file" in errors[0]
    import errno

    from nsp.stages.engine import write_failure

    assert write_failure(OSError(errno.ENOSPC, "No space left on device"), tmp_path).startswith("disk full")
    assert not list((full / "checkpoints").glob(".tmp-*"))


def test_export_of_a_run_stopped_mid_way_is_the_model_an_uninterrupted_run_ends_with(data, tmp_path):
    """A 4-step run stopped by --max-steps 2, exported, equals the final/ of a 2-step run (constant learning rate,
    EMA on: the exported weights are the averaged ones, as final/ holds)."""
    args = ["train", "sft", "--config", "stages/configs/sft_tiny.yaml", "--data", data, *SMALL, "run.seed=3",
            "optim.min_lr_ratio=1.0", "ema.decay=0.5"]
    phases = "phases=[{{name: pairs, steps: {}, trainable: [queries, connector, transformer]}}]"
    r = run_nsp(*args, phases.format(2), "--out", tmp_path / "two")
    assert r.returncode == 0, r.stderr[-2000:]
    r = run_nsp(*args, phases.format(4), "--out", tmp_path / "four", "--max-steps", "2")
    assert r.returncode == 0 and not (tmp_path / "four" / "final").exists(), r.stderr[-2000:]

    r = run_nsp("export", tmp_path / "four", "--out", tmp_path / "exported")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "step 2 (phase pairs, step 2), EMA weights" in r.stdout
    exported, final = weights(tmp_path / "exported"), weights(tmp_path / "two" / "final")
    assert exported.keys() == final.keys()
    for name in final:
        torch.testing.assert_close(exported[name], final[name], rtol=0, atol=1e-6, msg=name)
    meta = json.loads((tmp_path / "exported" / "nsp_config.json").read_text())
    assert meta["trained"] == ["transformer"]

    r = run_nsp("export", tmp_path / "four", "--out", tmp_path / "exported")
    assert r.returncode == 2 and "already exists (use --force" in r.stderr
    from nsp.errors import NSPError
    from nsp.stages.export import find_checkpoint

    with pytest.raises(NSPError, match="neither a run directory"):
        find_checkpoint(tmp_path / "two" / "final")
    ck = tmp_path / "four" / "checkpoints" / "step-0000002"
    (ck / "mp_rank_00_model_states.pt").write_bytes(b"")
    with pytest.raises(NSPError, match=r"damaged checkpoint \(mp_rank_00_model_states.pt is 0 bytes"):
        find_checkpoint(ck)


@pytest.mark.parametrize("zero", ["zero2", "zero3"])
def test_two_processes_with_zero_over_gloo(data, tmp_path, zero):
    run = tmp_path / zero
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port,
           "-m", "nsp.cli.main", "train", "sft", "--config", "stages/configs/sft_tiny.yaml", "--data", str(data),
           "--out", str(run), *SMALL, f"deepspeed.config=stages/deepspeed/{zero}.json", "run.save_every=2",
           "phases=[{name: pairs, steps: 3, trainable: [queries, connector, transformer]}]"]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    logged = [m for m in metrics(run) if "loss" in m]
    assert [m["step"] for m in logged] == [1, 2, 3]
    assert logged[0]["samples_per_s"] > 0
    config = json.loads((run / "config.json").read_text())
    assert config["deepspeed"]["config"].endswith(f"{zero}.json")
    final = weights(run / "final")  # whole tensors, also when ZeRO-3 kept only shards on each rank
    assert final["nsp.queries"].shape == (16, 64) and final["transformer.proj_in.weight"].numel() > 0
    # The mid-run checkpoint, its shards merged (by one process), is a whole model too, a step behind final/.
    r = run_nsp("export", run / "checkpoints" / "step-0000002", "--out", tmp_path / "step2")
    assert r.returncode == 0, r.stderr[-2000:]
    mid = weights(tmp_path / "step2")
    assert {k: v.shape for k, v in mid.items()} == {k: v.shape for k, v in final.items()}
    assert not torch.equal(mid["transformer.proj_in.weight"], final["transformer.proj_in.weight"])
    assert torch.equal(mid["vae.decoder.conv_in.conv.weight"], final["vae.decoder.conv_in.conv.weight"])  # frozen
    # Resumed from that checkpoint (every rank reading its shard, weights-only), step 3 ends where it did.
    r = subprocess.run(cmd + ["--resume"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    resumed = weights(run / "final")
    for name in final:
        torch.testing.assert_close(resumed[name], final[name], rtol=0, atol=1e-6, msg=name)


def test_a_save_failing_on_one_rank_stops_every_rank_with_one_line(data, tmp_path):
    """Two processes; only rank 1 cannot write (a file-size limit, as its own full disk would): both stop at the
    same save with the same line, instead of rank 0 waiting for rank 1 for ever, and nothing half-written is left."""
    import resource
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "nsp.cli.main", "train", "sft", "--config", "stages/configs/sft_tiny.yaml", "--data",
           str(data), "--out", str(run), *SMALL, "deepspeed.config=stages/deepspeed/zero2.json", "run.save_every=2",
           "phases=[{name: pairs, steps: 4, trainable: [queries, connector, transformer]}]"]

    def limit():  # rank 1's optimizer shard is several MB
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    procs = []
    for rank in (0, 1):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2", LOCAL_WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        procs.append(subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True, preexec_fn=limit if rank == 1 else None))
    errs = [p.communicate(timeout=300)[1] for p in procs]
    for p, err in zip(procs, errs):
        errors = [line for line in err.splitlines() if "error" in line]
        assert p.returncode == 2 and len(errors) == 1 and "Traceback" not in err, err[-1500:]
        assert errors[0].startswith("nsp train: error: checkpoint") and \
            "step-0000002 not saved: rank 1: a file" in errors[0] and errors[0].endswith("no earlier one"), errors
    assert not list((run / "checkpoints").glob(".tmp-*")) and not (run / "checkpoints" / "latest").exists()
