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


def conv_network(seed=0):
    rng = np.random.default_rng(seed)
    c1 = Layer.from_bits(rng.integers(0, 2, (4, 9)), rng.integers(0, 10, 4), name="c1", kind="conv2d",
                         in_shape=(6, 7, 1), kernel=3, padding=1, pool=2)
    c2 = Layer.from_bits(rng.integers(0, 2, (5, 36)), rng.integers(0, 37, 5), name="c2", kind="conv2d",
                         in_shape=(3, 3, 4), kernel=3, stride=2, padding=1, pad_bit=1)
    out = Layer.from_bits(rng.integers(0, 2, (3, 20)), np.zeros(3, dtype=int), output="popcount", name="out")
    return Network([c1, c2, out], metadata={"dataset": "unit-test"})


def header_of(path):
    import json
    return json.loads(bytes(np.load(path)["header"]).decode())


def rewrite_header(path, header):
    """The same archive with another JSON header."""
    import json
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def test_conv_network_round_trip_and_versions(tmp_path):
    net = conv_network()
    net.save(tmp_path / "conv.npz")
    back = Network.load(tmp_path / "conv.npz")
    assert back.describe() == net.describe() == ("conv2d 6x7x1 k3 s1 p1 pool2 -> 3x3x4, "
                                                 "conv2d 3x3x4 k3 s2 p1 -> 2x2x5, 20->3")
    for a, b in zip(net.layers, back.layers):
        assert (a.kind, a.in_shape, a.kernel, a.stride, a.padding, a.pad_bit, a.pool) == \
               (b.kind, b.in_shape, b.kernel, b.stride, b.padding, b.pad_bit, b.pool)
        np.testing.assert_array_equal(a.weights, b.weights)
    header = header_of(tmp_path / "conv.npz")
    assert header["version"] == 2
    assert [e.get("kind") for e in header["layers"]] == ["conv2d", "maxpool", "conv2d", "flatten", "dense"]
    assert (net.input_size, net.classes) == (42, 3)
    # a dense-only network is still written as version 1, exactly as before (older readers take it)
    small_network().save(tmp_path / "dense.npz")
    dense = header_of(tmp_path / "dense.npz")
    assert dense["version"] == 1 and all("kind" not in e for e in dense["layers"])


@pytest.mark.parametrize("change,message", [
    (lambda h: h.update(version=4), "has IR version 4; this hwgen reads versions 1, 2, 3"),
    (lambda h: h["layers"].insert(0, {"kind": "maxpool", "size": 2}), "a maxpool must directly follow a conv layer"),
    (lambda h: h["layers"].insert(2, {"kind": "maxpool", "size": 2}), "a maxpool must directly follow a conv layer"),
    (lambda h: h["layers"].pop(3), "a dense layer after a conv layer needs a flatten entry"),
    (lambda h: h["layers"].insert(0, {"kind": "flatten"}), "flatten must follow the last conv layer"),
    (lambda h: h["layers"][1].update(size=1), "maxpool size must be an integer in \\[2, 64\\]"),
    (lambda h: h["layers"][0].update(kind="conv3d"), "unknown layer kind 'conv3d'"),
    (lambda h: h["layers"][0].update(in_shape=[6, 7]), "in_shape must be 3 positive integers"),
    (lambda h: h["layers"][0].update(in_shape="6x7"), "in_shape must be a list of integers"),
    (lambda h: h["layers"][0].update(padding=3), "padding must be an integer in \\[0, kernel - 1\\]"),
    (lambda h: h["layers"][0].update(pad_bit=2), "pad_bit must be 0 \\(pad with -1\\) or 1"),
    (lambda h: h["layers"][0].update(kernel=2), "has 4 inputs per output, not 9"),
    (lambda h: h["layers"][2].update(stride=0), "stride must be an integer in \\[1, 64\\]"),
    (lambda h: h["layers"][0].update(in_shape=[6, 8, 1]), "layer 1 \\(conv2d on 3x3x4\\) must follow a conv2d layer "
                                                          "giving that shape; layer 0 gives 3x4x4"),
    (lambda h: h["layers"][4].update(kind="conv2d", in_shape=[2, 2, 5], kernel=1), "a conv layer cannot follow flatten"),
])
def test_bad_conv_headers_name_the_problem(tmp_path, change, message):
    path = tmp_path / "conv.npz"
    conv_network().save(path)
    header = header_of(path)
    change(header)
    rewrite_header(path, header)
    with pytest.raises(ModelFileError, match=message):
        Network.load(path)


def test_conv_layers_are_checked_in_memory():
    bits = np.zeros((2, 9), dtype=np.uint8)
    with pytest.raises(ModelFileError, match="pool 4 is larger than the 3x3 output"):
        Layer.from_bits(bits, [0, 0], kind="conv2d", in_shape=(3, 3, 1), kernel=3, padding=1, pool=4)
    with pytest.raises(ModelFileError, match="kernel 3 with padding 0 does not fit the 2x5 input"):
        Layer.from_bits(bits, [0, 0], kind="conv2d", in_shape=(2, 5, 1), kernel=3)
    with pytest.raises(ModelFileError, match="a conv layer's output must be 'sign'"):
        Layer.from_bits(bits, [0, 0], kind="conv2d", in_shape=(3, 3, 1), kernel=3, output="popcount")
    with pytest.raises(ModelFileError, match="a dense layer takes no in_shape"):
        Layer.from_bits(bits, [0, 0], in_shape=(3, 3, 1))
    conv = Layer.from_bits(bits, [0, 0], kind="conv2d", in_shape=(3, 3, 1), kernel=3, padding=1)
    with pytest.raises(ModelFileError, match="the last layer is a conv layer"):
        Network([conv])


def ternary_network(seed=3):
    """A conv layer and a dense layer with ternary weights (about a third zeros), binary output."""
    rng = np.random.default_rng(seed)
    c1 = Layer.from_ternary(rng.integers(-1, 2, (4, 9)), rng.integers(-9, 10, 4), name="c1", kind="conv2d",
                            in_shape=(6, 7, 1), kernel=3, padding=1, pool=2)
    h = Layer.from_ternary(rng.integers(-1, 2, (5, 36)), rng.integers(-36, 37, 5), name="h")
    out = Layer.from_bits(rng.integers(0, 2, (3, 5)), np.zeros(3, dtype=int), output="popcount", name="out")
    return Network([c1, h, out], metadata={"dataset": "unit-test"})


def test_ternary_network_round_trip_and_version(tmp_path):
    net = ternary_network()
    print("seed=3")
    path = tmp_path / "t.npz"
    net.save(path)
    back = Network.load(path)
    assert header_of(path)["version"] == 3 and back.is_ternary
    assert [layer.is_ternary for layer in back.layers] == [True, True, False]
    for a, b in zip(net.layers, back.layers):
        np.testing.assert_array_equal(a.values(), b.values())
        np.testing.assert_array_equal(a.thresholds, b.thresholds)
    assert set(np.unique(back.layers[1].values())) == {-1, 0, 1}
    assert np.all(back.layers[2].values() != 0)
    # equal networks give equal bytes
    net.save(tmp_path / "u.npz")
    assert path.read_bytes() == (tmp_path / "u.npz").read_bytes()


@pytest.mark.parametrize("change,message", [
    (lambda h: h.update(version=2), r"ternary layers \('weights'\) need IR version 3, the file says 2"),
    (lambda h: h["layers"][3].update(weights="quaternary"), "weights must be 'binary' or 'ternary'"),
    (lambda h: h["layers"][4].update(weights="ternary"), "the file has no array 'z2'"),
])
def test_bad_ternary_headers_name_the_problem(tmp_path, change, message):
    path = tmp_path / "t.npz"
    ternary_network().save(path)
    header = header_of(path)
    change(header)
    rewrite_header(path, header)
    with pytest.raises(ModelFileError, match=message):
        Network.load(path)


def test_ternary_layers_are_checked():
    with pytest.raises(ValueError, match="ternary weights must be -1, 0 or \\+1, not 2"):
        Layer.from_ternary(np.array([[1, 2]]), [0])
    with pytest.raises(ModelFileError, match="thresholds must lie in \\[-n_inputs, n_inputs \\+ 1\\] = \\[-2, 3\\]"):
        Layer.from_ternary(np.array([[1, 0]]), [-3])
    Layer.from_ternary(np.array([[1, 0]]), [-2])                       # a ternary threshold may be negative
    with pytest.raises(ModelFileError, match="thresholds must lie in \\[0, n_inputs"):
        Layer.from_bits(np.array([[1, 0]]), [-1])
    with pytest.raises(ModelFileError, match="a zero weight has its sign bit set"):
        Layer(n_inputs=2, n_outputs=1, weights=pack_bits([[1, 0]]), zeros=pack_bits([[1, 0]]), thresholds=[0])
    with pytest.raises(ModelFileError, match="zero-mask padding bits beyond input 2"):
        Layer(n_inputs=2, n_outputs=1, weights=pack_bits([[0, 0]]), zeros=np.array([[4]], dtype=np.uint64),
              thresholds=[0])
