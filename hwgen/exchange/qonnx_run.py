"""Loading a QONNX graph and running it with qonnx's reference executor
(:func:`qonnx.core.onnx_exec.execute_onnx`, node by node: qonnx's own Quant/BipolarQuant, the
standard ops through onnxruntime). The checks compare hwgen's golden model with these runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from . import require


def load_model(path):
    """A :class:`qonnx.core.modelwrapper.ModelWrapper` of the .onnx file ``path``, or a one-line
    :class:`ModelFileError` for a missing, truncated or garbled file."""
    require("onnx", "onnx", "qonnx", "onnxruntime")
    import onnx
    from google.protobuf.message import DecodeError
    from qonnx.core.modelwrapper import ModelWrapper

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} does not exist")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{path} is empty")
    try:
        proto = onnx.load(str(path))
    except (DecodeError, ValueError, RuntimeError, OSError, EOFError) as e:
        raise ModelFileError(f"{path} is truncated, garbled or not an ONNX file: {type(e).__name__}: "
                             f"{' '.join(str(e).split())[:200]}") from None
    if not proto.graph.node:
        raise ModelFileError(f"{path} is not an ONNX model (no graph nodes; a truncated or garbled file?)")
    try:
        onnx.checker.check_model(proto)
    except Exception as e:  # onnx raises ValidationError and others for a malformed graph
        raise ModelFileError(f"{path} is not a valid ONNX model: {' '.join(str(e).split())[:200]}") from None
    try:
        return ModelWrapper(proto)
    except Exception as e:  # qonnx asserts on graphs it cannot wrap (e.g. a tensor described twice)
        raise ModelFileError(f"{path}: qonnx cannot read the graph: {type(e).__name__}: "
                             f"{' '.join(str(e).split())[:200]}") from None


def run_model(model, x: np.ndarray, batch: int = 500) -> np.ndarray:
    """The graph's single output for the inputs ``x`` (first axis: images), run by qonnx's
    executor ``batch`` images at a time (its batch size changed by qonnx's ChangeBatchSize)."""
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes

    x = np.asarray(x, dtype=np.float32)
    name = model.graph.input[0].name
    out, sized = [], {}
    for start in range(0, len(x), batch):
        chunk = x[start:start + batch]
        if len(chunk) not in sized:
            sized[len(chunk)] = model.transform(ChangeBatchSize(len(chunk))).transform(InferShapes())
        m = sized[len(chunk)]
        out.append(execute_onnx(m, {name: chunk})[m.graph.output[0].name])
    return np.concatenate(out)


def graph_inputs(model, images: np.ndarray, divisor: float = 255.0) -> np.ndarray:
    """Images ``(B, H, W)`` uint8 as the graph's input tensor (``pixel / divisor`` in float32, as torchvision's
    ToTensor divides by 255, shaped as the
    graph's input with the batch axis ``B``)."""
    shape = list(model.get_tensor_shape(model.graph.input[0].name))
    x = np.asarray(images, dtype=np.float32) / np.float32(divisor)
    return x.reshape([len(x), *shape[1:]])
