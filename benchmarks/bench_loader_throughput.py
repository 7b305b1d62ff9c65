"""Loader throughput: clips/s through the streaming loader (tar shards, shuffle buffer, PyAV decoding from memory)
vs raw PyAV decoding of the very same mp4 files from disk, side by side in one run, one process each.

The files are the synthetic world's clips (9 frames at 64x64), so the ratio measures the loader's own overhead."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import result

NAME = "loader_throughput"
COMMAND = "make bench  # python -m benchmarks.run loader"


def run(pairs: int = 400, rounds: int = 3) -> list[dict]:
    import torch

    from nsp.data.loader import PairStream, read_tar
    from nsp.data.synth import synthesize
    from nsp.video.io import read_video

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synth"
        synthesize(root, {"train": pairs}, seed=0, progress=False, world="continuation")
        raw = Path(tmp) / "raw"
        raw.mkdir()
        files = []
        for shard in sorted((root / "train").glob("*.tar")):
            for sample in read_tar(shard):
                for member in ("context.mp4", "next.mp4"):
                    files.append(raw / f"{sample['__key__']}.{member}")
                    files[-1].write_bytes(sample[member])
        clips = len(files)

        def raw_decode():
            for f in files:
                read_video(f)

        def loader():
            n = sum(1 for _ in PairStream(root, "train", seed=0, shuffle_buffer=256))
            assert n == pairs

        raw_s, loader_s = [], []
        for _ in range(rounds):  # interleaved
            start = time.perf_counter()
            raw_decode()
            raw_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            loader()
            loader_s.append(time.perf_counter() - start)
        raw_rate, loader_rate = clips / min(raw_s), clips / min(loader_s)

        # And what two DataLoader workers give (the machine has two cores).
        data = torch.utils.data.DataLoader(PairStream(root, "train", seed=0), batch_size=None, num_workers=2,
                                           collate_fn=lambda x: x)
        start = time.perf_counter()
        n = sum(1 for _ in data)
        workers_rate = 2 * n / (time.perf_counter() - start)
    return [result(NAME, round(loader_rate / raw_rate, 3), "x (loader clips/s / raw PyAV clips/s)", 0.8, "higher",
                   COMMAND, loader_clips_per_s=round(loader_rate, 1), raw_pyav_clips_per_s=round(raw_rate, 1),
                   loader_2_workers_clips_per_s=round(workers_rate, 1), clips=clips, frames_per_clip=9,
                   size="64x64", note="best of 3 interleaved rounds, one process each; shuffle buffer 256")]
