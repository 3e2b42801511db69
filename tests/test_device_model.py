"""RRAM device physics (hwgen.device.physics), ECC benchmark (hwgen.device.ecc) and the device report,
checked against the anchors of Hirtzlin et al. (Figs. 4-8, Table 1). Tolerances are the paper's own
precision, not values copied from a model run."""

import math

import numpy as np
import pytest

from hwgen.device import ecc, network_error_maps, sample_error_map
from hwgen.device.physics import (CHECKERBOARD, TABLE1, ProgrammingCondition, ber_1t1r, ber_2t2r, cyclability,
                                  distributions, expected_pair_error, network_error_maps_from_condition,
                                  pcsa_error_probability, programming_energy_pj, sample_error_map_from_condition)
from hwgen.device.report import device_report
from hwgen.ir import Layer


def q(z):
    return 0.5 * math.erfc(z / math.sqrt(2))


# --- Fig. 4: checkerboard at 55 uA / 2.5 V / 1 us -----------------------------------------------------

def test_checkerboard_bit_error_rates_match_fig4():
    # paper: 1T1R 1.2e-2, 2T2R 2e-3; within a factor 1.5
    assert 0.012 / 1.5 < ber_1t1r(CHECKERBOARD) < 0.012 * 1.5
    assert 0.002 / 1.5 < ber_2t2r(CHECKERBOARD) < 0.002 * 1.5


def test_checkerboard_distributions_overlap_at_about_three_sigma():
    assert 2.5 < distributions(CHECKERBOARD).overlap_sigma < 3.5


def test_pcsa_is_reliable_above_a_ratio_of_five_only():
    # Fig. 4(d): mistakes below a factor five; coin toss at equal resistances; inverted pairs read wrong
    p = pcsa_error_probability([0.0, 0.2, 1.0, 2.0, 5.0, 10.0, 100.0])
    assert p[0] == 1.0 and p[1] > 0.99 and p[2] == pytest.approx(0.5)
    assert p[3] > 0.05 and p[4] <= 2e-3 and p[5] < 1e-5 and p[6] < 1e-12
    assert np.all(np.diff(p) <= 0)
    with pytest.raises(ValueError, match="ratio must be >= 0"):
        pcsa_error_probability(-1.0)


def test_pair_integration_is_accurate_down_to_1e_9():
    # a PCSA with a Gaussian offset in ln(ratio) has a closed form: Q(mean / sqrt(sd^2 + s^2))
    s = 0.4
    for mean, sd in [(2.0, 0.5), (3.05, 0.5), (3.85, 0.5), (5.4, 0.7)]:   # BER ~1e-3 ... 1e-11
        exact = q(mean / math.hypot(sd, s))
        got = expected_pair_error(mean, sd, lambda r: np.array([q(math.log(v) / s) if v > 0 else 1.0 for v in r]))
        assert exact > 1e-12
        assert got == pytest.approx(exact, rel=1e-3, abs=1e-15)


# --- Table 1 -------------------------------------------------------------------------------------------

BOUNDS = {  # paper Table 1: 2T2R BER before aging, energy range (pJ, SET and RESET), cyclability
    "strong": (1e-7, (200, 400), 1e8),
    "optimized endurance": (1e-4, (150, 400), 1e10),
    "optimized programming energy": (1e-5, (20, 30), 1e8),
}


@pytest.mark.parametrize("name", list(BOUNDS))
def test_table1_conditions(name):
    cond, (max_ber, (e_lo, e_hi), min_cycles) = TABLE1[name], BOUNDS[name]
    assert ber_2t2r(cond) < max_ber
    assert ber_2t2r(cond) < 1e-3                    # Sec. 4.1.4: all three are "< 1" points of Fig. 5
    energy = programming_energy_pj(cond)
    for value in energy:
        assert e_lo * 0.95 <= value <= e_hi * 1.05
    assert energy.bit_pj == pytest.approx(energy.set_pj + energy.reset_pj)
    assert cyclability(cond) > min_cycles


def test_fig6_aging_at_the_strong_condition():
    cond = TABLE1["strong"]
    # 1T1R above 1e-3 after "a few million cycles"; 2T2R still below it at 7e8 but several decades up
    assert 1e6 <= cyclability(cond, "1t1r") <= 1e7
    assert ber_2t2r(cond, 7e8) < 1e-3
    assert ber_2t2r(cond, 7e8) > 100 * ber_2t2r(cond)
    fresh, aged = distributions(cond), distributions(cond, 7e8)
    assert aged.window < fresh.window and aged.overlap_sigma < fresh.overlap_sigma   # medians closer, wider


def test_fig7_no_degradation_at_1p5_volt():
    cond = TABLE1["optimized endurance"]
    assert ber_2t2r(cond, 5e10) < 1e-4
    assert ber_2t2r(cond, 1e10) < 2 * ber_2t2r(cond)


def test_cyclability_edges():
    assert cyclability(ProgrammingCondition(30, 2.5, 1)) == 0.0         # already above 1e-3 when fresh
    assert cyclability(TABLE1["strong"], max_cycles=1e6) == math.inf
    with pytest.raises(ValueError, match="structure must be one of 1t1r, 2t2r"):
        cyclability(TABLE1["strong"], "3t3r")


# --- Fig. 5 / Fig. 8 trends ------------------------------------------------------------------------------

def test_more_set_current_lowers_the_ber_and_dominates():
    currents = np.geomspace(28, 200, 12)
    for ber in (ber_1t1r, ber_2t2r):
        values = [ber(ProgrammingCondition(i, 2.5, 1)) for i in currents]
        assert np.all(np.diff(values) < 0)
    # Fig. 5: SET current has the largest impact (decades of 2T2R BER over each parameter's range)
    span = lambda conds: np.ptp(np.log10([ber_2t2r(c) for c in conds]))
    s_i = span([ProgrammingCondition(i, 2.0, 1) for i in (28, 200)])
    s_v = span([ProgrammingCondition(100, v, 1) for v in (1.5, 2.5)])
    s_t = span([ProgrammingCondition(100, 2.0, t) for t in (0.1, 100)])
    assert s_i > s_v > s_t > 0


def test_more_cycles_raise_the_ber():
    cycles = np.geomspace(1, 1e11, 12)
    for ber in (ber_1t1r, ber_2t2r):
        values = [ber(TABLE1["strong"], n) for n in cycles]
        assert np.all(np.diff(values) > 0)


def test_2t2r_beats_1t1r_on_a_grid_of_conditions():
    checked = 0
    for i in (28, 40, 55, 80, 120, 200):
        for v in (1.5, 2.0, 2.5):
            for t in (0.1, 0.3, 1, 10, 100):      # above 1 us the spreads widen: fewer in Fig. 8's range
                for n in (0, 1e6, 1e9):
                    cond = ProgrammingCondition(i, v, t)
                    if ber_1t1r(cond, n) <= 0.05:          # Fig. 8's range
                        assert ber_2t2r(cond, n) < ber_1t1r(cond, n), (cond, n)
                        checked += 1
    assert checked > 80


def test_fig8_gap_is_about_four_decades_at_1e_8():
    currents = np.geomspace(28, 200, 300)
    l1 = np.log10([ber_1t1r(ProgrammingCondition(i, 2.5, 1)) for i in currents])
    l2 = np.log10([ber_2t2r(ProgrammingCondition(i, 2.5, 1)) for i in currents])
    assert l2.min() < -8 < l2.max()
    gap = np.interp(-8, l2[::-1], (l1 - l2)[::-1])
    assert 3.5 <= gap <= 4.5
    # and the gap grows as the BER falls (paper: "larger for lower bit error rate")
    assert np.interp(-4, l2[::-1], (l1 - l2)[::-1]) < gap


# --- ECC --------------------------------------------------------------------------------------------------

def test_ecc_codes_and_redundancy():
    assert [c.name for c in ecc.SEC_CODES] == ["SEC(7,4)", "SEC(15,11)", "SEC(31,26)", "SEC(63,57)"]
    assert [c.name for c in ecc.SECDED_CODES] == ["SECDED(8,4)", "SECDED(16,11)", "SECDED(32,26)", "SECDED(64,57)"]
    assert ecc.Code(3, secded=True).redundancy == 2.0 and ecc.Code(3).redundancy == 1.75
    with pytest.raises(ValueError, match="m \\(parity bits\\) must be an integer in \\[2, 10\\]"):
        ecc.Code(1)
    with pytest.raises(ValueError, match="ber_in must be in \\[0, 1\\]"):
        ecc.ber_out(ecc.Code(3), 1.5)


def test_ecc_analytic_leading_terms():
    p = 1e-4
    assert ecc.ber_out(ecc.Code(3), p) == pytest.approx(9 * p ** 2, rel=1e-2)                # 3*C(7,2)/7
    assert ecc.ber_out(ecc.Code(3, secded=True), p) == pytest.approx(7 * p ** 2, rel=1e-2)   # 2*C(8,2)/8
    assert ecc.ber_out(ecc.Code(3), 0.0) == 0.0


@pytest.mark.parametrize("code", [ecc.Code(3), ecc.Code(3, secded=True)], ids=lambda c: c.name)
def test_ecc_analytic_matches_monte_carlo(code):
    analytic = float(ecc.ber_out(code, 1e-2))
    mc = ecc.monte_carlo_ber(code, 1e-2, words=200_000, seed=12345)
    print(f"{code.name} at BER 1e-2: analytic {analytic:.3e}, Monte Carlo {mc:.3e} (seed 12345, 200000 words)")
    assert mc == pytest.approx(analytic, rel=0.15)


# --- conditions and maps ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(i_set_uA=10, v_reset=2.0, pulse_us=1), r"i_set_uA must be in \[20, 200\] uA, not 10"),
    (dict(i_set_uA=100, v_reset=3.0, pulse_us=1), r"v_reset must be in \[1.5, 2.5\] V, not 3.0"),
    (dict(i_set_uA=100, v_reset=2.0, pulse_us=0.01), r"pulse_us must be in \[0.1, 100\] us, not 0.01"),
    (dict(i_set_uA=100, v_reset=2.0, pulse_us=float("nan")), r"pulse_us must be in \[0.1, 100\] us, not nan"),
    (dict(i_set_uA="lots", v_reset=2.0, pulse_us=1), r"i_set_uA must be a number in \[20, 200\] uA, not 'lots'"),
])
def test_condition_validation_names_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProgrammingCondition(**kwargs)


def test_bad_cycles_and_structure_are_rejected():
    with pytest.raises(ValueError, match="cycles must be a finite number >= 0"):
        ber_2t2r(CHECKERBOARD, -1)
    with pytest.raises(ValueError, match="structure must be one of"):
        sample_error_map_from_condition((4, 4), CHECKERBOARD, 0, 1, structure="1t2r")


def test_seeded_maps_are_deterministic_and_follow_the_model_ber():
    cond = ProgrammingCondition(40, 2.5, 1)
    a = sample_error_map_from_condition((200, 500), cond, 0, seed=7)
    b = sample_error_map_from_condition((200, 500), cond, 0, seed=7)
    assert a.dtype == np.uint8 and np.array_equal(a, b)
    assert np.array_equal(a, sample_error_map((200, 500), ber_2t2r(cond), 7))
    assert not np.array_equal(a, sample_error_map_from_condition((200, 500), cond, 0, seed=8))
    one = sample_error_map_from_condition((200, 500), cond, 0, seed=7, structure="1t1r")
    assert abs(one.mean() - ber_1t1r(cond)) < 5 * math.sqrt(ber_1t1r(cond) / one.size)


def test_network_maps_from_condition_mirror_network_error_maps():
    class Net:
        layers = [Layer.from_bits(np.zeros((8, 16)), np.zeros(8)), Layer.from_bits(np.zeros((3, 8)), np.zeros(3))]
    cond = ProgrammingCondition(30, 2.0, 1)
    maps = network_error_maps_from_condition(Net, cond, 1e3, seed=3)
    again = network_error_maps_from_condition(Net, cond, 1e3, seed=3)
    ref = network_error_maps(Net, ber_2t2r(cond, 1e3), 3)
    assert [m.shape for m in maps] == [(8, 16), (3, 8)]
    assert all(np.array_equal(x, y) and np.array_equal(x, z) for x, y, z in zip(maps, again, ref))


def test_device_report_writes_all_files(tmp_path):
    paths = device_report(tmp_path / "dev", progress=False)
    names = sorted(p.name for p in (tmp_path / "dev").iterdir())
    assert names == sorted(["fig8_ber_2t2r_vs_1t1r.csv", "fig8_ber_2t2r_vs_1t1r.png", "table1_conditions.csv",
                            "aging.csv", "aging.png", "ternary_rates.csv", "ternary_rates.png"])
    assert all(p.stat().st_size > 0 for p in paths)
    table = (tmp_path / "dev" / "table1_conditions.csv").read_text().splitlines()
    assert len(table) == 4 and table[1].startswith("strong,")
    fig8 = (tmp_path / "dev" / "fig8_ber_2t2r_vs_1t1r.csv").read_text()
    assert "SECDED(8,4)" in fig8 and "SEC(63,57)" in fig8
