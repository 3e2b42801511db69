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
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import ModelFileError
from .files import atomic_write

IR_FORMAT = "hwgen-ir"
IR_VERSION = 3              # 2: conv layers, 3: ternary layers; binary dense-only networks are version 1
READ_VERSIONS = (1, 2, 3)
KINDS = ("dense", "conv2d", "conv1d")
WORD = 64
MAX_HEADER_BYTES = 1 << 20
MAX_LAYER_WEIGHTS = 1 << 26     # 64 M weights (8 MB packed): far above any layer hwgen can map


def words_for(bits: int) -> int:
    return (bits + WORD - 1) // WORD


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a {0,1} array along its last axis into uint64 words (bit i -> word i//64, bit i%64)."""
    bits = np.asarray(bits)
    if bits.ndim == 0:
        raise ValueError("pack_bits needs at least one axis")
    length = bits.shape[-1]
    padded = np.zeros(bits.shape[:-1] + (words_for(length) * WORD,), dtype=np.uint8)
    padded[..., :length] = bits != 0
    as_bytes = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(as_bytes).view("<u8").astype(np.uint64)


def unpack_bits(words: np.ndarray, length: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: uint64 words -> uint8 {0,1} array with ``length`` bits."""
    words = np.ascontiguousarray(np.asarray(words, dtype=np.uint64)).astype("<u8")
    as_bytes = words.view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :length]


def _integers(what: str, values, dtype) -> np.ndarray:
    """``values`` as ``dtype`` without silent truncation or wrap-around: integer arrays must fit,
    float arrays must hold whole numbers (so ``np.zeros(8)`` is fine and 3.5 is refused)."""
    values = np.asarray(values)
    info = np.iinfo(dtype)
    if values.dtype.kind == "b":
        values = values.astype(np.uint8)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.floor(values)):
            raise ModelFileError(f"{what} must be integers, not {values.dtype} values such as "
                                 f"{values[np.logical_or(~np.isfinite(values), values != np.floor(values))].flat[0]!r}")
    elif values.dtype.kind not in "iu":
        raise ModelFileError(f"{what} must be integers, not {values.dtype}")
    if values.size:
        lo, hi = values.min(), values.max()
        # compare as Python ints: uint64 values above 2**63 must not wrap negative
        if int(lo) < info.min or int(hi) > info.max:
            raise ModelFileError(f"{what} hold {int(lo) if int(lo) < info.min else int(hi)}, outside "
                                 f"[{info.min}, {info.max}]")
    return values.astype(dtype)


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
        self.weights = _integers(f"{where}: packed weights", self.weights, np.uint64)
        if self.zeros is not None:
            self.zeros = _integers(f"{where}: packed zero mask", self.zeros, np.uint64)
        self.thresholds = _integers(f"{where}: thresholds", self.thresholds, np.int64)
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
        where = f"layer {self.name!r}" if self.name else "layer"
        if not (isinstance(self.n_inputs, (int, np.integer)) and self.n_inputs > 0):
            raise ModelFileError(f"{where}: n_inputs must be a positive integer, not {self.n_inputs!r}")
        if not (isinstance(self.n_outputs, (int, np.integer)) and self.n_outputs > 0):
            raise ModelFileError(f"{where}: n_outputs must be a positive integer, not {self.n_outputs!r}")
        want = (self.n_outputs, words_for(self.n_inputs))
        if self.weights.shape != want:
            raise ModelFileError(f"{where}: packed weights have shape {self.weights.shape}, expected {want} "
                                 f"for {self.n_outputs} outputs x {self.n_inputs} inputs")
        if self.thresholds.shape != (self.n_outputs,):
            raise ModelFileError(f"{where}: thresholds have shape {self.thresholds.shape}, "
                                 f"expected ({self.n_outputs},)")
        if self.output not in ("sign", "popcount"):
            raise ModelFileError(f"{where}: output must be 'sign' or 'popcount', not {self.output!r}")
        lo = -self.n_inputs if self.is_ternary else 0
        if self.thresholds.size and (self.thresholds.min() < lo or self.thresholds.max() > self.n_inputs + 1):
            bad = int(np.flatnonzero((self.thresholds < lo) | (self.thresholds > self.n_inputs + 1))[0])
            scale = "-n_inputs" if self.is_ternary else "0"
            raise ModelFileError(f"{where}: thresholds must lie in [{scale}, n_inputs + 1] = [{lo}, {self.n_inputs + 1}]; "
                                 f"neuron {bad} has {int(self.thresholds[bad])}")
        spare = words_for(self.n_inputs) * WORD - self.n_inputs
        if spare and np.any(self.weights[:, -1] >> np.uint64(WORD - spare)):
            raise ModelFileError(f"{where}: padding bits beyond input {self.n_inputs} are not zero")
        if self.is_ternary:
            if self.zeros.shape != want:
                raise ModelFileError(f"{where}: the packed zero mask has shape {self.zeros.shape}, expected {want}")
            if spare and np.any(self.zeros[:, -1] >> np.uint64(WORD - spare)):
                raise ModelFileError(f"{where}: zero-mask padding bits beyond input {self.n_inputs} are not zero")
            if np.any(self.weights & self.zeros):
                raise ModelFileError(f"{where}: a zero weight has its sign bit set (a ternary 0 is stored with "
                                     f"sign bit 0)")
        self._validate_conv(where)

    def _validate_conv(self, where: str):
        if self.kind not in KINDS:
            raise ModelFileError(f"{where}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.is_conv:
            if self.in_shape is not None or (self.kernel, self.stride, self.padding, self.pool) != (1, 1, 0, 1):
                raise ModelFileError(f"{where}: a dense layer takes no in_shape, kernel, stride, padding or pool")
            return
        dims = 3 if self.kind == "conv2d" else 2
        shape = self.in_shape
        if (not isinstance(shape, tuple) or len(shape) != dims
                or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape)):
            raise ModelFileError(f"{where}: a {self.kind} layer's in_shape must be {dims} positive integers "
                                 f"({'H, W, C' if dims == 3 else 'L, C'}), not {self.in_shape!r}")
        for name in ("kernel", "stride", "pool"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 64:
                raise ModelFileError(f"{where}: {name} must be an integer in [1, 64], not {value!r}")
        if isinstance(self.padding, bool) or not isinstance(self.padding, (int, np.integer)) \
                or not 0 <= self.padding < self.kernel:
            raise ModelFileError(f"{where}: padding must be an integer in [0, kernel - 1] = [0, {self.kernel - 1}], "
                                 f"not {self.padding!r}")
        if self.pad_bit not in (0, 1) or isinstance(self.pad_bit, bool):
            raise ModelFileError(f"{where}: pad_bit must be 0 (pad with -1) or 1 (pad with +1), not {self.pad_bit!r}")
        if self.output != "sign":
            raise ModelFileError(f"{where}: a conv layer's output must be 'sign' (the last layer is dense)")
        channels = shape[-1]
        taps = self.kernel ** (2 if self.kind == "conv2d" else 1)
        if self.n_inputs != taps * channels:
            raise ModelFileError(f"{where}: a {self.kind} layer with kernel {self.kernel} on {channels} channels has "
                                 f"{taps * channels} inputs per output, not {self.n_inputs}")
        g = self.geometry()
        if g.Ho < 1 or g.Wo < 1:
            raise ModelFileError(f"{where}: kernel {self.kernel} with padding {self.padding} does not fit the "
                                 f"{'x'.join(map(str, shape[:-1]))} input")
        if g.Hp < 1 or g.Wp < 1:
            raise ModelFileError(f"{where}: pool {self.pool} is larger than the {g.Ho}x{g.Wo} output"
                                 if self.kind == "conv2d" else
                                 f"{where}: pool {self.pool} is longer than the output's {g.Wo} positions")

    def header(self) -> list[dict]:
        """The layer's entries in the file header: itself, then its maxpool if it has one."""
        d = {"name": self.name, "kind": self.kind, "n_inputs": int(self.n_inputs), "n_outputs": int(self.n_outputs),
             "output": self.output}
        if self.is_ternary:
            d["weights"] = "ternary"
        if not self.is_conv:
            return [d]
        d.update(in_shape=list(self.in_shape), kernel=int(self.kernel), stride=int(self.stride),
                 padding=int(self.padding), pad_bit=int(self.pad_bit))
        return [d] + ([{"kind": "maxpool", "size": int(self.pool)}] if self.pool > 1 else [])


def dataset_of(metadata: dict) -> str:
    """The dataset a network was trained on, from its metadata (``mnist`` if it names none)."""
    return str((metadata or {}).get("dataset") or "mnist")


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

    def validate(self):
        if not self.layers:
            raise ModelFileError("network has no layers")
        for k, (a, b) in enumerate(zip(self.layers, self.layers[1:])):
            if b.is_conv:
                if not a.is_conv or a.kind != b.kind or a.out_shape != b.in_shape:
                    raise ModelFileError(f"layer {k + 1} ({b.kind} on {'x'.join(map(str, b.in_shape))}) must follow a "
                                         f"{b.kind} layer giving that shape; layer {k} gives "
                                         f"{'x'.join(map(str, a.out_shape))} ({a.kind})")
            elif a.out_size != b.n_inputs:
                raise ModelFileError(f"layer {k} has {a.out_size} outputs but layer {k + 1} "
                                     f"expects {b.n_inputs} inputs")
            if a.output != "sign":
                raise ModelFileError(f"layer {k} is not the last layer but its output is {a.output!r}")
        if self.layers[-1].is_conv:
            raise ModelFileError("the last layer is a conv layer; a network ends with a dense layer (its "
                                 "popcounts are the class scores)")

    def save(self, path):
        """Write the network to ``path`` (.npz) atomically."""
        atomic_write(Path(path), self.save_to)

    def save_to(self, f) -> None:
        """Write the network as .npz into the binary file object ``f``."""
        arrays = {}
        header = {"format": IR_FORMAT, "version": self.version, "metadata": self.metadata,
                  "layers": []}
        for k, layer in enumerate(self.layers):
            if self.is_conv and not layer.is_conv and k and self.layers[k - 1].is_conv:
                header["layers"].append({"kind": "flatten"})
            entries = layer.header()
            if self.version == 1:    # exactly the fields an older reader knows
                entries = [{key: v for key, v in entries[0].items() if key != "kind"}]
            header["layers"] += entries
            arrays[f"w{k}"] = layer.weights
            arrays[f"t{k}"] = layer.thresholds
            if layer.is_ternary:
                arrays[f"z{k}"] = layer.zeros
        arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
        # as numpy.savez_compressed, but with a fixed member date so equal networks give equal bytes
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)

    @classmethod
    def load(cls, path) -> "Network":
        """Read and validate an IR file. Sizes are checked against the header before any array is
        read, so a corrupt or hostile file cannot make hwgen allocate without bound."""
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {path} does not exist")
        try:
            if path.stat().st_size == 0:
                raise ModelFileError(f"model file {path} is empty")
            if not zipfile.is_zipfile(path):
                raise ModelFileError(f"{path} is corrupt or not an hwgen network file: not an .npz archive "
                                     f"(a plain .npy or another format renamed?)")
            with np.load(path, allow_pickle=False) as z:
                members = {info.filename: info.file_size for info in z.zip.infolist()}
                if members.get("header.npy", MAX_HEADER_BYTES + 1) > MAX_HEADER_BYTES:
                    raise ModelFileError(f"{path} has no hwgen header (or one over {MAX_HEADER_BYTES} bytes)")
                header = json.loads(bytes(z["header"]).decode())
                if not isinstance(header, dict):
                    raise ModelFileError(f"{path}: its header is not a JSON object")
                if header.get("format") != IR_FORMAT:
                    raise ModelFileError(f"{path} is not an hwgen network file (format={header.get('format')!r})")
                if header.get("version") not in READ_VERSIONS:
                    raise ModelFileError(f"{path} has IR version {header.get('version')!r}; "
                                         f"this hwgen reads versions {', '.join(map(str, READ_VERSIONS))}")
                specs = header.get("layers")
                if not isinstance(specs, list) or not all(isinstance(d, dict) for d in specs):
                    raise ModelFileError(f"{path}: its header has no list of layers")
                if not isinstance(header.get("metadata", {}), dict):
                    raise ModelFileError(f"{path}: its metadata is not a JSON object")
                layers = cls._load_layers(z, members, specs, path, header["version"])
        except ModelFileError:
            raise
        except (OSError, EOFError, KeyError, ValueError, TypeError, zipfile.BadZipFile, json.JSONDecodeError,
                UnicodeDecodeError) as e:
            raise ModelFileError(f"{path} is corrupt or not an hwgen network file: {type(e).__name__}: {e}") from None
        return cls(layers=layers, metadata=header.get("metadata", {}))

    @classmethod
    def _load_layers(cls, z, members: dict, specs: list, path, version: int) -> list[Layer]:
        """Weighted layers from the header's entries; ``maxpool`` fuses into the conv layer before
        it, ``flatten`` must stand between the last conv layer and the first dense one."""
        layers, flattened = [], False
        for e, d in enumerate(specs):
            kind = d.get("kind", "dense")
            where = f"{path}: header entry {e} ({kind!r})"
            if version == 1 and "kind" in d:
                raise ModelFileError(f"{where}: an IR version 1 file has dense layers only (no 'kind')")
            if version < 3 and "weights" in d:
                raise ModelFileError(f"{where}: ternary layers ('weights') need IR version 3, the file says {version}")
            if kind == "maxpool":
                size = d.get("size")
                prev = layers[-1] if layers else None
                if prev is None or not prev.is_conv or prev.pool != 1 or flattened:
                    raise ModelFileError(f"{where}: a maxpool must directly follow a conv layer")
                if isinstance(size, bool) or not isinstance(size, int) or not 2 <= size <= 64:
                    raise ModelFileError(f"{where}: maxpool size must be an integer in [2, 64], not {size!r}")
                prev.pool = size
                prev.validate()
            elif kind == "flatten":
                if not layers or not layers[-1].is_conv or flattened:
                    raise ModelFileError(f"{where}: flatten must follow the last conv layer")
                flattened = True
            elif kind in KINDS:
                if kind == "dense" and layers and layers[-1].is_conv and not flattened:
                    raise ModelFileError(f"{where}: a dense layer after a conv layer needs a flatten entry before it")
                if kind != "dense" and flattened:
                    raise ModelFileError(f"{where}: a conv layer cannot follow flatten")
                layers.append(cls._load_layer(z, members, len(layers), d, path))
            else:
                raise ModelFileError(f"{where}: unknown layer kind {kind!r}; this hwgen knows "
                                     f"{', '.join(KINDS + ('maxpool', 'flatten'))}")
        return layers

    @staticmethod
    def _load_layer(z, members: dict, k: int, d: dict, path) -> Layer:
        where = f"{path}: layer {k}"
        n_in, n_out = d.get("n_inputs"), d.get("n_outputs")
        for name, value in (("n_inputs", n_in), ("n_outputs", n_out)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModelFileError(f"{where}: {name} must be a positive integer, not {value!r}")
        if n_in * n_out > MAX_LAYER_WEIGHTS:
            raise ModelFileError(f"{where} declares {n_out} x {n_in} weights, over hwgen's limit of "
                                 f"{MAX_LAYER_WEIGHTS} per layer")
        ternary = d.get("weights", "binary")
        if ternary not in ("binary", "ternary"):
            raise ModelFileError(f"{where}: weights must be 'binary' or 'ternary', not {ternary!r}")
        ternary = ternary == "ternary"
        expect = {f"w{k}.npy": n_out * words_for(n_in) * 8, f"t{k}.npy": n_out * 8}
        if ternary:
            expect[f"z{k}.npy"] = n_out * words_for(n_in) * 8
        for member, size in expect.items():
            if member not in members:
                raise ModelFileError(f"{where}: the file has no array {member[:-4]!r}")
            if members[member] > size + 4096:             # + the .npy header
                raise ModelFileError(f"{where}: array {member[:-4]!r} is larger than its declared shape")
        weights, thresholds = z[f"w{k}"], z[f"t{k}"]
        zeros = z[f"z{k}"] if ternary else None
        for what, array in (("packed weights", weights), ("packed zero mask", zeros)):
            if array is not None and array.dtype != np.dtype("<u8"):
                raise ModelFileError(f"{where}: {what} are {array.dtype}, an hwgen IR stores uint64 words")
        if thresholds.dtype.kind not in "iu":
            raise ModelFileError(f"{where}: thresholds are {thresholds.dtype}, an hwgen IR stores integers")
        conv = {}
        kind = d.get("kind", "dense")
        if kind != "dense":
            shape = d.get("in_shape")
            if not isinstance(shape, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in shape):
                raise ModelFileError(f"{where}: in_shape must be a list of integers, not {shape!r}")
            if int(np.prod(shape, dtype=np.float64)) > MAX_LAYER_WEIGHTS:
                raise ModelFileError(f"{where}: input shape {shape} is over hwgen's limit of {MAX_LAYER_WEIGHTS} bits")
            conv = {"kind": kind, "in_shape": tuple(shape),
                    **{f: d.get(f, default) for f, default in (("kernel", None), ("stride", 1), ("padding", 0),
                                                              ("pad_bit", 0))}}
        return Layer(n_inputs=n_in, n_outputs=n_out, weights=weights, thresholds=thresholds,
                     output=d.get("output"), name=str(d.get("name", "")), zeros=zeros, **conv)
