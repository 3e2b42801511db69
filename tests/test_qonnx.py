"""QONNX exchange (issue 22): every shipped network through ``hwgen export qonnx`` and back is the
same IR, and qonnx's execution of the export gives the golden model's class scores on every image
of the shipped test slice; the import folds batch-norms with ties, negative and zero gammas and
per-channel scales exactly as qonnx executes them; bad graphs are refused in one line, exit 1,
nothing written."""

import io

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("qonnx", reason="the hwgen[onnx] extra is not installed")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from qonnx.core.modelwrapper import ModelWrapper  # noqa: E402
from qonnx.core.onnx_exec import execute_onnx  # noqa: E402
from qonnx.transformation.change_batchsize import ChangeBatchSize  # noqa: E402
from qonnx.transformation.infer_shapes import InferShapes  # noqa: E402

from hwgen.cli import main  # noqa: E402
from hwgen.data import MODELS_DIR, binarize, default_data_dir, load_fixture, load_split, shipped_slice  # noqa: E402
from hwgen.exchange.qonnx_export import QONNX_DOMAIN, network_to_qonnx  # noqa: E402
from hwgen.exchange.qonnx_import import qonnx_to_network  # noqa: E402
from hwgen.exchange.qonnx_run import graph_inputs, run_model  # noqa: E402
from hwgen.golden import network_forward  # noqa: E402
from hwgen.ir import Network  # noqa: E402

SHIPPED = ("mnist_bnn", "mnist_bnn_adapted", "mnist_bnn_plain", "mnist_conv", "mnist_conv_adapted", "mnist_tnn",
           "fashion_mnist_bnn", "fashion_mnist_conv")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ir_bytes(network: Network) -> bytes:
    f = io.BytesIO()
    network.save_to(f)
    return f.getvalue()


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip_and_qonnx_execution_equal_golden(name, tmp_path):
    """IR -> QONNX -> IR is the same file, byte for byte; qonnx's execution of the QONNX graph gives
    every class and class score of the golden model on the whole shipped test slice."""
    src = MODELS_DIR / f"{name}.npz"
    r = invoke("export", "qonnx", src, "-o", tmp_path / "net.onnx")
    assert r.exit_code == 0, r.output
    r = invoke("import", tmp_path / "net.onnx", "-o", tmp_path / "back.npz")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "back.npz").read_bytes() == src.read_bytes() == ir_bytes(Network.load(src))

    network = Network.load(src)
    test = load_fixture(shipped_slice(network.dataset), network.dataset)
    model = ModelWrapper(str(tmp_path / "net.onnx"))
    scores = run_model(model, graph_inputs(model, test.images))
    pred, golden, _ = network_forward(network, binarize(test.images, network.input_threshold))
    print(f"{name}: {len(pred)} images, {int((scores.argmax(1) != pred).sum())} class mismatches")
    assert len(pred) == len(test.images) == 1000
    np.testing.assert_array_equal(scores, golden)
    np.testing.assert_array_equal(scores.argmax(1), pred)


@pytest.mark.long
def test_mnist_bnn_qonnx_equals_golden_on_the_whole_test_set():
    """`make long`: the exported mnist_bnn run by qonnx on all 10,000 MNIST test images."""
    if default_data_dir("mnist") is None:
        pytest.skip("no MNIST folder (../shared/data/mnist or HWGEN_DATA)")
    network = Network.load(MODELS_DIR / "mnist_bnn.npz")
    test = load_split("test")
    model = ModelWrapper(network_to_qonnx(network))
    scores = run_model(model, graph_inputs(model, test.images))
    pred, golden, _ = network_forward(network, binarize(test.images, network.input_threshold))
    print(f"mnist_bnn: {len(pred)} images, {int((scores.argmax(1) != pred).sum())} class mismatches, "
          f"accuracy {np.mean(pred == test.labels):.4f}")
    assert len(pred) == 10000
    np.testing.assert_array_equal(scores, golden)


# -- folding: a hand-built QONNX graph with batch-norm ties, gamma < 0 and 0, per-channel scales -------
def tie_graph(seed: int, n_in=16, hidden=12, classes=4, activation="BipolarQuant"):
    """Pixels (1, n_in) -> binarise -> MatMul (binary weights, per-channel power-of-two scales) ->
    Add bias -> BatchNormalization (means on reachable pre-activations: ties; gamma +, - and 0) ->
    BipolarQuant -> Gemm (binary weights, scale 0.5) -> class scores."""
    rng = np.random.default_rng(seed)
    inits, nodes = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        return name

    def q(name, out, *inputs, op="BipolarQuant"):
        nodes.append(helper.make_node(op, list(inputs), [out], name=name, domain=QONNX_DOMAIN))

    nodes.append(helper.make_node("Sub", ["x", const("half", 0.5)], ["c"], name="centre"))
    q("in_q", "xb", "c", const("s_in", 1.0))
    s_w = 2.0 ** rng.integers(-2, 2, hidden)
    q("w1_q", "w1", const("w1_raw", rng.normal(size=(n_in, hidden))), const("s_w1", s_w.reshape(1, hidden)))
    nodes.append(helper.make_node("MatMul", ["xb", "w1"], ["m1"], name="fc1"))
    bias = rng.integers(-2, 3, hidden) * s_w
    nodes.append(helper.make_node("Add", ["m1", const("b1", bias)], ["a1"], name="bias1"))
    gamma = rng.choice([1.5, -0.75, 0.0], hidden)
    mean = (2 * rng.integers(-3, 4, hidden)) * s_w + bias             # a reachable pre-activation: a tie
    beta = np.where(gamma == 0, rng.choice([-1.0, 1.0], hidden), 0.0)
    nodes.append(helper.make_node("BatchNormalization", ["a1", const("g", gamma), const("beta", beta),
                                                         const("mu", mean), const("var", np.ones(hidden))],
                                  ["n1"], name="bn1", epsilon=0.0))
    if activation == "BipolarQuant":
        q("act1", "h1", "n1", const("s_a", 1.0))
    elif activation == "Quant":     # 1 bit, unsigned, zero point 0.5: levels ±1 (scale 2), round half to even at 0
        nodes.append(helper.make_node("Quant", ["n1", const("s_a", 2.0), const("z_a", 0.5), const("b_a", 1.0)], ["h1"],
                                      name="act1", domain=QONNX_DOMAIN, signed=0, narrow=0, rounding_mode="ROUND"))
    else:
        nodes.append(helper.make_node("Sign", ["n1"], ["h1"], name="act1"))
    q("w2_q", "w2", const("w2_raw", rng.normal(size=(classes, hidden))), const("s_w2", 0.5))
    nodes.append(helper.make_node("Gemm", ["h1", "w2"], ["y"], name="fc2", transB=1))
    graph = helper.make_graph(nodes, "ties", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QONNX_DOMAIN, 1)])
    return model, gamma


@pytest.mark.parametrize("activation", ["BipolarQuant", "Quant"])
def test_import_folds_ties_and_signs_as_qonnx_executes(activation):
    """Hidden bits and classes of the imported network equal qonnx's execution of the graph on 3000
    inputs, with batch-norm ties going the graph's way: to +1 for BipolarQuant (``>= 0``), to -1 for
    a 1-bit Quant (round half to even at 0)."""
    seed = 2201
    print(f"seed={seed} activation={activation}")
    model, gamma = tie_graph(seed, activation=activation)
    assert {1.5, -0.75, 0.0} <= set(gamma.tolist())
    network = qonnx_to_network(ModelWrapper(model))
    rng = np.random.default_rng(seed + 1)
    pixels = rng.integers(0, 256, (3000, 16)).astype(np.uint8)
    # the reference: qonnx's execution of the graph, hidden bits included
    wrapped = ModelWrapper(model).transform(ChangeBatchSize(len(pixels))).transform(InferShapes())
    ctx = execute_onnx(wrapped, {"x": pixels.astype(np.float32) / np.float32(255)}, return_full_exec_context=True)
    hidden, scores = ctx["h1"] > 0, ctx["y"]
    ties = int(np.sum(ctx["n1"] == 0))      # batch-norm outputs exactly 0: the tie goes to +1
    pred, _, acts = network_forward(network, binarize(pixels, network.input_threshold))
    print(f"{len(pixels)} inputs, {ties} hidden pre-activations at a tie; "
          f"{int(np.sum(acts[0].astype(bool) != hidden))} hidden-bit and {int(np.sum(pred != scores.argmax(1)))} "
          f"class mismatches")
    assert ties > 100 and network.input_threshold == 127
    np.testing.assert_array_equal(acts[0].astype(bool), hidden)
    np.testing.assert_array_equal(pred, scores.argmax(1))


# -- bad input ---------------------------------------------------------------------------------
def exported(tmp_path, name="mnist_tnn"):
    return ModelWrapper(network_to_qonnx(Network.load(MODELS_DIR / f"{name}.npz")))


def node_of(model, op, k=0):
    return [n for n in model.graph.node if n.op_type == op][k]


def float_network(model):
    """Weights as plain float initializers (the weight quantizers removed)."""
    for q in [n for n in model.graph.node if n.op_type in ("Quant", "BipolarQuant") and model.get_initializer(n.input[0]) is not None]:
        for user in model.find_consumers(q.output[0]):
            user.input[1] = q.input[0]
        model.graph.node.remove(q)
    return model


def two_bit(model):
    q = [n for n in model.graph.node if n.op_type == "Quant"][0]
    model.set_initializer(q.input[3], np.float32(2.0))
    q.attribute[[a.name for a in q.attribute].index("narrow")].i = 0
    return model


def four_bit(model):
    q = [n for n in model.graph.node if n.op_type == "Quant"][0]
    model.set_initializer(q.input[3], np.float32(4.0))
    return model


def hidden_activation(model):
    """The first hidden layer's BipolarQuant (the quantizers of constants and the input's skipped)."""
    return [n for n in model.graph.node if n.op_type == "BipolarQuant" and model.get_initializer(n.input[0]) is None][1]


def relu(model):
    act = hidden_activation(model)
    act.op_type, act.domain = "Relu", ""
    del act.input[1:]
    return model


def two_bit_activation(model):
    """The first hidden activation as a 2-bit Quant (4 levels)."""
    act = hidden_activation(model)
    act.op_type = "Quant"
    act.input.extend([model.make_new_valueinfo_name(), model.make_new_valueinfo_name()])
    model.set_initializer(act.input[2], np.float32(0.0))
    model.set_initializer(act.input[3], np.float32(2.0))
    act.attribute.extend([helper.make_attribute("signed", 1), helper.make_attribute("narrow", 0),
                          helper.make_attribute("rounding_mode", "ROUND")])
    return model


def two_outputs(model):
    act = hidden_activation(model)
    shape = model.get_tensor_shape(act.output[0])
    info = [vi for vi in model.graph.value_info if vi.name == act.output[0]][0]
    model.graph.value_info.remove(info)             # a graph output is not also an intermediate value
    model.graph.output.append(helper.make_tensor_value_info(act.output[0], TensorProto.FLOAT, shape))
    return model


def qcdq(model):
    """A standard-ONNX QCDQ graph (QuantizeLinear/DequantizeLinear), not QONNX."""
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="QuantizeLinear_0"),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="DequantizeLinear_0")]
    graph = helper.make_graph(nodes, "qcdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [numpy_helper.from_array(np.float32(0.1), "s"), numpy_helper.from_array(np.int8(0), "z")])
    return ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def plain_float(model):
    """A float ONNX network (torch.onnx-style MatMul/Relu), no quantizer at all."""
    rng = np.random.default_rng(3)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="MatMul_0"),
             helper.make_node("Relu", ["h"], ["y"], name="Relu_0")]
    graph = helper.make_graph(nodes, "float", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 784])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                              [numpy_helper.from_array(rng.normal(size=(784, 10)).astype(np.float32), "w")])
    return ModelWrapper(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))


def test_sign_at_a_tie_is_refused(tmp_path):
    """ONNX Sign gives 0 at 0: a batch-norm tie would make a third level, which hwgen refuses."""
    model, _ = tie_graph(2201, activation="Sign")
    ModelWrapper(model).save(str(tmp_path / "sign.onnx"))
    r = invoke("import", tmp_path / "sign.onnx", "-o", tmp_path / "out.npz")
    one_line_error(r, "node Sign_0 (Sign)", "third level")     # named as qonnx-cleanup names it
    assert not (tmp_path / "out.npz").exists()


BAD_GRAPHS = {
    # case: (model, mutation, fragments of the one-line error)
    "float-weights": ("mnist_bnn_plain", float_network, ("(MatMul)", "float weights")),
    "2-bit-4-levels": ("mnist_tnn", two_bit, ("(MatMul)", "2-bit weights with full range")),
    "4-bit": ("mnist_tnn", four_bit, ("(MatMul)", "4-bit weights", "1-bit or ternary")),
    "2-bit-activations": ("mnist_bnn_plain", two_bit_activation, ("(Quant)", "2-bit activations")),
    "unsupported-op": ("mnist_bnn_plain", relu, ("(Relu)", "unsupported op")),
    "two-outputs": ("mnist_bnn_plain", two_outputs, ("2 graph outputs",)),
    "not-qonnx-qcdq": ("mnist_bnn_plain", qcdq, ("(QuantizeLinear)", "not QONNX")),
    "float-network": ("mnist_bnn_plain", plain_float, ("no Quant or BipolarQuant node", "float network")),
}


@pytest.mark.parametrize("case", BAD_GRAPHS)
def test_bad_graphs_are_refused_in_one_line(case, tmp_path):
    name, mutate, fragments = BAD_GRAPHS[case]
    model = mutate(exported(tmp_path, name))
    model.save(str(tmp_path / "bad.onnx"))
    r = invoke("import", tmp_path / "bad.onnx", "-o", tmp_path / "out.npz")
    print(r.output)
    one_line_error(r, *fragments)
    assert not (tmp_path / "out.npz").exists()


@pytest.mark.parametrize("damage", ["truncated", "garbled", "empty", "missing"])
def test_damaged_files_are_refused_in_one_line(damage, tmp_path):
    good = exported(tmp_path, "mnist_bnn_plain").model.SerializeToString()
    path = tmp_path / "bad.onnx"
    if damage == "truncated":
        path.write_bytes(good[:len(good) // 3])
    elif damage == "garbled":
        rng = np.random.default_rng(7)
        path.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif damage == "empty":
        path.write_bytes(b"")
    r = invoke("import", path, "-o", tmp_path / "out.npz")
    print(r.output)
    one_line_error(r, "bad.onnx")
    assert not (tmp_path / "out.npz").exists()


def test_export_of_a_bad_ir_and_a_missing_extra(tmp_path, monkeypatch):
    (tmp_path / "bad.npz").write_bytes(b"not an npz")
    r = invoke("export", "qonnx", tmp_path / "bad.npz", "-o", tmp_path / "out.onnx")
    one_line_error(r, "bad.npz")
    assert not (tmp_path / "out.onnx").exists()
    monkeypatch.setitem(__import__("sys").modules, "qonnx", None)      # as if hwgen[onnx] were not installed
    r = invoke("export", "qonnx", MODELS_DIR / "mnist_bnn.npz", "-o", tmp_path / "out.onnx")
    one_line_error(r, "pip install 'hwgen[onnx]'")
    assert not (tmp_path / "out.onnx").exists()


def one_line_error(r, *fragments):
    assert r.exit_code == 1, (r.exit_code, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in r.output, r.output
    for f in fragments:
        assert f in r.output, (f, r.output)


@pytest.mark.parametrize("name", ["mnist_bnn_plain", "mnist_tnn", "mnist_conv"])
def test_export_with_an_error_map_reproduces_the_faulty_chip(name, tmp_path):
    """``export qonnx --ber --seed``: qonnx's execution of the export equals the golden model under
    the error maps ``hwgen sim`` draws for that BER and seed, on the whole test slice."""
    from hwgen.verify.scenario import network_layer_error_maps

    ber, seed = 2e-2, 2203
    print(f"seed={seed} ber={ber}")
    r = invoke("export", "qonnx", MODELS_DIR / f"{name}.npz", "-o", tmp_path / "faulty.onnx", "--ber", ber,
               "--seed", seed)
    assert r.exit_code == 0, r.output
    network = Network.load(MODELS_DIR / f"{name}.npz")
    maps = network_layer_error_maps(network, seed, [1] * len(network.layers), ber=ber)
    test = load_fixture(shipped_slice(network.dataset), network.dataset)
    x = binarize(test.images, network.input_threshold)
    model = ModelWrapper(str(tmp_path / "faulty.onnx"))
    scores = run_model(model, graph_inputs(model, test.images))
    pred, golden, _ = network_forward(network, x, maps)
    clean, _, _ = network_forward(network, x)
    print(f"{name}: {sum(int(np.count_nonzero(m)) for m in maps)} errors, {int(np.sum(pred != clean))} of "
          f"{len(pred)} classes changed by them, {int(np.sum(scores.argmax(1) != pred))} mismatches")
    assert np.any(pred != clean)             # the errors matter, so the check can fail
    np.testing.assert_array_equal(scores, golden)
