"""Export a trained :class:`BinaryMLP` or :class:`BinaryConvNet` to the network IR, and the
shipped torch checkpoint.

Batch-norm folds into an integer popcount threshold. For a hidden neuron with ``I`` inputs,
``a = sum(w_i x_i) = 2*popcount - I`` and the activation is ``BN(a) >= 0``, where
``BN(a) = gamma * (a - mu) / s + beta`` and ``s = sqrt(var + eps)``. With ``c = mu - beta*s/gamma``:

- gamma > 0: ``a >= c``  <=>  ``popcount >= ceil((c + I) / 2)``;
- gamma < 0: ``a <= c``; negating the neuron's weights gives ``a' = -a >= -c``, so the exported
  weights are flipped and ``T = ceil((I - c) / 2)``;
- gamma == 0: the neuron is constant: T = 0 (always +1) if beta >= 0, else I + 1 (never).

Thresholds are clipped to [0, I + 1], which keeps every outcome and fits the hardware's
threshold width. All of this is done in float64.

A conv layer is the same fold per output channel: its ``(O, I)`` matrix has one row per output
channel and the patch ``(ky, kx, c)`` in the IR's order (torch's ``(C_out, C_in, kh, kw)`` kernels
are permuted to ``(C_out, kh, kw, C_in)``), padded pixels are -1 (``pad_bit`` 0, as the model pads)
and the max-pool is fused into the layer. Before or after the pool, the batch-norm is monotonic in
the popcount once gamma < 0 channels are flipped, so the pooled activation is
``max(popcount) >= T`` either way; a stage that pools first must have gamma >= 0 (it keeps 1),
since after a max a negative gamma would make a min. Torch flattens the last feature map in (C, H, W) order,
the IR in (H, W, C): the first dense layer's columns are permuted accordingly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ModelFileError
from ..files import atomic_write
from ..ir import Layer, Network
from .model import BinaryConvNet, BinaryMLP


def weight_bits(lin) -> np.ndarray:
    """{0,1} bits of a BinaryLinear's binarized weights (bit 1 = +1, i.e. latent >= 0)."""
    return (lin.weight.detach().to(torch.float64).numpy() >= 0).astype(np.uint8)


def fold_batchnorm(bits: np.ndarray, bn) -> tuple[np.ndarray, np.ndarray]:
    """(weight bits ``(O, I)``, BatchNorm1d/2d over the ``O`` outputs) -> (weight bits with gamma<0
    rows flipped, integer thresholds)."""
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


def conv_weight_bits(conv) -> np.ndarray:
    """{0,1} bits ``(C_out, taps*C_in)`` of a BinaryConv2d/1d in the IR's patch order ``(ky, kx, c)``."""
    w = conv.weight.detach().to(torch.float64)
    w = w.permute(0, 2, 3, 1) if w.ndim == 4 else w.permute(0, 2, 1)
    return (w.reshape(len(w), -1).numpy() >= 0).astype(np.uint8)


def chw_to_hwc(shape) -> np.ndarray:
    """For a feature map of IR shape ``(H, W, C)`` (or ``(L, C)``): ``perm[i]`` is the torch (C, H, W)
    flatten index of IR (H, W, C) index ``i``, so ``torch_columns[:, perm]`` are the IR's columns."""
    *spatial, channels = (int(v) for v in shape)
    chw = np.arange(int(np.prod(shape))).reshape(channels, *spatial)
    return np.moveaxis(chw, 0, -1).ravel()


def export_network(model, metadata: dict | None = None) -> Network:
    """The IR of a trained :class:`BinaryMLP` or :class:`BinaryConvNet` (eval-mode semantics)."""
    if isinstance(model, BinaryConvNet):
        return export_conv_network(model, metadata)
    layers = []
    for k, (lin, bn) in enumerate(zip(model.hidden, model.norms)):
        bits, thresholds = fold_batchnorm(weight_bits(lin), bn)
        layers.append(Layer.from_bits(bits, thresholds, output="sign", name=f"fc{k + 1}"))
    out_bits = weight_bits(model.out)
    layers.append(Layer.from_bits(out_bits, np.zeros(out_bits.shape[0], dtype=np.int64), output="popcount",
                                  name=f"fc{len(layers) + 1}"))
    return Network(layers=layers, metadata=dict(metadata or {}))


def export_conv_network(model: BinaryConvNet, metadata: dict | None = None) -> Network:
    """Conv layers ``conv1..`` (pad_bit 0, max-pool fused), then dense ``fc1..``; the last is the
    popcount output layer."""
    layers = []
    for k, (conv, bn, stage, (shape_in, _)) in enumerate(zip(model.convs, model.conv_norms, model.stages,
                                                               model.plan)):
        if model.order == "pool-bn" and bool((bn.weight < 0).any()):
            raise ValueError(f"conv stage {k + 1} has batch-norm gamma < 0 after its max-pool: that is a min-pool, "
                             f"which the hardware does not compute (pool-bn stages keep gamma at 1)")
        bits, thresholds = fold_batchnorm(conv_weight_bits(conv), bn)
        layers.append(Layer.from_bits(bits, thresholds, output="sign", name=f"conv{k + 1}", kind=model.kind,
                                      in_shape=tuple(shape_in), kernel=stage.kernel, stride=stage.stride,
                                      padding=stage.padding, pad_bit=0, pool=stage.pool))
    perm = chw_to_hwc(model.plan[-1][1])
    dense = [*zip(model.hidden, model.norms), (model.out, None)]
    for k, (lin, bn) in enumerate(dense):
        bits = weight_bits(lin)
        if k == 0:
            bits = bits[:, perm]
        if bn is not None:
            bits, thresholds = fold_batchnorm(bits, bn)
            layers.append(Layer.from_bits(bits, thresholds, output="sign", name=f"fc{k + 1}"))
        else:
            layers.append(Layer.from_bits(bits, np.zeros(len(bits), dtype=np.int64), output="popcount",
                                          name=f"fc{k + 1}"))
    return Network(layers=layers, metadata=dict(metadata or {}))


def save_checkpoint(model, path, extra: dict | None = None) -> Path:
    """Save the model with binarized weights stored as int8 signs (all inference needs). An MLP's
    checkpoint holds its ``sizes``; a conv net's holds ``arch`` (:meth:`BinaryConvNet.arch`) too."""
    path = Path(path)
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith(".weight") and value.ndim >= 2:     # linear (2-D) and conv (3-D, 4-D) weights
            state[key] = torch.where(value >= 0, 1, -1).to(torch.int8)
        else:
            state[key] = value.clone()
    ckpt = {"format": "hwgen-bnn-torch", "sizes": model.sizes, "state": state, "extra": extra or {}}
    if isinstance(model, BinaryConvNet):
        ckpt["arch"] = model.arch()
    return atomic_write(path, lambda f: torch.save(ckpt, f))


def load_checkpoint(path):
    """A :class:`BinaryMLP` or :class:`BinaryConvNet` in eval mode, from :func:`save_checkpoint`."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(ckpt, dict) or ckpt.get("format") != "hwgen-bnn-torch":
            raise ModelFileError(f"{path} is not an hwgen torch checkpoint")
        arch = ckpt.get("arch")
        if arch is None:
            model = BinaryMLP(ckpt["sizes"])
        else:
            model = BinaryConvNet(arch["in_shape"], arch["stages"], arch["hidden"], arch["classes"], arch["kind"],
                                  order=arch["order"])
        model.load_state_dict({k: v.float() if v.dtype == torch.int8 else v for k, v in ckpt["state"].items()})
    except ModelFileError:
        raise
    except Exception as e:  # torch raises many types for a bad file
        raise ModelFileError(f"{path} is corrupt or not an hwgen torch checkpoint: {e}") from e
    return model.eval()
