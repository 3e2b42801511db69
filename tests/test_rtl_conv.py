"""Conv networks in RTL (generated top + harness booted from a programming image) against the
golden model on both simulators: every class and output popcount, at BER 0, 1e-3 and 1e-2, and
the manifest's cycles per inference and initiation interval, measured. Small random networks
cover conv2d and conv1d, stride 2, padding with -1 and +1, pools that drop positions, both array
configurations, kernels stored once and replicated (``parallel``); the shipped MNIST conv
network runs on Verilator."""

import pytest

from hwgen.data import MODELS_DIR
from hwgen.ir import Network
from hwgen.verify import run_network_regression

from conftest import case_sim_ber_cases, check_network_run as check, random_conv_network

pytestmark = pytest.mark.rtl

BERS = ((0.0, 11), (1e-3, 12), (1e-2, 13))
CASES = {
    # kind, n, config, parallel per conv layer
    "conv2d-par-P1": ("conv2d", 8, "par2seq", 1),
    "conv2d-par-P3x2": ("conv2d", 8, "par2seq", [3, 2]),     # P < pool window and P = whole windows
    "conv1d-seq-P2": ("conv1d", 16, "seq2par", 2),            # P = the 1-D window; no pool with P = 2
    "conv2d-seq-P9x8": ("conv2d", 8, "seq2par", [9, 8]),      # a pass = one 3x3 window; two 2x2 windows
}


@pytest.mark.parametrize("case, sim, ber, run_seed", case_sim_ber_cases(CASES, BERS, icarus=("conv2d-seq-P9x8",)))
def test_small_conv_network_matches_golden(network_design, sim, ber, run_seed, case):
    """Every case at every BER on Verilator; on Icarus the largest (17 arrays, boots in 516
    column-wide records) at 1e-2 (the other cases and BERs on Icarus: `make long`)."""
    kind, n, config, parallel = CASES[case]
    seed = 90 if kind == "conv2d" else 91
    print(f"seed={seed} case={case}")
    design, built = network_design(sim, case, random_conv_network(kind, seed), n, config, parallel)
    print(f"seed={run_seed} ber={ber}")
    check(run_network_regression(design, sim, ber=ber, seed=run_seed, count=12, build=built), design, 12, ber)


@pytest.mark.long      # about 3 minutes: `make long` and `make conv` run it
def test_shipped_conv_network_on_verilator(network_design):
    """The shipped MNIST conv network (784 + 196 + 36 positions per image, 0.7 s of Verilator per
    image) on 16 test images per BER, in pytest; `make conv` runs it and then both shipped conv
    networks on 200 images each through the CLI."""
    path = MODELS_DIR / "mnist_conv.npz"
    if not path.is_file():
        pytest.skip(f"no shipped {path.name}")
    design, built = network_design("verilator", "mnist_conv", Network.load(path), 16)
    for ber, seed in BERS:
        print(f"seed={seed} ber={ber}")
        r = run_network_regression(design, "verilator", ber=ber, seed=seed, count=16, build=built)
        print(f"BER {ber:g}: RTL accuracy {100 * r['accuracy']:.2f}% on 16 images, {r['injected_errors']} errors, "
              f"{r['cycles_per_inference']} cycles/inference, {r['inferences_per_s']:.1f} inferences/s")
        check(r, design, 16, ber)
