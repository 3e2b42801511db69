"""Accuracy-vs-BER sweep on the golden model (fast: the shipped 1000-image slice)."""

import csv

import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.data import MODELS_DIR, binarize, load_fixture
from hwgen.ir import Network
from hwgen.study.sweep import accuracy_vs_ber, summarize


@pytest.fixture(scope="module")
def shipped():
    net = Network.load(MODELS_DIR / "mnist_bnn.npz")
    split = load_fixture()
    return net, binarize(split.images[:300], net.metadata["input_threshold"]), split.labels[:300]


def test_sweep_is_seeded_and_degrades_with_ber(shipped):
    net, x, y = shipped
    seed = 42
    print(f"seed={seed}")
    rows = accuracy_vs_ber(net, x, y, (0.0, 1e-3, 0.3), repeats=2, seed=seed, progress=False)
    assert rows == accuracy_vs_ber(net, x, y, (0.0, 1e-3, 0.3), repeats=2, seed=seed, progress=False)
    assert [r["ber"] for r in rows] == [0.0, 1e-3, 1e-3, 0.3, 0.3]
    assert rows[0]["errors"] == 0 and 0 < rows[1]["errors"] < rows[3]["errors"]
    means = {r["ber"]: r["mean"] for r in summarize(rows)}
    assert means[0.3] < means[0.0] - 0.3          # 30% flipped weights wreck the network
    assert abs(means[1e-3] - means[0.0]) < 0.03   # paper: flat up to ~1e-3
    with pytest.raises(ValueError, match="bit error rate must be in"):
        accuracy_vs_ber(net, x, y, (1.5,), progress=False)


def test_sweep_cli_writes_csv_and_png(tmp_path, shipped, monkeypatch):
    monkeypatch.setattr("hwgen.data.default_data_dir", lambda dataset="mnist": None)   # force the shipped slice
    r = CliRunner().invoke(main, ["sweep", "--model", str(MODELS_DIR / "mnist_bnn.npz"), "--bers", "0,1e-2",
                                  "--repeats", "2", "--count", "200", "--out", str(tmp_path / "res")])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(tmp_path / "res" / "fig9_accuracy_vs_ber.csv")))
    assert [float(row["ber"]) for row in rows] == [0.0, 1e-2] and rows[1]["repeats"] == "2"
    assert (tmp_path / "res" / "fig9_accuracy_vs_ber.png").stat().st_size > 1000
    assert "shipped 1000-image slice" in r.output
    r = CliRunner().invoke(main, ["sweep", "--bers", "0,x", "--out", str(tmp_path / "bad")])
    assert r.exit_code == 2 and "'--bers': must be a number in [0, 1], not 'x'" in r.output


def test_error_aware_training_beats_the_standard_network_at_ber_4e_2():
    """Seed 002's claim on the shipped networks: trained with weight flips at 4e-2, the network keeps
    its accuracy at BER 4e-2 where the standard one (same recipe, no flips) loses points."""
    split = load_fixture()
    acc = {}
    for name in ("mnist_bnn_plain", "mnist_bnn_adapted"):
        net = Network.load(MODELS_DIR / f"{name}.npz")
        x = binarize(split.images, net.metadata["input_threshold"])
        rows = accuracy_vs_ber(net, x, split.labels, (0.0, 4e-2), repeats=3, seed=11, progress=False)
        acc[name] = {r["ber"]: r["mean"] for r in summarize(rows)}
    print(acc)
    assert acc["mnist_bnn_adapted"][4e-2] > acc["mnist_bnn_plain"][4e-2] + 0.01
    assert acc["mnist_bnn_adapted"][4e-2] > acc["mnist_bnn_adapted"][0.0] - 0.01
