"""The tiny VAE's own stage: reconstruction training on the dataset's clips (tiny models only; a real LTX VAE is
loaded pretrained and stays frozen).

A random tiny LTX VAE first learns the flat background and leaves the balls out (they are ~4 % of the pixels), so
the loss weights pixels that differ from the clip's background colour (`FOREGROUND_WEIGHT`). After training, the
latents' per-channel mean and std are measured and stored in the VAE (`latents_mean` / `latents_std`), which is
how LTX normalises latents for the DiT."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nsp.data.loader import PairStream, bucket_batches
from nsp.generation.ltx import frames_to_video, video_to_frames
from nsp.stages.base import Stage

FOREGROUND_WEIGHT = 10.0
KL_WEIGHT = 1e-6


class VAEReconstruction(nn.Module):
    """What DeepSpeed trains in this stage: the VAE, with a forward that returns the reconstruction loss."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, video: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        posterior = self.vae.encode(video).latent_dist
        noise = torch.randn(posterior.mean.shape, generator=generator).to(video.device, posterior.mean.dtype)
        recon = self.vae.decode(posterior.mean + posterior.std * noise).sample
        background = video.flatten(2).median(dim=2).values[..., None, None, None]
        weight = 1 + FOREGROUND_WEIGHT * ((video - background).abs().sum(1, keepdim=True) > 0.15).float()
        mse = (weight * (recon.float() - video.float()) ** 2).mean() / weight.mean()
        return mse + KL_WEIGHT * posterior.kl().mean()


@dataclass
class ClipBatch:
    video: torch.Tensor  # (B, 3, F, H, W) in [-1, 1]
    meta: list[dict]
    frames: np.ndarray  # (B, F, H, W, 3) uint8


class VAEStage(Stage):
    name = "vae"
    state_prefix = ("vae.", "generator.vae.")

    def __init__(self, cfg, model, rank: int = 0, world_size: int = 1):
        super().__init__(cfg, model, rank, world_size)
        self.wrapper = VAEReconstruction(model.generator.vae)

    def module(self) -> nn.Module:
        return self.wrapper

    def set_trainable(self, phase) -> None:
        self.model.set_trainable(["vae"])
        self.model.generator.vae.train()

    def _clips(self, stream):
        for pair in stream:  # both clips of a pair are training clips
            for clip in (pair.context, pair.next):
                if clip is not None:
                    yield _Clip(clip.frames, pair.meta)

    def _batch(self, group) -> ClipBatch:
        frames = np.stack([c.frames for c in group])
        device = next(self.wrapper.parameters()).device
        return ClipBatch(frames_to_video(frames).to(device), [c.meta for c in group], frames)

    def train_batches(self, phase, rng, skip: int):
        self.stream = PairStream(self.cfg.data.path, "train", seed=self.cfg.run.seed, shuffle=True,
                                 shuffle_buffer=self.cfg.data.shuffle_buffer, repeat=True, skip=skip,
                                 rank=self.rank, world_size=self.world_size)
        for group in bucket_batches(self._clips(self.stream), self.cfg.data.batch_size, drop_last=True):
            yield self._batch(group)

    def val_batches(self) -> list[ClipBatch]:
        out = []
        stream = PairStream(self.cfg.data.path, "val", shuffle=False)
        for group in bucket_batches((_Clip(p.next.frames, p.meta) for p in stream), self.cfg.data.batch_size):
            out.append(self._batch(group))
            if len(out) == self.cfg.data.val_batches:
                break
        return out

    def loss(self, engine, batch: ClipBatch, generator) -> tuple[torch.Tensor, dict]:
        loss = engine(batch.video, generator)
        return loss, {"loss": float(loss.detach())}

    @torch.no_grad()
    def reconstruct(self, batch: ClipBatch) -> np.ndarray:
        vae = self.model.generator.vae
        was_training = vae.training
        vae.eval()
        recon = vae.decode(vae.encode(batch.video.to(vae.dtype)).latent_dist.mode()).sample
        vae.train(was_training)
        return video_to_frames(recon.float())

    def val_metrics(self, batches: list[ClipBatch]) -> dict:
        """Reconstruction PSNR, and on the synthetic world the oracle's pass rate of the reconstructions."""
        from nsp.data.judge import judge_sample

        psnr, passed = [], []
        for batch in batches:
            recon = self.reconstruct(batch)
            mse = ((recon.astype(np.float32) - batch.frames.astype(np.float32)) ** 2).mean()
            psnr.append(10 * np.log10(255.0**2 / max(mse, 1e-6)))
            judged = (judge_sample(m, r) for m, r in zip(batch.meta, recon))
            passed += [j.passed for j in judged if j is not None]
        out = {"val_psnr": float(np.mean(psnr))} if psnr else {}
        if passed:
            out["val_oracle_pass"] = float(np.mean(passed))
        return out

    def contact_sheet(self, batches: list[ClipBatch], count: int = 4) -> np.ndarray | None:
        from nsp.video.frames import sheet

        if not batches:
            return None
        batch = batches[0]
        recon = self.reconstruct(batch)
        return sheet([[batch.frames[i], recon[i]] for i in range(min(count, len(recon)))])

    @torch.no_grad()
    def finish(self, clips: int = 256) -> None:
        """Measure the latents' per-channel statistics and store them in the VAE (LTX's latent normalisation)."""
        vae = self.model.generator.vae
        vae.eval()
        stream = PairStream(self.cfg.data.path, "train", shuffle=False)
        latents = []
        for group in bucket_batches(self._clips(stream), self.cfg.data.batch_size):
            latents.append(vae.encode(self._batch(group).video.to(vae.dtype)).latent_dist.mode().float())
            if sum(len(x) for x in latents) >= clips:
                break
        z = torch.cat(latents).transpose(0, 1).flatten(1)  # (C, everything)
        vae.latents_mean.copy_(z.mean(1).to(vae.latents_mean))
        vae.latents_std.copy_(z.std(1).clamp_min(1e-4).to(vae.latents_std))


@dataclass
class _Clip:
    frames: np.ndarray
    meta: dict

    @property
    def size(self) -> tuple[int, ...]:
        return tuple(self.frames.shape[:3])
