"""The network IR: the one contract between training export, golden model, RTL generator,
testbenches and flow.

A network is a list of binarized layers: fully connected (``dense``) or convolutional
(``conv2d``, ``conv1d``). Bits follow one convention everywhere: bit 1 means +1, bit 0 means -1
(weights, inputs and activations). Every weighted layer is a matrix of ``O`` neurons by ``I``
inputs, which is what an array stores:

- ``weights`` is the packed bit matrix, shape ``(O, ceil(I/64))``, dtype uint64, little-endian
  within a word (input ``i`` is bit ``i % 64`` of word ``i // 64``); padding bits are zero.
- ``thresholds`` are integer popcount thresholds, shape ``(O,)``: the activation is
  ``popcount(XNOR(x, w)) >= T`` (bit 1, i.e. +1), which is ``sign(popcount - T)`` with sign(0)=+1.
- ``output`` is ``"sign"`` for hidden layers or ``"popcount"`` for an output layer whose raw
  popcounts are read (and arg-maxed).

Convolutional layers (IR version 2) are that matrix applied at every output position:

- ``O = C_out`` output channels, ``I = kh*kw*C_in``: input ``(ky*kw + kx)*C_in + c`` of a patch is
  channel ``c`` of pixel ``(oy*stride + ky - padding, ox*stride + kx - padding)``. ``conv1d`` is the
  same with one row (``kh = 1``, input shape ``(L, C_in)``).
- Feature maps are flat bit vectors in (row, column, channel) order: pixel ``(y, x)`` channel ``c``
  is bit ``(y*W + x)*C + c``. A network's input is such a map; ``flatten`` is therefore free.
- Padding: ±1 logic has no 0, so a padded position carries the constant ``pad_bit`` (0 = -1, the
  background of a binarized image; 1 = +1) in every channel, in training as in hardware.
- ``maxpool`` (non-overlapping ``pool`` x ``pool`` windows, floor mode) follows a conv layer in the
  file and is fused into it here (``Layer.pool``). The activation is ``max(popcount) >= T`` over a
  window, which equals the OR of the window's thresholded bits (``>=`` is monotonic), so the
  hardware pools the bits and the golden model checks both forms (:func:`hwgen.golden.conv_forward`).
  BN folds into one threshold per output channel (gamma < 0 flips the channel's weights).
- In the file a conv layer is followed by its ``maxpool`` entry (if any), and ``flatten`` stands
  between the last conv layer and the first dense one. Dense-only networks are written as
  version 1, which older readers still take; a network with conv layers is version 2, and an
  older hwgen refuses it naming the version.

Ternary layers (IR version 3; seed 004: LRS/HRS = +1, HRS/HRS = 0, HRS/LRS = -1) add a second
bit plane, ``zeros`` (packed like ``weights``; 1 = the weight is 0). ``weights`` keeps the sign
(1 = +1) and is 0 wherever ``zeros`` is 1, so every ternary matrix has exactly one encoding.
A ternary neuron's score is ``sum_i x_i w_i = nonzeros - 2 * mismatches``, where ``mismatches``
counts the non-zero weights whose sign differs from the input; its threshold is on that score
(``score >= T``, ``T`` in ``[-I, I + 1]``), and a ternary output layer's scores are its class
scores. Any layer kind may be ternary; a network with a ternary layer is version 3.

Files are ``.npz`` (numpy, no pickle) with a JSON metadata entry, so they load without code
execution and fail loudly when corrupt.

This module owns the layer and network classes and what they derive (shapes, conv geometry,
descriptions); the packed bit encoding is :mod:`hwgen.bitpack`, the rules a valid layer and
network obey :mod:`hwgen.ircheck`, and the file format with its versions :mod:`hwgen.irfile`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .bitpack import pack_bits, unpack_bits
from .files import atomic_write
from .ircheck import check_layer, check_network, integers


@dataclass(frozen=True)
class ConvGeometry:
    """A conv layer's geometry in two dimensions (a conv1d layer has ``H = 1``, ``kh = 1``, and
    pads and pools along the row only). Output positions before pooling are ``Ho x Wo``, after
    pooling ``Hp x Wp``; the positions a pooling window drops (floor mode) are never computed."""

    H: int
    W: int
    C: int
    kh: int
    kw: int
    stride: int
    pad_y: int
    pad_x: int
    pad_bit: int
    ph: int
    pw: int
    C_out: int

    @property
    def Ho(self) -> int:
        return (self.H + 2 * self.pad_y - self.kh) // self.stride + 1

    @property
    def Wo(self) -> int:
        return (self.W + 2 * self.pad_x - self.kw) // self.stride + 1

    @property
    def Hp(self) -> int:
        return self.Ho // self.ph

    @property
    def Wp(self) -> int:
        return self.Wo // self.pw

    @property
    def window(self) -> int:
        return self.ph * self.pw

    @property
    def pooled(self) -> int:
        """Pooled output positions (feature-map words written per image)."""
        return self.Hp * self.Wp

    @property
    def positions(self) -> int:
        """Output positions computed per image: every pooled window's positions."""
        return self.pooled * self.window

    @property
    def taps(self) -> int:
        return self.kh * self.kw

    def position_order(self) -> np.ndarray:
        """``(positions, 2)`` output positions ``(oy, ox)`` in the order the hardware computes them:
        pooled position ``u = py*Wp + px`` in raster order, then window offset ``dy*pw + dx``.
        Position ``q`` of this order runs on replica ``q % P`` of a layer built ``--parallel P``."""
        py, px, dy, dx = np.meshgrid(np.arange(self.Hp), np.arange(self.Wp), np.arange(self.ph), np.arange(self.pw),
                                     indexing="ij")
        return np.stack([(py * self.ph + dy).ravel(), (px * self.pw + dx).ravel()], axis=1)


@dataclass
class Layer:
    """One binarized layer (see module docstring for the bit conventions).

    ``kind`` is ``dense`` (the default) or ``conv2d``/``conv1d``; a conv layer also has
    ``in_shape`` (``(H, W, C_in)`` or ``(L, C_in)``), a square ``kernel``, ``stride``,
    ``padding``, ``pad_bit`` and ``pool`` (1 = no max-pool). ``n_inputs``/``n_outputs`` are
    always the matrix the array stores: ``kernel**2 * C_in`` (``kernel * C_in`` for conv1d)
    by ``C_out``. ``zeros`` (packed like ``weights``) makes the layer ternary.
    """

    n_inputs: int
    n_outputs: int
    weights: np.ndarray
    thresholds: np.ndarray
    output: str = "sign"
    name: str = ""
    kind: str = "dense"
    in_shape: tuple | None = None
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    pad_bit: int = 0
    pool: int = 1
    zeros: np.ndarray | None = None

    def __post_init__(self):
        where = f"layer {self.name!r}" if self.name else "layer"
        self.weights = integers(f"{where}: packed weights", self.weights, np.uint64)
        if self.zeros is not None:
            self.zeros = integers(f"{where}: packed zero mask", self.zeros, np.uint64)
        self.thresholds = integers(f"{where}: thresholds", self.thresholds, np.int64)
        if self.in_shape is not None:
            self.in_shape = tuple(int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
                                  for v in self.in_shape)
        self.validate()

    @classmethod
    def from_bits(cls, weight_bits, thresholds, output="sign", name="", **conv):
        """Build a layer from an unpacked ``(O, I)`` {0,1} weight matrix (``conv``: the conv
        fields ``kind``, ``in_shape``, ``kernel``, ``stride``, ``padding``, ``pad_bit``, ``pool``)."""
        weight_bits = np.asarray(weight_bits)
        if weight_bits.ndim != 2:
            raise ValueError(f"weight bits must be a 2-D (outputs, inputs) array, not shape {weight_bits.shape}")
        o, i = weight_bits.shape
        return cls(n_inputs=i, n_outputs=o, weights=pack_bits(weight_bits),
                   thresholds=thresholds, output=output, name=name, **conv)

    @classmethod
    def from_ternary(cls, values, thresholds, output="sign", name="", **conv):
        """Build a ternary layer from an ``(O, I)`` matrix of -1, 0, +1 (thresholds on the score)."""
        values = np.asarray(values)
        if values.ndim != 2:
            raise ValueError(f"ternary weights must be a 2-D (outputs, inputs) array, not shape {values.shape}")
        if values.size and not np.isin(values, (-1, 0, 1)).all():
            raise ValueError(f"ternary weights must be -1, 0 or +1, not {values[~np.isin(values, (-1, 0, 1))].flat[0].item()!r}")
        o, i = values.shape
        return cls(n_inputs=i, n_outputs=o, weights=pack_bits(values > 0), zeros=pack_bits(values == 0),
                   thresholds=thresholds, output=output, name=name, **conv)

    @property
    def is_ternary(self) -> bool:
        return self.zeros is not None

    def values(self) -> np.ndarray:
        """The weights as an int8 ``(O, I)`` matrix of -1, 0, +1 (binary layers: -1, +1)."""
        v = self.weight_bits().astype(np.int8) * 2 - 1
        if self.is_ternary:
            v[unpack_bits(self.zeros, self.n_inputs).astype(bool)] = 0
        return v

    @property
    def is_conv(self) -> bool:
        return self.kind != "dense"

    def geometry(self) -> ConvGeometry:
        """The conv geometry in two dimensions (conv layers only)."""
        if not self.is_conv:
            raise ValueError(f"layer {self.name!r} is dense and has no conv geometry")
        k, pad, pool = self.kernel, self.padding, self.pool
        if self.kind == "conv2d":
            H, W, C = self.in_shape
            return ConvGeometry(H, W, C, k, k, self.stride, pad, pad, self.pad_bit, pool, pool, self.n_outputs)
        L, C = self.in_shape
        return ConvGeometry(1, L, C, 1, k, self.stride, 0, pad, self.pad_bit, 1, pool, self.n_outputs)

    @property
    def in_size(self) -> int:
        """Bits of the layer's input vector (a conv layer's whole input feature map)."""
        return int(np.prod(self.in_shape)) if self.is_conv else self.n_inputs

    @property
    def out_shape(self) -> tuple:
        if not self.is_conv:
            return (self.n_outputs,)
        g = self.geometry()
        return (g.Hp, g.Wp, g.C_out) if self.kind == "conv2d" else (g.Wp, g.C_out)

    @property
    def out_size(self) -> int:
        return int(np.prod(self.out_shape))

    def describe(self) -> str:
        """``784->1024`` for a dense layer, ``conv2d 28x28x1 k3 s1 p1 pool2 -> 14x14x32`` for a conv."""
        if not self.is_conv:
            return f"{self.n_inputs}->{self.n_outputs}"
        shape = "x".join(map(str, self.in_shape))
        extra = f" pool{self.pool}" if self.pool > 1 else ""
        return (f"{self.kind} {shape} k{self.kernel} s{self.stride} p{self.padding}{extra} -> "
                f"{'x'.join(map(str, self.out_shape))}")

    def weight_bits(self) -> np.ndarray:
        return unpack_bits(self.weights, self.n_inputs)

    def validate(self):
        check_layer(self)

    def header(self) -> list[dict]:
        """The layer's entries in the file header: itself, then its maxpool if it has one."""
        from .irfile import layer_header

        return layer_header(self)


def chw_to_hwc(shape) -> np.ndarray:
    """For a feature map of IR shape ``(H, W, C)`` (or ``(L, C)``): ``perm[i]`` is the torch (C, H, W)
    flatten index of IR (H, W, C) index ``i``, so ``torch_columns[:, perm]`` are the IR's columns."""
    *spatial, channels = (int(v) for v in shape)
    chw = np.arange(int(np.prod(shape))).reshape(channels, *spatial)
    return np.moveaxis(chw, 0, -1).ravel()


def dataset_of(metadata: dict) -> str:
    """The dataset a network was trained on, from its metadata (``mnist`` if it names none)."""
    return str((metadata or {}).get("dataset") or "mnist")


# The IR metadata of a network's dataset (hwgen.data.DatasetInfo.metadata): ``dataset`` (name),
# ``input_shape`` (one image: [H, W], [H, W, C] or [L]), ``classes``, ``input_threshold`` (pixels above
# it are +1), and from training ``data_sha256`` (file name -> SHA-256 of the files it was trained and
# tested on) and ``data_official`` (whether they are an official copy of a built-in dataset). Files
# written before these entries existed derive them (:meth:`Network.input_shape`).


@dataclass
class Network:
    """An ordered list of layers plus free-form metadata (dataset, accuracy, seed, ...)."""

    layers: list[Layer]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.validate()

    @property
    def dataset(self) -> str:
        return dataset_of(self.metadata)

    @property
    def input_size(self) -> int:
        """Bits of an input vector (for a conv network, the input feature map)."""
        return self.layers[0].in_size

    @property
    def classes(self) -> int:
        return self.layers[-1].n_outputs

    @property
    def is_conv(self) -> bool:
        return any(layer.is_conv for layer in self.layers)

    @property
    def is_ternary(self) -> bool:
        return any(layer.is_ternary for layer in self.layers)

    @property
    def version(self) -> int:
        """The IR version this network needs: 3 with ternary layers, 2 with conv layers, else 1."""
        return 3 if self.is_ternary else 2 if self.is_conv else 1

    def describe(self) -> str:
        """``784-1024-1024-10``, or the layers in words for a conv network."""
        if not self.is_conv:
            return "-".join(str(layer.n_inputs) for layer in self.layers) + f"-{self.classes}"
        return ", ".join(layer.describe() for layer in self.layers)

    @property
    def input_threshold(self) -> int:
        """Pixels above it are +1 (the binarization the network was trained with; 127 if unnamed)."""
        return int(self.metadata.get("input_threshold", 127))

    @property
    def input_shape(self) -> tuple:
        """One input image's shape (``(H, W)``, ``(H, W, C)`` or ``(L,)``): the metadata's
        ``input_shape``, else derived as older files need it (a conv2d first layer's ``in_shape``,
        28x28 for 784 inputs of MNIST or Fashion-MNIST, else the flat input)."""
        from .data import DATASETS, canonical_shape

        shape = self.metadata.get("input_shape")
        if shape is not None:
            return canonical_shape(shape)
        first = self.layers[0]
        if first.kind == "conv2d":
            return canonical_shape(first.in_shape)
        if first.kind == "conv1d" and first.in_shape[1] == 1:
            return (int(first.in_shape[0]),)
        if self.input_size == 784 and self.dataset in DATASETS:
            return (28, 28)
        return (self.input_size,)

    @property
    def dataset_info(self):
        """The network's :class:`hwgen.data.DatasetInfo` (name, input shape, classes, input threshold)."""
        from .data import DatasetInfo

        return DatasetInfo(self.dataset, self.input_shape, self.classes, self.input_threshold)

    @property
    def trained_on(self) -> dict:
        """The files (name -> SHA-256) the network was trained and tested on, as its metadata records."""
        return dict(self.metadata.get("data_sha256") or {})

    def validate(self):
        check_network(self)

    def save(self, path):
        """Write the network to ``path`` (.npz) atomically."""
        atomic_write(Path(path), self.save_to)

    def save_to(self, f) -> None:
        """Write the network as .npz into the binary file object ``f``."""
        from .irfile import write_network

        write_network(self, f)

    @classmethod
    def load(cls, path) -> "Network":
        """Read and validate an IR file. Sizes are checked against the header before any array is
        read, so a corrupt or hostile file cannot make hwgen allocate without bound."""
        from .irfile import read_network

        return read_network(path, cls)
