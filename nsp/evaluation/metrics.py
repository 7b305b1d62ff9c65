"""Clip metrics for the NSP benchmark, on uint8 frames (T, H, W, 3); each is exact on known inputs (tested).

Fidelity compares a prediction with the real next scene frame by frame; continuity compares the context's last frame
with the prediction's first (a next scene starts where its context ends); diversity is how much the K samples of one
context differ. Rates get percentile-bootstrap confidence intervals so that two numbers can be told apart."""

from __future__ import annotations

import functools

import numpy as np

from nsp.video.frames import resize_frames


def match_length(frames: np.ndarray, length: int) -> np.ndarray:
    """Evenly pick `length` frames (repeating if shorter): compares clips of different frame counts."""
    idx = np.round(np.linspace(0, len(frames) - 1, length)).astype(int)
    return frames[idx]


def psnr(a: np.ndarray, b: np.ndarray, cap: float = 100.0) -> float:
    """Peak signal-to-noise ratio in dB over whole clips of equal shape; identical clips give `cap`."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return cap if mse == 0 else float(min(cap, 10 * np.log10(255.0**2 / mse)))


@functools.lru_cache(maxsize=16)
def blur_matrix(n: int, sigma: float = 1.5, radius: int = 5) -> np.ndarray:
    """(n, n): a Gaussian blur along one axis of length n, edges replicated, as a matrix (read-only, shared), so that
    blurring a whole clip is two batched matrix products instead of a pass over the array per kernel tap."""
    k = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    k /= k.sum()
    m = np.zeros((n, n))
    rows = np.arange(n)
    for offset, weight in zip(range(-radius, radius + 1), k):
        np.add.at(m, (rows, np.clip(rows + offset, 0, n - 1)), weight)
    m.flags.writeable = False
    return m


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean structural similarity (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03) over frames and
    colour channels; 1.0 for identical clips."""
    x = np.moveaxis(a.astype(np.float64), -1, -3)  # (..., 3, H, W)
    y = np.moveaxis(b.astype(np.float64), -1, -3)
    moments = np.stack([x, y, x * x, y * y, x * y])
    mx, my, xx, yy, xy = blur_matrix(x.shape[-2]) @ moments @ blur_matrix(x.shape[-1]).T
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vx, vy, cov = xx - mx * mx, yy - my * my, xy - mx * my
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def fidelity(prediction: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """PSNR / SSIM of a prediction against the real next scene (resized and re-timed to the prediction's shape)."""
    ref = match_length(resize_frames(reference, *prediction.shape[1:3]), len(prediction))
    return {"psnr": psnr(prediction, ref), "ssim": ssim(prediction, ref)}


def continuity(context: np.ndarray, prediction: np.ndarray) -> dict[str, float]:
    """How seamlessly the prediction continues its context: the context's last frame vs the prediction's first."""
    last = resize_frames(context[-1:], *prediction.shape[1:3])
    return {"continuity_psnr": psnr(last, prediction[:1]), "continuity_ssim": ssim(last, prediction[:1])}


def diversity(samples: list[np.ndarray]) -> float:
    """Mean pairwise 1 - SSIM between the K samples of one context (0: all identical); nan for K = 1."""
    pairs = [(i, j) for i in range(len(samples)) for j in range(i + 1, len(samples))]
    if not pairs:
        return float("nan")
    return float(np.mean([1 - ssim(samples[i], samples[j]) for i, j in pairs]))


def bootstrap_ci(values, confidence: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of `values` (a constant sample gives a zero-width interval)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(resamples, len(v)))].mean(1)
    lo, hi = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return float(lo), float(hi)


def paired_difference(a, b, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
                      ) -> tuple[float, float, float]:
    """Mean of b - a over paired values (the same contexts and starting noise) and its percentile-bootstrap interval.
    Pairing removes the spread between contexts, so a gain can be told from noise with far fewer contexts than two
    independent intervals need."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal shapes, got {a.shape} and {b.shape}")
    d = b - a
    return (float(d.mean()), *bootstrap_ci(d, confidence, resamples, seed))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) (as in FID/FVD): 0 for equal sets."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr sqrt(A B) from the eigenvalues of the symmetric A^1/2 B A^1/2 (no scipy needed).
    w, v = np.linalg.eigh(cov_a)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    middle = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_sqrt = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)
