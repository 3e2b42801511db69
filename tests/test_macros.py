"""The macro view's hard blocks (hwgen.rtl.macros): the weight arrays and the layers' threshold
memories, named, stubbed, instanced, modelled and simulated from one description; and the
threshold memory of a seq2par array replayed at gate level against the RTL.
"""

import re

import pytest

from hwgen.errors import ConfigError
from hwgen.generate import generate_array, generate_network
from hwgen.hwconfig import HwConfig
from hwgen.rtl.macros import MacroSpec, design_macros
from hwgen.rtl.threshold import threshold_macro

from conftest import random_network, sky130


def _ports(text: str, module: str) -> dict:
    body = text[text.index(f"module {module} ("):]
    body = body[:body.index(");")]
    return {name: (d, int(hi) + 1 if hi else 1)
            for d, hi, name in re.findall(r"(input|output)\s+(?:\[(\d+):0\]\s+)?(\w+)", body)}


def test_names_round_trip_and_foreign_names_are_refused():
    for spec in (MacroSpec.weights(8), MacroSpec.weights(32, "ternary"), MacroSpec.thresholds(32, 320),
                 MacroSpec.thresholds(1, 14, lanes=3)):
        assert MacroSpec.from_name(spec.name) == spec
    assert MacroSpec.weights(8).name == "hwgen_rram2t2r_xnor_n8"
    assert MacroSpec.thresholds(1, 14, lanes=3).name == "hwgen_rram2t2r_thr_r1_w14_l3"
    for bad in ("hwgen_rram2t2r_xnor_n08", "hwgen_rram2t2r_thr_r8_w10_l1", "x; exec rm", "hwgen_rram2t2r_xnor_n1",
                "hwgen_rram2t2r_thr_r8_w10\n", "../hwgen_rram2t2r_xnor_n8"):
        with pytest.raises(ConfigError):
            MacroSpec.from_name(bad)
    with pytest.raises(ConfigError, match="threshold memory rows"):
        MacroSpec.thresholds(0, 10)
    with pytest.raises(ConfigError, match="n x n"):
        MacroSpec("xnor", 8, 4)


@pytest.mark.parametrize("config", ["par2seq", "seq2par"])
def test_threshold_memory_holds_every_threshold_and_one_read_gives_a_neuron_group(config):
    """par2seq: n rows of M thresholds (one row per output beat); seq2par: one row of all N*M,
    written one load row (lane) at a time."""
    hw = HwConfig(n=8, N=3, M=2, config=config)
    spec = threshold_macro(hw)
    assert spec.rows * spec.columns == hw.max_outputs * hw.threshold_width
    if config == "par2seq":
        assert (spec.rows, spec.lanes, spec.width) == (hw.n, 1, hw.M * hw.threshold_width)
    else:
        assert (spec.rows, spec.lanes, spec.width) == (1, hw.N, hw.M * hw.threshold_width)
        assert ("wlane", "input", 2) in spec.pins()


@pytest.mark.parametrize("config", ["par2seq", "seq2par"])
def test_macro_view_stubs_every_macro_and_its_instances_connect_the_stub_ports(tmp_path, config):
    hw = HwConfig(n=8, N=3, M=2, config=config)
    manifest = generate_array(hw, tmp_path / "a", views=("macro",))
    view = manifest.view("macro")
    specs = design_macros([hw])
    assert [s.stub_file for s in specs] == list(view.blackbox)
    top = (manifest.folder / view.verilog[0]).read_text()
    for spec in specs:
        stub = (manifest.folder / spec.stub_file).read_text()
        assert stub == spec.stub() and "(* blackbox *)" in stub
        ports = _ports(stub, spec.name)
        assert ports == {p: (d, w) for p, d, w in spec.pins()}
        instances = re.findall(rf"^\s+{spec.name} (\w+) \((.*?)\);", top, re.S | re.M)
        assert len(instances) == (hw.cells if spec.kind == "xnor" else 1)
        for _, conns in instances:
            assert set(re.findall(r"\.(\w+)\(", conns)) == set(ports)


def test_a_network_has_one_threshold_memory_per_layer_shape(tmp_path):
    from hwgen.netplan import plan_network

    net = random_network(4, (40, 24, 10))
    plans = plan_network(net, n=8)
    manifest = generate_network(net, plans, tmp_path / "n", views=("macro",))
    names = [f[:-len("_bb.v")] for f in manifest.view("macro").blackbox]
    assert names[0] == "hwgen_rram2t2r_xnor_n8"
    assert sorted(names[1:]) == sorted({threshold_macro(p.hw).name for p in plans})
    # the output layer gives popcounts: its threshold memory is never read (synthesis removes it)
    from hwgen.flow.operations import plan_operations

    assert [p.output for p in plans] == ["sign", "popcount"]
    assert plan_operations(plans)["threshold_bits"] == plans[0].hw.max_outputs * plans[0].hw.threshold_width


def test_threshold_macro_model_prices_a_bit_read_like_the_weights():
    from hwgen.flow.macro import macro_model, sense_energy_at

    plat = sky130()
    weights, thr = macro_model(32, plat), macro_model(MacroSpec.thresholds(32, 320), plat)
    # the same bit cell and bit line: the same energy per bit sensed, a row reads all its columns
    assert thr.sense_energy_j == pytest.approx(weights.sense_energy_j)
    assert thr.row_read_energy_j == pytest.approx(320 * thr.sense_energy_j)
    wide = macro_model(MacroSpec.thresholds(1, 14, lanes=3), plat)
    assert wide.sense_energy_j == pytest.approx(sense_energy_at(1, 130, 1.8))
    assert wide.sense_energy_j < thr.sense_energy_j         # a one-row memory: a short bit line
    # ten times the columns of the weight array: a wider block, a longer (slower) word line
    assert thr.width_um > 5 * weights.width_um and thr.read_delay_ns > weights.read_delay_ns
    text = thr.liberty_text()
    assert "2T2R threshold memory" in text and "bus (rdata)" in text and "bus (x)" not in text
    assert f"MACRO {thr.name}" in thr.lef_text()
    with pytest.raises(ConfigError, match="ternary macro has no"):
        macro_model(MacroSpec.weights(8, "ternary"), plat)


@pytest.mark.flow
def test_seq2par_threshold_memory_replays_at_gate_level(tmp_path):
    """A seq2par array's one-row threshold memory (written lane by lane) in the macro view,
    synthesized with clock gating and replayed at gate level: every output equals the RTL's in
    every cycle (the replay raises otherwise), and the thresholds' RRAM reads are counted."""
    from hwgen.flow.flatenergy import gate_level_run
    from hwgen.flow.rramenergy import rram_energy
    from hwgen.flow.synth import synthesize

    plat = sky130()
    hw = HwConfig(n=8, N=3, M=2, config="seq2par")
    manifest = generate_array(hw, tmp_path / "s", views=("macro",))
    synth = synthesize(manifest, plat, "macro", log=lambda *a: None)
    assert synth["macros"][threshold_macro(hw).name]["instances"] == 1
    assert synth["clock_gates"] > 0
    work = tmp_path / "work"
    work.mkdir()
    from pathlib import Path

    run = gate_level_run(manifest, Path(synth["folder"]), plat, 8, work, log=print)
    rram = rram_energy(manifest, plat)
    assert run["energy"]["thresholds"]["rram"] == pytest.approx(rram["thresholds"] * run["items"])
    assert run["vcd_coverage"]["driven_bits_matched"] == run["vcd_coverage"]["driven_bits"]
