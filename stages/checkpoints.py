"""What a resumable checkpoint holds besides DeepSpeed's state (`checkpoints/step-N`: every rank's RNGs and data
position, the files it was written with) and how a damaged one or a failed write is told apart. The engine
(engine.py) writes and reads them."""

from __future__ import annotations

import errno
import json
import random
import shutil
from pathlib import Path

import numpy as np
import torch

CHECKPOINTS = "checkpoints"
STATE_JSON = "nsp_state.json"
STATE_TENSORS = "nsp_state.safetensors"
FILES_JSON = "files.json"  # every file of a checkpoint with its size, written last: what an intact one holds


# ---- what is wrong with a checkpoint, or with its writing ----------------------------------------------------------
def write_failure(err: Exception, folder: Path) -> str:
    """Why a file could not be written, in words: a full disk (by the error, or by what is left), else the error."""
    free = shutil.disk_usage(folder).free
    if getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or free < 64 << 20:
        return f"disk full ({free >> 20} MB free)"
    if getattr(err, "errno", None) == errno.EFBIG:
        return "a file over the file-size limit"
    return f"a file could not be written whole ({str(err).splitlines()[0][:100]})"


def checkpoint_problem(folder: Path) -> str | None:
    """What is wrong with a saved checkpoint, or None: its files must be those, and of the sizes, it recorded."""
    if not (folder / STATE_JSON).is_file():
        return f"no {STATE_JSON}"
    if not (folder / FILES_JSON).is_file():
        return None  # written before files.json existed: taken as it is
    for name, size in json.loads((folder / FILES_JSON).read_text()).items():
        path = folder / name
        if not path.is_file():
            return f"{name} missing"
        if path.stat().st_size != size:
            return f"{name} is {path.stat().st_size} bytes, {size} when saved"
    return None


def newest_intact(ck: Path, warn=None) -> str:
    """The tag of the newest intact checkpoint in `ck` (`latest` first; a damaged one is passed over, named to
    `warn`)."""
    from nsp.errors import NSPError

    latest = ck / "latest"
    first = latest.read_text().strip() if latest.is_file() else None
    tags = sorted((p.name for p in ck.glob("step-*") if p.is_dir() and (first is None or p.name < first)),
                  reverse=True)
    for tag in ([first] if first else []) + tags:
        problem = checkpoint_problem(ck / tag)
        if problem is None:
            return tag
        if warn is not None:
            warn(f"nsp train: warning: checkpoint {ck / tag} is damaged ({problem}); trying an older one")
    raise NSPError(f"no intact checkpoint in {ck}")


def rng_state(np_rng: np.random.Generator, torch_gen: torch.Generator) -> tuple[dict, dict[str, torch.Tensor]]:
    tensors = {"torch_cpu": torch.get_rng_state(), "batch_noise": torch_gen.get_state()}
    if torch.cuda.is_available():
        tensors["torch_cuda"] = torch.cuda.get_rng_state()
    return {"numpy_batches": np_rng.bit_generator.state, "python": random.getstate()[1][:625]}, tensors


def set_rng_state(meta: dict, tensors: dict, np_rng: np.random.Generator, torch_gen: torch.Generator) -> None:
    np_rng.bit_generator.state = meta["numpy_batches"]
    random.setstate((3, tuple(meta["python"]), None))
    torch.set_rng_state(tensors["torch_cpu"])
    torch_gen.set_state(tensors["batch_noise"])
    if "torch_cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["torch_cuda"])


def deepspeed_records() -> list:
    """DeepSpeed's own plain records inside its ZeRO optimizer files, allowed to a weights-only load (they carry
    numbers, no code)."""
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    return [LossScaler, DynamicLossScaler, ZeroStageEnum, fragment_address]


def safe_checkpoint_engine(engine):
    """DeepSpeed's checkpoint reader, but with `torch.load(weights_only=True)` (no arbitrary unpickling)."""
    original = engine.load

    def load(path, map_location=None):
        with torch.serialization.safe_globals(deepspeed_records()):
            return torch.load(path, map_location=map_location, weights_only=True)

    engine.load = load
    engine._unsafe_load = original
    return engine
