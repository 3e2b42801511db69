"""Mixed networks (issue 26): a ternary network whose first weighted layer stays binary. The model,
its export (every activation bit equal to torch eval), its checkpoint, the training command, the
error maps of the study (binary layers at the binary BER, ternary layers at the ternary rates)
and the study's third kind with its read energy."""

import csv

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.device import network_error_maps
from hwgen.device.physics import CHECKERBOARD, ber_2t2r
from hwgen.device.ternary import TernaryRates
from hwgen.golden import network_forward
from hwgen.ir import Layer, Network
from hwgen.study import tnnerrors
from hwgen.train.export import load_checkpoint, save_checkpoint
from hwgen.train.loop import TrainConfig, predict
from hwgen.train.model import BinaryConv2d, BinaryConvNet, BinaryLinear, BinaryMLP, TernaryConv2d, TernaryLinear

from conftest import idx_dataset, sky130
from test_train_ternary import check_export, randomize

SEED = 26


def test_mixed_mlp_and_conv_net_export_equals_torch_eval():
    print(f"seed={SEED}")
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    mlp = BinaryMLP([61, 48, 40, 10], weights="ternary", first_weights="binary")
    assert type(mlp.hidden[0]) is BinaryLinear and isinstance(mlp.hidden[1], TernaryLinear)
    check_export(randomize(mlp, rng), rng.integers(0, 2, (2000, 61), dtype=np.uint8), binary_first=True)
    conv = BinaryConvNet((11, 9, 3), [(8, 3, 1, 1, 2), (9, 3, 2, 1, 1)], [12], 10, weights="ternary",
                         first_weights="binary")
    assert type(conv.convs[0]) is BinaryConv2d and isinstance(conv.convs[1], TernaryConv2d)
    net = check_export(randomize(conv, rng, pool_bn_stages=(0, 1)),
                       rng.integers(0, 2, (400, 11 * 9 * 3), dtype=np.uint8), binary_first=True)
    assert net.layers[0].is_conv and not net.layers[0].is_ternary


def test_mixed_checkpoint_keeps_the_binary_first_layer(tmp_path):
    rng = np.random.default_rng(SEED)
    torch.manual_seed(SEED)
    model = randomize(BinaryConvNet((6, 7, 2), [(5, 3, 1, 1, 2)], [8], 10, weights="ternary",
                                    first_weights="binary"), rng, pool_bn_stages=(0,)).float()
    path = save_checkpoint(model, tmp_path / "m.pt")
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["first_weights"] == "binary"
    assert set(ckpt["state"]["convs.0.weight"].unique().tolist()) == {-1, 1}          # signs, no zeros
    assert 0 in ckpt["state"]["out.weight"].unique().tolist()
    reloaded = load_checkpoint(path)
    assert type(reloaded.convs[0]) is BinaryConv2d and reloaded.first_weights == "binary"
    x = rng.integers(0, 2, (300, 84), dtype=np.uint8)
    assert np.array_equal(predict(reloaded, x, exact=True)[0], predict(model, x, exact=True)[0])


def test_train_config_mixed_fields():
    plain = TrainConfig(sizes=[784, 10], weights="ternary")
    assert "first_weights" not in plain.as_dict() and "first_flip_ber" not in plain.as_dict()
    mixed = TrainConfig(sizes=[784, 10], weights="ternary", first_weights="binary", first_flip_ber=0.002)
    assert (mixed.as_dict()["first_weights"], mixed.as_dict()["first_flip_ber"]) == ("binary", 0.002)
    model = mixed.build_model()
    assert type(model.out) is BinaryLinear and model.out.flip_ber == 0.002      # 784-10: its only layer is the first
    with pytest.raises(ValueError, match="only a ternary model's first layer"):
        TrainConfig(sizes=[784, 10], first_weights="ternary")
    with pytest.raises(ValueError, match="first_flip_ber"):
        TrainConfig(sizes=[784, 10], weights="ternary", first_flip_ber=0.1)


def test_train_cli_mixed_conv_net(tmp_path):
    data = idx_dataset(tmp_path / "tiny", n_train=80, n_test=20)
    out = tmp_path / "m.npz"
    r = CliRunner().invoke(main, [str(a) for a in (
        "train", "mnist", "--data-dir", data, "--weights", "ternary", "--first-layer-binary", "--first-flip-ber", 0.01,
        "--arch", "conv", "--conv", "4,6", "--epochs", 1, "--batch-size", 20, "--threads", 1, "-o", out)])
    assert r.exit_code == 0, r.output
    assert "export check: golden model on the IR equals torch eval" in r.output
    net = Network.load(out)
    assert [layer.is_ternary for layer in net.layers] == [False, True, True]
    assert net.metadata["train"]["first_weights"] == "binary"
    card = out.with_suffix(".md").read_text()
    assert "**Mixed:** conv1 is binary" in card and "--first-layer-binary --first-flip-ber 0.01" in card
    assert load_checkpoint(out.with_suffix(".pt")).first_weights == "binary"


@pytest.mark.parametrize("args, fragment", [
    (("--first-layer-binary",), "Invalid value for --first-layer-binary: applies to --weights ternary only"),
    (("--weights", "ternary", "--first-flip-ber", "0.1"), "--first-flip-ber: applies to --first-layer-binary only"),
])
def test_bad_mixed_options_are_one_line_errors(args, fragment, tmp_path):
    r = CliRunner().invoke(main, ["train", "mnist", *args, "--data-dir", str(tmp_path), "-o", str(tmp_path / "n.npz")])
    assert r.exit_code == 2, r.output
    errors = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert "Traceback" not in r.output and len(errors) == 1 and fragment in errors[0], r.output


def mixed_net(seed=3):
    rng = np.random.default_rng(seed)
    first = Layer.from_bits(rng.integers(0, 2, (32, 64)), np.full(32, 32), name="fc1")
    out = Layer.from_ternary(rng.integers(-1, 2, (10, 32)).astype(np.int8), np.zeros(10, dtype=np.int64),
                             output="popcount", name="fc2")
    return Network(layers=[first, out], metadata={})


def test_study_maps_of_a_mixed_network_follow_each_layers_read():
    print("seed=3 (weights), 11 (maps)")
    net = mixed_net()
    values = [lyr.values() for lyr in net.layers]
    rates = TernaryRates(0.2, 0.2, 0.01)
    maps = tnnerrors._maps(net, values, 0.05, rates, 11, 0)
    binary = network_error_maps(net, 0.05, tnnerrors.seeds.child_seed(11, "sweep", 0, 0))
    assert np.array_equal(maps[0], binary[0]) and 0 < maps[0].mean() < 0.1       # flips at the BER
    assert set(np.unique(maps[1])) <= {0, 1, 2, 3} and (maps[1] >= 2).any()        # ternary codes
    x = np.random.default_rng(5).integers(0, 2, (200, 64)).astype(np.uint8)
    labels = network_forward(net, x)[0]
    acc = tnnerrors.error_accuracies(net, x, labels, 0.05, rates, 2, 11, more=False)
    assert all(0 < a < 1 for a in acc)


def test_tnn_study_with_a_binary_first_layer(tmp_path):
    sky130()
    data = idx_dataset(tmp_path / "tiny", n_train=100, n_test=20)
    r = CliRunner().invoke(main, [str(a) for a in (
        "tnn", "--arch", "conv", "--dataset", "mnist", "--data-dir", data, "--widths", "2", "--seeds", "4",
        "--epochs", 1, "--repeats", 1, "--no-aware", "--first-binary", "--out", tmp_path / "out")])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "out" / "tnn_runs.csv", newline="") as f:
        runs = {x["kind"]: x for x in csv.DictReader(f)}
    assert sorted(runs) == ["bnn", "tnn", "tnn_b1"]
    per_sense = {k: float(x["read_energy_j"]) for k, x in runs.items()}
    first_senses = 9 * 2 * 784                          # conv1: 3x3x1 -> 2 filters at 28x28 positions
    rest = int(runs["tnn"]["senses"]) - first_senses
    e_bin, e_ter = per_sense["bnn"] / int(runs["bnn"]["senses"]), per_sense["tnn"] / int(runs["tnn"]["senses"])
    assert per_sense["tnn_b1"] == pytest.approx(first_senses * e_bin + rest * e_ter)
    with open(tmp_path / "out" / "tnn_layers.csv", newline="") as f:
        layers = [x for x in csv.DictReader(f) if x["kind"] == "tnn_b1"]
    assert [x["layer"] for x in layers] == ["conv1", "conv2", "fc1"] and float(layers[0]["layer_zero_fraction"]) == 0
    print(f"BER {ber_2t2r(CHECKERBOARD):.3g} for the binary first layer")
