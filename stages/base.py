"""What a stage is: its data, its trainable set and its loss. The engine (stages/engine.py) does everything else."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nsp.model import NSPModel


class Stage:
    name = "stage"

    def __init__(self, cfg, model: NSPModel, rank: int = 0, world_size: int = 1):
        self.cfg, self.model, self.rank, self.world_size = cfg, model, rank, world_size
        self.stream = None  # the ShardStream feeding training; its `position` is saved for resuming

    def module(self) -> nn.Module:
        """What DeepSpeed wraps and trains (its forward must compute the loss)."""
        return self.model

    def set_trainable(self, phase) -> None:
        self.model.set_trainable(list(phase.trainable))

    def train_batches(self, phase, rng: np.random.Generator, skip: int):
        raise NotImplementedError

    def val_batches(self) -> list:
        raise NotImplementedError

    def loss(self, engine, batch, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def contact_sheet(self, batches: list) -> np.ndarray | None:
        """A PNG-able image of samples on validation contexts (rows: context | prediction | real), or None."""
        return None

    def finish(self) -> None:
        """Called once after the last step, before the final checkpoint is written."""
