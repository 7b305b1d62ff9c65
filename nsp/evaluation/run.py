"""`nsp eval`: predict the next scene for every context of a split and measure the predictions.

For each context (fixed seeds: sample k of context i always starts from the same noise, whatever the batching) the
model predicts K next scenes; each is scored for scene consistency (the chosen reward's pass/fail and dense score),
fidelity to the real next scene (PSNR, SSIM), continuity with the context and, over the K samples, diversity.
Baselines put the numbers in perspective: copying the context's last frame, the model without its context (the
prompt alone), the model given another sample's context (a lower bound) and the real next scene (an upper bound)."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, dataclass
from itertools import islice

import numpy as np
import torch

from nsp.evaluation import metrics
from nsp.evaluation.rollout import rollout
from nsp.evaluation.classify import classification_report, drawn_labels
from nsp.evaluation.sentences import sentence_report
from nsp.rewards import Candidate, build_reward
from nsp.understanding.features import clip_features
from nsp.video.frames import resize_frames

GENERATED = ("model", "no_context", "shuffled_context")  # methods that run the model


@dataclass
class EvalSettings:
    split: str = "test"
    reward: str = "oracle"  # a name in nsp.rewards (oracle on the synthetic world, judge elsewhere)
    samples: int = 1  # K next scenes per context
    limit: int | None = None  # the first N contexts of the split (None: all)
    steps: int | None = None  # denoising steps (None: the checkpoint's sampling.steps)
    guidance: float | None = None
    text: bool = False  # also give the sample's context caption, where it has one
    baselines: bool = False
    batch_size: int = 16  # clips denoised together
    seed: int = 0
    rollout: int = 1  # > 1: also chain that many clips from each context and judge each (nsp/evaluation/rollout.py)


def load_pairs(data, split: str, limit: int | None) -> list:
    from nsp.data.loader import PairStream

    pairs = list(islice(PairStream(data, split, shuffle=False), limit))
    if not pairs:
        from nsp.errors import NSPError

        raise NSPError(f"--data {data}: split {split!r} has no pairs")
    return pairs


def start_noise(pipe, count: int, seed: int) -> torch.Tensor:
    """Sample-specific starting noise: the same (context, k) gets the same noise in every method and batch."""
    gen, g = pipe.model.generator, pipe.model.config.generator
    shape = (gen.transformer.config.in_channels, *gen.latent_grid(g.num_frames, g.height, g.width))
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed * 1_000_003 + count))


def predict(pipe, contexts: list[tuple[str | None, object]], s: EvalSettings, progress=None) -> list[list[np.ndarray]]:
    """(text, clip) per context -> K predicted clips per context, batched over contexts."""
    model, cfg = pipe.model, pipe.model.config
    steps, guidance = s.steps or cfg.sampling.steps, cfg.sampling.guidance if s.guidance is None else s.guidance
    g = cfg.generator
    jobs = [(i, k) for i in range(len(contexts)) for k in range(s.samples)]
    out: list[list[np.ndarray]] = [[] for _ in contexts]
    for start in range(0, len(jobs), s.batch_size):
        chunk = jobs[start:start + s.batch_size]
        rows = sorted({i for i, _ in chunk})
        with torch.no_grad():
            batch = model.prepare_context([contexts[i][0] for i in rows], [contexts[i][1] for i in rows])
            conditions = dict(zip(rows, model.condition(batch.to(pipe.device))))
            history = model.encode_history([contexts[i][1] for i in rows])
        condition = torch.stack([conditions[i] for i, _ in chunk])
        if history is not None:
            by_row = dict(zip(rows, history))
            history = torch.stack([by_row[i] for i, _ in chunk])
        noise = torch.stack([start_noise(pipe, i * s.samples + k, s.seed) for i, k in chunk])
        result = pipe.generate(condition, num_frames=g.num_frames, height=g.height, width=g.width,
                               num_inference_steps=steps, guidance_scale=guidance,
                               generator=torch.Generator().manual_seed(s.seed), latents=noise, history=history)
        for (i, _), frames in zip(chunk, result.frames):
            out[i].append(frames)
        if progress is not None:
            progress.update(len(chunk))
    return out


def copy_last_frame(context: np.ndarray, like: np.ndarray) -> np.ndarray:
    last = resize_frames(context[-1:], *like.shape[1:3])
    return np.repeat(last, len(like), axis=0)


def peak_memory_gb(device: torch.device) -> tuple[float, str]:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**30, "GPU memory allocated by torch (peak)"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "process resident memory (peak, CPU)"


def summarise(rows: list[dict], families: list[str | None]) -> dict:
    """Per-clip rows -> means, with bootstrap intervals on the pass rate and the score, and the pass rate per scene
    family where the samples name one (the synthetic world's: which kinds of event the model gets wrong)."""
    out = {"clips": len(rows)}
    for key in rows[0]:
        values = np.array([r[key] for r in rows], dtype=np.float64)
        out[key] = float(np.nanmean(values)) if not np.all(np.isnan(values)) else None
        if key in ("passed", "score"):
            out[f"{key}_ci"] = list(metrics.bootstrap_ci(values))
    out["pass_rate"], out["pass_rate_ci"] = out.pop("passed"), out.pop("passed_ci")
    named = sorted({f for f in families if f is not None})
    out["by_family"] = {f: float(np.mean([r["passed"] for r, g in zip(rows, families) if g == f])) for f in named}
    return out


def evaluate(pipe, data, s: EvalSettings, progress: bool = True) -> tuple[dict, list[tuple]]:
    """Returns the report (JSON-ready) and example rows (context, prediction, real next scene) for a contact sheet."""
    from tqdm.auto import tqdm

    model = pipe.model
    pairs = load_pairs(data, s.split, s.limit)
    reward = build_reward({s.reward: 1.0}, model)
    texts = [p.meta.get("captions", {}).get("context") if s.text else None for p in pairs]
    inputs = {"model": [(t, p.context) for t, p in zip(texts, pairs)]}
    if s.baselines:
        inputs["no_context"] = [(None, None)] * len(pairs)  # the prompt alone
        shift = np.roll(np.arange(len(pairs)), 1)  # every context goes to another sample's next scene
        inputs["shuffled_context"] = [inputs["model"][j] for j in shift]

    total = sum(len(v) for v in inputs.values()) * s.samples + len(pairs) * (s.rollout - 1)
    bar = tqdm(total=total, desc="eval", unit="clip", disable=not progress, dynamic_ncols=True)
    if pipe.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(pipe.device)
    predictions, seconds = {}, 0.0
    for method, contexts in inputs.items():
        bar.set_postfix(method=method)
        start = time.perf_counter()
        predictions[method] = predict(pipe, contexts, s, bar)
        if method == "model":
            seconds = time.perf_counter() - start
    chained = None
    if s.rollout > 1:
        bar.set_postfix(method="rollout")
        chained = rollout(pipe, pairs, [c[0] for c in predictions["model"]], s, reward, bar)
    bar.close()
    memory, memory_kind = peak_memory_gb(pipe.device)
    if s.baselines:
        predictions["copy_last_frame"] = [[copy_last_frame(p.context.frames, p.next.frames)] for p in pairs]
        predictions["real_next_scene"] = [[p.next.frames] for p in pairs]

    methods = {}
    for method, clips in predictions.items():
        rows, diversity, families = [], [], []
        for pair, samples in zip(pairs, clips):
            scores, _ = reward([Candidate(c, pair.context.frames, pair.next.frames, pair.meta) for c in samples])
            passed = scores.passed if scores.passed is not None else scores.values >= 0.5
            for clip, value, ok in zip(samples, scores.values, passed):
                rows.append({"passed": float(ok), "score": float(value), **metrics.fidelity(clip, pair.next.frames),
                             **metrics.continuity(pair.context.frames, clip)})
                families.append(pair.meta.get("family"))
            diversity.append(metrics.diversity(samples))
        methods[method] = summarise(rows, families)
        if method == "model":  # per clip, in context-major order: lets two checkpoints be compared pair by pair
            per_clip = {"keys": [p.key for p in pairs], "passed": [r["passed"] for r in rows],
                        "score": [r["score"] for r in rows], "continuity_ssim": [r["continuity_ssim"] for r in rows]}
        methods[method]["diversity"] = None if s.samples < 2 or method not in GENERATED else float(np.mean(diversity))

    # Learned-feature metric: Fréchet distance in the model's own VLM visual-feature space (predicted vs real).
    fd = None
    if len(pairs) >= 2:
        real = np.stack([clip_features(model, p.next.frames).cpu().numpy() for p in pairs])
        fake = np.stack([clip_features(model, c).cpu().numpy() for clips in predictions["model"] for c in clips])
        fd = metrics.frechet_distance(fake, real)
    methods["model"]["fd_vlm"] = fd
    clips = len(pairs) * s.samples
    report = {
        "settings": {**asdict(s), "steps": s.steps or model.config.sampling.steps,
                     "guidance": model.config.sampling.guidance if s.guidance is None else s.guidance},
        "contexts": len(pairs),
        "reward": s.reward,
        "methods": methods,
        "per_clip": per_clip,
        "rollout": chained,
        "sentences": sentence_report(pairs, [c[0] for c in predictions["model"]])
        if pairs[0].meta.get("source") == "sentence" else None,
        "classification": classification_report(
            pairs, [c[0] for c in predictions["model"]],
            {task: drawn_labels(pipe, labels)
             for task, labels in {p.meta["task"]: p.meta["labels"] for p in pairs}.items()})
        if pairs[0].meta.get("source") == "everything" else None,
        "efficiency": {"seconds_per_clip": seconds / clips, "peak_memory_gb": memory, "memory": memory_kind,
                       "device": str(pipe.device), "batch_size": s.batch_size},
        "skipped": {"fvd": "FVD needs I3D weights, which nsp does not ship or download; fd_vlm (Fréchet distance "
                           "on the model's own VLM vision features) is reported instead"},
    }
    examples = [(p.context.frames, predictions["model"][i][0], p.next.frames) for i, p in enumerate(pairs[:8])]
    return report, examples
