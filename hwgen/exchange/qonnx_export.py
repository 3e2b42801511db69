"""The network IR as a QONNX graph (``hwgen export qonnx``), which qonnx executes, FINN and hls4ml
read, and :mod:`.qonnx_import` reads back to the same IR.

The graph takes images as ``pixel / 255`` (float32; ``(1, H*W)`` for a dense network, NCHW for a
conv network) and computes exactly what the golden model does, in float32 arithmetic on small
integers (exact below 2**24):

- input binarisation: ``Add(-(T + 0.5) / 255)`` then ``BipolarQuant`` (``>= 0`` is +1), so a pixel
  above the IR's ``input_threshold`` T is +1;
- a binary layer: ``BipolarQuant`` of its ±1 weights (scale 1), ``MatMul`` (dense) or ``Conv`` after a
  ``Pad`` with the layer's pad value ±1 (ONNX pads with 0, which ±1 logic does not have), giving
  ``a = 2*popcount - I``; a hidden layer then adds ``I - 2T`` and binarises (``BipolarQuant``), so it
  gives +1 exactly when ``popcount >= T``; its max-pool is a ``MaxPool`` on the ±1 bits (the OR of
  the window, as in the hardware);
- a ternary layer: the weights -1, 0, +1 through a 2-bit narrow signed ``Quant`` (scale 1); the
  score ``a`` is compared as ``a - T >= 0``;
- the output layer gives the golden model's class scores: popcounts ``(a + I) / 2`` (binary) or the
  scores themselves (ternary);
- between the last conv layer and the first dense one, ``Flatten`` (NCHW, i.e. torch's (C, H, W)
  order): the dense layer's columns are permuted from the IR's (H, W, C) order accordingly.

With an error map (:func:`with_errors`, ``hwgen export qonnx --ber X --seed S``) the graph holds the
weights a faulty chip reads: the maps ``hwgen sim --ber X --seed S`` draws (every layer's kernels
stored once), so other tools can reproduce that chip.

The IR's metadata and layer names travel in the model's ``metadata_props`` (``hwgen.metadata``,
``hwgen.layer_names``), so IR -> QONNX -> IR is the identity.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..files import atomic_write
from ..ir import Network, chw_to_hwc
from . import require

OPSET = 13
QONNX_DOMAIN = "qonnx.custom_op.general"


class _Graph:
    """Nodes, initializers and a counter for unique names."""

    def __init__(self):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.inits, self.count = [], [], {}

    def name(self, stem: str) -> str:
        self.count[stem] = self.count.get(stem, -1) + 1
        return f"{stem}_{self.count[stem]}"

    def const(self, stem: str, value, dtype=np.float32) -> str:
        name = self.name(stem)
        self.inits.append(self.numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(self, op: str, inputs: list[str], qonnx: bool = False, **attrs) -> str:
        name = self.name(op)
        out = f"{name}_out"
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=name,
                                                domain=QONNX_DOMAIN if qonnx else "", **attrs))
        return out

    def bipolar(self, x: str) -> str:
        return self.node("BipolarQuant", [x, self.const("scale", 1.0)], qonnx=True)

    def weights(self, values: np.ndarray, ternary: bool) -> str:
        w = self.const("W", values)
        if not ternary:
            return self.bipolar(w)
        return self.node("Quant", [w, self.const("scale", 1.0), self.const("zeropt", 0.0), self.const("bitwidth", 2.0)],
                         qonnx=True, signed=1, narrow=1, rounding_mode="ROUND")


def network_to_qonnx(network: Network):
    """The QONNX ``onnx.ModelProto`` computing ``network`` (see the module docstring)."""
    require("onnx", "onnx", "qonnx")
    from onnx import TensorProto, helper

    g = _Graph()
    first = network.layers[0]
    if first.is_conv:
        geo = first.geometry()
        in_shape = [1, geo.C, geo.W] if first.kind == "conv1d" else [1, geo.C, geo.H, geo.W]
    else:
        in_shape = [1, first.n_inputs]
    x = g.node("Add", ["global_in", g.const("pixel_threshold", -(network.input_threshold + 0.5) / 255)])
    x = g.bipolar(x)
    spatial = None                                # the last conv layer's output shape (IR order)
    for k, layer in enumerate(network.layers):
        values = layer.values().astype(np.float32)       # (O, I), IR order
        n_in = layer.n_inputs
        if layer.is_conv:
            geo = layer.geometry()
            one_d = layer.kind == "conv1d"
            kernel = values.reshape(geo.C_out, geo.kh, geo.kw, geo.C).transpose(0, 3, 1, 2)
            if one_d:
                kernel = kernel[:, :, 0, :]
            if layer.padding:
                p = layer.padding
                pads = [0, 0, p, 0, 0, p] if one_d else [0, 0, p, p, 0, 0, p, p]
                x = g.node("Pad", [x, g.const("pads", pads, np.int64), g.const("pad_value", 1.0 if layer.pad_bit else -1.0)],
                           mode="constant")
            x = g.node("Conv", [x, g.weights(kernel, layer.is_ternary)],
                       kernel_shape=list(kernel.shape[2:]), strides=[layer.stride] * (kernel.ndim - 2))
            spatial = layer.out_shape
            channel_shape = [1, geo.C_out] + [1] * (kernel.ndim - 2)
        else:
            if spatial is not None:
                x = g.node("Flatten", [x], axis=1)
                # IR column i reads torch (C, H, W) index perm[i]: the graph's row perm[i] is IR column i
                perm = chw_to_hwc(spatial)
                torch_order = np.empty_like(values)
                torch_order[:, perm] = values
                values, spatial = torch_order, None
            x = g.node("MatMul", [x, g.weights(values.T.copy(), layer.is_ternary)])
            channel_shape = [1, layer.n_outputs]
        if layer.output == "popcount":
            if not layer.is_ternary:             # a = 2 popcount - I  ->  popcount
                x = g.node("Mul", [g.node("Add", [x, g.const("n_inputs", float(n_in))]), g.const("half", 0.5)])
            break
        t = layer.thresholds.astype(np.float64)
        offset = -t if layer.is_ternary else n_in - 2 * t     # the activation is a + offset >= 0
        x = g.bipolar(g.node("Add", [x, g.const("threshold", offset.reshape(channel_shape))]))
        if layer.is_conv and layer.pool > 1:
            pool = [layer.pool] * (1 if layer.kind == "conv1d" else 2)
            x = g.node("MaxPool", [x], kernel_shape=pool, strides=pool)
    graph = helper.make_graph(g.nodes, "hwgen_network",
                              [helper.make_tensor_value_info("global_in", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], g.inits)
    model = helper.make_model(graph, producer_name="hwgen",
                              opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(QONNX_DOMAIN, 1)])
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_shapes import InferShapes

    wrapper = ModelWrapper(model)
    wrapper.set_metadata_prop("hwgen.metadata", json.dumps(network.metadata, sort_keys=True))
    wrapper.set_metadata_prop("hwgen.layer_names", json.dumps([layer.name for layer in network.layers]))
    return wrapper.transform(InferShapes()).model       # every tensor's shape, as qonnx's executor needs


def with_errors(network: Network, ber: float, seed: int) -> Network:
    """``network`` with the weights its arrays read under the error maps of ``hwgen sim --ber --seed``
    (:func:`hwgen.verify.scenario.network_layer_error_maps`, kernels stored once); the maps are
    recorded in the metadata (``error_map``)."""
    from ..bitpack import pack_bits
    from ..golden import effective_weights
    from ..ir import Layer
    from ..verify.scenario import network_layer_error_maps

    maps = network_layer_error_maps(network, seed, [1] * len(network.layers), ber=ber)
    layers = []
    for layer, error_map in zip(network.layers, maps):
        sign, nonzero = effective_weights(layer, error_map)
        zeros = None
        if nonzero is not None:
            zeros = ~nonzero & pack_bits(np.ones((1, layer.n_inputs), dtype=np.uint8))
            sign = sign & ~zeros                 # the IR's one encoding: a zero weight has sign bit 0
        conv = dict(kind=layer.kind, in_shape=layer.in_shape, kernel=layer.kernel, stride=layer.stride,
                    padding=layer.padding, pad_bit=layer.pad_bit, pool=layer.pool) if layer.is_conv else {}
        layers.append(Layer(n_inputs=layer.n_inputs, n_outputs=layer.n_outputs, weights=sign, zeros=zeros,
                            thresholds=layer.thresholds, output=layer.output, name=layer.name, **conv))
    errors = int(sum(int(np.count_nonzero(m)) for m in maps))
    return Network(layers, {**network.metadata, "error_map": {"ber": float(ber), "seed": int(seed), "errors": errors}})


def export_qonnx(network_path, out_path, ber: float | None = None, seed: int = 1) -> Path:
    """``hwgen export qonnx``: the IR file ``network_path`` as a QONNX file ``out_path`` (atomic);
    with ``ber``, the weights a chip with that error map reads (:func:`with_errors`)."""
    network = Network.load(network_path)
    if ber is not None:
        network = with_errors(network, ber, seed)
    model = network_to_qonnx(network)
    return atomic_write(Path(out_path), model.SerializeToString())
