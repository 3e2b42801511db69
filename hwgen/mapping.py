"""Mapping of one layer onto the N x M cell matrix, for both configurations.

Neuron ``o`` always sits at threshold row ``o // M``, lane ``o % M``. Memory contents:

- par2seq: cell (i, j), memory row t, column b holds ``W[t*M + j, i*n + b]``; the whole input
  vector comes in one beat (bit ``i*n + b`` goes to cell row i, column b); output beat t
  carries neurons ``t*M .. t*M + M-1``.
- seq2par: cell (i, j), memory row t, column b holds ``W[i*M + j, t*n + b]``; input beat t is
  ``x[t*n : t*n + n]``; the single output beat carries all N*M neurons.

A layer smaller than the array is padded: missing inputs are driven with 1 and their weights
programmed to 0, so a fault-free pad contributes nothing to a popcount (a faulty pad device does,
as it would on silicon). The padded matrix is the *physical layer*: the golden model runs on it,
and error maps have its shape.
"""

from __future__ import annotations

import numpy as np

from .errors import LayerDoesNotFit
from .hwconfig import HwConfig
from .ir import Layer


def check_fit(layer: Layer, hw: HwConfig) -> None:
    name = f"layer {layer.name!r}" if layer.name else "layer"
    if hw.config == "par2seq":
        in_rule, out_rule = f"n*N = {hw.n}*{hw.N}", f"n*M = {hw.n}*{hw.M}"
        need = f"N >= {-(-layer.n_inputs // hw.n)}", f"M >= {-(-layer.n_outputs // hw.n)}"
    else:
        in_rule, out_rule = f"n*n = {hw.n}*{hw.n}", f"N*M = {hw.N}*{hw.M}"
        need = f"n >= {int(np.ceil(np.sqrt(layer.n_inputs)))}", f"N*M >= {layer.n_outputs}"
    if layer.n_inputs > hw.max_inputs:
        raise LayerDoesNotFit(f"{name} has {layer.n_inputs} inputs but {hw.config} takes at most "
                              f"{hw.max_inputs} ({in_rule}); it needs {need[0]}")
    if layer.n_outputs > hw.max_outputs:
        raise LayerDoesNotFit(f"{name} has {layer.n_outputs} outputs but {hw.config} gives at most "
                              f"{hw.max_outputs} ({out_rule}); it needs {need[1]}")


def check_weights_mode(layer: Layer, hw: HwConfig) -> None:
    """A ternary layer needs a ternary array and a binary layer a binary one."""
    if layer.is_ternary != hw.is_ternary:
        name = f"layer {layer.name!r}" if layer.name else "layer"
        mode = "ternary" if layer.is_ternary else "binary"
        raise LayerDoesNotFit(f"{name} has {mode} weights, the array is {hw.weights}; it needs weights={mode!r}")


def physical_layer(layer: Layer, hw: HwConfig) -> Layer:
    """The layer padded to the array's full size (max_outputs x max_inputs): binary pads are
    weight bit 0, ternary pads weight 0; padded neurons get threshold 0."""
    check_fit(layer, hw)
    check_weights_mode(layer, hw)
    thresholds = np.zeros(hw.max_outputs, dtype=np.int64)
    thresholds[: layer.n_outputs] = layer.thresholds
    if layer.is_ternary:
        values = np.zeros((hw.max_outputs, hw.max_inputs), dtype=np.int8)
        values[: layer.n_outputs, : layer.n_inputs] = layer.values()
        return Layer.from_ternary(values, thresholds, output=layer.output, name=layer.name)
    bits = np.zeros((hw.max_outputs, hw.max_inputs), dtype=np.uint8)
    bits[: layer.n_outputs, : layer.n_inputs] = layer.weight_bits()
    return Layer.from_bits(bits, thresholds, output=layer.output, name=layer.name)


def weight_planes(layer: Layer) -> tuple[np.ndarray, np.ndarray | None]:
    """The bit planes the programming port writes: ``(data, zero)``, each ``(O, I)`` uint8.

    ``data`` is the sign bit (1 = +1; 0 for a zero weight), ``zero`` is None for a binary layer.
    """
    data = layer.weight_bits()
    if not layer.is_ternary:
        return data, None
    return data, (layer.values() == 0).astype(np.uint8)


def hardware_thresholds(thresholds, hw: HwConfig) -> np.ndarray:
    """IR thresholds (on the popcount, or a ternary layer's score) -> the values the threshold
    bank holds: ``T + hw.score_offset``. Raises ValueError for one the bank cannot hold."""
    t = np.asarray(thresholds, dtype=np.int64) + hw.score_offset
    if t.size and (t.min() < 0 or t.max() >> hw.threshold_width):
        raise ValueError(f"thresholds {int(t.min()) - hw.score_offset}..{int(t.max()) - hw.score_offset} do not fit "
                         f"the {hw.threshold_width}-bit threshold bank of {hw.tag()}")
    return t


def hardware_counts(golden_counts, hw: HwConfig) -> np.ndarray:
    """The golden model's popcounts (ternary: scores) -> what ``out.popcount`` carries:
    ``+ hw.score_offset``."""
    return np.asarray(golden_counts, dtype=np.int64) + hw.score_offset


def pad_inputs(x_bits: np.ndarray, hw: HwConfig) -> np.ndarray:
    """Pad ``(B, I)`` input bits to ``(B, max_inputs)`` with ones."""
    x_bits = np.atleast_2d(np.asarray(x_bits, dtype=np.uint8))
    if x_bits.shape[1] > hw.max_inputs:
        raise LayerDoesNotFit(f"input vector has {x_bits.shape[1]} bits, the array takes {hw.max_inputs}")
    out = np.ones((x_bits.shape[0], hw.max_inputs), dtype=np.uint8)
    out[:, : x_bits.shape[1]] = x_bits
    return out


def cell_contents(phys_bits: np.ndarray, hw: HwConfig) -> np.ndarray:
    """Physical weight bits ``(max_outputs, max_inputs)`` -> ``(N, M, n rows, n columns)``.

    Any per-weight plane maps the same way: sign and zero bits, ternary values, device codes."""
    n, N, M = hw.n, hw.N, hw.M
    w = np.asarray(phys_bits)
    if w.shape != (hw.max_outputs, hw.max_inputs):
        raise ValueError(f"physical weights must have shape {(hw.max_outputs, hw.max_inputs)}, not {w.shape}")
    if hw.config == "par2seq":
        # W[t*M + j, i*n + b] -> [i, j, t, b]
        return w.reshape(n, M, N, n).transpose(2, 1, 0, 3).copy()
    # W[i*M + j, t*n + b] -> [i, j, t, b]
    return w.reshape(N, M, n, n).copy()


def input_beats(x_padded: np.ndarray, hw: HwConfig) -> np.ndarray:
    """Padded input bits ``(B, max_inputs)`` -> beats ``(B, input_beats, input_width)``."""
    x = np.atleast_2d(x_padded)
    return x.reshape(x.shape[0], hw.input_beats, hw.input_width)


def output_neurons(hw: HwConfig) -> np.ndarray:
    """``[beat, lane]`` -> neuron index of that output."""
    if hw.config == "par2seq":
        return np.arange(hw.n * hw.M).reshape(hw.n, hw.M)
    return np.arange(hw.N * hw.M).reshape(1, hw.N * hw.M)


def pack_rows(values, width: int) -> list[int]:
    """Rows of small unsigned ints ``(R, k)`` -> one int per row, element ``c`` at bits
    ``[c*width +: width]``: the flat-vector layout of every multi-field port and record field.
    Raises ValueError for a value that does not fit ``width`` bits."""
    values = np.asarray(values)
    if values.ndim != 2:
        raise ValueError(f"pack_rows takes a 2-D array of rows, not shape {values.shape}")
    if values.size and (values.min() < 0 or values.max() >> width):
        raise ValueError(f"values {values.min()}..{values.max()} do not fit {width} bits")
    values = values.astype(np.uint64)
    bits = ((values[..., None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    packed = np.packbits(bits.reshape(values.shape[0], -1), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in packed]


def to_int(values, width: int = 1) -> int:
    """A vector of ``width``-bit values as one integer (element k at bits ``[k*width +: width]``)."""
    return pack_rows(np.asarray(values).reshape(1, -1), width)[0]


def field(value: int, k: int, width: int) -> int:
    """Element ``k`` of a flat vector of ``width``-bit elements (the inverse of :func:`to_int`)."""
    return (value >> (k * width)) & ((1 << width) - 1)
