"""Binarized layers and the paper's MLP, in torch (CPU).

- Weights: real-valued latent weights, clipped to [-1, 1]; the forward pass uses their sign
  (>= 0 -> +1, as the hardware's bit 1), the backward pass the straight-through estimator.
- Activations: sign with the hardtanh STE (gradient passes where |x| <= 1), after batch-norm.
- Error-aware training (Hirtzlin et al. 2019, seed 002): during training each binarized weight
  is flipped with probability ``flip_ber``, so the network learns to live with device errors.
- Output layer: binarized weights, no batch-norm; its logits are the popcount-equivalent sums
  ``a = 2*popcount - I`` times one positive learned scale, so argmax(logits) == argmax(popcount)
  and the hardware's output layer only needs popcounts.
"""

from __future__ import annotations

import torch
from torch import nn


def sign(x: torch.Tensor) -> torch.Tensor:
    """+1 where x >= 0, else -1 (the hardware convention: sign(0) = +1)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


class SignSTE(torch.autograd.Function):
    """sign in the forward pass, hardtanh's gradient (1 inside [-1, 1]) in the backward pass."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return sign(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


class BinaryLinear(nn.Linear):
    """Linear layer with binarized weights (and optional training-time weight flips)."""

    def __init__(self, in_features: int, out_features: int, flip_ber: float = 0.0):
        super().__init__(in_features, out_features, bias=False)
        if not 0.0 <= flip_ber <= 1.0:
            raise ValueError(f"flip_ber must be in [0, 1], not {flip_ber}")
        self.flip_ber = flip_ber

    def binary_weight(self) -> torch.Tensor:
        return SignSTE.apply(self.weight)

    def forward(self, x):
        w = self.binary_weight()
        if self.training and self.flip_ber > 0:
            flips = torch.rand_like(w) < self.flip_ber
            w = torch.where(flips, -w, w)
        return nn.functional.linear(x, w)

    @torch.no_grad()
    def clip_(self):
        self.weight.clamp_(-1.0, 1.0)


class BinaryMLP(nn.Module):
    """``sizes`` = [inputs, hidden..., classes], e.g. the paper's [784, 1024, 1024, 10].

    Inputs are ±1 (binarized pixels). Hidden layers: BinaryLinear -> BatchNorm1d -> sign.
    """

    def __init__(self, sizes, flip_ber: float = 0.0, dropout: float = 0.0):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least inputs and outputs, all positive, not {sizes}")
        self.sizes = sizes
        self.hidden = nn.ModuleList(BinaryLinear(a, b, flip_ber) for a, b in zip(sizes[:-2], sizes[1:-1]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in sizes[1:-1])
        self.out = BinaryLinear(sizes[-2], sizes[-1], flip_ber)
        self.log_scale = nn.Parameter(torch.tensor(0.0))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x):
        for lin, bn in zip(self.hidden, self.norms):
            x = SignSTE.apply(bn(lin(self.dropout(x))))
        return self.out(x) * (self.log_scale.exp() / self.sizes[-2] ** 0.5)

    def set_flip_ber(self, ber: float):
        for lin in [*self.hidden, self.out]:
            lin.flip_ber = ber

    def clip_(self):
        for lin in [*self.hidden, self.out]:
            lin.clip_()
