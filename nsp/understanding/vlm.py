"""Building or loading the frozen VLM (transformers Qwen2.5-VL) and its tokenizer.

Real weights come only from a local snapshot directory (`VLMConfig.path`); with no path, `arch` names an
architecture that is built with random weights (tiny for tests and the demo, real shapes for benchmarks)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from nsp.config import VLMConfig
from nsp.errors import NSPError
from nsp.runtime import DTYPES
from nsp.understanding.tokenizer import build_tiny_tokenizer
from nsp.video.qwen_input import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, VisionSpec


# Architectures for random initialisation, per family. Token ids are filled in from the tokenizer.
VLM_ARCHS: dict[str, dict[str, dict]] = {
    "qwen2_5_vl": {
        "tiny": {
            "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                            "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 4096,
                            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                                "mrope_section": [2, 3, 3]}},
            "vision_config": {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                              "out_hidden_size": 64, "patch_size": 14, "temporal_patch_size": 2,
                              "spatial_merge_size": 2, "window_size": 56, "fullatt_block_indexes": [1],
                              "tokens_per_second": 2},
        },
        # Qwen2.5-VL-7B-Instruct's shapes (random weights: benchmarks at real size without a download).
        "qwen2.5-vl-7b": {
            "text_config": {"hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                            "num_attention_heads": 28, "num_key_value_heads": 4, "max_position_embeddings": 128000,
                            "rms_norm_eps": 1e-6,
                            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0,
                                                "mrope_section": [16, 24, 24]}},
            "vision_config": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                              "out_hidden_size": 3584, "patch_size": 14, "temporal_patch_size": 2,
                              "spatial_merge_size": 2, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31],
                              "tokens_per_second": 2},
            "vocab_size": 152064,
        },
    },
    "qwen3_vl": {
        "tiny": {
            "text_config": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                            "max_position_embeddings": 4096,
                            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0,
                                                "mrope_section": [2, 3, 3], "mrope_interleaved": True}},
            "vision_config": {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                              "out_hidden_size": 64, "patch_size": 16, "temporal_patch_size": 2,
                              "spatial_merge_size": 2, "num_position_embeddings": 64,
                              "deepstack_visual_indexes": [0]},
        },
        # Qwen3-VL-8B-Instruct's shapes.
        "qwen3-vl-8b": {
            "text_config": {"hidden_size": 4096, "intermediate_size": 12288, "num_hidden_layers": 36,
                            "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 128,
                            "max_position_embeddings": 262144,
                            "rope_parameters": {"rope_type": "default", "rope_theta": 5000000.0,
                                                "mrope_section": [24, 20, 20], "mrope_interleaved": True}},
            "vision_config": {"depth": 27, "hidden_size": 1152, "intermediate_size": 4304, "num_heads": 16,
                              "out_hidden_size": 4096, "patch_size": 16, "temporal_patch_size": 2,
                              "spatial_merge_size": 2, "num_position_embeddings": 2304,
                              "deepstack_visual_indexes": [8, 16, 24]},
            "vocab_size": 151936,
        },
    },
}
# Pixel normalisation per family when a snapshot carries no preprocessor_config.json.
FAMILY_NORMALISATION = {"qwen2_5_vl": (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD), "qwen3_vl": ((0.5,) * 3, (0.5,) * 3)}


def _require_dir(path: str, what: str) -> Path:
    from nsp.local_models import resolve_local

    p = resolve_local(path, what)
    if not (p / "config.json").is_file():
        raise NSPError(f"{what}={path}: no config.json (expected a Hugging Face snapshot directory)")
    return p


def vlm_classes(family: str):
    if family == "qwen2_5_vl":
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

        return Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    return Qwen3VLConfig, Qwen3VLForConditionalGeneration


def build_vlm(cfg: VLMConfig):
    """(model, tokenizer, vision spec) for the configured VLM; the model is frozen and in eval mode."""
    if cfg.path:
        model, tokenizer, spec = _load_vlm(cfg)
    else:
        model, tokenizer, spec = _random_vlm(cfg)
    model.requires_grad_(False).eval()
    return model, tokenizer, spec


def _random_vlm(cfg: VLMConfig):
    archs = VLM_ARCHS[cfg.family]
    if cfg.arch not in archs:
        raise NSPError(f"vlm.arch={cfg.arch}: unknown {cfg.family} architecture (choose from {', '.join(archs)})")
    config_cls, model_cls = vlm_classes(cfg.family)
    tokenizer = build_tiny_tokenizer()
    arch = archs[cfg.arch]
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in [
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>")]}
    text = dict(arch["text_config"], vocab_size=arch.get("vocab_size", len(tokenizer)),
                bos_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id)
    vision = dict(arch["vision_config"])
    if cfg.depth:  # the first `depth` layers; the blocks named by index must be among them
        text["num_hidden_layers"] = min(cfg.depth, text["num_hidden_layers"])
        vision["depth"] = min(cfg.depth, vision["depth"])
        for key in ("fullatt_block_indexes", "deepstack_visual_indexes"):
            if key in vision:
                vision[key] = [i for i in vision[key] if i < vision["depth"]] or [vision["depth"] - 1]
    config = config_cls(text_config=text, vision_config=vision, **ids)
    config._attn_implementation = cfg.attn_implementation
    model = model_cls._from_config(config, dtype=DTYPES[cfg.dtype])  # built in its dtype: no fp32 copy first
    return model, tokenizer, vision_spec(model.config, cfg.family)


def _load_vlm(cfg: VLMConfig):
    from transformers import AutoTokenizer

    path = _require_dir(cfg.path, "vlm.path")
    _, model_cls = vlm_classes(cfg.family)
    kwargs: dict = {"dtype": DTYPES[cfg.dtype], "local_files_only": True, "attn_implementation": cfg.attn_implementation}
    if cfg.quantization != "none":
        import warnings

        from transformers import BitsAndBytesConfig

        warnings.filterwarnings("ignore", message="MatMul8bitLt: inputs will be cast")  # once per layer, per call

        # The vision tower and lm_head stay in full precision (bitsandbytes on CPU cannot handle them well).
        skip = ["visual", "lm_head"]
        kwargs["quantization_config"] = (
            BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip) if cfg.quantization == "8bit"
            else BitsAndBytesConfig(load_in_4bit=True, llm_int8_skip_modules=skip,
                                    bnb_4bit_compute_dtype=DTYPES[cfg.dtype]))
    try:
        model = model_cls.from_pretrained(str(path), **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, RuntimeError, pickle.UnpicklingError) as err:  # refused pickles among them
        raise NSPError(f"vlm.path={cfg.path}: could not load ({str(err).splitlines()[0][:200]})") from None
    return model, tokenizer, vision_spec(model.config, cfg.family, path)


def vision_spec(config, family: str, path: Path | None = None) -> VisionSpec:
    vc = config.vision_config
    mean, std = FAMILY_NORMALISATION[family]
    pre = path / "preprocessor_config.json" if path else None
    if pre is not None and pre.is_file():
        data = json.loads(pre.read_text())
        mean, std = tuple(data.get("image_mean", mean)), tuple(data.get("image_std", std))
    return VisionSpec(patch_size=vc.patch_size, temporal_patch_size=vc.temporal_patch_size,
                      merge_size=vc.spatial_merge_size, image_mean=mean, image_std=std)
