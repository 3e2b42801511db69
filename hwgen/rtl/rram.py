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
- ``fpga``: programmed as the behavioural view (the same port, device-state codes and all), it
  stores the bit the sense amplifier will read from the pair being written, one bit per weight:
  the PCSA's decision (BL > BLb) is taken by the write driver, once, instead of by every read.
  For a device whose state is fixed after programming the two are the same function of the
  codes, so a sampled error map in the programming image is a flipped stored bit, as on silicon.
  The memory is a plain synchronous-read memory with a read enable (``ram_style = "block"``),
  which Yosys maps onto FPGA block RAM (ECP5 DP16KD).

Ternary mode (``weights="ternary"``; seed 004: LRS/HRS = +1, HRS/HRS = 0, HRS/LRS = -1, all
sensed in the same single PCSA operation at low supply voltage). The programming port gains
``zero`` (n bits), and the block answers ``q_row`` (2n bits) instead of ``xnor_row``: column b's
``q_b = 1 + x_b*w_b`` in {0, 1, 2} at bits ``[2b +: 2]``, i.e. ``{match_b, zero_b}`` with
``zero_b`` = the pair reads 0 and ``match_b`` = the pair resolved and ``XNOR(x_b, sign_b)``.

- ``behavioural``: the write driver gives +1 -> (BL, BLb) = (``hrs``, ``lrs``), -1 -> (``lrs``,
  ``hrs``), 0 -> (``hrs``, ``lrs``): for a zero both devices are RESET, and the ``lrs`` field then
  carries the second HRS device's code. The sense computes ``diff = BL - BLb``; the pair resolves
  when ``|diff| > D`` (``D = 2**(level_bits - 2)``, :func:`hwgen.hwconfig.zero_band`, a quarter of
  the code range), reading the sign ``diff > 0``; otherwise it reads 0. Device codes realising a
  ternary error map: :func:`hwgen.device.errormap.ternary_pair_levels`.
- ``bitmem``: two bit planes, sign and zero.
- ``macro``: the black box ``macro_name(n, "ternary")`` with ports ``wzero`` and ``q_row``.
- ``fpga``: the sign and zero planes of the pair's read, decided from the codes at the write
  (sign = the pair reads +1, zero = it reads 0).

Timing: a read issued in cycle c (``rd_en``, ``rd_row``, ``x``) gives ``xnor_row`` (``q_row``) in
cycle c+1; ``rd_en`` low holds the previous result (this is how the pipeline stalls).
"""

from amaranth.hdl import Cat, ClockSignal, Instance, Module, Mux, Signal, unsigned
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import (LEVEL_BITS_BOUNDS, N_BOUNDS, STORAGES, TERNARY_MIN_LEVEL_BITS, carries_codes, check_int,
                        check_weights, index_width, zero_band)
from .signatures import WriteRowSignature


def macro_name(n: int, weights: str = "binary") -> str:
    """The black-box macro of an n x n block: ``hwgen_rram2t2r_xnor_n<n>`` (binary XNOR-PCSAs) or
    ``hwgen_rram2t2r_ternary_n<n>`` (ternary PCSAs answering q per column)."""
    return f"hwgen_rram2t2r_{'ternary' if check_weights(weights) == 'ternary' else 'xnor'}_n{n}"


def sensed_output(n: int, weights: str) -> tuple[str, int]:
    """Name and width of the block's (and the cell's) sensed-row output."""
    return ("q_row", 2 * n) if weights == "ternary" else ("xnor_row", n)


class Rram2T2RBlock(wiring.Component):
    """n x n 2T2R block + XNOR sense amplifiers.

    Parameters
    ----------
    n : int
        Rows and columns of the block.
    storage : str
        ``behavioural``, ``bitmem``, ``macro`` or ``fpga``.
    level_bits : int
        Width of a device-state code (behavioural view only; ternary needs at least 3).
    weights : str
        ``binary`` or ``ternary`` (see the module docstring).
    init : array-like of shape (n, n), optional
        Weight bits to start with, or ternary values -1/0/+1 (behavioural: ideal device codes;
        bitmem: the bits).

    Attributes
    ----------
    prog : In(WriteRowSignature)
        Row programming port.
    rd_en, rd_row, x : In
        Read (sense) request: row address and the n input bits to XNOR with.
    xnor_row : Out(n)
        XNOR(x, w) of the row read one cycle earlier (binary).
    q_row : Out(2n)
        Ternary: ``q_b = 2*match_b + zero_b`` of the row read one cycle earlier, column b at
        bits ``[2b +: 2]``.

    Raises
    ------
    ConfigError
        For a bad n, storage, level_bits or weights.
    """

    def __init__(self, *, n: int, storage: str = "behavioural", level_bits: int = 4, weights: str = "binary",
                 init=None):
        n = check_int("n", n, *N_BOUNDS)
        if storage not in STORAGES:
            raise ConfigError(f"storage must be one of {', '.join(STORAGES)}, not {storage!r}")
        level_bits = check_int("level_bits", level_bits, *LEVEL_BITS_BOUNDS)
        ternary = check_weights(weights) == "ternary"
        if ternary and level_bits < TERNARY_MIN_LEVEL_BITS:
            raise ConfigError(f"ternary weights need level_bits >= {TERNARY_MIN_LEVEL_BITS}, not {level_bits}")
        if init is not None and storage in ("macro", "fpga"):
            raise ConfigError(f"a {storage} block cannot be given init contents (it is programmed through its port)")
        self._n, self._storage, self._level_bits, self._weights = n, storage, level_bits, weights
        self._init = init
        out_name, out_width = sensed_output(n, weights)
        super().__init__({
            "prog": In(WriteRowSignature(n=n, level_bits=level_bits if carries_codes(storage) else None,
                                         ternary=ternary)),
            "rd_en": In(1),
            "rd_row": In(index_width(n)),
            "x": In(n),
            out_name: Out(out_width),
        })

    n = property(lambda self: self._n)
    storage = property(lambda self: self._storage)
    level_bits = property(lambda self: self._level_bits)
    weights = property(lambda self: self._weights)
    latency = 1

    def _init_rows(self):
        """Initial (BL, BLb) rows, or bit rows: ideal devices, bit 1 = (BL=HRS, BLb=LRS).

        Ternary: (BL, BLb) = (HRS, LRS) for +1, (LRS, HRS) for -1, (HRS, HRS) for 0; bit planes
        (sign, zero)."""
        if self._init is None:
            return None
        k, top = self._level_bits, (1 << self._level_bits) - 1
        bits = [[int(b) for b in row] for row in self._init]
        word = lambda values, w: sum(v << (c * w) for c, v in enumerate(values))  # noqa: E731
        if self._weights == "ternary":
            if self._storage == "bitmem":
                return [word([int(v > 0) for v in row], 1) for row in bits], [word([int(v == 0) for v in row], 1)
                                                                              for row in bits]
            return ([word([0 if v < 0 else top for v in row], k) for row in bits],
                    [word([0 if v > 0 else top for v in row], k) for row in bits])
        if self._storage == "bitmem":
            return [word(row, 1) for row in bits], None
        return ([word([top if b else 0 for b in row], k) for row in bits],
                [word([0 if b else top for b in row], k) for row in bits])

    def elaborate(self, platform):
        if self._weights == "ternary":
            return self._elaborate_ternary()
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
        ports = self._memories(m, planes, width, init)

        sensed = Signal(n, name="sensed")
        if self._storage == "fpga":
            # the write driver's codes (as in the behavioural view) and the PCSA's decision on them
            bl, blb = self._driven_codes(m, self.prog.data)
            m.d.comb += [ports["bits"][0].data.eq(Cat(bl[b] > blb[b] for b in range(n))),
                         sensed.eq(ports["bits"][1].data)]
        elif behavioural:
            # Write driver: a 1 RESETs BL (HRS) and SETs BLb (LRS); a 0 does the opposite.
            ones = Signal(n * k, name="data_mask")
            m.d.comb += ones.eq(self.prog.data if k == 1 else Cat(self.prog.data[b].replicate(k) for b in range(n)))
            m.d.comb += [
                ports["bl"][0].data.eq((self.prog.hrs & ones) | (self.prog.lrs & ~ones)),
                ports["blb"][0].data.eq((self.prog.lrs & ones) | (self.prog.hrs & ~ones)),
            ]
            bl, blb = ports["bl"][1].data, ports["blb"][1].data
            if k == 1:
                # 1-bit codes: BL > BLb is BL & ~BLb, one word operation for the row (a simulator
                # evaluates n per-column compares otherwise)
                m.d.comb += sensed.eq(bl & ~blb)
            else:
                m.d.comb += sensed.eq(Cat(bl.word_select(b, k) > blb.word_select(b, k) for b in range(n)))
        else:
            m.d.comb += [ports["bits"][0].data.eq(self.prog.data), sensed.eq(ports["bits"][1].data)]

        # The inputs are latched with the row address, like the PCSA's XNOR branch.
        x_q = Signal(n, name="x_q")
        with m.If(self.rd_en):
            m.d.sync += x_q.eq(self.x)
        m.d.comb += self.xnor_row.eq(~(x_q ^ sensed))
        return m

    def _driven_codes(self, m, up):
        """The codes the write driver gives BL and BLb of each column (fpga storage): the RESET
        (``hrs``) code to BL and the SET (``lrs``) code to BLb where ``up`` is 1, the opposite
        where it is 0. Lists of n code values."""
        n, k = self._n, self._level_bits
        bl, blb = [], []
        for b in range(n):
            lrs, hrs = self.prog.lrs.word_select(b, k), self.prog.hrs.word_select(b, k)
            bl.append(Mux(up[b], hrs, lrs))
            blb.append(Mux(up[b], lrs, hrs))
        return bl, blb

    def _memories(self, m, planes, width, init):
        """One n-row memory per plane, written by ``prog`` and read by ``rd_*``; returns
        ``{plane: (write port, read port)}``. FPGA storage asks for block RAM."""
        ports = {}
        attrs = {"ram_style": "block"} if self._storage == "fpga" else None
        for p, plane in enumerate(planes):
            mem = memory.Memory(shape=unsigned(width), depth=self._n, init=init[p] or [], attrs=attrs)
            m.submodules[f"mem_{plane}"] = mem
            ports[plane] = mem.write_port(), mem.read_port()
            wr, rd = ports[plane]
            m.d.comb += [wr.en.eq(self.prog.en), wr.addr.eq(self.prog.row),
                         rd.en.eq(self.rd_en), rd.addr.eq(self.rd_row)]
        return ports

    def _elaborate_ternary(self):
        m = Module()
        n, k = self._n, self._level_bits
        if self._storage == "macro":
            m.submodules.macro = Instance(
                macro_name(n, "ternary"),
                i_clk=ClockSignal("sync"),
                i_we=self.prog.en, i_wrow=self.prog.row, i_wdata=self.prog.data, i_wzero=self.prog.zero,
                i_re=self.rd_en, i_rrow=self.rd_row, i_x=self.x, o_q_row=self.q_row,
            )
            return m

        behavioural = self._storage == "behavioural"
        init = self._init_rows() or ([], [])
        planes = ("bl", "blb") if behavioural else ("sign", "zero")
        ports = self._memories(m, planes, n * k if behavioural else n, init)

        # pos: the pair reads +1, neg: it reads -1; neither: it reads 0.
        pos, neg = Signal(n, name="sensed_pos"), Signal(n, name="sensed_neg")
        if self._storage == "fpga":
            # the behavioural write driver's codes and the ternary PCSA's decision on them
            bl, blb = self._driven_codes(m, self.prog.data | self.prog.zero)
            band = zero_band(k)
            w_pos = Cat(bl[b] > blb[b] + band for b in range(n))
            w_neg = Cat(blb[b] > bl[b] + band for b in range(n))
            m.d.comb += [ports["sign"][0].data.eq(w_pos), ports["zero"][0].data.eq(~(w_pos | w_neg))]
            sign, zero = ports["sign"][1].data, ports["zero"][1].data
            m.d.comb += [pos.eq(sign & ~zero), neg.eq(~sign & ~zero)]
        elif behavioural:
            # Write driver: +1 and 0 RESET BL (hrs code) and put the lrs code in BLb (for a 0
            # that second device is RESET too: the host sends its HRS code in the lrs field);
            # -1 swaps them.
            not_minus = Signal(n * k, name="data_mask")
            m.d.comb += not_minus.eq(Cat((self.prog.data[b] | self.prog.zero[b]).replicate(k) for b in range(n)))
            m.d.comb += [
                ports["bl"][0].data.eq((self.prog.hrs & not_minus) | (self.prog.lrs & ~not_minus)),
                ports["blb"][0].data.eq((self.prog.lrs & not_minus) | (self.prog.hrs & ~not_minus)),
            ]
            bl, blb = ports["bl"][1].data, ports["blb"][1].data
            band = zero_band(k)
            # |BL - BLb| > D, split by sign (unsigned compares, one bit wider than a code)
            m.d.comb += [pos.eq(Cat(bl.word_select(b, k) > blb.word_select(b, k) + band for b in range(n))),
                         neg.eq(Cat(blb.word_select(b, k) > bl.word_select(b, k) + band for b in range(n)))]
        else:
            m.d.comb += [ports["sign"][0].data.eq(self.prog.data), ports["zero"][0].data.eq(self.prog.zero)]
            sign, zero = ports["sign"][1].data, ports["zero"][1].data
            m.d.comb += [pos.eq(sign & ~zero), neg.eq(~sign & ~zero)]

        x_q = Signal(n, name="x_q")
        with m.If(self.rd_en):
            m.d.sync += x_q.eq(self.x)
        match, zero_read = Signal(n, name="match"), Signal(n, name="zero_read")
        m.d.comb += [match.eq((pos & x_q) | (neg & ~x_q)), zero_read.eq(~(pos | neg))]
        m.d.comb += self.q_row.eq(Cat(Cat(zero_read[b], match[b]) for b in range(n)))
        return m
