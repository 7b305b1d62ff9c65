"""Flow matching as LTX-Video trains it: x_sigma = (1 - sigma) x0 + sigma * noise, the DiT predicts the velocity
noise - x0, and sigma is drawn from a logit-normal shifted by the token count (more tokens -> noisier)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from diffusers.pipelines.ltx.pipeline_ltx import calculate_shift


def timestep_shift(seq_len: int, scheduler_config) -> float:
    """mu for a sequence of `seq_len` latent tokens (the same shift the sampler uses)."""
    c = scheduler_config
    return calculate_shift(seq_len, c.get("base_image_seq_len", 256), c.get("max_image_seq_len", 4096),
                           c.get("base_shift", 0.5), c.get("max_shift", 1.15))


def sample_sigmas(batch: int, seq_len: int, scheduler_config, generator: torch.Generator | None = None,
                  extra_shift: float = 0.0) -> torch.Tensor:
    """Shifted logit-normal: sigmoid(N(mu, 1)) with mu from the token count plus `extra_shift` (drawn on the
    generator's device)."""
    mu = timestep_shift(seq_len, scheduler_config) + extra_shift
    normal = torch.randn(batch, generator=generator)
    return torch.sigmoid(normal + mu)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    sigma = sigma.view(-1, *([1] * (x0.ndim - 1)))
    return (1 - sigma) * x0 + sigma * noise


def flow_matching_loss(velocity: torch.Tensor, x0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """MSE between the predicted velocity and the straight-path target noise - x0."""
    return F.mse_loss(velocity.float(), (noise - x0).float())


def inference_sigmas(steps: int) -> np.ndarray:
    """LTXPipeline's schedule before shifting: 1 -> 1/steps, evenly."""
    return np.linspace(1.0, 1 / steps, steps)
