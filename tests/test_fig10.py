"""Fig. 10 study (hwgen.study.fig10), fast: a tiny family on 800 + 200 images of the shipped
MNIST slice, one epoch, a fake BNN energy model."""

import csv
import math

import numpy as np
import pytest

from conftest import write_idx
from hwgen.data import load_fixture
from hwgen.study import fig10

SEED = 20261126
WIDTHS = (8, 16)


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """The four IDX files of 800 training and 200 test images (the shipped MNIST slice)."""
    folder = tmp_path_factory.mktemp("tiny_mnist")
    split = load_fixture()
    for name, sl in (("train", slice(0, 800)), ("t10k", slice(800, 1000))):
        write_idx(folder / f"{name}-images-idx3-ubyte.gz", split.images[sl])
        write_idx(folder / f"{name}-labels-idx1-ubyte.gz", split.labels[sl])
    return folder


def fake_energy(network):
    # any function of the network will do: one femtojoule per weight
    return 1e-15 * sum(layer.n_inputs * layer.n_outputs for layer in network.layers)


def run(out, data, **kw):
    return fig10.run_fig10(out, fake_energy, widths=WIDTHS, hidden_layers=(1, 2), epochs=1, seed=SEED,
                           data_dir=data, progress=False, threads=1, **kw)


def test_fig10_rows_energies_plot_and_cache(tiny_mnist, tmp_path, monkeypatch):
    print(f"seed={SEED}")
    rows = run(tmp_path / "out", tiny_mnist)
    with open(tmp_path / "out" / "fig10.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows) == 2 * 2 * len(WIDTHS)
    assert (tmp_path / "out" / "fig10.png").stat().st_size > 10_000
    shapes = {(1, 8): [784, 8, 10], (1, 16): [784, 16, 10], (2, 8): [784, 8, 8, 10], (2, 16): [784, 16, 16, 10]}
    for row in table:
        sizes = shapes[int(row["hidden_layers"]), int(row["width"])]
        macs = sum(a * b for a, b in zip(sizes, sizes[1:]))        # independent of fig10.synapses
        assert row["sizes"] == "-".join(map(str, sizes)) and int(row["synapses"]) == macs
        want = macs * (0.2e-12 + 0.03e-12) if row["kind"] == "int8" else macs * 1e-15
        assert float(row["energy_j"]) == pytest.approx(want, rel=1e-12)
        assert float(row["energy_ratio"]) == pytest.approx(0.23e-12 / 1e-15, rel=1e-12)
        assert 0.0 <= float(row["accuracy"]) <= 1.0
    # one epoch on 800 images: the BNN learns something (chance is 10%); the float net barely
    # starts at Adam 1e-3 in 8 steps, but quantization keeps whatever it learned
    assert max(float(r["accuracy"]) for r in table if r["kind"] == "bnn") > 0.3
    for r in table:
        if r["kind"] == "int8":
            assert float(r["accuracy"]) == pytest.approx(float(r["float_accuracy"]), abs=0.05)

    # a rerun, into another output folder with the same cache, trains nothing
    cache = tmp_path / "out" / "models"
    stamps = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")}
    assert len(stamps) == 2 * 2 * len(WIDTHS)

    def refuse(*a, **k):
        raise AssertionError("retrained a cached model")

    monkeypatch.setattr(fig10, "train_and_export", refuse)
    monkeypatch.setattr(fig10, "train_float_mlp", refuse)
    again = run(tmp_path / "again", tiny_mnist, cache_dir=cache)
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.npz")} == stamps
    assert len(again) == len(rows)
    assert (tmp_path / "again" / "fig10.csv").read_text() == (tmp_path / "out" / "fig10.csv").read_text()

    # another training recipe is another cache entry
    with pytest.raises(AssertionError, match="retrained"):
        fig10.run_fig10(tmp_path / "other", fake_energy, widths=(8,), hidden_layers=(1,), epochs=2, seed=SEED,
                        data_dir=tiny_mnist, progress=False, threads=1, cache_dir=cache)


def test_unknown_bnn_energy_is_left_out_of_the_plot(tiny_mnist, tmp_path):
    rows = fig10.run_fig10(tmp_path, lambda net: math.nan, widths=(8,), hidden_layers=(1,), epochs=1, seed=SEED,
                           data_dir=tiny_mnist, progress=False, threads=1)
    assert [r["kind"] for r in rows] == ["bnn", "int8"]
    assert math.isnan(rows[0]["energy_j"]) and math.isnan(rows[1]["energy_ratio"])
    assert (tmp_path / "fig10.png").is_file()


def test_horowitz_figures_and_node_scaling():
    assert fig10.int8_mac_energy() == pytest.approx(0.23e-12)
    assert fig10.int8_energy([784, 100, 10]) == pytest.approx((78400 + 1000) * 0.23e-12)
    # C ~ L, E ~ C V^2: 130 nm at 1.8 V costs (130/45) * 4 times more
    assert fig10.int8_mac_energy(130, 1.8) == pytest.approx(0.23e-12 * 130 / 45 * 4)
    assert fig10.int8_mac_energy(45, 0.9) == pytest.approx(0.23e-12)


def test_integer_inference_matches_float_within_quantization():
    """The quantized network agrees with its float original on most inputs, and its
    accumulators are integers (exact in float64)."""
    rng = np.random.default_rng(SEED)
    w = [rng.normal(0, 0.05, (32, 784)).astype(np.float32), rng.normal(0, 0.2, (10, 32)).astype(np.float32)]
    b = [rng.normal(0, 0.1, 32).astype(np.float32), rng.normal(0, 0.1, 10).astype(np.float32)]
    pixels = rng.integers(0, 256, (500, 784)).astype(np.uint8)
    q = fig10.quantize_int8(w, b, pixels)
    assert q["w"][0].dtype == np.int8 and np.abs(q["w"][0]).max() == 127
    x = pixels / 255.0
    ref = (np.maximum(x @ w[0].T + b[0], 0) @ w[1].T + b[1]).argmax(1)
    assert (fig10.int8_forward(q, pixels) == ref).mean() > 0.9


def test_energy_at_accuracy_interpolates_in_log_energy():
    curve = [(1e-9, 0.80), (1e-8, 0.90), (1e-7, 0.95)]
    assert fig10.energy_at_accuracy(0.85, curve) == pytest.approx(10 ** -8.5)
    assert fig10.energy_at_accuracy(0.95, curve) == pytest.approx(1e-7)
    assert math.isnan(fig10.energy_at_accuracy(0.99, curve))
    assert math.isnan(fig10.energy_at_accuracy(0.70, curve))


# -- user datasets (issue 25): P-w-K on the dataset's own pixels and classes -------------------------
def fake_estimate(network, n, platform, period_ns, log=None):
    return {"total_j": fake_energy(network)}


def test_fig10_on_a_user_dataset_by_its_folder(tmp_path, monkeypatch):
    """`hwgen fig10 --data-dir` on 16x16 bars of 4 classes (named by the folder): the BNNs and the
    8-bit networks take 256 pixels and give 4 classes, the CSV and PNG are written, a rerun
    reuses the cache, and the same files under another dataset name share no cached model. The
    energy model is replaced by fake_energy (the real one replays gate-level traces for ~25 s)."""
    from click.testing import CliRunner

    from conftest import sky130
    from hwgen.cli import main
    from hwgen.flow import energy
    from hwgen.ir import Network
    from user_datasets import shapes

    sky130()
    monkeypatch.setattr(energy, "estimate_network_energy", fake_estimate)
    print(f"seed={SEED}")
    data = shapes(tmp_path / "shapes16", train=200, test=50)
    r = CliRunner().invoke(main, ["fig10", "--data-dir", str(data), "--widths", "4", "--hidden-layers", "1,2",
                                  "--epochs", "1", "--seed", str(SEED), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "fig10.csv") as f:
        table = list(csv.DictReader(f))
    assert sorted((x["kind"], x["sizes"]) for x in table) == [("bnn", "256-4-4"), ("bnn", "256-4-4-4"),
                                                              ("int8", "256-4-4"), ("int8", "256-4-4-4")]
    assert (tmp_path / "out" / "fig10.png").stat().st_size > 10_000
    for x in table:
        want = [(256, 4), (4, 4)] if x["hidden_layers"] == "1" else [(256, 4), (4, 4), (4, 4)]
        if x["kind"] == "bnn":
            net = Network.load(x["model"])
            assert [(lyr.n_inputs, lyr.n_outputs) for lyr in net.layers] == want
            assert net.dataset_info.describe() == "shapes16 (16x16, 4 classes)"
            assert float(x["energy_j"]) == pytest.approx(1e-15 * sum(a * b for a, b in want))
        else:
            with np.load(x["model"]) as z:
                assert [z[f"w{k}"].shape[::-1] for k in range(len(want))] == want
    bnn_16 = {x["sizes"]: float(x["accuracy"]) for x in table if x["kind"] == "bnn"}

    def refuse(*a, **k):
        raise AssertionError("retrained a cached model")

    monkeypatch.setattr(fig10, "train_and_export", refuse)
    monkeypatch.setattr(fig10, "train_float_mlp", refuse)
    cache = tmp_path / "out" / "models"
    again = fig10.run_fig10(tmp_path / "again", fake_energy, widths=(4,), hidden_layers=(1, 2), epochs=1, seed=SEED,
                            data_dir=data, dataset=None, progress=False, cache_dir=cache)
    assert {r["sizes"]: r["accuracy"] for r in again if r["kind"] == "bnn"} == bnn_16
    # the same files named another dataset (dataset.json) are another cache entry
    (data / "dataset.json").write_text('{"name": "bars"}')
    with pytest.raises(AssertionError, match="retrained"):
        fig10.run_fig10(tmp_path / "bars", fake_energy, widths=(4,), hidden_layers=(1,), epochs=1, seed=SEED,
                        data_dir=data, dataset=None, progress=False, cache_dir=cache)


def test_fig10_refuses_a_bad_data_folder_in_one_line(tmp_path):
    from click.testing import CliRunner

    from conftest import sky130
    from hwgen.cli import main

    sky130()
    empty = tmp_path / "mine"
    empty.mkdir()
    r = CliRunner().invoke(main, ["fig10", "--data-dir", str(empty), "--widths", "4", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines() == [f"Error: {empty} has no train split: neither "
                                             "train-images-idx3-ubyte[.gz] with train-labels-idx1-ubyte[.gz] nor "
                                             "train.npz"], r.output
    r = CliRunner().invoke(main, ["fig10", "--dataset", "cifar10", "--widths", "4", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "--dataset" in r.output.splitlines()[-1] and "Traceback" not in r.output, r.output
