"""Placement and routing with qflow (:mod:`hwgen.flow.pnr`): the (n=4, N=2, M=2) array through
osu018 end to end (about 1,000 cells, 16 s on 2 cores), and the checks that need no tool: the size limit,
a missing tool, the DEF and qrouter-log parsers."""

import shutil
import struct
from pathlib import Path

import pytest

from hwgen.errors import ConfigError, OutputError, SimulatorMissing
from hwgen.flow import pnr, pnrparse
from hwgen.generate import generate_array
from hwgen.hwconfig import HwConfig

pytestmark = pytest.mark.flow

OSU018 = Path("/usr/share/qflow/tech/osu018")
needs_qflow = pytest.mark.skipif(
    shutil.which("qflow") is None or shutil.which("klayout") is None or not OSU018.is_dir(),
    reason="qflow, its osu018 technology or klayout is not installed "
           "(apt-get install qflow qflow-tech-osu018 klayout)")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pnr") / "a822"
    generate_array(HwConfig(n=4, N=2, M=2), folder, views=("synth", "macro"))
    return folder


@needs_qflow
@pytest.mark.rtl        # an external EDA run: kept out of `make test-fast`
def test_small_array_places_and_routes_on_osu018(small, tmp_path):
    period = 10.0
    report = pnr.place_and_route(small, tech="osu018", out_dir=tmp_path / "pnr", period_ns=period)
    print(report.to_json())
    assert report.status == "routed" and report.reason is None
    assert report.failed_routes == 0
    assert report.cells > 500 and report.fill_cells >= 0
    assert report.die_area_um2 > report.cell_area_um2 > 0
    assert report.die_area_um2 == pytest.approx(report.die_width_um * report.die_height_um, rel=1e-6)
    assert 0 < report.utilisation < 1
    assert report.wirelength_um > 0 and report.vias > 0
    t = report.timing
    assert t is not None and t.period_ns == period
    assert t.setup_paths > 0
    # OpenSTA: slack = required - arrival; required = period - setup time +/- the propagated clock
    assert t.setup_slack_ns == pytest.approx(t.required_ns - t.arrival_ns, abs=0.011)
    assert abs(t.required_ns - period) < 0.2 * period
    assert 0 < t.arrival_ns < period and t.met
    png = tmp_path / "pnr" / report.png
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100
    for name in ("step.json", "route.log", "post_sta.log", f"{report.top}.def"):
        assert (tmp_path / "pnr" / name).is_file()
    assert pnr.load_report(tmp_path / "pnr")["failed_routes"] == 0


def test_oversize_design_is_refused_before_any_tool(tmp_path, monkeypatch):
    folder = tmp_path / "a1622"
    generate_array(HwConfig(n=16, N=2, M=2), folder, views=("synth",))
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)     # no tool is needed to refuse
    with pytest.raises(ConfigError) as e:
        pnr.place_and_route(folder, out_dir=tmp_path / "out")
    message = str(e.value)
    assert "\n" not in message
    assert str(pnr.MAX_WEIGHT_BITS) in message and "1024" in message and "ORFS" in message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("tool, package", [("qflow", "qflow"), ("klayout", "klayout")])
def test_missing_tool_names_the_debian_package(small, tmp_path, monkeypatch, tool, package):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == tool else real(name, *a, **k))
    if tool == "klayout" and real("qflow") is None:
        pytest.skip("qflow is checked first and is not installed")
    with pytest.raises(SimulatorMissing) as e:
        pnr.place_and_route(small, out_dir=tmp_path / "out")
    assert f"apt-get install {package}" in str(e.value) and "\n" not in str(e.value)


def test_foreign_output_folder_is_refused_before_the_run(small, tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: f"/usr/bin/{name}")   # never run
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("not hwgen's")
    with pytest.raises(OutputError, match="hwgen did not write|not an hwgen output"):
        pnr.place_and_route(small, out_dir=out)
    assert (out / "mine.txt").read_text() == "not hwgen's"


def test_unknown_tech_and_black_box_view_are_refused(small):
    with pytest.raises(ConfigError, match="--tech"):
        pnr.place_and_route(small, tech="gf180")
    with pytest.raises(ConfigError, match="black boxes"):
        pnr.place_and_route(small, view="macro")


DEF = """VERSION 5.6 ;
DESIGN t ;
UNITS DISTANCE MICRONS 100 ;
DIEAREA ( -100 0 ) ( 900 500 ) ;
COMPONENTS 3 ;
- a INVX1 + PLACED ( 0 0 ) N ;
- b INVX1 + PLACED ( 200 0 ) N ;
- f FILL + PLACED ( 400 0 ) N ;
END COMPONENTS
NETS 2 ;
- n1
  ( a Y ) ( b A )
+ ROUTED metal1 ( 100 100 ) M2_M1
  NEW metal2 ( 100 100 ) ( * 300 ) M2_M1
  NEW metal1 ( 100 300 ) ( 400 * ) ( 350 * ) ;
- n2
  ( b Y ) ( PIN o ) ;
END NETS
END DESIGN
"""


def test_def_parser_measures_die_cells_and_wires():
    d = pnrparse.parse_def(DEF)
    assert d.units == 100 and d.die == (-100, 0, 900, 500)
    assert d.components == {"INVX1": 2, "FILL": 1}
    # 200 up, 300 right, 50 back: 550 units = 5.5 um; two via names
    assert d.wirelength_um == pytest.approx(5.5) and d.vias == 2
    assert pnrparse.is_filler("FILL", "CORE", ("FILL",)) and pnrparse.is_filler("x", "CORE SPACER")
    assert not pnrparse.is_filler("INVX1", "CORE", ("FILL",))


def test_route_log_parser():
    assert pnrparse.parse_failed_routes("Failed to route net a\n...\nFinal: No failed routes!\n") == 0
    assert pnrparse.parse_failed_routes("Final: Failed net routes: 17\n") == 17
    assert pnrparse.parse_failed_routes("Progress: Stage 1 total routes completed: 5\n") is None


STA = """Startpoint: DFF_1 (rising edge-triggered flip-flop clocked by core_clock)
Endpoint: DFF_1 (rising edge-triggered flip-flop clocked by core_clock)
Path Group: core_clock
Path Type: min

           0.21   data arrival time
           0.00   data required time
---------------------------------------------------------
           0.21   slack (MET)

Startpoint: prog__en (input port clocked by core_clock)
Endpoint: DFF_2 (rising edge-triggered flip-flop clocked by core_clock)
Path Group: core_clock
Path Type: max

           3.45   data arrival time
           9.84   data required time
---------------------------------------------------------
           9.84   data required time
          -3.45   data arrival time
---------------------------------------------------------
           6.39   slack (MET)

Startpoint: DFF_3 (rising edge-triggered flip-flop clocked by core_clock)
Endpoint: DFF_4 (rising edge-triggered flip-flop clocked by core_clock)
Path Group: core_clock
Path Type: max

          10.10   data arrival time
           9.80   data required time
---------------------------------------------------------
          -0.30   slack (VIOLATED)
"""


def test_opensta_parser_takes_the_worst_setup_and_hold_path():
    t = pnrparse.parse_opensta(STA, 10.0, "OpenSTA")
    assert (t.startpoint, t.endpoint, t.setup_slack_ns, t.arrival_ns, t.required_ns) == ("DFF_3", "DFF_4", -0.3,
                                                                                       10.1, 9.8)
    assert t.hold_slack_ns == 0.21 and t.setup_paths == 2 and t.violating_paths == 1 and not t.met
