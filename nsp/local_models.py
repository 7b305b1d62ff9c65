"""Where base models are found: offline, the way the ecosystem finds them (a path, a Hugging Face repo id in the
local hub cache, a name under $NSP_MODELS_DIR, or "nsp:<name>" for the shipped tiny assets), and how a checkpoint
names them so that they are found again on another machine."""

from __future__ import annotations

import os
import re
from pathlib import Path

from nsp.errors import NSPError

ASSETS = Path(__file__).resolve().parent / "assets"
MODELS_DIR_ENV = "NSP_MODELS_DIR"  # directories (os.pathsep between them) where base models are looked up by name


def hf_cache() -> Path:
    """The Hugging Face hub cache, where the hub's own tools put downloaded snapshots (read here, never written)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    return Path(os.environ.get("HF_HOME", "~/.cache/huggingface")).expanduser() / "hub"


def _is_repo_id(value: str) -> bool:
    return re.fullmatch(r"[\w.-]+/[\w.-]+", value) is not None


def hf_cached_snapshot(repo_id: str) -> Path | None:
    """A repo id's snapshot in the local hub cache (the one `refs/main` names, else the newest), or None."""
    repo = hf_cache() / f"models--{repo_id.replace('/', '--')}"
    ref = repo / "refs" / "main"
    if ref.is_file() and (repo / "snapshots" / ref.read_text().strip()).is_dir():
        return repo / "snapshots" / ref.read_text().strip()
    snapshots = sorted((p for p in (repo / "snapshots").glob("*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    return snapshots[-1] if snapshots else None


def where_looked(value: str) -> str:
    """Where `resolve_local` looked for a value that is not a local directory, in words."""
    places = [f"not in the Hugging Face cache {hf_cache()}"] if _is_repo_id(value) else []
    dirs = os.environ.get(MODELS_DIR_ENV)
    places.append(f"not under {MODELS_DIR_ENV}={dirs}" if dirs else f"{MODELS_DIR_ENV} unset")
    return ", ".join(places)


def resolve_local(value: str, what: str) -> Path:
    """A local directory for a base model or asset, found the way the ecosystem does, offline:
    "nsp:<name>" (shipped in nsp/assets/), a path, a Hugging Face repo id in the local hub cache, or a name under one
    of the $NSP_MODELS_DIR directories (`<dir>/<value>`, then `<dir>/<last part of value>`)."""
    if value.startswith("nsp:"):
        path = ASSETS / value.removeprefix("nsp:")
        if not path.is_dir():
            raise NSPError(f"{what}={value}: no such shipped asset")
        return path
    path = Path(value).expanduser()
    if path.is_dir():
        return path
    if not path.is_absolute():
        snapshot = hf_cached_snapshot(value) if _is_repo_id(value) else None
        if snapshot is not None:
            return snapshot
        for root in filter(None, os.environ.get(MODELS_DIR_ENV, "").split(os.pathsep)):
            for candidate in (Path(root).expanduser() / value, Path(root).expanduser() / path.name):
                if candidate.is_dir():
                    return candidate
    raise NSPError(f"{what}={value}: not a local directory, {where_looked(value)} "
                   "(weights are only read from local directories)")


def portable_reference(value: str, found: Path) -> str:
    """How a checkpoint names a base model so that another machine finds it (`resolve_local`): a name looked up
    as it was given; a hub cache snapshot by its repo id; any other directory by its name (under $NSP_MODELS_DIR)."""
    if not Path(value).expanduser().is_dir():
        return value
    cached = re.search(r"/models--([^/]+?)--([^/]+)/snapshots/[^/]+$", found.resolve().as_posix())
    return f"{cached[1]}/{cached[2]}" if cached else found.resolve().name
