"""The tiny judge (nsp/assets/tiny_judge_cuts, `stages/configs/judge_cuts_tiny.yaml`) against the cut world's oracle,
on a demo run's held-out test contexts (NSP_BENCH_DEMO=DIR, else a fresh `nsp demo`), and best-of-N with it.

    judge_agreement_tiny  how often the judge (P(yes) > 0.5) agrees with the oracle on the demo model's own
                          predictions (what RL and best-of-N ask it about; `value`), with the AUC, and the same on
                          made-up candidates (real next shots, degraded or not, other outcomes, other contexts' shots,
                          held last frames)
    best_of_n_tiny        `nsp eval --best-of 4 --judge nsp:tiny_judge_cuts`: the paired pass-rate change of the judge's
                          pick of 4 over the first candidate alone (`value`: the change; its interval alongside)

    python -m benchmarks.run judge       # NSP_BENCH_JUDGE=DIR: another judge VLM
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import demo_sampled_in_bf16, nsp, on_demo_run, result

COMMAND = "python -m benchmarks.run judge"
JUDGE = os.environ.get("NSP_BENCH_JUDGE", "nsp:tiny_judge_cuts")
# The shipped judge after its first training run only (judge_cuts_tiny.yaml: the second, from its end, is shipped),
# measured the same way on the same demo run (the 4800-step demo, its 200 held-out contexts).
FIRST_RUN = {"what": "the judge after one training run (1500 steps)",
             "judge_agreement": {"accuracy": 0.885, "auc": 0.8196, "made_up_accuracy": 0.89,
                                 "counterfactual_accuracy": 0.6279},
             "best_of_4": {"change": 0.03, "ci": [-0.01, 0.07], "best_of_4": 0.875, "first_candidate": 0.845}}


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a candidate that follows scores above one that does not."""
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])).mean())


def agreement(p: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy beside what always giving the commoner answer scores (a good model's own predictions mostly follow,
    so "yes" alone agrees often) and the mean of the accuracies on each class."""
    said = p > 0.5
    per_class = [float((said[labels == c] == c).mean()) for c in (True, False) if (labels == c).any()]
    return {"accuracy": round(float((said == labels).mean()), 4), "auc": round(auc(p, labels), 4),
            "always_commoner": round(float(max(labels.mean(), 1 - labels.mean())), 4),
            "balanced_accuracy": round(float(np.mean(per_class)), 4),
            "candidates": int(len(labels)), "follow": int(labels.sum())}


def measure(demo: Path) -> list[dict]:
    from nsp.data.judge import judge_example, judge_sample
    from nsp.evaluation.predict import EvalSettings, load_pairs, predict
    from nsp.pipeline import NSPPipeline
    from nsp.rewards import Candidate, build_reward

    plan = json.loads((demo / "plan.json").read_text())
    pipe = NSPPipeline.from_pretrained(demo / "final")
    bf16 = demo_sampled_in_bf16(demo)  # the model's predictions as the demo sampled them
    if bf16:
        pipe.enable_bf16()
    pairs = load_pairs(demo / "data", "test", plan["eval_contexts"])
    judge = build_reward({"judge": 1.0}, pipe.model, judge={"path": JUDGE})

    def ask(pair, clips):
        return judge([Candidate(c, pair.context.frames, None, {}) for c in clips])[0].values

    settings = EvalSettings(steps=plan["eval_steps"], seed=plan["seed"])
    predicted = predict(pipe, [(None, p.context) for p in pairs], settings)
    own = [(float(ask(p, c)[0]), judge_sample(p.meta, c[0]).passed) for p, c in zip(pairs, predicted)]
    rng = np.random.default_rng(0)
    made, kinds = [], []
    for pair in pairs:
        for _ in range(2):
            example = judge_example(pair, pairs, rng)
            made.append((float(ask(pair, [example.frames])[0]), example.follows))
            kinds.append(example.kind)
    p_own, y_own = (np.array(v) for v in zip(*own))
    p_made, y_made = (np.array(v) for v in zip(*made))
    by_kind = {k: agreement(p_made[[i for i, x in enumerate(kinds) if x == k]],
                            y_made[[i for i, x in enumerate(kinds) if x == k]])["accuracy"] for k in sorted(set(kinds))}
    records = [result("judge_agreement_tiny", agreement(p_own, y_own)["accuracy"],
                      "agreement with the oracle on the demo model's held-out predictions", 0.9, "higher", COMMAND,
                      judge=JUDGE, model_predictions=agreement(p_own, y_own.astype(bool)),
                      made_up_candidates=dict(agreement(p_made, y_made.astype(bool)), accuracy_by_kind=by_kind),
                      checkpoint="DEMO/final", contexts=len(pairs), bf16_sampling=bf16, also_tried=[FIRST_RUN])]

    with tempfile.TemporaryDirectory() as tmp:
        nsp("eval", "--checkpoint", demo / "final", "--data", demo / "data", "--out", tmp, "--limit",
            plan["eval_contexts"], "--steps", plan["eval_steps"], "--seed", plan["seed"], "--best-of", 4, "--judge",
            JUDGE, *(["--bf16"] if bf16 else []))
        report = json.loads((Path(tmp) / "report.json").read_text())
    change = report["best_of"]["change_vs_first"]
    methods = report["methods"]
    records.append(result(
        "best_of_n_tiny", round(change["change"], 4), "pass-rate change, the judge's pick of 4 vs the first candidate",
        None, "higher", COMMAND, ci=[round(change["ci_low"], 4), round(change["ci_high"], 4)],
        best_of_4=methods["model"]["pass_rate"], first_candidate=methods["first_candidate"]["pass_rate"],
        by_family={"best_of_4": methods["model"]["by_family"], "first": methods["first_candidate"]["by_family"]},
        judge=JUDGE, contexts=report["contexts"], bf16_sampling=bf16,
        eval_command=f"nsp eval --checkpoint DEMO/final --data DEMO/data --limit {plan['eval_contexts']} --steps "
                     f"{plan['eval_steps']} --seed {plan['seed']} --best-of 4 --judge {JUDGE}"
                     f"{' --bf16' if bf16 else ''}", also_tried=[FIRST_RUN]))
    return records


def run() -> list[dict]:
    return on_demo_run(measure)
