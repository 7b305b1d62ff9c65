"""A small transformer-encoder connector (MetaQuery style): the queries attend to each other before projection."""

from torch import nn

from nsp.connectors.registry import register
from nsp.connectors.norm import OutputScale


@register("transformer")
class TransformerConnector(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int | None = None, num_layers: int = 2,
                 num_heads: int = 8, norm_init: float = 5.5**0.5, scale_init: float = 0.01):
        super().__init__()
        hidden_dim = hidden_dim or min(out_dim, 1024)
        if hidden_dim % num_heads:
            raise ValueError(f"connector hidden size {hidden_dim} is not divisible by num_heads={num_heads}")
        self.proj_in = nn.Linear(in_dim, hidden_dim)
        layer = nn.TransformerEncoderLayer(hidden_dim, num_heads, dim_feedforward=4 * hidden_dim, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.proj_out = nn.Linear(hidden_dim, out_dim)
        self.out = OutputScale(out_dim, norm_init, scale_init)

    @classmethod
    def from_config(cls, cfg, in_dim: int, out_dim: int) -> "TransformerConnector":
        return cls(in_dim, out_dim, cfg.hidden_size, cfg.num_layers, cfg.num_heads, cfg.norm_init, cfg.scale_init)

    def forward(self, x):
        return self.out(self.proj_out(self.encoder(self.proj_in(x))))
