"""The paper's connector: Linear -> SiLU -> Linear -> RMSNorm (weight sqrt(5.5)) -> learnable scale (0.01)."""

from torch import nn

from nsp.connectors.registry import register
from nsp.connectors.norm import OutputScale


@register("mlp")
class MLPConnector(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int | None = None, norm_init: float = 5.5**0.5,
                 scale_init: float = 0.01):
        super().__init__()
        hidden_dim = hidden_dim or out_dim
        self.fc1 = nn.Linear(in_dim, hidden_dim)
        self.act = nn.SiLU()
        self.fc2 = nn.Linear(hidden_dim, out_dim)
        self.out = OutputScale(out_dim, norm_init, scale_init)

    @classmethod
    def from_config(cls, cfg, in_dim: int, out_dim: int) -> "MLPConnector":
        return cls(in_dim, out_dim, cfg.hidden_size, cfg.norm_init, cfg.scale_init)

    def forward(self, x):
        return self.out(self.fc2(self.act(self.fc1(x))))
