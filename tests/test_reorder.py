"""Neuron order for low switching activity (hwgen.reorder): the reordered network computes the
same outputs, its hidden neurons are a recorded permutation of the trained ones, the rows a lane
reads in consecutive cycles differ less, and the sensed-row toggles the energy model counts
(hwgen.flow.toggles) fall with them."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.data import binarize, load_images, shipped, shipped_slice
from hwgen.flow.toggles import layer_sensed_rows, network_toggles, sequence_toggles
from hwgen.golden import network_forward
from hwgen.ir import Layer, Network
from hwgen.netplan import plan_network
from hwgen.reorder import consecutive_difference, lane_order, reorder_network, row_distances

SEED = 7


def random_network(seed=SEED):
    rng = np.random.default_rng(seed)
    print(f"seed {seed}")
    sizes = (40, 48, 24, 10)
    layers = [Layer.from_bits(rng.integers(0, 2, (b, a)), rng.integers(a // 3, 2 * a // 3, b),
                              output="popcount" if k == len(sizes) - 2 else "sign", name=f"fc{k + 1}")
              for k, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    return Network(layers, {"input_threshold": 127})


def test_reordered_network_computes_the_same_classes_and_permutes_the_hidden_neurons():
    net = random_network()
    plans = plan_network(net, n=8)
    new, stats = reorder_network(net, [p.hw for p in plans])
    assert set(stats) == {"fc1", "fc2"}, "the output layer keeps its class order"
    x = np.random.default_rng(SEED).integers(0, 2, (300, 40))
    pred_a, pc_a, acts_a = network_forward(net, x)
    pred_b, pc_b, acts_b = network_forward(new, x)
    assert (pred_a == pred_b).all() and (pc_a == pc_b).all()
    columns = (np.arange(40), np.zeros(40, dtype=bool))      # how layer k's inputs were reordered and negated
    for k, name in enumerate(("fc1", "fc2")):
        order = np.array(new.metadata["neuron_order"][name])
        negated = np.zeros(len(order), dtype=bool)
        negated[new.metadata["neuron_negated"][name]] = True
        print(f"{name}: {negated.sum()} of {len(order)} neurons stored negated")
        assert sorted(order) == list(range(net.layers[k].n_outputs)) and (order != np.arange(len(order))).any()
        assert (acts_b[k] == acts_a[k][:, order] ^ negated).all(), "new neuron i is trained neuron order[i] (negated)"
        n_in = net.layers[k].n_inputs
        want = np.where(negated, n_in - net.layers[k].thresholds[order] + 1, net.layers[k].thresholds[order])
        assert (new.layers[k].thresholds == want).all()
        trained = net.layers[k].weight_bits()[:, columns[0]] ^ columns[1][None, :]
        assert (new.layers[k].weight_bits() == trained[order] ^ negated[:, None]).all()
        columns = (order, negated)
        before, after = stats[name]
        assert after < before
    fc2 = np.array(new.metadata["neuron_order"]["fc2"])
    flipped = np.isin(np.arange(len(fc2)), new.metadata["neuron_negated"]["fc2"])
    assert (new.layers[2].weight_bits() == net.layers[2].weight_bits()[:, fc2] ^ flipped[None, :]).all()
    # reordering again maps back to the trained network, not to the intermediate one
    again, _ = reorder_network(new, [p.hw for p in plans])
    order = np.array(again.metadata["neuron_order"]["fc1"])
    negated = np.isin(np.arange(len(order)), again.metadata["neuron_negated"]["fc1"])
    assert (again.layers[0].weight_bits() == net.layers[0].weight_bits()[order] ^ negated[:, None]).all()
    assert (network_forward(again, x)[1] == pc_a).all()


def test_lane_order_keeps_alike_rows_together():
    # four families of near-identical rows, shuffled: each lane should read one family's rows in a row
    rng = np.random.default_rng(SEED)
    base = rng.integers(0, 2, (4, 64))
    rows = np.repeat(base, 8, axis=0) ^ (rng.random((32, 64)) < 0.03)
    rows = rows[rng.permutation(32)]
    layer = Layer.from_bits(rows, np.zeros(32, dtype=int), name="fam")
    order, negate = lane_order(row_distances(layer), M=4)
    assert sorted(order) == list(range(32)) and not negate.any()
    shuffled = consecutive_difference(layer, 4)
    ordered = consecutive_difference(Layer.from_bits(rows[order], np.zeros(32, dtype=int)), 4)
    print(f"consecutive rows differ in {shuffled:.1%} of their bits, {ordered:.1%} ordered")
    assert shuffled > 0.3 and ordered < 0.1


def test_the_shipped_mnist_network_toggles_less_reordered():
    net = Network.load(shipped("mnist_bnn.npz"))
    plans = plan_network(net, n=32)
    new, stats = reorder_network(net, [p.hw for p in plans])
    print({k: f"{a:.1%} -> {b:.1%}" for k, (a, b) in stats.items()})
    for before, after in stats.values():
        assert before > 0.45 and after < 0.85 * before
    split = load_images(shipped_slice("mnist"))
    x = binarize(split.images[:4].reshape(4, -1), net.input_threshold)
    t_model, t_activity = network_toggles(net, plans, x), network_toggles(new, plans, x)
    print(f"sensed-bit toggles per image: {t_model:.0f} in the trained order, {t_activity:.0f} reordered")
    assert t_activity < 0.85 * t_model


def test_sensed_toggles_follow_the_read_order():
    from hwgen.hwconfig import HwConfig

    hw = HwConfig(n=4, N=2, M=2)
    w = np.zeros((8, 8), dtype=np.uint8)
    w[2] = 1                                    # row t=1 of lane 0 is all ones: 8 bits differ from rows 0 and 2
    layer = Layer.from_bits(w, np.zeros(8, dtype=int))
    x = np.zeros((1, 8), dtype=np.uint8)
    sensed = layer_sensed_rows(layer, hw, x)
    assert sensed.shape == (1, 4, 16)
    assert sequence_toggles(sensed) == 16
    two = layer_sensed_rows(layer, hw, np.stack([x[0], 1 - x[0]]))      # the next pass flips every input
    assert sequence_toggles(two) == 16 + 16 + 16                       # then every sensed bit of row 0 flips too


def test_rtl_reorders_by_default_and_keeps_the_order_on_request(tmp_path):
    net = random_network()
    model = tmp_path / "r.npz"
    net.save(model)
    runner = CliRunner()
    res = runner.invoke(main, ["rtl", "--model", str(model), "--n", "8", "--views", "sim", "-o", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "neuron order of fc1" in res.output
    design = Network.load(tmp_path / "a" / "network.npz")
    assert set(design.metadata["neuron_order"]) == {"fc1", "fc2"}
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["network"]["neuron_order"] == ["fc1", "fc2"]
    res = runner.invoke(main, ["rtl", "--model", str(model), "--n", "8", "--views", "sim", "--neuron-order", "model",
                               "-o", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    kept = Network.load(tmp_path / "b" / "network.npz")
    assert "neuron_order" not in kept.metadata
    assert all((a.weights == b.weights).all() for a, b in zip(kept.layers, net.layers))


@pytest.mark.parametrize("args", [["--n", "4", "--N", "2", "--M", "2", "--neuron-order", "model"],
                                  ["--model", "x.npz", "--neuron-order", "fastest"]])
def test_neuron_order_is_checked(tmp_path, args):
    if "x.npz" in args:
        random_network().save(tmp_path / "x.npz")
        args = [str(tmp_path / a) if a == "x.npz" else a for a in args]
    res = CliRunner().invoke(main, ["rtl", *args, "-o", str(tmp_path / "d")])
    assert res.exit_code != 0 and "--neuron-order" in res.output and "Traceback" not in res.output
