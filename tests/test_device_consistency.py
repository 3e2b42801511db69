"""One device model: the binary 2T2R BER of a programming condition is one number wherever hwgen
reads it (binary layers and `hwgen sim --condition`, the sweep/closed loop, the TNN study's BNN side,
the ternary module's binary reference, and a ternary layer's sign flips at the nominal supply).

Before issue 25 the ternary module widened the device spreads above 1 us and physics.py did not:
200 uA / 2.5 V / 10 us gave 4.5e-10 in ber_2t2r and 2.7e-6 in ternary.binary_ber."""

import itertools

import numpy as np
import pytest

from hwgen.device.physics import CALIBRATED, ProgrammingCondition, ber_2t2r, network_error_maps_from_condition
from hwgen.device.ternary import V_NOM, binary_ber, ternary_rates
from hwgen.ir import Layer, Network

# the calibrated range's corners and centre (physics.CALIBRATED), and pulses above it (10, 100 us)
CURRENTS = (CALIBRATED["i_set_uA"][0], 100.0, CALIBRATED["i_set_uA"][1])
RESETS = (CALIBRATED["v_reset"][0], 2.0, CALIBRATED["v_reset"][1])
PULSES = (CALIBRATED["pulse_us"][0], 0.5, CALIBRATED["pulse_us"][1], 10.0, 100.0)
GRID = [ProgrammingCondition(i, v, t) for i, v, t in itertools.product(CURRENTS, RESETS, PULSES)]


@pytest.mark.parametrize("cycles", [0, 1e9])
def test_binary_ber_is_one_number_everywhere(cycles):
    checked = 0
    for cond in GRID:
        ber = ber_2t2r(cond, cycles)
        assert binary_ber(cond, cycles) == ber, cond
        flips = ternary_rates(cond, V_NOM, cycles).sign_flip
        if ber > 1e-13:             # the integration's resolution (tests/test_ternary_device.py)
            assert flips == pytest.approx(ber, rel=1e-2), (cond, cycles, flips, ber)
            checked += 1
    assert checked >= len(GRID) // 2
    print(f"cycles {cycles:g}: {checked} of {len(GRID)} conditions compared with the ternary read")


def test_the_issue_condition_reads_the_widened_model():
    cond = ProgrammingCondition(200, 2.5, 10)
    ber = ber_2t2r(cond)
    print(f"{cond}: ber_2t2r {ber:.3g}, ternary binary_ber {binary_ber(cond):.3g}, "
          f"sign flips at {V_NOM} V {ternary_rates(cond, V_NOM).sign_flip:.3g}")
    # longer than the calibrated 1 us, the spreads widen: worse than the same condition at 1 us
    assert ber > 100 * ber_2t2r(ProgrammingCondition(200, 2.5, 1))
    assert ternary_rates(cond, V_NOM).sign_flip == pytest.approx(ber, rel=1e-2)


def test_error_maps_and_the_closed_loop_read_the_same_ber(tmp_path):
    from hwgen.device.errormap import network_error_maps
    from hwgen.study.closedloop import closed_loop

    rng = np.random.default_rng(25)
    print("seed 25")
    layer = Layer.from_bits(rng.integers(0, 2, (10, 64), dtype=np.uint8), np.zeros(10, dtype=np.int64),
                            output="popcount")
    net = Network([layer], {"dataset": "toy", "input_shape": [8, 8], "classes": 10})
    cond = ProgrammingCondition(55, 2.5, 10)
    maps = network_error_maps_from_condition(net, cond, 0, 3)
    assert all(np.array_equal(a, b) for a, b in zip(maps, network_error_maps(net, ber_2t2r(cond), 3)))
    x = rng.integers(0, 2, (20, 64), dtype=np.uint8)
    closed_loop({"toy": net}, x, rng.integers(0, 10, 20), tmp_path, repeats=1, log=lambda *a: None)
    import csv

    rows = list(csv.DictReader(open(tmp_path / "closed_loop.csv")))
    assert rows
    for r in rows:
        c = ProgrammingCondition(float(r["i_set_uA"]), float(r["v_reset"]), float(r["pulse_us"]))
        assert float(r["ber_2t2r"]) == pytest.approx(ber_2t2r(c), rel=1e-12)
