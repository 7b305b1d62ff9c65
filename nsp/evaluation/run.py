"""`nsp eval`: predict the next scene for every context of a split and measure the predictions.

For each context (fixed seeds: sample k of context i always starts from the same noise, whatever the batching) the
model predicts K next scenes; each is scored for scene consistency (the chosen reward's pass/fail and dense score),
fidelity to the real next scene (PSNR, SSIM), continuity with the context and, over the K samples, diversity.
Baselines put the numbers in perspective: copying the context's last frame, the model without its context (the
prompt alone), the model given another sample's context (a lower bound), for a model with clean history the model
given only that (the null condition: what the context's pixels alone give), and the real next scene (an upper
bound). `--paths` adds the path ablation (paths.py)."""

from __future__ import annotations

import resource
import time
from dataclasses import asdict, replace

import numpy as np
import torch

from nsp.evaluation import best_of, metrics, paths
from nsp.evaluation.classify import classification_report, drawn_task_labels, right_answers
from nsp.evaluation.failures import failure_causes
from nsp.evaluation.predict import (REAL, DiTPath, EvalSettings, copy_last_frame, judge_predictions,  # noqa: F401
                                    load_pairs, predict)
from nsp.evaluation.rollout import rollout
from nsp.evaluation.sentences import sentence_report
from nsp.rewards import build_reward
from nsp.understanding.features import clip_features

GENERATED = ("model", "no_context", "shuffled_context", "history_only")  # methods that run the model


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
    reward = build_reward({s.reward: 1.0}, model, **({"judge": {"path": s.judge}} if s.judge else {}))
    texts = [p.meta.get("captions", {}).get("context") if s.text else None for p in pairs]
    drawn = drawn_task_labels(pipe, pairs) if pairs[0].meta.get("source") == "everything" else None
    inputs = {"model": [(t, p.context) for t, p in zip(texts, pairs)]}
    if s.baselines:
        inputs["no_context"] = [(None, None)] * len(pairs)  # the prompt alone
        shift = np.roll(np.arange(len(pairs)), 1)  # every context goes to another sample's next scene
        inputs["shuffled_context"] = [inputs["model"][j] for j in shift]
    history_only = s.baselines and model.config.generator.history_frames > 0  # the context's pixels, no condition

    total = (sum(len(v) for v in inputs.values()) + history_only * len(pairs)) * s.samples \
        + len(pairs) * (s.rollout - 1) + s.paths * paths.extra_predictions(pipe, 1 + history_only) * len(pairs) \
        * s.samples \
        + len(pairs) * (s.best_of - 1)
    bar = tqdm(total=total, desc="eval", unit="clip", disable=not progress, dynamic_ncols=True)
    if pipe.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(pipe.device)
    predictions, seconds, chosen = {}, 0.0, None
    for method, contexts in inputs.items():
        bar.set_postfix(method=method)
        start = time.perf_counter()
        if method == "model" and s.best_of > 1:  # N candidates, the one `select` scores best kept
            candidates = predict(pipe, contexts, replace(s, samples=s.best_of), bar)
            select = reward if s.select == s.reward else best_of.selection_reward(model, s.select, s.judge)
            chosen = [best_of.choose(select, p.context.frames, c) for p, c in zip(pairs, candidates)]
            predictions["model"] = [[c[i]] for c, (i, _) in zip(candidates, chosen)]
            predictions["first_candidate"] = [[c[0]] for c in candidates]
        else:
            predictions[method] = predict(pipe, contexts, s, bar)
        if method == "model":
            seconds = time.perf_counter() - start
    if history_only:
        bar.set_postfix(method="history_only")
        predictions["history_only"] = predict(pipe, inputs["model"], s, bar, DiTPath("null"))
    chained = None
    if s.rollout > 1:
        bar.set_postfix(method="rollout")
        chained = rollout(pipe, pairs, [c[0] for c in predictions["model"]], s, reward, bar)
    judged: dict[str, tuple] = {}  # method -> judge_predictions' rows and families, each judged once

    def judge(method: str) -> tuple:
        if method not in judged:
            judged[method] = judge_predictions(pairs, predictions[method], reward)
        return judged[method]

    ablation = None
    if s.paths:
        bar.set_postfix(method="paths")
        known = {path: (predictions[method], judge(method)[0])
                 for path, method in ((REAL, "model"), (DiTPath("null"), "history_only")) if method in predictions}
        ablation = paths.ablate(pipe, pairs, inputs["model"], s, reward, known, bar,
                                right_answers(pairs, drawn) if drawn else None)
    bar.close()
    memory, memory_kind = peak_memory_gb(pipe.device)
    if s.baselines:
        predictions["copy_last_frame"] = [[copy_last_frame(p.context.frames, p.next.frames)] for p in pairs]
        predictions["real_next_scene"] = [[p.next.frames] for p in pairs]

    methods = {}
    for method, clips in predictions.items():
        rows, families = judge(method)
        methods[method] = summarise(rows, families)
        if method == "model":  # per clip, in context-major order: lets two checkpoints be compared pair by pair
            per_clip = {"keys": [p.key for p in pairs], "passed": [r["passed"] for r in rows],
                        "score": [r["score"] for r in rows], "continuity_ssim": [r["continuity_ssim"] for r in rows]}
        if method == "first_candidate":
            first_passed = [r["passed"] for r in rows]
        methods[method]["diversity"] = None if s.samples < 2 or method not in GENERATED else \
            float(np.mean([metrics.diversity(samples) for samples in clips]))

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
                     "guidance": model.config.sampling.guidance if s.guidance is None else s.guidance,
                     "bf16": pipe.denoise_dtype is not None},
        "contexts": len(pairs),
        "reward": s.reward,
        "methods": methods,
        "per_clip": per_clip,
        "rollout": chained,
        "best_of": None if chosen is None else {
            "n": s.best_of, "select": s.select, "judge": s.judge, "chosen": [i for i, _ in chosen],
            "select_scores": [v for _, v in chosen],
            "change_vs_first": dict(zip(("change", "ci_low", "ci_high"),
                                        metrics.paired_difference(first_passed, per_clip["passed"])))},
        "paths": ablation,
        "failures": failure_causes(pairs, [c[0] for c in predictions["model"]]),
        "sentences": sentence_report(pairs, [c[0] for c in predictions["model"]])
        if pairs[0].meta.get("source") == "sentence" else None,
        "classification": classification_report(pairs, [c[0] for c in predictions["model"]], drawn)
        if drawn else None,
        "efficiency": {"seconds_per_clip": seconds / clips, "peak_memory_gb": memory, "memory": memory_kind,
                       "device": str(pipe.device), "batch_size": s.batch_size},
        "skipped": {"fvd": "FVD needs I3D weights, which nsp does not ship or download; fd_vlm (Fréchet distance "
                           "on the model's own VLM vision features) is reported instead"},
    }
    examples = [(p.context.frames, predictions["model"][i][0], p.next.frames) for i, p in enumerate(pairs[:8])]
    return report, examples
