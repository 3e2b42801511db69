"""Simulation harness around an :class:`Array`: keeps the testbench out of the per-cycle path.

The testbench preloads a whole batch of input beats into an input memory, pulses ``start``
and waits for ``finished``. The harness streams the beats (valid held high), takes every output
beat (ready held high) into a capture memory, and records the cycles of every pass, which the
testbench then reads back and compares with the golden model. Cocotb touches signals only
while loading and reading back, not while the array computes.

This is a verification fixture, not part of the accelerator.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from .array import Array


class ArrayHarness(wiring.Component):
    """Parameters
    ----------
    max_passes : int
        Capacity of the input / capture memories, in layer passes.
    **array_params :
        Passed to :class:`Array`.

    Attributes
    ----------
    prog, thr : as the array's (passed through).
    ld_en, ld_addr, ld_data : In
        Write input beat ``ld_addr`` (pass p, beat b at ``p * input_beats + b``).
    passes : In
        Number of passes to run; ``start`` pulses begin them.
    finished : Out(1)
        High once every started pass is done.
    rd_addr : In; rd_act, rd_popcount, rd_cycles : Out
        Read capture entry ``rd_addr`` (output beat, combinationally) and the cycles of pass
        ``rd_addr``.
    """

    def __init__(self, *, max_passes: int, **array_params):
        if isinstance(max_passes, bool) or not isinstance(max_passes, int) or max_passes < 1:
            raise ConfigError(f"max_passes must be a positive integer, not {max_passes!r}")
        self.array = Array(**array_params)
        hw = self.array.hw
        self._max_passes = max_passes
        in_depth = max_passes * hw.input_beats
        out_depth = max_passes * hw.output_beats
        self._in_depth, self._out_depth = in_depth, out_depth
        array_ports = self.array.signature.members
        super().__init__({
            "prog": In(array_ports["prog"].signature.flip()),
            "thr": In(array_ports["thr"].signature.flip()),
            "ld_en": In(1),
            "ld_addr": In(range(in_depth)),
            "ld_data": In(hw.input_width),
            "passes": In(range(max_passes + 1)),
            "start": In(1),
            "finished": Out(1),
            "rd_addr": In(range(max(in_depth, out_depth))),
            "rd_act": Out(hw.output_lanes),
            "rd_popcount": Out(hw.output_lanes * hw.popcount_width),
            "rd_cycles": Out(32),
        })

    max_passes = property(lambda self: self._max_passes)

    def elaborate(self, platform):
        m = Module()
        hw = self.array.hw
        m.submodules.array = array = self.array
        for name in self.prog.signature.members:
            m.d.comb += getattr(array.prog, name).eq(getattr(self.prog, name))
        for name in self.thr.signature.members:
            m.d.comb += getattr(array.thr, name).eq(getattr(self.thr, name))

        m.submodules.in_mem = in_mem = memory.Memory(shape=hw.input_width, depth=self._in_depth, init=[])
        cap_width = hw.output_lanes * (1 + hw.popcount_width)
        m.submodules.cap_mem = cap_mem = memory.Memory(shape=cap_width, depth=self._out_depth, init=[])
        m.submodules.cyc_mem = cyc_mem = memory.Memory(shape=32, depth=self._max_passes, init=[])
        ld, feed = in_mem.write_port(), in_mem.read_port(domain="comb")
        cap_w, cap_r = cap_mem.write_port(), cap_mem.read_port(domain="comb")
        cyc_w, cyc_r = cyc_mem.write_port(), cyc_mem.read_port(domain="comb")

        m.d.comb += [ld.en.eq(self.ld_en), ld.addr.eq(self.ld_addr), ld.data.eq(self.ld_data)]
        m.d.comb += [cap_r.addr.eq(self.rd_addr), cyc_r.addr.eq(self.rd_addr),
                     self.rd_act.eq(cap_r.data[:hw.output_lanes]),
                     self.rd_popcount.eq(cap_r.data[hw.output_lanes:]),
                     self.rd_cycles.eq(cyc_r.data)]

        running = Signal(name="running")
        cycle = Signal(32, name="cycle")
        beat_ptr = Signal(range(self._in_depth + 1), name="beat_ptr")
        beat_end = Signal(range(self._in_depth + 1), name="beat_end")
        beat_in_pass = Signal(range(hw.input_beats), name="beat_in_pass")
        out_ptr = Signal(range(self._out_depth + 1), name="out_ptr")
        done_count = Signal(range(self._max_passes + 1), name="done_count")
        passes = Signal(range(self._max_passes + 1), name="passes_q")
        accepted_at = Signal(32, name="accepted_at")

        m.d.comb += [
            feed.addr.eq(beat_ptr),
            array.inp.payload.eq(feed.data),
            array.inp.valid.eq(running & (beat_ptr < beat_end)),
            array.out.ready.eq(1),
            self.finished.eq(~running & ~self.start),
        ]
        with m.If(self.start):
            m.d.sync += [running.eq(self.passes != 0), passes.eq(self.passes), cycle.eq(0), beat_ptr.eq(0), beat_in_pass.eq(0), out_ptr.eq(0),
                         done_count.eq(0), beat_end.eq(self.passes * hw.input_beats)]
        with m.Elif(running):
            m.d.sync += cycle.eq(cycle + 1)
            with m.If(array.inp.valid & array.inp.ready):
                m.d.sync += beat_ptr.eq(beat_ptr + 1)
                if hw.input_beats > 1:
                    m.d.sync += beat_in_pass.eq(Mux(beat_in_pass == hw.input_beats - 1, 0, beat_in_pass + 1))
                with m.If(beat_in_pass == 0):
                    m.d.sync += accepted_at.eq(cycle)
            with m.If(array.out.valid):
                m.d.comb += [cap_w.en.eq(1), cap_w.addr.eq(out_ptr),
                             cap_w.data.eq(Cat(array.out.act, array.out.popcount))]
                m.d.sync += out_ptr.eq(out_ptr + 1)
            with m.If(array.done):
                m.d.comb += [cyc_w.en.eq(1), cyc_w.addr.eq(done_count), cyc_w.data.eq(cycle - accepted_at)]
                m.d.sync += done_count.eq(done_count + 1)
                with m.If(done_count + 1 == passes):
                    m.d.sync += running.eq(0)
        return m

