"""Whole-network mapping, programming image and generator, without a simulator."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.device import network_error_maps, sensed_bits
from hwgen.errors import ConfigError, LayerDoesNotFit
from hwgen.generate import generate_network
from hwgen.ir import Layer, Network
from hwgen.mapping import cell_contents, physical_layer
from hwgen.netplan import network_timing, plan_network
from hwgen.program import program_records
from hwgen.verify.record import RecordKind, field_offsets, image_depth, pack_record, record_layout
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
    assert network_timing(plans) == {"cycles_per_inference": 1 + 3 * 36, "initiation_interval": 36,
                                     "cycles_per_layer_pass": [36, 36, 36], "cycles_per_link": [2, 33, 33, 33]}
    mixed = plan_network(random_network([784, 32, 10]), 32, ["par2seq", "seq2par"])
    assert network_timing(mixed)["initiation_interval"] == 32 + 32     # the link slices 32 beats


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
    net = random_network([70, 20, 10], seed=11)
    plans = plan_network(net, 8, ["par2seq", "seq2par"])
    layout = record_layout(plans)
    maps = network_error_maps(net, 0.05, seed=9)
    records = program_records(net, plans, maps, seed=9)
    assert len(records) == image_depth(plans)
    off = field_offsets(layout)
    get = lambda r, f: (r >> off[f][0]) & ((1 << off[f][1]) - 1)  # noqa: E731
    k = 4
    for plan, layer, emap in zip(plans, net.layers, maps):
        hw = plan.hw
        phys = physical_layer(layer, hw).weight_bits()
        err = np.zeros_like(phys)
        err[:layer.n_outputs, :layer.n_inputs] = emap
        want_bits, want_err = cell_contents(phys, hw), cell_contents(err, hw)
        mine = [r for r in records if get(r, "kind") == RecordKind.WEIGHT.value
                and plan.cell_offset <= get(r, "target") < plan.cell_offset + hw.cells]
        assert len(mine) == hw.cells * hw.n
        for r in mine:
            c, row = get(r, "target") - plan.cell_offset, get(r, "row")
            i, j = divmod(c, hw.M)
            data = np.array([(get(r, "data") >> b) & 1 for b in range(hw.n)])
            lrs = np.array([(get(r, "lrs") >> (b * k)) & 15 for b in range(hw.n)])
            hrs = np.array([(get(r, "hrs") >> (b * k)) & 15 for b in range(hw.n)])
            assert np.array_equal(data, want_bits[i, j, row])
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
    assert m1["timing"]["cycles_per_inference"] == 1 + 12 + 12
    text = (tmp_path / "a" / "hwgen_net.v").read_text()
    # one instance of a shared column module (N cells) per array column
    assert sum(text.count(f"{m} column (") for m in {f"hwgen_col_par2seq_n8_N{p.hw.N}_behavioural_k4" for p in plans}) \
        == sum(p.hw.M for p in plans)
    cells = (tmp_path / "a" / "hwgen_net_cells_behavioural.v").read_text()
    assert cells.count("/*verilator hier_block*/") == len({p.hw.N for p in plans})


def test_rtl_model_cli(tmp_path):
    net = random_network([40, 16, 10])
    net.save(tmp_path / "net.npz")
    r = CliRunner().invoke(main, ["rtl", "--model", str(tmp_path / "net.npz"), "--n", "8", "-o", str(tmp_path / "d"),
                                  "--views", "sim"])
    assert r.exit_code == 0, r.output
    assert "25 cycles per inference, one image every 12 cycles" in r.output
    r = CliRunner().invoke(main, ["rtl", "--model", str(tmp_path / "net.npz"), "--n", "8", "--N", "2",
                                  "-o", str(tmp_path / "e")])
    assert r.exit_code == 1 and "does not fit" in r.output and not (tmp_path / "e").exists()
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    r = CliRunner().invoke(main, ["rtl", "--model", str(tmp_path / "bad.npz"), "-o", str(tmp_path / "f")])
    assert r.exit_code == 1 and "corrupt" in r.output
