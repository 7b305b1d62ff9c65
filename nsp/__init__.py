"""nsp: Next Scene Prediction with a unified video model (Qwen2.5-VL + latent queries + connector + LTX-Video).

Kept light on purpose: `import nsp` (and `nsp --help`) must not pull in torch, transformers or diffusers.
Heavy classes are importable lazily: `from nsp import NSPModel, NSPPipeline`."""

import logging
import os

__version__ = "0.1.0"

# No code path downloads anything: weights come only from local directories.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_var, "1")
# DeepSpeed (imported by transformers when present) warns about accelerator detection on CPU-only machines.
if not os.path.exists("/dev/nvidiactl"):
    os.environ.setdefault("DS_ACCELERATOR", "cpu")
# bitsandbytes warns at import that an optional kernels package (which would download at run time) is absent.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

_LAZY = {"NSPModel": "nsp.model", "NSPPipeline": "nsp.pipeline", "ModelConfig": "nsp.config",
         "preset_config": "nsp.config"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nsp' has no attribute {name!r}")
