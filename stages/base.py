"""What a stage is: its data, its trainable set and its loss. The engine (stages/engine.py) does everything else."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nsp.model import NSPModel


class Stage:
    """The engine's contract with a stage: everything the engine calls is a method here, with its default.

    Per phase: `set_trainable`, then `module` (what DeepSpeed wraps), `micro_steps` (batches per optimizer step),
    `train_batches` (resumed at a data position) and, per batch, `loss`. Per validation: `val_batches` (fixed, made
    once), the mean `loss` over them where `has_val_loss`, `val_metrics`, and now and then `contact_sheet`. At every
    checkpoint `data_position` (what `train_batches` resumes from); once at the end `finish`."""

    name = "stage"
    has_val_loss = True  # False where the loss is not a validation measure (RL: a policy-gradient surrogate)
    # Where the model's parameters sit in `module()`'s state dict, as (prefix there, prefix in the model's):
    # `nsp export` maps a training checkpoint's weights back through it.
    state_prefix = ("", "")

    def __init__(self, cfg, model: NSPModel, rank: int = 0, world_size: int = 1):
        self.cfg, self.model, self.rank, self.world_size = cfg, model, rank, world_size
        self.stream = None  # the ShardStream feeding training; its `position` is the data position

    def module(self) -> nn.Module:
        """What DeepSpeed wraps and trains (its forward must compute the loss)."""
        return self.model

    def set_trainable(self, phase) -> None:
        self.model.set_trainable(list(phase.trainable))

    def micro_steps(self) -> int | None:
        """Batches per optimizer step (None: the run's optim.grad_accum)."""
        return None

    def train_batches(self, phase, rng: np.random.Generator, skip: int):
        """Endless training batches, starting `skip` samples into the data (resuming)."""
        raise NotImplementedError

    def data_position(self) -> int:
        """How far into the training data this stage has read: saved with each checkpoint, `skip` on resuming."""
        return self.stream.position if self.stream is not None else 0

    def val_batches(self) -> list:
        raise NotImplementedError

    def loss(self, engine, batch, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def val_metrics(self, batches: list) -> dict:
        """Validation measures besides the loss (e.g. RL's reward on validation contexts)."""
        return {}

    def contact_sheet(self, batches: list) -> np.ndarray | None:
        """A PNG-able image of samples on validation contexts (rows: context | prediction | real), or None."""
        return None

    def finish(self) -> None:
        """Called once after the last step, before the final checkpoint is written."""
