"""Training examples for the NSP stages: latents of the clips, the context's VLM video input, captions.

From a latent cache (`data.cache`, made by `nsp data cache`) they are read as they are; from a dataset they are
made on the fly: clips decoded, VAE-encoded in batches (no grad), the context clip prepared for the VLM."""

from __future__ import annotations

from typing import Iterator

import torch

from nsp.data.cache import CachedStream, LatentPair, encode_pair_latents
from nsp.data.loader import PairStream, bucket_batches


def example_stream(data_cfg, model, split: str, *, shuffle: bool, seed: int, repeat: bool, skip: int = 0,
                   rank: int = 0, world_size: int = 1):
    """(the underlying ShardStream, an iterator of LatentPairs). The stream's `position` is the data position."""
    kwargs = dict(seed=seed, shuffle=shuffle, shuffle_buffer=data_cfg.shuffle_buffer, repeat=repeat, skip=skip,
                  rank=rank, world_size=world_size)
    if data_cfg.cache:
        stream = CachedStream(data_cfg.cache, split, model=model, **kwargs)
        return stream, iter(stream)
    stream = PairStream(data_cfg.path, split, **kwargs)
    return stream, _encode_on_the_fly(stream, model, data_cfg.batch_size)


@torch.no_grad()
def _encode_on_the_fly(stream, model, batch_size: int) -> Iterator[LatentPair]:
    enc = model.context_encoder
    for batch in bucket_batches(stream, batch_size):
        latents = encode_pair_latents(model, batch, enc.queries.device)
        for i, p in enumerate(batch):
            video = None if p.context is None else enc.video_input(p.context.frames, p.context.fps)
            yield LatentPair(p.key, {k: v[i].cpu() for k, v in latents.items()}, video, p.meta)


def batches(examples: Iterator[LatentPair], batch_size: int) -> Iterator[list[LatentPair]]:
    """Same-size batches, each complete (a partial last one is dropped while training)."""
    return bucket_batches(examples, batch_size, drop_last=True)
