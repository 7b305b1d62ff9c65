"""The training engine: one loop on DeepSpeed for every stage.

A run is a list of phases (the config's curriculum). Each phase sets its stage's trainable set, builds an optimizer
and a warmup + cosine schedule over those parameters and hands them to `deepspeed.initialize`. Then, step by step:
micro-batches from the stage, the stage's loss, `engine.backward`, `engine.step` (DeepSpeed accumulates, clips and
steps at the boundary), EMA, logs, validation, contact sheets and resumable checkpoints. At the end of a phase its
model is written in the inference format (`phases/<name>`); at the end of the run, `final/`.

Resumable: `checkpoints/step-N` holds DeepSpeed's trainable weights, optimizer and scheduler state plus ours (phase,
step, data position, every RNG, EMA), written to a temporary name and renamed, with a `latest` pointer; the last
`keep_last` are kept. `--resume` continues from `latest` with the same batches and noise as an uninterrupted run;
a checkpoint whose files do not match the sizes it recorded (`files.json`: truncated, half-copied) is passed over
for the newest intact one. A save that fails (a full disk) removes its temporary directory and stops the run with one
line, the previous checkpoint untouched; temporary directories left by a killed run are removed on the next start.
SIGTERM or SIGINT saves the step the run is on and stops it (`stopping.py`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import torch

from nsp.environment import clear_stale_build_lock, usable_cores, use_cpu_deepspeed_without_gpu
from nsp.errors import NSPError, Stopped
from nsp.files import atomic_path, load_safetensors
from nsp.stages.checkpoints import (CHECKPOINTS, FILES_JSON, STATE_JSON, STATE_TENSORS, newest_intact,
                                   rng_state, safe_checkpoint_engine, set_rng_state, write_failure)
from nsp.stages.stopping import StopRequests


def start_model(cfg, phase: int, out: Path):
    """The model phase `phase` of a run starts from: the previous phase's (`phases/<name>`), else `model.init`, else
    the preset built with the run's seed. (`nsp export` rebuilds a checkpoint's model from it too.)"""
    from nsp.config import preset_config
    from nsp.model import NSPModel

    m = cfg.model
    if phase > 0:
        return NSPModel.from_pretrained(out / "phases" / cfg.phases[phase - 1].name, m.patch if not m.init else None)
    if m.init:
        return NSPModel.from_pretrained(m.init, m.patch)
    torch.manual_seed(cfg.run.seed)
    return NSPModel.from_config(preset_config(m.preset, m.patch))


# ---- distributed set-up -------------------------------------------------------------------------------------------
def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device). Works under torchrun / the deepspeed launcher, or alone (a world of one)."""
    use_cpu_deepspeed_without_gpu()
    import deepspeed

    if "RANK" not in os.environ:  # a plain single-process run
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device, backend = torch.device("cuda", local_rank), "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
        clear_stale_build_lock()  # DeepSpeed builds (or checks) its CPU communication op at init
        # Processes on one CPU share its cores: don't oversubscribe them.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", 1)))
        torch.set_num_threads(max(1, len(usable_cores()) // local_world))
    deepspeed.init_distributed(dist_backend=backend, verbose=False)
    return torch.distributed.get_rank(), torch.distributed.get_world_size(), device


def cpu_autocast(cfg, device: torch.device):
    """bf16 matmuls and convolutions on a CPU, weights and optimizer state kept in fp32 (precision: bf16)."""
    enabled = device.type == "cpu" and cfg.deepspeed.precision == "bf16"
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


def deepspeed_config(cfg, device: torch.device, micro_steps: int) -> dict:
    from nsp.stages.config import resolve_shipped

    ds = json.loads(resolve_shipped(cfg.deepspeed.config, "deepspeed.config").read_text())
    # On a GPU DeepSpeed keeps bf16 weights (fp32 master copies); on a CPU bf16 means autocast (cpu_autocast).
    bf16 = device.type == "cuda" and (cfg.deepspeed.precision == "bf16" or (cfg.deepspeed.precision == "auto"
                                                                          and torch.cuda.is_bf16_supported()))
    ds.update(train_micro_batch_size_per_gpu=cfg.data.batch_size, gradient_accumulation_steps=micro_steps,
              gradient_clipping=cfg.optim.grad_clip, bf16={"enabled": bf16})
    ds.pop("train_batch_size", None)
    return ds


# ---- optimisation -------------------------------------------------------------------------------------------------
def build_optimizer(optim, params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    if optim.name == "adamw":
        # fused: one kernel over all tensors (on a CPU several times faster than a loop over them)
        fused = all(p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.AdamW(params, lr=lr, betas=optim.betas, eps=optim.eps, weight_decay=optim.weight_decay,
                                 fused=fused)
    if optim.name == "adamw8bit":
        import bitsandbytes as bnb

        return bnb.optim.AdamW8bit(params, lr=lr, betas=optim.betas, eps=optim.eps, weight_decay=optim.weight_decay)
    from prodigyopt import Prodigy

    return Prodigy(params, lr=lr, betas=optim.betas, weight_decay=optim.weight_decay, safeguard_warmup=True,
                   use_bias_correction=True)


def warmup_cosine(optimizer, steps: int, warmup: int, min_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, steps - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class EMA:
    """An exponential moving average of the trainable weights (fp32 shadows)."""

    def __init__(self, params: list[torch.nn.Parameter], decay: float):
        self.params, self.decay = params, decay
        self.shadow = [p.detach().float().clone() for p in params]

    @torch.no_grad()
    def update(self) -> None:
        for s, p in zip(self.shadow, self.params):
            s.lerp_(p.detach().float(), 1 - self.decay)

    @torch.no_grad()
    def swap(self) -> None:
        """Exchange live and averaged weights (call twice to restore)."""
        for s, p in zip(self.shadow, self.params):
            live = p.detach().float().clone()
            p.copy_(s.to(p.dtype))
            s.copy_(live)


# ---- the run ------------------------------------------------------------------------------------------------------
class Trainer:
    def __init__(self, cfg, resume: bool = False, max_steps: int | None = None, progress: bool = True):
        self.cfg, self.resume, self.max_steps, self.progress = cfg, resume, max_steps, progress
        self.out = Path(cfg.run.out)
        self.rank, self.world, self.device = setup_distributed()
        self.main = self.rank == 0
        self.state = {"phase": 0, "step": 0, "global_step": 0, "position": 0}

    # -- helpers --
    def log(self, record: dict) -> None:
        if not self.main:
            return
        with open(self.out / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        for k, v in record.items():
            if isinstance(v, (int, float)) and k not in ("step", "phase_step"):
                self.tb.add_scalar(k, v, record["step"])

    def barrier(self) -> None:
        torch.distributed.barrier()

    def load_model(self):
        return start_model(self.cfg, self.state["phase"], self.out)

    def read_resume_point(self) -> str | None:
        """The newest intact checkpoint (`latest` first; a damaged one is named and passed over), or None."""
        ck = self.out / CHECKPOINTS
        if self.main:  # what a killed save left behind
            for stale in ck.glob(".tmp-step-*"):
                shutil.rmtree(stale, ignore_errors=True)
        latest = ck / "latest"
        if not self.resume or not latest.is_file():
            if self.resume and self.main:
                print(f"nsp train: nothing to resume in {self.out}, starting from the beginning")
            return None
        try:
            tag = newest_intact(ck, warn=print if self.main else None)
        except NSPError as err:
            raise NSPError(f"--resume: {err}") from None
        self.state = json.loads((ck / tag / STATE_JSON).read_text())["state"]
        return tag

    def save_checkpoint(self, engine, np_rng, torch_gen, ema: EMA | None) -> None:
        from safetensors.torch import save_file

        ck = self.out / CHECKPOINTS
        tag = f"step-{self.state['global_step']:07d}"
        tmp_tag = f".tmp-{tag}"
        # A rank whose write fails carries on through DeepSpeed's collectives (its writes skipped), so that every
        # rank learns of the failure below and stops with it, instead of the others waiting for it for ever.
        failure, deepspeed_save = None, engine.checkpoint_engine.save

        def save_or_note(state_dict, path):
            nonlocal failure
            if failure is None:
                try:
                    deepspeed_save(state_dict, path)
                except (OSError, RuntimeError) as err:  # torch's writer reports a short write as a RuntimeError
                    failure = write_failure(err, ck)

        engine.checkpoint_engine.save = save_or_note
        try:
            engine.save_checkpoint(str(ck), tag=tmp_tag, save_latest=False, exclude_frozen_parameters=True)
        finally:
            engine.checkpoint_engine.save = deepspeed_save
        if failure is None:
            try:
                meta, tensors = rng_state(np_rng, torch_gen)
                if ema is not None:
                    tensors.update({f"ema.{i}": s for i, s in enumerate(ema.shadow)})
                # Every rank has its own RNG and data position: keep them all.
                save_file({k: v.contiguous() for k, v in tensors.items()},
                          str(ck / tmp_tag / f"rank{self.rank}.{STATE_TENSORS}"))
                (ck / tmp_tag / f"rank{self.rank}.{STATE_JSON}").write_text(
                    json.dumps({"rng": meta, "state": self.state}))
            except (OSError, RuntimeError) as err:
                failure = write_failure(err, ck)
        failures = [None] * self.world
        torch.distributed.all_gather_object(failures, failure)
        if any(failures):
            if self.main:
                shutil.rmtree(ck / tmp_tag, ignore_errors=True)
            rank, why = next((r, f) for r, f in enumerate(failures) if f)
            last = (ck / "latest").read_text().strip() if (ck / "latest").is_file() else None
            raise NSPError(f"checkpoint {ck / tag} not saved: {f'rank {rank}: ' if self.world > 1 else ''}{why}; "
                           + (f"{ck / last} is intact, --resume continues from it" if last else "no earlier one"))
        self.barrier()
        if self.main:
            (ck / tmp_tag / STATE_JSON).write_text(json.dumps({"state": self.state}))
            files = {str(p.relative_to(ck / tmp_tag)): p.stat().st_size for p in sorted((ck / tmp_tag).rglob("*"))
                     if p.is_file()}
            (ck / tmp_tag / FILES_JSON).write_text(json.dumps(files))
            if (ck / tag).exists():  # the same step saved before (a damaged checkpoint resumed past): replaced
                shutil.rmtree(ck / tag)
            os.replace(ck / tmp_tag, ck / tag)
            with atomic_path(ck / "latest") as tmp:
                tmp.write_text(tag)
            for old in sorted(p for p in ck.glob("step-*") if p.is_dir())[:-self.cfg.run.keep_last]:
                shutil.rmtree(old, ignore_errors=True)
        self.barrier()

    def load_checkpoint(self, engine, tag: str, np_rng, torch_gen, ema: EMA | None) -> None:
        ck = self.out / CHECKPOINTS
        engine.load_checkpoint(str(ck), tag=tag, load_module_strict=False)
        mine = json.loads((ck / tag / f"rank{self.rank}.{STATE_JSON}").read_text())
        tensors = load_safetensors(ck / tag / f"rank{self.rank}.{STATE_TENSORS}")
        set_rng_state(mine["rng"], tensors, np_rng, torch_gen)
        self.state = mine["state"]
        if ema is not None:
            for i, s in enumerate(ema.shadow):
                s.copy_(tensors[f"ema.{i}"])

    def validate(self, stage, val_batches, ema: EMA | None) -> dict:
        if not val_batches:
            return {}
        module = stage.module()
        module.eval()
        if ema is not None and self.cfg.ema.use_for_eval:
            ema.swap()
        val = {"val_loss": validation_loss(stage, val_batches)} if stage.has_val_loss else {}
        val.update(stage.val_metrics(val_batches))
        # Every rank samples (under ZeRO-3 each forward is a collective); rank 0 writes the sheet.
        sheet = stage.contact_sheet(val_batches) if self._sample_now() else None
        if ema is not None and self.cfg.ema.use_for_eval:
            ema.swap()
        module.train()
        if sheet is not None and self.main:
            from PIL import Image

            path = self.out / "samples" / f"step-{self.state['global_step']:07d}.png"
            path.parent.mkdir(exist_ok=True)
            with atomic_path(path) as tmp:
                Image.fromarray(sheet).save(tmp)
        return val

    def _sample_now(self) -> bool:
        every = self.cfg.run.sample_every or self.cfg.run.val_every
        step = self.state["global_step"]
        return step % every == 0 or step == self.cfg.total_steps

    # -- the loop --
    def run(self) -> Path:
        import deepspeed
        from torch.utils.tensorboard import SummaryWriter
        from tqdm.auto import tqdm

        from nsp.stages import STAGES

        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        tag = self.read_resume_point()
        if self.main:
            if tag is None:  # a fresh run: clear old logs
                for name in ("metrics.jsonl",):
                    (self.out / name).unlink(missing_ok=True)
            else:  # drop log lines written after the checkpoint we resume from
                _truncate_metrics(self.out / "metrics.jsonl", self.state["global_step"])
            (self.out / "config.json").write_text(json.dumps(cfg.model_dump(mode="json"), indent=2) + "\n")
            self.tb = SummaryWriter(str(self.out / "tensorboard"))
            if self.device.type == "cpu":  # the cores a run may use decide its speed (and `nsp demo jobs=2` splits them)
                print(f"nsp train: {self.world} process(es) on the CPU, {torch.get_num_threads()} thread(s) each")
        model = self.load_model().to(self.device)
        if cfg.dit.lora_rank and model.lora is None:
            model.add_dit_lora(cfg.dit.lora_rank, cfg.dit.lora_alpha)
        if cfg.dit.gradient_checkpointing:
            model.generator.transformer.enable_gradient_checkpointing()
        if cfg.dit.compile:
            model.generator.transformer.compile()
            if self.main:
                print("nsp train: the DiT is compiled (torch.compile) on its first steps, which are slow")
        stage = STAGES[cfg.stage](cfg, model, self.rank, self.world)
        val_batches = stage.val_batches()
        stop_at = min(cfg.total_steps, self.max_steps or cfg.total_steps)
        if tag is None and val_batches:  # the untrained model's validation, the baseline of the curve
            self.log({"step": 0, "phase": cfg.phases[0].name, **self.validate(stage, val_batches, None)})
        bar = tqdm(total=stop_at, initial=self.state["global_step"], desc=f"train {cfg.stage}", unit="step",
                   disable=not (self.progress and self.main), dynamic_ncols=True)
        samples_per_step = cfg.data.batch_size * cfg.optim.grad_accum * self.world  # (RL: micro-steps, not samples)

        stops = StopRequests(announce=self.main).install()
        try:  # the bar ends its line even when a step fails, so an error message starts on its own
            for index, phase in enumerate(cfg.phases):
                if index < self.state["phase"]:
                    continue
                if self.state["global_step"] >= stop_at:
                    break
                stage.set_trainable(phase)
                params = [p for p in stage.module().parameters() if p.requires_grad]
                optimizer = build_optimizer(cfg.optim, params, phase.lr or cfg.optim.lr)
                scheduler = warmup_cosine(optimizer, phase.steps, cfg.optim.warmup_steps, cfg.optim.min_lr_ratio)
                # Micro-steps per optimizer step: the config's accumulation, or the stage's own (RL: its rollout units).
                micro = stage.micro_steps() or cfg.optim.grad_accum
                engine, optimizer, _, scheduler = deepspeed.initialize(
                    model=stage.module(), optimizer=optimizer, lr_scheduler=scheduler,
                    config=deepspeed_config(cfg, self.device, micro))
                engine.checkpoint_engine = safe_checkpoint_engine(engine.checkpoint_engine)
                ema = EMA(params, cfg.ema.decay) if cfg.ema.decay else None
                np_rng = np.random.default_rng([cfg.run.seed, self.rank, index])
                torch_gen = torch.Generator().manual_seed(cfg.run.seed * 1000 + self.rank * 100 + index)
                if tag is not None and self.state["phase"] == index:
                    self.load_checkpoint(engine, tag, np_rng, torch_gen, ema)
                    tag = None
                batches = stage.train_batches(phase, np_rng, skip=self.state["position"])
                start = time.perf_counter()
                while self.state["step"] < phase.steps and self.state["global_step"] < stop_at:
                    logged: dict[str, list[float]] = {}
                    for _ in range(micro):
                        with cpu_autocast(cfg, self.device):
                            loss, metrics = stage.loss(engine, next(batches), torch_gen)
                        engine.backward(loss)
                        engine.step()
                        for k, v in metrics.items():
                            logged.setdefault(k, []).append(v)
                    losses = logged["loss"]
                    if ema is not None:
                        ema.update()
                    self.state["step"] += 1
                    self.state["global_step"] += 1
                    self.state["position"] = stage.data_position()
                    step = self.state["global_step"]
                    lr = scheduler.get_last_lr()[0]
                    if step % cfg.run.log_every == 0 or step == stop_at:
                        elapsed = time.perf_counter() - start
                        rate = samples_per_step * cfg.run.log_every / max(elapsed, 1e-9)
                        means = torch.tensor([float(np.mean(v)) for v in logged.values()])
                        torch.distributed.all_reduce(means)  # over all ranks' samples
                        self.log({"step": step, "phase": phase.name, "phase_step": self.state["step"],
                                  **{k: float(m) / self.world for k, m in zip(logged, means)},
                                  "lr": lr, "samples_per_s": rate})
                        start = time.perf_counter()
                    bar.set_postfix(loss=f"{np.mean(losses):.4f}", lr=f"{lr:.2e}",
                                    phase=phase.name, refresh=False)
                    bar.update()
                    if step < stop_at and (signum := stops.agreed(self.world, self.device)):
                        self.stop(signum, engine, np_rng, torch_gen, ema)
                    if step % cfg.run.val_every == 0 or step == cfg.total_steps:
                        self.log({"step": step, "phase": phase.name, **self.validate(stage, val_batches, ema)})
                    if step % cfg.run.save_every == 0 and step < cfg.total_steps:
                        self.save_checkpoint(engine, np_rng, torch_gen, ema)
                if self.state["step"] >= phase.steps:  # the phase is complete: keep its model, move on
                    self._finish_phase(engine, stage, model, phase, ema, last=index == len(cfg.phases) - 1)
                    self.state.update(phase=index + 1, step=0, position=0)
                elif self.state["global_step"] % cfg.run.save_every:  # stopped by --max-steps: resumable from here
                    self.save_checkpoint(engine, np_rng, torch_gen, ema)
        finally:
            stops.restore()
            bar.close()
        if self.main:
            from nsp.plots import plot_metrics

            plot_metrics(self.out / "metrics.jsonl", self.out / "curves.png")
        final = self.out / "final"
        if self.main and self.state["phase"] >= len(cfg.phases):
            print(f"nsp train: wrote {final}")
        if self.main:
            self.tb.close()
        return final

    def stop(self, signum: int, engine, np_rng, torch_gen, ema: EMA | None) -> None:
        """Keep this step (unless it was just saved) and stop the run, saying where --resume continues."""
        import signal

        step = self.state["global_step"]
        if step % self.cfg.run.save_every:  # (a multiple of save_every was saved at the end of its step)
            self.save_checkpoint(engine, np_rng, torch_gen, ema)
        if self.main:
            self.tb.close()
        raise Stopped(f"stopped by {signal.Signals(signum).name} at step {step}; checkpoint "
                      f"{self.out / CHECKPOINTS / f'step-{step:07d}'} saved: --resume continues from it", signum)

    def _finish_phase(self, engine, stage, model, phase, ema: EMA | None, last: bool) -> None:
        import contextlib

        import deepspeed

        if last:
            stage.finish()
        if ema is not None and self.cfg.ema.use_for_eval:
            ema.swap()
        # ZeRO-3 keeps only a shard of every parameter on each rank: gather them whole to write the model.
        gather = deepspeed.zero.GatheredParameters(list(model.parameters()), modifier_rank=None) \
            if engine.zero_optimization_stage() == 3 else contextlib.nullcontext()
        with gather:
            if self.main:
                model.save_pretrained(self.out / "phases" / phase.name)
                if last:
                    model.save_pretrained(self.out / "final")
        if ema is not None and self.cfg.ema.use_for_eval:
            ema.swap()
        self.barrier()


@torch.no_grad()
def validation_loss(stage, batches) -> float:
    """The stage's loss on fixed batches with fixed noise: comparable across steps, runs and models."""
    module = stage.module()
    return float(np.mean([float(stage.loss(module, b, torch.Generator().manual_seed(10_000 + i))[0])
                          for i, b in enumerate(batches)]))


def _truncate_metrics(path: Path, step: int) -> None:
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in keep))
