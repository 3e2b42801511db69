"""The basic cell: an n x n 2T2R block, its XNOR sense amplifiers and the popcount counter.

par2seq cells count one row at a time (counter width bits(n)); seq2par cells accumulate the
partial popcounts of successive rows (width bits(n*n)), the loop-back of the paper's
sequential-to-parallel configuration.

Ternary cells (``weights="ternary"``) count ``q_b = 1 + x_b*w_b`` in {0, 1, 2} per column (the
block's ``q_row``, :mod:`.rram`), so a row counts ``n + score`` and the counters are
bits(2n) / bits(2n*n) wide; ``q_row`` replaces ``xnor_row`` as the exposed sensed row.

Timing: a read issued in cycle c gives ``count`` (with ``count_valid``) in cycle c+2. ``hold``
freezes every register of the cell, which is how the array stalls on output back-pressure.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..hwconfig import bits_for, index_width
from .adders import balanced_sum
from .rram import Rram2T2RBlock, sensed_output
from .signatures import WriteRowSignature


def cell_count_max(n: int, accumulate: bool, weights: str = "binary") -> int:
    """Largest value of a cell's ``count``: n (or n*n accumulated) binary, twice that ternary."""
    return (n * n if accumulate else n) * (2 if weights == "ternary" else 1)


def cell_signature(n: int, accumulate: bool, storage: str, level_bits: int, weights: str = "binary") -> wiring.Signature:
    """The basic cell's ports."""
    sensed, sensed_width = sensed_output(n, weights)
    return wiring.Signature({
        "prog": In(WriteRowSignature(n=n, level_bits=level_bits if storage == "behavioural" else None,
                                     ternary=weights == "ternary")),
        "rd_en": In(1),
        "rd_row": In(index_width(n)),
        "x": In(n),
        "first": In(1),
        "hold": In(1),
        sensed: Out(sensed_width),
        "count": Out(bits_for(cell_count_max(n, accumulate, weights))),
        "count_valid": Out(1),
    })


class BasicCell(wiring.Component):
    """Parameters
    ----------
    n : int
        Block size (n x n).
    accumulate : bool
        True for seq2par: ``count`` sums the rows read since the last ``first`` read.
    storage, level_bits, weights, init :
        Passed to :class:`Rram2T2RBlock`.

    Attributes
    ----------
    prog : In(WriteRowSignature)
    rd_en, rd_row, x, first, hold : In
        Read request (``first`` restarts accumulation) and pipeline stall.
    xnor_row : Out(n)
        The sensed XNOR row (cycle c+1), exposed for verification (binary).
    q_row : Out(2n)
        Ternary: the sensed ``q`` row (cycle c+1), column b at bits ``[2b +: 2]``.
    count, count_valid : Out
        Popcount (ternary: sum of q) of the row read in cycle c (or the running sum), valid in
        cycle c+2.

    Raises
    ------
    ConfigError
        For a bad n, storage, level_bits or weights.
    """

    def __init__(self, *, n: int, accumulate: bool = False, storage: str = "behavioural",
                 level_bits: int = 4, weights: str = "binary", init=None):
        self.block = Rram2T2RBlock(n=n, storage=storage, level_bits=level_bits, weights=weights, init=init)
        self._n, self._accumulate, self._weights = n, bool(accumulate), weights
        super().__init__(cell_signature(n, accumulate, storage, level_bits, weights))

    n = property(lambda self: self._n)
    accumulate = property(lambda self: self._accumulate)
    weights = property(lambda self: self._weights)
    count_width = property(lambda self: len(self.count))
    latency = 2

    def elaborate(self, platform):
        m = Module()
        n = self._n
        m.submodules.block = block = self.block
        wiring.connect(m, wiring.flipped(self.prog), block.prog)
        ternary = self._weights == "ternary"
        live = ~self.hold
        m.d.comb += [
            block.rd_en.eq(self.rd_en & live),  # sense only when asked; a held port keeps its data
            block.rd_row.eq(self.rd_row),
            block.x.eq(self.x),
            self.q_row.eq(block.q_row) if ternary else self.xnor_row.eq(block.xnor_row),
        ]
        sense_valid = Signal(name="sense_valid")
        sense_first = Signal(name="sense_first")
        with m.If(live):
            m.d.sync += [sense_valid.eq(self.rd_en), sense_first.eq(self.first)]

        if ternary:
            # q_b = {match_b, zero_b} never exceeds 2 (a match needs a resolved pair)
            row_count, _ = balanced_sum(m, [block.q_row.word_select(b, 2) for b in range(n)], name="row_pc",
                                        max_values=[2] * n)
        else:
            row_count, _ = balanced_sum(m, [block.xnor_row[b] for b in range(n)], name="row_pc",
                                        max_values=[1] * n)
        with m.If(live):
            m.d.sync += self.count_valid.eq(sense_valid)
            with m.If(sense_valid):
                if self._accumulate:
                    with m.If(sense_first):
                        m.d.sync += self.count.eq(row_count)
                    with m.Else():
                        m.d.sync += self.count.eq(self.count + row_count)
                else:
                    m.d.sync += self.count.eq(row_count)
        return m
