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


def conv_reference(layer, x_bits):
    """A conv layer by loops over output positions and kernel taps, on ±1 integers (no packing)."""
    g = layer.geometry()
    w = layer.values().astype(np.int64).reshape(g.C_out, g.kh, g.kw, g.C)
    frames = x_bits.reshape(len(x_bits), g.H, g.W, g.C).astype(np.int64) * 2 - 1
    pc = np.zeros((len(x_bits), g.Ho, g.Wo, g.C_out), dtype=np.int64)
    for oy in range(g.Ho):
        for ox in range(g.Wo):
            total = np.zeros((len(x_bits), g.C_out), dtype=np.int64)
            for ky in range(g.kh):
                for kx in range(g.kw):
                    y, x = oy * g.stride + ky - g.pad_y, ox * g.stride + kx - g.pad_x
                    pixel = (frames[:, y, x] if 0 <= y < g.H and 0 <= x < g.W
                             else np.full((len(x_bits), g.C), 2 * g.pad_bit - 1))
                    total += pixel @ w[:, ky, kx].T
            pc[:, oy, ox] = total if layer.is_ternary else (total + layer.n_inputs) // 2
    pooled = pc[:, :g.Hp * g.ph, :g.Wp * g.pw].reshape(len(x_bits), g.Hp, g.ph, g.Wp, g.pw, g.C_out).max(axis=(2, 4))
    return (pooled >= layer.thresholds).reshape(len(x_bits), -1), pooled.reshape(len(x_bits), -1)


@pytest.mark.parametrize("kind,shape,k,stride,pad,pad_bit,pool", [
    ("conv2d", (7, 9, 3), 3, 1, 1, 0, 2), ("conv2d", (8, 8, 5), 3, 2, 0, 0, 1), ("conv2d", (5, 6, 2), 2, 1, 1, 1, 3),
    ("conv1d", (20, 4), 5, 1, 2, 1, 2), ("conv1d", (13, 3), 3, 2, 0, 0, 1),
])
def test_conv_forward_equals_loops_and_or_pooling(kind, shape, k, stride, pad, pad_bit, pool):
    """The packed im2col conv equals a loop reference; pooling the popcounts (max, then threshold)
    equals the hardware's OR of thresholded bits, including thresholds at 0 and n_inputs + 1."""
    seed = 8
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    taps = k * k if kind == "conv2d" else k
    n_in = taps * shape[-1]
    thresholds = rng.integers(n_in // 2 - 3, n_in // 2 + 4, 6)
    thresholds[:2] = 0, n_in + 1
    layer = Layer.from_bits(rng.integers(0, 2, (6, n_in)), np.clip(thresholds, 0, n_in + 1), kind=kind,
                            in_shape=shape, kernel=k, stride=stride, padding=pad, pad_bit=pad_bit, pool=pool)
    x = rng.integers(0, 2, (9, layer.in_size), dtype=np.uint8)
    acts, pcs = golden.conv_forward(layer, x)
    want_acts, want_pcs = conv_reference(layer, x)
    np.testing.assert_array_equal(pcs, want_pcs)
    np.testing.assert_array_equal(acts, want_acts)
    np.testing.assert_array_equal(golden.conv_forward(layer, x, form="or")[0], acts)
    assert 0 < acts.mean() < 1


def read_values(values, codes):
    """The ternary weights an array reads, by the error-code contract (bit 0: sign, bit 1: zero)."""
    sign = (values > 0) ^ (codes & 1).astype(bool)
    zero = (values == 0) ^ (codes >> 1).astype(bool)
    return np.where(zero, 0, np.where(sign, 1, -1))


def ternary_codes(rng, values):
    """Every kind of read error: 0 -> +-1 (codes 2, 3), +-1 -> 0 (2), +1 <-> -1 (1)."""
    codes = rng.choice(4, size=values.shape, p=[0.7, 0.1, 0.1, 0.1]).astype(np.uint8)
    codes[(values != 0) & (codes == 3)] = 2
    return codes


@pytest.mark.parametrize("n_in", [1, 63, 64, 65, 200])
def test_ternary_layer_equals_integer_reference_with_errors(n_in):
    seed = 21
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    values = rng.integers(-1, 2, (7, n_in))
    layer = Layer.from_ternary(values, rng.integers(-n_in, n_in + 2, 7))
    x = rng.integers(0, 2, (33, n_in), dtype=np.uint8)
    for codes in (None, ternary_codes(rng, values)):
        read = values if codes is None else read_values(values, codes)
        want = (2 * x.astype(np.int64) - 1) @ read.T
        acts, scores = golden.layer_forward(layer, x, codes)
        np.testing.assert_array_equal(scores, want)
        np.testing.assert_array_equal(acts, want >= layer.thresholds)
    assert codes.any() and (read != values).any()


def test_ternary_error_codes_are_checked():
    layer = Layer.from_ternary(np.array([[1, 0, -1]]), [0])
    with pytest.raises(ValueError, match="ternary error codes are 0..3, not 4"):
        golden.layer_forward(layer, np.array([1, 0, 1]), np.array([[4, 0, 0]]))
    with pytest.raises(ValueError, match="ternary error map has shape"):
        golden.layer_forward(layer, np.array([1, 0, 1]), np.array([[1, 0]]))


@pytest.mark.parametrize("kind,shape,k,stride,pad,pad_bit,pool", [
    ("conv2d", (7, 9, 3), 3, 1, 1, 0, 2), ("conv1d", (13, 3), 3, 2, 0, 1, 1),
])
def test_ternary_conv_equals_loops_with_replica_errors(kind, shape, k, stride, pad, pad_bit, pool):
    seed = 22
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    n_in = (k * k if kind == "conv2d" else k) * shape[-1]
    values = rng.integers(-1, 2, (5, n_in))
    layer = Layer.from_ternary(values, rng.integers(-4, 5, 5), kind=kind, in_shape=shape, kernel=k, stride=stride,
                               padding=pad, pad_bit=pad_bit, pool=pool)
    x = rng.integers(0, 2, (6, layer.in_size), dtype=np.uint8)
    acts, pcs = golden.conv_forward(layer, x)
    want_acts, want_pcs = conv_reference(layer, x)
    np.testing.assert_array_equal(pcs, want_pcs)
    np.testing.assert_array_equal(acts, want_acts)
    np.testing.assert_array_equal(golden.conv_forward(layer, x, form="or")[0], acts)
    assert 0 < acts.mean() < 1 and pcs.min() < 0
    # the same codes on every replica equal one map; different replicas change the scores
    codes = ternary_codes(rng, values)
    one = golden.conv_forward(layer, x, codes)
    np.testing.assert_array_equal(golden.conv_forward(layer, x, np.stack([codes, codes]))[1], one[1])
    errored = Layer.from_ternary(read_values(values, codes), layer.thresholds, kind=kind, in_shape=shape, kernel=k,
                                 stride=stride, padding=pad, pad_bit=pad_bit, pool=pool)
    np.testing.assert_array_equal(one[1], conv_reference(errored, x)[1])
