"""The cocotb side of verification: clock and reset, the one batch driver every harness
testbench uses (load, run, read back in bulk), the array's own port drivers for stream-mode
testbenches, golden-model comparison, and the report and progress files.

Every cycle is driven on the falling edge and sampled after ``ReadOnly`` in the same cycle, so
what is sampled is exactly what the next rising edge acts on. Imported only inside a simulator.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass

import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, First, ReadOnly, RisingEdge, Timer

from ..hwconfig import HwConfig, carries_codes
from ..mapping import cell_contents, field, hardware_thresholds, input_beats, output_neurons, to_int

CLOCK_NS = 10


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


async def start(dut, inputs=()):
    """Start the clock, zero the named inputs, and reset for two cycles."""
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    for name in inputs:
        getattr(dut, name).value = 0
    dut.rst.value = 1
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


# -- report and progress (read by hwgen.verify.build in the runner's process) ---------------------
class Report:
    """The testbench's JSON report (``HWGEN_REPORT``): written at the end, and on a mismatch
    before the test fails, so the runner can show the first mismatches."""

    def __init__(self):
        self.path = os.environ.get("HWGEN_REPORT")
        self.data = {}

    def update(self, **values):
        self.data.update(values)
        self.write()

    def write(self):
        if self.path:
            with open(self.path, "w") as f:
                json.dump(self.data, f, indent=2)


class Progress:
    """``phase done total`` in ``HWGEN_PROGRESS``, for the runner's progress bar (``phase`` is one
    word: boot, images, passes)."""

    def __init__(self):
        self.path = os.environ.get("HWGEN_PROGRESS")

    def __call__(self, phase: str, done: int, total: int):
        if self.path:
            fd, tmp = tempfile.mkstemp(prefix=".progress.", dir=os.path.dirname(self.path))
            with os.fdopen(fd, "w") as f:
                f.write(f"{phase} {done} {total}\n")
            os.replace(tmp, self.path)


def expect(report: Report | None, ok: bool, message: str) -> None:
    """Assert ``ok``; a failure also goes into the report, so the runner shows it."""
    if not ok:
        if report is not None:
            report.update(ok=False, mismatches=[message])
        raise AssertionError(message)


def compare(dut, what, got, expected, report: Report | None = None, note=None, row="pass", col="neuron"):
    """Assert equality of ``(rows, cols)`` arrays, naming the first mismatches (also in the report).

    ``note(r, c)`` may add a remark to a mismatch line (e.g. the neuron's flipped weights).
    """
    got, expected = np.asarray(got), np.asarray(expected)
    bad = np.argwhere(got != expected)
    if len(bad):
        lines = [f"{row} {r} {col} {c}: rtl {got[r, c]} golden {expected[r, c]}" + (note(r, c) if note else "")
                 for r, c in bad[:8]]
        head = f"{what}: {len(bad)} of {got.size} differ from the golden model"
        if report is not None:
            report.update(ok=False, mismatches=[head, *lines])
        raise AssertionError(head + "\n  " + "\n  ".join(lines))
    dut._log.info("%s: all %d match the golden model", what, got.size)


# -- the batch driver -----------------------------------------------------------------------------
HARNESS_INPUTS = ("ld__en", "ld__addr", "ld__data", "count", "start", "rd__addr")


@dataclass
class Batch:
    words: list[int]            # captured output words
    in_cycles: list[int]        # per item: cycle its first input word was taken
    out_cycles: list[int]       # per item: cycle it was done
    cycles: int                 # cycles of the run (start to finished)
    wall_s: float               # wall time of the run alone (no loading, no read-back)


async def _wait(dut, signal, counter, phase: str, total: int, progress: Progress, offset: int = 0):
    """Wait for ``signal`` to be high, reporting ``counter`` as progress about every 0.25 s of
    wall time (chunks of simulated cycles sized from the measured speed). Python stays out of
    the cycles in between: a chunk is one ``Timer``, not ``ClockCycles`` (which resumes a Python
    coroutine on every clock edge: a fifth of the run time of a whole network)."""
    chunk = 256
    while not int(signal.value):
        t0 = time.perf_counter()
        await First(RisingEdge(signal), Timer(chunk * CLOCK_NS, unit="ns"))
        wall = time.perf_counter() - t0
        progress(phase, offset + int(counter.value), total)
        chunk = int(min(1 << 20, max(64, chunk * 0.25 / max(wall, 1e-3))))
    await FallingEdge(dut.clk)


async def wait_booted(dut, records: int, progress: Progress) -> int:
    """Wait for a network harness to finish booting; returns the records it applied."""
    await _wait(dut, dut.booted, dut.boot_records, "boot", records, progress)
    return int(dut.boot_records.value)


async def run_batch(dut, words, count: int, out_words: int, progress: Progress, phase: str, total: int,
                    done_before: int = 0) -> Batch:
    """Load ``words`` (``count`` items), run them untouched, read everything back.

    ``out_words`` captured words are read (items x output beats); stamps for ``count`` items.
    """
    for addr, word in enumerate(words):
        await FallingEdge(dut.clk)
        dut.ld__en.value, dut.ld__addr.value, dut.ld__data.value = 1, addr, int(word)
    await FallingEdge(dut.clk)
    dut.ld__en.value, dut.count.value, dut.start.value = 0, count, 1
    await FallingEdge(dut.clk)
    dut.start.value = 0
    wall0 = time.perf_counter()
    await _wait(dut, dut.finished, dut.done_items, phase, total, progress, done_before)
    wall = time.perf_counter() - wall0
    cycles = int(dut.cycles.value)
    data, t_in, t_out = [], [], []
    for addr in range(max(out_words, count)):
        dut.rd__addr.value = addr
        await Timer(1, unit="ps")
        if addr < out_words:
            data.append(int(dut.rd__data.value))
        if addr < count:
            t_in.append(int(dut.rd__in_cycle.value))
            t_out.append(int(dut.rd__out_cycle.value))
    return Batch(data, t_in, t_out, cycles, wall)


async def run_batches(dut, items: list[list[int]], capacity: int, out_beats: int, phase: str,
                      progress: Progress) -> list[Batch]:
    """Run ``items`` (each a list of input words) in batches of at most ``capacity``."""
    batches = []
    for first in range(0, len(items), capacity):
        chunk = items[first:first + capacity]
        words = [w for item in chunk for w in item]
        batches.append(await run_batch(dut, words, len(chunk), len(chunk) * out_beats, progress, phase,
                                       len(items), first))
    progress(phase, len(items), len(items))
    return batches


# -- the array's own ports (stream-mode testbenches) ------------------------------------------------
PROG_INPUTS = ("prog__en", "prog__cell", "prog__row", "prog__data", "thr__en", "thr__row", "thr__data")
STREAM_INPUTS = ("inp__valid", "inp__payload", "out__ready")
ARRAY_INPUTS = PROG_INPUTS + STREAM_INPUTS


def prog_inputs(hw: HwConfig) -> tuple[str, ...]:
    """The programming and threshold inputs of an array (a ternary one also has ``prog__zero``)."""
    return PROG_INPUTS + (("prog__zero",) if hw.is_ternary else ())


async def program_array(dut, hw: HwConfig, weight_bits, lrs=None, hrs=None, zero_bits=None):
    """Write every memory row of every cell through the programming port (one row per cycle).

    ``weight_bits`` (sign bits) and, for a ternary array, ``zero_bits`` are physical planes
    ``(max_outputs, max_inputs)`` (:func:`hwgen.mapping.weight_planes`); ``lrs``/``hrs`` the
    device codes of the behavioural view."""
    bits = cell_contents(weight_bits, hw)
    zeros = None
    if hw.is_ternary:
        if zero_bits is None:
            raise ValueError("a ternary array is programmed with its zero plane (zero_bits)")
        zeros = cell_contents(zero_bits, hw)
    codes = None
    if carries_codes(hw.storage):
        codes = cell_contents(lrs, hw), cell_contents(hrs, hw)
    for i in range(hw.N):
        for j in range(hw.M):
            for t in range(hw.n):
                await FallingEdge(dut.clk)
                dut.prog__en.value = 1
                dut.prog__cell.value = i * hw.M + j
                dut.prog__row.value = t
                dut.prog__data.value = to_int(bits[i, j, t])
                if zeros is not None:
                    dut.prog__zero.value = to_int(zeros[i, j, t])
                if codes is not None:
                    dut.prog__lrs.value = to_int(codes[0][i, j, t], hw.level_bits)
                    dut.prog__hrs.value = to_int(codes[1][i, j, t], hw.level_bits)
    await FallingEdge(dut.clk)
    dut.prog__en.value = 0


async def load_thresholds(dut, hw: HwConfig, thresholds):
    """Load IR thresholds (popcount, or ternary score); the bank holds them plus
    ``hw.score_offset`` (:func:`hwgen.mapping.hardware_thresholds`)."""
    thresholds = hardware_thresholds(thresholds, hw).reshape(hw.threshold_rows, hw.M)
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
