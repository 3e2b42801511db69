"""Array RTL against the golden model, on Icarus and Verilator, in both configurations."""

import pytest

from hwgen.generate import generate_array
from hwgen.hwconfig import HwConfig
from hwgen.verify import run_array_regression

from conftest import SIMS

pytestmark = pytest.mark.rtl

CONFIGS = ("par2seq", "seq2par")
PAPER = dict(n=32, N=3, M=3)  # the paper's Fig. 3 array


def run(built, testcase, tag, **env):
    """Run tb/array.py on a built array view; the testbench compares with the golden model."""
    return built.run("array", {"HWGEN_DESIGN": built.manifest.folder, **env}, testcase=testcase, tag=tag)


@pytest.mark.parametrize("ber", [0.0, 1e-3, 1e-1])
@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_array_random_layer(build_array, sim, config, ber):
    built = build_array(sim, HwConfig(config=config, **PAPER))
    seed = 1000 + int(ber * 1e6) + (0 if config == "par2seq" else 1)
    print(f"seed={seed} ber={ber}")
    r = run(built, "array_matches_golden", f"random_{ber}", HWGEN_SEED=seed, HWGEN_BER=ber, HWGEN_PASSES=12)
    assert r["ok"] and r["passes"] == 12 and (r["injected_errors"] > 0) == (ber >= 1e-3)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_array_backpressure_partial_layer(build_array, sim, config):
    """A layer smaller than the array (padding) with random out.ready back-pressure."""
    built = build_array(sim, HwConfig(config=config, **PAPER))
    seed = 77
    print(f"seed={seed}")
    run(built, "array_matches_golden", "backpressure", HWGEN_SEED=seed, HWGEN_BER=1e-2, HWGEN_PASSES=6,
        HWGEN_FILL="partial", HWGEN_BACKPRESSURE=1)


@pytest.mark.parametrize("sim", SIMS)
def test_array_regression_sees_device_errors(build_array, sim):
    """Negative control: ideal devices against an error-carrying golden model must mismatch."""
    built = build_array(sim, HwConfig(config="par2seq", **PAPER))
    seed = 4242
    print(f"seed={seed}")
    r = run(built, "array_detects_unmodelled_errors", "negative", HWGEN_SEED=seed, HWGEN_BER=5e-2, HWGEN_PASSES=4)
    assert r["negative_control"]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", [pytest.param(sim, marks=[pytest.mark.long] if sim == "verilator" else [])
                                 for sim in SIMS])
def test_array_odd_shape(build_array, sim, config):
    """N != M and n not a power of two: a transposed index or a wrapped counter would show (in the
    generated Verilog, which both simulators read: Icarus in `make test`, Verilator, two builds of
    their own, in `make long`)."""
    built = build_array(sim, HwConfig(n=12, N=2, M=5, config=config))
    seed = 31
    print(f"seed={seed}")
    run(built, "array_matches_golden", "odd", HWGEN_SEED=seed, HWGEN_BER=1e-2, HWGEN_PASSES=10)


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_array_batch_harness(build_array, sim, config):
    """The batch harness (no Python per cycle) gives the same golden-checked results."""
    built = build_array(sim, HwConfig(config=config, **PAPER), view="harness")
    seed = 606
    print(f"seed={seed}")
    r = run(built, "array_matches_golden", "batch", HWGEN_MODE="batch", HWGEN_SEED=seed, HWGEN_BER=1e-2,
            HWGEN_PASSES=48)
    assert r["mode"] == "batch" and r["cycles_per_pass"] == built.manifest.timing["cycles_per_pass"]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("sim", SIMS)
def test_batch_harness_runs_more_passes_than_it_holds(tmp_path, sim, config):
    """Passes beyond the harness's capacity run in several batches, each checked."""
    manifest = generate_array(HwConfig(n=4, N=2, M=1, config=config), tmp_path / "d", views=("harness",),
                              harness_passes=8)
    seed = 12
    print(f"seed={seed}")
    r = run_array_regression(manifest, sim, ber=0.05, seed=seed, passes=21, build_dir=tmp_path / "b")
    assert r["ok"] and r["passes"] == 21 and r["outputs_checked"] == 2 * 21 * manifest.hw.max_outputs


def test_a_failing_regression_shows_its_first_mismatches_and_log(tmp_path):
    """Quiet output on a failure: the first mismatches and the log's path, no simulator chatter."""
    from click.testing import CliRunner

    from hwgen.cli import main

    design = tmp_path / "d"
    generate_array(HwConfig(n=4, N=1, M=1), design, views=("sim",))
    verilog = design / "hwgen_array.v"
    text = verilog.read_text()
    assert "x_q ^ {" in text
    verilog.write_text(text.replace("x_q ^ {", "x_q ~^ {"))        # a broken XNOR sense amplifier
    r = CliRunner().invoke(main, ["sim", str(design), "--sim", "icarus", "--mode", "stream", "--passes", "3",
                                  "--build-dir", str(tmp_path / "b")])
    print(r.output)
    assert r.exit_code == 1
    assert "differ from the golden model" in r.output and "pass 0 neuron" in r.output and "rtl " in r.output
    log = r.output.split("full log: ")[1].split()[0]
    assert (tmp_path / "b") in __import__("pathlib").Path(log).parents and "cocotb" in open(log).read()
    assert len(r.output.splitlines()) < 15                       # no simulator or cocotb output
