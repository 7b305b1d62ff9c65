"""The on-disk dataset format, shared by synthetic and real data: webdataset tar shards of NSP pairs.

    DIR/manifest.json                 what is there (counts, sizes, skipped items with reasons)
    DIR/<split>/<name>.tar            shards; each sample is three members with one key:
        <key>.context.mp4             the preceding scene
        <key>.next.mp4                the next scene
        <key>.json                    {"key", "source", "fps", "frames", "size": [h, w], "captions": {...}, ...}

Synthetic samples also carry "scene" (the world's ground truth, what the oracle judges against)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import webdataset as wds

from nsp.errors import NSPError

MANIFEST = "manifest.json"
SPLITS = ("train", "val", "test")


def sample_members(key: str, context_mp4: bytes | None, next_mp4: bytes, meta: dict) -> dict:
    sample = {"__key__": key, "next.mp4": next_mp4, "json": json.dumps({"key": key, **meta}).encode()}
    if context_mp4 is not None:
        sample["context.mp4"] = context_mp4
    return sample


class ShardWriter:
    """Numbered shards of at most `per_shard` samples in `folder` (webdataset's writer, made quiet)."""

    def __init__(self, folder: Path, per_shard: int = 500, prefix: str = "shard"):
        folder.mkdir(parents=True, exist_ok=True)
        self._writer = wds.ShardWriter(str(folder / f"{prefix}-%05d.tar"), maxcount=per_shard, verbose=0)
        self.count = 0

    def write(self, sample: dict) -> None:
        self._writer.write(sample)
        self.count += 1

    def close(self) -> None:
        self._writer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_manifest(root: Path, manifest: dict) -> None:
    manifest = {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), **manifest}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(root: str | Path) -> dict:
    root = Path(root)
    path = root / MANIFEST
    if not root.is_dir():
        raise NSPError(f"{root}: dataset directory not found")
    if not path.is_file():
        raise NSPError(f"{root}: not an NSP dataset (no {MANIFEST}; make one with `nsp data synth` or `nsp data build`)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise NSPError(f"{path}: not valid JSON ({err.msg})") from None


def split_shards(root: str | Path, split: str) -> list[Path]:
    root = Path(root)
    shards = sorted((root / split).glob("*.tar"))
    if not shards:
        available = [s for s in SPLITS if (root / s).is_dir()] or ["none"]
        raise NSPError(f"{root}: no shards for split {split!r} (available: {', '.join(available)})")
    return shards
