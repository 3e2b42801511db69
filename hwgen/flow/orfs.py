"""Export of a generated design as an OpenROAD-flow-scripts (ORFS) design, ready to copy into
``flow/designs/`` and run with ``make DESIGN_CONFIG=./designs/<platform>/<design>/config.mk``.

The export folder holds ``designs/<platform>/<design>/`` (shaped like ORFS's
``flow/designs/sky130hd/gcd``) and ``hwgen_orfs.json``, the list of what hwgen wrote there:

- ``config.mk``: DESIGN_NAME (the view's top), DESIGN_NICKNAME (the design folder's name and the
  view, ``<folder>_<view>``, or ``--nickname``: ORFS names its work, log and result folders by it,
  and every generated top of a view has the same name, so two designs would share them), PLATFORM,
  VERILOG_FILES, SDC_FILE, CORE_UTILIZATION; for the ``macro`` view also
  ADDITIONAL_LEFS/ADDITIONAL_LIBS (the macro abstracts of :mod:`hwgen.flow.macro`),
  MACRO_PLACE_HALO, MACRO_PLACEMENT_TCL and GDS_ALLOW_EMPTY (:data:`GDS_ALLOW_EMPTY`).
- ``constraint.sdc`` (:func:`hwgen.flow.sdc.sdc_text`), the view's Verilog files, and for the
  macro view ``lef/<macro>.lef``, ``lib/<macro>.lib`` and ``macro_placement.tcl``.

Conventions (checked against ORFS, flow/scripts at the time of writing):

- Every path in config.mk is ``$(DESIGN_HOME)/$(PLATFORM)/$(DESIGN_NICKNAME)/...``, as ORFS's
  ihp-sg13g2/i2c-gpio-expander and nangate45/tinyRocket do, so one folder holds the whole design
  (Verilog included: the macro view's sources are not platform-specific, but keeping them in
  the platform folder makes the copy a single ``cp -r``). ORFS sets DESIGN_HOME to
  ``flow/designs`` (scripts/variables.mk).
- The black-box stub of the macro is *not* in VERILOG_FILES: ORFS reads every ADDITIONAL_LIBS
  cell as a black box before the Verilog (scripts/synth_stdcells.tcl: ``read_liberty -lib``),
  as the fakeram macros of nangate45/ariane133 and swerv_wrapper are, so no SYNTH_BLACKBOXES
  entry is needed.
- Macro instance names: ORFS synthesises flat by default (SYNTH_HIERARCHICAL=0) and Yosys's
  ``flatten`` names a flattened instance by its instance path joined with SYNTH_HIER_SEPARATOR,
  default ``.`` (as in nangate45/black_parrot's macro_placement.tcl). Both are set explicitly,
  and the names are read from the view's Verilog (``col_0.cell_0.block.macro`` for an array).
  Yosys also removes a macro whose outputs nothing reads (a cell padding a layer narrower than
  its array: 2 of the 18 in a 20-12-10 network of n=8), so the placement script places only
  the instances the netlist has.
- Macro placement (MACRO_PLACEMENT_TCL, sourced by ORFS's macro_place.tcl before
  rtl_macro_placer, which places only what is left): the macros on a grid from the lower left
  of the core, one halo (MACRO_PLACE_HALO, 4 placement rows) from its edges and two halos apart
  so halos do not overlap. The script reads the core box at run time (``getCoreArea``), so it
  serves any utilization; place_macro then snaps each macro to the routing tracks. The core is a
  square (CORE_ASPECT_RATIO 1) of area instances / CORE_UTILIZATION (initialize_floorplan counts
  macros too), so the grid fits whenever it fits in the square the macros alone would fill: a
  utilization above that is refused, and the default (30 %) is lowered to it. Standard cells
  get the rest; PLACE_DENSITY_LB_ADDON lets ORFS choose the placement density. The layers'
  threshold memories (one macro per layer) are not on the grid: the core grows by their area
  and ORFS's macro placer places them beside it.

- The RRAM macros have a LEF abstract but no layout, so ORFS's final merge (util/def2stream.py)
  would stop on "LEF Cell ... has no matching GDS/OAS cell". GDS_ALLOW_EMPTY, a regular
  expression def2stream matches (``re.match``) against every empty cell name, names them, as
  nangate45's ``fakeram.*`` does; their area stays empty in the GDS.

Only validated identifiers (the manifest's top, macro names, instance paths of identifier
components) and numbers reach config.mk, the SDC and the Tcl. The folder is written atomically
(:func:`hwgen.files.write_folder`); an existing folder is replaced only when it holds nothing
but an earlier export's files.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

from .. import __version__
from ..errors import ConfigError, HwgenError, OutputError
from ..files import write_folder
from ..hwconfig import check_float
from ..manifest import IDENTIFIER_RULE, Manifest, check_identifier, is_identifier
from ..rtl.macros import MacroSpec
from .macro import macro_model
from .platform import PLATFORMS, Platform, get_platform
from .sdc import DEFAULT_PERIOD_NS, sdc_text
from .techinfo import tech_info

MARKER = "hwgen_orfs.json"
FORMAT = "hwgen-orfs-export"
FLOW_VIEWS = ("synth", "macro")
DEFAULT_UTILIZATION = {"synth": 40.0, "macro": 30.0}  # ORFS's sky130hd/gcd uses 38
UTILIZATION_BOUNDS = (1.0, 95.0)
HALO_ROWS = 4           # macro halo: 4 placement rows (ORFS's 40 um sky130hd default is sized for big RAMs)
PLACE_DENSITY_LB_ADDON = 0.1   # ORFS picks the lowest legal density and adds this (as swerv_wrapper)
YOSYS_MEMORY_BITS = 4096       # ORFS's SYNTH_MEMORY_MAX_BITS default (scripts/variables.yaml)
# every hwgen RRAM macro name (hwgen.rtl.macros.MacroSpec.name) starts with this
MACRO_PREFIX = "hwgen_rram2t2r_"
GDS_ALLOW_EMPTY = MACRO_PREFIX + ".*"

_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MODULE = re.compile(r"^module\s+(\\\S+|[A-Za-z_][\w$]*)\s*\((.*?)^endmodule", re.S | re.M)
_INSTANCE = re.compile(r"^\s+(\\\S+|[A-Za-z_][\w$]*)\s+(\\\S+|[A-Za-z_][\w$]*)\s*\(", re.M)


def _plain(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


def verilog_modules(texts) -> dict[str, list[tuple[str, str]]]:
    """``module -> [(instance type, instance name)]`` of Verilog ``texts`` as hwgen writes them."""
    modules = {}
    for text in texts:
        for m in _MODULE.finditer(text):
            modules[_plain(m.group(1))] = [(_plain(t), _plain(i)) for t, i in _INSTANCE.findall(m.group(2))]
    return modules


def macro_instances(texts, top: str, macros) -> list[tuple[str, str]]:
    """``(instance path, macro)`` of every instance of a module in ``macros`` under ``top``, the
    path joined with ``.`` as Yosys's ``flatten`` names it, in natural order."""
    modules = verilog_modules(texts)
    if top not in modules:
        raise HwgenError(f"the Verilog does not define the top module {top}")
    found = []

    def walk(module, prefix, depth):
        if depth > 64:
            raise HwgenError(f"module hierarchy under {top} is too deep (recursive?)")
        for kind, inst in modules[module]:
            if kind in macros:
                found.append((prefix + inst, kind))
            elif kind in modules:
                walk(kind, prefix + inst + ".", depth + 1)

    walk(top, "", 0)
    for path, _ in found:
        if not _PATH.fullmatch(path):
            raise HwgenError(f"macro instance path {path!r} is not a dotted path of identifiers")
    key = lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p[0])]  # noqa: E731
    return sorted(found, key=key)


def _check_utilization(value):
    if value is None:
        return None
    return check_float("--utilization", value, *UTILIZATION_BOUNDS, "%", noun="a percentage", error=ConfigError)


def _resolve_platform(platform, pdk_dir) -> Platform:
    if isinstance(platform, Platform):
        plat = platform
    elif isinstance(platform, str):
        plat = get_platform(platform, pdk_dir=pdk_dir)
    else:
        raise ConfigError(f"--platform must be a platform name ({', '.join(PLATFORMS)}), not {platform!r}")
    if plat.name not in PLATFORMS or not plat.has_layout:
        raise ConfigError(f"ORFS export needs a named platform (--platform {'|'.join(PLATFORMS)}): ORFS runs on "
                          f"its own platform folders, and the custom Liberty {plat.liberty.name} has no LEF")
    return plat


def max_grid_utilization(count: int, w: float, h: float, halo: float, site: tuple, other_area: float = 0.0) -> float:
    """The highest CORE_UTILIZATION (%) at which ``count`` macros of ``w`` x ``h`` um, ``2 halo``
    apart and one halo from the core's edges, fit on a grid in the square core ORFS makes, with
    ``other_area`` um^2 of other macros beside the grid.

    The core is at least the square the macros alone fill at that utilization
    (initialize_floorplan: core area = instance area / utilization); one row and one site are
    kept for the floorplan's snapping of the core to its rows.
    """
    sw, sh = site
    side = min(max(cols * (w + 2 * halo), math.ceil(count / cols) * (h + 2 * halo)) for cols in range(1, count + 1))
    return 100.0 * (count * w * h + other_area) / ((side + sh + sw) ** 2 + other_area)


def _num(v: float) -> str:
    return f"{v:.4f}".rstrip("0").rstrip(".")


# Runs in OpenROAD's macro_place.tcl (MACRO_PLACEMENT_TCL), after the floorplan made the core.
PLACEMENT_TCL = """\
proc hwgen_place_macros {names w h halo} {
  set block [ord::get_db_block]
  set dbu [expr {double([$block getDbUnitsPerMicron])}]
  set core [$block getCoreArea]
  set x0 [expr {[$core xMin] / $dbu}]
  set y0 [expr {[$core yMin] / $dbu}]
  set x1 [expr {[$core xMax] / $dbu}]
  set y1 [expr {[$core yMax] / $dbu}]
  set cols [expr {max(1, int(($x1 - $x0) / ($w + 2 * $halo)))}]
  set k 0
  foreach name $names {
    if {[$block findInst $name] eq "NULL"} { continue }
    set x [expr {$x0 + $halo + ($k % $cols) * ($w + 2 * $halo)}]
    set y [expr {$y0 + $halo + ($k / $cols) * ($h + 2 * $halo)}]
    if {$x + $w + $halo > $x1 || $y + $h + $halo > $y1} {
      puts "hwgen: no grid room left in the core after $k macros; the macro placer places the rest"
      return
    }
    place_macro -macro_name $name -location [list $x $y] -orientation R0
    incr k
  }
}
"""


def placement_tcl(instances, top: str, platform_name: str, w: float, h: float, halo: float) -> str:
    """MACRO_PLACEMENT_TCL: the macros on a grid from the lower left of the core (see the module
    docstring), computed from the core box at run time so that it serves any utilization."""
    names = "\n".join(f"  {path}" for path, _ in instances)
    return (f"# Generated by hwgen {__version__}: placement of the {len(instances)} RRAM macros of {top} on "
            f"{platform_name}:\n"
            "# a grid from the lower left of the core, one halo from its edges and two halos apart. Names:\n"
            "# Yosys flat synthesis, hierarchy joined with SYNTH_HIER_SEPARATOR \".\" (see config.mk).\n"
            "# Synthesis removes a macro whose outputs nothing reads (a cell padding a layer narrower than its\n"
            "# array), so only the macros the netlist still has are placed; any the core has no grid room for\n"
            "# are left to the macro placer.\n"
            + PLACEMENT_TCL + f"hwgen_place_macros {{\n{names}\n}} {_num(w)} {_num(h)} {_num(halo)}\n")


def _blackboxes(entry, texts) -> dict[str, MacroSpec]:
    """``macro name -> spec`` of the view's black-box stubs (each must be an hwgen RRAM macro)."""
    found = {}
    for stub in sorted(entry.blackbox):
        for name in re.findall(r"^module\s+([A-Za-z_]\w*)", texts[stub], re.M):
            try:
                found[name] = MacroSpec.from_name(name)
            except ConfigError:
                raise HwgenError(f"black box {name} in {stub} is not an hwgen RRAM macro") from None
            if not re.match(GDS_ALLOW_EMPTY, name):         # as def2stream matches it
                raise HwgenError(f"macro {name} would not match GDS_ALLOW_EMPTY {GDS_ALLOW_EMPTY}")
    return found


def _macro_files(manifest: Manifest, entry, texts: dict, platform: Platform, utilization, base: str):
    """Files and config.mk lines of the macro view: abstracts, placement, utilization."""
    top = entry.top
    boxes = _blackboxes(entry, texts)
    if not boxes:
        raise HwgenError(f"the macro view of {top} lists no RRAM macro black box")
    sources = [texts[f] for f in entry.verilog if f not in entry.blackbox]
    weight_boxes = {name for name, spec in boxes.items() if spec.kind != "thresholds"}
    instances = macro_instances(sources, top, weight_boxes)
    cells = manifest.hw.cells if manifest.hw is not None else sum(p.hw.cells for p in manifest.layers)
    if len(instances) != cells:
        raise HwgenError(f"found {len(instances)} RRAM macro instances in {top}, expected one per cell ({cells})")
    models = {name: macro_model(spec, platform) for name, spec in sorted(boxes.items())}
    files = {}
    for name, model in models.items():
        files[f"lef/{name}.lef"] = model.lef_text()
        files[f"lib/{name}.lib"] = model.liberty_text()
    row_h, site_w = platform_site(platform)
    halo = HALO_ROWS * row_h
    # The weight macros go on one grid (with several sizes every slot takes the largest); the
    # layers' threshold memories (one per layer, a few per design) are left to the macro placer,
    # and the core grows by their area.
    w = max(models[name].width_um for name in weight_boxes)
    h = max(models[name].height_um for name in weight_boxes)
    others = sum(models[kind].area_um2 for _, kind in macro_instances(sources, top, set(boxes) - weight_boxes))
    u_max = max_grid_utilization(len(instances), w, h, halo, (site_w, row_h), others)
    if utilization is None:
        utilization = min(DEFAULT_UTILIZATION["macro"], math.floor(u_max))
        if utilization < UTILIZATION_BOUNDS[0]:
            raise ConfigError(f"the {len(instances)} RRAM macros of {top} fit no core ORFS would make")
    elif utilization > u_max:
        raise ConfigError(f"--utilization {utilization:g}: the core would be too small for the grid of "
                          f"{len(instances)} RRAM macros and their halos; use at most {math.floor(u_max * 10) / 10:g}")
    files["macro_placement.tcl"] = placement_tcl(instances, top, platform.name, w, h, halo)
    cfg = [f"export CORE_UTILIZATION = {utilization:g}", "export CORE_ASPECT_RATIO = 1",
           f"export PLACE_DENSITY_LB_ADDON = {PLACE_DENSITY_LB_ADDON:g}", "",
           "# The RRAM macros (hwgen/flow/macro.py). ORFS reads ADDITIONAL_LIBS as black boxes for synthesis,",
           "# so the Verilog stub of the macro is not among VERILOG_FILES.",
           "export ADDITIONAL_LEFS = " + " \\\n    ".join(f"{base}/lef/{n}.lef" for n in models),
           "export ADDITIONAL_LIBS = " + " \\\n    ".join(f"{base}/lib/{n}.lib" for n in models),
           f"export MACRO_PLACE_HALO = {_num(halo)} {_num(halo)}",
           f"export MACRO_PLACEMENT_TCL = {base}/macro_placement.tcl",
           "# macro_placement.tcl names the macros as flat synthesis with this separator does",
           "export SYNTH_HIERARCHICAL = 0", "export SYNTH_HIER_SEPARATOR = .",
           "# The RRAM macros are abstracts with no layout: the final GDS merge leaves them empty",
           f"export GDS_ALLOW_EMPTY = {GDS_ALLOW_EMPTY}"]
    return files, cfg


def design_nickname(manifest: Manifest, view: str, nickname=None) -> str:
    """DESIGN_NICKNAME: ``nickname`` (``--nickname``), else ``<design folder name>_<view>``; an
    identifier either way (it names folders and enters make)."""
    if nickname is not None:
        if not is_identifier(nickname):
            raise ConfigError(f"--nickname must be {IDENTIFIER_RULE}, not {nickname!r}")
        return nickname
    name = f"{manifest.folder.name}_{view}"
    if not is_identifier(name):
        raise ConfigError(f"the design folder's name {manifest.folder.name!r} makes no ORFS DESIGN_NICKNAME "
                          f"({IDENTIFIER_RULE}); pass one with --nickname")
    return name


def orfs_files(manifest: Manifest, platform: Platform, view: str = "macro", period_ns: float = DEFAULT_PERIOD_NS,
               utilization=None, nickname=None) -> tuple[str, dict]:
    """``(DESIGN_NICKNAME, {relative path: text})`` of the ORFS design folder (no writing)."""
    if view not in FLOW_VIEWS:
        raise ConfigError(f"--view: ORFS export takes the {' or '.join(FLOW_VIEWS)} view, not {view!r}")
    utilization = _check_utilization(utilization)
    nickname = design_nickname(manifest, view, nickname)
    entry = manifest.view(view)
    top = check_identifier("top", entry.top)
    sdc = sdc_text(top, period_ns)
    texts = {}
    for name, path in zip(entry.verilog, manifest.sources(view)):
        try:
            texts[name] = path.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise HwgenError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None
    base = "$(DESIGN_HOME)/$(PLATFORM)/$(DESIGN_NICKNAME)"
    files = {name: texts[name] for name in entry.verilog if name not in entry.blackbox}
    kind = "an array" if manifest.kind == "array" else "a network"
    cfg = [f"# Generated by hwgen {__version__}: OpenROAD-flow-scripts design of the {view} view of {top}",
           f"# ({kind}) on {platform.name}. Copy this folder to flow/designs/{platform.name}/{nickname} and run",
           f"#   make DESIGN_CONFIG=./designs/{platform.name}/{nickname}/config.mk",
           f"export DESIGN_NAME = {top}", f"export DESIGN_NICKNAME = {nickname}", f"export PLATFORM = {platform.name}",
           "",
           "export VERILOG_FILES = " + " \\\n    ".join(f"{base}/{name}" for name in files),
           f"export SDC_FILE = {base}/constraint.sdc", ""]
    files["constraint.sdc"] = sdc
    if view == "synth":
        hws = [manifest.hw] if manifest.hw is not None else [p.hw for p in manifest.layers]
        bits = max(hw.n * hw.n for hw in hws)
        cfg.append(f"export CORE_UTILIZATION = {utilization or DEFAULT_UTILIZATION['synth']:g}")
        if bits > YOSYS_MEMORY_BITS:
            cfg += ["# each n x n weight memory becomes flip-flops; ORFS refuses larger memories by default",
                    f"export SYNTH_MEMORY_MAX_BITS = {bits}"]
    else:
        more, lines = _macro_files(manifest, entry, texts, platform, utilization, base)
        files.update(more)
        cfg += lines
    files["config.mk"] = "\n".join(cfg) + "\n"
    return nickname, files


def platform_site(platform: Platform) -> tuple[float, float]:
    """``(row height, site width)`` in um of the platform's placement site (its technology LEF)."""
    site_w, row_h = tech_info(platform).site
    return row_h / 1000, site_w / 1000


def _previous_export(folder: Path):
    """Top-level entries of an earlier export in ``folder``; refuses a folder holding anything
    else (hwgen never deletes what it did not write)."""
    try:
        d = json.loads((folder / MARKER).read_text())
        listed = set(d["files"]) if d.get("format") == FORMAT else None
    except (OSError, ValueError, KeyError, TypeError):
        listed = None
    if listed is None:
        raise OutputError(f"-o {folder} is not empty and is not an hwgen ORFS export (no {MARKER}); hwgen never "
                          f"deletes what it did not write: choose a new or empty folder")
    listed.add(MARKER)
    dirs = {str(Path(f).parent) for f in listed}
    dirs = {str(p) for d in dirs for p in [Path(d), *Path(d).parents]} - {"."}
    for root, subdirs, names in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for name in sorted(subdirs + names):
            path = (rel / name).as_posix()
            if path not in listed and path not in dirs:
                raise OutputError(f"-o {folder} holds {path}, which hwgen did not write there; move it away or "
                                  f"choose another folder (hwgen never deletes what it did not write)")
    return {Path(f).parts[0] for f in listed}


def export_orfs(design_folder, platform, out_dir, view: str = "macro", period_ns: float = DEFAULT_PERIOD_NS,
                utilization=None, pdk_dir=None, nickname=None) -> Path:
    """Write the ORFS design of ``view`` of the design in ``design_folder`` for ``platform`` (a
    name, or a :class:`Platform`) into ``out_dir``; returns ``out_dir/designs/<platform>/<nickname>``
    (:func:`design_nickname`).
    """
    plat = _resolve_platform(platform, pdk_dir)
    manifest = Manifest.load(design_folder)
    nickname, files = orfs_files(manifest, plat, view, period_ns, utilization, nickname)
    prefix = f"designs/{plat.name}/{nickname}"
    content = {f"{prefix}/{rel}": text for rel, text in sorted(files.items())}
    marker = {"format": FORMAT, "version": 1, "generator": f"hwgen {__version__}", "platform": plat.name,
              "design": nickname, "top": manifest.view(view).top, "view": view, "kind": manifest.kind,
              "files": sorted(content)}
    content[MARKER] = json.dumps(marker, indent=2, sort_keys=True) + "\n"
    out_dir = Path(out_dir)
    write_folder(out_dir, content, _previous_export)
    return out_dir / prefix
