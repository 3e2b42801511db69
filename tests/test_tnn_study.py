"""The TNN-vs-BNN study command end to end on a tiny dataset: both kinds trained with one recipe,
error maps of each kind's own types, the summary's TNN-minus-BNN columns, read energies that
scale as V^2, the cache, and one-line option errors."""

import csv

import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.device.physics import CHECKERBOARD, ber_2t2r
from hwgen.device.ternary import ternary_rates
from hwgen.study.tnn import summarize

from conftest import idx_dataset, sky130

pytest.importorskip("torch")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_tnn_study_on_a_tiny_dataset(tmp_path):
    sky130()  # the read energy comes from the platform's macro model
    data = idx_dataset(tmp_path / "tiny", n_train=200, n_test=50)
    args = ("tnn", "--dataset", "mnist", "--data-dir", data, "--widths", "8,16", "--seeds", "4", "--epochs", 1,
            "--repeats", 2, "--out", tmp_path / "out")
    print("seeds=4 (training), error maps from hwgen.seeds child streams")
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    rates = ternary_rates(CHECKERBOARD, 0.9)
    assert f"BER {ber_2t2r(CHECKERBOARD):.3g}" in r.output and f"0 as +-1 {rates.zero_as_pm:.3g}" in r.output
    runs = read(tmp_path / "out" / "tnn_runs.csv")
    assert sorted((x["kind"], x["size"], x["training"]) for x in runs) == sorted(
        (k, h, t) for k in ("bnn", "tnn") for h in ("8", "16") for t in ("plain", "aware"))
    for x in runs:
        assert (float(x["zero_fraction"]) > 0) == (x["kind"] == "tnn")
        assert int(x["weights"]) == int(x["senses"]) == 784 * int(x["size"]) + int(x["size"]) ** 2 + 10 * int(x["size"])
    energy = {(x["kind"], x["size"]): float(x["read_energy_j"]) / int(x["senses"]) for x in runs}
    assert energy["tnn", "8"] == pytest.approx(energy["bnn", "8"] * (0.9 / 1.2) ** 2)
    summary = read(tmp_path / "out" / "tnn_summary.csv")
    assert len(summary) == 8 and all(x["tnn_minus_bnn_accuracy"] != "" for x in summary if x["kind"] == "tnn")
    assert (tmp_path / "out" / "tnn.png").stat().st_size > 10_000
    # a second run trains nothing (the models are cached)
    again = invoke(*args)
    assert again.exit_code == 0 and "[train]" not in again.output
    assert read(tmp_path / "out" / "tnn_runs.csv") == runs


def test_conv_study_counts_a_sense_per_position(tmp_path):
    """--arch conv: filters as the model size; a conv layer's kernels are sensed at every position."""
    sky130()
    data = idx_dataset(tmp_path / "tiny", n_train=100, n_test=20)
    r = invoke("tnn", "--arch", "conv", "--dataset", "mnist", "--data-dir", data, "--widths", "2", "--seeds", "4",
               "--epochs", 1, "--repeats", 1, "--no-aware", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    runs = read(tmp_path / "out" / "tnn_runs.csv")
    assert sorted(x["kind"] for x in runs) == ["bnn", "tnn"] and all(x["arch"] == "conv" for x in runs)
    # 3x3x1 -> 2 filters at 28x28 positions, 3x3x2 -> 4 at 14x14, then 7x7x4 = 196 -> 10
    assert all(int(x["weights"]) == 9 * 2 + 18 * 4 + 196 * 10 for x in runs)
    assert all(int(x["senses"]) == 9 * 2 * 784 + 18 * 4 * 196 + 196 * 10 for x in runs)


def test_summary_subtracts_the_bnn_of_the_same_width_and_training():
    runs = [{"dataset": "d", "arch": "mlp", "kind": k, "size": 8, "training": "plain", "seed": s, "weights": 10,
             "senses": 10, "zero_fraction": 0,
             "accuracy": a, "accuracy_errors": a - 0.1, "read_energy_j": 1.0}
            for k, s, a in (("bnn", 1, 0.5), ("bnn", 2, 0.7), ("tnn", 1, 0.8), ("tnn", 2, 0.8))]
    out = {x["kind"]: x for x in summarize(runs)}
    assert out["bnn"]["accuracy"] == pytest.approx(0.6) and out["bnn"]["accuracy_std"] == pytest.approx(0.1)
    assert out["tnn"]["tnn_minus_bnn_accuracy"] == pytest.approx(0.2)
    assert out["bnn"]["tnn_minus_bnn_accuracy"] == ""


@pytest.mark.parametrize("args, fragment", [
    (("--dataset", "cifar10"), "--dataset"),        # no built-in dataset, no folder
    (("--dataset", "Cifar"), "--dataset"),
    (("--dataset", "mnist,fashion-mnist", "--data-dir", "."), "takes one --dataset"),
    (("--seeds", "1,1"), "seeds repeat"),
    (("--vdd-ternary", "3"), "--vdd-ternary"),
    (("--condition", "55,2.5"), "condition must be"),
    (("--widths", "0"), "--widths"),
])
def test_bad_tnn_options_are_one_line_errors(args, fragment, tmp_path):
    r = invoke("tnn", *args, "--out", tmp_path / "o")
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and fragment in r.output, r.output


def test_conv_study_spread_layers_and_sensitivity(tmp_path):
    """Every error map's accuracy, errors confined to each layer, and the sensitivity sweep, whose
    points at the study's own supply and scale repeat the study's maps exactly."""
    sky130()
    data = idx_dataset(tmp_path / "tiny", n_train=100, n_test=30)
    print("seeds=5 (training), error maps from hwgen.seeds child streams")
    r = invoke("tnn", "--arch", "conv", "--dataset", "mnist", "--data-dir", data, "--widths", "2", "--seeds", "5",
               "--epochs", 1, "--repeats", 2, "--no-aware", "--vdd-sweep", "0.9,1.0", "--scale-sweep", "1,2",
               "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    out = tmp_path / "out"
    runs = {x["kind"]: x for x in read(out / "tnn_runs.csv")}
    maps = read(out / "tnn_maps.csv")
    for kind, run in runs.items():
        acc = sorted(float(m["accuracy_errors"]) for m in maps if m["kind"] == kind)
        assert len(acc) == int(run["accuracy_errors_maps"]) in (2, 8)
        assert float(run["accuracy_errors_min"]) == acc[0]
        assert float(run["accuracy_errors"]) == pytest.approx(sum(acc) / len(acc))
    layers = read(out / "tnn_layers.csv")
    assert sorted((x["kind"], x["layer"]) for x in layers) == sorted(
        (k, n) for k in ("bnn", "tnn") for n in ("conv1", "conv2", "fc1"))
    sens = read(out / "tnn_sensitivity.csv")
    assert sorted((x["axis"], x["value"]) for x in sens) == sorted(
        [("vdd", "0.9"), ("vdd", "1.0"), ("g_res_scale", "1.0"), ("g_res_scale", "2.0"),
         ("first_layer_vdd", "0.9"), ("first_layer_vdd", "1.0"), ("first_layer_condition", "200 uA / 2.5 V / 1 us")])
    same = [x for x in sens if (x["axis"], x["value"]) in (("vdd", "0.9"), ("g_res_scale", "1.0"),
                                                           ("first_layer_vdd", "0.9"))]
    for x in same:     # the study's own operating point: the study's maps, the study's accuracy
        assert float(x["tnn_accuracy_errors"]) == pytest.approx(float(runs["tnn"]["accuracy_errors"]))
        assert float(x["bnn_accuracy_errors"]) == pytest.approx(float(runs["bnn"]["accuracy_errors"]))
    at = {(x["axis"], x["value"]): x for x in sens}
    # a higher supply resolves more HRS/HRS pairs: more zeros read as +-1
    assert float(at["vdd", "1.0"]["zero_as_pm"]) > float(at["vdd", "0.9"]["zero_as_pm"])
    # the first-layer axis shows the first layer's rates
    assert at["first_layer_vdd", "1.0"]["zero_as_pm"] == at["vdd", "1.0"]["zero_as_pm"]
    assert float(at["first_layer_condition", "200 uA / 2.5 V / 1 us"]["zero_as_pm"]) < float(at["vdd", "0.9"]["zero_as_pm"])
    assert read(out / "tnn_crossovers.csv") is not None
    for png in ("tnn_spread.png", "tnn_layers.png", "tnn_sensitivity.png"):
        assert (out / png).stat().st_size > 10_000


# -- user datasets (issue 25): the layer sizes follow the data -----------------------------------
def cached(out, run):
    from hwgen.ir import Network

    return Network.load(out / "models" / run["model"])


def test_tnn_study_on_user_datasets_by_their_folder(tmp_path):
    """8x8 digits (IDX + dataset.json) as MLPs and 16x16 bars of 4 classes (npz, named by the
    folder) as conv nets, given by --data-dir alone: P-h-h-K and the conv stages on HxW follow the
    data, the input threshold is the dataset's, and the CSVs are written."""
    from user_datasets import digits, shapes

    sky130()
    print("seeds=2 (training), error maps from hwgen.seeds child streams")
    d = digits(tmp_path / "digits")
    r = invoke("tnn", "--data-dir", d, "--widths", 4, "--seeds", 2, "--epochs", 1, "--repeats", 1, "--no-aware",
               "--out", tmp_path / "mlp")
    assert r.exit_code == 0, r.output
    runs = read(tmp_path / "mlp" / "tnn_runs.csv")
    assert sorted(x["kind"] for x in runs) == ["bnn", "tnn"] and {x["dataset"] for x in runs} == {"digits"}
    for x in runs:
        net = cached(tmp_path / "mlp", x)
        assert [(lyr.n_inputs, lyr.n_outputs) for lyr in net.layers] == [(64, 4), (4, 4), (4, 10)]
        assert int(x["weights"]) == 64 * 4 + 4 * 4 + 4 * 10
        # dataset.json gives no threshold: half the largest training pixel (16)
        assert net.dataset_info.describe() == "digits (8x8, 10 classes)" and net.input_threshold == 8
    for name in ("tnn_summary.csv", "tnn_maps.csv", "tnn_layers.csv"):
        assert read(tmp_path / "mlp" / name), name

    s = shapes(tmp_path / "shapes16", train=200, test=50)
    r = invoke("tnn", "--arch", "conv", "--data-dir", s, "--widths", 2, "--seeds", 2, "--epochs", 1, "--repeats", 1,
               "--no-aware", "--out", tmp_path / "conv")
    assert r.exit_code == 0, r.output
    runs = read(tmp_path / "conv" / "tnn_runs.csv")
    assert {x["dataset"] for x in runs} == {"shapes16"} and len(runs) == 2
    for x in runs:
        net = cached(tmp_path / "conv", x)
        # 3x3x1 -> 2 filters at 16x16 positions, 3x3x2 -> 4 at 8x8, then 4x4x4 = 64 -> 4 classes
        assert [(lyr.n_inputs, lyr.n_outputs) for lyr in net.layers] == [(9, 2), (18, 4), (64, 4)]
        assert net.layers[0].geometry().positions == 256
        assert int(x["senses"]) == 9 * 2 * 256 + 18 * 4 * 64 + 64 * 4
        assert net.dataset_info.shape == (16, 16) and net.dataset_info.classes == 4


@pytest.mark.parametrize("make, args, fragment", [
    (lambda p: p, (), "has no train split"),                                   # an empty folder
    (lambda p: (p / "dataset.json").write_text('{"name": "Bad Name"}') and p, (), "dataset name 'Bad Name'"),
    ("digits", ("--dataset", "mnist"), "names the dataset 'digits', not 'mnist'"),
    (lambda p: p, ("--dataset", "mine,mnist"), "takes one --dataset"),
])
def test_a_bad_data_folder_is_a_one_line_error(make, args, fragment, tmp_path):
    from user_datasets import digits

    folder = tmp_path / "data"
    folder.mkdir()
    folder = digits(folder) if make == "digits" else make(folder)
    r = invoke("tnn", "--data-dir", folder, *args, "--widths", 4, "--seeds", 1, "--epochs", 1, "--out", tmp_path / "o")
    assert r.exit_code != 0 and "Traceback" not in r.output, r.output
    lines = [x for x in r.output.splitlines() if x.strip() and not x.startswith(("Usage:", "Try "))]
    assert len(lines) == 1 and lines[0].startswith("Error:") and fragment in lines[0], r.output
    assert not (tmp_path / "o" / "models").exists() or not any((tmp_path / "o" / "models").iterdir())
