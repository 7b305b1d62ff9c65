"""`nsp data cache`: encode every pair once, so training skips video decoding and VAE encoding (as LTX trainers do).

Per pair, in shards like the source dataset's:
    <key>.latents.safetensors   next / context / image (first context frame) latents, normalised and unpacked
                                (C, f, h, w), the VAE posterior's mode; and the context clip's VLM video input
                                (pixel_values_videos, video_grid_thw)
    <key>.json                  the pair's metadata plus second_per_grid_t and timestamps of the video input
The manifest records which VAE and VLM input format produced it; a mismatching checkpoint is refused at load."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from nsp.data.loader import PairStream, ShardStream, bucket_batches
from nsp.data.shards import SPLITS, ShardWriter, read_manifest, write_manifest
from nsp.errors import NSPError
from nsp.files import atomic_path
from nsp.generation.ltx import frames_to_video
from nsp.video.qwen_input import VideoInput


@dataclass
class LatentPair:
    """A pair as training reads it, from the cache or encoded on the fly: the same record either way."""

    key: str
    latents: dict[str, torch.Tensor]  # "next", "context", "image", "last": normalised (C, f, h, w)
    video: VideoInput | None  # the context clip, ready for the VLM
    meta: dict = field(default_factory=dict)  # captions, fps, scene (synthetic), ...

    @property
    def size(self) -> tuple[int, ...]:
        return tuple(self.latents["next"].shape)


def cache_signature(model) -> dict:
    """What the cached tensors depend on: the VAE's config and the VLM's input format."""
    vae = {k: v for k, v in dict(model.generator.vae.config).items() if not k.startswith("_")}
    spec = model.context_encoder.spec
    return {"vae": json.loads(json.dumps(vae, default=list)), "vision": json.loads(json.dumps(asdict(spec))),
            "video_sampling": model.config.vlm.video.model_dump(), "max_tokens": model.config.vlm.max_tokens}


def cache_dataset(data: str | Path, checkpoint: str | Path, out: str | Path, splits: list[str] | None = None,
                  batch_size: int = 8, device: str | None = None, progress: bool = True) -> dict:
    from tqdm.auto import tqdm

    from nsp.runtime import pick_device
    from nsp.model import NSPModel

    data, out = Path(data), Path(out)
    source = read_manifest(data)
    splits = splits or [s for s in SPLITS if (data / s).is_dir()]
    model = NSPModel.from_pretrained(checkpoint).to(pick_device(device)).eval()
    enc = model.context_encoder
    dev = enc.queries.device
    manifest = {"kind": "latent-cache", "source": str(data.resolve()), "source_kind": source.get("kind"),
                "checkpoint": str(Path(checkpoint).resolve()), "signature": cache_signature(model), "splits": {}}
    with atomic_path(out, is_dir=True) as tmp:
        for split in splits:
            pairs = PairStream(data, split, shuffle=False)
            total = sum(v.get("pairs", 0) for k, v in source.get("splits", {}).items() if k == split) or None
            written = 0
            with ShardWriter(tmp / split) as writer, tqdm(total=total, desc=f"cache {split}", unit="pair",
                                                          disable=not progress, dynamic_ncols=True) as bar:
                for batch in bucket_batches(pairs, batch_size):
                    latents = encode_pair_latents(model, batch, dev)
                    for i, pair in enumerate(batch):
                        tensors = {name: t[i].contiguous().cpu() for name, t in latents.items()}
                        meta = dict(pair.meta)
                        if pair.context is not None:
                            v = enc.video_input(pair.context.frames, pair.context.fps)
                            tensors["pixel_values_videos"] = v.pixel_values_videos
                            tensors["video_grid_thw"] = v.video_grid_thw
                            meta["video_input"] = {"second_per_grid_t": v.second_per_grid_t,
                                                   "timestamps": list(v.timestamps), "merge_size": v.merge_size}
                        writer.write({"__key__": pair.key, "latents.safetensors": save_tensors(tensors),
                                      "json": json.dumps(meta).encode()})
                        written += 1
                    bar.update(len(batch))
            manifest["splits"][split] = written
        write_manifest(tmp, manifest)
    return manifest


@torch.no_grad()
def encode_pair_latents(model, batch, device) -> dict[str, torch.Tensor]:
    """The latents a batch of pairs trains on (posterior mode): "next"; where every pair has a context, "context"
    (clip by clip for a multi-clip context), "image" (its first frame, for T2V's image phase) and "last" (its last
    frame on its own, the clean history of `generator.history_source: last_frame`)."""
    gen = model.generator
    out = {"next": gen.encode_latents(frames_to_video(np.stack([p.next.frames for p in batch])).to(device),
                                      sample=False)}
    if all(p.context is not None for p in batch):
        context = frames_to_video(np.stack([p.context.frames for p in batch])).to(device)
        out["context"] = gen.encode_clips(context, model.config.generator.num_frames)
        out["image"] = gen.encode_latents(context[:, :, :1], sample=False)
        out["last"] = gen.encode_latents(context[:, :, -1:], sample=False)
    return out


def decode_cached(sample: dict[str, bytes], shard: str) -> LatentPair:
    key = sample["__key__"]
    if "latents.safetensors" not in sample or "json" not in sample:
        raise NSPError(f"{shard}:{key}: incomplete cached sample")
    tensors = load_tensors(sample["latents.safetensors"])
    meta = json.loads(sample["json"])
    video = None
    if "pixel_values_videos" in tensors:
        vi = meta["video_input"]
        video = VideoInput(tensors.pop("pixel_values_videos"), tensors.pop("video_grid_thw"),
                           vi["second_per_grid_t"], tuple(vi["timestamps"]), vi["merge_size"])
    return LatentPair(key, tensors, video, meta)


class CachedStream(ShardStream):
    """Cached pairs (latents + VLM video input) of one split, with the loader's sharding and shuffling."""

    def __init__(self, root: str | Path, split: str = "train", *, model=None, **kwargs):
        manifest = read_manifest(root)
        if manifest.get("kind") != "latent-cache":
            raise NSPError(f"{root}: not a latent cache (make one with `nsp data cache`)")
        if model is not None and manifest["signature"] != json.loads(json.dumps(cache_signature(model))):
            raise NSPError(f"{root}: cached with another VAE or VLM input format than this model's "
                           f"(cache made from {manifest['checkpoint']}); re-run `nsp data cache`")
        super().__init__(root, split, **kwargs)

    def decode(self, sample: dict[str, bytes], shard: str) -> LatentPair:
        return decode_cached(sample, shard)
