"""Network IR: validation with clear errors, and file round trips."""

import numpy as np
import pytest

from hwgen.errors import ModelFileError
from hwgen.ir import Layer, Network, pack_bits


def small_network(seed=0):
    rng = np.random.default_rng(seed)
    l1 = Layer.from_bits(rng.integers(0, 2, (8, 20)), rng.integers(0, 21, 8), name="fc1")
    l2 = Layer.from_bits(rng.integers(0, 2, (3, 8)), np.zeros(3, dtype=int), output="popcount", name="out")
    return Network([l1, l2], metadata={"dataset": "unit-test", "seed": seed})


def test_save_load_round_trip(tmp_path):
    net = small_network()
    net.save(tmp_path / "net.npz")
    back = Network.load(tmp_path / "net.npz")
    assert back.metadata == net.metadata
    for a, b in zip(net.layers, back.layers):
        assert (a.name, a.n_inputs, a.n_outputs, a.output) == (b.name, b.n_inputs, b.n_outputs, b.output)
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.thresholds, b.thresholds)
    assert not list(tmp_path.glob("*.tmp"))


def test_corrupt_and_missing_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(ModelFileError, match="corrupt"):
        Network.load(bad)
    with pytest.raises(ModelFileError, match="does not exist"):
        Network.load(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, header=np.frombuffer(b'{"format": "x"}', dtype=np.uint8))
    with pytest.raises(ModelFileError, match="not an hwgen network"):
        Network.load(other)


def test_shape_errors_name_the_problem():
    with pytest.raises(ModelFileError, match=r"packed weights have shape \(4, 1\), expected \(4, 2\)"):
        Layer(n_inputs=70, n_outputs=4, weights=np.zeros((4, 1), dtype=np.uint64), thresholds=np.zeros(4))
    with pytest.raises(ModelFileError, match="thresholds have shape"):
        Layer(n_inputs=10, n_outputs=4, weights=np.zeros((4, 1), dtype=np.uint64), thresholds=np.zeros(3))
    with pytest.raises(ModelFileError, match="padding bits"):
        Layer(n_inputs=10, n_outputs=1, weights=pack_bits(np.ones((1, 11))), thresholds=[0])
    with pytest.raises(ModelFileError, match="output must be"):
        Layer.from_bits(np.zeros((1, 3)), [0], output="softmax")


def test_network_chain_is_checked():
    a = Layer.from_bits(np.zeros((8, 20)), np.zeros(8))
    b = Layer.from_bits(np.zeros((3, 9)), np.zeros(3))
    with pytest.raises(ModelFileError, match="layer 0 has 8 outputs but layer 1 expects 9 inputs"):
        Network([a, b])
    with pytest.raises(ModelFileError, match="not the last layer"):
        Network([Layer.from_bits(np.zeros((8, 20)), np.zeros(8), output="popcount"),
                 Layer.from_bits(np.zeros((3, 8)), np.zeros(3))])
