"""The basic cell: an n x n 2T2R block, its XNOR sense amplifiers and the popcount counter.

par2seq cells count one row at a time (counter width bits(n)); seq2par cells accumulate the
partial popcounts of successive rows (width bits(n*n)), the loop-back of the paper's
sequential-to-parallel configuration.

Ternary cells (``weights="ternary"``) count ``q_b = 1 + x_b*w_b`` in {0, 1, 2} per column (the
block's ``q_row``, :mod:`.rram`), so a row counts ``n + score`` and the counters are
bits(2n) / bits(2n*n) wide; ``q_row`` replaces ``xnor_row`` as the exposed sensed row.

Timing: a read issued in cycle c gives ``count`` (with ``count_valid``) in cycle c+1 (par2seq)
or c+2 (seq2par, whose counter accumulates). ``hold`` freezes the cell (the block holds its
sensed row while it is not read, and every register holds), which is how the array stalls on
output back-pressure.

A par2seq cell's count is the popcount of the row the block's sense amplifiers hold, with no
register of its own: the popcount tree registers the column's sum in the next cycle
(:mod:`.tree`). A counter register there would be loaded in almost every cycle of a pass and
cost its clock for each of the network's cells (MNIST: 11k flip-flops, 17 nJ of its 92 nJ of
CMOS energy per image and 0.22 mm^2 on sky130hd, with their clock already gated), for one cycle
of latency less. The seq2par counter is loaded only when a read's result arrives, so a
synthesis flow with clock gating stops its clock whenever the cell does not compute.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import bits_for, carries_codes, index_width
from .adders import balanced_sum
from .rram import Rram2T2RBlock, sensed_output
from .signatures import WriteRowSignature


def cell_count_max(n: int, accumulate: bool, weights: str = "binary") -> int:
    """Largest value of a cell's ``count``: n (or n*n accumulated) binary, twice that ternary."""
    return (n * n if accumulate else n) * (2 if weights == "ternary" else 1)


CONTROLS = ("own", "shared")


def cell_signature(n: int, accumulate: bool, storage: str, level_bits: int, weights: str = "binary",
                   control: str = "own") -> wiring.Signature:
    """The basic cell's ports."""
    sensed, sensed_width = sensed_output(n, weights)
    # shared control: the column registers the read's valid and first flags once for its N cells
    shared = {"sense_valid": In(1), "sense_first": In(1)} if control == "shared" else {"count_valid": Out(1)}
    return wiring.Signature({
        "prog": In(WriteRowSignature(n=n, level_bits=level_bits if carries_codes(storage) else None,
                                     ternary=weights == "ternary")),
        "rd_en": In(1),
        "rd_row": In(index_width(n)),
        "x": In(n),
        "first": In(1),
        "hold": In(1),
        sensed: Out(sensed_width),
        "count": Out(bits_for(cell_count_max(n, accumulate, weights))),
        **shared,
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
    control : str
        ``own``: the cell registers its read's valid and first flags and gives ``count_valid``;
        ``shared``: a column of cells registers them once (:class:`hwgen.rtl.column.CellColumn`)
        and every cell takes them as ``sense_valid``/``sense_first`` (a cell of a column does
        not clock three flip-flops of its own that every other cell holds the same values in).

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
        cycle c+2; ``count`` holds (is not clocked) until the next read's result.
    sense_valid, sense_first : In (``control="shared"``)
        In cycle c+1: a read was issued in cycle c, and it restarts accumulation.

    Raises
    ------
    ConfigError
        For a bad n, storage, level_bits or weights.
    """

    def __init__(self, *, n: int, accumulate: bool = False, storage: str = "behavioural",
                 level_bits: int = 4, weights: str = "binary", init=None, control: str = "own"):
        if control not in CONTROLS:
            raise ConfigError(f"control must be one of {', '.join(CONTROLS)}, not {control!r}")
        self.block = Rram2T2RBlock(n=n, storage=storage, level_bits=level_bits, weights=weights, init=init)
        self._n, self._accumulate, self._weights, self._control = n, bool(accumulate), weights, control
        super().__init__(cell_signature(n, accumulate, storage, level_bits, weights, control))

    n = property(lambda self: self._n)
    accumulate = property(lambda self: self._accumulate)
    weights = property(lambda self: self._weights)
    count_width = property(lambda self: len(self.count))

    @staticmethod
    def latency_for(accumulate: bool) -> int:
        """Cycles from a read to its ``count``: the sense, and the accumulating counter."""
        return 2 if accumulate else 1

    @property
    def latency(self) -> int:
        return self.latency_for(self._accumulate)

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
        if self._control == "own":
            sense_valid, sense_first = read_flags(m, self.rd_en, self.first, live)
        else:
            sense_valid, sense_first = self.sense_valid, self.sense_first

        if ternary:
            # q_b = {match_b, zero_b} never exceeds 2 (a match needs a resolved pair)
            row_count, _ = balanced_sum(m, [block.q_row.word_select(b, 2) for b in range(n)], name="row_pc",
                                        max_values=[2] * n)
        else:
            row_count, _ = balanced_sum(m, [block.xnor_row[b] for b in range(n)], name="row_pc",
                                        max_values=[1] * n)
        if not self._accumulate:            # the count of the row the block holds
            m.d.comb += self.count.eq(row_count)
            if self._control == "own":
                m.d.comb += self.count_valid.eq(sense_valid)
            return m
        if self._control == "own":
            with m.If(live):
                m.d.sync += self.count_valid.eq(sense_valid)
        # A data register: no reset (count_valid says when it holds a result), so a flow with
        # clock gating can stop its clock between results (an enable under a synchronous reset
        # cannot be gated: the reset would need the clock).
        count = Signal(len(self.count), name="count_q", reset_less=True)
        m.d.comb += self.count.eq(count)
        with m.If(live & sense_valid):
            with m.If(sense_first):
                m.d.sync += count.eq(row_count)
            with m.Else():
                m.d.sync += count.eq(count + row_count)
        return m


def read_flags(m, rd_en, first, live):
    """The sense stage's flags, registered while the pipeline moves: a read was issued in the
    previous cycle (``sense_valid``) and it restarts accumulation (``sense_first``)."""
    sense_valid = Signal(name="sense_valid")
    sense_first = Signal(name="sense_first")
    with m.If(live):
        m.d.sync += [sense_valid.eq(rd_en), sense_first.eq(first)]
    return sense_valid, sense_first
