"""Typed configuration. One `ModelConfig` says how an NSP model is composed; presets fill it in and
`key=value` overrides (dotted paths, YAML-typed values) adjust it from the command line."""

from __future__ import annotations

import math
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from nsp.errors import NSPError

NSP_PROMPT = "Please generate a video showing what happens after this scene:"


class _Strict(BaseModel):
    # Unknown keys and wrong types fail loudly: a typo in a config must never be silently ignored.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ContextVideoConfig(_Strict):
    """How the context clip is sampled for the VLM: qwen-vl-utils' policy, in merged-token units.

    One token is one (patch * merge)^2 pixel square (28x28 for Qwen2.5-VL), so the budgets carry over between families.
    """

    fps: float = 2.0  # frames sampled per second of context
    min_frames: int = 4
    max_frames: int = 768
    min_tokens_per_frame: int = 128  # qwen-vl-utils VIDEO_MIN_TOKEN_NUM
    max_tokens_per_frame: int = 768  # qwen-vl-utils VIDEO_MAX_TOKEN_NUM
    # Whole-clip budget; None: 0.9 x what vlm.max_tokens leaves beside the queries (qwen-vl-utils' MODEL_SEQ_LEN rule).
    total_tokens: int | None = None


class VLMConfig(_Strict):
    family: Literal["qwen2_5_vl", "qwen3_vl"] = "qwen2_5_vl"
    path: str | None = None  # local Hugging Face snapshot; None builds `arch` with random weights
    arch: str = "tiny"  # architecture used when path is None (see nsp/understanding/vlm.py)
    depth: int | None = Field(None, ge=1)  # random builds: only this many layers (None: all); real widths, cheaply
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    quantization: Literal["none", "8bit", "4bit"] = "none"  # bitsandbytes, language model only
    attn_implementation: str = "sdpa"
    max_tokens: int = 1024  # context length budget (prompt + video + text)
    prompt: str = NSP_PROMPT
    # > 0: the frozen VLM first writes this many tokens of its answer (greedy) and the queries follow them, so they
    # read what it says comes next in words (where text conditions put it) as well as its view of the clip.
    think_tokens: int = Field(0, ge=0)
    video: ContextVideoConfig = ContextVideoConfig()


class ConnectorConfig(_Strict):
    type: str = "mlp"  # a name in nsp.connectors.CONNECTORS
    num_queries: int = 256
    hidden_size: int | None = None  # None: the DiT's caption width
    num_layers: int = 2  # transformer connector only
    num_heads: int = 8  # transformer connector only
    norm_init: float = math.sqrt(5.5)  # output RMSNorm weight at init
    scale_init: float = 0.01  # learnable output scale at init
    null_condition: Literal["learned", "zero"] = "learned"  # the CFG "unconditional" embedding


class GeneratorConfig(_Strict):
    path: str | None = None  # local LTX-Video snapshot in diffusers layout; None builds `arch` with random weights
    arch: str = "tiny"  # see nsp/generation/ltx.py
    depth: int | None = Field(None, ge=1)  # random builds: only this many DiT blocks (None: all)
    # The DiT's attention kernel, a diffusers attention backend: None is PyTorch's SDPA (flash / memory-efficient on
    # a GPU where it can); "flash", "_flash_3", "sage", ... where those packages are installed.
    attention_backend: str | None = None
    vae_path: str | None = None  # a trained VAE (save_pretrained dir) replacing path's/arch's; "nsp:tiny_vae" is the shipped one
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    num_frames: int = 9
    height: int = 64
    width: int = 64
    fps: float = 8.0
    # Latent frames of the context clip given to the DiT clean, before the noisy next clip (Video-GPT's clean
    # history; 0: the paper's NSP, where the context reaches the DiT only through the VLM queries).
    history_frames: int = Field(0, ge=0)
    # Where the history comes from. clip: the last latent frames of the whole context clip encoded; the VAE's causal
    # encoder lets them see far back in the clip (measured: they carry what left the view early). last_frame: the
    # context's last frame encoded on its own (history_frames 1): exactly what the context ends on.
    history_source: Literal["clip", "last_frame"] = "clip"
    # The noise level the history is given at when sampling (0: clean). A model trained on noised history
    # (dit.history_noise) is sampled with a small level, so that its own imperfect clips, chained as history in a
    # rollout, look like what it trained on.
    history_sigma: float = Field(0.0, ge=0.0, le=1.0)
    # Clips of num_frames the context holds, back to back: 1 for NSP; 3 for visual sentences (A, A', B -> B', the
    # example pair defining the task). The VLM sees them all; the history's latent frames are counted from the end.
    context_clips: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _ltx_shapes(self) -> "GeneratorConfig":
        if self.num_frames < 1 or self.num_frames % 8 != 1:
            raise ValueError(f"num_frames must be 8k+1 (1, 9, 17, ..., 65, ...), got {self.num_frames}")
        for name in ("height", "width"):
            v = getattr(self, name)
            if v < 32 or v % 32:
                raise ValueError(f"{name} must be a positive multiple of 32, got {v}")
        if self.history_source == "last_frame" and self.history_frames > 1:
            raise ValueError(f"history_source last_frame gives one latent frame, got history_frames "
                             f"{self.history_frames}")
        return self


class SamplingConfig(_Strict):
    steps: int = Field(20, ge=2)  # LTX's schedule (terminal sigma 0.1) needs at least two steps
    guidance: float = 3.0
    decode_timestep: float = 0.05  # only for VAEs with timestep conditioning (LTX 0.9.1+)
    decode_noise_scale: float = 0.025


class ModelConfig(_Strict):
    preset: str = "custom"
    vlm: VLMConfig = VLMConfig()
    connector: ConnectorConfig = ConnectorConfig()
    generator: GeneratorConfig = GeneratorConfig()
    sampling: SamplingConfig = SamplingConfig()


def _tiny() -> dict:
    return {
        "preset": "tiny",
        "vlm": {
            "arch": "tiny",
            "max_tokens": 256,
            # Tiny clips (9 frames at 8 fps): 4 frames at 112x112 -> 2 x 4 x 4 = 32 video tokens, fine enough for
            # the VLM to read where a 14-pixel ball is.
            "video": {"fps": 4.0, "min_frames": 4, "max_frames": 16, "min_tokens_per_frame": 16,
                      "max_tokens_per_frame": 16},
        },
        # The tiny DiT is trained from scratch: there is no T5 output scale to match, and the paper's 0.01 only
        # slows the start (T2V validation loss after 1000 steps: 0.357 with 0.01 and lr 5e-4, 0.302 with 1.0, 1e-3).
        "connector": {"num_queries": 16, "num_heads": 4, "scale_init": 1.0},
        "generator": {"arch": "tiny", "num_frames": 9, "height": 64, "width": 64, "fps": 8.0},
        "sampling": {"steps": 10, "guidance": 3.0},
    }


def _paper() -> dict:
    # The paper: Qwen2.5-VL-7B frozen, 256 queries, max 1024 tokens, LTX-Video; RL at 480x832x65, 20 steps, CFG 3.
    return {
        "preset": "paper",
        "vlm": {"arch": "qwen2.5-vl-7b", "dtype": "bfloat16", "max_tokens": 1024},
        "connector": {"num_queries": 256, "type": "mlp"},
        "generator": {"arch": "ltx-video-2b", "dtype": "bfloat16", "num_frames": 65, "height": 480, "width": 832,
                      "fps": 24.0},
        "sampling": {"steps": 20, "guidance": 3.0},
    }


PRESETS = {"tiny": _tiny, "paper": _paper}


def format_validation_error(err: ValidationError, source: str) -> str:
    """The first problem of a pydantic validation as one line: `source: dotted.key: what is wrong`."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    return f"{source}: {where}: {msg}"


def validate_config(data: dict, source: str = "config") -> ModelConfig:
    try:
        return ModelConfig.model_validate(data)
    except ValidationError as err:
        raise NSPError(format_validation_error(err, source)) from None


class Whole(dict):
    """A mapping written whole in an override (`rl.rewards={judge: 1.0}`): it replaces the mapping there instead of
    being merged into it, so that what is written is what runs; `rl.rewards.judge=1.0` changes one entry."""


def parse_overrides(items: list[str]) -> dict:
    """`["vlm.path=/m/qwen", "sampling.steps=8"]` -> nested dict, values typed by YAML (8 -> int, null -> None); a
    value written as a mapping is a `Whole`."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise NSPError(f"override {item!r}: expected key=value (for example sampling.steps=8)")
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise NSPError(f"override {item!r}: {part} is set twice")
        node[parts[-1]] = Whole(value) if isinstance(value, dict) else value
    return out


def deep_merge(base: dict, update: dict) -> dict:
    merged = dict(base)
    for k, v in update.items():
        if isinstance(v, Whole):
            merged[k] = dict(v)
        else:
            merged[k] = deep_merge(merged[k], v) if isinstance(v, dict) and isinstance(merged.get(k), dict) else v
    return merged


def as_patch(changes: list[str] | dict | None) -> dict:
    """A change to a model config as a nested dict: from `key=value` strings (the command line) or already one (a
    training config's `model.patch`)."""
    return dict(changes) if isinstance(changes, dict) else parse_overrides(changes or [])


def preset_config(name: str, changes: list[str] | dict | None = None) -> ModelConfig:
    if name not in PRESETS:
        raise NSPError(f"--preset {name!r}: unknown preset (choose from {', '.join(PRESETS)})")
    return validate_config(deep_merge(PRESETS[name](), as_patch(changes)), f"preset {name}")
