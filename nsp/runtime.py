"""Where and in what precision torch runs: anything that picks a device or maps a config's dtype name imports it from
here (the bottom layer, beside `config.py`)."""

from __future__ import annotations

import contextlib

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def pick_device(arg: str | None) -> str:
    """The user's --device, else the GPU when there is one."""
    if arg:
        return arg
    return "cuda" if torch.cuda.is_available() else "cpu"


@contextlib.contextmanager
def built_in(dtype: torch.dtype):
    """Modules constructed inside get their parameters in `dtype` from the start (a random real-size build then
    needs the weights' size in memory, not twice it in fp32 before a cast)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)
