"""Port traces of real workloads, for the gate-level simulation that measures energy.

A trace is what a design's ports see, cycle by cycle: every input value (programming, then the
input vectors of real test images) and every output value the RTL gives back. It is recorded in
Amaranth's own simulator on the design's components with the 2T2R memory as plain bits (the
``bitmem`` storage: the same ports as the macro and synth views), then replayed into the
mapped netlist (:mod:`hwgen.flow.gatesim`), which must give the same outputs in every cycle: the
gate-level run is checked against the RTL as it measures.

Workloads (real activity, seeded, documented):

- an **array** runs a block of the shipped MNIST network's first layer (its first ``max_outputs``
  neurons, their weights over the ``max_inputs`` pixels in the middle of the image) on binarized
  MNIST test images from the shipped slice; thresholds are half the inputs (the layer's own
  thresholds belong to all 784 inputs).
- a **network** runs its own layers on images of its dataset's shipped slice (resized to the
  network's inputs when they differ: block means of the 28x28 image, then the network's
  input threshold).

``window`` is the first cycle of the compute phase (after programming): energy counts from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.lib import wiring
from amaranth.sim import Simulator

from ..data import binarize, load_images, shipped, shipped_slice
from ..hwconfig import HwConfig
from ..ir import Layer, Network
from ..mapping import cell_contents, input_beats, pad_inputs, physical_layer, to_int

TRACE_IMAGES = 16


@dataclass
class Trace:
    """Per-cycle port values: ``inputs``/``outputs`` are lists of ``(name, width)``; ``stim`` and
    ``want`` are ``(cycles, len(ports))`` integer arrays (object dtype: ports may be wide)."""

    inputs: list
    outputs: list
    stim: np.ndarray
    want: np.ndarray
    window: int
    items: int              # passes (array) or images (network) in the compute window

    @property
    def cycles(self) -> int:
        return len(self.stim)

    @property
    def window_cycles(self) -> int:
        return self.cycles - self.window


def _ports(dut):
    ins, outs = [], []
    for path, member, value in dut.signature.flatten(dut):
        name = "__".join(str(p) for p in path)
        (ins if member.flow == wiring.In else outs).append((name, value))
    return ins, outs


def _record(dut, bench_factory, items: int) -> Trace:
    """Run ``bench_factory(ctx, mark)`` on ``dut`` while a process samples every port at every
    clock edge; ``mark()`` records the start of the compute window, which holds ``items``."""
    ins, outs = _ports(dut)
    rows, window = [], []
    signals = [v for _, v in ins + outs]

    async def recorder(ctx):
        async for _, _, *values in ctx.tick().sample(*signals):
            rows.append(values)

    def mark():
        window.append(len(rows))

    async def bench(ctx):
        await bench_factory(ctx, mark)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_process(recorder)
    sim.add_testbench(bench)
    sim.run()
    data = np.array([[int(v) for v in r] for r in rows], dtype=object)
    k = len(ins)
    return Trace(inputs=[(n, len(v)) for n, v in ins], outputs=[(n, len(v)) for n, v in outs],
                 stim=data[:, :k], want=data[:, k:], window=window[0] if window else 0, items=items)


async def _stream(ctx, dut, words):
    """Offer ``words`` back to back on ``dut.inp`` (outputs always taken), then run until idle."""
    for word in words:
        ctx.set(dut.inp.payload, word)
        ctx.set(dut.inp.valid, 1)
        await ctx.tick().until(dut.inp.ready)
    ctx.set(dut.inp.valid, 0)
    await ctx.tick()
    while ctx.get(dut.busy):
        await ctx.tick()
    await ctx.tick()


def array_workload(hw: HwConfig, count: int = TRACE_IMAGES):
    """(physical layer, physical input bits) of the array workload the module docstring names."""
    net = Network.load(shipped("mnist_bnn.npz"))
    split = load_images(shipped_slice("mnist"))
    x = binarize(split.images[:count].reshape(count, -1), net.input_threshold)
    n_in, n_out = min(hw.max_inputs, 784), min(hw.max_outputs, net.layers[0].n_outputs)
    start = 392 - n_in // 2
    bits = net.layers[0].weight_bits()[:n_out, start:start + n_in]
    layer = Layer.from_bits(bits, np.full(n_out, n_in // 2), output="sign", name="energy")
    return physical_layer(layer, hw), pad_inputs(x[:, start:start + n_in], hw)


def record_array(hw: HwConfig, count: int = TRACE_IMAGES) -> Trace:
    """The trace of one array (bit storage) programming and running ``count`` passes."""
    from ..rtl import Array

    phys, x_phys = array_workload(hw, count)
    hw = HwConfig(**{**hw.as_dict(), "storage": "bitmem"})
    dut = Array(**hw.as_dict())
    bits = cell_contents(phys.weight_bits(), hw)
    thresholds = np.asarray(phys.thresholds).reshape(hw.threshold_rows, hw.M)
    beats = input_beats(x_phys, hw)

    async def bench(ctx, mark):
        for i in range(hw.N):
            for j in range(hw.M):
                for t in range(hw.n):
                    ctx.set(dut.prog.en, 1)
                    ctx.set(dut.prog.cell, i * hw.M + j)
                    ctx.set(dut.prog.row, t)
                    ctx.set(dut.prog.data, to_int(bits[i, j, t]))
                    await ctx.tick()
        ctx.set(dut.prog.en, 0)
        for r in range(hw.threshold_rows):
            ctx.set(dut.thr.en, 1)
            ctx.set(dut.thr.row, r)
            ctx.set(dut.thr.data, to_int(thresholds[r], hw.threshold_width))
            await ctx.tick()
        ctx.set(dut.thr.en, 0)
        ctx.set(dut.out.ready, 1)
        await ctx.tick()
        mark()
        await _stream(ctx, dut, [to_int(beat) for beat in beats.reshape(-1, beats.shape[-1])])

    return _record(dut, bench, len(beats))


def network_workload(network: Network, count: int = TRACE_IMAGES, images=None) -> np.ndarray:
    """Input bits ``(count, n_inputs)`` of real images of the network's dataset (module docstring).
    ``images``: an image set or a dataset folder (its test split) instead of the shipped slice, as
    ``hwgen sim --images/--data-dir`` takes them (:func:`hwgen.data.network_images`: a user
    dataset's test split is also found in $HWGEN_DATA or ../shared/data); a user dataset's network
    runs on its own images, never resized."""
    if images is not None or not shipped_slice(network.dataset).is_file():
        from ..data import network_images

        split = network_images(network, "the network", images, count)[0]
        return binarize(split.images.reshape(len(split.images), -1), network.input_threshold)
    split = load_images(shipped_slice(network.dataset))
    images = split.images[:count].reshape(count, 28, 28).astype(np.float64)
    n = network.layers[0].n_inputs
    if n != 784:
        side = int(round(np.sqrt(n)))
        if side * side != n or side > 28:
            raise ValueError(f"cannot resize 28x28 images to {n} inputs")
        edges = np.linspace(0, 28, side + 1).round().astype(int)
        images = np.stack([[[img[edges[r]:edges[r + 1], edges[c]:edges[c + 1]].mean() for c in range(side)]
                            for r in range(side)] for img in images])
    return binarize(images.reshape(count, -1).round().astype(np.uint8), network.input_threshold)


def record_network(network: Network, plans, count: int = TRACE_IMAGES, images=None) -> Trace:
    """The trace of a network (bit storage) booting from its programming records and running
    ``count`` images back to back (``images``: see :func:`network_workload`)."""
    import dataclasses

    from ..program import program_writes
    from ..rtl.network import NetworkTop
    from ..verify.record import RecordKind

    plans = [dataclasses.replace(p, hw=dataclasses.replace(p.hw, storage="bitmem")) for p in plans]
    # Every cell elaborated: the shared-column form instantiates a Verilog module, which
    # Amaranth's simulator cannot run. The ports are the same.
    dut = NetworkTop(plans=plans, shared_cells=False)
    x = network_workload(network, count, images)

    async def bench(ctx, mark):
        for kind, fields in program_writes(network, plans):
            port = dut.prog if kind is RecordKind.WEIGHT else dut.thr
            ctx.set(port.en, 1)
            ctx.set(port.cell if kind is RecordKind.WEIGHT else port.layer, fields["target"])
            ctx.set(port.row, fields["row"])
            ctx.set(port.data, fields["data"])
            if kind is RecordKind.WEIGHT and "zero" in fields:
                ctx.set(port.zero, fields["zero"])
            await ctx.tick()
            ctx.set(port.en, 0)
        ctx.set(dut.out.ready, 1)
        await ctx.tick()
        mark()
        await _stream(ctx, dut, [to_int(v) for v in x])

    return _record(dut, bench, len(x))
