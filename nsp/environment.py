"""Process-wide settings, made by the process that owns them (the `nsp` command, a training run), never by `import
nsp`: a library must not change its user's process. Light on purpose (no torch)."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path

GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/kfd")  # NVIDIA, ROCm


def use_cpu_deepspeed_without_gpu() -> None:
    """DeepSpeed probes for an accelerator when imported and warns on a machine without one; say it is the CPU."""
    if not any(os.path.exists(node) for node in GPU_DEVICE_NODES):
        os.environ.setdefault("DS_ACCELERATOR", "cpu")


# DeepSpeed builds its CPU communication op with torch's JIT extensions, each process taking a lock file in the build
# directory while it checks or builds it. A process killed in that moment leaves the file, and every later run waits
# on it forever. A build takes about a minute: a lock far older than that is stale.
STALE_BUILD_LOCK_S = 600


def clear_stale_build_lock(name: str = "deepspeed_shm_comm", stale_after_s: float = STALE_BUILD_LOCK_S) -> Path | None:
    """Remove the JIT build lock of extension `name` where it is older than `stale_after_s` (said in one line on
    stderr); returns the path removed, else None."""
    try:
        from torch.utils.cpp_extension import _get_build_directory
    except ImportError:  # a torch without it: nothing to clear
        return None
    lock = Path(_get_build_directory(name, verbose=False)) / "lock"
    try:
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return None
    if age <= stale_after_s:
        return None
    lock.unlink(missing_ok=True)
    print(f"nsp: removed {lock}, a build lock left {age / 60:.0f} minutes ago by a run that was stopped "
          "(later runs would have waited on it forever)", file=sys.stderr)
    return lock


def usable_cores() -> list[int]:
    """The cores this process may run on: its CPU affinity where the OS keeps one (`nsp demo jobs=2` splits it)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def configure_command_process() -> None:
    """What the `nsp` command sets up before a command runs."""
    # No code path downloads anything (every load is local_files_only); make the hub libraries agree.
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ.setdefault(var, "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own bars say what is happening
    use_cpu_deepspeed_without_gpu()
    # bitsandbytes warns at import that an optional kernels package (which would download at run time) is absent.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    # Under bf16 autocast torch says each RMSNorm of fp32 weights misses its fused kernel: nothing to act on.
    warnings.filterwarnings("ignore", message="Mismatch dtype between input and weight")
