"""`nsp export`: a training checkpoint (`checkpoints/step-N`, any ZeRO stage, any number of ranks) as an inference
checkpoint, the format `final/` has, so that a run stopped mid-way (or with `--max-steps`) can be predicted with,
evaluated and trained from.

The model is rebuilt the way the engine built it for that checkpoint's phase (`start_model`), the trained weights
are put in (DeepSpeed's module state, or for ZeRO the fp32 weights merged from every rank's shard), and, where the
run validates with the EMA weights, those."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import torch

from nsp.errors import NSPError
from nsp.files import load_safetensors
from nsp.stages.checkpoints import (CHECKPOINTS, STATE_JSON, STATE_TENSORS, checkpoint_problem, deepspeed_records,
                                   newest_intact)


def find_checkpoint(path: str | Path) -> tuple[Path, Path]:
    """(run directory, step directory) for a run directory (its newest intact checkpoint) or a step directory."""
    path = Path(path)
    if (path / STATE_JSON).is_file():  # a step directory: RUN/checkpoints/step-N
        step, run = path, path.parent.parent
    elif (path / CHECKPOINTS).is_dir():
        run = path
        step = path / CHECKPOINTS / newest_intact(path / CHECKPOINTS)
    elif path.is_dir():
        raise NSPError(f"{path}: neither a run directory (no {CHECKPOINTS}/) nor a checkpoint (no {STATE_JSON})")
    else:
        raise NSPError(f"{path}: directory not found")
    problem = checkpoint_problem(step)
    if problem:
        raise NSPError(f"{step}: damaged checkpoint ({problem})")
    if not (run / "config.json").is_file():
        raise NSPError(f"{run}: no config.json beside {CHECKPOINTS}/ (not a run directory of `nsp train`)")
    return run, step


@contextlib.contextmanager
def _weights_only_loads():
    """DeepSpeed's ZeRO merger unpickles whole files; here every `torch.load` in it reads tensors and plain data
    only (and DeepSpeed's plain records)."""
    original = torch.load

    def load(*args, **kwargs):
        kwargs["weights_only"] = True
        return original(*args, **kwargs)

    torch.load = load
    try:
        with torch.serialization.safe_globals(deepspeed_records()):
            yield
    finally:
        torch.load = original


def trained_weights(step: Path) -> dict[str, torch.Tensor]:
    """The trained parameters a checkpoint holds, by their names in the stage's module, whole and in fp32."""
    if list(step.glob("*zero_pp_rank_*_optim_states.pt")):  # ZeRO 1-3: fp32 weights sharded over the ranks
        from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint

        with _weights_only_loads():
            state = get_fp32_state_dict_from_zero_checkpoint(str(step.parent), tag=step.name,
                                                             exclude_frozen_parameters=True)
    else:  # no ZeRO: the module's state is whole in rank 0's file
        files = sorted(step.glob("mp_rank_*_model_states.pt"))
        if not files:
            raise NSPError(f"{step}: no DeepSpeed model state (mp_rank_*_model_states.pt)")
        state = torch.load(files[0], map_location="cpu", weights_only=True)["module"]
    return {k: v.float() for k, v in state.items()}


def export_checkpoint(path: str | Path, out: str | Path) -> tuple[Path, str]:
    """Write the inference checkpoint of a training checkpoint to `out`; returns it and a line saying what it is."""
    from nsp.stages import STAGES
    from nsp.stages.config import TrainConfig
    from nsp.stages.engine import start_model

    run, step = find_checkpoint(path)
    cfg = TrainConfig.model_validate(json.loads((run / "config.json").read_text()))
    state = json.loads((step / STATE_JSON).read_text())["state"]
    phase = cfg.phases[state["phase"]]

    # 1. The model as the engine built it for this phase, with this phase's trainable set.
    model = start_model(cfg, state["phase"], run)
    if cfg.dit.lora_rank and model.lora is None:
        model.add_dit_lora(cfg.dit.lora_rank, cfg.dit.lora_alpha)
    model.set_trainable(list(phase.trainable))
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]

    # 2. The trained weights, renamed from the stage's module to the model.
    there, here = STAGES[cfg.stage].state_prefix
    # (Only the model's: the RL objective's frozen reference copy is rebuilt, never exported.)
    weights = {here + k.removeprefix(there): v for k, v in trained_weights(step).items() if k.startswith(there)}
    own = model.state_dict()
    unknown = sorted(set(weights) - set(own))
    missing = sorted(set(trainable) - set(weights))
    if unknown or missing:
        raise NSPError(f"{step}: its weights do not fit the run's model (unknown {unknown[:3]}, missing {missing[:3]})")
    for name, tensor in weights.items():
        if tensor.shape != own[name].shape:
            raise NSPError(f"{step}: {name} is {tuple(tensor.shape)}, the run's model has {tuple(own[name].shape)}")
    model.load_state_dict(weights, strict=False)

    # 3. The averaged weights where the run evaluates with them (as `final/` would hold).
    what = f"{cfg.stage} run {run}, step {state['global_step']} (phase {phase.name}, step {state['step']})"
    if cfg.ema.decay and cfg.ema.use_for_eval:
        tensors = load_safetensors(step / f"rank0.{STATE_TENSORS}")
        shadow = [tensors.get(f"ema.{i}") for i in range(len(trainable))]
        if any(s is None for s in shadow) or f"ema.{len(trainable)}" in tensors:
            raise NSPError(f"{step}: its EMA weights do not match the phase's {len(trainable)} trainable tensors")
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, s in zip(trainable, shadow):
                params[name].copy_(s)
        what += ", EMA weights"
    if cfg.stage == "vae":
        what += "; the latent statistics are measured at the end of the run, so these are the initial ones"
    return model.save_pretrained(out), what
