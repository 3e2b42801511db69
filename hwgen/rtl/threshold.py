"""Threshold memory: one row of ``lanes`` integer thresholds per address.

Row r holds the thresholds of neurons r*M .. r*M + M-1. par2seq reads one row per cycle (a
synchronous memory, read in cycle c, data in c+1, held while ``rd_en`` is low); seq2par needs
all N*M thresholds at the same time, so its bank is registers (``parallel=True``) and
``all_rows`` presents every row.
"""

from amaranth.hdl import Module, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ..hwconfig import check_int, index_width
from .signatures import ThresholdLoadSignature


class ThresholdBank(wiring.Component):
    """Parameters
    ----------
    rows, lanes, width : int
    parallel : bool
        Registers with every row visible (seq2par) instead of a row-addressed memory.

    Attributes
    ----------
    load : In(ThresholdLoadSignature)
    rd_en, rd_row : In; rd_data : Out(lanes thresholds), one cycle after the read (memory form)
    all_rows : Out(rows x lanes thresholds, row-major, flat) (parallel form)

    Raises
    ------
    ConfigError
        For non-positive sizes.
    """

    def __init__(self, *, rows: int, lanes: int, width: int, parallel: bool = False):
        rows, lanes, width = (check_int(name, value) for name, value in
                              (("rows", rows), ("lanes", lanes), ("width", width)))
        self._rows, self._lanes, self._width, self._parallel = rows, lanes, width, bool(parallel)
        members = {"load": In(ThresholdLoadSignature(rows=rows, lanes=lanes, width=width))}
        if parallel:
            members["all_rows"] = Out(rows * lanes * width)
        else:
            members.update({"rd_en": In(1), "rd_row": In(index_width(rows)), "rd_data": Out(lanes * width)})
        super().__init__(members)

    rows = property(lambda self: self._rows)
    lanes = property(lambda self: self._lanes)
    width = property(lambda self: self._width)

    def lane(self, vector, k):
        """Threshold k of a flat vector of thresholds (``rd_data`` or ``all_rows``)."""
        return vector.word_select(k, self._width)

    def elaborate(self, platform):
        m = Module()
        if self._parallel:
            for r in range(self._rows):
                row_bits = self.all_rows.word_select(r, self._lanes * self._width)
                with m.If(self.load.en & (self.load.row == r)):
                    m.d.sync += row_bits.eq(self.load.data)
            return m
        m.submodules.mem = mem = memory.Memory(shape=unsigned(self._lanes * self._width), depth=self._rows, init=[])
        wr, rd = mem.write_port(), mem.read_port()
        m.d.comb += [
            wr.en.eq(self.load.en), wr.addr.eq(self.load.row), wr.data.eq(self.load.data),
            rd.en.eq(self.rd_en), rd.addr.eq(self.rd_row), self.rd_data.eq(rd.data),
        ]
        return m
