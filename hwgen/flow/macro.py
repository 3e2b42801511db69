"""The abstract of the 2T2R RRAM macro: a documented model of its area, timing and energy, and
the Liberty and LEF views that let synthesis, STA and place and route treat it as a hard block.

The macro ``hwgen_rram2t2r_xnor_n{n}`` (:func:`hwgen.rtl.rram.macro_name`) is the n x n array
of 2T2R bit cells with its n XNOR precharge sense amplifiers (PCSAs), row decoders and write
drivers. A layer's threshold memory ``hwgen_rram2t2r_thr_r{rows}_w{width}[_l{lanes}]``
(:mod:`hwgen.rtl.macros`) is the same bit cell and periphery with plain PCSAs: ``rows`` rows of
``lanes * width`` columns, one row read at a time. Every formula below takes the array's rows
and columns (n and n for a weight macro). Nobody has laid it out in sky130 or FreePDK45, so its abstract is a *model*: every
number below is either read from the platform's own files (units, supply, pitches, site, the
platform buffer's drive and leakage) or is a parameter of :class:`MacroParams`, which says
where it comes from. The model is deliberately simple and errs on the large side; it is what
the flow and the energy model (``sense_energy_j`` per bit sensed) use, and it is printed in
every generated file's header so a result can be traced to it.

Geometry (in F, the feature size, at the paper's 130 nm process, then drawn at the platform's
node, i.e. areas scale by (node/130)^2):

- 2T2R bit cell = two 1T1R cells side by side, each 5F x 5F = 25 F^2 (assumption). The paper
  (Hirtzlin et al. 2019, section 2.1) gives no cell area. Its access transistor must pass the
  200 uA forming compliance from a 3.3 V word line, which in 130 nm takes a gate about 3F wide;
  with contacted poly pitch and the RRAM via stack up to metal 4 this is ~5F a side. Scaling it
  to 45 nm by F^2 is optimistic: the compliance current does not shrink with the node.
- Column periphery, under the array: 1800 F^2 per column, half for the XNOR-PCSA (the 7
  transistors of Zhao et al. 2009 plus 4 for the XNOR, about a standard-cell latch: sky130 hd
  ``dlxtp_1`` is 15.0 um^2 = 890 F^2 at F = 130 nm), half for the BL/BLb write drivers, which
  must source and sink the programming currents.
- Row periphery, left of the array: 1500 F^2 per row: a read and a write decoder slice (the
  macro has separate read and write row addresses) and a word-line driver with a level shifter
  for the 3.3 V programming word line.
- The macro is the enclosing rectangle, widened if its pins need more edge than that, and
  snapped up to the platform's placement site.

Timing (clk -> xnor_row, a read issued in cycle c answers in cycle c+1, see hwgen/rtl/rram.py):
sense + logic + word line.

- Sense: the paper measured ~10 ns on its test chip, set by the probe-card load; without it the
  PCSA "can be as fast as 100 ps in a scaled technology" (Zhao et al. 2014, paper section 2.2),
  "hundreds of picoseconds in advanced CMOS nodes" (section 4.2). We take 100 ps at 28 nm, the
  paper's own scaled node (Methods), and scale it linearly with the node (gate delay ~ L).
- Logic: (6 + address bits) FO4 delays, FO4 = 360 ps per um of drawn gate length (Ho, Mai and
  Horowitz, "The future of wires", Proc. IEEE 2001): 2 for clock buffering, one per address bit
  for the decoder, 2 for the word-line driver, 2 for the output buffer.
- Word line: distributed RC, 0.38 R C, of a metal-1 word line (1 ohm/um at 130 nm, ~1/F^2:
  sky130 met1 is 0.125 ohm/sq at 0.14 um) loaded by its 2n access gates.
- Inputs are captured on the rising clock edge: setup 2 FO4, hold 1 FO4. The minimum period is
  read + precharge (one more sense time).
- Writes: the RTL writes one row per clock, the Liberty checks only the capture of ``we``,
  ``wrow`` and ``wdata``. The programming pulse itself takes 0.1 to 1 us (paper Table 1), so
  programming runs at a slow clock or behind a handshake; inference timing is the read path.

Energy of one sense, i.e. one 2T2R pair read and XNORed by its PCSA, at the platform's supply
V (from its Liberty): C V^2 with C = 2 C_BL + C_latch + 2 C_gate + 2 C_wire(column pitch), where
C_BL = n C_junction + C_wire(column height) is one bit line. Both branches are precharged and
discharged every read (paper section 2.2), so counting both full swings is an upper bound.
Capacitances at 130 nm, scaling with F: junction 0.5 fF per cell on a bit line, access gate
0.6 fF, latch and XNOR nodes 4 fF, wire 0.2 fF/um (the usual figure for minimum-pitch
intermediate metal). Cross-check: at the paper's 28 nm and 0.9 V a sense of a 32-row array
costs ~8 fJ, within the paper's "fourteen femtojoules" for a read and its addition (section 4.2)
and its 25 nJ per MNIST digit (1.86 M synapses: 13 fJ each). ``row_read_energy_j`` is n senses.

Leakage: the RRAM is non-volatile and the PCSA has no static path (section 2.2), so only the
periphery leaks; it is charged at the platform buffer's leakage per um^2.

This module owns the model (:func:`macro_model`, :class:`~hwgen.flow.macro.MacroModel`) and the macros of a design
(:func:`view_macros`); what it reads from the platform's files is :mod:`hwgen.flow.techinfo`, the
Liberty and LEF text written from it :mod:`hwgen.flow.macroabstract`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..errors import ConfigError, DataError
from ..hwconfig import index_width
from ..rtl.macros import MacroSpec
from . import macroabstract
from .platform import Platform, get_platform
from .techinfo import LibertyInfo, RoutingLayer, liberty_info, tech_info, to_nm


@dataclass(frozen=True)
class MacroParams:
    """Parameters of the macro model; the module docstring gives each one's source."""

    feature_nm: float = 130.0           # the paper's CMOS process (section 2.1)
    cell_w_f: float = 5.0               # 1T1R cell width, in F (assumption: 5F x 5F = 25 F^2)
    cell_h_f: float = 5.0               # 1T1R cell height, in F
    column_periphery_f2: float = 1800.0  # XNOR-PCSA ~900 F^2 + BL/BLb write drivers ~900 F^2
    row_periphery_f2: float = 1500.0    # read + write decoder slices, level-shifting WL driver
    sense_delay_ns: float = 0.1         # PCSA resolution "as fast as 100 ps" (Zhao et al. 2014) ...
    sense_node_nm: float = 28.0         # ... read at the paper's scaled node (28 nm, Methods)
    fo4_ps_per_um: float = 360.0        # FO4 = 360 ps x L_drawn[um] (Ho, Mai, Horowitz 2001)
    logic_fo4: float = 6.0              # clock buffer 2 + WL driver 2 + output buffer 2 (+ address bits)
    setup_fo4: float = 2.0
    hold_fo4: float = 1.0
    wl_ohm_per_um: float = 1.0          # metal-1 word line at 130 nm (sky130 met1: 0.9 ohm/um)
    wire_f_per_um: float = 0.2e-15      # minimum-pitch wire capacitance
    junction_f: float = 0.5e-15         # one cell's access-transistor drain on a bit line, 130 nm
    gate_f: float = 0.6e-15             # one access-transistor gate on the word line, 130 nm
    latch_f: float = 4e-15              # PCSA latch and XNOR nodes, 130 nm
    power_pair_rows: int = 20           # one power/ground stripe pair per 20 placement rows of width


DEFAULT_PARAMS = MacroParams()

# Pin and power layers of the abstract, per platform. sky130hd: ORFS places I/O pins on met2
# (vertical) and met3 (horizontal) (IO_PLACER_V/H in flow/platforms/sky130hd/config.mk) and its
# PDN connects macro power pins on met4 to met5 (pdn.tcl); nangate45: as the fakeram45 macros
# ORFS ships (signal pins on metal3, power on metal4; pdn connects metal4 to metal5/6), with
# metal2 (ORFS's MIN_ROUTING_LAYER) for the column pins. Power pin names are those the
# platforms' pdn.tcl connects (add_global_connection).
LAYOUT = {
    "sky130hd": dict(bottom="met2", side="met3", power="met4", vdd="VPWR", vss="VGND"),
    "nangate45": dict(bottom="metal2", side="metal3", power="metal4", vdd="VDD", vss="VSS"),
}


def macro_pins(n: int) -> list[tuple[str, str, int]]:
    """``(name, direction, width)`` of the n x n XNOR macro's signal pins, as its Verilog stub
    declares them (:meth:`hwgen.rtl.macros.MacroSpec.pins`)."""
    return MacroSpec.weights(n).pins()


# -- the model --------------------------------------------------------------------------------

def _ceil_to(value: float, step: int) -> int:
    return int(math.ceil(value / step - 1e-9)) * step


@dataclass(frozen=True)
class MacroModel:
    """The model of one macro on one platform. Lengths in um, times in ns, energies in J."""

    name: str
    spec: MacroSpec
    platform: Platform
    params: MacroParams
    width_um: float
    height_um: float
    read_delay_ns: float
    setup_ns: float
    hold_ns: float
    min_period_ns: float
    sense_energy_j: float         # one 2T2R pair sensed (and XNORed) by its PCSA
    leakage_w: float
    periphery_um2: float
    supply_v: float
    _lib: LibertyInfo = field(repr=False, compare=False)
    _pins: tuple = field(repr=False, compare=False)         # (name, dir, layer, (x0, y0, x1, y1) nm)
    _power: tuple = field(repr=False, compare=False)        # (name, use, layer, rect nm)
    _obs: tuple = field(repr=False, compare=False)          # (layer, rect nm)

    @property
    def area_um2(self) -> float:
        return self.width_um * self.height_um

    @property
    def n(self) -> int:
        """Rows of the array (an n x n weight macro's n)."""
        return self.spec.rows

    @property
    def row_read_energy_j(self) -> float:
        """One read: every column of a row sensed."""
        return self.spec.columns * self.sense_energy_j

    def summary(self) -> dict:
        return {"macro": self.name, "kind": self.spec.kind, "rows": self.spec.rows, "columns": self.spec.columns,
                "n": self.n, "platform": self.platform.name,
                "node_nm": self.platform.process_nm, "supply_v": self.supply_v,
                "width_um": self.width_um, "height_um": self.height_um, "area_um2": round(self.area_um2, 4),
                "read_delay_ns": round(self.read_delay_ns, 6), "setup_ns": round(self.setup_ns, 6),
                "hold_ns": round(self.hold_ns, 6), "min_period_ns": round(self.min_period_ns, 6),
                "sense_energy_fj": round(self.sense_energy_j * 1e15, 6),
                "row_read_energy_fj": round(self.row_read_energy_j * 1e15, 6),
                "leakage_nw": round(self.leakage_w * 1e9, 6)}

    def liberty_text(self) -> str:
        """The macro's Liberty view (:func:`hwgen.flow.macroabstract.liberty_text`)."""
        return macroabstract.liberty_text(self)

    def lef_text(self) -> str:
        """The macro's LEF abstract (:func:`hwgen.flow.macroabstract.lef_text`)."""
        return macroabstract.lef_text(self)

    @property
    def lib_info(self) -> LibertyInfo:
        return self._lib

    @property
    def layout(self) -> dict:
        return LAYOUT[self.platform.name]


SIDE_PINS = ("clk", "re", "rrow", "we", "wrow", "wlane")     # row and control pins: the left edge


def _bits(spec: MacroSpec):
    """Pin bits in LEF order: the column pins (bottom edge, bit i of each beside the others'),
    and the row/control pins (left edge)."""
    pins = spec.pins()
    bit = lambda p, w, i: p if w == 1 else f"{p}[{i}]"  # noqa: E731
    columns = [(p, d, w) for p, d, w in pins if p not in SIDE_PINS]
    bottom = [(bit(p, w, i), d) for i in range(max(w for _, _, w in columns)) for p, d, w in columns if i < w]
    side = [(bit(p, w, i), d) for name in SIDE_PINS for p, d, w in pins if p == name for i in range(w)]
    return bottom, side


def _tracks(lay: RoutingLayer, low: int, high: int) -> list[int]:
    """Centres of the layer's tracks whose wire lies within [low, high]."""
    half = lay.width // 2
    k0 = max(0, math.ceil((low + half - lay.offset) / lay.pitch))
    out = []
    c = lay.offset + k0 * lay.pitch
    while c + half <= high:
        out.append(c)
        c += lay.pitch
    return out


def _spread(count: int, tracks: list[int]) -> list[int]:
    return [tracks[(2 * j + 1) * len(tracks) // (2 * count)] for j in range(count)]


def _pin_depth(lay: RoutingLayer, grid: int) -> int:
    return max(2 * lay.pitch, _ceil_to(lay.min_area * 1e6 / lay.width, grid))


def macro_model(spec, platform, params: MacroParams = DEFAULT_PARAMS) -> MacroModel:
    """The model of macro ``spec`` (a :class:`MacroSpec`, or n for the n x n XNOR weight macro) on
    ``platform`` (a :class:`Platform` or its name)."""
    if not isinstance(spec, MacroSpec):
        spec = MacroSpec.weights(spec)
    if spec.kind == "ternary":
        raise ConfigError(f"{spec.name}: the ternary macro has no area, timing or energy model yet "
                          f"(its PCSA reads at low supply); synthesize and time binary designs")
    rows, columns = spec.rows, spec.columns
    if isinstance(platform, str):
        platform = get_platform(platform)
    if platform.name not in LAYOUT or not platform.has_layout or platform.process_nm is None or not platform.buffer:
        raise ConfigError(f"the RRAM macro model needs a named platform ({', '.join(LAYOUT)}), "
                          f"not {platform.name!r}: it scales with the platform's node and uses its LEF")
    lib = liberty_info(platform)
    tech = tech_info(platform)
    p, node = params, float(platform.process_nm)
    f_um = node / 1000.0                      # F at the platform's node, in um
    k = node / p.feature_nm                   # capacitances per device scale with F

    # -- geometry (um), then pins (nm) -----------------------------------------------------
    cell_w, cell_h = 2 * p.cell_w_f * f_um, p.cell_h_f * f_um          # one 2T2R pair
    row_band = p.row_periphery_f2 / p.cell_h_f * f_um
    col_band = p.column_periphery_f2 / (2 * p.cell_w_f) * f_um
    width, height = row_band + columns * cell_w, rows * cell_h + col_band
    periphery = width * height - rows * columns * cell_w * cell_h

    lay = LAYOUT[platform.name]
    bottom_l, side_l, power_l = (tech.layer(lay[k_]) for k_ in ("bottom", "side", "power"))
    if not bottom_l.vertical or side_l.vertical or not power_l.vertical:
        raise DataError(f"{platform.tech_lef.name}: expected {bottom_l.name}/{power_l.name} vertical and "
                        f"{side_l.name} horizontal")
    grid = tech.grid
    d_bottom, d_side = _pin_depth(bottom_l, grid), _pin_depth(side_l, grid)
    keep = max(d_bottom, d_side) + max(bottom_l.pitch, side_l.pitch)
    bottom, side = _bits(spec)
    sw, sh = tech.site
    w_nm, h_nm = _ceil_to(to_nm(width), sw), _ceil_to(to_nm(height), sh)
    # Widen or heighten the block until its pins fit on one track each along their edge.
    while len(_tracks(bottom_l, keep, w_nm - bottom_l.pitch)) < len(bottom):
        w_nm += sw
    while len(_tracks(side_l, keep, h_nm - side_l.pitch)) < len(side):
        h_nm += sh
    pins = []
    for (bit, d), x in zip(bottom, _spread(len(bottom), _tracks(bottom_l, keep, w_nm - bottom_l.pitch))):
        half = bottom_l.width // 2
        pins.append((bit, d, bottom_l.name, (x - half, 0, x + half, d_bottom)))
    for (bit, d), y in zip(side, _spread(len(side), _tracks(side_l, keep, h_nm - side_l.pitch))):
        half = side_l.width // 2
        pins.append((bit, d, side_l.name, (0, y - half, d_side, y + half)))
    # Power: alternating VDD/VSS stripes on the power layer, centred on its tracks, full height.
    pairs = max(1, int(w_nm // (p.power_pair_rows * sh)))
    stripe = 4 * power_l.width
    gap = power_l.pitch - power_l.width
    centres = _tracks(dataclasses.replace(power_l, width=stripe), keep, w_nm)
    power = []
    for j, x in enumerate(_spread(2 * pairs, centres)):
        name, use = (lay["vdd"], "POWER") if j % 2 == 0 else (lay["vss"], "GROUND")
        power.append((name, use, power_l.name, (x - stripe // 2, 0, x + stripe // 2, h_nm)))
    obs = []
    for layer in tech.layers:
        if layer.name == bottom_l.name:
            obs.append((layer.name, (0, d_bottom + bottom_l.pitch, w_nm, h_nm)))
        elif layer.name == side_l.name:
            obs.append((layer.name, (d_side + side_l.pitch, 0, w_nm, h_nm)))
        elif layer.name == power_l.name:
            x = 0
            for _, _, _, (x0, _, x1, _) in power:
                if x0 - gap > x:
                    obs.append((layer.name, (x, 0, x0 - gap, h_nm)))
                x = x1 + gap
            if x < w_nm:
                obs.append((layer.name, (x, 0, w_nm, h_nm)))
        else:
            obs.append((layer.name, (0, 0, w_nm, h_nm)))
        if layer.name == power_l.name:
            break                             # the layers above stay free for the power grid

    # -- timing (ns) -------------------------------------------------------------------------
    fo4_ns = p.fo4_ps_per_um * node / 1000.0 / 1000.0
    sense = p.sense_delay_ns * node / p.sense_node_nm
    wl_len = columns * cell_w
    wl_r = p.wl_ohm_per_um * (p.feature_nm / node) ** 2 * wl_len
    wl_c = p.wire_f_per_um * wl_len + 2 * columns * p.gate_f * k
    read = sense + (p.logic_fo4 + index_width(rows)) * fo4_ns + 0.38 * wl_r * wl_c * 1e9

    # -- energy (J) and leakage (W) -------------------------------------------------------------
    vdd = lib.voltage * lib.volt_v
    w_um, h_um = w_nm / 1000, h_nm / 1000
    periphery += w_um * h_um - width * height                  # snapping and pin room add periphery
    return MacroModel(name=spec.name, spec=spec, platform=platform, params=params, width_um=w_um, height_um=h_um,
                      read_delay_ns=read, setup_ns=p.setup_fo4 * fo4_ns, hold_ns=p.hold_fo4 * fo4_ns,
                      min_period_ns=read + sense, sense_energy_j=sense_energy_at(rows, node, vdd, p),
                      leakage_w=periphery * lib.leakage_per_um2_w, periphery_um2=periphery, supply_v=vdd,
                      _lib=lib, _pins=tuple(pins), _power=tuple(power), _obs=tuple(obs))


def sense_energy_at(n: int, node_nm: float, vdd: float, params: MacroParams = DEFAULT_PARAMS) -> float:
    """Energy of one sense (J) for an n-row array at any node and supply: the model's formula
    without a platform, e.g. for the cross-check against the paper's 28 nm figure. The bit lines
    are n cells long; the threshold memories' plain PCSAs are priced as the XNOR-PCSAs (an upper
    bound: the XNOR branch is counted in ``latch_f``)."""
    p, k, f_um = params, node_nm / params.feature_nm, node_nm / 1000.0
    cell_w, cell_h = 2 * p.cell_w_f * f_um, p.cell_h_f * f_um
    c_bl = n * p.junction_f * k + n * cell_h * p.wire_f_per_um
    return (2 * c_bl + p.latch_f * k + 2 * p.gate_f * k + 2 * cell_w * p.wire_f_per_um) * vdd ** 2


def view_macros(manifest, view: str = "macro") -> list[MacroSpec]:
    """The macros of a design's view, from its black-box stubs (``<macro>_bb.v``, each an hwgen
    RRAM macro's name: anything else is refused, so no other name reaches a tool)."""
    specs = []
    for stub in manifest.view(view).blackbox:
        if not stub.endswith("_bb.v"):
            raise ConfigError(f"{manifest.folder}: black box {stub!r} of the {view} view is not an hwgen macro stub")
        specs.append(MacroSpec.from_name(stub[:-len("_bb.v")]))
    return specs
