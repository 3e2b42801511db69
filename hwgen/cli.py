"""The ``hwgen`` command. Thin: every subcommand calls library functions that tests call too."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import HwgenError
from .hwconfig import CONFIGS, HwConfig


def _fail_cleanly(fn):
    """Turn hwgen's own errors (bad parameters, missing tools, ...) into one line and exit 1."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (HwgenError, ValueError) as e:
            raise click.ClickException(str(e)) from None
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hwgen")
def main():
    """hwgen: in-memory BNN accelerators on differential (2T2R) RRAM, from network to RTL."""


def hw_options(fn):
    fn = click.option("--level-bits", default=4, show_default=True,
                      help="Width of a device-state code in the behavioural 2T2R view.")(fn)
    fn = click.option("--config", type=click.Choice(CONFIGS), default="par2seq", show_default=True,
                      help="par2seq: n*N inputs, n*M outputs; seq2par: n*n inputs, N*M outputs.")(fn)
    fn = click.option("--M", "M", type=int, required=True, help="Cells per row (output direction).")(fn)
    fn = click.option("--N", "N", type=int, required=True, help="Cells per column (input direction).")(fn)
    fn = click.option("--n", "n", type=int, default=32, show_default=True, help="Cell memory is n x n.")(fn)
    return fn


@main.command()
@hw_options
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default rtl_out/<config>_n<n>_N<N>_M<M>).")
@click.option("--top", default="hwgen_array", show_default=True, help="Top module name of the sim view.")
@click.option("--views", default="sim,synth,macro,harness", show_default=True,
              help="Comma-separated views: sim (behavioural 2T2R), synth (bit memory), macro (black box), "
                   "harness (sim view in a batch-simulation harness).")
@_fail_cleanly
def rtl(n, N, M, config, level_bits, out_dir, top, views):
    """Generate Verilog and a manifest for an N x M array of n x n cells."""
    from .generate import generate_array

    hw = HwConfig(n=n, N=N, M=M, config=config, level_bits=level_bits)
    out_dir = out_dir or Path("rtl_out") / hw.tag()
    t0 = time.perf_counter()
    manifest = generate_array(hw, out_dir, name=top, views=tuple(v.strip() for v in views.split(",") if v.strip()))
    timing = manifest["timing"]
    click.echo(f"{hw.tag()}: {hw.max_inputs} inputs x {hw.max_outputs} outputs, latency {timing['latency']}, "
               f"{timing['cycles_per_pass']} cycles per layer pass")
    for view, entry in manifest["files"].items():
        click.echo(f"  {view:6s} {', '.join(str(out_dir / f) for f in entry['verilog'])}")
    click.echo(f"  manifest {out_dir / 'manifest.json'}  ({time.perf_counter() - t0:.1f} s)")


@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--sim", "simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@click.option("--ber", default=0.0, show_default=True, help="Weight bit error rate injected in the 2T2R devices.")
@click.option("--seed", default=1, show_default=True, help="Seed of weights, inputs and error map.")
@click.option("--passes", default=16, show_default=True, help="Input vectors (layer passes) to run.")
@click.option("--fill", type=click.Choice(["full", "partial"]), default="full", show_default=True,
              help="A layer filling the array, or a smaller one (padding).")
@click.option("--mode", type=click.Choice(["stream", "batch"]), default="batch", show_default=True,
              help="batch: the harness view runs a preloaded batch (fast); stream: cocotb drives every cycle.")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Simulator build folder (default sim_build/<sim>_<design>).")
@_fail_cleanly
def sim(design, simulator, ber, seed, passes, fill, mode, build_dir):
    """Run the cocotb regression of a generated array DESIGN against the golden model."""
    from .verify import run_array_regression

    result = run_array_regression(design, simulator, ber=ber, seed=seed, passes=passes, fill=fill, mode=mode,
                                  build_dir=build_dir, echo=click.echo)
    click.echo(json.dumps(result, indent=2))


@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--view", "views", multiple=True, default=("sim", "synth", "macro", "harness"), show_default=True)
@click.option("--synth/--no-synth", default=True, help="Also run Yosys synth on the synth and macro views.")
@_fail_cleanly
def check(design, views, synth):
    """Lint a generated DESIGN with Verilator and synthesize it with Yosys."""
    from .flow import lint_design, synth_design
    from .flow.checks import load_manifest

    available = load_manifest(design)["files"]
    for view in (v for v in views if v in available):
        report = lint_design(design, view)
        click.echo(f"lint  {view:6s} ok  warnings {report['warnings']}")
    for view in (v for v in ("synth", "macro") if synth and v in views and v in available):
        report = synth_design(design, view)
        click.echo(f"synth {view:6s} ok  {report['cells']} cells")


@main.command()
@click.option("--sim", "simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=Path("rtl_out"),
              show_default=True)
@_fail_cleanly
def demo(simulator, out_root):
    """Generate the paper's 3x3 array (n=32) in both configurations and verify each against the
    golden model at BER 0 and 1e-2."""
    from .generate import generate_array
    from .verify import run_array_regression

    for config in CONFIGS:
        hw = HwConfig(n=32, N=3, M=3, config=config)
        out_dir = out_root / f"demo_{config}"
        manifest = generate_array(hw, out_dir)
        click.echo(f"[demo] {hw.tag()} -> {out_dir} ({manifest['timing']['cycles_per_pass']} cycles/pass)")
        for ber in (0.0, 1e-2):
            r = run_array_regression(out_dir, simulator, ber=ber, seed=2024, passes=64, mode="batch",
                                     echo=click.echo)
            click.echo(f"[demo]   {simulator} BER {ber:g}: {r['outputs_checked']} outputs equal to the golden model, "
                       f"{r['injected_errors']} device errors injected, cycles/pass {r['cycles_per_pass']}, "
                       f"{r['sim_cycles_per_s']:.0f} simulated cycles/s")
    click.echo(f"[demo] outputs in {out_root}/demo_par2seq and {out_root}/demo_seq2par")


if __name__ == "__main__":
    sys.exit(main())
