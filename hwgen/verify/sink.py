"""Batch sink: takes every word of a stream into a capture memory and stamps a cycle per item.

A verification block, the counterpart of :class:`BatchSource`. It is always ready. ``mark``
pulses once per finished item (an array's ``done``, a network's accepted result); the cycle of
each pulse goes to the stamp memory and ``marks`` counts them since ``start``.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..hwconfig import check_int, index_width
from .signatures import STAMP_WIDTH


class BatchSink(wiring.Component):
    """Parameters
    ----------
    width : int
        Bits per captured word.
    items : int
        Capacity, in items.
    beats : int
        Words per item.

    Attributes
    ----------
    inp : In(stream.Signature(width))   always ready
    mark : In(1)                        an item is finished this cycle
    start : In(1)                       reset the pointers for a new batch
    cycle : In(32)
    marks : Out                         items finished since ``start``
    rd_addr : In; rd_data : Out(width); rd_stamp : Out(32)   word / item ``rd_addr``
    """

    def __init__(self, *, width: int, items: int, beats: int = 1):
        self._width, self._items, self._beats = check_int("width", width), check_int("items", items), \
            check_int("beats", beats)
        words = items * beats
        super().__init__({
            "inp": In(stream.Signature(width)),
            "mark": In(1),
            "start": In(1),
            "cycle": In(STAMP_WIDTH),
            "marks": Out(index_width(items + 1)),
            "rd_addr": In(index_width(words)),
            "rd_data": Out(width),
            "rd_stamp": Out(STAMP_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        words = self._items * self._beats
        m.submodules.mem = mem = memory.Memory(shape=self._width, depth=words, init=[])
        m.submodules.stamps = stamps = memory.Memory(shape=STAMP_WIDTH, depth=self._items, init=[])
        cap_w, cap_r = mem.write_port(), mem.read_port(domain="comb")
        st_w, st_r = stamps.write_port(), stamps.read_port(domain="comb")
        m.d.comb += [cap_r.addr.eq(self.rd_addr), self.rd_data.eq(cap_r.data),
                     st_r.addr.eq(self.rd_addr), self.rd_stamp.eq(st_r.data)]

        ptr = Signal(range(words + 1), name="sink_ptr")
        m.d.comb += self.inp.ready.eq(1)
        with m.If(self.start):
            m.d.sync += [ptr.eq(0), self.marks.eq(0)]
        with m.Else():
            with m.If(self.inp.valid):
                m.d.comb += [cap_w.en.eq(1), cap_w.addr.eq(ptr), cap_w.data.eq(self.inp.payload)]
                m.d.sync += ptr.eq(ptr + 1)
            with m.If(self.mark):
                m.d.comb += [st_w.en.eq(1), st_w.addr.eq(self.marks), st_w.data.eq(self.cycle)]
                m.d.sync += self.marks.eq(self.marks + 1)
        return m
