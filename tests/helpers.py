"""Shared test helpers (imported by the tests; not a test module)."""
import torch
import torch.nn as nn


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0, scale: float = 1.0) -> nn.Module:
    """Give every parameter a non-trivial value, so that parity tests exercise all of them
    (layerscale 1e-4, LayerNorm 1/0 and zero biases would hide mistakes)."""
    gen = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        noise = torch.randn(p.shape, generator=gen)
        if 'gamma' in name:
            p.copy_(0.5 + 0.25 * noise.abs())
        elif p.dim() == 1 and ('norm' in name or name.endswith('.ln.weight')) and name.endswith('weight'):
            p.copy_(1 + 0.2 * noise)
        elif p.dim() == 1:
            p.copy_(0.05 * noise)
        else:
            fan_in = p[0].numel()
            p.copy_(scale * noise / fan_in ** 0.5)
    return model


def num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
