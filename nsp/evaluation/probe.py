"""What reaches the DiT: linear probes on the VLM's query states, the connector's output and the clean history; and
what the VLM itself reads (`answer_accuracy`: its answer to the NSP prompt, word by word).

For each labelled fact of a synthetic context (its family, the moving ball's colour, what the next shot must show),
a multinomial logistic regression is fitted on the training contexts' features and scored on held-out ones. An
accuracy near 1 says the fact is in the condition, linearly readable; what the DiT then does with it is the path
ablation's question (paths.py)."""

from __future__ import annotations

import numpy as np
import torch

from nsp.evaluation.metrics import bootstrap_ci


def labels(meta: dict) -> dict[str, str]:
    """The facts a context's sample names: the cut world's family, mover colour and outcome; the continuation
    world's family, first ball colour and direction."""
    if "cut" in meta:
        cut = meta["cut"]
        return {"family": meta["family"], "color": cut["color"], "outcome": f"{meta['family']}:{meta['outcome']}"}
    if "scene" in meta:
        scene = meta["scene"]
        return {"family": meta["family"], "color": scene["colors"][0], "direction": str(scene["mirror"])}
    return {}


@torch.no_grad()
def features(model, pairs: list, batch_size: int = 32) -> dict[str, np.ndarray]:
    """(N, num_queries * width) query states and connector outputs of the pairs' context clips, and where the model
    has clean history, its history tokens (what reaches the DiT from the context's pixels)."""
    out: dict[str, list] = {"query_states": [], "condition": []}
    if model.config.generator.history_frames:
        out["history"] = []
    device = model.context_encoder.queries.device
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start:start + batch_size]
        batch = model.prepare_context([None] * len(chunk), [p.context for p in chunk]).to(device)
        states = model.context_encoder(batch)
        out["query_states"].append(states.flatten(1).float().cpu().numpy())
        out["condition"].append(model.connector(states).flatten(1).float().cpu().numpy())
        if "history" in out:
            out["history"].append(model.encode_history([p.context for p in chunk]).flatten(1).float().cpu().numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def fit_and_score(train_x: np.ndarray, train_y: list[str], test_x: np.ndarray, test_y: list[str],
                  l2: float = 1e-3, steps: int = 200) -> np.ndarray:
    """Per held-out row, whether a logistic regression fitted on the training rows names its label."""
    classes = sorted(set(train_y))
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    x = torch.tensor((train_x - mean) / std, dtype=torch.float32)
    y = torch.tensor([classes.index(v) for v in train_y])
    linear = torch.nn.Linear(x.shape[1], len(classes))
    optimizer = torch.optim.LBFGS(linear.parameters(), max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(linear(x), y) + l2 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predicted = linear(torch.tensor((test_x - mean) / std, dtype=torch.float32)).argmax(1).numpy()
    return np.array([classes[i] == label for i, label in zip(predicted, test_y)], dtype=np.float64)


def probe(model, train_pairs: list, test_pairs: list, rows: bool = False) -> dict:
    """{feature: {fact: {accuracy, ci, chance (the most common label's share), classes, by_family}}} on held-out
    contexts; `rows`: also `right`, {test pair key: whether the probe named it} (to join with an eval's clips)."""
    train_f, test_f = features(model, train_pairs), features(model, test_pairs)
    train_l, test_l = [labels(p.meta) for p in train_pairs], [labels(p.meta) for p in test_pairs]
    families = np.array([row.get("family") for row in test_l])
    report: dict = {"train_contexts": len(train_pairs), "test_contexts": len(test_pairs)}
    for name in train_f:
        report[name] = {}
        for fact in train_l[0]:
            ys, ts = [row[fact] for row in train_l], [row[fact] for row in test_l]
            right = fit_and_score(train_f[name], ys, test_f[name], ts)
            values, counts = np.unique(ts, return_counts=True)
            report[name][fact] = {"accuracy": float(right.mean()), "ci": list(bootstrap_ci(right)),
                                  "chance": float(counts.max() / counts.sum()), "classes": len(values),
                                  "by_family": {f: float(right[families == f].mean()) for f in sorted(set(families))}}
            if rows:
                report[name][fact]["right"] = {p.key: bool(r) for p, r in zip(test_pairs, right)}
    return report


@torch.no_grad()
def answer_accuracy(model, pairs: list) -> dict[str, dict[str, float]]:
    """{family: {fact: share right}}: how often the frozen VLM, asked the NSP prompt about a cut context, names each
    fact of its answer (`cuts.cut_answer`: lane, colour, way) right, teacher-forced (each word given the words before
    it; a word counts as right when all its tokens are the VLM's most likely ones). The queries cannot carry a fact
    the VLM does not read."""
    from nsp.data.cuts import CutScene, cut_answer
    from nsp.understanding.context import chat_ids, token_types

    enc, cfg = model.context_encoder, model.config.vlm
    tok, device = enc.tokenizer, enc.queries.device
    right: dict[str, dict[str, list[bool]]] = {}
    for pair in pairs:
        if "cut" not in pair.meta or pair.context is None:
            continue
        scene = CutScene.from_json(pair.meta["cut"])
        video = enc.video_input(pair.context.frames, pair.context.fps)
        prompt = chat_ids(tok, cfg.family, cfg.prompt, video)
        words = cut_answer(scene).split(".")[0].split()
        ids = [tok(w, add_special_tokens=False)["input_ids"] for w in words]
        space = tok(" ", add_special_tokens=False)["input_ids"]
        answer = [t for i, w in enumerate(ids) for t in (w if i == 0 else space + w)]
        x = torch.tensor([prompt + answer], device=device)
        logits = enc.vlm(input_ids=x, attention_mask=torch.ones_like(x),
                         mm_token_type_ids=token_types(x, enc.vlm.config),
                         pixel_values_videos=video.pixel_values_videos.to(device),
                         video_grid_thw=video.video_grid_thw[None].to(device),
                         second_per_grid_ts=torch.tensor([video.second_per_grid_t])).logits[0]
        guess = logits[len(prompt) - 1:-1].argmax(-1).tolist()
        at = 0
        for fact, word in zip(("lane", "color", "way"), ids):
            right.setdefault(pair.meta["family"], {}).setdefault(fact, []).append(guess[at:at + len(word)] == word)
            at += len(word) + len(space)
    return {family: {fact: float(np.mean(v)) for fact, v in facts.items()} for family, facts in sorted(right.items())}
