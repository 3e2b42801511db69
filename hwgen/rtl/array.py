"""Array top: an N x M matrix of basic cells in one of the paper's two configurations.

Ports (Verilog names in brackets; see README "Interfaces"):

- ``prog`` [prog__en, prog__cell, prog__row, prog__data, prog__lrs, prog__hrs]: writes one
  memory row of cell ``cell = i*M + j`` per cycle. ``lrs``/``hrs`` exist in the behavioural
  view only. Ignored while ``busy``. With ``column_writes`` [prog__en, prog__column, prog__row,
  prog__data, prog__lrs, prog__hrs]: writes memory row ``row`` of all N cells of column
  ``column = j`` (cells i*M + j) per cycle; cell i's part of ``data`` (``zero``) is at bits
  ``[i*n +: n]``, of ``lrs``/``hrs`` at ``[i*n*level_bits +: n*level_bits]``. Only the addressed
  column sees the write's fields (the others see 0), so a simulator re-evaluates one column's
  write drivers per write.
- ``thr`` [thr__en, thr__row, thr__data]: writes the thresholds of neurons row*M .. row*M+M-1.
  Ignored while ``busy``.
- ``inp`` [inp__valid, inp__ready, inp__payload]: input beats. par2seq takes the whole
  n*N-bit vector in one beat; seq2par takes n beats of n bits (beat t = inputs t*n..t*n+n-1).
- ``out`` [out__valid, out__ready, out__act, out__popcount, out__index, out__last]: par2seq
  gives n beats of M neurons (beat t = neurons t*M..t*M+M-1); seq2par one beat of N*M neurons.
  ``act`` bit k is ``popcount[k] >= threshold``. Holding ``ready`` low stalls the pipeline.
- ``busy`` is high from the first accepted input beat until the pass is over; ``done`` pulses
  for one cycle when it is (the cycle after the last output beat is taken).

Ternary arrays (``weights="ternary"``): ``prog`` has a ``zero`` field (n bits, 1 = weight 0,
written with data bit 0); every column adds ``q = 1 + x*w`` (0, 1 or 2) to the counts, so
``out.popcount`` carries ``Q = score + max_inputs`` (bits(2*max_inputs) wide), the thresholds
are loaded as ``T + max_inputs`` (bits(2*max_inputs + 1) wide) and ``act = Q >= T + max_inputs``,
i.e. ``score >= T``. The offset is :attr:`hwgen.hwconfig.HwConfig.score_offset`.

Timing: the read of a row (par2seq) or of an input beat (seq2par) is issued in the cycle its
beat is accepted or the next free cycle after; an issue in cycle c reaches ``out`` in cycle
c + ``latency``. With ``out.ready`` high and seq2par beats back to back,
``done`` rises ``cycles_per_pass = n + latency`` cycles after the first beat is accepted.
"""

from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import HwConfig, carries_codes
from .cell import BasicCell
from .column import CellColumn, SharedColumn
from .signatures import OutputSignature, ThresholdLoadSignature, WriteRowSignature
from .threshold import ThresholdBank
from .tree import PopcountTree


class Array(wiring.Component):
    """Parameters
    ----------
    n, N, M, config, storage, level_bits, weights :
        See :class:`hwgen.hwconfig.HwConfig` (validated there).
    init : array-like (N, M, n, n), optional
        Initial weight bits (ternary: values -1/0/+1) per cell (memory-init), as
        :func:`hwgen.mapping.cell_contents` gives.
    shared_cells : bool
        Build the array from M instances of one shared column module (:class:`SharedColumn`,
        N cells each) instead of elaborating every cell; the generator must then also emit that
        module (:meth:`cell_modules`). Excludes ``init``.
    column_writes : bool
        ``prog`` addresses a column and writes a row of all its N cells at once (module
        docstring); False (default): one cell per write.

    Attributes
    ----------
    prog, thr, inp, out, busy, done : see module docstring.

    Raises
    ------
    ConfigError
        For any invalid parameter.
    """

    def __init__(self, *, n: int, N: int, M: int, config: str = "par2seq",
                 storage: str = "behavioural", level_bits: int = 4, weights: str = "binary", init=None,
                 shared_cells: bool = False, column_writes: bool = False):
        hw = HwConfig(n=n, N=N, M=M, config=config, storage=storage, level_bits=level_bits, weights=weights)
        self._hw = hw
        par = config == "par2seq"
        if shared_cells and init is not None:
            raise ConfigError("shared cells cannot take init contents (one module serves every cell); "
                              "program them through the prog port")
        if not isinstance(column_writes, bool):
            raise ConfigError(f"column_writes must be True or False, not {column_writes!r}")
        self._shared = bool(shared_cells)
        self._column_writes = column_writes
        # Column j holds cells i*M + j (i = 0..N-1); its cells share the read and its control.
        column = SharedColumn if shared_cells else CellColumn
        self.columns = [column(n=n, N=N, config=config, storage=storage, level_bits=level_bits, weights=weights,
                               column_writes=column_writes,
                               **({} if shared_cells or init is None else {"init": [init[i][j] for i in range(N)]}))
                        for j in range(M)]
        self.trees = [PopcountTree(N=N, max_partial=n * hw.column_max) for _ in range(M)] if par else []
        self.thresholds = ThresholdBank(rows=hw.threshold_rows, lanes=M, width=hw.threshold_width, parallel=not par,
                                        storage="macro" if storage == "macro" else "memory")
        address = {"columns": M, "lanes": N} if column_writes else {"cells": N * M}
        super().__init__({
            "prog": In(WriteRowSignature(n=n, **address,
                                         level_bits=level_bits if carries_codes(storage) else None,
                                         ternary=hw.is_ternary)),
            "thr": In(ThresholdLoadSignature(rows=hw.threshold_rows, lanes=M, width=hw.threshold_width)),
            "inp": In(stream.Signature(hw.input_width)),
            "out": Out(OutputSignature(lanes=hw.output_lanes, popcount_width=hw.popcount_width,
                                       beats=hw.output_beats)),
            "busy": Out(1),
            "done": Out(1),
        })

    hw = property(lambda self: self._hw)
    shared_cells = property(lambda self: self._shared)
    column_writes = property(lambda self: self._column_writes)

    def cell_modules(self) -> dict:
        """Shared modules this array instantiates: ``{module name: component to emit}``."""
        if not self._shared:
            return {}
        return {self.columns[0].module_name: self.columns[0].module()}

    @staticmethod
    def latency_for(config: str) -> int:
        """Cycles from issuing a read to its result on ``out``: cell, tree (par2seq), output register."""
        tree = PopcountTree.latency if config == "par2seq" else 0
        return BasicCell.latency_for(config == "seq2par") + tree + 1

    @staticmethod
    def cycles_per_pass_for(hw: HwConfig) -> int:
        """Cycles from accepting the first input beat to ``done``: n issues, then the latency."""
        return hw.n + Array.latency_for(hw.config)

    @property
    def latency(self) -> int:
        return self.latency_for(self._hw.config)

    @property
    def cycles_per_pass(self) -> int:
        return self.cycles_per_pass_for(self._hw)

    def _column_programming(self, m, fields, stall):
        """Column writes: column j takes the write when ``prog.column == j``. Its copies of the
        fields (``prog_<field>_c<j>``) follow the port while it is addressed and are 0 otherwise,
        so a write changes the inputs of one column's write drivers only."""
        M = self._hw.M
        for j in range(M):
            hit = Signal(name=f"prog_hit_c{j}")
            m.d.comb += hit.eq(self.prog.en & ~self.busy & (self.prog.column == j))
            gated = {}
            for name in fields:
                port = getattr(self.prog, name)
                gated[name] = Signal(len(port), name=f"prog_{name}_c{j}")
                m.d.comb += gated[name].eq(Mux(hit, port, 0))
            col = self.columns[j]
            m.submodules[f"col_{j}"] = col
            m.d.comb += [getattr(col.prog, name).eq(gated[name]) for name in fields]
            m.d.comb += [col.prog.en.eq(hit), col.hold.eq(stall)]

    def elaborate(self, platform):
        m = Module()
        hw = self._hw
        n, N, M = hw.n, hw.N, hw.M
        par = hw.config == "par2seq"

        stall = Signal(name="stall")
        m.d.comb += stall.eq(self.out.valid & ~self.out.ready)
        live = ~stall

        # ---- programming: one decoder per cell (per column with column writes), refused while a
        # pass runs ----
        fields = ("row", "data") + (("zero",) if hw.is_ternary else ()) + \
            (("lrs", "hrs") if carries_codes(hw.storage) else ())
        if self._column_writes:
            self._column_programming(m, fields, stall)
        else:
            for j, col in enumerate(self.columns):
                m.submodules[f"col_{j}"] = col
                m.d.comb += [getattr(col.prog, name).eq(getattr(self.prog, name)) for name in fields]
                m.d.comb += [col.prog.en.eq(self.prog.en & ~self.busy),
                             col.prog_sel.eq(Cat(self.prog.cell == i * M + j for i in range(N))),
                             col.hold.eq(stall)]
        m.submodules.thresholds = thr = self.thresholds
        m.d.comb += [thr.load.row.eq(self.thr.row), thr.load.data.eq(self.thr.data),
                     thr.load.en.eq(self.thr.en & ~self.busy)]

        # ---- issue stage ----
        accept = Signal(name="accept")
        issue = Signal(name="issue")
        issue_row = Signal(range(n), name="issue_row")
        issue_last = Signal(name="issue_last")
        row = Signal(range(n), name="row_counter")      # next row to issue / beats taken
        issuing = Signal(name="issuing")                # par2seq: rows 1..n-1 still to issue
        taking = Signal(name="taking")                  # seq2par: more beats to take
        x_hold = Signal(hw.input_width, name="x_hold", reset_less=True)      # data: loaded with each input
        cell_x = Signal(n * N if par else n, name="cell_x")

        m.d.comb += accept.eq(self.inp.valid & self.inp.ready)
        if par:
            m.d.comb += [
                self.inp.ready.eq(~self.busy),
                issue.eq(accept | issuing),
                issue_row.eq(Mux(accept, 0, row)),
                # rows 1.. read the held vector; row 0 (and an idle array) sees the input beat.
                # (Selecting by ``issuing``, not by ``accept``, keeps this mux apart from x_hold's
                # load mux, so synthesis sees x_hold as an enabled register it can clock-gate.)
                cell_x.eq(Mux(issuing, x_hold, self.inp.payload)),
            ]
            with m.If(accept):
                m.d.sync += [x_hold.eq(self.inp.payload), row.eq(1), issuing.eq(1)]
            with m.Elif(issuing & live):
                m.d.sync += row.eq(row + 1)
                with m.If(row == n - 1):
                    m.d.sync += issuing.eq(0)
        else:
            m.d.comb += [
                self.inp.ready.eq(live & (~self.busy | taking)),
                issue.eq(accept),
                issue_row.eq(row),
                cell_x.eq(self.inp.payload),
            ]
            with m.If(accept):
                m.d.sync += [row.eq(row + 1), taking.eq(row != n - 1)]
                with m.If(row == n - 1):
                    m.d.sync += row.eq(0)
        m.d.comb += issue_last.eq(issue_row == n - 1)
        with m.If(accept):
            m.d.sync += self.busy.eq(1)

        for col in self.columns:
            m.d.comb += [col.rd_en.eq(issue & live), col.rd_row.eq(issue_row), col.x.eq(cell_x),
                         col.first.eq(issue_row == 0)]

        # ---- shadow pipeline: row index and last flag travel with the cells' data ----
        depth = BasicCell.latency_for(not par)
        rows = [Signal(range(n), name=f"row_s{k}") for k in range(1, depth + 1)]
        lasts = [Signal(name=f"last_s{k}") for k in range(1, depth + 1)]
        with m.If(live):
            m.d.sync += [rows[0].eq(issue_row), lasts[0].eq(issue_last)]
            for k in range(1, depth):
                m.d.sync += [rows[k].eq(rows[k - 1]), lasts[k].eq(lasts[k - 1])]
        width = len(self.columns[0].count) // N
        counts_valid = self.columns[0].count_valid

        def count(i, j):
            return self.columns[j].count.word_select(i, width)

        # ---- reduce and compare ----
        lanes = hw.output_lanes
        totals = []
        if par:
            for j, tree in enumerate(self.trees):
                m.submodules[f"tree_{j}"] = tree
                m.d.comb += tree.partials.eq(Cat(count(i, j) for i in range(N)))
                m.d.comb += [tree.valid.eq(counts_valid), tree.hold.eq(stall)]
                totals.append(tree.total)
            stage_valid = self.trees[0].total_valid
            stage_row = Signal(range(n), name="row_tree")
            stage_last = Signal(name="last_tree")
            with m.If(live):
                m.d.sync += [stage_row.eq(rows[-1]), stage_last.eq(lasts[-1])]
            # thresholds of the row entering the tree, read in parallel with it (only then: the
            # threshold memory is read once per neuron group)
            m.d.comb += [thr.rd_en.eq(live & counts_valid), thr.rd_row.eq(rows[-1])]
            thresholds = [thr.lane(thr.rd_data, j) for j in range(M)]
            out_index = stage_row
            # valid only when the whole row is final (accumulating passes never end early)
            final = stage_valid
            final_last = stage_last
        else:
            totals = [count(i, j) for i in range(N) for j in range(M)]
            # every threshold, read once per pass: in the cycle the last row is sensed, so they
            # arrive with the final counts
            sensing = Signal(name="valid_s1")       # a read is in the sense stage (the cells' sense_valid)
            with m.If(live):
                m.d.sync += sensing.eq(issue)
            m.d.comb += thr.rd_en.eq(live & sensing & lasts[0])
            thresholds = [thr.lane(thr.rd_data, k) for k in range(N * M)]
            out_index = 0
            final = counts_valid & lasts[-1]
            final_last = 1

        act = Signal(lanes, name="act")
        m.d.comb += act.eq(Cat(totals[k] >= thresholds[k] for k in range(lanes)))
        with m.If(live):
            m.d.sync += self.out.valid.eq(final)
        # the output beat's fields are loaded with a result only (and hold, unclocked, otherwise)
        with m.If(live & final):
            m.d.sync += [
                self.out.act.eq(act),
                self.out.index.eq(out_index),
                self.out.last.eq(final_last),
            ]
            assert all(len(t) == hw.popcount_width for t in totals)
            m.d.sync += self.out.popcount.eq(Cat(totals))

        # ---- end of pass ----
        m.d.sync += self.done.eq(0)
        with m.If(self.out.valid & self.out.ready & self.out.last):
            m.d.sync += [self.done.eq(1), self.busy.eq(0)]
        return m
