"""The connectors' output normalisation: RMSNorm with weight initialised to sqrt(5.5), times a learnable scalar
initialised to 0.01 (the paper's design)."""

import math

import torch
from torch import nn


class OutputScale(nn.Module):
    def __init__(self, dim: int, norm_init: float = math.sqrt(5.5), scale_init: float = 0.01, eps: float = 1e-6):
        super().__init__()
        self.norm = nn.RMSNorm(dim, eps=eps)
        nn.init.constant_(self.norm.weight, norm_init)
        self.scale = nn.Parameter(torch.full((1,), float(scale_init)))  # 1-d: DeepSpeed cannot broadcast 0-d params

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.scale
