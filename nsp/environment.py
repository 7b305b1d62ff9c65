"""Process-wide settings, made by the process that owns them (the `nsp` command, a training run), never by `import
nsp`: a library must not change its user's process. Light on purpose (no torch)."""

from __future__ import annotations

import logging
import os
import warnings

GPU_DEVICE_NODES = ("/dev/nvidiactl", "/dev/kfd")  # NVIDIA, ROCm


def use_cpu_deepspeed_without_gpu() -> None:
    """DeepSpeed probes for an accelerator when imported and warns on a machine without one; say it is the CPU."""
    if not any(os.path.exists(node) for node in GPU_DEVICE_NODES):
        os.environ.setdefault("DS_ACCELERATOR", "cpu")


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
