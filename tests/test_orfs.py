"""The RRAM macro abstract (hwgen/flow/macro.py) and the OpenROAD-flow-scripts export
(hwgen/flow/orfs.py): files that resolve, views that agree, and tools that accept them."""

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hwgen.errors import ConfigError, ManifestError, OutputError
from hwgen.flow.macro import macro_model, macro_pins, sense_energy_at, view_macros
from hwgen.flow.orfs import MARKER, export_orfs, macro_instances
from hwgen.flow.platform import get_platform
from hwgen.flow.techinfo import tech_info
from hwgen.generate import generate_array, generate_network
from hwgen.hwconfig import HwConfig
from hwgen.ir import Layer, Network
from hwgen.netplan import plan_network
from hwgen.rtl.rram import macro_name

PLATFORMS = ("sky130hd", "nangate45")
NET_SEED = 5
# the variables ORFS reads: the top-level keys of its flow/scripts/variables.yaml (a copy)
ORFS_VARIABLES = set(re.findall(r"^([A-Z][A-Z0-9_]*):", (Path(__file__).parent / "data" / "orfs_variables.yaml")
                                .read_text(), re.M))


def platform_or_skip(name):
    try:
        return get_platform(name)
    except ConfigError as e:
        pytest.skip(f"platform files not installed: {e}")


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    """An 8x(2x2) array (synth and macro views) and a 20-12-10 network of n=8 (macro view)."""
    root = tmp_path_factory.mktemp("orfs_designs")
    array = generate_array(HwConfig(n=8, N=2, M=2), root / "array", views=("synth", "macro"))
    rng = np.random.default_rng(NET_SEED)
    print("network seed", NET_SEED)
    sizes = [20, 12, 10]
    layers = [Layer.from_bits(rng.integers(0, 2, (b, a)), rng.integers(0, a + 2, b),
                              output="popcount" if k == len(sizes) - 2 else "sign", name=f"fc{k + 1}")
              for k, (a, b) in enumerate(zip(sizes, sizes[1:]))]
    net = Network(layers, {"input_threshold": 127})
    network = generate_network(net, plan_network(net, 8, ["par2seq", "seq2par"]), root / "net", views=("macro",))
    return {"array": array, "network": network}


# -- small readers: config.mk, LEF, Liberty, Verilog ports ---------------------------------------

def read_config(path: Path, design_home: Path) -> dict:
    """``export VAR = value`` lines (with continuations) of a config.mk, ``$(VAR)`` resolved the
    way ORFS would for a design copied into ``design_home`` (= flow/designs)."""
    text = path.read_text().replace("\\\n", " ")
    env = {"DESIGN_HOME": str(design_home)}
    for m in re.finditer(r"^export\s+(\w+)\s*=\s*(.*)$", text, re.M):
        env[m.group(1)] = re.sub(r"\$\((\w+)\)", lambda v: env[v.group(1)], m.group(2).strip())
    return env


def read_lef(text: str) -> dict:
    text = re.sub(r"#[^\n]*", "", text)
    macro = re.search(r"^MACRO (\S+)\n(.*?)^END \1$", text, re.S | re.M)
    body = macro.group(2)
    size = re.search(r"SIZE ([\d.]+) BY ([\d.]+) ;", body)
    pins = {}
    for m in re.finditer(r"^  PIN (\S+)\n(.*?)^  END \1$", body, re.S | re.M):
        rects = [(layer, tuple(map(float, r.split())))
                 for layer, rs in re.findall(r"LAYER (\S+) ;\n((?:\s+RECT [^;]+;\n)+)", m.group(2))
                 for r in re.findall(r"RECT ([^;]+);", rs)]
        pins[m.group(1)] = {"direction": re.search(r"DIRECTION (\w+)", m.group(2)).group(1),
                            "use": re.search(r"USE (\w+)", m.group(2)).group(1), "rects": rects}
    obs = re.search(r"^  OBS\n(.*?)^  END$", body, re.S | re.M)
    return {"name": macro.group(1), "size": (float(size.group(1)), float(size.group(2))), "pins": pins,
            "obs_layers": re.findall(r"LAYER (\S+) ;", obs.group(1)), "class": re.search(r"CLASS (\w+)", body).group(1),
            "end_library": text.rstrip().endswith("END LIBRARY")}


def liberty_groups(text: str):
    """A Liberty file as nested ``(kind, name, attributes, children)``."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    tokens = re.findall(r'"[^"]*"|[{}();:,]|[^\s{}();:,"]+', text)
    pos = 0

    def group():
        nonlocal pos
        attrs, children = {}, []
        while pos < len(tokens) and tokens[pos] != "}":
            head = tokens[pos]
            if tokens[pos + 1] == ":":
                attrs[head] = tokens[pos + 2].strip('"')
                pos += 4 if tokens[pos + 3] == ";" else 3
                continue
            assert tokens[pos + 1] == "(", tokens[pos:pos + 5]
            end = tokens.index(")", pos)
            args = [t.strip('"') for t in tokens[pos + 2:end] if t != ","]
            pos = end + 1
            if pos < len(tokens) and tokens[pos] == "{":
                pos += 1
                sub_attrs, sub_children = group()
                pos += 1
                children.append((head, args[0] if args else "", sub_attrs, sub_children))
            elif pos < len(tokens) and tokens[pos] == ";":
                pos += 1
        return attrs, children

    return group()[1]


def liberty_pins(text: str) -> dict:
    (lib,) = liberty_groups(text)
    types = {name: int(attrs["bit_width"]) for kind, name, attrs, _ in lib[3] if kind == "type"}
    cells = [c for c in lib[3] if c[0] == "cell"]
    assert len(cells) == 1
    pins = {}
    for kind, name, attrs, children in cells[0][3]:
        if kind in ("pin", "bus"):
            width = types[attrs["bus_type"]] if kind == "bus" else 1
            arcs = {c[2].get("timing_type") for c in children if c[0] == "timing"}
            pins[name] = (attrs["direction"], width, arcs, attrs)
    return {"library": lib[1], "cell": cells[0][1], "cell_attrs": cells[0][2], "pins": pins,
            "lib_attrs": lib[2]}


def verilog_ports(text: str, module: str) -> dict:
    """``name -> (direction, width)`` of a module's port declarations."""
    body = re.search(rf"^module\s+{re.escape(module)}\s*\((.*?)^endmodule", text, re.S | re.M).group(1)
    return {m.group(4): (m.group(1), int(m.group(2)) - int(m.group(3)) + 1 if m.group(2) else 1)
            for m in re.finditer(r"\b(input|output)\s+(?:\[(\d+):(\d+)\]\s*)?(\w+)", body)}


def lef_bus_widths(pins: dict) -> dict:
    widths = {}
    for pin, info in pins.items():
        if info["use"] != "SIGNAL":
            continue
        base = pin.split("[")[0]
        widths.setdefault(base, [info["direction"].lower(), 0])[1] += 1
    return {k: tuple(v) for k, v in widths.items()}


# -- the macro model ------------------------------------------------------------------------------

def test_macro_model_is_documented_scaled_and_consistent():
    sky, ng = platform_or_skip("sky130hd"), platform_or_skip("nangate45")
    for plat in (sky, ng):
        site_w, site_h = (v / 1000 for v in tech_info(plat).site)
        for n in (2, 8, 32):
            m = macro_model(n, plat)
            assert m.name == macro_name(n)
            assert math.isclose(m.width_um / site_w, round(m.width_um / site_w), abs_tol=1e-6)
            assert math.isclose(m.height_um / site_h, round(m.height_um / site_h), abs_tol=1e-6)
            assert m.area_um2 == pytest.approx(m.width_um * m.height_um)
            assert m.row_read_energy_j == pytest.approx(n * m.sense_energy_j)
            assert 0.05 < m.read_delay_ns < 10 and 0 < m.hold_ns < m.setup_ns < m.read_delay_ns < m.min_period_ns
            assert m.leakage_w > 0 and m.supply_v == {"sky130hd": 1.8, "nangate45": 1.1}[plat.name]
    # Bigger arrays: larger, slower, more energy per sensed bit (longer bit lines).
    a, b = macro_model(8, sky), macro_model(32, sky)
    assert b.area_um2 > a.area_um2 and b.read_delay_ns > a.read_delay_ns and b.sense_energy_j > a.sense_energy_j
    # Area scales by (45/130)^2 up to snapping and pin room; 130 nm sky130 is the paper's node.
    ratio = macro_model(32, ng).area_um2 / macro_model(32, sky).area_um2
    assert ratio == pytest.approx((45 / 130) ** 2, rel=0.1)
    # At the paper's 28 nm / 0.9 V projection a sense of a 32-row array stays within its 14 fJ
    # for a read and its addition (section 4.2), and within 25 nJ / 1.86 M synapses per digit.
    e28 = sense_energy_at(32, 28, 0.9)
    print(f"sense energy at 28 nm, 0.9 V, n=32: {e28 * 1e15:.2f} fJ")
    assert 2e-15 < e28 < 14e-15 and e28 < 25e-9 / (784 * 1024 + 1024 * 1024 + 1024 * 10)
    # The texts are deterministic and name hwgen and the model.
    for text in (a.liberty_text(), a.lef_text()):
        assert "Generated by hwgen" in text and "Model parameters: feature_nm=130" in text
    assert a.liberty_text() == macro_model(8, "sky130hd").liberty_text()
    assert a.lef_text() == macro_model(8, "sky130hd").lef_text()
    # Units follow each platform's Liberty: pF on sky130, fF on nangate45 (energy = C V^2 units).
    assert "capacitive_load_unit (1, pf);" in a.liberty_text()
    assert "capacitive_load_unit (1, ff);" in macro_model(8, ng).liberty_text()
    with pytest.raises(ConfigError, match="n must be an integer in"):
        macro_model(1, sky)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_macro_views_agree_with_the_verilog_stub(designs, platform):
    plat = platform_or_skip(platform)
    m = macro_model(8, plat)
    design = designs["array"]
    stub_file = design.folder / design.view("macro").blackbox[0]
    stub = verilog_ports(stub_file.read_text(), macro_name(8))
    assert stub == {p: (d, w) for p, d, w in macro_pins(8)}
    lib = liberty_pins(m.liberty_text())
    assert lib["library"] == lib["cell"] == m.name
    assert float(lib["cell_attrs"]["area"]) == pytest.approx(m.area_um2, 1e-4)
    assert {p: (d, w) for p, (d, w, _, _) in lib["pins"].items()} == stub
    assert lib["pins"]["clk"][3]["clock"] == "true"
    assert lib["pins"]["xnor_row"][2] == {"rising_edge"}
    for p, (d, _, arcs, _) in lib["pins"].items():
        if d == "input" and p != "clk":
            assert arcs == {"setup_rising", "hold_rising"}, p
    lef = read_lef(m.lef_text())
    assert lef["name"] == m.name and lef["class"] == "BLOCK" and lef["end_library"]
    assert lef["size"] == (round(m.width_um, 3), round(m.height_um, 3))
    assert lef_bus_widths(lef["pins"]) == stub
    layers = {lay.name for lay in tech_info(plat).layers}
    w, h = lef["size"]
    uses = {info["use"] for info in lef["pins"].values()}
    assert uses == {"SIGNAL", "POWER", "GROUND"}
    for pin, info in lef["pins"].items():
        for layer, (x0, y0, x1, y1) in info["rects"]:
            assert layer in layers, (pin, layer)
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (pin, x0, y0, x1, y1)
            if info["use"] == "SIGNAL":
                assert x0 == 0 or y0 == 0, f"{pin} is not on the left or bottom edge"
    assert set(lef["obs_layers"]) <= layers and len(lef["obs_layers"]) >= 3
    # Pins on one layer do not overlap.
    shapes = sorted((layer, r) for info in lef["pins"].values() for layer, r in info["rects"])
    for (la, a), (lb, b) in zip(shapes, shapes[1:]):
        assert la != lb or a[2] <= b[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


# -- the export -------------------------------------------------------------------------------------

CASES = [("array", "macro"), ("array", "synth"), ("network", "macro")]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("which,view", CASES)
def test_export_resolves_and_agrees(designs, tmp_path, platform, which, view):
    platform_or_skip(platform)
    manifest = designs[which]
    folder = export_orfs(manifest.folder, platform, tmp_path / "orfs", view=view)
    top = manifest.view(view).top
    # ORFS names its folders by DESIGN_NICKNAME: the design folder's, not the (shared) top's
    nickname = f"{manifest.folder.name}_{view}"
    assert folder == tmp_path / "orfs" / "designs" / platform / nickname
    cfg = read_config(folder / "config.mk", tmp_path / "orfs" / "designs")
    assert cfg["DESIGN_NAME"] == top and cfg["DESIGN_NICKNAME"] == nickname and cfg["PLATFORM"] == platform
    # every variable is one ORFS reads (its own list, tests/data/orfs_variables.yaml)
    assert set(cfg) - {"DESIGN_HOME"} <= ORFS_VARIABLES, set(cfg) - ORFS_VARIABLES
    file_vars = ["VERILOG_FILES", "SDC_FILE"] + (["ADDITIONAL_LEFS", "ADDITIONAL_LIBS", "MACRO_PLACEMENT_TCL"]
                                                  if view == "macro" else [])
    for var in file_vars:
        for path in cfg[var].split():
            assert Path(path).is_file(), (var, path)
    assert 1 <= float(cfg["CORE_UTILIZATION"]) <= 95
    marker = json.loads((tmp_path / "orfs" / MARKER).read_text())
    assert sorted(str(p.relative_to(tmp_path / "orfs")) for p in (tmp_path / "orfs").rglob("*")
                  if p.is_file() and p.name != MARKER) == marker["files"]
    # The Verilog is the view's, minus the black-box stub (ORFS reads the macro from its Liberty).
    verilog = [Path(p) for p in cfg["VERILOG_FILES"].split()]
    entry = manifest.view(view)
    assert [p.name for p in verilog] == [f for f in entry.verilog if f not in entry.blackbox]
    for p in verilog:
        assert p.read_text() == (manifest.folder / p.name).read_text()
    texts = [p.read_text() for p in verilog]
    top_ports = verilog_ports(texts[0], top)
    sdc = Path(cfg["SDC_FILE"]).read_text()
    assert f"current_design {top}\n" in sdc
    clock = re.search(r"set clk_port_name (\w+)", sdc).group(1)
    assert top_ports[clock] == ("input", 1)
    if view == "synth":
        assert "ADDITIONAL_LEFS" not in cfg and "hwgen_rram" not in "".join(texts)
        return
    # One abstract per macro the view's stubs declare: the weight macro and every layer's
    # threshold memory; each agrees with its stub, and every instance connects the stub's ports.
    lefs, libs = sorted(cfg["ADDITIONAL_LEFS"].split()), sorted(cfg["ADDITIONAL_LIBS"].split())
    stubs = {f[:-len("_bb.v")]: (manifest.folder / f).read_text() for f in entry.blackbox}
    assert [Path(p).stem for p in lefs] == [Path(p).stem for p in libs] == sorted(stubs)
    assert macro_name(8) in stubs and any(name.startswith("hwgen_rram2t2r_thr_") for name in stubs)
    cells = manifest.hw.cells if manifest.hw else sum(p.hw.cells for p in manifest.layers)
    for lef_path, lib_path in zip(lefs, libs):
        name = Path(lef_path).stem
        lef, lib = read_lef(Path(lef_path).read_text()), liberty_pins(Path(lib_path).read_text())
        stub = verilog_ports(stubs[name], name)
        assert lef_bus_widths(lef["pins"]) == stub == {p: (d, w) for p, (d, w, _, _) in lib["pins"].items()}
        instances = re.findall(rf"^\s+{name} (\w+) \((.*?)\);", "".join(texts), re.S | re.M)
        assert len(instances) >= 1, name
        for _, conns in instances:
            assert set(re.findall(r"\.(\w+)\(", conns)) == set(stub)
    # ... and the placement script names all of them, once each.
    placed = re.search(r"hwgen_place_macros \{\n(.*?)\n\}", Path(cfg["MACRO_PLACEMENT_TCL"]).read_text(), re.S)
    names = placed.group(1).split()
    assert len(names) == len(set(names)) == cells
    assert names == [p for p, _ in macro_instances(texts, top, {macro_name(8)})]
    assert cfg["SYNTH_HIER_SEPARATOR"] == "." and cfg["SYNTH_HIERARCHICAL"] == "0"
    # The final merge (ORFS util/def2stream.py) fails on a LEF cell with no GDS unless GDS_ALLOW_EMPTY
    # matches it (re.match); hwgen gives no GDS, so the pattern must cover every macro, and nothing else
    assert "ADDITIONAL_GDS" not in cfg
    for lef_path in lefs:
        assert re.match(cfg["GDS_ALLOW_EMPTY"], read_lef(Path(lef_path).read_text())["name"]), lef_path
    for cell in ("sky130_fd_sc_hd__fa_1", "FA_X1", "fakeram45_64x32"):
        assert not re.match(cfg["GDS_ALLOW_EMPTY"], cell)


def test_export_is_deterministic_and_never_deletes_foreign_files(designs, tmp_path):
    platform_or_skip("sky130hd")
    folder = designs["array"].folder
    a = export_orfs(folder, "sky130hd", tmp_path / "a")
    b = export_orfs(folder, "sky130hd", tmp_path / "b")
    files = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}  # noqa: E731
    assert files(tmp_path / "a") == files(tmp_path / "b")
    export_orfs(folder, "sky130hd", tmp_path / "a", view="synth")         # an earlier export is replaced
    assert not a.exists() and (tmp_path / "a" / "designs" / "sky130hd" / "array_synth").is_dir()
    # A file hwgen did not write, even deep inside, stops the export and survives it.
    mine = b / "notes.txt"
    mine.write_text("mine")
    with pytest.raises(OutputError, match="notes.txt, which hwgen did not write"):
        export_orfs(folder, "sky130hd", tmp_path / "b")
    assert mine.read_text() == "mine"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.v").write_text("module x; endmodule\n")
    with pytest.raises(OutputError, match="not an hwgen ORFS export"):
        export_orfs(folder, "sky130hd", tmp_path / "c")
    assert (tmp_path / "c" / "x.v").exists()
    with pytest.raises(OutputError, match="not an hwgen ORFS export"):
        export_orfs(folder, "sky130hd", folder)                       # never over the design itself
    assert (folder / "manifest.json").exists()


def test_two_designs_with_one_top_get_their_own_orfs_folders(designs, tmp_path):
    """Every generated array's macro view has the top hwgen_array_macro: ORFS's work, log and
    result folders are named by DESIGN_NICKNAME, which must differ between designs."""
    platform_or_skip("sky130hd")
    other = tmp_path / "other"
    shutil.copytree(designs["array"].folder, other)
    a = export_orfs(designs["array"].folder, "sky130hd", tmp_path / "flow_a")
    b = export_orfs(other, "sky130hd", tmp_path / "flow_b")
    home = lambda f: f.parent.parent  # noqa: E731
    ca, cb = read_config(a / "config.mk", home(a)), read_config(b / "config.mk", home(b))
    assert ca["DESIGN_NAME"] == cb["DESIGN_NAME"] == "hwgen_array_macro"
    assert (ca["DESIGN_NICKNAME"], cb["DESIGN_NICKNAME"]) == ("array_macro", "other_macro") == (a.name, b.name)


def test_bad_input_is_one_line(designs, tmp_path):
    platform_or_skip("sky130hd")
    array, net = designs["array"].folder, designs["network"].folder
    cases = [
        (dict(platform="sky131"), ConfigError, "--platform: unknown platform 'sky131'"),
        (dict(view="sim"), ConfigError, "--view: ORFS export takes the synth or macro view, not 'sim'"),
        (dict(utilization=0), ConfigError, r"--utilization must be in \[1, 95\] %, not 0"),
        (dict(utilization="lots"), ConfigError, r"--utilization must be a percentage in \[1, 95\] %, not 'lots'"),
        (dict(utilization=95), ConfigError, r"too small for the grid of 4 RRAM macros.*use at most"),
        (dict(period_ns=-1), ConfigError, r"--period must be in \[0.05, 1e\+06\] ns, not -1"),
        (dict(nickname="my-array"), ConfigError, r"--nickname must be an identifier .*, not 'my-array'"),
        (dict(nickname="../x"), ConfigError, r"--nickname must be an identifier"),
    ]
    for kwargs, error, message in cases:
        args = {"platform": "sky130hd", **kwargs}
        with pytest.raises(error, match=message) as e:
            export_orfs(array, args.pop("platform"), tmp_path / "o", **args)
        assert "\n" not in str(e.value)
    with pytest.raises(ManifestError, match="has no 'synth' view"):
        export_orfs(net, "sky130hd", tmp_path / "o", view="synth")
    dashed = tmp_path / "my-array"
    shutil.copytree(array, dashed)
    with pytest.raises(ConfigError, match=r"design folder's name 'my-array' makes no ORFS DESIGN_NICKNAME.*--nickname"):
        export_orfs(dashed, "sky130hd", tmp_path / "o")
    assert export_orfs(dashed, "sky130hd", tmp_path / "named", nickname="my_array").name == "my_array"
    lib = tmp_path / "custom.lib"
    lib.write_text("library (custom) { }\n")
    with pytest.raises(ConfigError, match="ORFS export needs a named platform") as e:
        export_orfs(array, get_platform(lib=lib), tmp_path / "o", view="synth")
    assert "\n" not in str(e.value) and not (tmp_path / "o").exists()


# -- the tools accept the views ------------------------------------------------------------------

def run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc.stdout + proc.stderr


def place_with_mock_openroad(tcl: Path, present, core, cwd) -> list:
    """Source the placement script in tclsh with a stand-in for OpenROAD's database: the netlist
    holds ``present``, the core is ``core`` (um). Returns ``(name, x, y)`` of each placement."""
    x0, y0, x1, y1 = (int(round(v * 1000)) for v in core)
    mock = cwd / "mock.tcl"
    mock.write_text(f"""
set present {{{' '.join(sorted(present))}}}
namespace eval ord {{ proc get_db_block {{}} {{ return mockblock }} }}
proc mockblock {{method args}} {{
  switch $method {{
    getDbUnitsPerMicron {{ return 1000 }}
    getCoreArea {{ return mockcore }}
    findInst {{ if {{[lsearch -exact $::present [lindex $args 0]] >= 0}} {{ return inst }} {{ return NULL }} }}
  }}
}}
proc mockcore {{method}} {{ return [dict get {{xMin {x0} yMin {y0} xMax {x1} yMax {y1}}} $method] }}
proc place_macro {{args}} {{ puts "PLACED [dict get $args -macro_name] [join [dict get $args -location]]" }}
source {tcl}
""")
    out = run(["tclsh", str(mock)], cwd)
    return [(name, float(x), float(y)) for name, x, y in re.findall(r"^PLACED (\S+) (\S+) (\S+)$", out, re.M)]


@pytest.mark.flow
@pytest.mark.parametrize("platform", PLATFORMS)
def test_yosys_and_sta_accept_the_macro_and_placement_names_match(designs, tmp_path, platform):
    """The macro view, mapped by Yosys 0.23 against the platform and macro Liberty, links and
    times in OpenSTA; the placement script places exactly the macros of that netlist."""
    if not (shutil.which("yosys") and shutil.which("sta") and shutil.which("tclsh")):
        pytest.skip("yosys, sta or tclsh not installed")
    plat = platform_or_skip(platform)
    manifest = designs["array"]
    folder = export_orfs(manifest.folder, plat, tmp_path / "orfs")
    cfg = read_config(folder / "config.mk", tmp_path / "orfs" / "designs")
    top = cfg["DESIGN_NAME"]
    work = tmp_path / "work"
    work.mkdir()
    (work / "cells.lib").symlink_to(plat.prepared_liberty())
    libs = cfg["ADDITIONAL_LIBS"].split()          # the weight macro's and the threshold memory's
    assert len(libs) == 2
    for k, lib in enumerate(libs):
        (work / f"macro{k}.lib").symlink_to(lib)
    read_macros = "".join(f"read_liberty -lib macro{k}.lib; " for k in range(len(libs)))
    sources = cfg["VERILOG_FILES"].split()
    for k, src in enumerate(sources):
        (work / f"src{k}.v").symlink_to(src)
    reads = " ".join(f"src{k}.v" for k in range(len(sources)))
    run(["yosys", "-q", "-p", f"read_liberty -lib cells.lib; {read_macros}read_verilog {reads}; "
         f"synth -top {top} -flatten; dfflibmap -liberty cells.lib; abc -liberty cells.lib; opt_clean; "
         "write_verilog -noattr netlist.v"], work)
    netlist = (work / "netlist.v").read_text()
    macros = re.findall(rf"^\s*{macro_name(8)} \\(\S+) ", netlist, re.M)
    assert len(macros) == manifest.hw.cells
    (work / "constraint.sdc").symlink_to(cfg["SDC_FILE"])
    (work / "sta.tcl").write_text("read_liberty cells.lib\n" + "".join(f"read_liberty macro{k}.lib\n" for k in range(len(libs)))
                                  + "read_verilog netlist.v\n"
                                  f"link_design {top}\nread_sdc constraint.sdc\n"
                                  f"report_checks -through [get_pins {{{macros[0]}/xnor_row[0]}}]\n"
                                  f"report_checks -to [get_pins {{{macros[0]}/rrow[0]}}]\n"
                                  "report_check_types -min_period\nexit\n")
    out = run(["sta", "-no_init", "-no_splash", "-exit", "sta.tcl"], work)
    print(out[-2500:])
    model = macro_model(8, plat)
    arc = re.search(rf"^\s+([\d.]+)\s+[\d.]+ [v^] {re.escape(macros[0])}/xnor_row\[0\]", out, re.M)
    assert arc and float(arc.group(1)) == pytest.approx(model.read_delay_ns, abs=0.05)
    assert "library setup time" in out and "(VIOLATED)" not in out and "Error" not in out
    # the worst macro clock's minimum period (the weight macro's or the threshold memory's: STA
    # prints one) is the model's
    periods = {f"{macro_model(spec, plat).min_period_ns:.2f}" for spec in view_macros(manifest)}
    assert re.search(rf"\S+\.macro/clk\s+10\.00\s+({'|'.join(map(re.escape, periods))})\s", out)
    # The placement script, run against this netlist in the core ORFS would make for the macros
    # alone (the smallest possible: the weight macros and the threshold memory), places every
    # weight macro inside it, none overlapping.
    w, h = model.width_um, model.height_um
    others = sum(macro_model(spec, plat).area_um2 for spec in view_macros(manifest) if spec.kind == "thresholds")
    side = math.sqrt((len(macros) * w * h + others) / (float(cfg["CORE_UTILIZATION"]) / 100))
    core = (1.0, 1.0, 1.0 + side, 1.0 + side)
    placed = place_with_mock_openroad(Path(cfg["MACRO_PLACEMENT_TCL"]), macros, core, work)
    assert sorted(p[0] for p in placed) == sorted(macros)
    for k, (_, x, y) in enumerate(placed):
        assert core[0] <= x and x + w <= core[2] and core[1] <= y and y + h <= core[3]
        for _, x2, y2 in placed[k + 1:]:
            assert x + w <= x2 or x2 + w <= x or y + h <= y2 or y2 + h <= y


@pytest.mark.flow
def test_placement_skips_macros_synthesis_removes(designs, tmp_path):
    """In the network, Yosys drops the padding cells whose outputs nothing reads; the placement
    script places the others and does not name a missing instance."""
    if not (shutil.which("yosys") and shutil.which("tclsh")):
        pytest.skip("yosys or tclsh not installed")
    platform_or_skip("nangate45")
    manifest = designs["network"]
    folder = export_orfs(manifest.folder, "nangate45", tmp_path / "orfs")
    cfg = read_config(folder / "config.mk", tmp_path / "orfs" / "designs")
    reads = " ".join(cfg["VERILOG_FILES"].split())
    # ORFS's first synthesis step (SYNTH_HIERARCHICAL=0): synth -flatten -run :fine.
    read_macros = "".join(f"read_liberty -lib {lib}; " for lib in cfg["ADDITIONAL_LIBS"].split())
    out = run(["yosys", "-p", f"{read_macros}read_verilog {reads}; "
               f"synth -top {cfg['DESIGN_NAME']} -flatten -run :fine; select -list t:{macro_name(8)}"], tmp_path)
    kept = re.findall(rf"^{cfg['DESIGN_NAME']}/(\S+\.macro)$", out, re.M)
    cells = sum(p.hw.cells for p in manifest.layers)
    print(f"{len(kept)} of {cells} macros survive synthesis")
    assert 0 < len(kept) <= cells
    placed = place_with_mock_openroad(Path(cfg["MACRO_PLACEMENT_TCL"]), kept, (2.8, 2.8, 400.0, 400.0), tmp_path)
    assert sorted(p[0] for p in placed) == sorted(kept)
