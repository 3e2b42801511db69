"""Batch simulation harnesses: a design under test between a :class:`BatchSource` and a
:class:`BatchSink`, so a testbench preloads a batch, pulses ``start``, waits for ``finished``
and reads everything back, with no Python in the per-cycle path.

- :class:`ArrayHarness` = source + :class:`hwgen.rtl.Array` + sink; the array's ``prog``/``thr``
  ports are passed through (the testbench programs it).
- :class:`NetworkHarness` = :class:`BootLoader` + source + :class:`hwgen.rtl.network.NetworkTop`
  + sink; the network programs itself from its programming image after reset, a row of a whole
  cell column per cycle (the top is built with ``column_writes``).
- :class:`HarnessShell` is the top module of a harness view: the harness's ports around the harness,
  whose reset is registered (see the class for why it makes Verilator's model several times faster).

Every harness has the same run ports (see :class:`BatchHarness`), which the one cocotb driver
(:mod:`hwgen.verify.driver`) uses. Verification fixtures, not part of the accelerator.
"""

from __future__ import annotations

from amaranth.hdl import Cat, ClockDomain, ClockSignal, Const, DomainRenamer, Module, ResetSignal, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import check_int, index_width
from ..rtl.array import Array
from .boot import BootLoader
from .record import image_depth, record_layout
from .signatures import STAMP_WIDTH, LoadSignature, ReadbackSignature
from .sink import BatchSink
from .source import BatchSource


class BatchHarness(wiring.Component):
    """The run ports and control shared by every harness.

    Attributes
    ----------
    ld : In(LoadSignature)        input word ``addr`` of the batch (item k, beat b at k*beats + b)
    count : In                    items to run; a ``start`` pulse runs them
    start : In(1)
    finished : Out(1)             the last started batch is done (and the design is booted)
    done_items : Out              items finished in the current batch (for progress)
    cycles : Out(32)              cycles of the current (or last) batch
    rd : In(ReadbackSignature)    captured output word ``addr``; stamps of item ``addr``
    """

    def __init__(self, *, capacity: int, in_width: int, in_beats: int, out_width: int, out_beats: int,
                 members: dict):
        self._capacity = check_int("capacity", capacity)
        self.source = BatchSource(width=in_width, items=capacity, beats=in_beats)
        self.sink = BatchSink(width=out_width, items=capacity, beats=out_beats)
        depth = max(capacity * in_beats, capacity * out_beats)
        super().__init__({
            **members,
            "ld": In(LoadSignature(depth=capacity * in_beats, width=in_width)),
            "count": In(index_width(capacity + 1)),
            "start": In(1),
            "finished": Out(1),
            "done_items": Out(index_width(capacity + 1)),
            "cycles": Out(STAMP_WIDTH),
            "rd": In(ReadbackSignature(depth=depth, width=out_width)),
        })

    capacity = property(lambda self: self._capacity)

    def _ready(self):
        """High when the design can run (a network must have booted)."""
        return Const(1)

    def _wire(self, m: Module) -> None:
        """Connect source.out -> design -> sink.inp / sink.mark (subclasses)."""
        raise NotImplementedError

    def elaborate(self, platform):
        m = Module()
        source, sink = self.source, self.sink
        m.submodules.source, m.submodules.sink = source, sink
        wiring.connect(m, wiring.flipped(self.ld), source.load)
        self._wire(m)

        running = Signal(name="running")
        count = Signal.like(self.count, name="count_q")
        go = Signal(name="go")
        m.d.comb += [
            go.eq(self.start & self._ready()),
            source.start.eq(go), sink.start.eq(go), source.count.eq(self.count),
            source.cycle.eq(self.cycles), sink.cycle.eq(self.cycles),
            self.done_items.eq(sink.marks),
            self.finished.eq(self._ready() & ~running & ~self.start),
            sink.rd_addr.eq(self.rd.addr), source.stamp_addr.eq(self.rd.addr),
            self.rd.data.eq(sink.rd_data), self.rd.in_cycle.eq(source.stamp), self.rd.out_cycle.eq(sink.rd_stamp),
        ]
        with m.If(go):
            m.d.sync += [running.eq(self.count != 0), count.eq(self.count), self.cycles.eq(0)]
        with m.Elif(running):
            m.d.sync += self.cycles.eq(self.cycles + 1)
            with m.If(sink.mark & (sink.marks + 1 == count)):
                m.d.sync += running.eq(0)
        return m


class ArrayHarness(BatchHarness):
    """An :class:`Array` in a batch harness. Items are layer passes: ``in_beats`` = the array's
    input beats per pass, one captured word ``Cat(act, popcount)`` per output beat; the in-stamp
    is the cycle a pass's first beat was taken, the out-stamp the cycle of its ``done``.

    Parameters
    ----------
    max_passes : int
        Capacity of the harness, in passes per batch.
    **array_params :
        Passed to :class:`Array`.

    Attributes
    ----------
    prog, thr : as the array's; plus the :class:`BatchHarness` run ports.
    """

    def __init__(self, *, max_passes: int, **array_params):
        max_passes = check_int("max_passes", max_passes)
        self.array = Array(**array_params)
        hw = self.array.hw
        ports = self.array.signature.members
        super().__init__(capacity=max_passes, in_width=hw.input_width, in_beats=hw.input_beats,
                         out_width=hw.output_lanes * (1 + hw.popcount_width), out_beats=hw.output_beats,
                         members={"prog": In(ports["prog"].signature.flip()),
                                  "thr": In(ports["thr"].signature.flip())})

    max_passes = property(lambda self: self.capacity)

    def _wire(self, m):
        array, sink = self.array, self.sink
        m.submodules.array = array
        wiring.connect(m, wiring.flipped(self.prog), array.prog)
        wiring.connect(m, wiring.flipped(self.thr), array.thr)
        wiring.connect(m, self.source.out, array.inp)
        m.d.comb += [sink.inp.valid.eq(array.out.valid), sink.inp.payload.eq(Cat(array.out.act, array.out.popcount)),
                     array.out.ready.eq(sink.inp.ready), sink.mark.eq(array.done)]


class NetworkHarness(BatchHarness):
    """A :class:`NetworkTop` that boots from its programming image, in a batch harness. Items
    are images: one input word (bit i = input i), one captured word ``Cat(cls, popcount)``; the
    stamps are the cycles the image was taken and its result came out.

    Parameters
    ----------
    top : NetworkTop
        Built with ``column_writes=True`` (the image's weight records are column writes).
    max_images : int
        Capacity, in images per batch.

    Attributes
    ----------
    booted : Out(1); boot_records : Out(32); plus the :class:`BatchHarness` run ports.
    """

    def __init__(self, *, top, max_images: int):
        max_images = check_int("max_images", max_images)
        if not top.column_writes:
            raise ConfigError("the network harness boots through column writes: build its NetworkTop with "
                              "column_writes=True")
        self.top = top
        self.layout = record_layout(top.plans)
        self.depth = image_depth(top.plans)
        members = top.signature.members
        self.boot = BootLoader(layout=self.layout, depth=self.depth, prog=members["prog"].signature.flip(),
                               thr=members["thr"].signature.flip())
        out = members["out"].signature.members
        super().__init__(capacity=max_images, in_width=top.plans[0].in_size, in_beats=1,
                         out_width=Shape.cast(out["cls"].shape).width + Shape.cast(out["popcount"].shape).width, out_beats=1,
                         members={"booted": Out(1), "boot_records": Out(STAMP_WIDTH)})

    max_images = property(lambda self: self.capacity)

    def _ready(self):
        return self.boot.booted

    def _wire(self, m):
        top, boot, sink = self.top, self.boot, self.sink
        m.submodules.net, m.submodules.boot = top, boot
        wiring.connect(m, boot.prog, top.prog)
        wiring.connect(m, boot.thr, top.thr)
        m.d.comb += [self.booted.eq(boot.booted), self.boot_records.eq(boot.records)]
        wiring.connect(m, self.source.out, top.inp)
        m.d.comb += [sink.inp.valid.eq(top.out.valid), sink.inp.payload.eq(Cat(top.out.cls, top.out.popcount)),
                     top.out.ready.eq(sink.inp.ready), sink.mark.eq(top.out.valid & top.out.ready)]


class HarnessShell(wiring.Component):
    """The top module of a harness view: the ports of ``harness``, and ``harness`` itself in a
    clock domain whose reset is the top-level reset registered once.

    Both keep the simulator's per-cycle work down. Verilator evaluates every piece of logic that
    is combinational in a top-level input (its ``ico`` region) on each call of the model, i.e. on
    both clock edges, besides the clock edge's own evaluation.

    - Every register's next-state logic reads the reset, so a top-level reset input puts the whole
      design's logic in that region; a registered reset (``rst_q``) keeps it out.
    - A signal the testbench may write counts as an input too; the generator marks the shell's ports
      as the only public signals (:func:`hwgen.generate.public_ports`).

    On the MNIST network (1856 cells) the two made Verilator's model 2.4x faster. The reset reaches
    the harness one cycle later; the testbench holds it for two.

    Parameters
    ----------
    harness : BatchHarness

    Attributes
    ----------
    The ports of ``harness``.
    """

    def __init__(self, harness: BatchHarness):
        if not isinstance(harness, BatchHarness):
            raise ConfigError(f"a harness shell wraps a batch harness, not {type(harness).__name__}")
        self.harness = harness
        super().__init__(harness.signature)

    def elaborate(self, platform):
        m = Module()
        m.domains.core = core = ClockDomain("core", local=True)
        rst_q = Signal(init=1, name="rst_q")
        m.d.sync += rst_q.eq(ResetSignal("sync"))
        m.d.comb += [core.clk.eq(ClockSignal("sync")), core.rst.eq(rst_q)]
        m.submodules.harness = DomainRenamer("core")(self.harness)
        for (_, member, outer), (_, _, inner) in zip(self.signature.flatten(self),
                                                     self.harness.signature.flatten(self.harness)):
            m.d.comb += inner.eq(outer) if member.flow == In else outer.eq(inner)
        return m
