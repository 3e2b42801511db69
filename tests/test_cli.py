"""The hwgen command: clear errors and non-zero exits on bad input; generation through the CLI."""

import json

from click.testing import CliRunner

from hwgen.cli import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_rtl_writes_design_and_reports_cycles(tmp_path):
    out = tmp_path / "d"
    r = invoke("rtl", "--n", 8, "--N", 2, "--M", 2, "--config", "seq2par", "-o", out, "--views", "sim,macro")
    assert r.exit_code == 0, r.output
    assert "seq2par_n8_N2_M2: 64 inputs x 4 outputs, latency 3, 11 cycles per layer pass" in r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["macro", "sim"]


def test_rtl_bad_parameters_exit_nonzero_with_message(tmp_path):
    r = invoke("rtl", "--n", 1, "--N", 2, "--M", 2, "-o", tmp_path / "x")     # refused at the edge, by click
    assert r.exit_code == 2 and "Invalid value for '--n': 1 is not in the range 2<=x<=1024" in r.output
    assert not (tmp_path / "x").exists()
    r = invoke("rtl", "--n", 8, "--N", 2, "--M", 2, "--views", "sim,gds", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "'--views'" in r.output and "'gds' is not one of" in r.output
    r = invoke("rtl", "--n", 8, "--N", 2, "--M", 2, "--config", "zigzag")
    assert r.exit_code == 2 and "zigzag" in r.output


def test_sim_refuses_bad_ber_and_missing_design(tmp_path):
    out = tmp_path / "d"
    assert invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "-o", out, "--views", "sim").exit_code == 0
    r = invoke("sim", out, "--ber", 2)
    assert r.exit_code == 2 and "'--ber': must be a number in [0, 1], not '2'" in r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = invoke("sim", empty)
    assert r.exit_code == 1 and "has no manifest.json" in r.output


def test_missing_simulator_names_the_install(tmp_path, monkeypatch):
    out = tmp_path / "d"
    assert invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "-o", out, "--views", "sim").exit_code == 0
    monkeypatch.setenv("PATH", str(tmp_path))           # no simulator anywhere
    r = invoke("sim", out, "--sim", "icarus", "--mode", "stream", "--build-dir", tmp_path / "b")
    assert r.exit_code == 1 and "iverilog not found on PATH" in r.output and "apt-get install iverilog" in r.output


def test_batch_mode_needs_a_harness_view(tmp_path):
    out = tmp_path / "d"
    assert invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "-o", out, "--views", "sim").exit_code == 0
    r = invoke("sim", out, "--mode", "batch", "--build-dir", tmp_path / "b")
    assert r.exit_code == 1 and "has no harness view, which mode 'batch' needs" in r.output
    # more passes than the harness holds run in several batches: tests/test_rtl_array.py
