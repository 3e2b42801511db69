"""The n x n 2T2R memory block with its XNOR-enriched precharge sense amplifiers.

One read senses a whole row and returns XNOR(x, w) for every column in the same operation, as
the XNOR-PCSA of the paper does (Hirtzlin et al. 2019, Fig. 2b). Three views share one port
list (only the programming port's device-state fields differ):

- ``behavioural``: every bit is a pair of device-state codes (BL, BLb), monotonic in
  log-resistance. The write driver gives the RESET outcome (``hrs``) to BL and the SET outcome
  (``lrs``) to BLb when writing a 1, and the opposite for a 0. The sense reads 1 when
  BL > BLb (a tie reads 0). A device error sampled by the device model, i.e. a SET device that
  ended more resistive than its RESET partner, is therefore a flipped read, as on silicon.
- ``bitmem``: a plain bit memory; the synthesizable view.
- ``macro``: an instance of the black-box macro ``macro_name(n)`` (array + XNOR-PCSAs), whose
  empty module the generator writes for the flow.

Timing: a read issued in cycle c (``rd_en``, ``rd_row``, ``x``) gives ``xnor_row`` in cycle c+1;
``rd_en`` low holds the previous result (this is how the pipeline stalls).
"""

from amaranth.hdl import Cat, ClockSignal, Instance, Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import LEVEL_BITS_BOUNDS, N_BOUNDS, STORAGES, check_int, index_width
from .signatures import WriteRowSignature


def macro_name(n: int) -> str:
    return f"hwgen_rram2t2r_xnor_n{n}"


class Rram2T2RBlock(wiring.Component):
    """n x n 2T2R block + XNOR sense amplifiers.

    Parameters
    ----------
    n : int
        Rows and columns of the block.
    storage : str
        ``behavioural``, ``bitmem`` or ``macro``.
    level_bits : int
        Width of a device-state code (behavioural view only).
    init : array-like of shape (n, n), optional
        Weight bits to start with (behavioural: ideal device codes; bitmem: the bits).

    Attributes
    ----------
    prog : In(WriteRowSignature)
        Row programming port.
    rd_en, rd_row, x : In
        Read (sense) request: row address and the n input bits to XNOR with.
    xnor_row : Out(n)
        XNOR(x, w) of the row read one cycle earlier.

    Raises
    ------
    ConfigError
        For a bad n, storage or level_bits.
    """

    def __init__(self, *, n: int, storage: str = "behavioural", level_bits: int = 4, init=None):
        n = check_int("n", n, *N_BOUNDS)
        if storage not in STORAGES:
            raise ConfigError(f"storage must be one of {', '.join(STORAGES)}, not {storage!r}")
        level_bits = check_int("level_bits", level_bits, *LEVEL_BITS_BOUNDS)
        if init is not None and storage == "macro":
            raise ConfigError("a macro block cannot be given init contents (the macro is a black box)")
        self._n, self._storage, self._level_bits = n, storage, level_bits
        self._init = init
        super().__init__({
            "prog": In(WriteRowSignature(n=n, level_bits=level_bits if storage == "behavioural" else None)),
            "rd_en": In(1),
            "rd_row": In(index_width(n)),
            "x": In(n),
            "xnor_row": Out(n),
        })

    n = property(lambda self: self._n)
    storage = property(lambda self: self._storage)
    level_bits = property(lambda self: self._level_bits)
    latency = 1

    def _init_rows(self):
        """Initial (BL, BLb) rows, or bit rows: ideal devices, bit 1 = (BL=HRS, BLb=LRS)."""
        if self._init is None:
            return None
        k, top = self._level_bits, (1 << self._level_bits) - 1
        bits = [[int(b) for b in row] for row in self._init]
        word = lambda values, w: sum(v << (c * w) for c, v in enumerate(values))  # noqa: E731
        if self._storage == "bitmem":
            return [word(row, 1) for row in bits], None
        return ([word([top if b else 0 for b in row], k) for row in bits],
                [word([0 if b else top for b in row], k) for row in bits])

    def elaborate(self, platform):
        m = Module()
        n, k = self._n, self._level_bits
        if self._storage == "macro":
            m.submodules.macro = Instance(
                macro_name(n),
                i_clk=ClockSignal("sync"),
                i_we=self.prog.en, i_wrow=self.prog.row, i_wdata=self.prog.data,
                i_re=self.rd_en, i_rrow=self.rd_row, i_x=self.x, o_xnor_row=self.xnor_row,
            )
            return m

        behavioural = self._storage == "behavioural"
        init = self._init_rows() or ([], [])
        # BL and BLb devices live in two memories of flat rows (column b at bits b*k +: k).
        planes = ("bl", "blb") if behavioural else ("bits",)
        width = n * k if behavioural else n
        ports = {}
        for p, plane in enumerate(planes):
            mem = memory.Memory(shape=unsigned(width), depth=n, init=init[p] or [])
            m.submodules[f"mem_{plane}"] = mem
            ports[plane] = mem.write_port(), mem.read_port()
            wr, rd = ports[plane]
            m.d.comb += [wr.en.eq(self.prog.en), wr.addr.eq(self.prog.row),
                         rd.en.eq(self.rd_en), rd.addr.eq(self.rd_row)]

        sensed = Signal(n, name="sensed")
        if behavioural:
            # Write driver: a 1 RESETs BL (HRS) and SETs BLb (LRS); a 0 does the opposite.
            ones = Signal(n * k, name="data_mask")
            m.d.comb += ones.eq(Cat(self.prog.data[b].replicate(k) for b in range(n)))
            m.d.comb += [
                ports["bl"][0].data.eq((self.prog.hrs & ones) | (self.prog.lrs & ~ones)),
                ports["blb"][0].data.eq((self.prog.lrs & ones) | (self.prog.hrs & ~ones)),
            ]
            bl, blb = ports["bl"][1].data, ports["blb"][1].data
            m.d.comb += sensed.eq(Cat(bl.word_select(b, k) > blb.word_select(b, k) for b in range(n)))
        else:
            m.d.comb += [ports["bits"][0].data.eq(self.prog.data), sensed.eq(ports["bits"][1].data)]

        # The inputs are latched with the row address, like the PCSA's XNOR branch.
        x_q = Signal(n, name="x_q")
        with m.If(self.rd_en):
            m.d.sync += x_q.eq(self.x)
        m.d.comb += self.xnor_row.eq(~(x_q ^ sensed))
        return m
