"""The predictions an evaluation judges: K next scenes per context from fixed starting noise, with what reaches the
DiT chosen (`DiTPath`, for the path ablation), and their judgement by a reward plus fidelity and continuity."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

import numpy as np
import torch

from nsp.evaluation import metrics
from nsp.rewards import Candidate
from nsp.video.frames import resize_frames


@dataclass(frozen=True)
class DiTPath:
    """What reaches the DiT (the path ablation): the condition from the VLM queries — this context's ("real"), the
    learned null condition ("null") or another context's ("shuffled") — and the clean history frames or zeros."""

    condition: str = "real"
    history: bool = True

    @property
    def name(self) -> str:
        return f"{self.condition}, {'history' if self.history else 'no history'}"


REAL = DiTPath()


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
    paths: bool = False  # the path ablation: condition real / null / shuffled x history on / off (paths.py)
    best_of: int = 1  # > 1: the model's prediction is the best of this many candidates by `select` (best_of.py)
    select: str = "judge"  # the reward that picks (it sees the context and the candidate, not the real next scene)
    judge: str | None = None  # the judge VLM's directory, for the `judge` reward (None: the model's own VLM)


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


def predict(pipe, contexts: list[tuple[str | None, object]], s: EvalSettings, progress=None,
            path: DiTPath = REAL) -> list[list[np.ndarray]]:
    """(text, clip) per context -> K predicted clips per context, batched over contexts. `path`: what reaches the
    DiT (by default everything of the context's own); the starting noise is the same whatever it is."""
    model, cfg = pipe.model, pipe.model.config
    steps, guidance = s.steps or cfg.sampling.steps, cfg.sampling.guidance if s.guidance is None else s.guidance
    g = cfg.generator
    jobs = [(i, k) for i in range(len(contexts)) for k in range(s.samples)]
    # shuffled: every context gets the condition of the context before it (its own history stays)
    source = [contexts[i - 1] for i in range(len(contexts))] if path.condition == "shuffled" else contexts
    out: list[list[np.ndarray]] = [[] for _ in contexts]
    for start in range(0, len(jobs), s.batch_size):
        chunk = jobs[start:start + s.batch_size]
        rows = sorted({i for i, _ in chunk})
        with torch.no_grad():
            if path.condition == "null":
                condition = model.null(len(chunk)).to(pipe.device)
            else:
                batch = model.prepare_context([source[i][0] for i in rows], [source[i][1] for i in rows])
                conditions = dict(zip(rows, model.condition(batch.to(pipe.device))))
                condition = torch.stack([conditions[i] for i, _ in chunk])
            history = model.encode_history([contexts[i][1] for i in rows])
        if history is not None:
            by_row = dict(zip(rows, history))
            history = torch.stack([by_row[i] for i, _ in chunk])
            if not path.history:
                history = torch.zeros_like(history)
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


def judge_predictions(pairs: list, clips: list[list[np.ndarray]], reward, measures: bool = True
                      ) -> tuple[list[dict], list[str | None]]:
    """Per predicted clip (context-major): pass/fail and score by the reward, with `measures` fidelity and continuity
    too; and its family."""
    rows, families = [], []
    for pair, samples in zip(pairs, clips):
        scores, _ = reward([Candidate(c, pair.context.frames, pair.next.frames, pair.meta) for c in samples])
        passed = scores.passed if scores.passed is not None else scores.values >= 0.5
        for clip, value, ok in zip(samples, scores.values, passed):
            rows.append({"passed": float(ok), "score": float(value)})
            if measures:
                rows[-1].update(**metrics.fidelity(clip, pair.next.frames),
                                **metrics.continuity(pair.context.frames, clip))
            families.append(pair.meta.get("family"))
    return rows, families
