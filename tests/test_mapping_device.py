"""Hardware configuration, layer mapping, and the error-map / device-state model."""

import math

import numpy as np
import pytest

from hwgen import golden
from hwgen.device import pair_levels, sample_error_map, sensed_bits
from hwgen.errors import ConfigError, LayerDoesNotFit
from hwgen.hwconfig import HwConfig
from hwgen.ir import Layer
from hwgen.mapping import cell_contents, check_fit, input_beats, output_neurons, pad_inputs, physical_layer


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=1, N=3, M=3), "n must be an integer in \\[2, 1024\\], not 1"),
    (dict(n=32, N=0, M=3), "N must be an integer"),
    (dict(n=32, N=3, M=3.5), "M must be an integer"),
    (dict(n=32, N=3, M=3, config="diagonal"), "config must be one of par2seq, seq2par, not 'diagonal'"),
    (dict(n=32, N=3, M=3, storage="sram"), "storage must be one of"),
    (dict(n=32, N=3, M=3, level_bits=0), "level_bits"),
])
def test_bad_hardware_parameters_are_named(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        HwConfig(**kwargs)


def test_capacities_follow_the_paper():
    p = HwConfig(n=32, N=3, M=3, config="par2seq")
    s = HwConfig(n=32, N=3, M=3, config="seq2par")
    assert (p.max_inputs, p.max_outputs, p.output_lanes, p.output_beats) == (96, 96, 3, 32)
    assert (s.max_inputs, s.max_outputs, s.output_lanes, s.input_beats) == (1024, 9, 9, 32)
    assert p.popcount_width == 7 and p.threshold_width == 7 and s.popcount_width == 11


def test_layer_that_does_not_fit_says_what_it_needs():
    layer = Layer.from_bits(np.zeros((1024, 784)), np.zeros(1024))
    with pytest.raises(LayerDoesNotFit, match=r"784 inputs but par2seq takes at most 96 \(n\*N = 32\*3\); it needs N >= 25"):
        check_fit(layer, HwConfig(n=32, N=3, M=3))
    with pytest.raises(LayerDoesNotFit, match=r"1024 outputs .* it needs M >= 32"):
        check_fit(layer, HwConfig(n=32, N=25, M=3))
    with pytest.raises(LayerDoesNotFit, match=r"1024 outputs but seq2par gives at most 9"):
        check_fit(layer, HwConfig(n=32, N=3, M=3, config="seq2par"))


@pytest.mark.parametrize("config", ["par2seq", "seq2par"])
def test_cell_contents_follow_the_documented_layout(config):
    hw = HwConfig(n=4, N=2, M=3, config=config)
    rng = np.random.default_rng(5)
    w = rng.integers(0, 2, size=(hw.max_outputs, hw.max_inputs))
    cells = cell_contents(w, hw)
    for i in range(hw.N):
        for j in range(hw.M):
            for t in range(hw.n):
                for b in range(hw.n):
                    if config == "par2seq":
                        want = w[t * hw.M + j, i * hw.n + b]
                    else:
                        want = w[i * hw.M + j, t * hw.n + b]
                    assert cells[i, j, t, b] == want
    neurons = output_neurons(hw)
    assert sorted(neurons.ravel().tolist()) == list(range(hw.max_outputs))
    x = rng.integers(0, 2, size=(2, hw.max_inputs))
    np.testing.assert_array_equal(input_beats(x, hw).reshape(2, -1), x)


def test_padding_does_not_change_popcounts_of_a_fault_free_array():
    hw = HwConfig(n=8, N=3, M=2)
    rng = np.random.default_rng(8)
    print("seed=8")
    layer = Layer.from_bits(rng.integers(0, 2, (11, 19)), rng.integers(0, 20, 11))
    x = rng.integers(0, 2, size=(6, 19), dtype=np.uint8)
    acts, pcs = golden.layer_forward(layer, x)
    p_acts, p_pcs = golden.layer_forward(physical_layer(layer, hw), pad_inputs(x, hw))
    np.testing.assert_array_equal(p_pcs[:, :11], pcs)
    np.testing.assert_array_equal(p_acts[:, :11], acts)


def test_error_maps_are_reproducible_and_have_the_asked_rate():
    a = sample_error_map((512, 512), 1e-2, seed=11)
    b = sample_error_map((512, 512), 1e-2, seed=11)
    c = sample_error_map((512, 512), 1e-2, seed=12)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    n = a.size
    assert abs(a.sum() - n * 1e-2) < 6 * math.sqrt(n * 1e-2)      # 6 sigma of a binomial
    assert sample_error_map((10, 10), 0.0, 1).sum() == 0
    assert sample_error_map((10, 10), 1.0, 1).sum() == 100


@pytest.mark.parametrize("ber", [-0.1, 1.5, float("nan"), "often", None])
def test_ber_outside_unit_interval_is_refused(ber):
    with pytest.raises(ValueError, match="bit error rate must be"):
        sample_error_map((2, 2), ber, 0)


@pytest.mark.parametrize("level_bits", [1, 2, 4])
def test_device_states_realise_the_error_map(level_bits):
    rng = np.random.default_rng(21)
    print("seed=21")
    w = rng.integers(0, 2, size=(40, 50), dtype=np.uint8)
    err = sample_error_map(w.shape, 0.2, 22)
    lrs, hrs = pair_levels(w, err, level_bits, 23)
    assert lrs.min() >= 0 and hrs.max() < 2 ** level_bits and np.all(lrs != hrs)
    np.testing.assert_array_equal(sensed_bits(w, lrs, hrs), w ^ err)
    # an error is a SET device more resistive than its RESET partner, nothing else
    np.testing.assert_array_equal(lrs > hrs, err.astype(bool))
