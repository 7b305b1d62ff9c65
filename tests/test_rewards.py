"""The reward registry: oracle, the local VLM judge, the reference reward, an OpenAI-compatible HTTP judge (served
on 127.0.0.1 by the test), and weighted combinations."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from nsp.data.world import FAMILIES, render_clip, sample_scene
from nsp.errors import NSPError
from nsp.rewards import Candidate, build_reward


@pytest.fixture(scope="module")
def candidates():
    rng = np.random.default_rng(4)
    scenes = [sample_scene(rng, f) for f in FAMILIES[:3]]
    real = [Candidate(render_clip(s, 1, 9, 64), render_clip(s, 0, 9, 64), render_clip(s, 1, 9, 64),
                      {"scene": s.to_json()}) for s in scenes]
    wrong = [Candidate(render_clip(scenes[(i + 1) % 3], 1, 9, 64), c.context, c.reference, c.meta)
             for i, c in enumerate(real)]
    return real, wrong


def test_oracle_reward_prefers_the_real_next_scene(candidates):
    real, wrong = candidates
    reward = build_reward({"oracle": 1.0})
    good, _ = reward(real)
    bad, _ = reward(wrong)
    assert good.passed.all() and not bad.passed.any()
    assert (good.values > bad.values).all()
    both = build_reward({"oracle": 1.0}, oracle={"mode": "pass"})
    np.testing.assert_allclose(both(real)[0].values, (good.values + 1) / 2)  # passing adds a step of 1/2
    np.testing.assert_allclose(both(wrong)[0].values, bad.values / 2)
    with pytest.raises(NSPError, match="mode 'pas' is not one of dense, pass"):
        build_reward({"oracle": 1.0}, oracle={"mode": "pas"})


def test_judge_and_reference_run_on_the_model_and_combine(candidates, tiny_model):
    real, wrong = candidates
    reward = build_reward({"oracle": 1.0, "judge": 0.5, "reference": 0.5}, tiny_model)
    scores, parts = reward(real + wrong)
    assert set(parts) == {"oracle", "judge", "reference"}
    assert all(((0 <= v) & (v <= 1)).all() for v in parts.values())
    np.testing.assert_allclose(scores.values, (parts["oracle"] + 0.5 * parts["judge"] + 0.5 * parts["reference"]) / 2)
    # The reference reward: identical to the real next scene scores higher than another scene's continuation.
    assert parts["reference"][:3].mean() > parts["reference"][3:].mean()
    binary = build_reward({"judge": 1.0}, tiny_model, judge={"mode": "binary"})(real)[0].values
    assert set(np.unique(binary)) <= {0.0, 1.0}


def test_a_thinking_judge_reads_its_reasons_over_a_cache_as_over_the_whole_text(candidates, tiny_model):
    """think: the judge's reasons are written one token at a time over the clip's keys/values; the probability is
    the one a plain pass over the question, clip and every reason so far gives at each token."""
    import torch

    from nsp.rewards.judge import JudgeReward, judge_inputs
    from nsp.understanding.context import token_types

    real, _ = candidates
    judge = JudgeReward(tiny_model, think=True)
    judge.max_reason_tokens = 5
    vlm = judge.vlm
    for c in real[:2]:
        ids, video = judge_inputs(judge.tokenizer, judge.spec, judge.cfg, judge.fps, c.context, c.generated)
        for _ in range(judge.max_reason_tokens):  # the plain way: the whole sequence again for every token
            row = torch.tensor([ids])
            logits = vlm(input_ids=row, attention_mask=torch.ones_like(row),
                         mm_token_type_ids=token_types(row, vlm.config),
                         pixel_values_videos=video.pixel_values_videos.to(vlm.dtype),
                         video_grid_thw=video.video_grid_thw[None],
                         second_per_grid_ts=torch.tensor([video.second_per_grid_t])).logits[0, -1]
            token = int(logits.argmax())
            if token in (judge.yes, judge.no):
                break
            ids = ids + [token]
        plain = float(torch.softmax(logits[[judge.yes, judge.no]].float(), 0)[0])
        assert judge.probability(c.context, c.generated) == pytest.approx(plain, abs=1e-5)
    assert len(ids) > len(judge_inputs(judge.tokenizer, judge.spec, judge.cfg, judge.fps, c.context,
                                       c.generated)[0])  # the untrained judge reasoned before answering


class _Judge(BaseHTTPRequestHandler):
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        content = body["messages"][0]["content"]
        images = [part for part in content if part["type"] == "image_url"]
        _Judge.seen.append((len(images), self.headers.get("Authorization")))
        # A deterministic judge: "Yes" when both clips came (8 frames), "No" otherwise.
        answer = "Yes." if len(images) == 8 else "No"
        payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def test_http_judge_against_a_local_openai_compatible_server(candidates, monkeypatch):
    real, _ = candidates
    server = HTTPServer(("127.0.0.1", 0), _Judge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("JUDGE_KEY", "secret")
        url = f"http://127.0.0.1:{server.server_port}/v1/chat/completions"
        reward = build_reward({"http": 1.0}, None, http={"url": url, "api_key_env": "JUDGE_KEY"})
        scores, _ = reward(real[:2])
        assert scores.values.tolist() == [1.0, 1.0]
        no_context = [Candidate(real[0].generated)]
        assert reward(no_context)[0].values.tolist() == [0.0]
        assert _Judge.seen[0] == (8, "Bearer secret")
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(NSPError, match="no usable answer"):
        build_reward({"http": 1.0}, None, http={"url": url, "timeout": 2})(real[:1])


def test_unknown_reward_and_missing_options_are_clear_errors():
    with pytest.raises(NSPError, match="unknown"):
        build_reward({"vibes": 1.0})
    with pytest.raises(NSPError, match="url"):
        build_reward({"http": 1.0})
