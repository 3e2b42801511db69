"""Whole-network RTL (generated top + harness booted from a programming image) against the
golden model: every class and output popcount, at BER 0 and with sampled device errors, and
the cycles per inference and initiation interval of the manifest."""

import numpy as np
import pytest

from hwgen.ir import Layer, Network
from hwgen.verify import run_network_regression
from hwgen.verify.build import FAST_MODEL_CELLS

from conftest import check_network_run, random_network, sim_ber_cases

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize("configs", [("par2seq", "par2seq"),
                                     pytest.param(("par2seq", "seq2par"), marks=pytest.mark.long)],
                         ids=["par-par", "par-seq"])
@pytest.mark.parametrize("sim, ber, seed", sim_ber_cases(((0.0, 77), (1e-2, 77))))
def test_small_network_matches_golden(network_design, sim, ber, seed, configs):
    """A 784-32-10 network on n=32 arrays (MNIST-sized inputs, few cells, so Icarus keeps up); the
    second layer in either configuration, so the link between layers both hands over whole
    vectors and slices them into beats. BER 0 on Icarus: `make long`; the par2seq -> seq2par link
    too (a network of its own to build; the double-buffered par-seq-par case below has that link,
    and its seq2par -> par2seq one, in `make test`)."""
    print(f"seed={seed}")
    design, built = network_design(sim, "-".join(configs), random_network(seed), 32, list(configs))
    r = run_network_regression(design, sim, ber=ber, seed=seed, count=24, build=built)
    print(r)
    assert r["outputs_checked"] == 24 * 11
    assert (r["injected_errors"] > 0) == (ber > 0)


def conv_front_network(seed: int) -> Network:
    """A one-position conv1d front end (the 784-bit image as 784 channels, kernel 1: its period
    is short enough not to hide the links) before dense 16 -> 16 -> 10."""
    rng = np.random.default_rng(seed)
    conv = Layer.from_bits(rng.integers(0, 2, (16, 784)), rng.integers(392 - 49, 392 + 49, 16), kind="conv1d",
                           in_shape=(1, 784), kernel=1, name="c1")
    dense = random_network(seed + 1, (16, 16, 10)).layers
    return Network([conv, *dense], {"dataset": "mnist", "input_threshold": 127})


DOUBLE_BUFFERED = {
    # key: (network, configs); each has a par2seq -> seq2par link (32 beats in, 32 out: two buffers)
    "par-seq-par": (lambda: random_network(79, (784, 32, 16, 10)), ["par2seq", "seq2par", "par2seq"]),
    "conv-par-seq": (lambda: conv_front_network(80), ["par2seq", "par2seq", "seq2par"]),
}


@pytest.mark.parametrize("case", DOUBLE_BUFFERED)
@pytest.mark.parametrize("sim, ber, seed", sim_ber_cases(((0.0, 81), (1e-2, 82))))
def test_double_buffered_links_run_at_the_largest_pass(network_design, sim, ber, seed, case):
    """Issue 14: a par2seq layer's 32 output beats feed a seq2par layer's 32 input beats through
    a two-buffer link, so the measured initiation interval is the largest layer pass (or conv
    period), not the link's 64-cycle span; latency and interval equal the manifest's. BER 0 on
    Icarus: `make long`."""
    make, configs = DOUBLE_BUFFERED[case]
    print(f"case={case}")
    design, built = network_design(sim, f"dbl-{case}", make(), 32, configs)
    timing = design.timing
    stages = [c["period"] for c in timing.get("conv_layers", [])] + timing["cycles_per_layer_pass"]
    assert timing["initiation_interval"] == max(stages) < max(timing["cycles_per_link"])
    assert 2 in timing["link_buffers"]
    print(f"seed={seed} ber={ber}")
    r = run_network_regression(design, sim, ber=ber, seed=seed, count=12, build=built)
    check_network_run(r, design, 12, ber)


def test_big_network_with_wide_codes_builds_hierarchically(network_design):
    """A network of more than FAST_MODEL_CELLS cells with 4-bit device codes (784-24-10 on n=8
    arrays: 300 cells) takes the path of `hwgen demo`'s MNIST network: Verilator builds each column
    module once (``--hierarchical``) with the fast model. Every class and popcount against the
    golden model. (The shipped MNIST network so: test_rtl_mnist, `make long`.)"""
    seed = 83
    print(f"seed={seed}")
    design, built = network_design("verilator", "hier-784-24-10", random_network(seed, (784, 24, 10)), 8)
    assert sum(p.cells for p in design.layers) >= FAST_MODEL_CELLS and design.layers[0].hw.level_bits == 4
    assert sorted(d.name for d in built.build_dir.glob("Vhwgen_col_*") if d.is_dir()) == [
        "Vhwgen_col_par2seq_n8_N3_behavioural_k4_colwrite", "Vhwgen_col_par2seq_n8_N98_behavioural_k4_colwrite"]
    for ber, run_seed in ((0.0, 84), (1e-2, 85)):
        print(f"seed={run_seed} ber={ber}")
        r = run_network_regression(design, "verilator", ber=ber, seed=run_seed, count=24, build=built)
        check_network_run(r, design, 24, ber)


@pytest.mark.parametrize("sim", ["verilator"])
def test_network_with_device_model_errors(network_design, sim):
    """Errors sampled from the RRAM device model (paper checkerboard condition, aged) instead of
    a BER: the RTL still equals the golden model bit for bit."""
    seed = 78
    print(f"seed={seed}")
    design, built = network_design(sim, "par2seq-par2seq", random_network(77), 32, ["par2seq", "par2seq"])
    r = run_network_regression(design, sim, seed=seed, count=16, build=built, condition="55,2.5,1", cycles=10**6)
    print(r)
    assert r["injected_errors"] > 0 and r["outputs_checked"] == 16 * 11
