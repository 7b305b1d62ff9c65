"""`nsp data synth`: an embedded synthetic world written as train/val/test shards.

Two worlds: `continuation` (`world.py`: the next clip continues the context's shot) and `cuts` (`cuts.py`: the next
clip is another shot, after a cut). Deterministic by seed. Scenes are drawn in order (test, val, train) and a scene
whose identity (`scene_key` / `cut_key`) was already drawn is drawn again, so the splits are disjoint. Families are
balanced within every split, and in the cut world so are each family's outcomes.

`start_clips` K > 1 (continuation world, Video-GPT-style training for rollouts): the i-th training pair is the
scene's clip k -> clip k + 1 with k = i mod K, so the model also learns what follows an event that has already
happened (the later clips of a rollout); val and test pairs stay clip 0 -> clip 1. Later pairs carry no captions
(the scene's describe its first two clips). With `first_clip_too`, a scene whose pair starts later also gives its
clip 0 -> clip 1 pair: every scene's event is learnt, not only one scene's in K, so the first clip of a rollout (where
the event happens) is trained as often as without later pairs."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from nsp.data.cuts import CUT_FAMILIES, CUT_KINDS, CutScene, cut_captions, cut_key, outcomes, render_cut_clip, \
    sample_cut_scene
from nsp.data.shards import ShardWriter, sample_members, write_manifest
from nsp.data.world import FAMILIES, Scene, captions, render_clip, sample_scene, scene_key
from nsp.errors import NSPError
from nsp.files import atomic_path
from nsp.video.io import encode_video

SPLIT_SEEDS = {"test": 0, "val": 1, "train": 2}
WORLDS = ("continuation", "cuts")


def _draw(rng: np.random.Generator, world: str, i: int) -> Scene | CutScene:
    if world == "continuation":
        return sample_scene(rng, FAMILIES[i % len(FAMILIES)])
    family = CUT_FAMILIES[i % len(CUT_FAMILIES)]
    return sample_cut_scene(rng, family, (i // len(CUT_FAMILIES)) % len(outcomes(family)))


def _identity(world: str):
    return scene_key if world == "continuation" else cut_key


def draw_scenes(counts: dict[str, int], seed: int, world: str = "cuts", exclude: frozenset = frozenset()
                ) -> dict[str, list]:
    """`exclude`: scene identities never to draw (another dataset's, `scene_keys`)."""
    key = _identity(world)
    seen: set = set(exclude)
    out: dict[str, list] = {}
    for split in ("test", "val", "train"):
        rng = np.random.default_rng([seed, SPLIT_SEEDS[split]])
        scenes = []
        for i in range(counts.get(split, 0)):
            while True:
                scene = _draw(rng, world, i)
                if key(scene) not in seen:
                    break
            seen.add(key(scene))
            scenes.append(scene)
        out[split] = scenes
    return out


def scene_keys(data: Path, world: str) -> frozenset:
    """The identities of every scene of a synthetic dataset of `world`, redrawn from its manifest's seed and counts."""
    from nsp.data.shards import read_manifest

    manifest = read_manifest(data)
    if manifest.get("kind") != "synthetic" or manifest.get("world", "continuation") != world:
        raise NSPError(f"{data}: not a synthetic {world} dataset (nsp data synth --world {world})")
    key = _identity(world)
    counts = {split: v.get("scenes", v["pairs"]) for split, v in manifest["splits"].items()}
    drawn = draw_scenes(counts, manifest["seed"], world, scene_keys_of(manifest.get("disjoint_from", []), world))
    return frozenset(key(s) for split in drawn.values() for s in split)


def scene_keys_of(datasets: list, world: str) -> frozenset:
    return frozenset().union(*(scene_keys(Path(d), world) for d in datasets))


def encode_sample(args: tuple) -> dict:
    key, scene, frames, size, fps, start = args
    meta = {"source": "synthetic", "fps": fps, "frames": frames, "size": [size, size], "family": scene.family}
    if isinstance(scene, CutScene):
        clips = [render_cut_clip(scene, clip, frames, size) for clip in (0, 1)]
        meta.update(world="cuts", cut_kind=CUT_KINDS[scene.family], outcome=scene.outcome,
                    captions=cut_captions(scene), cut=scene.to_json())
    else:
        clips = [render_clip(scene, clip, frames, size) for clip in (start, start + 1)]
        meta.update(world="continuation", captions=captions(scene) if start == 0 else {}, scene=scene.to_json())
        if start:
            meta.update(clip=start + 1, start_clip=start)  # the oracle judges the scene's clip start + 1
    return sample_members(key, *(encode_video(c, fps, lossless=True) for c in clips), meta)


def synthesize(out: Path, counts: dict[str, int], seed: int = 0, frames: int = 9, size: int = 64, fps: float = 8.0,
               workers: int | None = None, progress: bool = True, scenes: dict[str, list] | None = None,
               world: str = "cuts", start_clips: int = 1, disjoint_from: list[str] = (),
               first_clip_too: bool = False) -> dict:
    """`scenes`: already drawn scenes per split, written instead of drawing `counts` of them (e.g. a test split
    filtered against another dataset's); their type says their world. `start_clips`: see the module's note.
    `disjoint_from`: synthetic datasets of the same world none of whose scenes is drawn (e.g. RL contexts that SFT
    never trained on)."""
    from tqdm.auto import tqdm

    if scenes is not None:
        drawn = [s for split in scenes.values() for s in split]
        world = "cuts" if drawn and isinstance(drawn[0], CutScene) else "continuation"
    else:
        scenes = draw_scenes(counts, seed, world, scene_keys_of(list(disjoint_from), world))
    workers = workers or min(4, os.cpu_count() or 1)
    total = sum(len(v) for v in scenes.values())
    if first_clip_too:  # and the clip-0 pairs of training scenes whose own pair starts later
        total += sum(i % start_clips > 0 for i in range(len(scenes.get("train", []))))
    families = FAMILIES if world == "continuation" else CUT_FAMILIES
    if start_clips > 1 and world != "continuation":
        raise NSPError(f"--start-clips {start_clips}: only the continuation world has later clips of a shot")
    if first_clip_too and start_clips == 1:
        raise NSPError("--first-clip-too: only with --start-clips K > 1 (without it every pair starts at clip 0)")
    manifest = {"kind": "synthetic", "world": world, "seed": seed, "frames": frames, "size": [size, size],
                "fps": fps, "families": list(families), "start_clips": start_clips, "splits": {}}
    if first_clip_too:
        manifest["first_clip_too"] = True
    if disjoint_from:
        manifest["disjoint_from"] = [str(Path(d).resolve()) for d in disjoint_from]  # scene_keys redraws them
    with atomic_path(out, is_dir=True) as tmp, ProcessPoolExecutor(workers) as pool, \
            tqdm(total=total, desc="synth", unit="pair", disable=not progress, dynamic_ncols=True) as bar:
        for split, items in scenes.items():
            jobs = []
            for i, s in enumerate(items):
                start = i % start_clips if split == "train" else 0
                jobs.append((f"{split}-{i:06d}", s, frames, size, fps, start))
                if first_clip_too and start:  # next to it, so the shards stay mixed
                    jobs.append((f"{split}-{i:06d}-first", s, frames, size, fps, 0))
            with ShardWriter(tmp / split) as writer:
                for sample in pool.map(encode_sample, jobs, chunksize=16):
                    writer.write(sample)
                    bar.update()
            manifest["splits"][split] = {"pairs": len(jobs), "scenes": len(items),
                                         "families": {f: sum(j[1].family == f for j in jobs) for f in families}}
        write_manifest(tmp, manifest)
    return manifest
