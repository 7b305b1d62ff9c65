"""`nsp data inspect`: counts per split and a contact sheet (PNG) of a few pairs: context frames | next frames."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np

from nsp.data.loader import PairStream, read_tar
from nsp.data.shards import SPLITS, read_manifest


def count_split(root: Path, split: str) -> dict:
    shards = sorted((root / split).glob("*.tar"))
    return {"shards": len(shards), "pairs": sum(1 for s in shards for _ in read_tar(s))}


def contact_sheet(pairs, frames_per_clip: int = 5, gap: int = 4) -> np.ndarray:
    """One row per pair: evenly spaced context frames, a gap, evenly spaced next frames."""
    return sheet([[c.frames for c in (p.context, p.next) if c is not None] for p in pairs], frames_per_clip, gap)


def sheet(rows: list[list[np.ndarray]], frames_per_clip: int = 5, gap: int = 4) -> np.ndarray:
    """A grid image: one row per list of clips (T, H, W, 3), each clip shown as evenly spaced frames."""
    out = []
    for clips in rows:
        parts = []
        for frames in clips:
            idx = np.linspace(0, len(frames) - 1, min(frames_per_clip, len(frames))).round().astype(int)
            parts.append(np.concatenate(list(frames[idx]), axis=1))
            parts.append(np.full((frames.shape[1], gap, 3), 255, np.uint8))
        out.append(np.concatenate(parts[:-1], axis=1))
    width = max(r.shape[1] for r in out)
    out = [np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in out]
    return np.concatenate(out, axis=0)


def inspect(root: str | Path, out_png: str | Path | None = None, count: int = 8, split: str | None = None) -> dict:
    from PIL import Image

    from nsp.files import atomic_path

    root = Path(root)
    manifest = read_manifest(root)
    splits = {s: count_split(root, s) for s in SPLITS if (root / s).is_dir()}
    split = split or next(iter(splits))
    pairs = list(islice(PairStream(root, split, shuffle=False), count))
    out_png = Path(out_png) if out_png else root / "contact_sheet.png"
    sheet = contact_sheet(pairs)
    scale = max(1, 256 // pairs[0].next.frames.shape[1]) if pairs else 1
    with atomic_path(out_png) as tmp:
        Image.fromarray(sheet).resize((sheet.shape[1] * scale, sheet.shape[0] * scale), Image.NEAREST).save(tmp)
    return {"root": str(root), "kind": manifest.get("kind"), "splits": splits, "contact_sheet": str(out_png),
            "captions": [p.meta.get("captions", {}) for p in pairs[:3]], "skipped": manifest.get("skipped", {})}
