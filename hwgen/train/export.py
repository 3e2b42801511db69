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

Ternary layers (:func:`fold_batchnorm_ternary`) threshold the score ``a = sum(t(w_i) x_i)`` itself
(an integer in ``[-n, n]`` with the parity of the neuron's ``n`` non-zero weights):

- gamma > 0: ``a >= c``  <=>  ``score >= T = ceil(c)``;
- gamma < 0: ``a <= c``; the neuron's weights are negated (``-t(w)``, so the score is ``-a``) and
  ``T = ceil(-c)``;
- gamma == 0: ``T = -I`` (always +1) if beta >= 0, else ``I + 1`` (never).

A score within rounding of ``c`` (an exact tie) goes the way torch's float64 batch-norm sends it:
the fold checks ``T - 1``, ``T``, ``T + 1`` with torch's own eval batch-norm and keeps the smallest
that gives >= 0 (:func:`fold_batchnorm_ternary`).

``T`` is exact for every integer score, not only those of the neuron's parity and range, so it
stays the batch-norm's decision when device errors change the score (a 0 read as ±1 changes
its parity); clipping to ``[-I, I + 1]`` (the IR's range) keeps that for every score a layer
of ``I`` inputs can give. The ternary weights are the model's own ``t(w)``
(:meth:`hwgen.train.model._Ternary.ternary_values`, computed in float64 whatever the model's
dtype), so the IR holds exactly the weights torch evaluates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..errors import ModelFileError
from ..files import atomic_write
from ..ir import Layer, Network, chw_to_hwc  # noqa: F401  (chw_to_hwc: its home is the IR)
from .model import BinaryConvNet, BinaryMLP, is_ternary_layer, ternarize


def weight_bits(lin) -> np.ndarray:
    """{0,1} bits of a BinaryLinear's binarized weights (bit 1 = +1, i.e. latent >= 0)."""
    return (lin.weight.detach().to(torch.float64).numpy() >= 0).astype(np.uint8)


def fold_batchnorm(bits: np.ndarray, bn) -> tuple[np.ndarray, np.ndarray]:
    """(weight bits ``(O, I)``, BatchNorm1d/2d over the ``O`` outputs) -> (weight bits with gamma<0
    rows flipped, integer thresholds on the popcount). A binary neuron's score is
    ``a = 2 popcount - I``, a ternary score with no zeros, so the threshold on it comes from
    :func:`fold_batchnorm_ternary`, which settles exact ties (an integer mean and beta = 0) as
    torch's float64 eval batch-norm does; ``a >= T`` is ``popcount >= ceil((T + I) / 2)``."""
    n_in = bits.shape[1]
    values, t_score = fold_batchnorm_ternary(np.asarray(bits, dtype=np.int8) * 2 - 1, bn)
    thresholds = -((-(t_score + n_in)) // 2)           # ceil((T + I) / 2)
    return (values > 0).astype(np.uint8), np.clip(thresholds, 0, n_in + 1).astype(np.int64)


def fold_batchnorm_ternary(values: np.ndarray, bn) -> tuple[np.ndarray, np.ndarray]:
    """(ternary weights ``(O, I)`` of -1, 0, +1, BatchNorm1d/2d over the ``O`` outputs) ->
    (weights with gamma < 0 rows negated, integer thresholds on the score in ``[-I, I + 1]``).

    ``ceil(c)`` is the threshold in exact arithmetic; torch evaluates the batch-norm as
    ``a * alpha + (beta - mu * alpha)`` in float64, which at a score within rounding of ``c``
    (an exact tie ``a == c`` happens, e.g. beta = 0 and an integer mean) can land on either side
    of 0. So the threshold is settled by torch's own float64 eval batch-norm at the scores next
    to ``ceil(c)``: it is monotonic in the score (each rounded step is), so the smallest score it
    maps to >= 0 is the exact threshold."""
    n_in = values.shape[1]
    f64 = {name: getattr(bn, name).detach().to(torch.float64)
           for name in ("weight", "bias", "running_mean", "running_var")}
    gamma, beta, mu = (f64[name].numpy() for name in ("weight", "bias", "running_mean"))
    s = np.sqrt(f64["running_var"].numpy() + bn.eps)
    values = np.array(values, dtype=np.int8)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = mu - beta * s / gamma
    pos, neg, zero = gamma > 0, gamma < 0, gamma == 0
    # the threshold on the (negated, for gamma < 0) score in exact arithmetic, kept in [-I - 1, I + 2]
    # so the candidates below stay small integers
    start = np.zeros(len(gamma))
    start[pos] = np.ceil(c[pos])
    start[neg] = np.ceil(-c[neg])
    start = np.clip(start, -n_in - 1, n_in + 2).astype(np.int64)
    side = np.where(neg, -1, 1)
    candidates = start[None, :] + np.arange(-1, 2)[:, None]                # (3, O) scores on the kept side
    with torch.no_grad():
        out = torch.nn.functional.batch_norm(torch.from_numpy((candidates * side).astype(np.float64)),
                                             f64["running_mean"], f64["running_var"], f64["weight"], f64["bias"],
                                             training=False, eps=bn.eps)
    fires = (out >= 0).numpy()
    if not np.all(fires[1:] >= fires[:-1]):     # cannot happen: every rounded step is monotonic
        raise ArithmeticError("batch-norm is not monotonic in the score near its threshold")
    first = np.argmax(fires, axis=0)            # the smallest candidate that fires
    thresholds = np.where(fires.any(axis=0), candidates[first, np.arange(len(gamma))], start + 2)
    thresholds = np.clip(thresholds, -n_in, n_in + 1)
    values[neg] = -values[neg]
    thresholds[zero] = np.where(beta[zero] >= 0, -n_in, n_in + 1)
    return values, thresholds.astype(np.int64)


def _ir_order(w: torch.Tensor) -> torch.Tensor:
    """Torch weights ``(O, I)``, ``(C_out, C_in, kh, kw)`` or ``(C_out, C_in, k)`` as the IR's ``(O, I)``
    rows, conv patches in ``(ky, kx, c)`` order."""
    if w.ndim == 4:
        w = w.permute(0, 2, 3, 1)
    elif w.ndim == 3:
        w = w.permute(0, 2, 1)
    return w.reshape(len(w), -1)


def ternary_values(layer) -> np.ndarray:
    """int8 ``(O, I)`` -1, 0, +1 of a ternary linear or conv layer's ``t(w)``, in the IR's order."""
    return _ir_order(layer.ternary_values()).numpy().astype(np.int8)


def is_ternary(model) -> bool:
    return getattr(model, "weight_kind", "binary") == "ternary"


def conv_weight_bits(conv) -> np.ndarray:
    """{0,1} bits ``(C_out, taps*C_in)`` of a BinaryConv2d/1d in the IR's patch order ``(ky, kx, c)``."""
    w = conv.weight.detach().to(torch.float64)
    w = w.permute(0, 2, 3, 1) if w.ndim == 4 else w.permute(0, 2, 1)
    return (w.reshape(len(w), -1).numpy() >= 0).astype(np.uint8)


def export_network(model, metadata: dict | None = None) -> Network:
    """The IR of a trained :class:`BinaryMLP` or :class:`BinaryConvNet` (eval-mode semantics);
    each layer binary or ternary as the model's layer is (a mixed model's first layer binary)."""
    if isinstance(model, BinaryConvNet):
        return export_conv_network(model, metadata)
    layers = []
    for k, (lin, bn) in enumerate(zip(model.hidden, model.norms)):
        fold, matrix, make = _layer_export(lin)
        values, thresholds = fold(matrix(lin), bn)
        layers.append(make(values, thresholds, output="sign", name=f"fc{k + 1}"))
    _, matrix, make = _layer_export(model.out)
    out = matrix(model.out)
    layers.append(make(out, np.zeros(len(out), dtype=np.int64), output="popcount", name=f"fc{len(layers) + 1}"))
    return Network(layers=layers, metadata=dict(metadata or {}))


def _layer_export(layer, conv: bool = False):
    """``(batch-norm fold, weight matrix in the IR's order, Layer constructor)`` of a binary or
    ternary linear (or, ``conv``, conv) layer."""
    if is_ternary_layer(layer):
        return fold_batchnorm_ternary, ternary_values, Layer.from_ternary
    return fold_batchnorm, conv_weight_bits if conv else weight_bits, Layer.from_bits


def export_conv_network(model: BinaryConvNet, metadata: dict | None = None) -> Network:
    """Conv layers ``conv1..`` (pad_bit 0, max-pool fused), then dense ``fc1..``; the last is the
    popcount output layer (each binary or ternary as the model's layer)."""
    layers = []
    for k, (conv, bn, stage, (shape_in, _)) in enumerate(zip(model.convs, model.conv_norms, model.stages,
                                                               model.plan)):
        if model.order == "pool-bn" and bool((bn.weight < 0).any()):
            raise ValueError(f"conv stage {k + 1} has batch-norm gamma < 0 after its max-pool: that is a min-pool, "
                             f"which the hardware does not compute (pool-bn stages keep gamma at 1)")
        fold, conv_matrix, make = _layer_export(conv, conv=True)
        bits, thresholds = fold(conv_matrix(conv), bn)
        layers.append(make(bits, thresholds, output="sign", name=f"conv{k + 1}", kind=model.kind,
                           in_shape=tuple(shape_in), kernel=stage.kernel, stride=stage.stride,
                           padding=stage.padding, pad_bit=0, pool=stage.pool))
    perm = chw_to_hwc(model.plan[-1][1])
    dense = [*zip(model.hidden, model.norms), (model.out, None)]
    for k, (lin, bn) in enumerate(dense):
        fold, matrix, make = _layer_export(lin)
        bits = matrix(lin)
        if k == 0:
            bits = bits[:, perm]
        if bn is not None:
            bits, thresholds = fold(bits, bn)
            layers.append(make(bits, thresholds, output="sign", name=f"fc{k + 1}"))
        else:
            layers.append(make(bits, np.zeros(len(bits), dtype=np.int64), output="popcount", name=f"fc{k + 1}"))
    return Network(layers=layers, metadata=dict(metadata or {}))


def save_checkpoint(model, path, extra: dict | None = None) -> Path:
    """Save the model with binarized weights stored as int8 signs (all inference needs; a ternary
    model's as int8 -1, 0, +1, which ternarize to themselves). An MLP's checkpoint holds its
    ``sizes``; a conv net's holds ``arch`` (:meth:`BinaryConvNet.arch`) too; a ternary model's
    ``weights: "ternary"``."""
    path = Path(path)
    state = {}
    ternary = is_ternary(model)
    for key, value in model.state_dict().items():
        if key.endswith(".weight") and value.ndim >= 2:     # linear (2-D) and conv (3-D, 4-D) weights
            layer = model.get_submodule(key[:-len(".weight")])
            state[key] = (ternarize(value) if is_ternary_layer(layer) else torch.where(value >= 0, 1, -1)).to(torch.int8)
        else:
            state[key] = value.clone()
    ckpt = {"format": "hwgen-bnn-torch", "sizes": model.sizes, "state": state, "extra": extra or {}}
    if ternary:
        ckpt["weights"] = "ternary"
    if getattr(model, "first_weights", None):
        ckpt["first_weights"] = model.first_weights
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
        weights = ckpt.get("weights", "binary")
        first = ckpt.get("first_weights")
        if arch is None:
            model = BinaryMLP(ckpt["sizes"], weights=weights, first_weights=first)
        else:
            model = BinaryConvNet(arch["in_shape"], arch["stages"], arch["hidden"], arch["classes"], arch["kind"],
                                  order=arch["order"], weights=weights, first_weights=first)
        model.load_state_dict({k: v.float() if v.dtype == torch.int8 else v for k, v in ckpt["state"].items()})
    except ModelFileError:
        raise
    except Exception as e:  # torch raises many types for a bad file
        raise ModelFileError(f"{path} is corrupt or not an hwgen torch checkpoint: {e}") from e
    return model.eval()
