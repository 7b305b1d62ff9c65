"""The scene-cut world and its oracle: the context's last frames do not give the next shot away, outcomes are
balanced, real next shots pass and everything a model could produce without understanding the context fails."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from nsp.data.cuts import (COLUMN_WORDS, CUT_FAMILIES, LANE_WORDS, CutScene, context_state, cut_captions, cut_key,
                           outcomes, render_cut_clip, render_cut_frame, sample_cut_scene, visible_masks)
from nsp.data.cuts_oracle import judge_cut
from nsp.data.oracle import vae_like_degradation
from nsp.data.world import RADIUS, frame_times


def scenes(count: int, seed: int = 0) -> list[CutScene]:
    rng = np.random.default_rng(seed)
    return [sample_cut_scene(rng, CUT_FAMILIES[i % len(CUT_FAMILIES)]) for i in range(count)]


def test_the_mover_is_seen_early_and_gone_from_the_last_latent_frame():
    full = np.pi * (RADIUS * 64) ** 2
    for s in scenes(80):
        areas = []
        for tau in frame_times(9, 0):
            state = context_state(s, float(tau))
            areas.append(int(visible_masks(state, 64)[1].sum()))  # balls: [bystander, mover]
        assert areas[3] >= 0.9 * full  # in full view in the VLM's second sampled frame
        assert max(areas[5:]) == 0  # out of sight in every frame a clean history frame covers
        assert min(int(visible_masks(context_state(s, float(t)), 64)[0].sum()) for t in frame_times(9, 0)) > 0.9 * full


def test_the_context_s_last_frames_are_the_same_whatever_the_outcome():
    # What a clean history shows cannot tell outcomes apart: scenes drawn alike but for the outcome end on the same
    # frames (the bystander's place never follows the mover's lane or, but for the panel's side, its direction).
    times = frame_times(9, 0)[5:]
    for family in CUT_FAMILIES:
        for seed in range(6):
            ends = {}
            for k, (direction, _) in enumerate(outcomes(family)):
                s = sample_cut_scene(np.random.default_rng(seed), family, k)
                side = s.direction if family in ("reverse", "lamp") else 0
                ends.setdefault(side, []).append(np.stack([render_cut_frame(s, float(t), 64) for t in times]))
            for group in ends.values():
                assert all(np.array_equal(group[0], other) for other in group[1:]), family


def test_the_next_shot_depends_on_the_outcome_not_on_the_context_s_details():
    rng = np.random.default_rng(1)
    for family in CUT_FAMILIES:
        a, b = sample_cut_scene(rng, family, 0), sample_cut_scene(rng, family, 0)
        b.color, b.next_background = a.color, a.next_background
        assert not np.array_equal(render_cut_clip(a, 0, 9, 64), render_cut_clip(b, 0, 9, 64))
        assert np.array_equal(render_cut_clip(a, 1, 9, 64), render_cut_clip(b, 1, 9, 64))
        c = sample_cut_scene(rng, family, 1)
        c.color, c.next_background = a.color, a.next_background
        assert not np.array_equal(render_cut_clip(a, 1, 9, 64), render_cut_clip(c, 1, 9, 64))


def test_synth_balances_families_and_outcomes_and_keeps_splits_disjoint(tmp_path):
    from nsp.data.loader import PairStream
    from nsp.data.synth import synthesize

    manifest = synthesize(tmp_path / "cuts", {"train": 48, "val": 8, "test": 24}, seed=3, workers=1,
                          progress=False, world="cuts")
    assert manifest["world"] == "cuts" and manifest["splits"]["test"]["families"] == {f: 6 for f in CUT_FAMILIES}
    pairs = {split: list(PairStream(tmp_path / "cuts", split, shuffle=False)) for split in ("train", "test")}
    for family in CUT_FAMILIES:
        counts = Counter(p.meta["outcome"] for p in pairs["train"] if p.meta["family"] == family)
        assert len(counts) == len(outcomes(family)) and max(counts.values()) / sum(counts.values()) <= 0.4
    keys = {split: {cut_key(CutScene.from_json(p.meta["cut"])) for p in v} for split, v in pairs.items()}
    assert not keys["train"] & keys["test"]
    p = pairs["test"][0]
    scene = CutScene.from_json(p.meta["cut"])
    assert np.array_equal(p.next.frames, render_cut_clip(scene, 1, 9, 64))
    assert p.meta["captions"] == cut_captions(scene) and p.meta["world"] == "cuts" and p.meta["cut_kind"]
    assert judge_cut(scene, p.next.frames).passed


def test_synth_disjoint_from_another_dataset_draws_none_of_its_scenes(tmp_path):
    """`--disjoint-from`: RL contexts SFT never trained on. The same seed would redraw the same scenes; none is."""
    from nsp.data.loader import PairStream
    from nsp.data.synth import scene_keys
    from tests.conftest import run_nsp

    def keys(data, split):
        return {cut_key(CutScene.from_json(p.meta["cut"])) for p in PairStream(data, split, shuffle=False)}

    first, fresh = tmp_path / "sft", tmp_path / "rl"
    for args in (["--out", first], ["--out", fresh, "--disjoint-from", first]):
        done = run_nsp("data", "synth", *args, "--train", 8, "--val", 4, "--test", 4, "--seed", 0, "--workers", 1)
        assert done.returncode == 0, done.stderr[-2000:]
    used = keys(first, "train") | keys(first, "val") | keys(first, "test")
    drawn = keys(fresh, "train") | keys(fresh, "val") | keys(fresh, "test")
    assert len(drawn) == 16 and not used & drawn
    assert scene_keys(first, "cuts") == used and scene_keys(fresh, "cuts") == drawn  # redrawn from the manifests
    other = run_nsp("data", "synth", "--out", tmp_path / "x", "--world", "continuation", "--disjoint-from", first)
    assert other.returncode != 0 and "not a synthetic continuation dataset" in other.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("family", CUT_FAMILIES)
def test_oracle_passes_real_next_shots_and_fails_what_needs_no_understanding(family):
    rng = np.random.default_rng(7)
    group = [sample_cut_scene(rng, family, i % len(outcomes(family))) for i in range(12)]
    for i, s in enumerate(group):
        real = render_cut_clip(s, 1, 9, 64)
        assert judge_cut(s, real).passed and judge_cut(s, real).score > 0.99
        assert judge_cut(s, vae_like_degradation(real, rng)).passed
        copy = np.repeat(render_cut_clip(s, 0, 9, 64)[-1:], 9, axis=0)
        assert not judge_cut(s, copy).passed
        other = sample_cut_scene(rng, family, (group.index(s) + 1) % len(outcomes(family)))  # another outcome
        other.color, other.next_background = s.color, s.next_background
        assert not judge_cut(s, render_cut_clip(other, 1, 9, 64)).passed
        recoloured = CutScene.from_json({**s.to_json(), "color": s.other})  # the bystander's colour
        if family != "lamp":  # the lamps do not show the ball
            assert not judge_cut(s, render_cut_clip(recoloured, 1, 9, 64)).passed
        empty = np.broadcast_to(np.array(s.next_background, np.uint8), real.shape)
        assert not judge_cut(s, empty).passed


def test_oracle_names_why_a_next_shot_fails():
    s = CutScene.from_json({**scenes(4)[3].to_json(), "family": "time_skip", "lane": 0})
    real = render_cut_clip(s, 1, 9, 64)
    assert judge_cut(s, real).causes == [[]] * 9
    column = CutScene.from_json({**s.to_json(), "lane": 2})  # the ball drawn in another column
    assert all(c == ["ball_misplaced"] for c in judge_cut(s, render_cut_clip(column, 1, 9, 64)).causes)
    recoloured = CutScene.from_json({**s.to_json(), "color": s.other})  # in another colour
    assert all(c == ["ball_missing", "extra_colour"] for c in judge_cut(s, render_cut_clip(recoloured, 1, 9, 64)).causes)
    lamp = scenes(4)[2]
    other_lamp = CutScene.from_json({**lamp.to_json(), "lane": (lamp.lane + 1) % 3})
    assert "lamp_wrong" in sum(judge_cut(lamp, render_cut_clip(other_lamp, 1, 9, 64)).causes, [])


def test_oracle_reward_judges_cut_samples():
    from nsp.rewards import Candidate, build_reward

    s = scenes(4)[2]
    meta = {"cut": s.to_json()}
    scores, _ = build_reward({"oracle": 1.0})([Candidate(render_cut_clip(s, 1, 9, 64), meta=meta),
                                               Candidate(render_cut_clip(s, 0, 9, 64), meta=meta)])
    assert list(scores.passed) == [True, False] and scores.values[0] > scores.values[1]


def test_vlm_pre_step_asks_the_nsp_prompt_of_a_cut_context(tmp_path, tiny_model):
    import numpy as np

    from nsp.data.loader import PairStream
    from nsp.data.synth import synthesize
    from nsp.stages.config import TrainConfig
    from nsp.stages.vlm import VLMStage

    synthesize(tmp_path / "cuts", {"train": 4}, seed=2, workers=1, progress=False, world="cuts")
    pair = next(iter(PairStream(tmp_path / "cuts", "train", shuffle=False)))
    cfg = TrainConfig(stage="vlm", phases=[{"name": "u", "steps": 1, "trainable": ["vlm"]}],
                      data={"path": str(tmp_path / "cuts")})
    stage = VLMStage(cfg, tiny_model)
    tok = tiny_model.context_encoder.tokenizer
    seen = set()
    for seed in range(12):
        ids, labels, video = stage._example(pair, np.random.default_rng(seed))
        answer = tok.decode([t for t, lab in zip(ids, labels) if lab != -100], skip_special_tokens=True)
        seen.add(video is not None)
        if video is not None:  # the clip with the model's own question, as the queries will read it
            assert tiny_model.config.vlm.prompt in tok.decode(ids)
            # what the next shot depends on first (lane, colour, way), then what it shows, in words
            scene = CutScene.from_json(pair.meta["cut"])
            assert answer.startswith((COLUMN_WORDS if scene.family == "time_skip" else LANE_WORDS)[scene.lane])
            assert answer.endswith(". " + pair.meta["captions"]["next"])
        else:
            assert answer == pair.meta["captions"]["next"]
    assert seen == {True, False}  # and the text-only task (context caption -> next caption)


def test_last_frame_history_is_what_the_context_ends_on_in_training_and_inference(tmp_path):
    import torch

    from nsp.config import preset_config
    from nsp.data.cache import encode_pair_latents
    from nsp.data.loader import PairStream
    from nsp.data.synth import synthesize
    from nsp.errors import NSPError
    from nsp.model import NSPModel
    from nsp.video.io import Clip

    synthesize(tmp_path / "cuts", {"test": 3}, seed=4, workers=1, progress=False, world="cuts")
    pairs = list(PairStream(tmp_path / "cuts", "test", shuffle=False))
    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny", ["generator.history_frames=1",
                                                        "generator.history_source=last_frame"]))
    latents = encode_pair_latents(model, pairs, "cpu")  # what `nsp data cache` stores and training reads
    history = model.encode_history([p.context for p in pairs])  # what inference gives the DiT
    assert torch.allclose(model.generator.pack(latents["last"]), history)
    # only the last frame counts: another clip ending on the same frame gives the same history
    swapped = Clip(np.concatenate([pairs[1].context.frames[:-1], pairs[0].context.frames[-1:]]), pairs[0].context.fps)
    assert torch.allclose(model.encode_history([swapped]), history[:1], atol=1e-5)
    with pytest.raises(NSPError, match="history_source last_frame gives one latent frame"):
        preset_config("tiny", ["generator.history_frames=2", "generator.history_source=last_frame"])


def test_probes_read_what_is_in_the_features_and_the_vlm_answer_is_scored_word_by_word(tmp_path, tiny_model):
    from nsp.data.loader import PairStream
    from nsp.data.synth import synthesize
    from nsp.evaluation.probe import answer_accuracy, fit_and_score, probe

    rng = np.random.default_rng(0)
    labels = [str(v) for v in rng.integers(3, size=300)]
    signal = np.eye(3)[[int(v) for v in labels]] + 0.1 * rng.normal(size=(300, 3))
    noise = rng.normal(size=(300, 3))
    assert fit_and_score(signal[:200], labels[:200], signal[200:], labels[200:]).mean() > 0.95
    assert fit_and_score(noise[:200], labels[:200], noise[200:], labels[200:]).mean() < 0.6

    synthesize(tmp_path / "cuts", {"test": 8}, seed=5, workers=1, progress=False, world="cuts")
    pairs = list(PairStream(tmp_path / "cuts", "test", shuffle=False))
    report = probe(tiny_model, pairs, pairs, rows=True)
    outcome = report["query_states"]["outcome"]
    by_family = {f: [outcome["right"][p.key] for p in pairs if p.meta["family"] == f] for f in CUT_FAMILIES}
    assert outcome["by_family"] == {f: pytest.approx(np.mean(v)) for f, v in by_family.items() if v}
    assert outcome["accuracy"] == pytest.approx(np.mean(list(outcome["right"].values())))
    assert "right" not in probe(tiny_model, pairs[:4], pairs[4:])["query_states"]["outcome"]
    scores = answer_accuracy(tiny_model, pairs)
    assert set(scores) == set(CUT_FAMILIES)
    assert set(scores["next_room"]) == {"lane", "color", "way"} and set(scores["lamp"]) == {"lane"}
    assert set(scores["time_skip"]) == {"lane", "color"}
    assert all(0 <= v <= 1 for facts in scores.values() for v in facts.values())
