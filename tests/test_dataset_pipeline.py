"""Issue 25's acceptance: datasets that are not MNIST-shaped go through the whole pipeline with
no renaming, no resizing and no option beyond their data folder (the options given size the
networks small and the runs short):

- 8x8 digits (scikit-learn's, IDX files with a dataset.json, 10 classes) and synthesised 16x16
  bars (train.npz/test.npz named by their folder, 4 classes): train -> sweep -> rtl -> sim on
  Icarus and Verilator (every class and output popcount against the golden model) -> loop;
- CIFAR-shaped 32x32x3 random images (IDX4 files): train a conv net for 1 epoch -> rtl -> sim.

Accuracies are checked against the golden model on the same images, not against numbers
copied from a run."""

import csv

import numpy as np
import pytest

from test_bad_input import invoke, one_line_error
from user_datasets import cifar_shaped, digits, shapes

from hwgen.data import binarize, load_split
from hwgen.golden import network_forward
from hwgen.ir import Network

pytestmark = pytest.mark.rtl
torch = pytest.importorskip("torch")

TRAIN = ("--epochs", 20, "--batch-size", 50, "--threads", 1, "--seed", 3)


def golden_accuracy(model, folder, count=None, name=None) -> float:
    net = Network.load(model)
    test = load_split("test", folder, name or net.dataset)
    images, labels = test.images[:count], test.labels[:count]
    pred, _, _ = network_forward(net, binarize(images, net.input_threshold))
    return float((pred == labels).mean())


def ok(r):
    assert r.exit_code == 0, r.output
    return r.output


def pipeline(tmp_path, folder, name, hidden, classes, shape_text, min_accuracy, verilator_count=None):
    model = tmp_path / f"{name}.npz"
    out = ok(invoke("train", "--data-dir", folder, "--hidden", hidden, *TRAIN, "-o", model))
    assert f"[train] {name} ({shape_text}, {classes} classes)" in out
    net = Network.load(model)
    assert (net.dataset, net.classes, net.layers[-1].n_outputs) == (name, classes, classes)
    accuracy = net.metadata["test_accuracy"]
    print(f"{name}: trained test accuracy {100 * accuracy:.2f}%")
    assert accuracy >= min_accuracy
    # sweep: at BER 0 the golden model on the whole test set gives the trained accuracy
    out = ok(invoke("sweep", "--model", model, "--data-dir", folder, "--bers", "0,1e-2", "--repeats", 2,
                    "--out", tmp_path / "sweep"))
    assert "note:" not in out
    rows = list(csv.DictReader(open(next((tmp_path / "sweep").glob("*.csv")))))
    clean = [float(r["accuracy"]) for r in rows if float(r["ber"]) == 0]
    assert clean and clean[0] == pytest.approx(accuracy, abs=1e-9) == golden_accuracy(model, folder)
    # rtl: the output layer (and its argmax) has the dataset's class count
    design = tmp_path / f"rtl_{name}"
    ok(invoke("rtl", "--model", model, "--n", 16, "-o", design))
    # sim, default images (all of the test set, at most 200): every class and popcount vs golden
    build = ("--build-dir", tmp_path / "sim_build")
    out = ok(invoke("sim", design, "--sim", "icarus", "--data-dir", folder, "--ber", "1e-2", "--seed", 4, *build))
    n_test = len(load_split("test", folder, name).labels)
    count = min(200, n_test)
    assert (f"using the first 200 of the {n_test} images (the default cap" in out) == (n_test > 200)
    assert f"on {count} images ({name} test set" in out and "every class and output popcount equal" in out
    if verilator_count:
        out = ok(invoke("sim", design, "--sim", "verilator", "--data-dir", folder, "--count", verilator_count, *build))
        expected = golden_accuracy(model, folder, verilator_count)
        assert f"RTL accuracy {100 * expected:.2f}% on {verilator_count} images" in out
    # loop: every condition's accuracy on the test set (fewer than the 2000-image cap: all of it)
    out = ok(invoke("loop", "--model", model, "--data-dir", folder, "--repeats", 1, "--out", tmp_path / "loop"))
    assert f"[loop] {n_test} images of the {name} test set" in out
    rows = list(csv.DictReader(open(tmp_path / "loop" / "closed_loop.csv")))
    assert rows and {r["network"] for r in rows} == {name}
    # and the design refuses another dataset's images before anything is built
    other = tmp_path / "other.npz"
    rng = np.random.default_rng(25)
    np.savez(other, images=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), labels=np.zeros(5, np.uint8),
             dataset=np.array("mnist"))
    one_line_error(invoke("sim", design, "--sim", "icarus", "--images", other, *build), f"trained on {name} ({shape_text}",
                   "mnist (28x28)")
    return accuracy


def test_digits_8x8_through_the_pipeline(tmp_path):
    folder = digits(tmp_path / "digits")
    accuracy = pipeline(tmp_path, folder, "digits", 64, 10, "8x8", 0.75, 60)
    print(f"digits MLP 64-64-10: {100 * accuracy:.2f}%")


@pytest.mark.parametrize("verilator_count", [None, pytest.param(40, marks=pytest.mark.long)],
                         ids=["icarus", "verilator"])
def test_shapes_16x16_with_4_classes_through_the_pipeline(tmp_path, verilator_count):
    # make test: Icarus (the digits test builds Verilator); make long: Verilator too (a ~30 s build)
    folder = shapes(tmp_path / "shapes16")
    accuracy = pipeline(tmp_path, folder, "shapes16", 32, 4, "16x16", 0.8, verilator_count)
    print(f"shapes16 MLP 256-32-4: {100 * accuracy:.2f}%")


def test_cifar_shaped_colour_images_train_generate_and_simulate(tmp_path):
    folder = cifar_shaped(tmp_path / "cifar")
    model = tmp_path / "cifar.npz"
    out = ok(invoke("train", "--data-dir", folder, "--arch", "conv", "--conv", "4:3:2:1:2", "--hidden", "none",
                    "--epochs", 1, "--batch-size", 50, "--threads", 1, "-o", model))
    assert "[train] cifar (32x32x3, 10 classes)" in out
    net = Network.load(model)
    assert net.layers[0].in_shape == (32, 32, 3) and net.input_shape == (32, 32, 3)
    design = tmp_path / "rtl_cifar"
    ok(invoke("rtl", "--model", model, "--n", 8, "-o", design))
    out = ok(invoke("sim", design, "--sim", "icarus", "--data-dir", folder, "--count", 8, "--build-dir",
                    tmp_path / "sim_build"))
    assert f"RTL accuracy {100 * golden_accuracy(model, folder, 8):.2f}% on 8 images" in out
    assert "every class and output popcount equal" in out
