"""Batch source: a preloaded memory played out as a stream, with a cycle stamp per item.

A verification block: the testbench fills the memory through ``load`` before a run, so no
Python runs per simulated cycle. An *item* (an array pass, an image) is ``beats`` consecutive
words; ``stamp`` memory entry k holds the cycle at which item k's first word was taken.
"""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..hwconfig import check_int, index_width
from .signatures import STAMP_WIDTH, LoadSignature


class BatchSource(wiring.Component):
    """Parameters
    ----------
    width : int
        Bits per word (one stream beat).
    items : int
        Capacity, in items.
    beats : int
        Words per item.

    Attributes
    ----------
    load : In(LoadSignature)       word ``addr`` (item k, beat b at ``k*beats + b``)
    start : In(1)                  begin sending ``count`` items (latched)
    count : In                     items to send
    cycle : In(32)                 the harness's cycle counter, for stamps
    out : Out(stream.Signature(width))
    stamp_addr : In; stamp : Out(32)   item ``stamp_addr``'s stamp (combinational read)
    """

    def __init__(self, *, width: int, items: int, beats: int = 1):
        self._width, self._items, self._beats = check_int("width", width), check_int("items", items), \
            check_int("beats", beats)
        super().__init__({
            "load": In(LoadSignature(depth=items * beats, width=width)),
            "start": In(1),
            "count": In(index_width(items + 1)),
            "cycle": In(STAMP_WIDTH),
            "out": Out(stream.Signature(width)),
            "stamp_addr": In(index_width(items)),
            "stamp": Out(STAMP_WIDTH),
        })

    items = property(lambda self: self._items)
    beats = property(lambda self: self._beats)

    def elaborate(self, platform):
        m = Module()
        words = self._items * self._beats
        m.submodules.mem = mem = memory.Memory(shape=self._width, depth=words, init=[])
        m.submodules.stamps = stamps = memory.Memory(shape=STAMP_WIDTH, depth=self._items, init=[])
        ld, feed = mem.write_port(), mem.read_port(domain="comb")
        st_w, st_r = stamps.write_port(), stamps.read_port(domain="comb")
        m.d.comb += [ld.en.eq(self.load.en), ld.addr.eq(self.load.addr), ld.data.eq(self.load.data),
                     st_r.addr.eq(self.stamp_addr), self.stamp.eq(st_r.data)]

        ptr = Signal(range(words + 1), name="src_ptr")
        end = Signal(range(words + 1), name="src_end")
        item = Signal(range(self._items + 1), name="src_item")
        take = Signal(name="src_take")
        first = Signal(name="src_first")            # the word taken starts an item
        m.d.comb += [feed.addr.eq(ptr), self.out.payload.eq(feed.data), self.out.valid.eq(ptr < end),
                     take.eq(self.out.valid & self.out.ready)]
        if self._beats > 1:
            beat = Signal(range(self._beats), name="src_beat")
            m.d.comb += first.eq(beat == 0)
            with m.If(self.start):
                m.d.sync += beat.eq(0)
            with m.Elif(take):
                m.d.sync += beat.eq(Mux(beat == self._beats - 1, 0, beat + 1))
        else:
            m.d.comb += first.eq(1)
        with m.If(self.start):
            m.d.sync += [ptr.eq(0), end.eq(self.count * self._beats), item.eq(0)]
        with m.Elif(take):
            m.d.sync += ptr.eq(ptr + 1)
            with m.If(first):
                m.d.comb += [st_w.en.eq(1), st_w.addr.eq(item), st_w.data.eq(self.cycle)]
                m.d.sync += item.eq(item + 1)
        return m
