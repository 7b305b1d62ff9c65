"""The training stages, imported as `nsp.stages`: the tiny VAE's pre-step, T2V pretraining, SFT (and RL).

They share one training engine (`nsp.stages.engine.Trainer`); a stage differs only in its data, its trainable set
and its loss or rollout (`nsp.stages.base.Stage`). Example configs live in `stages/configs/`."""


class _Registry(dict):
    """Stage classes by name, imported on first use (keeps `import nsp.stages` light)."""

    _where = {"vae": ("nsp.stages.vae", "VAEStage"), "vlm": ("nsp.stages.vlm", "VLMStage"),
              "t2v": ("nsp.stages.t2v", "T2VStage"),
              "sft": ("nsp.stages.sft", "SFTStage"), "rl": ("nsp.stages.rl", "RLStage")}

    def __missing__(self, name):
        import importlib

        module, cls = self._where[name]
        self[name] = getattr(importlib.import_module(module), cls)
        return self[name]


STAGES = _Registry()
