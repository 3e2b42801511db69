"""Ternary 2T2R read (hwgen.device.ternary): the low-supply PCSA model, its per-type rates, the seeded
ternary error maps and their code contract. Expectations come from the slides (Laborieux et al.) and
from physics.py's binary read, not from values copied from a model run."""

import math
import time

import numpy as np
import pytest

from hwgen import seeds
from hwgen.device import sample_error_map
from hwgen.device.physics import CHECKERBOARD, TABLE1, ProgrammingCondition, ber_2t2r, distributions
from hwgen.device.ternary import (STOCHASTIC, V_LOW, V_NOM, TernaryRates, _confusion, _q_both, apply_ternary_errors,
                                  binary_ber, device_distributions, network_ternary_error_maps,
                                  network_ternary_error_maps_from_condition, resolution_conductance,
                                  sample_ternary_error_map, sense, ternary_confusion, ternary_rates, ternary_report)
from hwgen.golden import effective_weights
from hwgen.ir import Layer, unpack_bits

STRONG = TABLE1["strong"]
CONDITIONS = [STRONG, STOCHASTIC, CHECKERBOARD, TABLE1["optimized endurance"], ProgrammingCondition(30, 2.0, 0.1)]
VDDS = [0.5, 0.7, 0.85, 0.9, 0.95, 1.0, 1.1, 1.2, 1.5]


def random_ternary(shape, seed, p_zero=0.4):
    rng = seeds.rng(seed, "stimulus")
    return np.where(rng.random(shape) < p_zero, 0, np.where(rng.random(shape) < 0.5, -1, 1)).astype(np.int8)


# --- sense model and confusion -----------------------------------------------------------------------------

@pytest.mark.parametrize("cond", CONDITIONS, ids=str)
def test_confusion_rows_are_probabilities_and_symmetric(cond):
    for vdd in VDDS:
        for cycles in (0, 1e9):
            c = ternary_confusion(cond, vdd, cycles)
            assert c.shape == (3, 3) and np.all(c >= 0)
            assert np.allclose(c.sum(axis=1), 1.0, rtol=0, atol=1e-12), (vdd, cycles, c)
            # the -1 row is integrated separately (BL and BLb swapped): it must mirror the +1 row
            assert np.allclose(c[0], c[2, ::-1], rtol=1e-6, atol=1e-15), (vdd, cycles, c)
            assert c[1, 0] == pytest.approx(c[1, 2], rel=1e-6, abs=1e-15)


@pytest.mark.parametrize("cond", [STRONG, CHECKERBOARD] + list(TABLE1.values())[1:], ids=str)
def test_nominal_supply_is_the_binary_read(cond):
    # at 1.2 V the sign flips are physics.py's 2T2R BER, +-1 never read 0, and HRS/HRS pairs resolve
    for cycles in (0, 1e9):
        rates = ternary_rates(cond, V_NOM, cycles)
        assert rates.sign_flip == pytest.approx(ber_2t2r(cond, cycles), rel=1e-2)
        assert rates.pm_as_zero < 1e-3 * rates.sign_flip + 1e-12
        assert rates.zero_as_pm > 0.999


def test_low_supply_reads_hrs_hrs_as_zero_and_lrs_hrs_as_signs():
    # the slides' ternary read: at the low supply 0 is stored, +-1 still resolve
    for cond in (STRONG, TABLE1["optimized programming energy"]):
        rates = ternary_rates(cond, V_LOW)
        assert rates.zero_as_pm < 0.01, (cond, rates)
        assert rates.pm_as_zero < 1e-4, (cond, rates)
        assert rates.sign_flip <= ber_2t2r(cond)
    c = ternary_confusion(STRONG, V_LOW)
    assert c[1, 1] > 0.999 and c[0, 0] > 0.999999 and c[2, 2] > 0.999999


def test_rates_move_monotonically_with_supply():
    vdds = np.linspace(0.5, 1.5, 21)
    assert np.all(np.diff([resolution_conductance(v) for v in vdds]) < 0)
    for cond in (STRONG, STOCHASTIC, CHECKERBOARD):
        rates = np.array([ternary_rates(cond, v) for v in vdds])
        zero_as_pm, pm_as_zero, sign_flip = rates.T
        # a higher supply resolves more pairs: more 0 -> +-1 and +1 <-> -1, fewer +-1 -> 0
        assert np.all(np.diff(zero_as_pm) >= 0) and zero_as_pm[-1] > 0.999, cond
        assert np.all(np.diff(sign_flip) >= 0), cond
        assert np.all(np.diff(pm_as_zero) <= 0), cond
        assert zero_as_pm[0] < 1e-2 < zero_as_pm[-1]


def test_stochastic_condition_creates_the_new_errors():
    # slides: pairs programmed at 200 uA / 2.5 V / 100 us have wide distributions: more +-1 read 0 and
    # more 0 read +-1 than Table 1's strong condition, at the same low supply
    strong, stochastic = ternary_rates(STRONG, V_LOW), ternary_rates(STOCHASTIC, V_LOW)
    print(f"at {V_LOW} V: strong {strong}, stochastic {stochastic}")
    assert stochastic.pm_as_zero > 100 * strong.pm_as_zero
    assert stochastic.zero_as_pm > 10 * strong.zero_as_pm
    # the long pulse widens both spreads of the one device model (physics.distributions) ...
    d, short = device_distributions(STOCHASTIC), distributions(STRONG)
    assert d == distributions(STOCHASTIC)
    assert d.sigma_hrs > 1.5 * short.sigma_hrs and d.sigma_lrs > 1.5 * short.sigma_lrs
    # ... so the binary read is worse than at 1 us, and the nominal ternary read's sign flips are that BER
    assert binary_ber(STOCHASTIC) == ber_2t2r(STOCHASTIC) > 1e4 * ber_2t2r(STRONG)
    assert ternary_rates(STOCHASTIC, V_NOM).sign_flip == pytest.approx(binary_ber(STOCHASTIC), rel=1e-2)


def test_integration_matches_monte_carlo_of_the_sense_model():
    seed = 20240611
    print(f"Monte Carlo seed {seed}")
    rng = seeds.rng(seed, "stimulus")
    n = 400_000
    for cond, vdd in ((CHECKERBOARD, V_LOW), (STOCHASTIC, 0.95)):
        d = device_distributions(cond)
        lrs = np.exp(-(d.mu_lrs + d.sigma_lrs * rng.standard_normal(n)))
        hrs = np.exp(-(d.mu_hrs + d.sigma_hrs * rng.standard_normal((2, n))))
        reads = {+1: sense(hrs[0], lrs, vdd, rng.standard_normal(n)),      # +1: BL in HRS, BLb in LRS
                 0: sense(hrs[0], hrs[1], vdd, rng.standard_normal(n))}
        c = ternary_confusion(cond, vdd)
        for stored, read in reads.items():
            for col, value in enumerate((-1, 0, 1)):
                p = c[stored + 1, col]
                got = np.mean(read == value)
                assert abs(got - p) <= 5 * math.sqrt(p * (1 - p) / n) + 2 / n, (cond, vdd, stored, value, got, p)


def test_sense_reference_cases():
    g_res = resolution_conductance(V_LOW)
    lrs, hrs = 500e-6, 4e-6
    assert list(sense([hrs, lrs, hrs, hrs], [lrs, hrs, hrs, 8e-6], V_LOW, [0, 0, 0, 0])) == [1, -1, 0, 0]
    assert list(sense([hrs, hrs], [hrs, 8e-6], V_NOM, [0, 0])) == [0, 1]
    # a pair just above / below the resolution level
    assert list(sense([1e-6, 1e-6], [1e-6 + 1.01 * g_res, 1e-6 + 0.99 * g_res], V_LOW, [0, 0])) == [1, 0]


def test_integration_grid_and_tail_function_are_accurate():
    for cond in (STRONG, STOCHASTIC, CHECKERBOARD):
        for vdd in (0.5, 0.9, 1.0, 1.2):
            d, g = device_distributions(cond, 1e9), resolution_conductance(vdd)
            coarse, fine = _confusion(d, g), _confusion(d, g, 2401, 193)
            mask = fine > 1e-13
            assert np.all(np.abs(coarse - fine)[mask] <= 1e-3 * fine[mask]), (cond, vdd)
    z = np.linspace(-9, 37, 2001)
    q, q_minus = _q_both(z)
    for zi, a, b in zip(z, q, q_minus):
        assert a == pytest.approx(0.5 * math.erfc(zi / math.sqrt(2)), rel=2e-7)
        assert b == pytest.approx(0.5 * math.erfc(-zi / math.sqrt(2)), rel=2e-7)


def test_confusion_is_fast():
    ternary_confusion(STRONG, V_LOW)
    best = min(_timed(lambda: ternary_confusion(STOCHASTIC, 0.95, 1e8)) for _ in range(5))
    print(f"ternary_confusion: {best * 1e3:.1f} ms (best of 5)")
    assert best < 0.05


def _timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


@pytest.mark.parametrize("vdd, message", [
    (0.3, r"vdd must be in \[0.5, 1.5\] V, not 0.3"),
    (2.0, r"vdd must be in \[0.5, 1.5\] V, not 2.0"),
    (float("nan"), r"vdd must be in \[0.5, 1.5\] V, not nan"),
    ("low", r"vdd must be a number in \[0.5, 1.5\] V, not 'low'"),
])
def test_bad_vdd_is_rejected_in_one_line(vdd, message):
    for f in (ternary_confusion, ternary_rates):
        with pytest.raises(ValueError, match=message) as err:
            f(STRONG, vdd)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=message):
        resolution_conductance(vdd)


# --- error maps ---------------------------------------------------------------------------------------------

def test_sampled_maps_are_deterministic_and_follow_the_rates():
    seed = 11
    print(f"map seed {seed}, weights from stimulus seed 5")
    w = random_ternary((1000, 1000), 5)
    rates = TernaryRates(zero_as_pm=0.05, pm_as_zero=0.02, sign_flip=0.01)
    e = sample_ternary_error_map(w, rates, seed, layer=3)
    assert e.dtype == np.uint8 and e.shape == w.shape
    assert np.array_equal(e, sample_ternary_error_map(w, rates, seed, layer=3))
    assert not np.array_equal(e, sample_ternary_error_map(w, rates, seed + 1, layer=3))
    assert not np.array_equal(e, sample_ternary_error_map(w, rates, seed, layer=4))
    zero, nonzero = e[w == 0], e[w != 0]
    assert set(np.unique(zero)) <= {0, 2, 3} and set(np.unique(nonzero)) <= {0, 1, 2}   # never 3 on a +-1

    def close(count, total, p):
        return abs(count / total - p) <= 5 * math.sqrt(p * (1 - p) / total)

    assert close(np.sum(zero == 2), zero.size, rates.zero_as_pm / 2)          # 0 read as -1
    assert close(np.sum(zero == 3), zero.size, rates.zero_as_pm / 2)          # 0 read as +1
    assert close(np.sum(nonzero == 2), nonzero.size, rates.pm_as_zero)
    assert close(np.sum(nonzero == 1), nonzero.size, rates.sign_flip)
    # the rates as read back through the contract
    read = apply_ternary_errors(w, e)
    assert close(np.sum((w == 0) & (read != 0)), zero.size, rates.zero_as_pm)
    assert close(np.sum((w != 0) & (read == -w)), nonzero.size, rates.sign_flip)


def test_sign_flips_are_the_binary_map():
    # same stream, same draw: a stored +-1 flips exactly where the binary map at BER sign_flip does
    w = random_ternary((64, 300), 2)
    e = sample_ternary_error_map(w, (0.3, 0.05, 0.02), 9, layer=1)
    binary = sample_error_map(w.shape, 0.02, 9, 1)
    assert np.array_equal(e[w != 0] == 1, binary[w != 0] == 1)
    ones = np.ones((64, 300), dtype=np.int8)
    assert np.array_equal(sample_ternary_error_map(ones, (0.0, 0.0, 0.02), 9, layer=1), binary)


def test_apply_ternary_errors_follows_the_code_contract():
    # stored (-1, 0, +1) x code (0, 1, 2, 3): sign ^= e & 1, zero ^= e >> 1
    expected = {-1: [-1, 1, 0, 0], 0: [0, 0, -1, 1], 1: [1, -1, 0, 0]}
    w = np.repeat(np.array([-1, 0, 1], dtype=np.int8)[:, None], 4, axis=1)
    e = np.tile(np.arange(4, dtype=np.uint8), (3, 1))
    read = apply_ternary_errors(w, e)
    assert read.dtype == np.int8
    assert read.tolist() == [expected[-1], expected[0], expected[1]]
    # a binary 0/1 map is a ternary map without zero errors
    assert np.array_equal(apply_ternary_errors(w[[0, 2]], np.array([[0, 1, 1, 0], [1, 0, 0, 1]])),
                          [[-1, 1, 1, -1], [-1, 1, 1, -1]])


def test_apply_ternary_errors_agrees_with_the_golden_model():
    w = random_ternary((7, 150), 4)
    e = sample_ternary_error_map(w, (0.2, 0.1, 0.1), 6)
    layer = Layer.from_ternary(w, np.zeros(7, dtype=np.int64))
    sign, nonzero = effective_weights(layer, e)
    golden = np.where(unpack_bits(nonzero, 150) == 1, np.where(unpack_bits(sign, 150) == 1, 1, -1), 0)
    assert np.array_equal(apply_ternary_errors(w, e), golden)


def test_network_maps_mirror_the_binary_streams_and_replicas():
    layers = [random_ternary((8, 16), 1), random_ternary((3, 8), 2)]
    rates = TernaryRates(0.1, 0.05, 0.02)
    maps = network_ternary_error_maps(layers, rates, 3, replicas=[4, 1])
    assert [m.shape for m in maps] == [(4, 8, 16), (3, 8)]
    assert np.array_equal(maps[1], sample_ternary_error_map(layers[1], rates, 3, layer=1))
    assert np.array_equal(maps[0], sample_ternary_error_map(np.broadcast_to(layers[0], (4, 8, 16)), rates, 3, 0))
    assert not np.array_equal(maps[0][0], maps[0][1])          # each replica has its own devices
    again = network_ternary_error_maps_from_condition(layers, CHECKERBOARD, V_LOW, 0, 3, replicas=[4, 1])
    ref = network_ternary_error_maps(layers, ternary_rates(CHECKERBOARD, V_LOW), 3, replicas=[4, 1])
    assert all(np.array_equal(a, b) for a, b in zip(again, ref))
    with pytest.raises(ValueError, match="replicas has 1 entries for 2 layers"):
        network_ternary_error_maps(layers, rates, 3, replicas=[2])
    with pytest.raises(ValueError, match=r"layer 1: replicas must be an integer >= 1, not 0"):
        network_ternary_error_maps(layers, rates, 3, replicas=[1, 0])
    with pytest.raises(ValueError, match=r"layer 0: weights must be \(outputs, inputs\)"):
        network_ternary_error_maps([np.zeros(5, dtype=np.int8)], rates, 3)


@pytest.mark.parametrize("rates, message", [
    ((0.1, 1.5, 0.0), r"pm_as_zero must be in \[0, 1\], not 1.5"),
    ((-0.1, 0.0, 0.0), r"zero_as_pm must be in \[0, 1\], not -0.1"),
    ((0.0, 0.0, float("nan")), r"sign_flip must be in \[0, 1\], not nan"),
    ((0.0, "x", 0.0), r"pm_as_zero must be a rate in \[0, 1\], not 'x'"),
    ((0.0, 0.6, 0.5), r"pm_as_zero \+ sign_flip must be <= 1, not 0.6 \+ 0.5"),
    ((0.1, 0.2), r"rates must be \(zero_as_pm, pm_as_zero, sign_flip\), not \(0.1, 0.2\)"),
])
def test_bad_rates_are_rejected_in_one_line(rates, message):
    with pytest.raises(ValueError, match=message) as err:
        sample_ternary_error_map(np.zeros((2, 2), dtype=np.int8), rates, 1)
    assert "\n" not in str(err.value)


def test_bad_weights_and_maps_are_rejected():
    with pytest.raises(ValueError, match="ternary weights must be -1, 0 or \\+1, not 2"):
        sample_ternary_error_map(np.array([[1, 2]]), (0, 0, 0), 1)
    with pytest.raises(ValueError, match=r"error map has shape \(1, 3\), weights are \(1, 2\)"):
        apply_ternary_errors(np.array([[1, 0]]), np.zeros((1, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="ternary error codes are 0..3, not 4"):
        apply_ternary_errors(np.array([[1, 0]]), np.array([[0, 4]]))


def test_ternary_report_writes_csv_and_png(tmp_path):
    paths = ternary_report(tmp_path / "t", progress=False)
    assert [p.name for p in paths] == ["ternary_rates.csv", "ternary_rates.png"]
    assert all(p.stat().st_size > 0 for p in paths)
    lines = paths[0].read_text().splitlines()
    assert lines[0].split(",")[:5] == ["condition", "i_set_uA", "v_reset", "pulse_us", "vdd"]
    assert {"zero_as_pm", "pm_as_zero", "sign_flip"} <= set(lines[0].split(","))
    assert any(line.startswith("stochastic (slides),200.0,2.5,100.0,0.9,") for line in lines)
    assert any(line.startswith("strong (Table 1),200.0,2.5,1.0,1.2,") for line in lines)
