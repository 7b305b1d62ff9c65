"""The flow model as a stochastic policy (Flow-GRPO's ODE -> SDE conversion), for reinforcement learning.

With x_t = (1 - t) x0 + t * noise and the model's velocity v = noise - x0, the reverse-time SDE

    dx = [v + sigma_t^2 / (2 t) * (x + (1 - t) v)] dt + sigma_t dW,     sigma_t = a * sqrt(t / (1 - t))

has the same marginals as the ODE dx = v dt. Discretised with Euler-Maruyama from t to t' < t (dt = t' - t), one
step is a Gaussian whose mean is the drift step and whose std is sigma_t * sqrt(-dt): a policy with a tractable
log-probability. `a` (the noise level) trades exploration for fidelity; a = 0 is the deterministic Euler step.
"""

from __future__ import annotations

import math

import torch


def sde_std(t: torch.Tensor, t_next: torch.Tensor, noise_level: float, t_cap: float) -> torch.Tensor:
    """The step's standard deviation. At t = 1 the SDE's sigma is infinite: `t_cap` (< 1) stands in for t there."""
    t_safe = torch.where(t >= 1.0, torch.full_like(t, t_cap), t)
    return noise_level * torch.sqrt(t_safe / (1 - t_safe)) * torch.sqrt(t - t_next)


def sde_mean(x: torch.Tensor, velocity: torch.Tensor, t: torch.Tensor, t_next: torch.Tensor, noise_level: float,
             t_cap: float) -> torch.Tensor:
    """The mean of x_{t'} given x_t: the Euler step of the SDE's drift."""
    t_safe = torch.where(t >= 1.0, torch.full_like(t, t_cap), t)
    sigma2 = noise_level**2 * t_safe / (1 - t_safe)
    dt = t_next - t
    return x + (velocity + sigma2 / (2 * t) * (x + (1 - t) * velocity)) * dt


def gaussian_log_prob(sample: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(sample; mean, std^2 I), averaged over all but the batch dimension (per-element, as Flow-GRPO does)."""
    lp = -((sample - mean) ** 2) / (2 * std**2) - torch.log(std) - 0.5 * math.log(2 * math.pi)
    return lp.flatten(1).mean(1)


def step_kl(mean: torch.Tensor, ref_mean: torch.Tensor, t: float, t_next: float, noise_level: float,
            t_cap: float) -> torch.Tensor:
    """KL(policy step || reference step): both are Gaussians with the step's std, so the KL is the squared distance of
    their means over twice the step's variance; per element, averaged over all but the batch dimension (as the
    log-probabilities are)."""
    std = sde_std(torch.tensor(float(t)), torch.tensor(float(t_next)), noise_level, t_cap).to(mean.dtype)
    return ((mean - ref_mean) ** 2).flatten(1).mean(1) / (2 * std**2)


def sde_step(x: torch.Tensor, velocity: torch.Tensor, t: float, t_next: float, noise_level: float, t_cap: float,
             generator: torch.Generator | None = None, sample: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One stochastic step: (x_{t'}, its log-probability, the step's mean). With `sample`, score that x_{t'} instead
    of drawing one (what the policy update does with the rollout's samples)."""
    tt = torch.full((x.shape[0],) + (1,) * (x.ndim - 1), float(t), dtype=x.dtype, device=x.device)
    tn = torch.full_like(tt, float(t_next))
    mean = sde_mean(x, velocity, tt, tn, noise_level, t_cap)
    std = sde_std(tt, tn, noise_level, t_cap)
    if sample is None:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        sample = mean + std * noise
    return sample, gaussian_log_prob(sample.detach(), mean, std), mean
