"""The Brevitas path end to end (issue 22): a binary MLP and a binary conv net trained with Brevitas
layers (hwgen.exchange.brevitas_recipe), exported with ``export_qonnx``, read by ``hwgen import``;
the imported network's golden predictions equal qonnx's execution of the Brevitas export (and
torch's) on every image of the shipped test slice, and its RTL on Verilator is bit-exact (every
class and popcount against the golden model). Tiny networks, a few hundred steps, in `make test`;
the bigger ones (the README's numbers) in `make long`."""

import warnings

import numpy as np
import pytest
from click.testing import CliRunner

with warnings.catch_warnings():     # brevitas warns about its own deprecated fx and an optional kernel
    warnings.simplefilter("ignore")
    pytest.importorskip("brevitas.nn", reason="the hwgen[brevitas] extra is not installed")
    pytest.importorskip("brevitas.export", reason="the hwgen[brevitas] extra is not installed")

from hwgen.cli import main  # noqa: E402
from hwgen.data import binarize, default_data_dir, load_fixture, load_split, shipped_slice  # noqa: E402
from hwgen.exchange import brevitas_recipe as recipe  # noqa: E402
from hwgen.exchange.qonnx_run import graph_inputs, load_model, run_model  # noqa: E402
from hwgen.golden import network_forward  # noqa: E402
from hwgen.ir import Network  # noqa: E402
from hwgen.verify import run_network_regression  # noqa: E402

from conftest import check_network_run  # noqa: E402

SEED = 22
RECIPES = {
    # name: (arch, hidden, conv channels, steps, training images)
    "mlp": ("mlp", (64,), (), 300, 4000),
    "conv": ("conv", (32,), (8, 16), 300, 4000),
    "mlp-long": ("mlp", (256,), (), 3000, 60000),
    "conv-long": ("conv", (128,), (16, 32), 2000, 60000),
}


def training_set(count):
    """MNIST training images (../shared/data/mnist or HWGEN_DATA); without them, the first half of
    the shipped test slice (then the accuracy printed is not a held-out one)."""
    if default_data_dir("mnist") is not None:
        train = load_split("train")
        return train.images[:count], train.labels[:count], "MNIST train"
    print("no MNIST folder: training on the first 500 images of the shipped test slice")
    test = load_fixture(shipped_slice("mnist"))
    return test.images[:500], test.labels[:500], "test slice[:500]"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Train (once per recipe), export QONNX, ``hwgen import``; returns (model, onnx path, network)."""
    done = {}

    def get(name):
        if name not in done:
            arch, hidden, channels, steps, count = RECIPES[name]
            images, labels, source = training_set(count)
            print(f"seed={SEED} recipe={name}: {steps} steps on {len(images)} images ({source})")
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)        # `make test` runs two workers on two cores: one thread each
            try:
                model = recipe.build_model(arch, hidden, channels)
                recipe.train(model, images, labels, steps=steps, seed=SEED)
            finally:
                torch.set_num_threads(threads)
            folder = tmp_path_factory.mktemp(f"brevitas_{name}")
            recipe.export(model, folder / "net.onnx")
            r = CliRunner().invoke(main, ["import", str(folder / "net.onnx"), "-o", str(folder / "net.npz")])
            assert r.exit_code == 0, r.output
            print(r.output)
            done[name] = (model, folder / "net.onnx", Network.load(folder / "net.npz"))
        return done[name]

    return get


def evaluation_set(long: bool):
    if long:
        if default_data_dir("mnist") is None:
            pytest.skip("no MNIST folder (../shared/data/mnist or HWGEN_DATA)")
        return load_split("test")
    return load_fixture(shipped_slice("mnist"))


def check_import(name, imported, long=False):
    model, onnx_path, network = imported(name)
    test = evaluation_set(long)
    qmodel = load_model(onnx_path)
    scores = run_model(qmodel, graph_inputs(qmodel, test.images))
    pred, _, _ = network_forward(network, binarize(test.images, network.input_threshold))
    torch_pred = recipe.predict(model, test.images)
    q_pred = scores.argmax(1)
    print(f"{name}: {network.describe()}; {len(pred)} images: accuracy torch {np.mean(torch_pred == test.labels):.4f}, "
          f"qonnx {np.mean(q_pred == test.labels):.4f}, golden (imported) {np.mean(pred == test.labels):.4f}; "
          f"golden vs qonnx {int(np.sum(pred != q_pred))} mismatches, golden vs torch {int(np.sum(pred != torch_pred))}")
    np.testing.assert_array_equal(pred, q_pred)
    np.testing.assert_array_equal(pred, torch_pred)
    assert np.mean(pred == test.labels) > 0.5          # it learned: a broken fold would sit near 0.1


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_imported_brevitas_network_equals_qonnx_execution(name, imported):
    check_import(name, imported)


@pytest.mark.long
@pytest.mark.parametrize("name", ["mlp-long", "conv-long"])
def test_bigger_brevitas_networks_on_the_whole_test_set(name, imported):
    """`make long`: the README's Brevitas networks on all 10,000 MNIST test images."""
    check_import(name, imported, long=True)


@pytest.mark.rtl
@pytest.mark.parametrize("sim, name, n, count", [("verilator", "mlp", 32, 100), ("icarus", "mlp", 32, 20),
                                                 pytest.param("verilator", "conv", 8, 20, marks=pytest.mark.long),
                                                 pytest.param("icarus", "conv", 8, 5, marks=pytest.mark.long),
                                                 pytest.param("verilator", "mlp-long", 32, 200, marks=pytest.mark.long),
                                                 pytest.param("verilator", "conv-long", 16, 50, marks=pytest.mark.long)])
def test_imported_brevitas_network_rtl_is_bit_exact(sim, name, n, count, imported, network_design):
    """The imported network generated and run on each simulator: every class and popcount equals
    the golden model's, the measured cycles the manifest's."""
    _, _, network = imported(name)
    design, built = network_design(sim, f"brevitas_{name}", network, n)
    r = run_network_regression(design, sim, count=count, build=built)
    check_network_run(r, design, count, 0.0)
    test = load_fixture(shipped_slice("mnist"))
    pred, _, _ = network_forward(network, binarize(test.images[:count], network.input_threshold))
    print(f"{name}: RTL on {sim}, {count} images, bit-exact; accuracy {np.mean(pred == test.labels[:count]):.4f}")


# FINN's own binarized MLPs (brevitas_examples.bnn_pynq, the networks of the FINN/BNN-PYNQ papers):
# name, the IR's shape, training steps (the bigger two in `make long`)
FINN_FC = [("tfc_1w1a", "784-64-64-64-10", 200),
           pytest.param("sfc_1w1a", "784-256-256-256-10", 300, marks=pytest.mark.long),
           pytest.param("lfc_1w1a", "784-1024-1024-1024-10", 300, marks=pytest.mark.long)]


@pytest.mark.parametrize("name, shape, steps", FINN_FC)
def test_finn_bnn_pynq_networks_import_exactly(name, shape, steps, tmp_path):
    """FINN's reference networks as Brevitas ships them (`model_with_cfg`: input 2x - 1 through a
    1-bit QuantIdentity, QuantLinear + BatchNorm1d + 1-bit QuantIdentity + Dropout per layer, the
    last QuantLinear into TensorNorm), briefly trained by the recipe's loop (weights clipped to
    [-1, 1] after every step, as FINN's trainer does), exported with export_qonnx and read by
    `hwgen import`: golden, qonnx and torch give the same class on every image of the shipped test
    slice."""
    import torch
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    images, labels, source = training_set(4000)
    print(f"seed={SEED} {name}: {steps} steps on {len(images)} images ({source})")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(SEED)
        model, _ = model_with_cfg(name, pretrained=False)
        recipe.train(model, images, labels, steps=steps, seed=SEED, after_step=lambda: model.clip_weights(-1, 1))
        recipe.export(model, tmp_path / "finn.onnx")
        test = load_fixture(shipped_slice("mnist"))
        torch_pred = recipe.predict(model, test.images)
    finally:
        torch.set_num_threads(threads)
    r = CliRunner().invoke(main, ["import", str(tmp_path / "finn.onnx"), "-o", str(tmp_path / "finn.npz")])
    print(r.output)
    assert r.exit_code == 0, r.output
    network = Network.load(tmp_path / "finn.npz")
    assert network.describe().startswith(shape) and network.input_threshold == 127    # 2x - 1 >= 0: pixel > 127
    qmodel = load_model(tmp_path / "finn.onnx")
    q_pred = run_model(qmodel, graph_inputs(qmodel, test.images)).argmax(1)
    pred, _, _ = network_forward(network, binarize(test.images, network.input_threshold))
    print(f"{name}: {len(pred)} images: accuracy golden {np.mean(pred == test.labels):.4f}; golden vs qonnx "
          f"{int(np.sum(pred != q_pred))} mismatches, golden vs torch {int(np.sum(pred != torch_pred))}")
    np.testing.assert_array_equal(pred, q_pred)
    np.testing.assert_array_equal(pred, torch_pred)
    assert np.mean(pred == test.labels) > 0.5


def test_finn_cnv_with_8_bit_pixels_is_refused_in_one_line(tmp_path):
    """FINN's CNV takes 8-bit pixels into its first convolution: hwgen's first layer takes binary
    inputs, so the import names the node and writes nothing."""
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    torch.manual_seed(SEED)
    model, _ = model_with_cfg("cnv_1w1a", pretrained=False)
    model.eval()
    export_qonnx(model, torch.rand(1, 3, 32, 32), export_path=str(tmp_path / "cnv.onnx"))
    r = CliRunner().invoke(main, ["import", str(tmp_path / "cnv.onnx"), "-o", str(tmp_path / "cnv.npz")])
    print(r.output)
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "8-bit activations" in r.output and "binary" in r.output
    assert not (tmp_path / "cnv.npz").exists()
