"""cocotb testbench of the N x M array (both configurations): every activation bit and every
popcount is compared with hwgen's golden model on the same error-injected weights, and every
pass's cycle count with the manifest. A ternary array (manifest ``hw.weights``) runs a ternary
layer with ternary error codes, programmed with its zero plane; its popcounts are compared with
the golden scores plus ``hw.score_offset`` (:meth:`ArrayScenario.expected_outputs`).

Two modes (HWGEN_MODE): ``stream`` drives the array's own ports cycle by cycle (and can apply
random back-pressure); ``batch`` runs the harness view with the batch driver (no Python in the
per-cycle path), in batches of the harness's capacity.

Parameters (environment): HWGEN_DESIGN (the design folder), HWGEN_MODE, HWGEN_SEED, HWGEN_BER,
HWGEN_PASSES, HWGEN_FILL (full|partial), HWGEN_BACKPRESSURE (0|1); HWGEN_REPORT and
HWGEN_PROGRESS come from the runner.
"""

from __future__ import annotations

import os
import time

import cocotb
import numpy as np

from hwgen import seeds
from hwgen.manifest import Manifest
from hwgen.mapping import field, input_beats, output_neurons, to_int
from hwgen.verify.driver import (HARNESS_INPUTS, STREAM_INPUTS, Progress, Report, compare, env_int, expect,
                                 load_thresholds, prog_inputs, program_array, run_batches, start, stream_passes)
from hwgen.verify.scenario import array_scenario

MODES = ("stream", "batch")


def params():
    manifest = Manifest.load(os.environ["HWGEN_DESIGN"])
    mode = os.environ.get("HWGEN_MODE", "stream")
    if mode not in MODES:
        raise ValueError(f"HWGEN_MODE must be stream or batch, not {mode!r}")
    return (manifest, manifest.hw, mode, env_int("HWGEN_SEED", 1), float(os.environ.get("HWGEN_BER", "0")),
            env_int("HWGEN_PASSES", 8), os.environ.get("HWGEN_FILL", "full"),
            os.environ.get("HWGEN_BACKPRESSURE", "0") == "1")


def flipped_note(error_map):
    return lambda p, o: f" (this neuron has {int((error_map[o] != 0).sum())} misread weights)"


async def run_harness(dut, hw, x_phys, capacity: int):
    """Batch mode: every pass's input beats through the harness; decode the captured beats."""
    beats = input_beats(x_phys, hw)
    items = [[to_int(beat) for beat in pass_beats] for pass_beats in beats]
    batches = await run_batches(dut, items, capacity, hw.output_beats, "passes", Progress())
    neurons = output_neurons(hw)
    lanes, pw = hw.output_lanes, hw.popcount_width
    words = [w for b in batches for w in b.words]
    acts = np.full((len(items), hw.max_outputs), -1, dtype=np.int64)
    pcs = np.full((len(items), hw.max_outputs), -1, dtype=np.int64)
    for addr, word in enumerate(words):
        p, b = divmod(addr, hw.output_beats)
        act, pc = field(word, 0, lanes), word >> lanes
        for lane in range(lanes):
            acts[p, neurons[b, lane]] = field(act, lane, 1)
            pcs[p, neurons[b, lane]] = field(pc, lane, pw)
    cycles = [o - i for b in batches for i, o in zip(b.in_cycles, b.out_cycles)]
    return acts, pcs, cycles, sum(b.cycles for b in batches), sum(b.wall_s for b in batches)


@cocotb.test()
async def array_matches_golden(dut):
    manifest, hw, mode, seed, ber, passes, fill, backpressure = params()
    report = Report()
    sc = array_scenario(hw, seed, ber, passes=passes, fill=fill)
    dut._log.info("hw=%s mode=%s seed=%d ber=%g fill=%s layer=%dx%d passes=%d injected_errors=%d backpressure=%s%s",
                  hw.tag(), mode, seed, ber, fill, sc.layer.n_outputs, sc.layer.n_inputs, len(sc.x),
                  sc.injected_errors, backpressure, f" error_types={sc.error_types()}" if hw.is_ternary else "")
    await start(dut, prog_inputs(hw) + (HARNESS_INPUTS if mode == "batch" else STREAM_INPUTS))
    data, zero = sc.planes()
    await program_array(dut, hw, data, sc.lrs, sc.hrs, zero_bits=zero)
    await load_thresholds(dut, hw, sc.phys.thresholds)

    t_run = time.perf_counter()
    if mode == "batch":
        if backpressure:
            raise ValueError("back-pressure needs HWGEN_MODE=stream (the harness is always ready)")
        acts, pcs, cycles, simulated, compute = await run_harness(dut, hw, sc.x_phys, manifest.view("harness").capacity)
    else:
        ready = None
        if backpressure:
            pattern = seeds.rng(seed, "backpressure").random(100_000) < 0.6
            ready = lambda cycle: pattern[cycle % len(pattern)]  # noqa: E731
        acts, pcs, accepted, done, _ = await stream_passes(dut, hw, sc.x_phys, ready=ready)
        cycles = [d - a for a, d in zip(accepted, done)]
        simulated = done[-1] + 1
    wall = time.perf_counter() - t_run
    if mode == "stream":
        compute = wall

    exp_acts, exp_pcs = sc.expected_outputs()
    compare(dut, "popcounts", pcs, exp_pcs, report, flipped_note(sc.error_map))
    compare(dut, "activations", acts, exp_acts, report, flipped_note(sc.error_map))

    expected_cycles = manifest.timing["cycles_per_pass"]
    dut._log.info("cycles per pass measured %s, manifest %d", sorted(set(cycles)), expected_cycles)
    if backpressure:
        expect(report, min(cycles) >= expected_cycles, f"a stalled pass took {min(cycles)} < {expected_cycles} cycles")
    else:
        expect(report, cycles == [expected_cycles] * len(cycles),
               f"cycles per pass {cycles} differ from the manifest's {expected_cycles}")
    # the edge-case neurons must have exercised both outcomes somewhere
    expect(report, exp_acts.min() == 0 and exp_acts.max() == 1, "stimulus gave no mixed activations")
    report.update(ok=True, hw=hw.tag(), mode=mode, seed=seed, ber=ber, passes=len(sc.x),
                  outputs_checked=int(2 * pcs.size), injected_errors=sc.injected_errors,
                  weights=hw.weights, error_types=sc.error_types(),
                  cycles_per_pass=int(max(cycles)), simulated_cycles=int(simulated), run_wall_s=round(wall, 4),
                  compute_wall_s=round(compute, 4), sim_cycles_per_s=simulated / compute,
                  passes_per_s=len(sc.x) / wall)


@cocotb.test()
async def array_detects_unmodelled_errors(dut):
    """Negative control: program ideal devices while the golden model applies the error map.

    The comparison must then fail, which shows the regression can see device errors at all.
    """
    manifest, hw, mode, seed, ber, passes, fill, _ = params()
    assert mode == "stream", "the negative control runs on the array's own ports"
    assert ber >= 1e-2, "the negative control needs enough errors to show"
    sc = array_scenario(hw, seed, ber, passes=passes, fill=fill)
    ideal = array_scenario(hw, seed, 0.0, passes=passes, fill=fill)
    await start(dut, prog_inputs(hw) + STREAM_INPUTS)
    data, zero = ideal.planes()
    await program_array(dut, hw, data, ideal.lrs, ideal.hrs, zero_bits=zero)
    await load_thresholds(dut, hw, sc.phys.thresholds)
    _, pcs, _, _, _ = await stream_passes(dut, hw, sc.x_phys)
    exp_acts, exp_pcs = sc.expected_outputs()
    try:
        compare(dut, "popcounts", pcs, exp_pcs)
    except AssertionError as e:
        dut._log.info("mismatch detected as it must be: %s", str(e).splitlines()[0])
    else:
        raise AssertionError("RTL programmed without errors matched a golden model with errors")
    compare(dut, "popcounts vs error-free golden", pcs, ideal.expected_outputs()[1], Report())
    Report().update(ok=True, negative_control=True)
