"""The synthetic world and its oracle. The oracle is the judge every later stage relies on, so it is validated:
real next scenes pass, mismatched ones fail, and that holds under the blur, noise and colour drift of a small VAE."""

import numpy as np
import pytest

from nsp.data.oracle import judge, read_balls, vae_like_degradation
from nsp.data.world import FAMILIES, Scene, captions, render_clip, sample_scene, scene_key, state_at


@pytest.fixture(scope="module")
def scenes():
    rng = np.random.default_rng(11)
    return [sample_scene(rng, FAMILIES[i % len(FAMILIES)]) for i in range(150)]


def test_every_family_is_drawn_and_its_event_happens_in_the_next_clip(scenes):
    assert {s.family for s in scenes} == set(FAMILIES)
    for s in scenes:
        assert 1.0 < s.event < 2.0
        before, after = state_at(s, s.event - 0.05), state_at(s, min(s.event + 0.3, 1.99))
        assert before != after


def test_real_next_scenes_pass(scenes):
    results = [judge(s, render_clip(s, 1, 9, 64)) for s in scenes]
    assert np.mean([r.passed for r in results]) == 1.0
    assert min(r.score for r in results) > 0.95


def test_real_next_scenes_pass_under_vae_like_degradation(scenes):
    rng = np.random.default_rng(0)
    results = [judge(s, vae_like_degradation(render_clip(s, 1, 9, 64), rng)) for s in scenes]
    assert np.mean([r.passed for r in results]) >= 0.95


def test_mismatched_next_scenes_fail(scenes):
    shifted = [judge(s, render_clip(scenes[(i + 1) % len(scenes)], 1, 9, 64)) for i, s in enumerate(scenes)]
    assert np.mean([r.passed for r in shifted]) <= 0.3
    # Even within one family (same structures, often similar colours) a different scene's continuation fails.
    same_family = [judge(s, render_clip(scenes[(i + len(FAMILIES)) % len(scenes)], 1, 9, 64))
                   for i, s in enumerate(scenes)]
    assert np.mean([r.passed for r in same_family]) <= 0.3


def test_frozen_or_replayed_context_fails(scenes):
    """The copy-last-frame baseline and replaying the context are not what happens next."""
    frozen = [judge(s, np.repeat(render_clip(s, 0, 9, 64)[-1:], 9, axis=0)) for s in scenes]
    replay = [judge(s, render_clip(s, 0, 9, 64)) for s in scenes]
    assert np.mean([r.passed for r in frozen]) <= 0.1
    assert np.mean([r.passed for r in replay]) <= 0.1


def test_score_is_dense_and_orders_candidates(scenes):
    s = scenes[0]
    good = judge(s, render_clip(s, 1, 9, 64)).score
    near = judge(s, np.roll(render_clip(s, 1, 9, 64), 3, axis=2)).score  # 3 px off
    far = judge(s, np.roll(render_clip(s, 1, 9, 64), 12, axis=2)).score
    assert good > near > far


def test_state_is_read_back_from_pixels(scenes):
    s = next(x for x in scenes if x.family == "collision")
    frame = render_clip(s, 0, 9, 64)[0]
    (area_a, xa, ya), (area_b, xb, yb) = read_balls(frame, s)
    (ex_a, ey_a), (ex_b, ey_b) = state_at(s, 0.0).balls
    assert area_a > 100 and area_b > 100
    assert abs(xa - ex_a) < 0.02 and abs(ya - ey_a) < 0.02 and abs(xb - ex_b) < 0.02


def test_scenes_render_at_other_sizes_and_frame_counts(scenes):
    s = scenes[1]
    clip = render_clip(s, 1, 17, 96)
    assert clip.shape == (17, 96, 96, 3)
    assert judge(s, clip).passed


def test_scene_json_round_trip_and_captions(scenes):
    s = scenes[2]
    assert Scene.from_json(s.to_json()) == s
    caps = captions(s)
    assert set(caps) == {"context", "next", "image"} and s.colors[0] in caps["context"]
    assert scene_key(Scene.from_json(s.to_json())) == scene_key(s)
