"""The hard blocks of the macro view: what each black box is, its name, its ports and its
Verilog stub, stated once for the RTL that instantiates it, the generator that writes its stub,
and the flow that models it (:mod:`hwgen.flow.macro`), simulates it (:mod:`hwgen.flow.gatesim`)
and exports it (:mod:`hwgen.flow.orfs`).

Three kinds, all 2T2R RRAM arrays read by precharge sense amplifiers (PCSAs):

- ``xnor``: an n x n weight array whose PCSAs XNOR each stored bit with an input bit
  (``hwgen_rram2t2r_xnor_n<n>``, :mod:`.rram`);
- ``ternary``: the same with ternary PCSAs answering ``q = 1 + x*w`` per column
  (``hwgen_rram2t2r_ternary_n<n>``);
- ``thresholds``: a layer's threshold memory, the paper's "threshold value, stored in a separate
  memory array" (Hirtzlin et al. 2020, section 2.3): ``rows`` rows of ``lanes`` words of
  ``width`` bits, written one word and read one whole row at a time with plain PCSAs
  (``hwgen_rram2t2r_thr_r<rows>_w<width>`` and ``_l<lanes>`` when a row holds several words;
  :mod:`.threshold`). It is the same 2T2R technology as the weights, so the chip keeps its whole
  network without power and programs thresholds with the weights.

Every macro reads on the rising clock edge when ``re`` is high and answers in the next cycle,
holding its output while ``re`` is low; a write lands at the edge where ``we`` is high.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import __version__
from ..errors import ConfigError
from ..hwconfig import N_BOUNDS, check_int, index_width

KINDS = ("xnor", "ternary", "thresholds")
MAX_THRESHOLD_BITS = 1 << 20        # one threshold macro row of at most a million bits


@dataclass(frozen=True)
class MacroSpec:
    """One hard block. ``rows``: memory rows; ``width``: bits of a written word (a weight row: n);
    ``lanes``: words per row (threshold memories of seq2par arrays: every row of thresholds side
    by side, so one read gives them all)."""

    kind: str
    rows: int
    width: int
    lanes: int = 1

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ConfigError(f"macro kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "thresholds":
            check_int("threshold memory rows", self.rows, 1, N_BOUNDS[1])
            check_int("threshold memory lanes", self.lanes, 1, N_BOUNDS[1] ** 2)
            check_int("threshold word width", self.width, 1, MAX_THRESHOLD_BITS // self.lanes)
        else:
            check_int("n", self.rows, *N_BOUNDS)
            if self.width != self.rows or self.lanes != 1:
                raise ConfigError(f"a {self.kind} macro is n x n with one word a row, not {self.rows} x {self.width}"
                                  f" in {self.lanes} lanes")

    @classmethod
    def weights(cls, n: int, weights: str = "binary") -> "MacroSpec":
        """The weight array of an n x n cell (``weights``: binary or ternary)."""
        return cls("ternary" if weights == "ternary" else "xnor", n, n)

    @classmethod
    def thresholds(cls, rows: int, width: int, lanes: int = 1) -> "MacroSpec":
        return cls("thresholds", rows, width, lanes)

    @property
    def name(self) -> str:
        if self.kind == "thresholds":
            return f"hwgen_rram2t2r_thr_r{self.rows}_w{self.width}" + (f"_l{self.lanes}" if self.lanes > 1 else "")
        return f"hwgen_rram2t2r_{self.kind}_n{self.rows}"

    @classmethod
    def from_name(cls, name: str) -> "MacroSpec":
        """The spec a macro name stands for; a name no hwgen macro has is a :class:`ConfigError`."""
        m = re.fullmatch(r"hwgen_rram2t2r_(xnor|ternary)_n(\d{1,5})|hwgen_rram2t2r_thr_r(\d{1,5})_w(\d{1,7})(?:_l(\d{1,7}))?",
                         str(name))
        if not m:
            raise ConfigError(f"{name!r} is not the name of an hwgen RRAM macro")
        spec = (cls(m.group(1), int(m.group(2)), int(m.group(2))) if m.group(1) else
                cls("thresholds", int(m.group(3)), int(m.group(4)), int(m.group(5) or 1)))
        if spec.name != name:          # leading zeros and the like
            raise ConfigError(f"{name!r} is not the name of an hwgen RRAM macro")
        return spec

    @property
    def columns(self) -> int:
        """Bit columns of the array (one PCSA each): the bits one read senses."""
        return self.lanes * self.width

    @property
    def output(self) -> str:
        return {"xnor": "xnor_row", "ternary": "q_row", "thresholds": "rdata"}[self.kind]

    def pins(self) -> list[tuple[str, str, int]]:
        """``(name, direction, width)`` of the signal pins, in the stub's order."""
        aw = index_width(self.rows)
        if self.kind == "thresholds":
            lane = [("wlane", "input", index_width(self.lanes))] if self.lanes > 1 else []
            return [("clk", "input", 1), ("we", "input", 1), ("wrow", "input", aw), *lane,
                    ("wdata", "input", self.width), ("re", "input", 1), ("rrow", "input", aw),
                    ("rdata", "output", self.columns)]
        n = self.rows
        zero = [("wzero", "input", n)] if self.kind == "ternary" else []
        out = ("q_row", "output", 2 * n) if self.kind == "ternary" else ("xnor_row", "output", n)
        return [("clk", "input", 1), ("we", "input", 1), ("wrow", "input", aw), ("wdata", "input", n), *zero,
                ("re", "input", 1), ("rrow", "input", aw), ("x", "input", n), out]

    def describe(self) -> str:
        if self.kind == "thresholds":
            words = f"{self.lanes} words of {self.width} bits" if self.lanes > 1 else f"{self.width} bits"
            return f"the {self.rows}-row 2T2R threshold memory ({words} a row, plain PCSAs)"
        what = "ternary PCSAs (q = 1 + x*w per column)" if self.kind == "ternary" else "XNOR-PCSAs"
        return f"the {self.rows}x{self.rows} 2T2R array with {what}"

    def stub(self) -> str:
        """The empty (black-box) module for synthesis and the flow."""
        ports = ",\n".join(f"  {d} {'' if w == 1 else f'[{w - 1}:0] '}{p}" for p, d, w in self.pins())
        return (f"// Generated by hwgen {__version__}: black box of {self.describe()}\n"
                f"/* verilator lint_off UNDRIVEN */  // a black box drives nothing\n"
                f"(* blackbox *)\nmodule {self.name} (\n{ports}\n);\nendmodule\n"
                f"/* verilator lint_on UNDRIVEN */\n")

    @property
    def stub_file(self) -> str:
        return f"{self.name}_bb.v"


def design_macros(hws) -> list[MacroSpec]:
    """The macros of a macro view whose arrays are ``hws`` (:class:`hwgen.hwconfig.HwConfig`):
    each array's weight macro and threshold memory, each distinct one once, in a stable order."""
    from .threshold import threshold_macro

    specs = {}
    for hw in hws:
        for spec in (MacroSpec.weights(hw.n, hw.weights), threshold_macro(hw)):
            specs.setdefault(spec.name, spec)
    return sorted(specs.values(), key=lambda s: (KINDS.index(s.kind), s.rows, s.width, s.lanes))
