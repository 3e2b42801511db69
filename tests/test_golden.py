"""Golden model: bit-packed XNOR/popcount against a plain (unpacked) numpy reference."""

import numpy as np
import pytest

from hwgen import golden
from hwgen.ir import Layer, pack_bits, unpack_bits


def reference(w_bits, x_bits, thresholds):
    """Unpacked reference: count matching bits, compare with the threshold."""
    pc = (x_bits[:, None, :] == w_bits[None, :, :]).sum(axis=2)
    return (pc >= thresholds[None, :]).astype(np.uint8), pc


@pytest.mark.parametrize("n_in", [1, 63, 64, 65, 200, 784])
def test_layer_forward_matches_unpacked_reference(n_in):
    seed = 10 + n_in
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 2, size=(17, n_in), dtype=np.uint8)
    t = rng.integers(0, n_in + 2, size=17)
    x = rng.integers(0, 2, size=(9, n_in), dtype=np.uint8)
    acts, pcs = golden.layer_forward(Layer.from_bits(w, t), x)
    ref_acts, ref_pcs = reference(w, x, t)
    np.testing.assert_array_equal(pcs, ref_pcs)
    np.testing.assert_array_equal(acts, ref_acts)


def test_error_map_flips_exactly_the_marked_weights():
    rng = np.random.default_rng(3)
    print("seed=3")
    w = rng.integers(0, 2, size=(8, 100), dtype=np.uint8)
    err = (rng.random((8, 100)) < 0.2).astype(np.uint8)
    layer = Layer.from_bits(w, np.full(8, 50))
    x = rng.integers(0, 2, size=(5, 100), dtype=np.uint8)
    acts, pcs = golden.layer_forward(layer, x, err)
    ref_acts, ref_pcs = reference(w ^ err, x, layer.thresholds)
    np.testing.assert_array_equal(pcs, ref_pcs)
    np.testing.assert_array_equal(acts, ref_acts)
    # packed and unpacked maps are the same thing
    np.testing.assert_array_equal(golden.apply_error_map(layer.weights, err),
                                  golden.apply_error_map(layer.weights, pack_bits(err)))
    # and the padding bits beyond input 100 stay zero
    flipped = golden.apply_error_map(layer.weights, np.ones((8, 100), dtype=np.uint8))
    np.testing.assert_array_equal(unpack_bits(flipped, 100), 1 - w)
    assert not np.any(flipped[:, -1] >> np.uint64(100 - 64))


def test_threshold_edges():
    w = np.array([[1, 0, 1, 1]], dtype=np.uint8)
    x = np.array([[1, 0, 1, 1], [0, 1, 0, 0]], dtype=np.uint8)   # perfect match, perfect mismatch
    for t, want in [(0, [1, 1]), (4, [1, 0]), (5, [0, 0])]:
        acts, pcs = golden.layer_forward(Layer.from_bits(w, [t]), x)
        assert pcs[:, 0].tolist() == [4, 0]
        assert acts[:, 0].tolist() == want


def test_input_width_is_checked():
    layer = Layer.from_bits(np.zeros((2, 10), dtype=np.uint8), [0, 0])
    with pytest.raises(ValueError, match="11 bits.*expects 10"):
        golden.layer_forward(layer, np.zeros((1, 11), dtype=np.uint8))


@pytest.mark.parametrize("length", [1, 64, 130])
def test_pack_unpack_round_trip(length):
    rng = np.random.default_rng(length)
    bits = rng.integers(0, 2, size=(3, length), dtype=np.uint8)
    np.testing.assert_array_equal(unpack_bits(pack_bits(bits), length), bits)
