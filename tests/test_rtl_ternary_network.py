"""Ternary networks end to end in RTL: a generated network whose layers are ternary (weights
-1/0/+1 in 2T2R pairs, HRS/HRS = 0), or mix binary and ternary layers, booted from its
programming image (zero plane, device codes from ``ternary_pair_levels``, thresholds
``T + score_offset``) and compared with the golden model on both simulators: every class and
output popcount (``Q = score + score_offset`` for a ternary output layer), at error rates 0,
1e-3 and 1e-2 (``--ber X`` on a ternary layer: every pair misread with probability X, either
other value equally likely), and the manifest's cycles per inference and initiation interval.

The first tests need no simulator: planning, programming image, scenario and CLI contracts."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from hwgen.cli import main
from hwgen.device.errormap import ternary_read, ternary_sensed
from hwgen.device.ternary import TernaryRates, V_LOW, ternary_rates
from hwgen.generate import generate_network
from hwgen.ir import Network
from hwgen.mapping import physical_layer, weight_planes
from hwgen.netplan import plan_network
from hwgen.program import column_rows, program_records, program_writes
from hwgen.rtl.network import NetworkTop
from hwgen.verify import run_network_regression
from hwgen.verify.build import build_name
from hwgen.verify.record import RecordKind, field_offsets, record_layout, unpack_field
from hwgen.verify.scenario import network_scenario, ternary_rates_for_ber

from conftest import case_sim_ber_cases, check_network_run as check, SIMS, random_ternary_network, sim_ber_cases

BERS = ((0.0, 21), (1e-3, 22), (1e-2, 23))
CASES = {
    # network kind, n, config, parallel
    "dense": ("dense", 32, ["par2seq", "seq2par"], 1),     # 784 -> 24 -> 10, all ternary; a seq2par output layer
    # ternary conv2d (padding -1, 3x3 pool dropping rows) on 3 replicas (own devices and error maps each)
    "conv2d": ("conv2d", 8, "par2seq", 3),
}
NET_SEED = 31


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- no simulator ------------------------------------------------------------------------------------
def test_plan_takes_each_layers_weights_mode():
    net = random_ternary_network("mixed", NET_SEED)
    plans = plan_network(net, 32)
    assert [p.hw.weights for p in plans] == ["ternary", "binary"]
    assert [p.as_dict()["weights"] for p in plans] == ["ternary", "binary"]
    assert plans[0].as_dict()["score_offset"] == plans[0].hw.max_inputs and plans[1].as_dict()["score_offset"] == 0
    top = NetworkTop(plans=plans)
    assert "zero" in top.prog.signature.members
    binary = plan_network(Network([net.layers[1]], {"input_threshold": 127}), 32)
    assert "zero" not in NetworkTop(plans=binary).prog.signature.members


@pytest.mark.parametrize("kind", ["dense", "conv2d", "mixed"])
def test_programming_image_realises_ternary_error_maps(network_folder, kind):
    """Decode the image: the zero plane, the sign plane, the thresholds (T + score_offset) and the
    device codes, which the behavioural sense reads exactly as the golden model's error codes.
    Weight records are column writes (row t of every cell of a column, cell i's part at part i;
    :func:`hwgen.program.column_rows`), replica after replica. Every layer on n=8 arrays (the
    conv2d design is the RTL test's)."""
    net = random_ternary_network(kind, NET_SEED)
    key = "ternary-conv2d" if kind == "conv2d" else f"ternary-{kind}-n8"
    plans = plan_network(net, 8, parallel=[3] if kind == "conv2d" else 1)
    manifest = network_folder(key, net, 8, parallel=3 if kind == "conv2d" else 1)
    assert [p.as_dict() for p in manifest.layers] == [p.as_dict() for p in plans]
    sc = network_scenario(manifest, 0.05, seed=4, count=2)
    assert sc.rates == ternary_rates_for_ber(0.05) == TernaryRates(0.05, 0.025, 0.025)
    layout = record_layout(plans)
    assert "zero" in field_offsets(layout)
    assert [f[0] for f in manifest.program["layout"]["fields"]] == list(field_offsets(layout))
    records = program_records(net, plans, sc.error_maps, sc.seed)
    weights = [w for w in records if unpack_field(layout, w, "kind") == RecordKind.WEIGHT.value]
    thresholds = [w for w in records if unpack_field(layout, w, "kind") == RecordKind.THRESHOLD.value]
    n, lb = plans[0].hw.n, plans[0].hw.level_bits
    k = 0
    for plan, layer, emap, first in zip(plans, net.layers, sc.error_maps, NetworkTop.column_offsets_for(plans)):
        hw, P = plan.hw, plan.parallel
        phys = physical_layer(layer, hw)
        rows = hw.M * n
        emaps = np.asarray(emap).reshape(P, layer.n_outputs, layer.n_inputs)
        for r in range(P):
            mine = weights[k:k + rows]
            k += rows
            assert [unpack_field(layout, w, "target") for w in mine] == [first + r * hw.M + t // n for t in range(rows)]

            def plane(name, width=1):     # (M*n column rows, N*n): the layer's N cells of each record
                return np.array([[(unpack_field(layout, w, name) >> (b * width)) & ((1 << width) - 1)
                                  for b in range(hw.N * n)] for w in mine])
            sign, zero = weight_planes(phys)
            assert (plane("data") == column_rows(sign, hw)).all()
            if hw.is_ternary:
                assert (plane("zero") == column_rows(zero, hw)).all()
                lrs, hrs = plane("lrs", lb), plane("hrs", lb)
                values = column_rows(phys.values(), hw)
                codes = np.zeros(phys.values().shape, dtype=np.uint8)
                codes[:layer.n_outputs, :layer.n_inputs] = emaps[r]
                read = ternary_read(phys.values(), codes)
                assert (ternary_sensed(values, lrs, hrs, lb) == column_rows(read, hw)).all()
            else:
                assert not plane("zero").any()
        thr = np.array([[(unpack_field(layout, w, "data") >> (j * hw.threshold_width)) & ((1 << hw.threshold_width) - 1)
                         for j in range(hw.M)] for w in thresholds[:hw.threshold_rows]]).reshape(-1)
        thresholds = thresholds[hw.threshold_rows:]
        assert (thr[:layer.n_outputs] == layer.thresholds + hw.score_offset).all()
    # the decoded port writes carry the zero plane too
    assert all("zero" in f for kind_, f in program_writes(net, plans) if kind_ is RecordKind.WEIGHT)


def test_scenario_rates_from_condition(network_folder):
    manifest = network_folder("ternary-mixed", random_ternary_network("mixed", NET_SEED), 32)   # the RTL tests' design
    sc = network_scenario(manifest, seed=2, count=2, condition="55,2.5,1")
    assert sc.vdd == V_LOW
    from hwgen.device.physics import parse_condition
    assert sc.rates == ternary_rates(parse_condition("55,2.5,1"), V_LOW)
    assert sc.error_maps[0].max() <= 3 and set(np.unique(sc.error_maps[1])) <= {0, 1}
    low = network_scenario(manifest, seed=2, count=2, condition="55,2.5,1", vdd=0.7)
    assert low.rates.pm_as_zero > sc.rates.pm_as_zero
    with pytest.raises(ValueError, match="condition"):
        network_scenario(manifest, 0.01, seed=2, count=2, vdd=0.8)
    # same seed, same maps: the golden model and the image agree by construction
    again = network_scenario(manifest, seed=2, count=2, condition="55,2.5,1")
    assert all((a == b).all() for a, b in zip(sc.error_maps, again.error_maps))


def test_binary_network_scenario_unchanged(tmp_path):
    """A binary network's error maps are the binary streams of before (no rates)."""
    from hwgen.device import network_error_maps
    from hwgen.ir import Layer, Network

    rng = np.random.default_rng(3)
    net = Network([Layer.from_bits(rng.integers(0, 2, (12, 784)), rng.integers(380, 400, 12)),
                   Layer.from_bits(rng.integers(0, 2, (10, 12)), np.zeros(10, int), output="popcount")],
                  {"dataset": "mnist", "input_threshold": 127})
    manifest = generate_network(net, plan_network(net, 32), tmp_path / "rtl", views=("harness",))
    sc = network_scenario(manifest, 0.01, seed=5, count=2)
    assert sc.rates is None and sc.vdd is None
    assert all((a == b).all() for a, b in zip(sc.error_maps, network_error_maps(net, 0.01, 5)))
    assert "_w" not in build_name(manifest, "harness", "icarus")


def test_manifest_and_build_name_record_weights(tmp_path):
    net = random_ternary_network("mixed", NET_SEED)
    manifest = generate_network(net, plan_network(net, 32), tmp_path / "rtl", views=("macro",))
    layers = json.loads((tmp_path / "rtl" / "manifest.json").read_text())["network"]["layers"]
    assert [(d["weights"], d["hw"]["weights"]) for d in layers] == [("ternary", "ternary"), ("binary", "binary")]
    assert "_pp_wtb_k4_" in build_name(manifest, "harness", "icarus")
    # a mixed network's macro view has both weight black boxes, and each layer's threshold memory
    # (a ternary layer's thresholds are T + I: one bit wider than a binary layer's of the same inputs)
    boxes = set(manifest.view("macro").blackbox)
    weights = {b for b in boxes if not b.startswith("hwgen_rram2t2r_thr_")}
    assert weights == {"hwgen_rram2t2r_xnor_n32_bb.v", "hwgen_rram2t2r_ternary_n32_bb.v"}
    from hwgen.rtl.threshold import threshold_macro

    assert boxes - weights == {f"{threshold_macro(p.hw).name}_bb.v" for p in manifest.layers}


def test_cli_weights(tmp_path):
    r = invoke("rtl", "--n", 8, "--N", 2, "--M", 2, "--weights", "ternary", "--views", "sim", "-o", tmp_path / "a")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["hw"]["weights"] == "ternary"
    model = tmp_path / "t.npz"
    random_ternary_network("dense", NET_SEED).save(model)
    for weights in ("ternary", "binary"):
        r = invoke("rtl", "--model", model, "--weights", weights, "-o", tmp_path / "m")
        assert r.exit_code == 2 and "--weights applies to arrays" in r.output
        assert len([line for line in r.output.splitlines() if line.startswith("Error")]) == 1
    assert not (tmp_path / "m").exists()
    r = invoke("rtl", "--n", 8, "--N", 2, "--M", 2, "--weights", "ternary", "--level-bits", 2, "-o", tmp_path / "b")
    assert r.exit_code == 1 and "level_bits >= 3" in r.output
    r = invoke("rtl", "--n", 8, "--N", 2, "--M", 2, "--weights", "quaternary", "-o", tmp_path / "c")
    assert r.exit_code == 2 and "--weights" in r.output


def test_cli_sim_vdd_errors(tmp_path, network_folder):
    design = network_folder("ternary-mixed", random_ternary_network("mixed", NET_SEED), 32)    # the RTL tests'
    r = invoke("sim", design.folder, "--vdd", 0.8)
    assert r.exit_code == 2 and "--vdd applies with --condition" in r.output
    assert invoke("rtl", "--n", 8, "--N", 2, "--M", 2, "--views", "harness", "-o", tmp_path / "arr").exit_code == 0
    r = invoke("sim", tmp_path / "arr", "--vdd", 0.8)
    assert r.exit_code == 2 and "--vdd applies to network designs" in r.output


# -- RTL --------------------------------------------------------------------------------------------
@pytest.mark.rtl
@pytest.mark.parametrize("case, sim, ber, run_seed", case_sim_ber_cases(CASES, BERS, icarus=("conv2d",)))
def test_small_ternary_network_matches_golden(network_design, sim, ber, run_seed, case):
    """Every case at every BER on Verilator; the conv2d case at 1e-2 on Icarus (the dense case and
    the other BERs on Icarus: `make long`; the mixed network below runs on Icarus too)."""
    kind, n, config, parallel = CASES[case]
    print(f"seed={NET_SEED} case={case}")
    design, built = network_design(sim, f"ternary-{case}", random_ternary_network(kind, NET_SEED), n, config, parallel)
    assert all(p.hw.is_ternary for p in design.layers)
    print(f"seed={run_seed} ber={ber}")
    check(run_network_regression(design, sim, ber=ber, seed=run_seed, count=12, build=built), design, 12, ber)


def mixed_design(network_design, sim):
    design, built = network_design(sim, "ternary-mixed", random_ternary_network("mixed", NET_SEED), 32)
    assert [p.hw.weights for p in design.layers] == ["ternary", "binary"]
    return design, built


@pytest.mark.rtl
@pytest.mark.parametrize("sim, ber, run_seed", sim_ber_cases(((0.0, 24), (1e-2, 25))))
def test_mixed_binary_ternary_network_matches_golden(network_design, sim, ber, run_seed):
    """A ternary hidden layer feeding a binary output layer (binary popcounts out), at BER 0 and
    1e-2 (BER 0 on Icarus: `make long`)."""
    print(f"seed={NET_SEED}")
    design, built = mixed_design(network_design, sim)
    print(f"seed={run_seed} ber={ber}")
    check(run_network_regression(design, sim, ber=ber, seed=run_seed, count=12, build=built), design, 12, ber)


@pytest.mark.rtl
@pytest.mark.parametrize("sim", SIMS)
def test_mixed_binary_ternary_network_with_device_model_errors(network_design, sim):
    """The mixed network with errors from the device model (binary layer at the nominal read,
    ternary at V_LOW, here 0.8 V)."""
    print(f"seed={NET_SEED}")
    design, built = mixed_design(network_design, sim)
    r = run_network_regression(design, sim, seed=26, count=8, build=built, condition="55,2.5,1", vdd=0.8)
    print(r)
    assert r["injected_errors"] > 0 and r["outputs_checked"] == 8 * 11 and r["vdd"] == 0.8


@pytest.mark.rtl
@pytest.mark.long      # a few minutes (Verilator build of ~270 cells): `make long`, `make ternary`
def test_shipped_ternary_network_on_verilator(network_design):
    """The shipped ternary MNIST MLP (784-256-256-10, half its weights 0) on shipped test images at
    ternary misread rates 0, 1e-3 and 1e-2, and from the device model at the ternary read supply."""
    from hwgen.data import MODELS_DIR
    from hwgen.ir import Network

    design, built = network_design("verilator", "mnist_tnn", Network.load(MODELS_DIR / "mnist_tnn.npz"), 32)
    assert all(p.hw.is_ternary for p in design.layers)
    for ber, run_seed in BERS:
        print(f"seed={run_seed} ber={ber}")
        r = run_network_regression(design, "verilator", ber=ber, seed=run_seed, count=16, build=built)
        print(f"BER {ber:g}: RTL accuracy {100 * r['accuracy']:.2f}% on 16 images, {r['injected_errors']} errors, "
              f"{r['cycles_per_inference']} cycles/inference")
        check(r, design, 16, ber)
    r = run_network_regression(design, "verilator", seed=27, count=16, build=built, condition="55,2.5,1")
    print(r)
    assert r["injected_errors"] > 0 and r["outputs_checked"] == 16 * 11
