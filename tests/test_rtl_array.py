"""Array RTL against the golden model, on Icarus and Verilator, in both configurations."""

import pytest

from hwgen.hwconfig import HwConfig

from conftest import SIMS

pytestmark = pytest.mark.rtl

CONFIGS = ("par2seq", "seq2par")
PAPER = dict(n=32, N=3, M=3)  # the paper's Fig. 3 array


@pytest.mark.parametrize("ber", [0.0, 1e-3, 1e-1])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_array_random_layer(build_array, sim, config, ber):
    built = build_array(sim, HwConfig(config=config, **PAPER))
    seed = 1000 + int(ber * 1e6) + (0 if config == "par2seq" else 1)
    print(f"seed={seed} ber={ber}")
    built.run("tb_array", f"random_{ber}", testcase="array_matches_golden", HWGEN_MANIFEST=built.manifest_path, HWGEN_SEED=seed,
              HWGEN_BER=ber, HWGEN_PASSES=12)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_array_backpressure_partial_layer(build_array, sim, config):
    """A layer smaller than the array (padding) with random out.ready back-pressure."""
    built = build_array(sim, HwConfig(config=config, **PAPER))
    seed = 77
    print(f"seed={seed}")
    built.run("tb_array", "backpressure", testcase="array_matches_golden", HWGEN_MANIFEST=built.manifest_path, HWGEN_SEED=seed,
              HWGEN_BER=1e-2, HWGEN_PASSES=6, HWGEN_FILL="partial", HWGEN_BACKPRESSURE=1)


@pytest.mark.parametrize("sim", SIMS)
def test_array_regression_sees_device_errors(build_array, sim):
    """Negative control: ideal devices against an error-carrying golden model must mismatch."""
    built = build_array(sim, HwConfig(config="par2seq", **PAPER))
    seed = 4242
    print(f"seed={seed}")
    built.run("tb_array", "negative", testcase="array_detects_unmodelled_errors",
              HWGEN_MANIFEST=built.manifest_path, HWGEN_SEED=seed, HWGEN_BER=5e-2, HWGEN_PASSES=4)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_array_odd_shape(build_array, sim, config):
    """N != M and n not a power of two: a transposed index or a wrapped counter would show."""
    built = build_array(sim, HwConfig(n=12, N=2, M=5, config=config))
    seed = 31
    print(f"seed={seed}")
    built.run("tb_array", "odd", testcase="array_matches_golden", HWGEN_MANIFEST=built.manifest_path,
              HWGEN_SEED=seed, HWGEN_BER=1e-2, HWGEN_PASSES=10)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_array_batch_harness(build_array, sim, config):
    """The batch harness (no Python per cycle) gives the same golden-checked results."""
    built = build_array(sim, HwConfig(config=config, **PAPER), view="harness")
    seed = 606
    print(f"seed={seed}")
    built.run("tb_array", "batch", testcase="array_matches_golden", HWGEN_MANIFEST=built.manifest_path,
              HWGEN_MODE="batch", HWGEN_SEED=seed, HWGEN_BER=1e-2, HWGEN_PASSES=48)
