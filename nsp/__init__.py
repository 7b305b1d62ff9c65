"""nsp: Next Scene Prediction with a unified video model (Qwen2.5-VL + latent queries + connector + LTX-Video).

Kept light on purpose: `import nsp` (and `nsp --help`) must not pull in torch, transformers or diffusers.
Heavy classes are importable lazily: `from nsp import NSPModel, NSPPipeline`."""

__version__ = "0.1.0"

_LAZY = {"NSPModel": "nsp.model", "NSPPipeline": "nsp.pipeline", "ModelConfig": "nsp.config",
         "preset_config": "nsp.config"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nsp' has no attribute {name!r}")
