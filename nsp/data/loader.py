"""Streaming NSP pairs from shards: shard split by rank and by worker, a seeded shuffle buffer, PyAV decoding,
corrupt samples skipped and counted, and batches bucketed by clip size.

    data = PairStream("data/synth", "train", seed=0)
    loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2)
    for batch in bucket_batches(loader, batch_size=8): ...
"""

from __future__ import annotations

import json
import logging
import random
import tarfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import torch
from torch.utils.data import IterableDataset, get_worker_info

from nsp.data.shards import split_shards
from nsp.errors import NSPError
from nsp.video.io import Clip, decode_video_bytes

log = logging.getLogger("nsp.data")


@dataclass
class Pair:
    key: str
    context: Clip | None  # None for text-only samples
    next: Clip
    meta: dict = field(default_factory=dict)

    @property
    def size(self) -> tuple[int, int, int]:
        return tuple(self.next.frames.shape[:3])


def read_tar(path: Path) -> Iterator[dict[str, bytes]]:
    """Samples of a webdataset tar, members grouped by key (the name up to the first dot)."""
    current: dict[str, bytes] = {}
    with tarfile.open(path, mode="r|*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, ext = member.name.partition(".")
            if current and key != current["__key__"]:
                yield current
                current = {}
            current["__key__"] = key
            current[ext] = tar.extractfile(member).read()
    if current:
        yield current


def decode_pair(sample: dict[str, bytes], shard: str) -> Pair:
    key = sample["__key__"]
    if "next.mp4" not in sample or "json" not in sample:
        raise NSPError(f"{shard}:{key}: incomplete sample (members: {', '.join(sorted(sample))})")
    meta = json.loads(sample["json"])
    context = decode_video_bytes(sample["context.mp4"], f"{shard}:{key}.context.mp4") if "context.mp4" in sample else None
    return Pair(key, context, decode_video_bytes(sample["next.mp4"], f"{shard}:{key}.next.mp4"), meta)


class ShardStream(IterableDataset):
    """Decoded samples of one split. With `repeat`, epochs follow each other forever (epoch e reshuffles with
    seed + e). Subclasses say how a sample's members are decoded (`decode`)."""

    def __init__(self, root: str | Path, split: str = "train", *, seed: int = 0, shuffle: bool = True,
                 shuffle_buffer: int = 256, repeat: bool = False, rank: int | None = None,
                 world_size: int | None = None, epoch: int = 0, skip: int = 0):
        self.root, self.split, self.seed = Path(root), split, seed
        self.shuffle, self.shuffle_buffer, self.repeat = shuffle, shuffle_buffer, repeat
        self.rank, self.world_size, self.epoch = rank, world_size, epoch
        self.shards = split_shards(self.root, split)
        self.stats = {"decoded": 0, "corrupt": 0, "corrupt_shards": 0}
        self.skip = skip  # samples of this consumer's stream to pass over undecoded (the data position on resume)
        self.position = 0  # samples of this consumer's stream seen so far, over all epochs

    def decode(self, sample: dict[str, bytes], shard: str):
        raise NotImplementedError

    def _consumer(self) -> tuple[int, int]:
        """(this consumer's index, number of consumers) over ranks x dataloader workers."""
        rank, world = self.rank, self.world_size
        if rank is None or world is None:
            dist = torch.distributed
            rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_available() and dist.is_initialized() \
                else (0, 1)
        info = get_worker_info()
        wid, nworkers = (info.id, info.num_workers) if info else (0, 1)
        return rank * nworkers + wid, world * nworkers

    def __iter__(self):
        me, consumers = self._consumer()
        epoch = self.epoch
        while True:
            yield from self._epoch(epoch, me, consumers)
            if not self.repeat:
                break
            epoch += 1
        if self.stats["corrupt"] or self.stats["corrupt_shards"]:
            log.warning("%s/%s: skipped %d corrupt samples of %d and %d unreadable shards of %d", self.root,
                        self.split, self.stats["corrupt"], self.stats["corrupt"] + self.stats["decoded"],
                        self.stats["corrupt_shards"], len(self.shards))

    def _epoch(self, epoch: int, me: int, consumers: int):
        rng = random.Random(f"{self.seed}-{epoch}-{me}")
        shards = list(self.shards)
        if self.shuffle:
            random.Random(self.seed + epoch).shuffle(shards)  # the same order on every consumer
        # Enough shards: each consumer reads its own. Too few: all read all and keep every consumers-th sample.
        by_shard = len(shards) >= consumers
        mine = shards[me::consumers] if by_shard else shards

        bad_shards = 0

        def raw():
            nonlocal bad_shards
            index = 0
            for shard in mine:
                try:  # a zero-byte, truncated or non-tar shard: keep what was read of it, count it, go on
                    for sample in read_tar(shard):
                        index += 1
                        if by_shard or (index - 1) % consumers == me:
                            yield shard.name, sample
                except (tarfile.TarError, OSError, EOFError) as err:
                    bad_shards += 1
                    self.stats["corrupt_shards"] += 1
                    log.warning("skipping unreadable shard %s: %s", shard, err)

        def shuffled():
            # The buffer holds undecoded samples: cheap, and skipping (resuming) costs no decoding.
            buffer: list = []
            for item in raw():
                if not self.shuffle:
                    yield item
                    continue
                buffer.append(item)
                if len(buffer) >= self.shuffle_buffer:
                    yield buffer.pop(rng.randrange(len(buffer)))
            rng.shuffle(buffer)
            yield from buffer

        tried = decoded = 0
        for shard, sample in shuffled():
            self.position += 1
            if self.position <= self.skip:
                continue
            tried += 1
            try:
                item = self.decode(sample, shard)
            except (NSPError, ValueError, KeyError) as err:
                self.stats["corrupt"] += 1
                log.warning("skipping corrupt sample: %s", err)
                continue
            decoded += 1
            self.stats["decoded"] += 1
            yield item
        if not decoded and (tried or (mine and bad_shards == len(mine))):  # a repeating stream would spin forever
            raise NSPError(f"{self.root}/{self.split}: nothing readable ({bad_shards} of {len(mine)} shards "
                           f"unreadable, {tried} samples corrupt)")


class PairStream(ShardStream):
    """(preceding, next) clip pairs, decoded with PyAV."""

    def decode(self, sample: dict[str, bytes], shard: str) -> Pair:
        return decode_pair(sample, shard)


def bucket_batches(items: Iterable, batch_size: int, drop_last: bool = False) -> Iterator[list]:
    """Batches of same-size items (`.size`: frames, height, width), each yielded as soon as it is full."""
    buckets: dict[tuple, list] = defaultdict(list)
    for pair in items:
        bucket = buckets[pair.size]
        bucket.append(pair)
        if len(bucket) == batch_size:
            yield list(bucket)
            bucket.clear()
    if not drop_last:
        for bucket in buckets.values():
            if bucket:
                yield list(bucket)
