"""Ternary mode of the basic cell and the array (seed 004: LRS/HRS = +1, HRS/HRS = 0, HRS/LRS = -1).

Three tiers, each checked against the golden model (``golden.effective_weights`` /
``layer_forward`` on the same ternary error codes), never against stored numbers:

- device codes: :func:`ternary_pair_levels` realises every error code, as read by the numpy
  mirror of the RTL sense (:func:`ternary_sensed`);
- Amaranth's simulator: the ternary 2T2R block (behavioural and bit-memory views) and the basic
  cell (row counts and seq2par accumulation);
- cocotb on Icarus and Verilator: whole arrays in both configurations, error-free and with every
  misread type, a padded layer, the batch harness, and a negative control.

Seeds are fixed per test and printed.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from amaranth.sim import Simulator

from hwgen import golden
from hwgen.device.errormap import (TERNARY_MISREADS, sample_ternary_error_codes, ternary_error_types,
                                   ternary_pair_levels, ternary_read, ternary_sensed)
from hwgen.errors import ConfigError, LayerDoesNotFit
from hwgen.generate import generate_array
from hwgen.hwconfig import HwConfig, zero_band
from hwgen.ir import Layer, unpack_bits
from hwgen.mapping import (cell_contents, hardware_counts, hardware_thresholds, pad_inputs, physical_layer, to_int,
                           weight_planes)
from hwgen.rtl.cell import BasicCell
from hwgen.rtl.rram import Rram2T2RBlock, macro_name
from hwgen.verify.scenario import array_scenario

from conftest import SIMS


def make_seed(*params) -> int:
    seed = zlib.crc32(repr(params).encode()) % 100_000
    print(f"seed={seed}")
    return seed


def effective_values(values, codes) -> np.ndarray:
    """The golden model's reading of ternary ``values`` under error ``codes``, as -1/0/+1."""
    layer = Layer.from_ternary(values, np.zeros(len(values), dtype=np.int64))
    sign, nonzero = golden.effective_weights(layer, codes)
    i = values.shape[1]
    return np.where(unpack_bits(nonzero, i) == 1, np.where(unpack_bits(sign, i) == 1, 1, -1), 0)


# -- configuration and mapping ---------------------------------------------------------------------

def test_ternary_config_widths_offsets_and_validation():
    hw = HwConfig(n=8, N=3, M=2, weights="ternary")
    binary = HwConfig(n=8, N=3, M=2)
    assert hw.is_ternary and not binary.is_ternary
    assert (hw.column_max, hw.score_offset, hw.zero_band) == (2, 24, 4)
    assert (binary.column_max, binary.score_offset) == (1, 0)
    # Q in [0, 2I], stored thresholds T + I in [0, 2I + 1]
    assert hw.popcount_width == (2 * 24).bit_length() and hw.threshold_width == (2 * 24 + 1).bit_length()
    assert binary.popcount_width == (24).bit_length() and binary.threshold_width == (25).bit_length()
    assert hw.tag() != binary.tag() and hw.as_dict()["weights"] == "ternary"
    assert HwConfig(**hw.as_dict()) == hw and "weights" not in binary.header_params()
    assert [zero_band(k) for k in (3, 4, 8)] == [2, 4, 64]
    with pytest.raises(ConfigError, match="ternary weights need level_bits >= 3.*not 2"):
        HwConfig(n=8, N=1, M=1, level_bits=2, weights="ternary")
    with pytest.raises(ConfigError, match="weights must be one of binary, ternary, not 'quaternary'"):
        HwConfig(n=8, N=1, M=1, weights="quaternary")
    with pytest.raises(ConfigError, match="ternary weights need level_bits >= 3"):
        Rram2T2RBlock(n=4, level_bits=2, weights="ternary")
    assert macro_name(8, "ternary") != macro_name(8) == "hwgen_rram2t2r_xnor_n8"


@pytest.mark.parametrize("config", ["par2seq", "seq2par"])
def test_padded_ternary_layer_keeps_its_scores(config):
    """Padding is weight 0: the physical layer's scores equal the logical layer's, thresholds
    are kept, and the hardware offset enters only at the threshold load and the count."""
    hw = HwConfig(n=4, N=3, M=2, config=config, weights="ternary")
    seed = make_seed("pad", config)
    rng = np.random.default_rng(seed)
    o, i = hw.max_outputs - 1, hw.max_inputs - 3
    layer = Layer.from_ternary(rng.integers(-1, 2, (o, i)), rng.integers(-3, 4, o))
    phys = physical_layer(layer, hw)
    assert phys.is_ternary and (phys.values()[o:] == 0).all() and (phys.values()[:, i:] == 0).all()
    x = rng.integers(0, 2, (6, i))
    acts, scores = golden.layer_forward(layer, x)
    p_acts, p_scores = golden.layer_forward(phys, pad_inputs(x, hw))
    assert np.array_equal(p_scores[:, :o], scores) and np.array_equal(p_acts[:, :o], acts)
    assert np.array_equal(hardware_thresholds(phys.thresholds, hw), phys.thresholds + hw.max_inputs)
    assert np.array_equal(hardware_counts(scores, hw), scores + hw.max_inputs)
    data, zero = weight_planes(phys)
    assert np.array_equal(np.where(zero == 1, 0, 2 * data.astype(int) - 1), phys.values())
    assert not (data & zero).any()
    assert cell_contents(zero, hw).shape == (hw.N, hw.M, hw.n, hw.n)
    with pytest.raises(LayerDoesNotFit, match="ternary weights, the array is binary"):
        physical_layer(layer, HwConfig(n=4, N=3, M=2, config=config))


# -- device codes --------------------------------------------------------------------------------

@pytest.mark.parametrize("level_bits", [3, 4, 6, 16])
def test_ternary_device_codes_realise_every_error_code(level_bits):
    """Every (stored value, code 0..3) pair: the sense mirror reads what the golden model reads,
    correct +/-1 pairs are LRS-low/HRS-high more than D apart, zeros two HRS codes within D."""
    seed = make_seed("levels", level_bits)
    reps = 64
    values = np.repeat(np.array([-1, 0, 1], dtype=np.int8), 4 * reps).reshape(12, -1)
    codes = np.tile(np.repeat(np.arange(4, dtype=np.uint8), reps), 3).reshape(12, -1)
    lrs, hrs = ternary_pair_levels(values, codes, level_bits, seed)
    top, band = 1 << level_bits, zero_band(level_bits)
    assert lrs.min() >= 0 and hrs.min() >= 0 and lrs.max() < top and hrs.max() < top
    expected = effective_values(values, codes)
    assert np.array_equal(ternary_read(values, codes), expected)
    assert np.array_equal(ternary_sensed(values, lrs, hrs, level_bits), expected)
    ok_pm = (codes == 0) & (values != 0)
    assert (lrs[ok_pm] < band).all() and (hrs[ok_pm] >= 2 * band).all()
    ok_zero = (codes == 0) & (values == 0)
    assert (lrs[ok_zero] >= 2 * band).all() and (hrs[ok_zero] >= 2 * band).all()
    assert (np.abs(hrs - lrs)[ok_zero] <= band).all()
    # the codes are drawn, not fixed: several distinct values in each role
    assert len(np.unique(hrs[ok_pm])) > 1 and len(np.unique(lrs[ok_zero])) > 1
    again = ternary_pair_levels(values, codes, level_bits, seed)
    assert np.array_equal(again[0], lrs) and np.array_equal(again[1], hrs)


def test_device_model_error_maps_are_realised_by_the_device_codes():
    """The device model's sampler (:mod:`hwgen.device.ternary`) has the same code contract: its
    maps are realised exactly by :func:`ternary_pair_levels` and read as the golden model does."""
    from hwgen.device.ternary import TernaryRates, apply_ternary_errors, sample_ternary_error_map

    seed = make_seed("device-model")
    values = np.random.default_rng(seed).integers(-1, 2, (40, 60)).astype(np.int8)
    codes = sample_ternary_error_map(values, TernaryRates(0.1, 0.05, 0.03), seed)
    assert codes.any()
    lrs, hrs = ternary_pair_levels(values, codes, 4, seed)
    expected = effective_values(values, codes)
    assert np.array_equal(ternary_sensed(values, lrs, hrs, 4), expected)
    assert np.array_equal(apply_ternary_errors(values, codes), expected)
    assert np.array_equal(ternary_read(values, codes), expected)


def test_ternary_error_sampler_draws_every_misread_at_its_rate():
    seed = make_seed("sampler")
    values = np.random.default_rng(seed).integers(-1, 2, (200, 300)).astype(np.int8)
    assert not sample_ternary_error_codes(values, 0.0, seed).any()
    codes = sample_ternary_error_codes(values, 0.05, seed)
    assert np.array_equal(codes, sample_ternary_error_codes(values, 0.05, seed))
    assert abs(np.count_nonzero(codes) / codes.size - 0.05) < 0.005
    types = ternary_error_types(values, codes)
    assert set(types) == set(TERNARY_MISREADS) and min(types.values()) > 0.8 * codes.size * 0.05 / 6
    read = effective_values(values, codes)
    assert np.array_equal(read != values, codes != 0)


# -- Amaranth simulator: the ternary block and cell ----------------------------------------------

def simulate(dut, testbench) -> None:
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


def q_word(x_bits, read_values) -> int:
    """Expected ``q_row``: column b holds ``1 + x_b*w_b`` at bits [2b +: 2]."""
    x = 2 * np.asarray(x_bits, dtype=int) - 1
    q = 1 + x * np.asarray(read_values, dtype=int)
    return sum(int(v) << (2 * b) for b, v in enumerate(q))


def programmed_block(n, storage, level_bits, rate, seed):
    """Random ternary rows (with all +1, all -1 and all 0 rows), error codes and device codes."""
    rng = np.random.default_rng(seed)
    values = rng.integers(-1, 2, (n, n)).astype(np.int8)
    values[0], values[1], values[2 % n] = 1, -1, 0
    codes = sample_ternary_error_codes(values, rate, seed)
    read = effective_values(values, codes)
    if storage == "bitmem":                 # a bit memory has no devices: it stores what is read
        return rng, read, read, None, None, codes
    lrs, hrs = ternary_pair_levels(values, codes, level_bits, seed)
    assert np.array_equal(ternary_sensed(values, lrs, hrs, level_bits), read)
    return rng, values, read, lrs, hrs, codes


async def program_rows(ctx, prog, stored, lrs, hrs, level_bits):
    data, zero = (stored > 0).astype(np.uint8), (stored == 0).astype(np.uint8)
    for t in range(len(stored)):
        ctx.set(prog.en, 1)
        ctx.set(prog.row, t)
        ctx.set(prog.data, to_int(data[t]))
        ctx.set(prog.zero, to_int(zero[t]))
        if lrs is not None:
            ctx.set(prog.lrs, to_int(lrs[t], level_bits))
            ctx.set(prog.hrs, to_int(hrs[t], level_bits))
        await ctx.tick()
    ctx.set(prog.en, 0)


@pytest.mark.parametrize("storage,level_bits,rate", [("behavioural", 3, 0.0), ("behavioural", 3, 0.3),
                                                     ("behavioural", 5, 0.3), ("bitmem", 4, 0.0)])
@pytest.mark.parametrize("n", [4, 7])
def test_ternary_block_senses_q(n, storage, level_bits, rate):
    """Every read gives q = 1 + x*w per column one cycle later, w being what the golden model
    reads under the error codes; the row holds while rd_en is low."""
    seed = make_seed("block", n, storage, level_bits, rate)
    rng, stored, read, lrs, hrs, codes = programmed_block(n, storage, level_bits, rate, seed)
    if rate:
        assert codes.any()
    dut = Rram2T2RBlock(n=n, storage=storage, level_bits=level_bits, weights="ternary")
    reads = 60
    rows = rng.integers(0, n, reads)
    xs = rng.integers(0, 2, (reads, n))
    xs[0], xs[1] = 1, 0
    got, want = [], []

    async def tb(ctx):
        await program_rows(ctx, dut.prog, stored, lrs, hrs, level_bits)
        last = None
        for r in range(reads):
            ctx.set(dut.rd_en, 1)
            ctx.set(dut.rd_row, int(rows[r]))
            ctx.set(dut.x, to_int(xs[r]))
            await ctx.tick()
            ctx.set(dut.rd_en, int(rng.random() < 0.3))     # sometimes a second read, sometimes a gap
            ctx.set(dut.rd_row, int(rows[r]))
            ctx.set(dut.x, to_int(xs[r]))
            got.append(ctx.get(dut.q_row))
            want.append(q_word(xs[r], read[rows[r]]))
            last = want[-1]
            await ctx.tick()
            ctx.set(dut.rd_en, 0)
            ctx.set(dut.x, int(rng.integers(0, 1 << n)))
            assert ctx.get(dut.q_row) == last
    simulate(dut, tb)
    assert got == want


@pytest.mark.parametrize("storage", ["behavioural", "bitmem"])
def test_ternary_block_memory_init(storage):
    """Contents given at elaboration (ideal devices: a 0 is two HRS codes) read as written."""
    n = 5
    seed = make_seed("init", storage)
    rng = np.random.default_rng(seed)
    values = rng.integers(-1, 2, (n, n))
    dut = Rram2T2RBlock(n=n, storage=storage, level_bits=3, weights="ternary", init=values)
    xs = rng.integers(0, 2, (n, n))
    got = []

    async def tb(ctx):
        for t in range(n):
            ctx.set(dut.rd_en, 1)
            ctx.set(dut.rd_row, t)
            ctx.set(dut.x, to_int(xs[t]))
            await ctx.tick()
            got.append(ctx.get(dut.q_row))
    simulate(dut, tb)
    assert got == [q_word(xs[t], values[t]) for t in range(n)]


@pytest.mark.parametrize("accumulate", [False, True], ids=["rowcount", "accumulate"])
@pytest.mark.parametrize("storage", ["behavioural", "bitmem"])
def test_ternary_cell_counts_q(storage, accumulate):
    """``count`` two cycles after a read is the row's sum of q = n + score (golden scores of the
    cell's rows under the error codes), or its running sum since ``first``."""
    n, level_bits, rate = 6, 4, 0.25
    seed = make_seed("cell", storage, accumulate)
    rng, stored, read, lrs, hrs, codes = programmed_block(n, storage, level_bits, rate, seed)
    dut = BasicCell(n=n, accumulate=accumulate, storage=storage, level_bits=level_bits, weights="ternary")
    assert len(dut.count) == (2 * (n * n if accumulate else n)).bit_length() and len(dut.q_row) == 2 * n
    reads = 40
    rows = rng.integers(0, n, reads)
    xs = rng.integers(0, 2, (reads, n))
    xs[0], xs[1] = 1, 0
    firsts = (np.arange(reads) % n == 0) | (rng.random(reads) < 0.1)
    layer = Layer.from_ternary(read, np.zeros(n, dtype=np.int64))
    _, scores = golden.layer_forward(layer, xs)
    row_q = scores[np.arange(reads), rows] + n
    expected, acc = [], 0
    for r in range(reads):
        acc = row_q[r] if (firsts[r] or not accumulate) else acc + row_q[r]
        expected.append(int(acc))
    got = []

    async def tb(ctx):
        await program_rows(ctx, dut.prog, stored, lrs, hrs, level_bits)
        issued = 0
        for _ in range(reads * 4):
            issue = issued < reads and rng.random() < 0.7
            ctx.set(dut.rd_en, int(issue))
            if issue:
                ctx.set(dut.rd_row, int(rows[issued]))
                ctx.set(dut.x, to_int(xs[issued]))
                ctx.set(dut.first, int(firsts[issued]))
                issued += 1
            if ctx.get(dut.count_valid):
                got.append(ctx.get(dut.count))
            await ctx.tick()
        for _ in range(3):
            ctx.set(dut.rd_en, 0)
            if ctx.get(dut.count_valid):
                got.append(ctx.get(dut.count))
            await ctx.tick()
    simulate(dut, tb)
    assert got == expected


# -- generated views: lint and synthesis -----------------------------------------------------------

@pytest.mark.rtl
@pytest.mark.flow
def test_ternary_views_lint_and_synthesize(tmp_path):
    from hwgen.flow import lint_design, synth_design

    hw = HwConfig(n=4, N=2, M=2, config="par2seq", weights="ternary")
    manifest = generate_array(hw, tmp_path / "d", views=("sim", "synth", "macro"))
    assert manifest.hw == hw and manifest.to_dict()["count"]["score_offset"] == hw.max_inputs
    ports = {p["name"]: p["width"] for p in manifest.ports["sim"]}
    assert ports["prog__zero"] == hw.n and ports["out__popcount"] == hw.output_lanes * hw.popcount_width
    for view in ("sim", "synth", "macro"):
        report = lint_design(tmp_path / "d", view)
        print(view, report)
        assert not set(report["warnings"]) & {"UNDRIVEN", "MULTIDRIVEN", "LATCH", "COMBDLY", "BLKSEQ", "UNOPTFLAT"}
    macro = synth_design(tmp_path / "d", "macro")
    print("macro", macro["cells"], macro["by_type"])
    assert macro["by_type"].get(macro_name(hw.n, "ternary")) == hw.cells


# -- cocotb: arrays on Icarus and Verilator ------------------------------------------------------

SIZES = {"par2seq": dict(n=8, N=3, M=2), "seq2par": dict(n=8, N=2, M=3)}     # 384 pairs each
RATE = 0.1


def ternary_hw(config):
    return HwConfig(config=config, weights="ternary", **SIZES[config])


def run(built, testcase, tag, **env):
    return built.run("array", {"HWGEN_DESIGN": built.manifest.folder, **env}, testcase=testcase, tag=tag)


@pytest.mark.rtl
@pytest.mark.parametrize("rate", [0.0, RATE])
@pytest.mark.parametrize("config", ["par2seq", "seq2par"])
@pytest.mark.parametrize("sim", SIMS)
def test_ternary_array_random_layer(build_array, sim, config, rate):
    hw = ternary_hw(config)
    seed = 4000 + int(rate * 100) + (0 if config == "par2seq" else 1)
    print(f"seed={seed} rate={rate}")
    sc = array_scenario(hw, seed, rate, passes=12)
    types = sc.error_types()
    print("error types", types)
    if rate:
        assert min(types.values()) >= 1, f"seed {seed} left a misread type out: {types}"
    else:
        assert sc.injected_errors == 0
    built = build_array(sim, hw)
    r = run(built, "array_matches_golden", f"ternary_{rate}", HWGEN_SEED=seed, HWGEN_BER=rate, HWGEN_PASSES=12)
    print(r)
    assert r["ok"] and r["weights"] == "ternary" and r["passes"] == 12
    assert r["injected_errors"] == sc.injected_errors and r["error_types"] == types


@pytest.mark.rtl
@pytest.mark.parametrize("config", ["par2seq", "seq2par"])
@pytest.mark.parametrize("sim", SIMS)
def test_ternary_array_partial_layer(build_array, sim, config):
    """A layer smaller than the array: padded inputs and neurons (weight 0; faulty pad devices
    count, in the RTL as in the golden model), with random out.ready back-pressure."""
    hw = ternary_hw(config)
    seed = 4100 + (0 if config == "par2seq" else 1)
    print(f"seed={seed}")
    sc = array_scenario(hw, seed, RATE, passes=8, fill="partial")
    pad_errors = np.count_nonzero(sc.error_map[:, sc.layer.n_inputs:]) + \
        np.count_nonzero(sc.error_map[sc.layer.n_outputs:])
    print(f"layer {sc.layer.n_outputs}x{sc.layer.n_inputs} on {hw.tag()}, {pad_errors} errors in padding")
    assert sc.layer.n_inputs < hw.max_inputs and pad_errors > 0
    r = run(build_array(sim, hw), "array_matches_golden", "ternary_partial", HWGEN_SEED=seed, HWGEN_BER=RATE,
            HWGEN_PASSES=8, HWGEN_FILL="partial", HWGEN_BACKPRESSURE=1)
    assert r["ok"]


@pytest.mark.rtl
@pytest.mark.parametrize("sim", SIMS)
def test_ternary_regression_sees_device_errors(build_array, sim):
    """Negative control: ideal devices against an error-carrying golden model must mismatch."""
    seed = 4242
    print(f"seed={seed}")
    r = run(build_array(sim, ternary_hw("par2seq")), "array_detects_unmodelled_errors", "ternary_negative",
            HWGEN_SEED=seed, HWGEN_BER=5e-2, HWGEN_PASSES=4)
    assert r["negative_control"]


@pytest.mark.rtl
@pytest.mark.parametrize("sim", SIMS)
def test_ternary_batch_harness(tmp_path, sim):
    """``hwgen sim``'s path: the harness view through run_array_regression, batches included."""
    from hwgen.verify import run_array_regression

    hw = HwConfig(n=4, N=2, M=2, config="seq2par", weights="ternary")
    manifest = generate_array(hw, tmp_path / "d", views=("harness",), harness_passes=8)
    seed = 4300
    print(f"seed={seed}")
    r = run_array_regression(manifest, sim, ber=0.2, seed=seed, passes=19, build_dir=tmp_path / "b")
    print(r)
    assert r["ok"] and r["passes"] == 19 and r["outputs_checked"] == 2 * 19 * hw.max_outputs
    assert r["cycles_per_pass"] == manifest.timing["cycles_per_pass"] and r["injected_errors"] > 0
