"""A QONNX graph as the network IR (``hwgen import``): what the hardware runs, and nothing else.

The graph is read with qonnx (ModelWrapper; cleanup: shape inference, constant folding with the
quantizers kept, unique node names) and walked from its one input to its one output as a chain:

- **input binarisation**: elementwise ops on the pixels (``Sub``/``Add``/``Mul``/``Div`` by
  constants), ``Reshape``/``Flatten``, then a binary activation. It is read off the graph by
  running that prefix with qonnx's executor on 256 constant images (pixel p as ``p / divisor``):
  the +1 pixels must be those above one threshold, in every position. A graph whose first layer
  takes float pixels needs the binarisation stated (``input_threshold``).
- **binary activations**: ``BipolarQuant``, a 1-bit ``Quant`` whose two levels are ``±s``, or
  ``Sign`` (refused where a pre-activation of exactly 0 would give it a third level, 0).
- **layers**: ``MatMul``/``Gemm``/``Conv`` (1-D, 2-D; square kernel, one stride, no groups or
  dilation) whose weights come from a ``BipolarQuant`` or a 1-bit ``Quant`` (±s: binary) or a
  2-bit narrow signed ``Quant`` (-s, 0, s: ternary), with per-tensor or per-output-channel
  scales; conv padding as a constant ``Pad`` of the ±1 activations with +s or -s (``pad_bit``);
  ``MaxPool`` (square, non-overlapping) on the binary activations is fused into its conv layer;
  ``Flatten``/``Reshape`` after the last conv layer (torch's (C, H, W) order: the next dense
  layer's columns are permuted to the IR's (H, W, C), :func:`hwgen.ir.chw_to_hwc`).
- **thresholds**: between a layer and its activation, per-channel ``BatchNormalization``,
  ``Add``/``Sub``/``Mul``/``Div`` by per-channel constants, Gemm/Conv biases and the weight and
  input scales. These fold into one integer threshold per neuron by running the graph's own ops
  (qonnx's executor, the same arithmetic as the reference execution) on every pre-activation the
  neuron can see, ``a = s_in * s_w * (2*popcount - I)`` (ternary: every score in ``[-I, I]``):
  the activation is monotonic in ``a``, so it is +1 from one integer on (gamma > 0), or up to one
  (gamma < 0: the neuron's weights are negated, as :func:`hwgen.train.export.fold_batchnorm`
  does), or constant. Ties land where the graph's float32 arithmetic puts them, by construction.
  (The closed form of :mod:`hwgen.train.export` folds torch modules; here the ops are whatever
  the graph holds, so the graph's own evaluation is the exact fold.)
- **output**: the last layer (dense) with no activation, whose outputs must be one strictly
  increasing function of the score, the same for every class, so that the arg-max is the
  golden model's.

Everything else is refused with one line naming the node, its op type and why. Nodes are named as
qonnx's cleanup names them (``Conv_3``: the names ``qonnx-cleanup`` shows), since exporters' own
names (``node__symbolic_4``) say little.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..ir import Layer, Network, chw_to_hwc
from . import require
from .qonnx_run import load_model

ELEMENTWISE = ("Add", "Sub", "Mul", "Div")
AFFINE = ELEMENTWISE + ("BatchNormalization",)
SHAPE_OPS = ("Reshape", "Flatten")
LAYER_OPS = ("MatMul", "Gemm", "Conv")
ACTIVATIONS = ("BipolarQuant", "Quant", "Sign")
MAX_CANDIDATES = 1 << 22        # pre-activations x channels evaluated per executor call


class Refused(ModelFileError):
    """A graph (node) hwgen's arrays cannot run; the message names the node and why."""


def _refuse(node, why: str):
    raise Refused(f"node {node.name or '(unnamed)'} ({node.op_type}): {why}")


class _Reader:
    def __init__(self, model, where: str):
        self.model, self.where = model, where

    def init(self, name):
        return self.model.get_initializer(name)

    def attr(self, node, name, default=None):
        from onnx import helper

        for a in node.attribute:
            if a.name == name:
                return helper.get_attribute_value(a)
        return default

    def consumer(self, tensor):
        users = self.model.find_consumers(tensor)
        if len(users) > 1:
            _refuse(users[0], f"its input {tensor!r} feeds {len(users)} nodes; hwgen imports a chain of layers")
        return users[0] if users else None

    def const_inputs(self, node, skip=(0,)):
        """The node's constant inputs (initializers), refused if one is computed by the graph."""
        values = []
        for k, name in enumerate(node.input):
            if k in skip or not name:
                continue
            v = self.init(name)
            if v is None:
                _refuse(node, f"input {name!r} is computed by the graph, not a constant")
            values.append(v)
        return values

    def run(self, nodes, inp: str, x: np.ndarray, out: str | None = None, extra=()) -> np.ndarray:
        """Run ``nodes`` (a chain from tensor ``inp``) with qonnx's executor on ``x``; returns the
        last node's output (or ``out``'s). ``extra``: initializers beside the graph's."""
        from onnx import TensorProto, helper
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx
        from qonnx.transformation.infer_shapes import InferShapes
        from qonnx.util.basic import qonnx_make_model

        out = out or nodes[-1].output[0]
        names = {n for node in nodes for n in node.input}
        inits = [i for i in self.model.graph.initializer if i.name in names and i.name != inp] + list(extra)
        graph = helper.make_graph(list(nodes), "fold", [helper.make_tensor_value_info(inp, TensorProto.FLOAT, x.shape)],
                                  [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], inits)
        proto = qonnx_make_model(graph, opset_imports=list(self.model.model.opset_import))
        m = ModelWrapper(proto).transform(InferShapes())
        return np.asarray(execute_onnx(m, {inp: x.astype(np.float32)})[out])


def _levels_of_activation(r: _Reader, node) -> float:
    """The scale ``s`` of a binary activation node (its levels are ``±s``), or refuse it."""
    if node.op_type == "Sign":
        return 1.0
    if node.op_type == "BipolarQuant":
        scale = r.const_inputs(node)[0]
    else:
        scale, zeropt, bits = r.const_inputs(node)
        if np.size(bits) != 1 or float(np.ravel(bits)[0]) != 1:
            _refuse(node, f"{_bits(bits)}-bit activations; hwgen's activations are binary (±1)")
    if np.size(scale) != 1 or not float(np.ravel(scale)[0]) > 0:
        _refuse(node, "a binary activation needs one positive scale for the whole tensor (per-channel "
                      "activation scales do not give ±1 inputs to the next layer)")
    s = float(np.ravel(scale)[0])
    if node.op_type == "Quant":
        probe = r.run([node], node.input[0], np.array([-1e4 * s, -s, s, 1e4 * s], dtype=np.float32))
        levels = sorted(set(np.ravel(probe).tolist()))
        if len(levels) != 2 or levels[0] != -levels[1]:
            _refuse(node, f"a 1-bit Quant with levels {levels}; hwgen's activations are bipolar (±s: signed, "
                          f"narrow=0 Quant levels are -s and 0)")
        s = levels[1]
    return s


def _bits(bits) -> str:
    v = np.ravel(np.asarray(bits, dtype=np.float64))
    return f"{v[0]:g}" if v.size == 1 else "per-channel"


def _layer_weights(r: _Reader, node):
    """(values ``(O, ...)`` of -1, 0, +1 as the graph lays them out, per-output-channel scale
    ``(O,)``, ternary?) of a MatMul/Gemm/Conv node's weights."""
    wname = node.input[1]
    q = r.model.find_producer(wname)
    if q is None:
        if r.init(wname) is not None:
            _refuse(node, "float weights (no Quant/BipolarQuant on them); hwgen arrays store 1-bit or ternary weights")
        _refuse(node, f"its weights {wname!r} are computed by the graph")
    if q.op_type not in ("BipolarQuant", "Quant"):
        _refuse(node, f"weights come from a {q.op_type} node {q.name!r}, not a Quant/BipolarQuant of constants")
    consts = r.const_inputs(q, skip=())
    raw, scale = consts[0], np.asarray(consts[1], dtype=np.float64)
    ternary = False
    if q.op_type == "Quant":
        zeropt, bits = consts[2], consts[3]
        signed, narrow = int(r.attr(q, "signed", 1)), int(r.attr(q, "narrow", 0))
        nbits = _bits(bits)
        if nbits not in ("1", "2"):
            _refuse(node, f"{nbits}-bit weights; hwgen arrays store 1-bit or ternary weights")
        if np.any(np.asarray(zeropt) != 0):
            _refuse(node, "weights with a non-zero zero point; hwgen's weights are symmetric (±1 or -1, 0, +1)")
        if nbits == "2":
            if not (signed and narrow):
                _refuse(node, f"2-bit weights with {'unsigned' if not signed else 'full'} range (4 levels); hwgen "
                              f"arrays store 1-bit or ternary weights (a 2-bit Quant needs signed=1 narrow=1)")
            ternary = True
    wq = np.asarray(r.run([q], q.input[0], np.asarray(raw, dtype=np.float32), out=q.output[0]), dtype=np.float64)
    out_axis = 1 if node.op_type == "MatMul" or (node.op_type == "Gemm" and not r.attr(node, "transB", 0)) else 0
    if wq.ndim != (2 if node.op_type != "Conv" else wq.ndim):
        _refuse(node, f"weights of shape {list(wq.shape)}; expected a matrix")
    n_out = wq.shape[out_axis]
    if scale.size == 1:
        s = np.full(n_out, float(scale.ravel()[0]))
    elif scale.size == n_out and ((scale.ndim < wq.ndim and out_axis == wq.ndim - 1) or
                                  (scale.ndim == wq.ndim and scale.shape[out_axis] == n_out)):
        s = scale.ravel()
    else:
        _refuse(q, f"weight scale of shape {list(scale.shape)}; hwgen folds a per-tensor or per-output-channel scale")
    if not np.all(s > 0):
        _refuse(q, "a weight scale that is not positive")
    shape = [1] * wq.ndim
    shape[out_axis] = n_out
    values = wq / s.reshape(shape)
    allowed = (-1, 0, 1) if ternary else (-1, 1)
    if not np.all(np.isin(values, allowed)):
        bad = values[~np.isin(values, allowed)].ravel()[0]
        _refuse(node, f"weight value {bad * s.max():g} is not {' or '.join(map(str, allowed))} times the scale; "
                      f"hwgen arrays store 1-bit or ternary weights")
    if out_axis == 1:
        values = values.T
    return values.astype(np.int8), s, ternary


def _channel_const(node, value, channels: int, rank: int):
    """Refuse a constant that is not a scalar or one value per channel (axis 1 of the output)."""
    shape = np.shape(value)
    if len(shape) > rank or any(d != 1 for k, d in enumerate(shape[::-1]) if rank - 1 - k != 1):
        _refuse(node, f"a constant of shape {list(shape)}: hwgen folds per-channel scales and biases only")
    if len(shape) >= rank - 1 and shape[len(shape) - rank + 1] not in (1, channels):
        _refuse(node, f"a constant of shape {list(shape)} for {channels} channels")


def _pool_size(r: _Reader, node) -> int:
    k = list(r.attr(node, "kernel_shape", []))
    strides = list(r.attr(node, "strides", k))
    pads = list(r.attr(node, "pads", [0] * 2 * len(k)))
    if len(set(k)) != 1 or strides != k or any(pads) or r.attr(node, "ceil_mode", 0) or \
            any(d != 1 for d in r.attr(node, "dilations", [1] * len(k))):
        _refuse(node, f"max-pool {k} stride {strides} pads {pads}; hwgen pools square, non-overlapping windows "
                      f"without padding (floor mode)")
    return int(k[0])


def _fold(r: _Reader, chain, act, values, s_w, s_in, ternary, channels, rank, bias):
    """(values with decreasing rows negated, integer thresholds) for a hidden layer, or the class
    scores' check for the output layer (``act`` None)."""
    n_in = values.shape[1]
    if ternary:
        scores = np.arange(-n_in, n_in + 1, dtype=np.float64)            # every score in [-I, I]
    else:
        scores = 2 * np.arange(n_in + 1, dtype=np.float64) - n_in        # a = 2 popcount - I
    nodes = chain + ([act] if act is not None else [])
    if not nodes:
        pre = scores[:, None] * s_in * s_w[None, :]
        out = (pre + (0 if bias is None else bias[None, :])).astype(np.float32)
    else:
        out = np.empty((len(scores), channels), dtype=np.float32)
        step = max(1, MAX_CANDIDATES // max(1, channels))
        for b in range(0, len(scores), step):
            pre = (scores[b:b + step, None] * s_in * s_w[None, :]).astype(np.float32)
            if bias is not None:
                pre = pre + bias[None, :].astype(np.float32)
            x = pre.reshape(len(pre), channels, *([1] * (rank - 2)))
            out[b:b + step] = r.run(nodes, "fold_in", x).reshape(len(pre), channels)
    if act is None:
        return out
    if act.op_type == "Sign" and np.any(out == 0):
        _refuse(act, "Sign gives 0 at a pre-activation of exactly 0 (a third level); use BipolarQuant "
                     "(0 -> +1) or a threshold that no popcount reaches")
    fires = out > 0
    rising, falling = np.all(fires[1:] >= fires[:-1], axis=0), np.all(fires[1:] <= fires[:-1], axis=0)
    if not np.all(rising | falling):
        _refuse(act, f"channel {int(np.argmin(rising | falling))}'s activation is not monotonic in the popcount")
    flip = falling & ~rising                         # constant channels keep their weights
    values = values.copy()
    values[flip] = -values[flip]
    fires[:, flip] = fires[::-1, flip]               # the negated neuron's score -a runs the other way
    first = np.where(fires.any(axis=0), np.argmax(fires, axis=0), len(scores))
    thresholds = first - n_in if ternary else first  # index -> score (ternary) or popcount (binary)
    return values, thresholds.astype(np.int64)


def _rename_chain_input(chain, tensor):
    """A copy of ``chain`` whose first node reads ``fold_in`` instead of ``tensor``."""
    import copy

    nodes = [copy.deepcopy(n) for n in chain]
    for node in nodes:
        for k, name in enumerate(node.input):
            if name == tensor:
                node.input[k] = "fold_in"
    return nodes


def qonnx_to_network(model, *, input_threshold: int | None = None, divisor: float = 255.0,
                     dataset: str | None = None, where: str = "graph") -> Network:
    """The IR of a QONNX ``ModelWrapper`` (see the module docstring); ``input_threshold`` states
    the input binarisation of a graph that takes float pixels, ``divisor`` what the graph's input is
    (``pixel / divisor``)."""
    require("onnx", "onnx", "qonnx", "onnxruntime")
    from qonnx.transformation.general import GiveUniqueNodeNames
    from qonnx.transformation.remove import RemoveIdentityOps
    from qonnx.util.cleanup import cleanup_model

    g = model.graph
    consts = {i.name for i in g.initializer}
    inputs = [i.name for i in g.input if i.name not in consts]      # Brevitas lists its initializers as inputs
    if len(inputs) != 1:
        raise Refused(f"{where}: {len(inputs)} graph inputs ({', '.join(inputs)}); hwgen imports a "
                      f"network with one input (the image)")
    if len(g.output) != 1:
        raise Refused(f"{where}: {len(g.output)} graph outputs ({', '.join(o.name for o in g.output)}); hwgen imports "
                      f"a network with one output (the class scores)")
    for node in g.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"):
            _refuse(node, "a QCDQ/QOperator graph, not QONNX; export it with brevitas.export.export_qonnx")
    if not any(n.op_type in ("BipolarQuant", "Quant") for n in g.node):
        raise Refused(f"{where}: no Quant or BipolarQuant node: a float network (or not QONNX); hwgen arrays store "
                      f"1-bit or ternary weights")
    names = json.loads(model.get_metadata_prop("hwgen.layer_names") or "null")
    meta = json.loads(model.get_metadata_prop("hwgen.metadata") or "null")
    try:
        model = cleanup_model(model)
        model = model.transform(RemoveIdentityOps()).transform(GiveUniqueNodeNames())
    except Refused:
        raise
    except Exception as e:  # qonnx/onnx raise many types on a graph they cannot handle
        raise Refused(f"{where}: qonnx cannot clean up the graph: {type(e).__name__}: {' '.join(str(e).split())[:160]}") \
            from None
    r = _Reader(model, where)
    tensor = model.graph.input[0].name
    in_shape = [int(d) for d in model.get_tensor_shape(tensor)]
    out_name = model.graph.output[0].name

    # -- input binarisation ---------------------------------------------------------------------
    prefix, node = [], r.consumer(tensor)
    while node is not None and node.op_type in ELEMENTWISE + SHAPE_OPS:
        r.const_inputs(node)
        prefix.append(node)
        node = r.consumer(node.output[0])
    if node is None:
        raise Refused(f"{where}: the graph has no layer")
    if node.op_type in ACTIVATIONS:
        s_in = _levels_of_activation(r, node)
        threshold = _input_threshold(r, prefix + [node], tensor, in_shape, divisor)
        if input_threshold is not None and input_threshold != threshold:
            raise Refused(f"{where}: input_threshold {input_threshold} was given but the graph binarises pixels above "
                          f"{threshold}")
        input_threshold = threshold
        tensor, node = node.output[0], r.consumer(node.output[0])
    elif node.op_type in LAYER_OPS or node.op_type == "Pad":
        if prefix:
            _refuse(prefix[0], "the graph computes on float pixels before its first layer without binarising them")
        if input_threshold is None:
            _refuse(node, "the first layer takes float pixels; state the input binarisation (--input-threshold: "
                          "pixels above it are +1)")
        s_in = 1.0
    else:
        _refuse(node, "unsupported op before the first layer")

    # -- layers ---------------------------------------------------------------------------------
    layers, pad, flat_from = [], None, None
    while node is not None:
        op = node.op_type
        if op in SHAPE_OPS:
            shape = model.get_tensor_shape(node.output[0])
            if layers and layers[-1].is_conv and flat_from is None:
                flat_from = layers[-1].out_shape
            elif layers and len(shape) != 2:
                _refuse(node, f"reshape to {shape}; hwgen only flattens the last conv layer's output")
        elif op == "MaxPool":
            if not layers or not layers[-1].is_conv or layers[-1].pool != 1 or flat_from is not None:
                _refuse(node, "a max-pool that does not directly follow a conv layer's binary activation")
            last = layers[-1]
            last.pool = _pool_size(r, node)
            try:
                last.validate()
            except ModelFileError as e:
                _refuse(node, str(e))
        elif op == "Pad":
            pad = _pad(r, node, s_in)
        elif op in LAYER_OPS:
            node, tensor = _layer(r, node, layers, pad, flat_from, s_in, len(layers), out_name)
            pad, flat_from = None, (None if flat_from is None or not layers[-1].is_conv else flat_from)
            if layers[-1].output == "popcount":
                break
            s_in = _levels_of_activation(r, node)
        elif op in ACTIVATIONS:
            _refuse(node, "a second binary activation in a row")
        else:
            _refuse(node, "unsupported op; hwgen imports MatMul/Gemm/Conv layers with binary or ternary weights, "
                          "BatchNormalization, per-channel Add/Sub/Mul/Div, binary activations, MaxPool, Pad, "
                          "Flatten/Reshape")
        tensor = node.output[0]
        node = r.consumer(tensor)
    if not layers:
        raise Refused(f"{where}: the graph has no layer")
    if layers[-1].output != "popcount":
        raise Refused(f"{where}: the graph ends with a binary activation; hwgen's last layer gives class scores "
                      f"(a MatMul/Gemm without activation)")
    if names is not None and len(names) == len(layers):
        for layer, name in zip(layers, names):
            layer.name = str(name)
    metadata = dict(meta) if isinstance(meta, dict) else {"source": f"qonnx import of {where}"}
    metadata["input_threshold"] = int(input_threshold)
    if dataset is not None:
        metadata["dataset"] = dataset
    return Network(layers=layers, metadata=metadata)


def _input_threshold(r: _Reader, nodes, tensor, in_shape, divisor) -> int:
    """The pixel threshold of the graph's input binarisation: run it on 256 constant images."""
    import copy

    from onnx import numpy_helper

    pixels = np.arange(256, dtype=np.float32) / np.float32(divisor)
    x = np.broadcast_to(pixels.reshape(256, *[1] * (len(in_shape) - 1)), (256, *in_shape[1:])).copy()
    batched, extra = [], []
    for node in nodes:                # a Reshape's constant batch size follows the 256 images
        if node.op_type == "Reshape":
            shape = np.asarray(r.init(node.input[1])).astype(np.int64)
            node = copy.deepcopy(node)
            node.input[1] = f"{node.input[1]}_batch256"
            extra.append(numpy_helper.from_array(np.concatenate([[256], shape[1:]]).astype(np.int64), node.input[1]))
        batched.append(node)
    out = r.run(batched, tensor, x, extra=extra).reshape(256, -1)
    fires = out > 0
    if nodes[-1].op_type == "Sign" and np.any(out == 0):
        _refuse(nodes[-1], "Sign gives 0 for some pixel value (a third level)")
    if not np.all(fires == fires[:, :1]):
        _refuse(nodes[-1], "the input binarisation differs between pixel positions; hwgen binarises every pixel "
                           "at one threshold")
    fires = fires[:, 0]
    if not np.all(fires[1:] >= fires[:-1]):
        _refuse(nodes[-1], "bright pixels give -1; hwgen's input binarisation is: pixels above a threshold are +1")
    return int(np.argmax(fires)) - 1 if fires.any() else 255


def _pad(r: _Reader, node, s_in) -> tuple[int, int]:
    """(padding, pad_bit) of a constant Pad of ±s activations before a conv layer."""
    mode = r.attr(node, "mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    consts = r.const_inputs(node)
    pads = np.asarray(consts[0]).ravel() if consts else np.asarray(r.attr(node, "pads", []))
    value = float(np.ravel(consts[1])[0]) if len(consts) > 1 and np.size(consts[1]) else 0.0
    if mode != "constant":
        _refuse(node, f"{mode} padding; hwgen pads with a constant ±1")
    half = len(pads) // 2
    spatial = list(pads[2:half]) + list(pads[half + 2:])
    if any(pads[:2]) or any(pads[half:half + 2]) or len(set(spatial)) != 1:
        _refuse(node, f"pads {list(pads)}; hwgen pads every spatial side by the same amount, not batch or channels")
    if value not in (s_in, -s_in):
        _refuse(node, f"pad value {value:g}; hwgen pads ±1 activations with +1 or -1 ({s_in:g} or {-s_in:g} here)")
    return int(spatial[0]), int(value > 0)


def _layer(r: _Reader, node, layers, pad, flat_from, s_in, index, out_name):
    """Append the IR layer of ``node`` (MatMul/Gemm/Conv) and return (its activation node or
    its last node, the tensor it ends on)."""
    op = node.op_type
    values, s_w, ternary = _layer_weights(r, node)
    in_t = node.input[0]
    bias = None
    attrs = {}
    if op == "Gemm":
        if r.attr(node, "transA", 0):
            _refuse(node, "transA=1; hwgen reads a Gemm whose first input is the activations")
        alpha, beta = float(r.attr(node, "alpha", 1.0)), float(r.attr(node, "beta", 1.0))
        if not alpha > 0:
            _refuse(node, f"alpha {alpha:g}; hwgen folds a positive alpha")
        s_w = s_w * alpha
        if len(node.input) > 2 and node.input[2]:
            c = r.const_inputs(node, skip=(0, 1))[0]
            bias = np.broadcast_to(np.asarray(c, dtype=np.float64).ravel() * beta, (len(values),)).copy() \
                if np.size(c) in (1, len(values)) else _refuse(node, f"a bias of shape {list(np.shape(c))}")
    if op == "Conv":
        if len(node.input) > 2 and node.input[2]:
            bias = np.asarray(r.const_inputs(node, skip=(0, 1))[0], dtype=np.float64).ravel()
        k = list(r.attr(node, "kernel_shape", values.shape[2:]))
        strides = list(r.attr(node, "strides", [1] * len(k)))
        if int(r.attr(node, "group", 1)) != 1:
            _refuse(node, "grouped/depthwise convolution; hwgen's conv layers are dense over the channels")
        if any(d != 1 for d in r.attr(node, "dilations", [1] * len(k))):
            _refuse(node, "dilated convolution")
        if any(r.attr(node, "pads", [0] * 2 * len(k))) or r.attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET", b"VALID", "VALID"):
            _refuse(node, "zero padding of ±1 activations (0 is neither +1 nor -1); pad with a constant ±1 Pad "
                          "node, or use padding 0")
        if len(k) not in (1, 2) or len(set(k)) != 1 or len(set(strides)) != 1:
            _refuse(node, f"kernel {k} stride {strides}; hwgen's conv layers have square kernels and one stride")
        shape = [int(d) for d in r.model.get_tensor_shape(in_t)]
        C = shape[1]
        if len(k) == 2:
            H, W = shape[2:]
            if pad is not None:
                H, W = H - 2 * pad[0], W - 2 * pad[0]
            ir_values = values.transpose(0, 2, 3, 1).reshape(len(values), -1)
            attrs = dict(kind="conv2d", in_shape=(H, W, C))
        else:
            L = shape[2] - (2 * pad[0] if pad is not None else 0)
            ir_values = values.transpose(0, 2, 1).reshape(len(values), -1)
            attrs = dict(kind="conv1d", in_shape=(L, C))
        attrs.update(kernel=int(k[0]), stride=int(strides[0]), padding=pad[0] if pad else 0,
                     pad_bit=pad[1] if pad else 0)
        values = ir_values
        if layers and not layers[-1].is_conv:
            _refuse(node, "a conv layer after a dense layer")
    else:
        if pad is not None:
            _refuse(node, "a Pad before a dense layer")
        if flat_from is not None:
            values = values[:, chw_to_hwc(flat_from)]
        elif layers and layers[-1].is_conv:
            _refuse(node, "a dense layer on a conv layer's output without Flatten/Reshape")
    rank = 2 if op != "Conv" else (4 if attrs["kind"] == "conv2d" else 3)
    # the chain from the layer's output to its binary activation (or the graph's output)
    chain, tensor, nxt = [], node.output[0], r.consumer(node.output[0])
    while nxt is not None and nxt.op_type in AFFINE:
        consts = r.const_inputs(nxt)
        for c in (consts if nxt.op_type != "BatchNormalization" else []):
            _channel_const(nxt, c, len(values), rank)
        if nxt.op_type in ("Sub", "Div") and nxt.input[0] != tensor:
            _refuse(nxt, f"the layer output is the {'subtrahend' if nxt.op_type == 'Sub' else 'divisor'}")
        chain.append(nxt)
        tensor, nxt = nxt.output[0], r.consumer(nxt.output[0])
    name_kind = "conv" if op == "Conv" else "fc"
    name = f"{name_kind}{sum(1 for la in layers if la.is_conv == (op == 'Conv')) + 1}"
    chain_in = _rename_chain_input(chain, node.output[0])
    if nxt is not None and nxt.op_type in ACTIVATIONS:
        act = _rename_chain_input([nxt], node.output[0] if not chain else "")[0]
        values, thresholds = _fold(r, chain_in, act, values, s_w, s_in, ternary, len(values), rank, bias)
        make = Layer.from_ternary if ternary else Layer.from_bits
        try:
            layers.append(make(values if ternary else (values > 0).astype(np.uint8), thresholds, output="sign",
                               name=name, **attrs))
        except ModelFileError as e:
            _refuse(node, str(e))
        return nxt, nxt.output[0]
    if nxt is not None and nxt.op_type == "MaxPool":
        _refuse(nxt, "max-pool before the binary activation; hwgen pools the activation bits (move the MaxPool "
                     "after the activation: equal when the batch-norm's gamma > 0)")
    if nxt is not None or tensor != out_name:
        _refuse(nxt if nxt is not None else node, "unsupported op between a layer and its activation" if nxt is not None
                else "the layer's output is not the graph's output")
    if op == "Conv":
        _refuse(node, "the last layer is a conv layer; hwgen's last layer is dense (its popcounts are the class scores)")
    scores = _fold(r, chain_in, None, values, s_w, s_in, ternary, len(values), rank, bias)
    if not (np.all(scores == scores[:, :1]) and np.all(np.diff(scores[:, 0]) > 0)):
        last = chain[-1] if chain else node
        _refuse(last, "the class scores are not one strictly increasing function of the popcount for every class "
                      "(per-class scales, biases or a batch-norm on the output change the arg-max); hwgen's output "
                      "layer gives popcounts")
    make = Layer.from_ternary if ternary else Layer.from_bits
    layers.append(make(values if ternary else (values > 0).astype(np.uint8), np.zeros(len(values), dtype=np.int64),
                       output="popcount", name=name))
    return node if not chain else chain[-1], tensor


def import_qonnx(onnx_path, out_path, *, input_threshold: int | None = None, divisor: float = 255.0,
                 dataset: str | None = None) -> Network:
    """``hwgen import``: the QONNX file ``onnx_path`` as an IR file ``out_path`` (written atomically,
    only when the whole graph is accepted)."""
    onnx_path = Path(onnx_path)
    model = load_model(onnx_path)
    network = qonnx_to_network(model, input_threshold=input_threshold, divisor=divisor, dataset=dataset,
                               where=onnx_path.name)
    network.save(out_path)
    return network
