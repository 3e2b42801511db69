"""The shipped MNIST network (784-1024-1024-10, 1856 cells of n=32) through its generated RTL on
both simulators, bit for bit against the golden model with sampled device errors: at 1-bit codes
(the fast build) on Verilator, at the default 4-bit codes (the hierarchical build of `hwgen demo`)
and on Icarus. All in `make long` (MNIST-sized builds take minutes); `make test` runs the same
paths on smaller networks (test_rtl_network: both simulators, and a network of more than
FAST_MODEL_CELLS cells built hierarchically)."""

import pytest

from hwgen.data import MODELS_DIR
from hwgen.ir import Network
from hwgen.verify import run_network_regression

from conftest import check_network_run

pytestmark = pytest.mark.rtl

SHIPPED = MODELS_DIR / "mnist_bnn.npz"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped model")
@pytest.mark.long       # about 170 s (an MNIST-sized build): `make long` and `make demo`; `make test` runs the MLPs
def test_mnist_network_on_verilator(network_design):         # of test_rtl_network on both simulators
    """The shipped network at 1-bit device codes (a binary pair reads the same as at 4 bits; the
    fast build, about 60 s, then about 430 images/s): the 1000 shipped MNIST test images at three
    BERs."""
    design, built = network_design("verilator", "mnist_k1", Network.load(SHIPPED), 32, level_bits=1)
    assert not list(built.build_dir.glob("Vhwgen_col_*"))        # not hierarchical: the fast model
    for ber, seed in ((0.0, 1), (1e-3, 2), (1e-2, 3)):
        print(f"seed={seed} ber={ber}")
        r = run_network_regression(design, "verilator", ber=ber, seed=seed, count=1000, build=built)
        print(f"BER {ber:g}: RTL accuracy {100 * r['accuracy']:.2f}% on 1000 images, {r['injected_errors']} errors, "
              f"{r['cycles_per_inference']} cycles/inference, {r['inferences_per_s']:.0f} inferences/s")
        check_network_run(r, design, 1000, ber)


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped model")
@pytest.mark.long       # about 80 s: `make long`; `make test` builds a smaller network hierarchically (test_rtl_network)
def test_mnist_network_with_4_bit_codes_on_verilator(network_design):
    """The shipped network at the default 4-bit device codes, which Verilator builds
    hierarchically (each column module once: about 60 s instead of 4 minutes), 200 images at BER
    1e-2."""
    design, built = network_design("verilator", "mnist", Network.load(SHIPPED), 32)
    # one sub-model per column module (N = 25 and 32), as Verilator's hierarchical mode leaves them
    assert sorted(d.name for d in built.build_dir.glob("Vhwgen_col_*") if d.is_dir()) == [
        "Vhwgen_col_par2seq_n32_N25_behavioural_k4_colwrite", "Vhwgen_col_par2seq_n32_N32_behavioural_k4_colwrite"]
    print("seed=3 ber=0.01")
    r = run_network_regression(design, "verilator", ber=1e-2, seed=3, count=200, build=built)
    check_network_run(r, design, 200, 1e-2)


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped model")
@pytest.mark.long       # about 70 s: `make long`; Icarus runs the small networks of every kind in `make test`
def test_mnist_network_on_icarus(network_design):
    """Issue 14: the shipped 784-1024-1024-10 network on Icarus, 3 MNIST test images at BER 1e-2
    (device errors in every layer), level_bits 1, bit for bit against the golden model. The
    harness boots a row of a whole cell column per cycle: 2,176 records instead of 59,488 cell
    rows, about 45 s of Icarus CPU instead of ~35 min; the whole test takes ~2 min of CPU."""
    design, built = network_design("icarus", "mnist_k1", Network.load(SHIPPED), 32, level_bits=1)
    assert design.program["layout"]["depth"] == 2 * 32 * (32 + 1) + (32 + 32) + 1
    r = run_network_regression(design, "icarus", ber=1e-2, seed=3, count=3, build=built)
    print(f"RTL accuracy {100 * r['accuracy']:.2f}% on 3 images, {r['injected_errors']} errors, boot "
          f"{r['boot_cycles']} cycles, {r['cycles_per_inference']} cycles/inference")
    check_network_run(r, design, 3, 1e-2)
    assert r["boot_cycles"] < design.program["layout"]["depth"] + 8
