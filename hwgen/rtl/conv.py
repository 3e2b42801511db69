"""A convolutional layer on the same arrays: kernels stored once (or ``parallel`` times), patches
streamed from a frame store by an im2col unit, max-pool and threshold after the array.

The layer's weights are the matrix ``(C_out, kh*kw*C_in)`` (:mod:`hwgen.ir`), mapped onto an
:class:`Array` exactly as a dense layer's. One array pass computes one output position for all
output channels. With ``parallel = P`` the layer holds P identical arrays (replicas, P times the
cells) and computes P positions per pass: the paper's open question (replicate the kernels, or
store them once and compute sequentially) as a parameter.

Data path, per image:

- **Frame store.** ``inp`` takes the whole input feature map in one beat (``H*W*C_in`` bits,
  (y, x, c) order) into a register. A full frame store rather than a line buffer: binarized
  feature maps are small (MNIST: 784 bits in, 6272 after the first conv), the pooled visiting
  order below needs rows that a line buffer would already have dropped, and the register
  doubles as the hand-off between layers (the producing layer's output frame is the next
  layer's input, copied in one cycle), so consecutive layers work on consecutive images.
- **im2col unit.** For every pass it gathers one patch per replica, one kernel tap per cycle
  (``kh*kw`` cycles, one ``C_in``-bit read of the frame store per replica and cycle); a tap
  outside the frame reads ``pad_bit`` in every channel. It gathers the next pass's patches while
  the arrays compute the current one, so a pass costs the array's ``cycles_per_pass`` as long
  as ``kh*kw`` does not exceed it.
- **Visiting order.** Positions are visited pooled window by pooled window: pooled position
  ``u = py*Wp + px`` in raster order, then the window offset ``dy*pw + dx``
  (:meth:`hwgen.ir.ConvGeometry.position_order`); position ``q`` runs on replica ``q % P``.
  Positions that floor-mode pooling drops are never computed.
- **Pool and threshold.** The array thresholds each position (``popcount >= T``); the window's
  bits are ORed, which equals thresholding the window's largest popcount (``>=`` is monotonic),
  so no popcount is stored. The pooled word goes into the output frame at ``u``.

``P`` must divide the pool window (``ph*pw``) or be a multiple of it: a pass then covers part
of one window, or whole windows.

A ternary layer (``hw.weights == "ternary"``) thresholds ``Q = score + max_inputs`` against
``T + max_inputs`` (:attr:`hwgen.hwconfig.HwConfig.score_offset`), so the pooled bits are the same
as for the score; its ``prog`` has the ``zero`` plane.

Ports: ``prog`` (global cell ``r*N*M + i*M + j`` of replica r; with ``column_writes``, global
column ``r*M + j`` of replica r and a row of all its N cells, as :class:`Array`'s), ``thr`` (written
into every replica), ``inp`` (input frame), ``out`` (output frame, ``Hp*Wp*C_out`` bits), ``busy`` (an
image is in the layer; ``prog``/``thr`` writes are ignored while it is high).
"""

from __future__ import annotations

import math

from amaranth.hdl import Array as MuxArray
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..errors import ConfigError
from ..hwconfig import HwConfig, carries_codes, check_int
from ..ir import ConvGeometry
from .array import Array
from .signatures import ThresholdLoadSignature, WriteRowSignature

MAX_FRAME_BITS = 1 << 18       # input or output feature map of one layer, in bits (a register)


def check_parallel(g: ConvGeometry, parallel) -> int:
    """``parallel`` validated against the layer's pooling window and positions."""
    P = check_int("--parallel", parallel, 1, 4096)
    if P % g.window and g.window % P:
        raise ConfigError(f"--parallel {P} must divide the {g.ph}x{g.pw} pool window ({g.window} positions) or be "
                          f"a multiple of it")
    if P > g.positions:
        raise ConfigError(f"--parallel {P} exceeds the layer's {g.positions} output positions")
    return P


def conv_passes(g: ConvGeometry, parallel: int) -> int:
    """Array passes per image."""
    if parallel <= g.window:
        return g.positions // parallel
    return math.ceil(g.pooled / (parallel // g.window))


def conv_timing(g: ConvGeometry, hw: HwConfig, parallel: int) -> dict:
    """Cycle counts of one image through a :class:`ConvLayer` (what its RTL does, cycle by cycle;
    the network testbench checks the sums against the simulation).

    The frame is accepted in cycle 0; gathering pass s ends in cycle ``X[s]`` (its last tap; it
    waits there until the patch register is free), the arrays take it in ``A[s]`` and are free
    again ``cycles_per_pass`` later. The output frame is valid ``latency`` cycles after the
    accept, and the layer takes the next frame one cycle after it hands this one on.
    """
    cpp, taps = Array.cycles_per_pass_for(hw), g.taps
    beats = hw.input_beats
    x = taps                       # taps in cycles 1..taps
    a = x + 1
    for _ in range(conv_passes(g, parallel) - 1):
        x = max(x + taps, a + beats - 1)        # the patch register frees with its last beat
        a = max(x + 1, a + cpp)
    latency = a + cpp + 1
    return {"passes": conv_passes(g, parallel), "cycles_per_pass": cpp, "latency": latency, "period": latency + 1}


class ConvLayer(wiring.Component):
    """Parameters
    ----------
    geometry : ConvGeometry
        The layer's shapes (:meth:`hwgen.ir.Layer.geometry`).
    hw : HwConfig
        The array each replica is, fitting the ``(C_out, kh*kw*C_in)`` matrix.
    parallel : int
        Replicas P of the array (P output positions per pass).
    shared_cells : bool
        Build the arrays from shared column modules (see :class:`Array`).
    column_writes : bool
        ``prog`` writes a row of a whole column of cells (see :class:`Array`).

    Attributes
    ----------
    prog, thr, inp, out, busy : see module docstring.
    arrays : the P :class:`Array` replicas.
    """

    def __init__(self, *, geometry: ConvGeometry, hw: HwConfig, parallel: int = 1, shared_cells: bool = True,
                 column_writes: bool = False):
        g = geometry
        if not isinstance(g, ConvGeometry) or not isinstance(hw, HwConfig):
            raise ConfigError("ConvLayer takes a ConvGeometry and an HwConfig")
        if g.taps * g.C > hw.max_inputs or g.C_out > hw.max_outputs:
            raise ConfigError(f"the {g.C_out} x {g.taps * g.C} kernel matrix does not fit {hw.tag()}")
        for what, bits in (("input", g.H * g.W * g.C), ("output", g.pooled * g.C_out)):
            if bits > MAX_FRAME_BITS:
                raise ConfigError(f"the layer's {what} feature map holds {bits} bits, over hwgen's frame-store limit "
                                  f"of {MAX_FRAME_BITS}")
        self._g, self._hw = g, hw
        self._P = check_parallel(g, parallel)
        self.arrays = [Array(**hw.as_dict(), shared_cells=shared_cells, column_writes=column_writes)
                       for _ in range(self._P)]
        self._column_writes = column_writes
        behavioural = carries_codes(hw.storage)
        address = {"columns": self._P * hw.M, "lanes": hw.N} if column_writes else {"cells": self._P * hw.cells}
        super().__init__({
            "prog": In(WriteRowSignature(n=hw.n, **address,
                                         level_bits=hw.level_bits if behavioural else None,
                                         ternary=hw.is_ternary)),
            "thr": In(ThresholdLoadSignature(rows=hw.threshold_rows, lanes=hw.M, width=hw.threshold_width)),
            "inp": In(stream.Signature(g.H * g.W * g.C)),
            "out": Out(stream.Signature(g.pooled * g.C_out)),
            "busy": Out(1),
        })

    geometry = property(lambda self: self._g)
    hw = property(lambda self: self._hw)
    parallel = property(lambda self: self._P)

    @property
    def timing(self) -> dict:
        return conv_timing(self._g, self._hw, self._P)

    def cell_modules(self) -> dict:
        return self.arrays[0].cell_modules()

    def elaborate(self, platform):
        m = Module()
        g, hw, P = self._g, self._hw, self._P
        cells = hw.cells
        window, groups = g.window, max(1, P // g.window)     # pooled words per pass when P >= window
        per_window = max(1, g.window // P)                   # passes per pooled word when P < window
        passes = conv_passes(g, P)

        # ---- programming: replica r owns cells [r*cells, (r+1)*cells) (column writes: columns
        # [r*M, (r+1)*M)); thresholds go to all ----
        address, span = ("column", hw.M) if self._column_writes else ("cell", cells)
        fields = [name for name in self.prog.signature.members if name not in ("en", address)]
        for r, array in enumerate(self.arrays):
            m.submodules[f"replica_{r}"] = array
            hit = Signal(name=f"prog_hit_r{r}")
            at = getattr(self.prog, address)
            m.d.comb += [hit.eq((at >= r * span) & (at < (r + 1) * span)),
                         array.prog.en.eq(self.prog.en & hit & ~self.busy),
                         getattr(array.prog, address).eq(at - r * span),
                         array.thr.en.eq(self.thr.en & ~self.busy),
                         array.thr.row.eq(self.thr.row), array.thr.data.eq(self.thr.data)]
            m.d.comb += [getattr(array.prog, name).eq(getattr(self.prog, name)) for name in fields]

        # ---- frame store ----
        frame = Signal(g.H * g.W * g.C, name="frame")
        loaded = Signal(name="loaded")
        accept = Signal(name="accept")
        m.d.comb += [self.inp.ready.eq(~loaded & ~self.out.valid), accept.eq(self.inp.valid & self.inp.ready),
                     self.busy.eq(loaded | self.out.valid)]

        # ---- im2col: position counters, one kernel tap per cycle ----
        gathering = Signal(name="gathering")
        ky = Signal(range(g.kh), name="ky")
        kx = Signal(range(g.kw), name="kx")
        last_tap = Signal(name="last_tap")
        m.d.comb += last_tap.eq((ky == g.kh - 1) & (kx == g.kw - 1))
        s_in = Signal(range(passes), name="pass_in")
        w0 = Signal(range(window), name="w0")                # window offset of replica 0 (P < window)
        py = [Signal(range(g.Hp + groups // g.Wp + 2), name=f"py_g{k}") for k in range(groups)]
        px = [Signal(range(g.Wp), name=f"px_g{k}") for k in range(groups)]
        start_pos = [divmod(k, g.Wp) for k in range(groups)]

        patch_bits = g.taps * g.C
        gbuf = [Signal(patch_bits, name=f"gather_r{r}") for r in range(P)]
        patch = [Signal(patch_bits, name=f"patch_r{r}") for r in range(P)]
        patch_full = Signal(name="patch_full")
        patch_take = Signal(name="patch_take")
        advance = Signal(name="advance")
        m.d.comb += advance.eq(gathering & (~last_tap | ~patch_full | patch_take))

        dy_table = MuxArray([Const(w // g.pw, range(g.ph)) for w in range(window)])
        dx_table = MuxArray([Const(w % g.pw, range(g.pw)) for w in range(window)])
        pad_word = Const(((1 << g.C) - 1) if g.pad_bit else 0, g.C)
        taps = []
        for r in range(P):
            grp = r // window if P >= window else 0
            if P >= window:
                dy, dx = Const(divmod(r % window, g.pw)[0]), Const(divmod(r % window, g.pw)[1])
            else:
                w = Signal(range(window), name=f"w_r{r}")
                m.d.comb += w.eq(w0 + r)
                dy, dx = dy_table[w], dx_table[w]
            # input pixel of tap (ky, kx), plus the padding (so everything stays unsigned)
            iy = Signal(range(g.Ho * g.stride + g.kh + 1), name=f"iy_r{r}")
            ix = Signal(range(g.Wo * g.stride + g.kw + 1), name=f"ix_r{r}")
            inside = Signal(name=f"inside_r{r}")
            addr = Signal(range(g.H * g.W), name=f"addr_r{r}")
            word = Signal(g.C, name=f"tap_r{r}")
            m.d.comb += [
                iy.eq((py[grp] * g.ph + dy) * g.stride + ky),
                ix.eq((px[grp] * g.pw + dx) * g.stride + kx),
                inside.eq((iy >= g.pad_y) & (iy < g.H + g.pad_y) & (ix >= g.pad_x) & (ix < g.W + g.pad_x)
                          & (py[grp] < g.Hp)),
                addr.eq((iy - g.pad_y) * g.W + (ix - g.pad_x)),
                word.eq(Mux(inside, frame.word_select(addr, g.C), pad_word)),
            ]
            taps.append(word)

        with m.If(patch_take):
            m.d.sync += patch_full.eq(0)
        with m.If(advance):
            m.d.sync += [b.eq(Cat(b[g.C:], t) if g.taps > 1 else t) for b, t in zip(gbuf, taps)]
            m.d.sync += kx.eq(kx + 1)
            with m.If(kx == g.kw - 1):
                m.d.sync += [kx.eq(0), ky.eq(ky + 1)]
            with m.If(last_tap):
                m.d.sync += [ky.eq(0), kx.eq(0), patch_full.eq(1), s_in.eq(s_in + 1)]
                m.d.sync += [p.eq(Cat(b[g.C:], t) if g.taps > 1 else t) for p, b, t in zip(patch, gbuf, taps)]
                with m.If(s_in == passes - 1):
                    m.d.sync += [gathering.eq(0), s_in.eq(0)]
                if P < window:
                    m.d.sync += w0.eq(w0 + P)
                    with m.If(w0 == window - P):
                        m.d.sync += [w0.eq(0), px[0].eq(px[0] + 1)]
                        with m.If(px[0] == g.Wp - 1):
                            m.d.sync += [px[0].eq(0), py[0].eq(py[0] + 1)]
                else:
                    rows, cols = divmod(groups, g.Wp)
                    for k in range(groups):
                        with m.If(px[k] + cols >= g.Wp):
                            m.d.sync += [px[k].eq(px[k] + cols - g.Wp), py[k].eq(py[k] + rows + 1)]
                        with m.Else():
                            m.d.sync += [px[k].eq(px[k] + cols), py[k].eq(py[k] + rows)]
        with m.If(accept):
            m.d.sync += [frame.eq(self.inp.payload), loaded.eq(1), gathering.eq(1), ky.eq(0), kx.eq(0),
                         s_in.eq(0), w0.eq(0)]
            m.d.sync += [v.eq(start_pos[k][0]) for k, v in enumerate(py)]
            m.d.sync += [v.eq(start_pos[k][1]) for k, v in enumerate(px)]

        # ---- feed the replicas (lockstep: same handshake, their own patches) ----
        pad = hw.max_inputs - patch_bits
        padded = [Signal(hw.max_inputs, name=f"patch_in_r{r}") for r in range(P)]
        for p, q in zip(padded, patch):
            m.d.comb += p.eq(Cat(q, Const((1 << pad) - 1, pad)) if pad else q)
        lead = self.arrays[0]
        if hw.input_beats == 1:
            m.d.comb += patch_take.eq(patch_full & lead.inp.ready)
            for array, p in zip(self.arrays, padded):
                m.d.comb += [array.inp.valid.eq(patch_full), array.inp.payload.eq(p)]
        else:
            beat = Signal(range(hw.input_beats), name="beat")
            m.d.comb += patch_take.eq(patch_full & lead.inp.ready & (beat == hw.input_beats - 1))
            for array, p in zip(self.arrays, padded):
                m.d.comb += [array.inp.valid.eq(patch_full), array.inp.payload.eq(p.word_select(beat, hw.input_width))]
            with m.If(patch_full & lead.inp.ready):
                m.d.sync += beat.eq(Mux(beat == hw.input_beats - 1, 0, beat + 1))

        # ---- collect each replica's output channels, pool, write the output frame ----
        lanes = hw.output_lanes
        vecs = [Signal(hw.max_outputs, name=f"acts_r{r}") for r in range(P)]
        for array, vec in zip(self.arrays, vecs):
            m.d.comb += array.out.ready.eq(1)
            with m.If(array.out.valid):
                m.d.sync += vec.word_select(array.out.index, lanes).eq(array.out.act)
        collected = Signal(name="collected")
        m.d.sync += collected.eq(lead.out.valid & lead.out.last)
        s_out = Signal(range(passes), name="pass_out")
        u_out = Signal(range(g.pooled + groups + 1), name="u_out")
        out_frame = Signal(g.pooled * g.C_out, name="out_frame")
        m.d.comb += self.out.payload.eq(out_frame)
        words = [vec[:g.C_out] for vec in vecs]
        with m.If(collected):
            if P < window:
                part = Signal(range(per_window), name="window_part")
                acc = Signal(g.C_out, name="pool_acc")
                ored = Signal(g.C_out, name="pool_or")
                m.d.comb += ored.eq(_or(words + [Mux(part != 0, acc, 0)]))
                with m.If(part == per_window - 1):
                    m.d.sync += [out_frame.word_select(u_out, g.C_out).eq(ored), u_out.eq(u_out + 1), part.eq(0)]
                with m.Else():
                    m.d.sync += [acc.eq(ored), part.eq(part + 1)]
            else:
                for k in range(groups):
                    pooled = Signal(g.C_out, name=f"pool_g{k}")
                    m.d.comb += pooled.eq(_or(words[k * window:(k + 1) * window]))
                    with m.If(u_out + k < g.pooled):
                        m.d.sync += out_frame.word_select(u_out + k, g.C_out).eq(pooled)
                m.d.sync += u_out.eq(u_out + groups)
            m.d.sync += s_out.eq(s_out + 1)
            with m.If(s_out == passes - 1):
                m.d.sync += [s_out.eq(0), u_out.eq(0), self.out.valid.eq(1), loaded.eq(0)]
        with m.If(self.out.valid & self.out.ready):
            m.d.sync += self.out.valid.eq(0)
        return m


def _or(values):
    """Bitwise OR of equal-width values."""
    result = values[0]
    for v in values[1:]:
        result = result | v
    return result
