"""Threshold memory: a layer's integer thresholds in a memory array of their own, read once per
neuron group when its popcounts are complete (the paper's "threshold value, stored in a
separate memory array", Hirtzlin et al. 2020, section 2.3).

Load row r holds the thresholds of neurons r*M .. r*M + M-1. The bank is a synchronous memory
(a read issued in cycle c answers in c+1 and holds while ``rd_en`` is low):

- par2seq (``parallel=False``): ``rows`` rows of ``lanes`` thresholds; a read gives one row, the
  M neurons whose popcounts leave the tree in the next cycle.
- seq2par (``parallel=True``): every neuron's threshold is compared in the same cycle, so the
  memory has a single row holding all ``rows`` load rows side by side (lane group r at
  ``[r*lanes*width +: lanes*width]``), written one load row at a time (a write lane per load
  row) and read whole in the cycle before the pass's counts are final.

Views: ``storage="memory"`` is an Amaranth memory (simulation, the bit-memory synthesis view);
``storage="macro"`` instances the black-box 2T2R threshold macro :func:`threshold_macro` (the
macro view), whose model the flow prices per bit read (:mod:`hwgen.flow.macro`). Either way no
flip-flop holds a threshold, and nothing is clocked while the bank is neither read nor written.
"""

from amaranth.hdl import ClockSignal, Instance, Module, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import check_int, index_width
from .macros import MacroSpec
from .signatures import ThresholdLoadSignature

THRESHOLD_STORAGES = ("memory", "macro")


def threshold_macro(hw) -> MacroSpec:
    """The threshold memory macro of an array of :class:`hwgen.hwconfig.HwConfig` ``hw``."""
    word = hw.M * hw.threshold_width
    if hw.config == "par2seq":
        return MacroSpec.thresholds(rows=hw.threshold_rows, width=word)
    return MacroSpec.thresholds(rows=1, width=word, lanes=hw.threshold_rows)


class ThresholdBank(wiring.Component):
    """Parameters
    ----------
    rows, lanes, width : int
        Load rows, thresholds per load row, bits per threshold.
    parallel : bool
        seq2par: one read gives every row (see the module docstring).
    storage : str
        ``memory`` or ``macro``.

    Attributes
    ----------
    load : In(ThresholdLoadSignature)
    rd_en : In(1); rd_row : In (parallel=False only)
    rd_data : Out, one cycle after the read: ``lanes`` thresholds (one row), or every row,
        row-major (parallel)

    Raises
    ------
    ConfigError
        For non-positive sizes or an unknown storage.
    """

    def __init__(self, *, rows: int, lanes: int, width: int, parallel: bool = False, storage: str = "memory"):
        rows, lanes, width = (check_int(name, value) for name, value in
                              (("rows", rows), ("lanes", lanes), ("width", width)))
        if storage not in THRESHOLD_STORAGES:
            raise ConfigError(f"threshold storage must be one of {', '.join(THRESHOLD_STORAGES)}, not {storage!r}")
        self._rows, self._lanes, self._width, self._parallel = rows, lanes, width, bool(parallel)
        self._storage = storage
        word = lanes * width
        self._spec = (MacroSpec.thresholds(rows=1, width=word, lanes=rows) if parallel else
                      MacroSpec.thresholds(rows=rows, width=word))
        members = {"load": In(ThresholdLoadSignature(rows=rows, lanes=lanes, width=width)), "rd_en": In(1)}
        if not parallel:
            members["rd_row"] = In(index_width(rows))
        members["rd_data"] = Out(self._spec.columns)
        super().__init__(members)

    rows = property(lambda self: self._rows)
    lanes = property(lambda self: self._lanes)
    width = property(lambda self: self._width)
    storage = property(lambda self: self._storage)
    macro = property(lambda self: self._spec)
    latency = 1

    def lane(self, vector, k):
        """Threshold k of a flat vector of thresholds (``rd_data``)."""
        return vector.word_select(k, self._width)

    def elaborate(self, platform):
        m = Module()
        spec = self._spec
        if self._storage == "macro":
            ports = dict(i_clk=ClockSignal("sync"), i_we=self.load.en, i_wdata=self.load.data,
                         i_re=self.rd_en, i_rrow=0 if self._parallel else self.rd_row, o_rdata=self.rd_data)
            if not self._parallel:
                ports.update(i_wrow=self.load.row)
            elif spec.lanes > 1:
                ports.update(i_wrow=0, i_wlane=self.load.row)
            else:
                ports.update(i_wrow=0)
            m.submodules.macro = Instance(spec.name, **ports)
            return m
        if spec.rows == 1:
            # a one-row memory as a register and its read register (Amaranth gives a depth-1
            # memory a zero-width address in Verilog)
            store = Signal(spec.columns, name="store", reset_less=True)
            data = Signal(spec.columns, name="rd_q", reset_less=True)
            for k in range(spec.lanes):
                with m.If(self.load.en & (self.load.row == k)):
                    m.d.sync += store.word_select(k, spec.width).eq(self.load.data)
            with m.If(self.rd_en):
                m.d.sync += data.eq(store)
            m.d.comb += self.rd_data.eq(data)
            return m
        m.submodules.mem = mem = memory.Memory(shape=unsigned(spec.columns), depth=spec.rows, init=[])
        wr = mem.write_port()
        rd = mem.read_port()
        m.d.comb += [wr.en.eq(self.load.en), wr.addr.eq(self.load.row), wr.data.eq(self.load.data),
                     rd.en.eq(self.rd_en), rd.addr.eq(self.rd_row), self.rd_data.eq(rd.data)]
        return m
