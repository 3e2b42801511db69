"""What makes a network IR valid (:mod:`hwgen.ir`): a layer's shapes, thresholds, padding bits,
ternary encoding and conv fields, and a network's chaining of layers. Every check raises
:class:`~hwgen.errors.ModelFileError` naming the layer, so a bad file or a bad export fails
loudly where it is read or built.
"""

from __future__ import annotations

import numpy as np

from .bitpack import WORD, words_for
from .errors import ModelFileError

KINDS = ("dense", "conv2d", "conv1d")


def integers(what: str, values, dtype) -> np.ndarray:
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


def check_layer(layer) -> None:
    """Refuse a layer that breaks the IR's rules (shapes, thresholds, padding bits, ternary
    encoding, conv fields) with a :class:`ModelFileError` naming it."""
    where = f"layer {layer.name!r}" if layer.name else "layer"
    if not (isinstance(layer.n_inputs, (int, np.integer)) and layer.n_inputs > 0):
        raise ModelFileError(f"{where}: n_inputs must be a positive integer, not {layer.n_inputs!r}")
    if not (isinstance(layer.n_outputs, (int, np.integer)) and layer.n_outputs > 0):
        raise ModelFileError(f"{where}: n_outputs must be a positive integer, not {layer.n_outputs!r}")
    want = (layer.n_outputs, words_for(layer.n_inputs))
    if layer.weights.shape != want:
        raise ModelFileError(f"{where}: packed weights have shape {layer.weights.shape}, expected {want} "
                             f"for {layer.n_outputs} outputs x {layer.n_inputs} inputs")
    if layer.thresholds.shape != (layer.n_outputs,):
        raise ModelFileError(f"{where}: thresholds have shape {layer.thresholds.shape}, "
                             f"expected ({layer.n_outputs},)")
    if layer.output not in ("sign", "popcount"):
        raise ModelFileError(f"{where}: output must be 'sign' or 'popcount', not {layer.output!r}")
    lo = -layer.n_inputs if layer.is_ternary else 0
    if layer.thresholds.size and (layer.thresholds.min() < lo or layer.thresholds.max() > layer.n_inputs + 1):
        bad = int(np.flatnonzero((layer.thresholds < lo) | (layer.thresholds > layer.n_inputs + 1))[0])
        scale = "-n_inputs" if layer.is_ternary else "0"
        raise ModelFileError(f"{where}: thresholds must lie in [{scale}, n_inputs + 1] = [{lo}, {layer.n_inputs + 1}]; "
                             f"neuron {bad} has {int(layer.thresholds[bad])}")
    spare = words_for(layer.n_inputs) * WORD - layer.n_inputs
    if spare and np.any(layer.weights[:, -1] >> np.uint64(WORD - spare)):
        raise ModelFileError(f"{where}: padding bits beyond input {layer.n_inputs} are not zero")
    if layer.is_ternary:
        if layer.zeros.shape != want:
            raise ModelFileError(f"{where}: the packed zero mask has shape {layer.zeros.shape}, expected {want}")
        if spare and np.any(layer.zeros[:, -1] >> np.uint64(WORD - spare)):
            raise ModelFileError(f"{where}: zero-mask padding bits beyond input {layer.n_inputs} are not zero")
        if np.any(layer.weights & layer.zeros):
            raise ModelFileError(f"{where}: a zero weight has its sign bit set (a ternary 0 is stored with "
                                 f"sign bit 0)")
    _check_conv(layer, where)


def _check_conv(layer, where: str) -> None:
    if layer.kind not in KINDS:
        raise ModelFileError(f"{where}: kind must be one of {', '.join(KINDS)}, not {layer.kind!r}")
    if not layer.is_conv:
        if layer.in_shape is not None or (layer.kernel, layer.stride, layer.padding, layer.pool) != (1, 1, 0, 1):
            raise ModelFileError(f"{where}: a dense layer takes no in_shape, kernel, stride, padding or pool")
        return
    dims = 3 if layer.kind == "conv2d" else 2
    shape = layer.in_shape
    if (not isinstance(shape, tuple) or len(shape) != dims
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape)):
        raise ModelFileError(f"{where}: a {layer.kind} layer's in_shape must be {dims} positive integers "
                             f"({'H, W, C' if dims == 3 else 'L, C'}), not {layer.in_shape!r}")
    for name in ("kernel", "stride", "pool"):
        value = getattr(layer, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 64:
            raise ModelFileError(f"{where}: {name} must be an integer in [1, 64], not {value!r}")
    if isinstance(layer.padding, bool) or not isinstance(layer.padding, (int, np.integer)) \
            or not 0 <= layer.padding < layer.kernel:
        raise ModelFileError(f"{where}: padding must be an integer in [0, kernel - 1] = [0, {layer.kernel - 1}], "
                             f"not {layer.padding!r}")
    if layer.pad_bit not in (0, 1) or isinstance(layer.pad_bit, bool):
        raise ModelFileError(f"{where}: pad_bit must be 0 (pad with -1) or 1 (pad with +1), not {layer.pad_bit!r}")
    if layer.output != "sign":
        raise ModelFileError(f"{where}: a conv layer's output must be 'sign' (the last layer is dense)")
    channels = shape[-1]
    taps = layer.kernel ** (2 if layer.kind == "conv2d" else 1)
    if layer.n_inputs != taps * channels:
        raise ModelFileError(f"{where}: a {layer.kind} layer with kernel {layer.kernel} on {channels} channels has "
                             f"{taps * channels} inputs per output, not {layer.n_inputs}")
    g = layer.geometry()
    if g.Ho < 1 or g.Wo < 1:
        raise ModelFileError(f"{where}: kernel {layer.kernel} with padding {layer.padding} does not fit the "
                             f"{'x'.join(map(str, shape[:-1]))} input")
    if g.Hp < 1 or g.Wp < 1:
        raise ModelFileError(f"{where}: pool {layer.pool} is larger than the {g.Ho}x{g.Wo} output"
                             if layer.kind == "conv2d" else
                             f"{where}: pool {layer.pool} is longer than the output's {g.Wo} positions")


def check_network(network) -> None:
    """Refuse a network whose layers do not chain (shapes, kinds, outputs) or that does not end
    with a dense layer."""
    if not network.layers:
        raise ModelFileError("network has no layers")
    for k, (a, b) in enumerate(zip(network.layers, network.layers[1:])):
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
    if network.layers[-1].is_conv:
        raise ModelFileError("the last layer is a conv layer; a network ends with a dense layer (its "
                             "popcounts are the class scores)")
    check_dataset_metadata(network)


def check_dataset_metadata(network) -> None:
    """The metadata's dataset entries (hwgen.ir) agree with the layers: the input shape has the
    first layer's input bits, the class count is the output layer's size."""
    md = network.metadata or {}
    if "dataset" in md and (not isinstance(md["dataset"], str) or not md["dataset"]):
        raise ModelFileError(f"metadata: dataset must be a name, not {md['dataset']!r}")
    shape = md.get("input_shape")
    if shape is not None:
        if not isinstance(shape, (list, tuple)) or not 1 <= len(shape) <= 3 or \
                not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape):
            raise ModelFileError(f"metadata: input_shape must be [L], [H, W] or [H, W, C], not {shape!r}")
        pixels = 1
        for v in shape:
            pixels *= v
        if pixels != network.input_size:
            raise ModelFileError(f"metadata: input_shape {'x'.join(map(str, shape))} has {pixels} pixels, the first "
                                 f"layer takes {network.input_size} inputs")
    classes = md.get("classes")
    if classes is not None and (isinstance(classes, bool) or classes != network.layers[-1].n_outputs):
        raise ModelFileError(f"metadata: classes is {classes!r}, the output layer has "
                             f"{network.layers[-1].n_outputs} outputs")
    threshold = md.get("input_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int)
                                  or not 0 <= threshold <= 255):
        raise ModelFileError(f"metadata: input_threshold must be a pixel value in [0, 255], not {threshold!r}")
