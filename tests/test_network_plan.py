"""Whole-network mapping, programming image and generator, without a simulator."""

import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.device import network_error_maps, pair_levels, sensed_bits
from hwgen.errors import ConfigError, LayerDoesNotFit
from hwgen.generate import generate_network
from hwgen.ir import Layer, Network
from hwgen.mapping import cell_contents, physical_layer
from hwgen.netplan import network_timing, plan_network
from hwgen.program import program_records
from hwgen.verify.record import RecordKind, field_offsets, image_depth, pack_record, record_layout
from hwgen.rtl.array import Array
from hwgen.rtl.network import NetworkTop


def random_network(sizes, seed=3):
    rng = np.random.default_rng(seed)
    layers = [Layer.from_bits(rng.integers(0, 2, (b, a)), rng.integers(0, a + 2, b),
                              output="popcount" if k == len(sizes) - 2 else "sign", name=f"fc{k + 1}")
              for k, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    return Network(layers, {"input_threshold": 127})


def test_mnist_shapes_map_to_the_smallest_arrays():
    plans = plan_network(random_network([784, 1024, 1024, 10]), 32)
    assert [(p.hw.N, p.hw.M) for p in plans] == [(25, 32), (32, 32), (32, 1)]
    assert [p.cell_offset for p in plans] == [0, 800, 1824]
    passes = [Array.cycles_per_pass_for(p.hw) for p in plans]
    assert network_timing(plans) == {"cycles_per_inference": 1 + sum(passes), "initiation_interval": max(passes),
                                     "cycles_per_layer_pass": passes, "cycles_per_link": [1 + 1, 32 + 1, 32 + 1],
                                     "link_buffers": [1, 1, 1], "cycles_per_output_stage": 32 + 1}
    mixed = plan_network(random_network([784, 32, 10]), 32, ["par2seq", "seq2par"])
    timing = network_timing(mixed)
    # the link collects 32 beats and slices 32: two buffers, so it no longer bounds the interval (was 64)
    assert timing["cycles_per_link"] == [2, 32 + 32] and timing["link_buffers"] == [1, 2]
    assert timing["initiation_interval"] == max(timing["cycles_per_layer_pass"]) < 32 + 32


@pytest.mark.parametrize("n", [2, 4, 8, 32])
def test_interval_is_the_largest_pass_for_every_mix(n):
    """Every mix of par2seq/seq2par over three dense layers (binary and ternary), with and without
    a conv front end: no link and not the output stage bound the initiation interval."""
    rng = np.random.default_rng(n)
    dense = [Layer.from_bits(rng.integers(0, 2, (4, 4)), np.zeros(4, dtype=int), name="fc1"),
             Layer.from_ternary(rng.integers(-1, 2, (4, 4)).astype(np.int8), np.zeros(4, dtype=int), name="fc2"),
             Layer.from_bits(rng.integers(0, 2, (3, 4)), np.zeros(3, dtype=int), output="popcount", name="out")]
    conv = Layer.from_bits(rng.integers(0, 2, (4, 4)), [2] * 4, kind="conv1d", in_shape=(4, 4), kernel=1, pool=4,
                           name="c1")
    for front in ([], [conv]):
        for configs in itertools.product(["par2seq", "seq2par"], repeat=3):
            plans = plan_network(Network(front + dense, {"input_threshold": 127}), n, [*["par2seq"] * len(front),
                                                                                     *configs])
            timing = network_timing(plans)
            stages = [c["period"] for c in timing.get("conv_layers", [])] + timing["cycles_per_layer_pass"]
            assert timing["initiation_interval"] == max(stages), (front, configs)
            one = [span for span, k in zip(timing["cycles_per_link"], timing["link_buffers"]) if k == 1]
            two = [span for span, k in zip(timing["cycles_per_link"], timing["link_buffers"]) if k == 2]
            assert max(one) <= max(stages) and all(span <= 2 * max(stages) for span in two)
            assert timing["cycles_per_output_stage"] <= timing["cycles_per_layer_pass"][-1]
            assert timing["cycles_per_inference"] == (1 + sum(timing["cycles_per_layer_pass"])
                                                      + sum(c["latency"] for c in timing.get("conv_layers", [])))


def test_a_layer_that_does_not_fit_is_named():
    net = random_network([784, 1024, 1024, 10])
    with pytest.raises(LayerDoesNotFit, match=r"layer 0 \(fc1, 784->1024\) does not fit par2seq_n32_N20_M32.*needs N >= 25"):
        plan_network(net, 32, N=20, M=32)
    with pytest.raises(LayerDoesNotFit, match="784 inputs exceed seq2par's n\\*n = 256"):
        plan_network(net, 16, "seq2par")
    r = CliRunner().invoke(main, ["rtl", "--model", "/nonexistent.npz"])
    assert r.exit_code == 2 and "does not exist" in r.output


def test_network_top_refuses_layers_that_do_not_chain():
    a = plan_network(random_network([64, 16, 4]), 8)
    b = plan_network(random_network([64, 12, 4]), 8)
    with pytest.raises(ConfigError, match="layer 0 gives 16 outputs, layer 1 takes 12"):
        NetworkTop(plans=[a[0], b[1]])


def test_programming_image_holds_the_mapped_weights_and_the_error_map():
    """Issue 14: a weight record writes row t of all N cells of one cell column (cell i's part at
    part i of data/lrs/hrs); the device codes are pair_levels' of the layer, as one record per
    cell row had them; a layer with N < N_max leaves the high parts 0."""
    net = random_network([70, 20, 10], seed=11)
    plans = plan_network(net, 8, ["par2seq", "seq2par"])
    layout = record_layout(plans)
    maps = network_error_maps(net, 0.05, seed=9)
    records = program_records(net, plans, maps, seed=9)
    assert len(records) == image_depth(plans) == sum(p.hw.M * 8 + p.hw.threshold_rows for p in plans) + 1
    off = field_offsets(layout)
    get = lambda r, f: (r >> off[f][0]) & ((1 << off[f][1]) - 1)  # noqa: E731
    k, n = 4, 8
    lanes = NetworkTop.column_lanes_for(plans)
    assert [p.hw.N for p in plans] == [9, 3] and lanes == 9
    assert off["data"][1] == lanes * n and off["lrs"][1] == off["hrs"][1] == lanes * n * k
    assert NetworkTop.column_offsets_for(plans) == [0, plans[0].hw.M]
    for plan, layer, emap, first in zip(plans, net.layers, maps, NetworkTop.column_offsets_for(plans)):
        hw = plan.hw
        phys = physical_layer(layer, hw).weight_bits()
        err = np.zeros_like(phys)
        err[:layer.n_outputs, :layer.n_inputs] = emap
        want_bits, want_err = cell_contents(phys, hw), cell_contents(err, hw)
        lrs_want, hrs_want = (cell_contents(v.reshape(phys.shape), hw) for v in pair_levels(phys, err, k, 9, plan.index))
        mine = [r for r in records if get(r, "kind") == RecordKind.WEIGHT.value
                and first <= get(r, "target") < first + hw.M]
        assert len(mine) == hw.M * hw.n
        assert sorted((get(r, "target") - first, get(r, "row")) for r in mine) == \
            [(j, t) for j in range(hw.M) for t in range(n)]
        for r in mine:
            j, row = get(r, "target") - first, get(r, "row")
            for i in range(lanes):
                data = np.array([(get(r, "data") >> (i * n + b)) & 1 for b in range(n)])
                lrs = np.array([(get(r, "lrs") >> ((i * n + b) * k)) & 15 for b in range(n)])
                hrs = np.array([(get(r, "hrs") >> ((i * n + b) * k)) & 15 for b in range(n)])
                if i >= hw.N:
                    assert not (data.any() or lrs.any() or hrs.any())
                    continue
                assert np.array_equal(data, want_bits[i, j, row])
                assert np.array_equal(lrs, lrs_want[i, j, row]) and np.array_equal(hrs, hrs_want[i, j, row])
                assert np.array_equal(sensed_bits(data, lrs, hrs), data ^ want_err[i, j, row])
        thr_rows = [r for r in records if get(r, "kind") == RecordKind.THRESHOLD.value and get(r, "target") == plan.index]
        assert len(thr_rows) == hw.threshold_rows
    assert sum(int(m.sum()) for m in maps) > 0
    with pytest.raises(ValueError, match="does not fit"):
        pack_record(layout, kind=4)


def test_network_generation_is_deterministic_and_self_contained(tmp_path):
    net = random_network([40, 16, 10])
    plans = plan_network(net, 8)
    m1 = generate_network(net, plans, tmp_path / "a", views=("sim", "harness")).to_dict()
    generate_network(net, plans, tmp_path / "b", views=("sim", "harness"))
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert {"network.npz", "program.hex", "hwgen_boot_rom.v", "manifest.json"} <= set(names)
    assert Network.load(tmp_path / "a" / "network.npz").layers[0].n_inputs == 40
    assert json.loads((tmp_path / "a" / "manifest.json").read_text()) == m1
    # the input link's cycle, then two par2seq passes of n = 8 reads and a latency of 3 (sense, tree,
    # output register)
    assert m1["timing"]["cycles_per_inference"] == 1 + 2 * (8 + 3)
    text = (tmp_path / "a" / "hwgen_net.v").read_text()
    # one instance of a shared column module (N cells) per array column
    assert sum(text.count(f"{m} column (") for m in {f"hwgen_col_par2seq_n8_N{p.hw.N}_behavioural_k4" for p in plans}) \
        == sum(p.hw.M for p in plans)
    cells = (tmp_path / "a" / "hwgen_net_cells_behavioural.v").read_text()
    assert cells.count("/*verilator no_inline_module*/") == cells.count("/*verilator hier_block*/") \
        == len({p.hw.N for p in plans})
    # the harness boots through column writes: its column modules (own names) in a file of their own
    boot = (tmp_path / "a" / "hwgen_net_cells_harness.v").read_text()
    assert boot.count("/*verilator no_inline_module*/") == boot.count("_colwrite(") == len({p.hw.N for p in plans})
    assert "_colwrite" not in cells and "prog__column" in (tmp_path / "a" / "hwgen_net_harness.v").read_text()
    # the harness's ports, and nothing else, are marked for the testbench (the simulator must treat
    # every marked signal as an input); the sim view has no marks
    harness = (tmp_path / "a" / "hwgen_net_harness.v").read_text()
    marked = [line.split()[-3] for line in harness.splitlines() if line.endswith("/*verilator public_flat_rw*/;")]
    assert sorted(marked) == sorted(p["name"] for p in m1["ports"]["harness"])
    assert harness.count("public_flat_rw") == len(marked) and "public_flat_rw" not in text


def test_rtl_model_cli(tmp_path):
    net = random_network([40, 16, 10])
    net.save(tmp_path / "net.npz")
    r = CliRunner().invoke(main, ["rtl", "--model", str(tmp_path / "net.npz"), "--n", "8", "-o", str(tmp_path / "d"),
                                  "--views", "sim"])
    assert r.exit_code == 0, r.output
    assert "23 cycles per inference, one image every 11 cycles" in r.output       # 1 + 2 * (8 + 3), 8 + 3
    r = CliRunner().invoke(main, ["rtl", "--model", str(tmp_path / "net.npz"), "--n", "8", "--N", "2",
                                  "-o", str(tmp_path / "e")])
    assert r.exit_code == 1 and "does not fit" in r.output and not (tmp_path / "e").exists()
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    r = CliRunner().invoke(main, ["rtl", "--model", str(tmp_path / "bad.npz"), "-o", str(tmp_path / "f")])
    assert r.exit_code == 1 and "corrupt" in r.output
