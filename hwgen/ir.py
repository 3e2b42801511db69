"""The network IR: the one contract between training export, golden model, RTL generator,
testbenches and flow.

A network is a list of binarized fully-connected layers. Bits follow one convention everywhere:
bit 1 means +1, bit 0 means -1 (weights, inputs and activations). For a layer with ``I`` inputs
and ``O`` neurons:

- ``weights`` is the packed bit matrix, shape ``(O, ceil(I/64))``, dtype uint64, little-endian
  within a word (input ``i`` is bit ``i % 64`` of word ``i // 64``); padding bits are zero.
- ``thresholds`` are integer popcount thresholds, shape ``(O,)``: the activation is
  ``popcount(XNOR(x, w)) >= T`` (bit 1, i.e. +1), which is ``sign(popcount - T)`` with sign(0)=+1.
- ``output`` is ``"sign"`` for hidden layers or ``"popcount"`` for an output layer whose raw
  popcounts are read (and arg-maxed).

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

IR_FORMAT = "hwgen-ir"
IR_VERSION = 1
WORD = 64


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


@dataclass
class Layer:
    """One binarized fully-connected layer (see module docstring for the bit conventions)."""

    n_inputs: int
    n_outputs: int
    weights: np.ndarray
    thresholds: np.ndarray
    output: str = "sign"
    name: str = ""

    def __post_init__(self):
        self.weights = np.asarray(self.weights, dtype=np.uint64)
        self.thresholds = np.asarray(self.thresholds, dtype=np.int64)
        self.validate()

    @classmethod
    def from_bits(cls, weight_bits, thresholds, output="sign", name=""):
        """Build a layer from an unpacked ``(O, I)`` {0,1} weight matrix."""
        weight_bits = np.asarray(weight_bits)
        if weight_bits.ndim != 2:
            raise ValueError(f"weight bits must be a 2-D (outputs, inputs) array, not shape {weight_bits.shape}")
        o, i = weight_bits.shape
        return cls(n_inputs=i, n_outputs=o, weights=pack_bits(weight_bits),
                   thresholds=thresholds, output=output, name=name)

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
        spare = words_for(self.n_inputs) * WORD - self.n_inputs
        if spare and np.any(self.weights[:, -1] >> np.uint64(WORD - spare)):
            raise ModelFileError(f"{where}: padding bits beyond input {self.n_inputs} are not zero")


@dataclass
class Network:
    """An ordered list of layers plus free-form metadata (dataset, accuracy, seed, ...)."""

    layers: list[Layer]
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.validate()

    def validate(self):
        if not self.layers:
            raise ModelFileError("network has no layers")
        for k, (a, b) in enumerate(zip(self.layers, self.layers[1:])):
            if a.n_outputs != b.n_inputs:
                raise ModelFileError(f"layer {k} has {a.n_outputs} outputs but layer {k + 1} "
                                     f"expects {b.n_inputs} inputs")
            if a.output != "sign":
                raise ModelFileError(f"layer {k} is not the last layer but its output is {a.output!r}")

    def save(self, path):
        """Write the network to ``path`` (.npz) atomically."""
        path = Path(path)
        arrays = {}
        header = {"format": IR_FORMAT, "version": IR_VERSION, "metadata": self.metadata, "layers": []}
        for k, layer in enumerate(self.layers):
            header["layers"].append({"name": layer.name, "n_inputs": int(layer.n_inputs),
                                     "n_outputs": int(layer.n_outputs), "output": layer.output})
            arrays[f"w{k}"] = layer.weights
            arrays[f"t{k}"] = layer.thresholds
        arrays["header"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
        tmp.replace(path)

    @classmethod
    def load(cls, path) -> "Network":
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {path} does not exist")
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                if header.get("format") != IR_FORMAT:
                    raise ModelFileError(f"{path} is not an hwgen network file (format={header.get('format')!r})")
                if header.get("version") != IR_VERSION:
                    raise ModelFileError(f"{path} has IR version {header.get('version')!r}; "
                                         f"this hwgen reads version {IR_VERSION}")
                layers = [Layer(n_inputs=d["n_inputs"], n_outputs=d["n_outputs"], weights=z[f"w{k}"],
                                thresholds=z[f"t{k}"], output=d["output"], name=d.get("name", ""))
                          for k, d in enumerate(header["layers"])]
        except ModelFileError:
            raise
        except (OSError, KeyError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as e:
            raise ModelFileError(f"{path} is corrupt or not an hwgen network file: {e}") from e
        return cls(layers=layers, metadata=header.get("metadata", {}))
