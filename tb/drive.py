"""cocotb-side helpers shared by the testbenches: clock/reset, bit packing, and the array's
programming, threshold-loading and streaming drivers.

Every cycle is driven on the falling edge and sampled after ``ReadOnly`` in the same cycle, so
what is sampled is exactly what the next rising edge acts on.
"""

from __future__ import annotations

import time

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge, Timer
from cocotb.utils import get_sim_time

from hwgen.hwconfig import HwConfig
from hwgen.mapping import cell_contents, input_beats, output_neurons


def to_int(values, width: int = 1) -> int:
    """Little-endian pack of a vector of ``width``-bit values into one integer."""
    out = 0
    for k, v in enumerate(np.asarray(values).ravel()):
        out |= int(v) << (k * width)
    return out


def field(value: int, k: int, width: int) -> int:
    return (value >> (k * width)) & ((1 << width) - 1)


async def start(dut, inputs=()):
    """Start the clock, zero the named inputs, and reset for two cycles."""
    Clock(dut.clk, 10, unit="ns").start()
    for name in inputs:
        getattr(dut, name).value = 0
    dut.rst.value = 1
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


ARRAY_INPUTS = ("prog__en", "prog__cell", "prog__row", "prog__data", "thr__en", "thr__row",
                "thr__data", "inp__valid", "inp__payload", "out__ready")


async def program_array(dut, hw: HwConfig, weight_bits, lrs=None, hrs=None):
    """Write every memory row of every cell through the programming port (one row per cycle)."""
    bits = cell_contents(weight_bits, hw)
    codes = None
    if hw.storage == "behavioural":
        codes = cell_contents(lrs, hw), cell_contents(hrs, hw)
    for i in range(hw.N):
        for j in range(hw.M):
            for t in range(hw.n):
                await FallingEdge(dut.clk)
                dut.prog__en.value = 1
                dut.prog__cell.value = i * hw.M + j
                dut.prog__row.value = t
                dut.prog__data.value = to_int(bits[i, j, t])
                if codes is not None:
                    dut.prog__lrs.value = to_int(codes[0][i, j, t], hw.level_bits)
                    dut.prog__hrs.value = to_int(codes[1][i, j, t], hw.level_bits)
    await FallingEdge(dut.clk)
    dut.prog__en.value = 0


async def load_thresholds(dut, hw: HwConfig, thresholds):
    thresholds = np.asarray(thresholds).reshape(hw.threshold_rows, hw.M)
    for r in range(hw.threshold_rows):
        await FallingEdge(dut.clk)
        dut.thr__en.value = 1
        dut.thr__row.value = r
        dut.thr__data.value = to_int(thresholds[r], hw.threshold_width)
    await FallingEdge(dut.clk)
    dut.thr__en.value = 0


async def stream_passes(dut, hw: HwConfig, x_phys, ready=None, max_cycles=None):
    """Stream every input vector, collect every output beat, and time each pass.

    ``ready(cycle) -> bool`` shapes back-pressure (default: always ready). Returns
    ``(acts, popcounts, accept_cycles, done_cycles, beat_log)`` with acts/popcounts
    ``(passes, max_outputs)`` decoded through the mapping.
    """
    beats = input_beats(x_phys, hw)
    passes = beats.shape[0]
    neurons = output_neurons(hw)
    lanes, pw = hw.output_lanes, hw.popcount_width
    acts = np.full((passes, hw.max_outputs), -1, dtype=np.int64)
    pcs = np.full((passes, hw.max_outputs), -1, dtype=np.int64)
    accept_cycles, done_cycles, log = [], [], []
    p_in = b_in = p_out = b_out = 0
    limit = max_cycles or passes * (hw.n + 64) * 8 + 1000
    cycle = 0
    while len(done_cycles) < passes:
        if cycle > limit:
            raise AssertionError(f"timeout after {cycle} cycles: {len(done_cycles)} of {passes} passes done")
        await FallingEdge(dut.clk)
        if p_in < passes:
            dut.inp__valid.value = 1
            dut.inp__payload.value = to_int(beats[p_in, b_in])
        else:
            dut.inp__valid.value = 0
        dut.out__ready.value = 1 if ready is None else int(bool(ready(cycle)))
        await ReadOnly()
        if int(dut.done.value):
            done_cycles.append(cycle)
        if p_in < passes and int(dut.inp__ready.value):
            if b_in == 0:
                accept_cycles.append(cycle)
            b_in += 1
            if b_in == hw.input_beats:
                p_in, b_in = p_in + 1, 0
        if int(dut.out__valid.value) and int(dut.out__ready.value):
            index, last = int(dut.out__index.value), int(dut.out__last.value)
            act, pc = int(dut.out__act.value), int(dut.out__popcount.value)
            if p_out >= passes:
                raise AssertionError(f"cycle {cycle}: output beat after all {passes} passes ended")
            if index != b_out or last != (b_out == hw.output_beats - 1):
                raise AssertionError(f"cycle {cycle}: pass {p_out} beat {b_out} came with index={index} last={last}")
            for lane in range(lanes):
                o = neurons[b_out, lane]
                acts[p_out, o] = field(act, lane, 1)
                pcs[p_out, o] = field(pc, lane, pw)
            log.append((cycle, p_out, b_out))
            b_out += 1
            if last:
                p_out, b_out = p_out + 1, 0
        cycle += 1
    return acts, pcs, accept_cycles, done_cycles, log


def compare(dut, what, got, expected, error_map=None):
    """Assert equality of (passes, neurons) arrays, naming the first mismatches."""
    got, expected = np.asarray(got), np.asarray(expected)
    bad = np.argwhere(got != expected)
    if len(bad):
        lines = []
        for p, o in bad[:8]:
            note = ""
            if error_map is not None:
                note = f" (this neuron has {int(error_map[o].sum())} flipped weights)"
            lines.append(f"pass {p} neuron {o}: rtl {got[p, o]} golden {expected[p, o]}{note}")
        raise AssertionError(f"{what}: {len(bad)} of {got.size} differ from the golden model\n  " + "\n  ".join(lines))
    dut._log.info("%s: all %d match the golden model", what, got.size)


HARNESS_INPUTS = ("prog__en", "prog__cell", "prog__row", "prog__data", "thr__en", "thr__row", "thr__data",
                  "ld_en", "ld_addr", "ld_data", "passes", "start", "rd_addr")


async def run_harness(dut, hw: HwConfig, x_phys):
    """Batch mode: preload every input beat, run all passes untouched, read everything back.

    Returns ``(acts, popcounts, pass_cycles, cycles_simulated, compute_wall_s)``; the last is the
    wall time of the untouched run alone (loading and read-back excluded).
    """
    beats = input_beats(x_phys, hw)
    passes = beats.shape[0]
    flat = beats.reshape(passes * hw.input_beats, hw.input_width)
    for addr, beat in enumerate(flat):
        await FallingEdge(dut.clk)
        dut.ld_en.value, dut.ld_addr.value, dut.ld_data.value = 1, addr, to_int(beat)
    await FallingEdge(dut.clk)
    dut.ld_en.value, dut.passes.value, dut.start.value = 0, passes, 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    t0, wall0 = get_sim_time("ns"), time.perf_counter()
    await RisingEdge(dut.finished)
    compute_wall = time.perf_counter() - wall0
    simulated = round((get_sim_time("ns") - t0) / 10)
    neurons = output_neurons(hw)
    lanes, pw = hw.output_lanes, hw.popcount_width
    acts = np.full((passes, hw.max_outputs), -1, dtype=np.int64)
    pcs = np.full((passes, hw.max_outputs), -1, dtype=np.int64)
    cycles = []
    for addr in range(passes * hw.output_beats):
        dut.rd_addr.value = addr
        await Timer(1, unit="ps")
        p, b = divmod(addr, hw.output_beats)
        act, pc = int(dut.rd_act.value), int(dut.rd_popcount.value)
        for lane in range(lanes):
            acts[p, neurons[b, lane]] = field(act, lane, 1)
            pcs[p, neurons[b, lane]] = field(pc, lane, pw)
        if addr < passes:
            cycles.append(int(dut.rd_cycles.value))
    return acts, pcs, cycles, simulated, compute_wall
