"""Export a trained :class:`BinaryMLP` to the network IR, and the shipped torch checkpoint.

Batch-norm folds into an integer popcount threshold. For a hidden neuron with ``I`` inputs,
``a = sum(w_i x_i) = 2*popcount - I`` and the activation is ``BN(a) >= 0``, where
``BN(a) = gamma * (a - mu) / s + beta`` and ``s = sqrt(var + eps)``. With ``c = mu - beta*s/gamma``:

- gamma > 0: ``a >= c``  <=>  ``popcount >= ceil((c + I) / 2)``;
- gamma < 0: ``a <= c``; negating the neuron's weights gives ``a' = -a >= -c``, so the exported
  weights are flipped and ``T = ceil((I - c) / 2)``;
- gamma == 0: the neuron is constant: T = 0 (always +1) if beta >= 0, else I + 1 (never).

Thresholds are clipped to [0, I + 1], which keeps every outcome and fits the hardware's
threshold width. All of this is done in float64.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ModelFileError
from ..files import atomic_write
from ..ir import Layer, Network
from .model import BinaryMLP


def weight_bits(lin) -> np.ndarray:
    """{0,1} bits of a BinaryLinear's binarized weights (bit 1 = +1, i.e. latent >= 0)."""
    return (lin.weight.detach().to(torch.float64).numpy() >= 0).astype(np.uint8)


def fold_batchnorm(bits: np.ndarray, bn) -> tuple[np.ndarray, np.ndarray]:
    """(weight bits, BatchNorm1d) -> (weight bits with gamma<0 rows flipped, integer thresholds)."""
    n_in = bits.shape[1]
    gamma = bn.weight.detach().to(torch.float64).numpy()
    beta = bn.bias.detach().to(torch.float64).numpy()
    mu = bn.running_mean.detach().to(torch.float64).numpy()
    s = np.sqrt(bn.running_var.detach().to(torch.float64).numpy() + bn.eps)
    bits = bits.copy()
    thresholds = np.empty(len(gamma), dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = mu - beta * s / gamma
    pos, neg, zero = gamma > 0, gamma < 0, gamma == 0
    thresholds[pos] = np.ceil((c[pos] + n_in) / 2)
    thresholds[neg] = np.ceil((n_in - c[neg]) / 2)
    bits[neg] ^= 1
    thresholds[zero] = np.where(beta[zero] >= 0, 0, n_in + 1)
    return bits, np.clip(thresholds, 0, n_in + 1)


def export_network(model: BinaryMLP, metadata: dict | None = None) -> Network:
    layers = []
    for k, (lin, bn) in enumerate(zip(model.hidden, model.norms)):
        bits, thresholds = fold_batchnorm(weight_bits(lin), bn)
        layers.append(Layer.from_bits(bits, thresholds, output="sign", name=f"fc{k + 1}"))
    out_bits = weight_bits(model.out)
    layers.append(Layer.from_bits(out_bits, np.zeros(out_bits.shape[0], dtype=np.int64), output="popcount",
                                  name=f"fc{len(layers) + 1}"))
    return Network(layers=layers, metadata=dict(metadata or {}))


def save_checkpoint(model: BinaryMLP, path, extra: dict | None = None) -> Path:
    """Save the model with binarized weights stored as int8 signs (all inference needs)."""
    path = Path(path)
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith(".weight") and value.ndim == 2:
            state[key] = torch.where(value >= 0, 1, -1).to(torch.int8)
        else:
            state[key] = value.clone()
    return atomic_write(path, lambda f: torch.save({"format": "hwgen-bnn-torch", "sizes": model.sizes,
                                                    "state": state, "extra": extra or {}}, f))


def load_checkpoint(path) -> BinaryMLP:
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("format") != "hwgen-bnn-torch":
            raise ModelFileError(f"{path} is not an hwgen torch checkpoint")
        model = BinaryMLP(ckpt["sizes"])
        model.load_state_dict({k: v.float() if v.dtype == torch.int8 else v for k, v in ckpt["state"].items()})
    except ModelFileError:
        raise
    except Exception as e:  # torch raises many types for a bad file
        raise ModelFileError(f"{path} is corrupt or not an hwgen torch checkpoint: {e}") from e
    return model.eval()
