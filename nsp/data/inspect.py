"""`nsp data inspect`: counts per split and a contact sheet (PNG) of a few pairs: context frames | next frames."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np

from nsp.data.loader import PairStream, read_tar
from nsp.data.shards import SPLITS, read_manifest
from nsp.video.frames import sheet


def count_split(root: Path, split: str) -> dict:
    shards = sorted((root / split).glob("*.tar"))
    return {"shards": len(shards), "pairs": sum(1 for s in shards for _ in read_tar(s))}


def contact_sheet(pairs, frames_per_clip: int = 5, gap: int = 4) -> np.ndarray:
    """One row per pair: evenly spaced context frames, a gap, evenly spaced next frames."""
    return sheet([[c.frames for c in (p.context, p.next) if c is not None] for p in pairs], frames_per_clip, gap)


def inspect(root: str | Path, out_png: str | Path | None = None, count: int = 8, split: str | None = None) -> dict:
    from PIL import Image

    from nsp.files import atomic_path

    root = Path(root)
    manifest = read_manifest(root)
    splits = {s: count_split(root, s) for s in SPLITS if (root / s).is_dir()}
    split = split or next(iter(splits))
    pairs = list(islice(PairStream(root, split, shuffle=False), count))
    out_png = Path(out_png) if out_png else root / "contact_sheet.png"
    image = contact_sheet(pairs)
    scale = max(1, 256 // pairs[0].next.frames.shape[1]) if pairs else 1
    with atomic_path(out_png) as tmp:
        Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST).save(tmp)
    return {"root": str(root), "kind": manifest.get("kind"), "splits": splits, "contact_sheet": str(out_png),
            "captions": [p.meta.get("captions", {}) for p in pairs[:3]], "skipped": manifest.get("skipped", {})}
