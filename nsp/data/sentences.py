"""Visual sentences (as in UniVid): (A, A', B) -> B', where the example pair A -> A' defines the task.

A sentence dataset is an ordinary pair dataset (nsp/data/shards.py) whose context is three clips back to back
(A, A', B; a model with generator.context_clips=3 reads it whole) and whose next scene is B'. It is built from any
pair dataset, the synthetic world's or `nsp data build`'s real pairs, with tasks that are functions of a pair
(its context clip and its next scene):

    nsp          A' = A's real next scene (next scene prediction itself)
    mirror       A' = A flipped left to right
    reverse      A' = A played backwards
    colour_swap  A' = A with its colour channels rotated (R -> G -> B -> R)
    speed        A' = A and its next scene at twice the speed (every second frame)
    vflip        A' = A flipped top to bottom
    slow         A' = A at half the speed (A's first half, each frame twice)

vflip and slow are not in the default set: they are the tasks a trained model learns from a few sentences
(`nsp data sentences --tasks ...,slow`).

`inverse` reads each sentence backwards, (A', A, B') -> B: the task's inverse (for nsp: the preceding scene from the
next one). Every query of a split is used once per task, each time with another example pair of that task drawn from
the same split, so the same query meets every task: what shows that the example pair, not the query, decides.

`example_images` gives the example pair as images (UniVid's mixed contexts): A is the example clip's last frame held
and A' the task applied to that held clip; the query B stays a video.

`augment` adds, for each training sentence, copies with the whole sentence (all four clips) mirrored and/or its colours
rotated: symmetries that commute with every task, so each copy is a true sentence of the same task with a query the
model has not seen. It is how a few sentences of a new task can teach the mapping rather than their answers."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np

from nsp.data.shards import ShardWriter, sample_members, write_manifest
from nsp.errors import NSPError
from nsp.files import atomic_path
from nsp.video.io import encode_video

TASKS = {
    "nsp": lambda context, nxt: nxt,
    "mirror": lambda context, nxt: context[:, :, ::-1],
    "reverse": lambda context, nxt: context[::-1],
    "colour_swap": lambda context, nxt: context[..., [2, 0, 1]],
    "speed": lambda context, nxt: np.concatenate([context, nxt])[::2][:len(context)],
    "vflip": lambda context, nxt: context[:, ::-1],
    "slow": lambda context, nxt: np.repeat(context, 2, axis=0)[:len(context)],
}
DEFAULT_TASKS = ("nsp", "mirror", "reverse", "colour_swap", "speed")
# Whole-sentence symmetries for `augment`: left-right mirror and the two other cyclic colour rotations, which commute
# with every task above (a vertical flip would too, but it is a task to learn, so it is not given away here).
SYMMETRIES = {
    "mirrored": lambda x: x[:, :, ::-1],
    "rotated": lambda x: x[..., [2, 0, 1]],
    "rotated_twice": lambda x: x[..., [1, 2, 0]],
    "mirrored_rotated": lambda x: x[:, :, ::-1][..., [2, 0, 1]],
    "mirrored_rotated_twice": lambda x: x[:, :, ::-1][..., [1, 2, 0]],
}


def task_pair(task: str, context: np.ndarray, nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(X, X') for one pair under a task."""
    return context, np.ascontiguousarray(TASKS[task](context, nxt))


def sentence(task: str, example: tuple[np.ndarray, np.ndarray], query: tuple[np.ndarray, np.ndarray],
             inverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(context: A, A', B back to back; target B') from two (context, next) pairs; read backwards if `inverse`."""
    a, a2 = task_pair(task, *example)
    b, b2 = task_pair(task, *query)
    if inverse:
        a, a2, b, b2 = a2, a, b2, b
    return np.concatenate([a, a2, b]), b2


def held_image(clip: np.ndarray) -> np.ndarray:
    """A clip's last frame as an image, held for the clip's length."""
    return np.repeat(clip[-1:], len(clip), axis=0)


def write_sentence(writer: ShardWriter, key: str, context: np.ndarray, target: np.ndarray, meta: dict) -> None:
    fps = meta["fps"]
    writer.write(sample_members(key, encode_video(np.ascontiguousarray(context), fps, lossless=True),
                                encode_video(np.ascontiguousarray(target), fps, lossless=True), meta))


def build_sentences(source: str | Path, out: str | Path, counts: dict[str, int], tasks: list[str] | None = None,
                    inverse: bool = False, seed: int = 0, progress: bool = True, example_images: bool = False,
                    augment: bool = False) -> dict:
    """`counts[split]` queries per task from `source`'s split (each with an example pair of the same size drawn from
    that split); with `inverse`, each sentence also read backwards as the task `<task>_inverse`; with
    `example_images`, the example pair is an image pair (`held_image`); with `augment`, each train sentence also
    under every whole-sentence symmetry (`SYMMETRIES`)."""
    from tqdm.auto import tqdm

    from nsp.data.loader import PairStream
    from nsp.data.shards import read_manifest

    tasks = tasks or list(DEFAULT_TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise NSPError(f"--tasks: unknown task {unknown[0]!r} (choose from {', '.join(TASKS)})")
    source_manifest = read_manifest(source)
    out = Path(out)
    variants = [(t, False) for t in tasks] + ([(t, True) for t in tasks] if inverse else [])
    manifest = {"kind": "sentences", "source": str(Path(source).resolve()), "source_kind": source_manifest.get("kind"),
                "tasks": [t + ("_inverse" if inv else "") for t, inv in variants], "context_clips": 3, "seed": seed,
                "example_images": example_images, "augment": sorted(SYMMETRIES) if augment else [], "splits": {}}
    copies = {split: 1 + (len(SYMMETRIES) if augment and split == "train" else 0) for split in counts}
    total = sum(n * copies[split] for split, n in counts.items()) * len(variants)
    with atomic_path(out, is_dir=True) as tmp, \
            tqdm(total=total, desc="sentences", unit="sentence", disable=not progress, dynamic_ncols=True) as bar:
        for split, n in counts.items():
            if n == 0:
                continue
            pairs = [p for p in islice(PairStream(source, split, shuffle=False), n * 4 + 8) if p.context is not None]
            if len(pairs) < 2:
                raise NSPError(f"--data {source}: split {split!r} has {len(pairs)} pairs with a context; "
                               "a sentence needs two (an example and a query)")
            rng = np.random.default_rng([seed, len(split), n])
            written = {}
            with ShardWriter(tmp / split) as writer:
                for i, query in enumerate(pairs[:n] if len(pairs) >= n else (pairs * n)[:n]):
                    same_size = [p for p in pairs if p.key != query.key and p.size == query.size]
                    if not same_size:
                        raise NSPError(f"--data {source}: no other pair of size {query.size} for {query.key}")
                    for task, inv in variants:
                        example = same_size[rng.integers(len(same_size))]
                        shown = (example.context.frames, example.next.frames)
                        if example_images:
                            shown = tuple(held_image(c) for c in shown)
                        context, target = sentence(task, shown, (query.context.frames, query.next.frames), inv)
                        name = task + ("_inverse" if inv else "")
                        meta = {"source": "sentence", "task": name, "family": name, "example": example.key,
                                "query": query.key, "example_image": example_images, "fps": query.next.fps,
                                "frames": len(target),
                                "size": list(target.shape[1:3]), "captions": {}}
                        if task == "nsp" and "scene" in query.meta:  # the oracle can judge it: next or preceding
                            meta.update(scene=query.meta["scene"], clip=0 if inv else 1)
                        key = f"{split}-{i:05d}-{name}"
                        write_sentence(writer, key, context, target, meta)
                        for symmetry in sorted(SYMMETRIES) if copies[split] > 1 else ():
                            turn = SYMMETRIES[symmetry]  # a transformed world: no oracle scene for it
                            copy = {k: v for k, v in meta.items() if k not in ("scene", "clip")} | {
                                "symmetry": symmetry, "query": f"{query.key}-{symmetry}"}  # a query of its own
                            write_sentence(writer, f"{key}-{symmetry}", turn(context), turn(target), copy)
                        written[name] = written.get(name, 0) + copies[split]
                        bar.update(copies[split])
            manifest["splits"][split] = {"pairs": sum(written.values()), "tasks": written}
        write_manifest(tmp, manifest)
    return manifest
