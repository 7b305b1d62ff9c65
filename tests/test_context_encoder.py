"""The frozen-VLM saving: context once without grad, queries alone with grad, equal to the plain forward."""

import numpy as np
import pytest
import torch

from nsp.video.io import Clip


@pytest.fixture(scope="module")
def batch(tiny_model, clip):
    # Mixed rows: clip + text, clip only, text only -> different lengths, left padding, with and without video.
    other = Clip(np.ascontiguousarray(clip.frames[::-1]), clip.fps)
    return tiny_model.prepare_context(["the ball rolls right", None, "a red square falls"], [clip, other, None])


def test_cached_query_pass_equals_plain_forward(tiny_model, batch):
    enc = tiny_model.context_encoder
    cached = enc(batch)
    full = enc.query_states_full(batch)
    assert cached.shape == (3, enc.num_queries, enc.hidden_size)
    assert (cached - full).abs().max().item() <= 1e-5


def test_think_tokens_are_the_vlm_s_greedy_answer_and_the_queries_follow_them(tiny_model, batch):
    """vlm.think_tokens: the VLM writes its answer's first tokens (cached, one at a time) before the queries; the
    query states equal one plain forward over context + those tokens + queries."""
    from dataclasses import replace

    enc, think = tiny_model.context_encoder, 3
    enc.cfg = enc.cfg.model_copy(update={"think_tokens": think})
    try:
        cache = enc.encode_context(batch)
        cached = enc.query_states(cache)
    finally:
        enc.cfg = enc.cfg.model_copy(update={"think_tokens": 0})
    assert cache.thought.shape == (3, think) and cached.shape == (3, enc.num_queries, enc.hidden_size)
    length, b = batch.context_length, len(batch.input_ids)
    first = tiny_model.context_encoder.vlm(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                                           position_ids=batch.position_ids[:, :, :length],
                                           pixel_values_videos=batch.pixel_values_videos,
                                           video_grid_thw=batch.video_grid_thw).logits[:, -1].argmax(-1)
    assert torch.equal(cache.thought[:, 0], first)
    queries = batch.position_ids[:, :, length:]
    written = replace(batch, input_ids=torch.cat([batch.input_ids, cache.thought], 1),
                      attention_mask=torch.cat([batch.attention_mask, torch.ones(b, think, dtype=torch.long)], 1),
                      mm_token_type_ids=torch.cat([batch.mm_token_type_ids, torch.zeros(b, think, dtype=torch.long)],
                                                  1),
                      position_ids=torch.cat([batch.position_ids[:, :, :length],
                                              queries[:, :, :1] + torch.arange(think), queries + think], 2))
    assert (cached - enc.query_states_full(written)).abs().max().item() <= 1e-5


def test_given_answers_take_the_think_tokens_place_padding_masked(tiny_model, clip):
    """data.text_as_answer (T2V): given answers are written where the VLM's own think tokens go, cut to think_tokens,
    a short one padded and masked; the query states equal one plain forward over context + answer + queries."""
    from dataclasses import replace

    from nsp.errors import NSPError

    enc, think = tiny_model.context_encoder, 4
    answers = ["top red left. in the next room the red ball rolls in from the left", "red"]
    with pytest.raises(NSPError, match="think_tokens"):
        enc.prepare([None, None], [None, None], answers=answers)
    enc.cfg = enc.cfg.model_copy(update={"think_tokens": think})
    try:
        given = tiny_model.prepare_context([None, None], [clip, None])
        given = replace(given, **dict(zip(("answer_ids", "answer_mask"), enc._answers(answers))))
        cache = enc.encode_context(given)
        cached = enc.query_states(cache)
    finally:
        enc.cfg = enc.cfg.model_copy(update={"think_tokens": 0})
    first = enc.tokenizer(answers[0], add_special_tokens=False)["input_ids"]
    assert cache.thought[0].tolist() == first[:think]  # cut to think_tokens
    short = len(enc.tokenizer(answers[1], add_special_tokens=False)["input_ids"])
    assert 0 < short < think and given.answer_mask.tolist() == [[1] * think, [1] * short + [0] * (think - short)]
    length, b = given.context_length, 2
    queries = given.position_ids[:, :, length:]
    written = replace(given, input_ids=torch.cat([given.input_ids, given.answer_ids], 1),
                      attention_mask=torch.cat([given.attention_mask, given.answer_mask], 1),
                      mm_token_type_ids=torch.cat([given.mm_token_type_ids, torch.zeros(b, think, dtype=torch.long)],
                                                  1),
                      position_ids=torch.cat([given.position_ids[:, :, :length],
                                              queries[:, :, :1] + torch.arange(think), queries + think], 2))
    assert (cached - enc.query_states_full(written)).abs().max().item() <= 1e-5
    # the answer is read: another one changes the query states
    other = replace(given, answer_ids=given.answer_ids.flip(0), answer_mask=given.answer_mask.flip(0))
    enc.cfg = enc.cfg.model_copy(update={"think_tokens": think})
    try:
        changed = enc.query_states(enc.encode_context(other))
    finally:
        enc.cfg = enc.cfg.model_copy(update={"think_tokens": 0})
    assert (changed - cached).abs().max().item() > 1e-4


def test_gradients_reach_the_queries_and_never_the_vlm(tiny_model, batch):
    enc = tiny_model.context_encoder
    enc.queries.grad = None
    enc(batch).pow(2).mean().backward()
    assert enc.queries.grad is not None and enc.queries.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in enc.vlm.parameters())
    enc.queries.grad = None


def test_context_cache_is_reusable(tiny_model, batch):
    enc = tiny_model.context_encoder
    cache = enc.encode_context(batch)
    first, second = enc.query_states(cache), enc.query_states(cache)
    torch.testing.assert_close(first, second, atol=0, rtol=0)
    assert all(not k.requires_grad for k, _ in cache.key_values)


def test_a_batch_read_once_gives_each_context_its_own_reading(tiny_model, batch, clip):
    """ContextCache.rows: the contexts read together (different lengths, left padding, the VLM's think tokens) and
    queried one row at a time give what each context read alone gives; the model's condition takes such a row."""
    enc, think = tiny_model.context_encoder, 3
    enc.cfg = enc.cfg.model_copy(update={"think_tokens": think})
    try:
        rows = tiny_model.read_context(batch).rows()
        alone = [enc.encode_context(tiny_model.prepare_context([text], [c]))
                 for text, c in (("the ball rolls right", clip), ("a red square falls", None))]
        together = [enc(rows[0]), enc(rows[2])]
        assert [len(r.attention_mask) for r in rows] == [1, 1, 1]
        # each row's own tensors, not views that would keep the whole batch's keys and values alive
        assert all(k._base is None and k.untyped_storage().nbytes() == k.nbytes for k, _ in rows[1].key_values)
        for got, one, cache in zip(together, alone, (rows[0], rows[2])):
            assert torch.equal(cache.thought, one.thought)
            assert (got - enc.query_states(one)).abs().max().item() <= 1e-4
        torch.testing.assert_close(tiny_model.condition(rows[2]), tiny_model.connector(together[1]))
    finally:
        enc.cfg = enc.cfg.model_copy(update={"think_tokens": 0})


def test_video_tokens_get_3d_positions(tiny_model, batch):
    types = batch.mm_token_type_ids[0]
    pos = batch.position_ids[:, 0, : batch.context_length][:, types == 2]
    assert pos.shape[1] == 32  # 4 sampled frames at 112x112 -> 2 x 8 x 8 patches / merge 4
    assert not torch.equal(pos[1], pos[2])  # height and width positions differ: M-RoPE, not 1-D positions
    assert pos[0].unique().numel() == 2  # two temporal grid steps


def test_queries_follow_the_generation_prompt(tiny_model, batch):
    tok = tiny_model.context_encoder.tokenizer
    text = tok.decode(batch.input_ids[0][batch.attention_mask[0].bool()])
    assert "Please generate a video showing what happens after this scene: the ball rolls right" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert text.count("<|video_pad|>") == 32
    # Left padding: every row ends with the same generation prompt, so the queries line up.
    assert batch.attention_mask[:, -1].all()


def test_long_text_is_shortened_to_the_token_budget(tiny_model, clip):
    enc = tiny_model.context_encoder
    rows = enc.prepare(["word " * 500], [None])
    assert rows.input_ids.shape[1] + enc.num_queries <= enc.cfg.max_tokens


def test_qwen3_vl_is_selectable_with_the_same_saving(clip):
    """Qwen3-VL (timestamped frame blocks, deepstack visual features) goes through the same cached query pass."""
    from nsp.config import preset_config
    from nsp.model import NSPModel

    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny", ["vlm.family=qwen3_vl"]))
    enc = model.context_encoder
    assert type(enc.vlm).__name__ == "Qwen3VLForConditionalGeneration"
    batch = model.prepare_context(["the ball rolls right", None], [clip, None])
    text = enc.tokenizer.decode(batch.input_ids[0])
    assert text.count(" seconds><|vision_start|>") == 2  # one timestamped block per temporal grid step
    cached = enc(batch)
    assert (cached - enc.query_states_full(batch)).abs().max().item() <= 1e-5
    cached.sum().backward()
    assert enc.queries.grad.abs().sum() > 0
