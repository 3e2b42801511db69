"""Golden model: bit-packed XNOR/popcount against a plain (unpacked) numpy reference."""

import numpy as np
import pytest

from hwgen import golden
from hwgen.ir import Layer, Network, pack_bits, unpack_bits


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


# -- the numba XOR-popcount kernel against a plain integer matmul of +-1 values -----------------

def pm1(bits):
    return 2 * np.asarray(bits, dtype=np.int64) - 1


def integer_scores(values, x_bits):
    """``sum_i x_i w_i`` on unpacked +-1 inputs and -1/0/+1 weights: a plain int64 matmul."""
    return pm1(x_bits) @ np.asarray(values, dtype=np.int64).T


def random_layer(rng, n_out, n_in, ternary, output="sign"):
    """A random binary or ternary dense layer and its -1/0/+1 weight matrix (thresholds spread over
    the whole range, ends included, so both activation values occur)."""
    if ternary:
        values = rng.integers(-1, 2, (n_out, n_in))
        t = rng.integers(-n_in, n_in + 2, n_out)
        return Layer.from_ternary(values, t, output=output), values
    bits = rng.integers(0, 2, (n_out, n_in))
    t = rng.integers(0, n_in + 2, n_out)
    return Layer.from_bits(bits, t, output=output), pm1(bits)


def random_map(rng, layer, rate=0.15):
    """An unpacked error map: 0/1 flips for a binary layer, codes 0..3 for a ternary one."""
    if layer.is_ternary:
        return ternary_codes(rng, layer.values())
    return (rng.random((layer.n_outputs, layer.n_inputs)) < rate).astype(np.uint8)


def read_matrix(layer, values, error_map):
    """The -1/0/+1 weights the array reads under ``error_map``."""
    if error_map is None:
        return values
    if layer.is_ternary:
        return read_values(values, error_map)
    return np.where(error_map.astype(bool), -values, values)


@pytest.mark.parametrize("ternary", [False, True], ids=["binary", "ternary"])
@pytest.mark.parametrize("n_in", [1, 2, 63, 64, 65, 127, 129, 200])
def test_kernel_equals_integer_matmul(ternary, n_in):
    """popcounts/layer_forward on odd shapes (n_inputs not a multiple of 64, one input, one output,
    batches that are not a multiple of the kernel's tile or span several thread-pool blocks), with
    and without error maps, equal an unpacked int64 matmul of +-1 values."""
    seed = 300 + n_in + 1000 * ternary
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    for n_out in (1, 3, 64, 67):
        layer, values = random_layer(rng, n_out, n_in, ternary)
        for batch in (1, 5, golden.BLOCK + 7):
            x = rng.integers(0, 2, (batch, n_in), dtype=np.uint8)
            for error_map in (None, random_map(rng, layer)):
                dot = integer_scores(read_matrix(layer, values, error_map), x)
                want = dot if ternary else (dot + n_in) // 2          # binary: matching bits = (dot + n) / 2
                acts, pcs = golden.layer_forward(layer, x, error_map)
                np.testing.assert_array_equal(pcs, want, err_msg=f"n_out={n_out} batch={batch}")
                np.testing.assert_array_equal(acts, want >= layer.thresholds)
                assert pcs.dtype == np.int64 and acts.dtype == np.uint8
                sign, nonzero = golden.effective_weights(layer, error_map)
                np.testing.assert_array_equal(golden.popcounts(sign, pack_bits(x), n_in, nonzero), want)


@pytest.mark.parametrize("ternary", [False, True], ids=["binary", "ternary"])
def test_padding_bits_never_count(ternary):
    """Bits beyond n_inputs in the last word of the inputs or of the weights (pack_bits leaves
    them 0, but a caller's words may not) do not change any popcount."""
    seed = 41
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    for n_in in (1, 65, 100):
        layer, values = random_layer(rng, 9, n_in, ternary)
        x = rng.integers(0, 2, (11, n_in), dtype=np.uint8)
        sign, nonzero = golden.effective_weights(layer)
        pad = np.uint64(~((1 << (n_in % 64)) - 1) & (2**64 - 1))      # the padding bits of the last word
        dirty_x, dirty_w = pack_bits(x), sign.copy()
        dirty_x[:, -1] |= pad
        dirty_w[:, -1] |= pad
        dirty_nz = None if nonzero is None else nonzero | np.where(np.arange(nonzero.shape[1]) == nonzero.shape[1] - 1,
                                                                   pad, np.uint64(0))
        want = integer_scores(values, x)
        want = want if ternary else (want + n_in) // 2
        np.testing.assert_array_equal(golden.popcounts(dirty_w, dirty_x, n_in, dirty_nz), want)
        np.testing.assert_array_equal(sign, golden.effective_weights(layer)[0])    # the layer is untouched


@pytest.mark.parametrize("kinds", ["bbb", "ttt", "btb", "tb"])
def test_network_forward_equals_integer_chain(kinds):
    """The fused whole-network path (all dense layers in one kernel call, activations packed
    between layers) equals a chain of integer matmuls and thresholds, and layer_forward layer by
    layer: predictions, last popcounts and every hidden layer's activations, bit for bit; with
    unpacked, packed and absent error maps."""
    seed = 50 + len(kinds) + sum(map(ord, kinds))
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    sizes = [rng.integers(60, 140)] + [int(s) for s in rng.integers(1, 130, len(kinds) - 1)] + [7]
    sizes[1] = 65                                                           # one hidden layer of 65 outputs
    layers, values = [], []
    for k, kind in enumerate(kinds):
        layer, v = random_layer(rng, sizes[k + 1], int(sizes[k]), kind == "t",
                                output="popcount" if k == len(kinds) - 1 else "sign")
        layers.append(layer)
        values.append(v)
    net = Network(layers)
    x = rng.integers(0, 2, (golden.BLOCK + 45, int(sizes[0])), dtype=np.uint8)
    maps = [random_map(rng, layer) for layer in layers]
    maps[0] = None
    for error_maps in (None, maps, [m if m is None or layers[k].is_ternary else pack_bits(m)
                                    for k, m in enumerate(maps)]):
        pred, pc, acts = golden.network_forward(net, x, error_maps)
        h, want_acts = x, []
        for k, (layer, v) in enumerate(zip(layers, values)):
            dot = integer_scores(read_matrix(layer, v, None if maps is None or error_maps is None else maps[k]), h)
            score = dot if layer.is_ternary else (dot + layer.n_inputs) // 2
            h = (score >= layer.thresholds).astype(np.uint8)
            if layer.output == "sign":
                want_acts.append(h)
        np.testing.assert_array_equal(pc, score)
        np.testing.assert_array_equal(pred, score.argmax(axis=1))
        assert len(acts) == len(want_acts)
        for a, w in zip(acts, want_acts):
            assert a.dtype == np.uint8 and a.flags.c_contiguous
            np.testing.assert_array_equal(a, w)
        # and layer_forward, one layer at a time
        h = x
        for k, layer in enumerate(layers):
            h, lpc = golden.layer_forward(layer, h, None if error_maps is None else error_maps[k])
        np.testing.assert_array_equal(lpc, pc)


def test_network_forward_with_conv_equals_layer_by_layer():
    """A conv layer followed by dense layers: conv_forward, then the fused dense run, equals
    layer_forward applied layer by layer (with one error map per layer)."""
    seed = 61
    print(f"seed={seed}")
    rng = np.random.default_rng(seed)
    conv = Layer.from_bits(rng.integers(0, 2, (4, 27)), rng.integers(10, 18, 4), kind="conv2d", in_shape=(6, 6, 3),
                           kernel=3, stride=1, padding=1, pool=2)
    fc1, _ = random_layer(rng, 33, conv.out_size, False)
    fc2, _ = random_layer(rng, 5, 33, True, output="popcount")
    net = Network([conv, fc1, fc2])
    x = rng.integers(0, 2, (40, conv.in_size), dtype=np.uint8)
    maps = [random_map(rng, layer) for layer in (conv, fc1, fc2)]
    for error_maps in (None, maps):
        pred, pc, acts = golden.network_forward(net, x, error_maps)
        h, want = x, []
        for k, layer in enumerate(net.layers):
            h, lpc = golden.layer_forward(layer, h, None if error_maps is None else error_maps[k])
            if layer.output == "sign":
                want.append(h)
        np.testing.assert_array_equal(pc, lpc)
        np.testing.assert_array_equal(pred, lpc.argmax(axis=1))
        for a, w in zip(acts, want, strict=True):
            np.testing.assert_array_equal(a, w)


def test_network_forward_checks_widths_and_empty_batches():
    rng = np.random.default_rng(0)
    print("seed=0")
    a, _ = random_layer(rng, 5, 10, False)
    b, _ = random_layer(rng, 3, 5, False, output="popcount")
    net = Network([a, b])
    with pytest.raises(ValueError, match="11 bits.*expects 10"):
        golden.network_forward(net, np.zeros((2, 11), dtype=np.uint8))
    pred, pc, acts = golden.network_forward(net, np.zeros((0, 10), dtype=np.uint8))
    assert pred.shape == (0,) and pc.shape == (0, 3) and acts[0].shape == (0, 5)
