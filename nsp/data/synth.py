"""`nsp data synth`: the embedded synthetic world written as train/val/test shards.

Deterministic by seed. Scenes are drawn in order (test, val, train) and a scene whose identity (`world.scene_key`)
was already drawn is drawn again, so the splits are disjoint. Families are balanced within every split."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from nsp.data.shards import ShardWriter, sample_members, write_manifest
from nsp.data.world import FAMILIES, Scene, captions, render_clip, sample_scene, scene_key
from nsp.files import atomic_path
from nsp.video.io import encode_video

SPLIT_SEEDS = {"test": 0, "val": 1, "train": 2}


def draw_scenes(counts: dict[str, int], seed: int) -> dict[str, list[Scene]]:
    seen: set = set()
    out: dict[str, list[Scene]] = {}
    for split in ("test", "val", "train"):
        rng = np.random.default_rng([seed, SPLIT_SEEDS[split]])
        scenes = []
        for i in range(counts.get(split, 0)):
            while True:
                scene = sample_scene(rng, FAMILIES[i % len(FAMILIES)])
                if scene_key(scene) not in seen:
                    break
            seen.add(scene_key(scene))
            scenes.append(scene)
        out[split] = scenes
    return out


def encode_sample(args: tuple) -> dict:
    key, scene, frames, size, fps = args
    context = render_clip(scene, 0, frames, size)
    nxt = render_clip(scene, 1, frames, size)
    meta = {"source": "synthetic", "fps": fps, "frames": frames, "size": [size, size], "family": scene.family,
            "captions": captions(scene), "scene": scene.to_json()}
    return sample_members(key, encode_video(context, fps, lossless=True), encode_video(nxt, fps, lossless=True), meta)


def synthesize(out: Path, counts: dict[str, int], seed: int = 0, frames: int = 9, size: int = 64, fps: float = 8.0,
               workers: int | None = None, progress: bool = True, scenes: dict[str, list[Scene]] | None = None
               ) -> dict:
    """`scenes`: already drawn scenes per split, written instead of drawing `counts` of them (e.g. a test split
    filtered against another dataset's)."""
    from tqdm.auto import tqdm

    scenes = scenes if scenes is not None else draw_scenes(counts, seed)
    workers = workers or min(4, os.cpu_count() or 1)
    total = sum(len(v) for v in scenes.values())
    manifest = {"kind": "synthetic", "seed": seed, "frames": frames, "size": [size, size], "fps": fps,
                "families": list(FAMILIES), "splits": {}}
    with atomic_path(out, is_dir=True) as tmp, ProcessPoolExecutor(workers) as pool, \
            tqdm(total=total, desc="synth", unit="pair", disable=not progress, dynamic_ncols=True) as bar:
        for split, items in scenes.items():
            jobs = [(f"{split}-{i:06d}", s, frames, size, fps) for i, s in enumerate(items)]
            with ShardWriter(tmp / split) as writer:
                for sample in pool.map(encode_sample, jobs, chunksize=16):
                    writer.write(sample)
                    bar.update()
            manifest["splits"][split] = {"pairs": len(items),
                                         "families": {f: sum(s.family == f for s in items) for f in FAMILIES}}
        write_manifest(tmp, manifest)
    return manifest
