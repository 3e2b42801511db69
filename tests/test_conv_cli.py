"""Conv networks through the command line: `hwgen rtl --parallel`, its bad input, `hwgen space`
and `hwgen sim` on a generated conv design (the end-to-end path a user takes)."""

import csv

import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.ir import Network
from hwgen.manifest import Manifest
from hwgen.netplan import network_timing, plan_network

from conftest import random_conv_network
from test_bad_input import one_line_error

SEED = 92


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def conv_model(tmp_path):
    path = tmp_path / "conv2d.npz"
    print(f"seed={SEED}")
    random_conv_network("conv2d", SEED).save(path)
    return path


def test_rtl_parallel_is_recorded_and_checked(tmp_path, conv_model):
    r = invoke("rtl", "--model", conv_model, "--n", 8, "--parallel", "3,4", "--views", "harness", "-o", tmp_path / "d")
    assert r.exit_code == 0, r.output
    manifest = Manifest.load(tmp_path / "d")
    convs = manifest.timing["conv_layers"]
    assert [(c["parallel"], c["passes"]) for c in convs] == [(3, 48), (4, 4)]
    assert [p.cells for p in manifest.layers] == [3 * 2, 4 * 14, 10]
    assert "conv2d 28x28x1 k3 -> 4x4x6" in r.output and "48 passes per image" in r.output
    one_line_error(invoke("rtl", "--model", conv_model, "--n", 8, "--parallel", 2, "-o", tmp_path / "e"),
                   "--parallel 2 must divide the 3x3 pool window")
    one_line_error(invoke("rtl", "--model", conv_model, "--n", 8, "--parallel", "1,2,3", "-o", tmp_path / "e"),
                   "3 --parallel values given for 2 conv layers")
    one_line_error(invoke("rtl", "--n", 8, "--N", 2, "--M", 2, "--parallel", 2, "-o", tmp_path / "e"),
                   "--parallel", code=2)
    one_line_error(invoke("rtl", "--model", conv_model, "--parallel", 0), "--parallel", code=2)
    assert not (tmp_path / "e").exists()


def test_space_table(tmp_path, conv_model):
    r = invoke("space", "--model", conv_model, "--parallel", "1,3,9", "--n", 8, "--count", 50, "--ber", 0.01,
               "--out", tmp_path / "space")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(tmp_path / "space" / "design_space.csv")))
    # P=3 does not fit the second layer's 2x2 pool: left out, and said so
    assert [row["parallel"] for row in rows] == ["1"] and "P=3: skipped" in r.output
    plans = plan_network(Network.load(conv_model), 8, parallel=1)
    assert int(rows[0]["cycles_per_inference"]) == network_timing(plans)["cycles_per_inference"]
    assert int(rows[0]["cells"]) == sum(p.cells for p in plans)
    assert 0 <= float(rows[0]["accuracy_ber_0.01"]) <= 1
    assert (tmp_path / "space" / "design_space.png").stat().st_size > 0
    assert "| network | parallel | cells |" in (tmp_path / "space" / "design_space.md").read_text()


@pytest.mark.rtl
def test_conv_design_end_to_end_on_icarus(tmp_path, conv_model):
    """`hwgen rtl --model` then `hwgen sim`: every class and popcount equal to the golden model."""
    assert invoke("rtl", "--model", conv_model, "--n", 8, "--parallel", "9,4", "--views", "harness",
                  "-o", tmp_path / "d").exit_code == 0
    r = invoke("sim", tmp_path / "d", "--sim", "icarus", "--count", 6, "--ber", 0.01, "--seed", 3)
    assert r.exit_code == 0, r.output
    assert "every class and output popcount equal to the golden model" in r.output
