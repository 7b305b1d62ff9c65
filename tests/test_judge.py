"""The judge: what it is trained on (candidates labelled by the world's oracle), a judge VLM of its own, its
question as a VLM-stage task, and test-time scaling with it (best of N)."""

from collections import Counter

import numpy as np
import pytest

from nsp.data.judge import judge_example, judge_sample
from nsp.data.loader import PairStream
from nsp.data.synth import synthesize
from nsp.errors import NSPError
from tests.conftest import run_nsp


@pytest.fixture(scope="module")
def cut_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("judge") / "cuts"
    synthesize(out, {"train": 12, "val": 4, "test": 3}, seed=3, workers=1, progress=False, world="cuts")
    return out


def test_judge_examples_are_labelled_by_the_oracle_and_cover_every_kind(cut_data):
    pairs = list(PairStream(cut_data, "train", shuffle=False))
    rng = np.random.default_rng(0)
    kinds, labels = Counter(), Counter()
    for i in range(120):
        pair = pairs[i % len(pairs)]
        example = judge_example(pair, pairs, rng)
        frames, follows, kind = example.frames, example.follows, example.kind
        assert frames.shape == pair.next.frames.shape and frames.dtype == np.uint8
        assert follows == judge_sample(pair.meta, frames).passed
        said, shown = example.reasons.split("; ")
        assert example.answer == f"{example.reasons}. {'Yes' if follows else 'No'}"
        assert (said == shown) == (kind == "real") or kind == "mismatched"  # a real shot shows what was said
        kinds[kind] += 1
        labels[kind, follows] += 1
    assert set(kinds) == {"real", "counterfactual", "mismatched", "copy"}
    assert labels["real", True] == kinds["real"]  # the real next shot follows, degraded or not
    assert labels["counterfactual", False] == kinds["counterfactual"]  # another outcome never does
    assert labels["copy", False] == kinds["copy"]
    assert 0.4 < (labels["real", True] / 120) < 0.6  # balanced


def test_the_vlm_stage_asks_the_judges_question(cut_data, tiny_model):
    from nsp.stages.config import load_train_config
    from nsp.stages.vlm import VLMStage

    cfg = load_train_config("judge_cuts_tiny", [f"data.path={cut_data}", "model.patch.vlm.path=null"])
    stage = VLMStage(cfg, tiny_model)
    batch = stage._batch(list(PairStream(cut_data, "train", shuffle=False))[:8], np.random.default_rng(1))
    tok = tiny_model.context_encoder.tokenizer
    answers = [tok.decode([int(t) for t in row[row >= 0]][:-1]) for row in batch.labels]
    assert all(a.endswith((". Yes", ". No")) and "; " in a for a in answers), answers
    assert batch.pixel_values_videos is not None


def test_a_judge_of_its_own_and_best_of_n(cut_data, tiny_model, tiny_checkpoint, tmp_path):
    from nsp.evaluation.best_of import choose, selection_reward
    from nsp.rewards import build_reward

    judge_dir = tmp_path / "judge"
    other = build_reward({"judge": 1.0}, tiny_model)
    tiny_model.context_encoder.vlm.save_pretrained(judge_dir)
    tiny_model.context_encoder.tokenizer.save_pretrained(judge_dir)
    own = selection_reward(tiny_model, "judge", str(judge_dir))
    pair = next(iter(PairStream(cut_data, "test", shuffle=False)))
    candidates = [pair.next.frames, np.repeat(pair.context.frames[-1:], 9, axis=0)]
    best, scores = choose(own, pair.context.frames, candidates)
    # the same weights loaded from a directory judge as the model's own VLM does
    np.testing.assert_allclose(scores, other(_as_candidates(pair, candidates))[0].values, atol=1e-5)
    assert best == int(np.argmax(scores))
    with pytest.raises(NSPError, match="selection reward oracle: it needs the real next scene"):
        choose(selection_reward(tiny_model, "oracle"), pair.context.frames, candidates)

    out = tmp_path / "eval"
    r = run_nsp("eval", "--checkpoint", tiny_checkpoint, "--data", cut_data, "--out", out, "--limit", "3", "--steps",
                "2", "--best-of", "3", "--judge", judge_dir, "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    import json

    report = json.loads((out / "report.json").read_text())
    b = report["best_of"]
    assert b["n"] == 3 and len(b["chosen"]) == 3 and all(0 <= i < 3 for i in b["chosen"])
    assert all(i == int(np.argmax(s)) for i, s in zip(b["chosen"], b["select_scores"]))
    assert "first_candidate" in report["methods"] and "Best of 3" in (out / "REPORT.md").read_text()


def _as_candidates(pair, clips):
    from nsp.rewards import Candidate

    return [Candidate(c, pair.context.frames, None, {}) for c in clips]
