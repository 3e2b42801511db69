"""What a design costs: synthesis (Yosys), timing (OpenSTA) and energy from real activity on a
small array, on sky130hd, with every number read from the tools and checked for sanity and for
consistency with an independent computation; and the clear errors of the flow's edge.

Issue 11's acceptance: the block-scaled energy within 10 % of the flat gate-level energy of the
same run, and the gate-level netlist equal to the RTL in every cycle of that run.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.errors import ConfigError, DataError, SimulatorMissing
from hwgen.flow.blockscaled import characterisation_network
from hwgen.flow.energy import run_energy
from hwgen.flow.flatenergy import Netlist
from hwgen.flow.macro import view_macros
from hwgen.flow.platform import get_platform, mark_dont_use
from hwgen.flow.sdc import sdc_text
from hwgen.flow.steps import link
from hwgen.flow.synth import block_of
from hwgen.rtl.tree import GROUP
from hwgen.flow.vcd import vcd_name, vcd_toggles
from hwgen.generate import generate_array
from hwgen.hwconfig import HwConfig
from hwgen.manifest import Manifest

from conftest import sky130

HW = HwConfig(n=8, N=2, M=2)


def library(plat):
    from hwgen.flow.liberty import load_library

    return load_library(plat.prepared_liberty())


def needs(*tools):
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")


# -- fast: names, constraints, platforms -------------------------------------------------------------

@pytest.mark.parametrize("name, block", [
    ("$flatten\\cell_0_0.$abc$5594$new_n26_", "cells"),
    ("layer0.col_1.column.cell_0.block.macro", "memory"),
    ("$flatten\\layer1.\\tree_3.$abc$1$x", "tree"),
    ("$flatten\\layer0.\\thresholds.$auto$ff.cc:266:slice$9", "thresholds"),
    ("$flatten\\link2.$auto$ff.cc:266:slice$2", "links"),
    ("$flatten\\argmax.$abc$3$y", "argmax"),
    ("$abc$5378$auto$rtlil.cc:2560:MuxGate$4199", "control"),
    ("$flatten\\layer0.$abc$2$z", "control"),
])
def test_block_of_names_the_deepest_block(name, block):
    assert block_of(name) == block


def test_dont_use_marks_only_matching_cells():
    text = 'library (x) {\n  cell ("a_lpflow_1") {\n    area : 1;\n  }\n  cell ("a_nand2_1") {\n  }\n}\n'
    marked = mark_dont_use(text, ("a_lpflow_*",))
    cells = re.findall(r'cell \("(\w+)"\) \{\n(\s*dont_use : true;)?', marked)
    assert {k: v.strip() for k, v in cells} == {"a_lpflow_1": "dont_use : true;", "a_nand2_1": ""}


def test_sdc_names_the_clock_and_refuses_bad_input():
    text = sdc_text("hwgen_array", 2.5)
    assert "create_clock -name $clk_name -period $clk_period $clk_port" in text
    assert "set clk_period 2.5" in text and "current_design hwgen_array" in text
    with pytest.raises(ConfigError, match="--period"):
        sdc_text("hwgen_array", 0)
    with pytest.raises(ConfigError, match="identifier"):
        sdc_text("top; exec rm", 10)


def test_platform_choice_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="unknown platform"):
        get_platform("tsmc3")
    with pytest.raises(ConfigError, match="not both"):
        get_platform("sky130hd", lib=tmp_path / "x.lib")
    with pytest.raises(ConfigError, match="no sky130_fd_sc_hd"):
        get_platform("sky130hd", pdk_dir=tmp_path)
    bogus = tmp_path / "bogus.lib"
    bogus.write_text("this is no liberty file\n")
    with pytest.raises(DataError, match="no Liberty file"):
        get_platform(lib=bogus).prepared_liberty(tmp_path / "cache")


def test_liberty_extract_has_the_flip_flop_energies():
    from hwgen.flow.liberty import load_library

    lib = load_library(sky130().prepared_liberty())
    assert lib.voltage_v == pytest.approx(1.8) and lib.cap_unit_f == pytest.approx(1e-12)
    dff = lib.cell("sky130_fd_sc_hd__dfxtp_1")
    assert dff.sequential and dff.pins["CLK"].clock
    assert 5e-15 < dff.pins["CLK"].energy_j < 50e-15          # about 20 fJ per clock edge
    nand = lib.cell("sky130_fd_sc_hd__nand2_1")
    y = nand.pins["Y"]
    assert not nand.sequential and y.output_energy(20e-15) > 0
    assert "dont_use : true" in sky130().prepared_liberty().read_text()[:10_000_000]


# -- the flow on a small array --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def costed(tmp_path_factory):
    """(8,2,2) par2seq array, macro + harness views, through `hwgen flow` on sky130hd (Icarus
    regression)."""
    needs("yosys", "sta", "iverilog")
    plat = sky130()
    folder = tmp_path_factory.mktemp("flow") / "a822"
    generate_array(HW, folder, views=("macro", "harness"))
    res = CliRunner().invoke(main, ["flow", str(folder), "--platform", "sky130hd", "--sim", "icarus"])
    assert res.exit_code == 0, res.output
    print(res.output)
    return Manifest.load(folder), plat, folder / "flow" / "sky130hd_macro"


def _result(folder, step):
    return json.loads((folder / step / "step.json").read_text())["result"]


@pytest.mark.flow
def test_synthesis_area_is_whole_and_counts_the_macros(costed):
    manifest, plat, folder = costed
    synth = _result(folder, "synth")
    assert synth["cells"] > 100 and synth["flops"] > 0
    # one weight macro per cell, and the thresholds in one threshold memory macro (no flip-flops)
    weights, thresholds = synth["macros"]["hwgen_rram2t2r_xnor_n8"], synth["macros"]["hwgen_rram2t2r_thr_r8_w10"]
    assert weights["instances"] == HW.N * HW.M and thresholds["instances"] == 1
    assert synth["macro_instances"] == HW.N * HW.M + 1
    assert synth["blocks"]["memory"]["area_um2"] == pytest.approx(HW.N * HW.M * weights["area_um2"], rel=1e-4)
    assert synth["blocks"]["thresholds"] == {"area_um2": pytest.approx(thresholds["area_um2"], rel=1e-4), "cells": 1}
    blocks = sum(b["area_um2"] for b in synth["blocks"].values())
    assert blocks == pytest.approx(synth["area_um2"], rel=0.01), "per-block areas must add up to Yosys's total"
    for b in ("cells", "tree", "control"):
        assert synth["blocks"][b]["area_um2"] > 0, b
    netlist = (folder / "synth" / "netlist.v").read_text()
    assert "lpflow" not in netlist, "a dont-use cell was mapped"
    # clock gating: the held input vector (n*N bits, loaded only when a pass is accepted) sits behind
    # the platform's integrated clock-gating cell; par2seq cells keep no counter register, and the
    # tree totals (5 bits each) are below the gating threshold
    assert synth["clock_gates"] >= 1 and synth["gated_flops"] >= HW.n * HW.N
    assert synth["gated_flops"] < synth["flops"]
    assert synth["cell_types"].get("sky130_fd_sc_hd__dlclkp_1", 0) == synth["clock_gates"]
    # the popcounts are carry-save trees on the platform's full-adder cell (hwgen.flow.synth.adder_map),
    # at least one per cell
    assert synth["cell_types"].get("sky130_fd_sc_hd__fa_1", 0) >= HW.N * HW.M


@pytest.mark.flow
def test_sta_fmax_follows_from_period_and_slack(costed):
    _, _, folder = costed
    sta = _result(folder, "sta")
    assert sta["met"] and 0 < sta["setup_slack_ns"] < sta["period_ns"]
    assert sta["fmax_mhz"] == pytest.approx(1e3 / (sta["period_ns"] - sta["setup_slack_ns"]), rel=1e-3)
    assert sta["setup_path"]["start"] and sta["setup_path"]["end"]
    assert "create_clock" in (folder / "sta" / "constraint.sdc").read_text()


@pytest.mark.flow
def test_block_scaled_energy_agrees_with_flat_gate_level(costed):
    manifest, plat, folder = costed
    energy = _result(folder, "energy")
    same = energy["same_run"]
    print(f"flat {same['flat']['total_j']:.4g} J/pass, scaled {same['scaled']['total_j']:.4g} J/pass, "
          f"deviation {same['deviation']:+.2%}")
    assert abs(same["deviation"]) < 0.10
    # the data part alone (what the characterisation scales) stays within 25 %
    flat_data, scaled_data = same["flat"]["kinds_j"]["data"], same["scaled"]["kinds_j"]["data"]
    assert flat_data > 0 and abs(scaled_data / flat_data - 1) < 0.25
    # The cells' data energy is priced per sense and per toggle of a sensed bit: the toggles counted
    # from the weights and the golden model's inputs (hwgen.flow.toggles) are the ones the gate-level
    # VCD shows on the weight macros' outputs (the first read of the window aside), and the fit on
    # the two characterisation runs gives a positive price per toggle.
    toggles = same["sensed_toggles"]
    print(f"sensed-bit toggles per pass: {toggles['counted']:.1f} counted, {toggles['vcd']:.1f} in the VCD")
    assert toggles["counted"] > 0 and toggles["counted"] == pytest.approx(toggles["vcd"], rel=0.02)
    cells = energy["characterisation"]["coefficients"]["cells"]
    assert cells["toggle_j"] > 0 and cells["data_j"] >= 0
    fit = cells["fit"]
    assert fit["toggles_per_item"][0] > fit["toggles_per_item"][1] and fit["data_j_per_item"][0] > fit["data_j_per_item"][1]
    # RRAM: every stored bit sensed once per pass, and every threshold bit read once per pass, at
    # the macro models' energies per bit sensed
    from hwgen.flow.macro import macro_model
    from hwgen.rtl.macros import MacroSpec

    e_sense = macro_model(HW.n, plat).sense_energy_j
    e_thr = macro_model(MacroSpec.thresholds(rows=HW.n, width=HW.M * HW.threshold_width), plat).sense_energy_j
    assert energy["operations_per_item"]["senses"] == HW.N * HW.M * HW.n ** 2
    assert same["flat"]["block_kinds_j"]["memory"]["rram"] == pytest.approx(HW.N * HW.M * HW.n ** 2 * e_sense)
    assert same["flat"]["block_kinds_j"]["thresholds"]["rram"] == pytest.approx(
        HW.n * HW.M * HW.threshold_width * e_thr)
    # The VCD named every driven net bit of the netlist, the nets ABC made inside submodules
    # (escaped names) included: none counts zero toggles for want of a name.
    cover = same["vcd_coverage"]
    assert cover["driven_bits_matched"] == cover["driven_bits"] > 300
    assert cover["vcd_variables_matched"] == cover["vcd_variables"]
    # Clock energy, bounded independently from the netlist and the Liberty: at least the ungated
    # clock net (the clock pins of the ungated flip-flops, the clock-gating cells and the macros)
    # every cycle, and less than that plus every gated flip-flop and gate output ticking every
    # cycle (gates close when their registers hold).
    from hwgen.flow.liberty import load_library

    lib = load_library(plat.prepared_liberty())
    macros = load_library(folder / "synth" / "macros.lib").cells
    netlist = json.loads((folder / "synth" / "netlist.json").read_text())["modules"][manifest.view("macro").top]
    v2 = lib.voltage_v ** 2
    root = set(netlist["ports"]["clk"]["bits"])
    ungated = gated = 0.0
    gate_outputs = []
    for cell in netlist["cells"].values():
        c = lib.cells.get(cell["type"])
        if c is None:             # a macro: its clock pin load (its read energy is the RRAM term)
            ungated += 2 * 0.5 * macros[cell["type"]].pins["clk"].capacitance_f * v2
            continue
        for pin, bits in cell["connections"].items():
            p = c.pins[pin]
            if p.clock or (c.clock_gate and p.gate_role == "clock"):
                tick = 2 * (0.5 * p.capacitance_f * v2 + p.energy_j)
                if any(b in root for b in bits):
                    ungated += tick
                else:
                    gated += tick
            elif c.clock_gate and p.gate_role == "out":
                gate_outputs.append((p, bits[0]))
    for p, bit in gate_outputs:   # a gate's own output energy at its load
        load = sum(lib.cells[c["type"]].pins[q].capacitance_f for c in netlist["cells"].values()
                   if c["type"] in lib.cells for q, bits in c["connections"].items() if bit in bits
                   and lib.cells[c["type"]].pins[q].direction == "input")
        gated += 2 * p.output_energy(load)
    assert gate_outputs
    clock = same["flat"]["kinds_j"]["clock"] * same["items"]
    print(f"clock {clock:.4g} J: ungated part {ungated * same['cycles']:.4g} J, all gates open "
          f"{(ungated + gated) * same['cycles']:.4g} J")
    assert ungated * same["cycles"] < clock < (ungated + gated) * same["cycles"]


@pytest.mark.flow
def test_report_shows_the_tools_numbers(costed):
    _, _, folder = costed
    text = (folder / "report.md").read_text()
    synth, sta, energy = (_result(folder, s) for s in ("synth", "sta", "energy"))
    assert f"{synth['area_um2']:.1f}" in text
    assert f"fmax {sta['fmax_mhz']:.1f} MHz" in text
    assert "TOPS/W" in text and "every activation and popcount equal to the golden model" in text
    # the two energies per synapse, each named for what it divides
    senses = energy["operations_per_item"]["senses"]
    per = energy["scaled"]
    assert energy["read_add_j"] == pytest.approx(
        sum(per["blocks_j"][b] for b in ("memory", "cells", "tree")) / senses)
    assert energy["energy_per_operation_j"] == pytest.approx(per["total_j"] / (2 * senses))
    assert energy["tops_per_w"] == pytest.approx(1e-12 / energy["energy_per_operation_j"])
    assert "energy_per_op_j" not in energy
    from hwgen.flow.report import _si

    assert f"{_si(energy['read_add_j'], 'J')} per read + add" in text
    assert f"{_si(energy['energy_per_operation_j'], 'J')} per operation" in text


@pytest.mark.flow
def test_report_draws_energy_per_block_and_sets_another_run_beside_it(costed, tmp_path):
    """energy.csv holds J per pass per block and kind, adding up to the total; energy.png is a
    picture; with a run to compare, report.md gets a table of both and the picture both bars."""
    import csv

    from hwgen.flow.report import write_report

    _, _, folder = costed
    energy = _result(folder, "energy")
    write_report(folder, compare={"same design": folder})
    rows = list(csv.DictReader((folder / "energy.csv").open()))
    mine = [r for r in rows if r["design"] == "this run"]
    assert {r["design"] for r in rows} == {"this run", "same design"} and len(rows) == 2 * len(mine)
    assert sum(float(r["joules_per_pass"]) for r in mine) == pytest.approx(energy["scaled"]["total_j"], rel=1e-6)
    assert {r["kind"] for r in mine} >= {"clock", "data", "rram"}
    assert (folder / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = (folder / "report.md").read_text()
    table = text.split("## Compared", 1)[1]
    assert "| this run |" in table and "| same design |" in table and "clock share of CMOS" in table
    assert "![energy per block and kind](energy.png)" in text
    res = CliRunner().invoke(main, ["flow", str(folder), "--compare", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "--compare" in res.output and "does not exist" in res.output
    res = CliRunner().invoke(main, ["flow", str(folder.parents[1]), "--platform", "sky130hd", "--compare",
                                    str(tmp_path)])
    assert res.exit_code == 1 and "no synth result" in res.output and "Traceback" not in res.output


@pytest.mark.flow
def test_gate_level_run_catches_a_netlist_that_differs_from_the_rtl(costed, tmp_path):
    """Negative control: one gate of the netlist changed; the replay must fail."""
    from hwgen.flow.activity import record_array
    from hwgen.flow.gatesim import simulate
    from hwgen.flow.tools import FlowError

    manifest, plat, folder = costed
    text = (folder / "synth" / "netlist.v").read_text()
    swapped = text.replace("sky130_fd_sc_hd__nor2_1 ", "sky130_fd_sc_hd__or2_1 ", 1)
    assert swapped != text
    swapped = re.sub(r"(sky130_fd_sc_hd__or2_1 [^;]*?)\.Y\(", r"\1.X(", swapped, count=1, flags=re.S)
    (tmp_path / "netlist.v").write_text(swapped)
    link(tmp_path, "cells.lib", plat.prepared_liberty())      # a file the WebAssembly Yosys can open
    with pytest.raises(FlowError, match="differs from the RTL"):
        simulate(tmp_path, manifest.view("macro").top, record_array(HW, 8), view_macros(manifest), library(plat))


@pytest.mark.flow
def test_fanout_buffering_keeps_the_logic_and_caps_the_loads(costed, tmp_path):
    """The netlist STA times (buffer trees on high-fanout nets) still equals the RTL cycle by cycle."""
    from hwgen.flow.activity import record_array
    from hwgen.flow.gatesim import simulate
    from hwgen.flow.sta import buffer_fanout
    from hwgen.flow.tools import run_tool

    manifest, plat, folder = costed
    top = manifest.view("macro").top
    netlist = json.loads((folder / "synth" / "netlist.json").read_text())
    buffered, added = buffer_fanout(netlist, top, plat.buffer, limit=3)
    assert added > 50
    loads = {}
    for cell in buffered["modules"][top]["cells"].values():
        for port, bits in cell["connections"].items():
            if cell["port_directions"].get(port) == "input":
                for b in bits:
                    loads[b] = loads.get(b, 0) + 1
    assert max(loads.values()) <= 3
    (tmp_path / "buffered.json").write_text(json.dumps(buffered))
    run_tool(["yosys", "-q", "-p", "read_json buffered.json; write_verilog -noattr -norename netlist.v"], "yosys",
             cwd=tmp_path)
    link(tmp_path, "cells.lib", plat.prepared_liberty())      # a file the WebAssembly Yosys can open
    simulate(tmp_path, top, record_array(HW, 8), view_macros(manifest), library(plat))   # raises if it differs


# -- the edge: clear errors --------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--platform", "tsmc3"], "Invalid value for '--platform'"),
    (["--lib", "/nonexistent.lib"], "does not exist"),
    (["--view", "sim"], "Invalid value for '--view'"),
    (["--period", "nan"], "--period"),
])
def test_synth_refuses_bad_options(tmp_path, args, message):
    folder = tmp_path / "d"
    generate_array(HwConfig(n=4, N=1, M=1), folder, views=("macro",))
    res = CliRunner().invoke(main, ["synth", str(folder), *args])
    assert res.exit_code == 2 and message in res.output, res.output


def test_a_truncated_liberty_is_named_in_one_line(tmp_path, monkeypatch):
    import gzip

    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))
    lib = tmp_path / "cut.lib.gz"
    lib.write_bytes(gzip.compress(sky130().prepared_liberty().read_bytes()[:1000]))
    folder = tmp_path / "d"
    generate_array(HwConfig(n=4, N=1, M=1), folder, views=("synth",))
    res = CliRunner().invoke(main, ["synth", str(folder), "--lib", str(lib), "--view", "synth"])
    assert res.exit_code == 1 and f"Liberty file {lib}" in res.output and len(res.output.strip().splitlines()) == 1
    assert not (folder / "flow").exists(), "nothing written for a failed synthesis"


def test_synth_of_a_missing_view_names_it(tmp_path):
    sky130()                                   # the platform is resolved first
    folder = tmp_path / "d"
    generate_array(HwConfig(n=4, N=1, M=1), folder, views=("sim",))
    res = CliRunner().invoke(main, ["synth", str(folder), "--view", "macro"])
    assert res.exit_code == 1 and "has no macro view" in res.output and "Traceback" not in res.output


def test_missing_tool_names_its_package(tmp_path, monkeypatch):
    from hwgen.flow.tools import require

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SimulatorMissing, match="apt-get install opensta"):
        require("sta")


def test_vcd_toggles_count_a_net_once_whatever_its_names(tmp_path):
    """Two names of one net bit (an alias, its own VCD code) toggle it once; a 2-bit vector's bits
    count apart; X to 1 is no toggle; the first value is the baseline."""
    vcd = tmp_path / "a.vcd"
    vcd.write_text("$timescale 1ps $end\n$scope module dut $end\n$var wire 1 ! a $end\n$var wire 1 \" a_alias $end\n"
                   "$var wire 2 # v [1:0] $end\n$upscope $end\n$enddefinitions $end\n"
                   "#0\n$dumpvars\n0!\n0\"\nbx0 #\n$end\n#10\n1!\n1\"\nb11 #\n#20\n0!\n0\"\nb01 #\n#30\n1!\n1\"\n")
    activity = vcd_toggles(vcd, {"a": [7], "a_alias": [7], "v": [3, 4]})
    print(activity)
    assert activity.toggles == {7: 3, 3: 1, 4: 1}
    assert activity.matched_bits == {3, 4, 7} and activity.variables == activity.matched_variables == 3


def test_vcd_names_of_nets_inside_submodules_match_the_netlist(tmp_path):
    """Icarus writes a net ABC made inside a submodule, the netlist's escaped
    ``$flatten\\tree_1.$abc$3391$new_n48_``, as an escaped name with its inner backslash
    doubled (as this VCD, copied from a gate-level run, does); Yosys's JSON
    keeps the backslash of a public name that began with ``$`` (``\\$11[0]``), which the VCD
    drops. Both count their toggles, and the coverage names what matched (issue 27: 45-64 % of
    the variables matched nothing and counted zero)."""
    assert vcd_name("$flatten\\\\tree_1.$abc$3391$new_n48_") == "$flatten\\tree_1.$abc$3391$new_n48_"
    assert vcd_name("\\plain_escaped ") == "plain_escaped" and vcd_name("clk") == "clk"
    vcd = tmp_path / "b.vcd"
    vcd.write_text("$timescale 1ps $end\n$scope module dut $end\n"
                   "$var wire 1 ! \\$flatten\\\\tree_1.$abc$3391$new_n48_ $end\n$var wire 1 \" \\$11[0] $end\n"
                   "$var wire 1 # unknown $end\n$upscope $end\n$enddefinitions $end\n"
                   "#0\n$dumpvars\n0!\n0\"\n0#\n$end\n#10\n1!\n1\"\n1#\n#20\n0!\n")
    module = {"cells": {}, "ports": {}, "netnames": {"$flatten\\tree_1.$abc$3391$new_n48_": {"bits": [5]},
                                                     "\\$11[0]": {"bits": [6]}}}
    from hwgen.flow.liberty import CellLibrary

    net = Netlist({"modules": {"top": module}}, "top", CellLibrary(1.8, 1e-9, 1e-12, {}))
    activity = vcd_toggles(vcd, net.names)
    assert activity.toggles == {5: 2, 6: 1}
    assert activity.coverage([5, 6]) == {"vcd_variables": 3, "vcd_variables_matched": 2, "driven_bits": 2,
                                         "driven_bits_matched": 2}


def test_characterisation_network_fits_the_array_size():
    for n in (8, 32):
        for wide in (False, True):
            net = characterisation_network(n, wide=wide)
            sizes = [net.layers[0].n_inputs] + [layer.n_outputs for layer in net.layers]
            assert sizes[1] == 2 * n and sizes[-1] == 10 and int(sizes[0] ** 0.5) ** 2 == sizes[0]
            # the small network's trees hold one group sum, the wide one's more than one, as a big
            # layer's do
            assert (-(-sizes[0] // n) > GROUP) if wide else sizes[0] <= 4 * n


def test_energy_step_refuses_the_synth_view(tmp_path):
    folder = tmp_path / "d"
    generate_array(HwConfig(n=4, N=1, M=1), folder, views=("synth",))
    with pytest.raises(ConfigError, match="macro view"):
        run_energy(folder, sky130(), view="synth")


def test_sta_without_synthesis_is_a_clear_error(tmp_path):
    from hwgen.flow.sta import run_sta

    with pytest.raises(ConfigError, match="run `hwgen synth` first"):
        run_sta(tmp_path / "synth", sky130())


def test_regenerating_a_design_replaces_its_flow_results(tmp_path):
    folder = tmp_path / "d"
    generate_array(HwConfig(n=4, N=1, M=1), folder, views=("macro",))
    (folder / "flow" / "x").mkdir(parents=True)
    generate_array(HwConfig(n=4, N=1, M=1), folder, views=("macro",))     # no refusal: flow/ is hwgen's
    assert not (folder / "flow").exists()
    assert Path(folder / "manifest.json").is_file()


@pytest.mark.flow
def test_flow_of_a_user_dataset_network_takes_its_images(tmp_path, monkeypatch):
    """A network of a user dataset (8x8 digits) has no shipped test slice: the flow refuses it in one
    line before synthesis unless --data-dir (or --images) names its images, then measures energy on
    them (the block-scaled figure beside the flat one of the same run)."""
    import numpy as np

    from hwgen.ir import Layer, Network
    from hwgen.generate import generate_network
    from hwgen.netplan import plan_network
    from user_datasets import digits

    needs("yosys", "sta", "iverilog")
    sky130()
    monkeypatch.delenv("HWGEN_DATA", raising=False)
    folder = digits(tmp_path / "digits")
    rng = np.random.default_rng(8)
    print("seed 8 (weights)")
    layers = [Layer.from_bits(rng.integers(0, 2, (16, 64)), np.full(16, 32), name="fc1"),
              Layer.from_bits(rng.integers(0, 2, (10, 16)), np.zeros(10, dtype=int), output="popcount", name="fc2")]
    net = Network(layers, {"dataset": "digits", "input_shape": [8, 8], "classes": 10, "input_threshold": 8})
    design = tmp_path / "d"
    generate_network(net, plan_network(net, n=8), design, views=("macro",))
    runner = CliRunner()
    res = runner.invoke(main, ["flow", str(design), "--platform", "sky130hd", "--sim", "none"])
    assert res.exit_code == 1 and "give them (--images FILE.npz or --data-dir DIR" in res.output, res.output
    assert not (design / "flow").exists(), "refused before synthesis"
    res = runner.invoke(main, ["flow", str(design), "--platform", "sky130hd", "--sim", "none", "--data-dir", str(folder)])
    assert res.exit_code == 0, res.output
    energy = _result(design / "flow" / "sky130hd_macro", "energy")
    same = energy["same_run"]
    print(f"digits 64-16-10: flat {same['flat']['total_j']:.4g} J, block-scaled {same['scaled']['total_j']:.4g} J "
          f"({same['deviation']:+.1%})")
    assert same["items"] == 16 and abs(same["deviation"]) < 0.15
    assert same["sensed_toggles"]["counted"] == pytest.approx(same["sensed_toggles"]["vcd"], rel=0.02)
