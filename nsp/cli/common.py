"""Small pieces the commands share."""

from __future__ import annotations

import os
from pathlib import Path

from nsp.errors import NSPError

# Where `nsp demo` leaves its final checkpoint; predict/serve use it when no --checkpoint is given.
DEMO_CHECKPOINT = Path("runs/demo/final")


def resolve_checkpoint(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    default = Path(os.environ.get("NSP_CHECKPOINT", DEMO_CHECKPOINT))
    if not default.is_dir():
        raise NSPError(f"no --checkpoint given and no default checkpoint at {default} "
                       "(run `make demo` to make one, or `nsp init --preset tiny --out CK` for an untrained one)")
    return default


def history_override(frames: int | None, sigma: float | None = None) -> list[str]:
    """--history-frames K and --history-sigma S as model overrides (None: the checkpoint's own setting)."""
    return ([] if frames is None else [f"generator.history_frames={frames}"]) + \
        ([] if sigma is None else [f"generator.history_sigma={sigma}"])

