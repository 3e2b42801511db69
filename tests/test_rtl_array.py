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
    built.run("tb_array", f"random_{ber}", HWGEN_MANIFEST=built.manifest_path, HWGEN_SEED=seed,
              HWGEN_BER=ber, HWGEN_PASSES=12)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_array_backpressure_partial_layer(build_array, sim, config):
    """A layer smaller than the array (padding) with random out.ready back-pressure."""
    built = build_array(sim, HwConfig(config=config, **PAPER))
    seed = 77
    print(f"seed={seed}")
    built.run("tb_array", "backpressure", HWGEN_MANIFEST=built.manifest_path, HWGEN_SEED=seed,
              HWGEN_BER=1e-2, HWGEN_PASSES=6, HWGEN_FILL="partial", HWGEN_BACKPRESSURE=1)
