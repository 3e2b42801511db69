"""Binarized layers, the paper's MLP and a small binarized conv net, in torch (CPU).

- Weights: real-valued latent weights, clipped to [-1, 1]; the forward pass uses their sign
  (>= 0 -> +1, as the hardware's bit 1), the backward pass the straight-through estimator.
- Activations: sign with the hardtanh STE (gradient passes where |x| <= 1), after batch-norm.
- Error-aware training (Hirtzlin et al. 2019, seed 002): during training each binarized weight
  is flipped with probability ``flip_ber``, so the network learns to live with device errors.
- Output layer: binarized weights, no batch-norm; its logits are the popcount-equivalent sums
  ``a = 2*popcount - I`` times one positive learned scale, so argmax(logits) == argmax(popcount)
  and the hardware's output layer only needs popcounts.
- Conv layers (:class:`BinaryConvNet`) follow the IR's conventions (:mod:`hwgen.ir`): padded pixels
  are -1 (the IR's ``pad_bit`` 0); each stage's batch-norm and max-pool fold into one threshold per
  output channel on the window's largest popcount, which the hardware computes exactly.
- Ternary weights (``weights="ternary"``; seed 004, Laborieux et al., "Ternarized neural networks"):
  the same latent weights, but the forward pass uses ``t(w) = sign(w)`` where ``|w| > delta`` and 0
  elsewhere, with the straight-through estimator of the binary layers. ``delta`` follows Li & Liu,
  "Ternary weight networks" (2016), ``delta = 0.7 * mean|w|``, taken per output neuron / output
  channel (:func:`ternary_delta`). Inputs and hidden activations stay ±1. Training-time errors
  (:func:`inject_ternary_errors`): a 0 read as ±1 (``zero_as_pm``), a ±1 read as 0 (``pm_as_zero``)
  and a sign flip (``flip_ber``), resampled at every forward pass in training mode.
- Mixed networks (``first_weights="binary"`` with ``weights="ternary"``): the first weighted layer
  (the first conv, or the first dense layer of an MLP) keeps binary weights, read by the binary
  PCSA at the nominal supply, and every other layer is ternary; its training-time flip rate is
  ``first_flip_ber`` (the binary read's, default ``flip_ber``). The first layer has the fewest
  weights and the most fragile ternary zeros (issue 26), and the hardware runs mixed networks as
  they are (each array takes its layer's weights mode).
"""

from __future__ import annotations

import operator
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F


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


WEIGHTS = ("binary", "ternary")
TERNARY_DELTA = 0.7        # Li & Liu 2016, "Ternary weight networks": delta* ~ 0.7 * E|W|


def ternary_delta(w: torch.Tensor) -> torch.Tensor:
    """The ternarization threshold of latent weights ``w`` (``(O, ...)``: linear ``(O, I)``, conv
    ``(C_out, C_in, k[, k])``): ``0.7 * mean|w|`` over each output neuron's (channel's) weights,
    the rule of Li & Liu, "Ternary weight networks" (arXiv:1605.04711, 2016), which derive
    ``delta* ~ 0.7 * E|W|`` for roughly uniform or normal weights (they take it per layer, here
    it is per output neuron, so no neuron's row is all zeros for being smaller than the rest).

    Returned as float64 ``(O, 1, ...)``, computed in float64 from the (exactly converted) weights,
    so a float32 model and its float64 copy (the export check's exact evaluation) ternarize every
    weight the same way, ties at ``|w| == delta`` included (they give 0)."""
    w64 = w.detach().to(torch.float64)
    return TERNARY_DELTA * w64.abs().reshape(len(w64), -1).mean(dim=1).reshape(-1, *([1] * (w.ndim - 1)))


def ternarize(w: torch.Tensor) -> torch.Tensor:
    """``t(w)``: sign(w) where ``|w| > delta`` (:func:`ternary_delta`), else 0; in ``w``'s dtype."""
    keep = w.detach().to(torch.float64).abs() > ternary_delta(w)
    return torch.where(keep, torch.where(w >= 0, 1.0, -1.0), 0.0).to(w.dtype)


class TernarySTE(torch.autograd.Function):
    """:func:`ternarize` in the forward pass; in the backward pass the straight-through estimator
    of :class:`SignSTE` (gradient 1 where ``|w| <= 1``, else 0). ``delta`` gets no gradient."""

    @staticmethod
    def forward(ctx, w):
        ctx.save_for_backward(w)
        return ternarize(w)

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        return grad * (w.abs() <= 1).to(grad.dtype)


def inject_ternary_errors(t: torch.Tensor, zero_as_pm: float = 0.0, pm_as_zero: float = 0.0,
                          sign_flip: float = 0.0) -> torch.Tensor:
    """Ternary weights ``t`` as a faulty array reads them, one fresh draw per call: a 0 reads as +1
    or -1 (equally likely) with probability ``zero_as_pm``; a ±1 reads as 0 with probability
    ``pm_as_zero`` and as its opposite with probability ``sign_flip`` (exclusive events, so
    ``pm_as_zero + sign_flip <= 1``). Gradients pass as through :func:`torch.where` (negated
    where the sign flipped, none where a constant was read)."""
    if pm_as_zero + sign_flip > 1.0:
        raise ValueError(f"pm_as_zero + sign_flip must be at most 1, not {pm_as_zero} + {sign_flip}")
    u = torch.rand_like(t)
    zero = t == 0
    as_pm = torch.where(u < zero_as_pm / 2, 1.0, -1.0).to(t.dtype)
    nonzero = torch.where(u < pm_as_zero, torch.zeros_like(t), torch.where(u < pm_as_zero + sign_flip, -t, t))
    return torch.where(zero, torch.where(u < zero_as_pm, as_pm, t), nonzero)


def _check_rate(name: str, value: float):
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], not {value}")


class _Ternary:
    """What the ternary layers share: ``t(w)`` with the STE, and training-time ternary errors
    (``flip_ber`` is the sign-flip rate of the non-zero weights)."""

    weight_kind = "ternary"

    def _setup_ternary(self, zero_as_pm: float, pm_as_zero: float):
        _check_rate("zero_as_pm", zero_as_pm)
        _check_rate("pm_as_zero", pm_as_zero)
        if pm_as_zero + self.flip_ber > 1.0:
            raise ValueError(f"pm_as_zero + flip_ber must be at most 1, not {pm_as_zero} + {self.flip_ber}")
        self.zero_as_pm = zero_as_pm
        self.pm_as_zero = pm_as_zero

    def ternary_weight(self) -> torch.Tensor:
        """``t(w)`` (with the STE), no errors."""
        return TernarySTE.apply(self.weight)

    def forward_weight(self) -> torch.Tensor:
        """The weights the forward pass uses: ``t(w)``, with fresh errors in training mode."""
        t = self.ternary_weight()
        if self.training and (self.zero_as_pm > 0 or self.pm_as_zero > 0 or self.flip_ber > 0):
            t = inject_ternary_errors(t, self.zero_as_pm, self.pm_as_zero, self.flip_ber)
        return t

    @torch.no_grad()
    def ternary_values(self) -> torch.Tensor:
        """``t(w)`` as float64 -1, 0, +1 in the weight's torch shape (what the export stores)."""
        return ternarize(self.weight.detach().to(torch.float64))


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


class TernaryLinear(_Ternary, BinaryLinear):
    """Linear layer with ternary weights ``t(w)`` (and optional training-time ternary errors)."""

    def __init__(self, in_features: int, out_features: int, flip_ber: float = 0.0, zero_as_pm: float = 0.0,
                 pm_as_zero: float = 0.0):
        BinaryLinear.__init__(self, in_features, out_features, flip_ber)
        self._setup_ternary(zero_as_pm, pm_as_zero)

    def forward(self, x):
        return nn.functional.linear(x, self.forward_weight())


def check_first_weights(weights: str, first_weights) -> str | None:
    """``first_weights`` normalised: None (the first layer as the others) or ``"binary"`` in a
    ternary model; anything else is refused."""
    if first_weights in (None, weights):
        return None
    if first_weights != "binary" or weights != "ternary":
        raise ValueError(f"first_weights {first_weights!r}: only a ternary model's first layer can be made binary")
    return first_weights


def _layer_makers(weights: str, first_weights, flip_ber: float, zero_as_pm: float, pm_as_zero: float,
                  first_flip_ber):
    """``(first layer's constructor, the other layers')`` of :func:`_linear` for a model whose first
    weighted layer may be binary (``first_weights``) at its own flip rate."""
    rest = _linear(weights, flip_ber, zero_as_pm, pm_as_zero)
    if check_first_weights(weights, first_weights) is None:
        return rest, rest
    first_ber = flip_ber if first_flip_ber is None else first_flip_ber
    return _linear("binary", first_ber, 0.0, 0.0), rest


def is_ternary_layer(layer) -> bool:
    """A ternary linear or conv layer (it has ``t(w)``); binary layers have sign weights only."""
    return hasattr(layer, "ternary_values")


def _linear(weights: str, flip_ber: float, zero_as_pm: float, pm_as_zero: float):
    """A constructor ``(in, out) -> layer`` for ``weights`` (binary layers take no ternary rates)."""
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {weights!r}")
    if weights == "binary":
        if zero_as_pm or pm_as_zero:
            raise ValueError("zero_as_pm and pm_as_zero are ternary error rates (weights='ternary')")
        return lambda a, b: BinaryLinear(a, b, flip_ber)
    return lambda a, b: TernaryLinear(a, b, flip_ber, zero_as_pm, pm_as_zero)


class _WeightKind:
    """``weight_kind`` and the training-time error rates of a model's weighted layers."""

    def weighted_layers(self) -> list:
        return [*getattr(self, "convs", []), *self.hidden, self.out]

    def set_ternary_flips(self, zero_as_pm: float, pm_as_zero: float):
        """Ternary models: set the training-time 0 -> ±1 and ±1 -> 0 rates of every layer."""
        if self.weight_kind != "ternary":
            raise ValueError("zero_as_pm and pm_as_zero are ternary error rates (weights='ternary')")
        for layer in self.weighted_layers():
            if is_ternary_layer(layer):         # a mixed model's binary first layer has no zeros
                layer._setup_ternary(zero_as_pm, pm_as_zero)


class BinaryMLP(_WeightKind, nn.Module):
    """``sizes`` = [inputs, hidden..., classes], e.g. the paper's [784, 1024, 1024, 10].

    Inputs are ±1 (binarized pixels). Hidden layers: BinaryLinear -> BatchNorm1d -> sign.
    ``weights="ternary"`` makes every layer a :class:`TernaryLinear` (``zero_as_pm``, ``pm_as_zero``:
    its training-time error rates besides the sign flips ``flip_ber``).
    """

    def __init__(self, sizes, flip_ber: float = 0.0, dropout: float = 0.0, weights: str = "binary",
                 zero_as_pm: float = 0.0, pm_as_zero: float = 0.0, first_weights: str | None = None,
                 first_flip_ber: float | None = None):
        super().__init__()
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least inputs and outputs, all positive, not {sizes}")
        self.sizes = sizes
        self.weight_kind = weights
        self.first_weights = check_first_weights(weights, first_weights)
        first, linear = _layer_makers(weights, first_weights, flip_ber, zero_as_pm, pm_as_zero, first_flip_ber)
        pairs = list(zip(sizes[:-1], sizes[1:]))
        self.hidden = nn.ModuleList((first if k == 0 else linear)(a, b) for k, (a, b) in enumerate(pairs[:-1]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in sizes[1:-1])
        self.out = (first if len(pairs) == 1 else linear)(sizes[-2], sizes[-1])
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


class _BinaryConv:
    """What the binarized conv layers share: sign weights (STE), training-time flips, -1 padding.

    ``padding`` is applied here with the value -1 (the IR's ``pad_bit`` 0), not by torch's conv,
    whose zero padding has no meaning in ±1 logic."""

    def _setup(self, padding: int, flip_ber: float):
        if not 0.0 <= flip_ber <= 1.0:
            raise ValueError(f"flip_ber must be in [0, 1], not {flip_ber}")
        self.pad = int(padding)
        self.flip_ber = flip_ber

    def binary_weight(self) -> torch.Tensor:
        w = SignSTE.apply(self.weight)
        if self.training and self.flip_ber > 0:
            flips = torch.rand_like(w) < self.flip_ber
            w = torch.where(flips, -w, w)
        return w

    @torch.no_grad()
    def clip_(self):
        self.weight.clamp_(-1.0, 1.0)


class BinaryConv2d(_BinaryConv, nn.Conv2d):
    """Square-kernel 2-D conv with binarized weights, padding with -1 (optional training-time flips)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0,
                 flip_ber: float = 0.0):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel, stride=stride, padding=0, bias=False)
        self._setup(padding, flip_ber)

    def forward(self, x):
        if self.pad:
            x = F.pad(x, (self.pad,) * 4, value=-1.0)
        return F.conv2d(x, self.binary_weight(), stride=self.stride)


class TernaryConv2d(_Ternary, BinaryConv2d):
    """:class:`BinaryConv2d` with ternary weights ``t(w)`` (and optional training-time ternary errors)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0,
                 flip_ber: float = 0.0, zero_as_pm: float = 0.0, pm_as_zero: float = 0.0):
        BinaryConv2d.__init__(self, in_channels, out_channels, kernel, stride, padding, flip_ber)
        self._setup_ternary(zero_as_pm, pm_as_zero)

    def forward(self, x):
        if self.pad:
            x = F.pad(x, (self.pad,) * 4, value=-1.0)
        return F.conv2d(x, self.forward_weight(), stride=self.stride)


class BinaryConv1d(_BinaryConv, nn.Conv1d):
    """1-D conv with binarized weights, padding with -1 (optional training-time flips)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0,
                 flip_ber: float = 0.0):
        nn.Conv1d.__init__(self, in_channels, out_channels, kernel, stride=stride, padding=0, bias=False)
        self._setup(padding, flip_ber)

    def forward(self, x):
        if self.pad:
            x = F.pad(x, (self.pad,) * 2, value=-1.0)
        return F.conv1d(x, self.binary_weight(), stride=self.stride)


class TernaryConv1d(_Ternary, BinaryConv1d):
    """:class:`BinaryConv1d` with ternary weights ``t(w)`` (and optional training-time ternary errors)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0,
                 flip_ber: float = 0.0, zero_as_pm: float = 0.0, pm_as_zero: float = 0.0):
        BinaryConv1d.__init__(self, in_channels, out_channels, kernel, stride, padding, flip_ber)
        self._setup_ternary(zero_as_pm, pm_as_zero)

    def forward(self, x):
        if self.pad:
            x = F.pad(x, (self.pad,) * 2, value=-1.0)
        return F.conv1d(x, self.forward_weight(), stride=self.stride)


@dataclass(frozen=True)
class ConvStage:
    """One conv stage: ``channels`` outputs, a square ``kernel``, ``stride``, ``padding`` (with -1)
    and a non-overlapping ``pool`` x ``pool`` max-pool (1 = none, floor mode)."""

    channels: int
    kernel: int = 3
    stride: int = 1
    padding: int = 1
    pool: int = 2

    @classmethod
    def of(cls, spec) -> "ConvStage":
        """A stage from a ConvStage, a dict of its fields, a channel count (the default 3x3 stage) or
        a sequence ``(channels[, kernel[, stride[, padding[, pool]]]])``."""
        if isinstance(spec, ConvStage):
            return spec
        if isinstance(spec, dict):
            return cls(**spec)
        if hasattr(spec, "__index__"):
            return cls(operator.index(spec))
        return cls(*(operator.index(v) for v in spec))

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """``64`` for the default 3x3/1/1/pool-2 stage, else ``channels:kernel:stride:padding:pool``."""
        if (self.kernel, self.stride, self.padding, self.pool) == (3, 1, 1, 2):
            return str(self.channels)
        return f"{self.channels}:{self.kernel}:{self.stride}:{self.padding}:{self.pool}"


MAX_CHANNELS = 1 << 16
CONV_ORDERS = ("pool-bn", "bn-pool")


def conv_plan(in_shape, stages, kind: str = "conv2d") -> list[tuple]:
    """Check a conv stack against the IR's limits; returns each stage's ``(in_shape, out_shape)``
    in HWC (``(L, C)`` for conv1d) order. Raises ValueError naming the stage that does not fit."""
    if kind not in ("conv2d", "conv1d"):
        raise ValueError(f"kind must be conv2d or conv1d, not {kind!r}")
    dims = 3 if kind == "conv2d" else 2
    shape = tuple(int(v) for v in in_shape)
    if len(shape) != dims or min(shape) < 1:
        raise ValueError(f"a {kind} net's input shape is {dims} positive sizes "
                         f"({'H, W, C' if dims == 3 else 'L, C'}), not {tuple(in_shape)}")
    plan = []
    for k, stage in enumerate(stages):
        st = ConvStage.of(stage)
        where = f"conv stage {k + 1} ({st.text()})"
        for name in ("channels", "kernel", "stride", "pool"):
            value, top = getattr(st, name), MAX_CHANNELS if name == "channels" else 64
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
                raise ValueError(f"{where}: {name} must be an integer in [1, {top}], not {value!r}")
        if not isinstance(st.padding, int) or not 0 <= st.padding < st.kernel:
            raise ValueError(f"{where}: padding must be in [0, kernel - 1] = [0, {st.kernel - 1}], not {st.padding!r}")
        spatial = shape[:-1]
        out = [(n + 2 * st.padding - st.kernel) // st.stride + 1 for n in spatial]
        if min(out) < 1:
            raise ValueError(f"{where}: a {st.kernel}-wide kernel with padding {st.padding} does not fit the "
                             f"{'x'.join(map(str, spatial))} input")
        pooled = [n // st.pool for n in out]
        if min(pooled) < 1:
            raise ValueError(f"{where}: pool {st.pool} is larger than the {'x'.join(map(str, out))} conv output")
        plan.append((shape, (*pooled, st.channels)))
        shape = (*pooled, st.channels)
    return plan


class BinaryConvNet(_WeightKind, nn.Module):
    """Binarized conv net: conv stages, then dense hidden layers, then a dense output layer.

    ``in_shape`` is the input feature map in the IR's order, ``(H, W, C)`` (``(L, C)`` for
    ``kind="conv1d"``); inputs arrive flat (``(B, H*W*C)`` ±1, as binarized images) and are
    reshaped. A conv stage (``order``) is

    - ``"pool-bn"`` (the default): BinaryConv (padding -1) -> max-pool -> BatchNorm -> sign, with
      the batch-norm's gamma fixed at 1 (its beta and statistics are learnt). The statistics and
      the sign's STE window are those of the pooled values that are thresholded, which trains
      better (measured: MNIST 20k images x 3 epochs, conv 32,64: 96.2% against 94.1%). It is
      exact in hardware because gamma > 0: ``sign(BN(max a)) = [max a >= c]``, the max of the
      popcounts against one threshold. (gamma < 0 would make it a min, which the hardware's OR
      of thresholded bits is not; a flipped kernel does what gamma < 0 would, so nothing is lost.)
    - ``"bn-pool"``: BinaryConv -> BatchNorm (gamma free) -> max-pool -> sign; exact for any
      gamma (for gamma < 0 the export flips the channel's kernel).

    After the last stage the map is flattened in torch's (C, H, W) order (the export permutes the
    first dense layer's columns to the IR's (H, W, C)). Dense hidden layers are BinaryLinear ->
    BatchNorm1d -> sign, the output layer as :class:`BinaryMLP`'s. Dropout (``dropout``) acts on
    the inputs of the dense layers only. ``weights="ternary"`` makes every conv and dense layer
    ternary (:class:`TernaryConv2d`, :class:`TernaryConv1d`, :class:`TernaryLinear`); a conv stage's
    pooled value is then the largest score of its window, thresholded the same way.
    """

    def __init__(self, in_shape, stages, hidden=(), classes: int = 10, kind: str = "conv2d",
                 flip_ber: float = 0.0, dropout: float = 0.0, order: str = "pool-bn", weights: str = "binary",
                 zero_as_pm: float = 0.0, pm_as_zero: float = 0.0, first_weights: str | None = None,
                 first_flip_ber: float | None = None):
        super().__init__()
        linear = _linear(weights, flip_ber, zero_as_pm, pm_as_zero)
        self.weight_kind = weights
        self.first_weights = check_first_weights(weights, first_weights)
        if order not in CONV_ORDERS:
            raise ValueError(f"order must be one of {', '.join(CONV_ORDERS)}, not {order!r}")
        self.kind = kind
        self.order = order
        self.stages = [ConvStage.of(s) for s in stages]
        if not self.stages:
            raise ValueError("a conv net needs at least one conv stage")
        self.plan = conv_plan(in_shape, self.stages, kind)
        self.in_shape = tuple(int(v) for v in in_shape)
        self.hidden_sizes = [int(h) for h in hidden]
        self.classes = int(classes)
        if min(self.hidden_sizes + [self.classes]) < 1:
            raise ValueError(f"dense layer sizes must be positive, not {self.hidden_sizes + [self.classes]}")
        conv, norm = (BinaryConv2d, nn.BatchNorm2d) if kind == "conv2d" else (BinaryConv1d, nn.BatchNorm1d)
        pool = nn.MaxPool2d if kind == "conv2d" else nn.MaxPool1d
        rates = ()
        if weights == "ternary":
            conv, rates = (TernaryConv2d if kind == "conv2d" else TernaryConv1d), (zero_as_pm, pm_as_zero)
        self.convs = nn.ModuleList(conv(shape_in[-1], st.channels, st.kernel, st.stride, st.padding, flip_ber, *rates)
                                   for st, (shape_in, _) in zip(self.stages, self.plan))
        if self.first_weights == "binary":       # the first conv binary, at the binary read's flip rate
            st, shape_in = self.stages[0], self.plan[0][0]
            binary = BinaryConv2d if kind == "conv2d" else BinaryConv1d
            self.convs[0] = binary(shape_in[-1], st.channels, st.kernel, st.stride, st.padding,
                                   flip_ber if first_flip_ber is None else first_flip_ber)
        self.conv_norms = nn.ModuleList(norm(st.channels) for st in self.stages)
        if order == "pool-bn":
            for bn in self.conv_norms:
                bn.weight.requires_grad_(False)      # gamma stays 1 (> 0: see the class docstring)
        self.pools = nn.ModuleList(pool(st.pool) if st.pool > 1 else nn.Identity() for st in self.stages)
        self.flat_size = int(torch.tensor(self.plan[-1][1]).prod())
        sizes = [self.flat_size, *self.hidden_sizes, self.classes]
        self.sizes = sizes
        self.hidden = nn.ModuleList(linear(a, b) for a, b in zip(sizes[:-2], sizes[1:-1]))
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) for b in sizes[1:-1])
        self.out = linear(sizes[-2], sizes[-1])
        self.log_scale = nn.Parameter(torch.tensor(0.0))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def arch(self) -> dict:
        """Everything needed to rebuild the net (the checkpoint stores it)."""
        arch = {"kind": self.kind, "in_shape": list(self.in_shape), "stages": [s.as_dict() for s in self.stages],
                "hidden": list(self.hidden_sizes), "classes": self.classes, "order": self.order}
        if self.weight_kind != "binary":
            arch["weights"] = self.weight_kind
        if self.first_weights:
            arch["first_weights"] = self.first_weights
        return arch

    def forward(self, x):
        x = x.reshape(len(x), *self.in_shape)
        x = x.permute(0, 3, 1, 2) if self.kind == "conv2d" else x.permute(0, 2, 1)   # HWC -> CHW
        for conv, bn, pool in zip(self.convs, self.conv_norms, self.pools):
            x = SignSTE.apply(bn(pool(conv(x))) if self.order == "pool-bn" else pool(bn(conv(x))))
        x = x.flatten(1)
        for lin, bn in zip(self.hidden, self.norms):
            x = SignSTE.apply(bn(lin(self.dropout(x))))
        return self.out(self.dropout(x)) * (self.log_scale.exp() / self.sizes[-2] ** 0.5)

    def binary_layers(self) -> list:
        return [*self.convs, *self.hidden, self.out]

    def set_flip_ber(self, ber: float):
        for layer in self.binary_layers():
            layer.flip_ber = ber

    def clip_(self):
        for layer in self.binary_layers():
            layer.clip_()
