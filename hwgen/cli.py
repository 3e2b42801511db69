"""The ``hwgen`` command. Thin: every subcommand validates its options at the edge (click types)
and calls library functions that tests call too.

Errors: anything hwgen can name (bad option, bad file, a design that does not verify) ends with
one line ``Error: ...`` and exit status 1; click's usage errors exit with 2. An unexpected
failure prints one line too; ``HWGEN_DEBUG=1`` shows its traceback.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import HwgenError
from .hwconfig import CELLS_BOUNDS, CONFIGS, LEVEL_BITS_BOUNDS, N_BOUNDS, HwConfig

ARRAY_VIEWS = ("sim", "synth", "macro", "harness")
NETWORK_VIEWS = ("sim", "harness", "macro")
DATASET_NAMES = ("mnist", "fashion-mnist")


# -- option types ------------------------------------------------------------------------------
class FiniteFloat(click.ParamType):
    """A finite number (NaN and infinities are refused) in an interval: bit error rates,
    tolerances, dropout, learning rates."""

    name = "number"

    def __init__(self, lo: float = 0.0, hi: float = math.inf, *, lo_open: bool = False, hi_open: bool = False):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        above = number > self.lo if self.lo_open else number >= self.lo
        below = number < self.hi if self.hi_open else number <= self.hi
        if not (math.isfinite(number) and above and below):
            if self.hi == math.inf and self.lo == 0 and self.lo_open:
                bound = "a positive number"
            else:
                bound = f"a number in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}{')' if self.hi_open else ']'}"
            self.fail(f"must be {bound}, not {value!r}", param, ctx)
        return number


class CountType(click.ParamType):
    """A whole number, also written like ``1e9``; at least ``minimum``."""

    name = "integer"

    def __init__(self, minimum: int = 0):
        self.minimum = minimum

    def convert(self, value, param, ctx):
        text = str(value).strip()
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif text.lstrip("+-").isdigit():
            number = int(text)
        else:
            try:
                f = float(text)
            except ValueError:
                f = math.nan
            if not math.isfinite(f) or f != math.floor(f):
                self.fail(f"must be a whole number, not {value!r}", param, ctx)
            number = int(f)
        if number < self.minimum:
            self.fail(f"must be a whole number >= {self.minimum}, not {value!r}", param, ctx)
        return number


class ListType(click.ParamType):
    """A comma-separated, non-empty list of items, each converted by ``item``."""

    name = "list"

    def __init__(self, item: click.ParamType, what: str):
        self.item, self.what = item, what

    def convert(self, value, param, ctx):
        if isinstance(value, (list, tuple)):
            return list(value)
        parts = [p.strip() for p in str(value).split(",")]
        if not parts or any(p == "" for p in parts):
            self.fail(f"must be a comma-separated list of {self.what}, not {value!r}", param, ctx)
        return [self.item.convert(p, param, ctx) for p in parts]


class HiddenType(ListType):
    """Dense hidden layer sizes, comma-separated, or ``none`` (the output layer follows directly)."""

    def __init__(self):
        super().__init__(click.IntRange(1, 1 << 16), "layer sizes (or none)")

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.strip().lower() == "none":
            return []
        return super().convert(value, param, ctx)


class ConvStageType(click.ParamType):
    """One conv stage ``CHANNELS[:KERNEL[:STRIDE[:PADDING[:POOL]]]]`` (defaults: kernel 3, stride 1,
    padding ``KERNEL // 2``, pool 2): a ``KERNEL`` x ``KERNEL`` binarized conv padded with -1, then
    ``POOL`` x ``POOL`` max-pooling."""

    name = "stage"
    FIELDS = ("channels", "kernel", "stride", "padding", "pool")

    def convert(self, value, param, ctx):
        from .train.model import ConvStage

        if isinstance(value, ConvStage):
            return value
        parts = str(value).strip().split(":")
        if len(parts) > len(self.FIELDS) or not all(p.strip().isdigit() for p in parts):
            self.fail(f"a stage is CHANNELS[:KERNEL[:STRIDE[:PADDING[:POOL]]]] in whole numbers, not {value!r}",
                      param, ctx)
        numbers = [int(p) for p in parts]
        if len(numbers) >= 2 and len(numbers) < 4:
            numbers += [1, numbers[1] // 2][len(numbers) - 2:]     # "same" padding for an odd kernel
        return ConvStage(*numbers)


class ConditionType(click.ParamType):
    """A programming condition ``i_set_uA,v_reset,pulse_us``; warns outside the calibrated range."""

    name = "condition"

    def convert(self, value, param, ctx):
        from .device.physics import calibration_warnings, parse_condition

        try:
            cond = parse_condition(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)
        for warning in calibration_warnings(cond):
            click.echo(f"warning: --condition {value}: {warning}; the device model extrapolates there", err=True)
        return str(value)


class IdentifierType(click.ParamType):
    name = "identifier"

    def convert(self, value, param, ctx):
        from .manifest import IDENTIFIER_RULE, is_identifier

        if not is_identifier(value):
            self.fail(f"must be {IDENTIFIER_RULE}, not {value!r}", param, ctx)
        return value


BER = FiniteFloat(0.0, 1.0)
SEED = click.IntRange(0, 2**63 - 1)
VERBOSE = click.option("-v", "--verbose", is_flag=True, help="Show the simulators' and cocotb's whole output.")


# -- where the work runs (hwgen.farm: in-process, a LocalCluster, a remote dask scheduler) --------
class SchedulerAddress(click.ParamType):
    """A dask scheduler address ``[tcp://]HOST:PORT``."""

    name = "address"

    def convert(self, value, param, ctx):
        from .farm import check_address

        try:
            return check_address(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)


def farm_options(fn):
    fn = click.option("--scheduler", type=SchedulerAddress(), default=None,
                      help="Run on the workers of this dask scheduler, e.g. tcp://HOST:8786 (`dask scheduler` "
                           "there, `dask worker tcp://HOST:8786 --nthreads 1` on each worker host; see README).")(fn)
    fn = click.option("--workers", type=click.IntRange(min=1), default=None,
                      help="Worker processes of a local dask cluster on this machine; 1 runs in this process, "
                           "without dask. Default: sim, one per CPU core for 500 images or more per batch; sweep, "
                           "one per 4 cores for large sweeps (a sweep point already runs on 4 threads); else 1.")(fn)
    return fn


def _check_farm_options(scheduler, workers):
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes a local cluster; with --scheduler the workers are those that joined "
                               "the scheduler")


def _farm(scheduler, workers):
    """The Farm of --scheduler/--workers (None: one worker per CPU core)."""
    from .farm import Farm

    _check_farm_options(scheduler, workers)
    return Farm(scheduler, workers)


# -- error edge --------------------------------------------------------------------------------
def _fail_cleanly(fn):
    """Every error ends as one line and a non-zero exit, never a traceback or click's "Aborted!"
    (which click prints for an EOFError, e.g. from a truncated file)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except (HwgenError, ValueError) as e:
            raise click.ClickException(_one_line(e)) from None
        except OSError as e:
            from .files import describe_os_error
            raise click.ClickException(describe_os_error(e) if e.filename else _one_line(e)) from None
        except EOFError as e:
            raise click.ClickException(f"a file ended early (truncated?): {e}") from None
        except KeyboardInterrupt:
            raise
        except Exception as e:
            if os.environ.get("HWGEN_DEBUG"):
                raise
            raise click.ClickException(f"internal error ({type(e).__name__}: {e}); rerun with HWGEN_DEBUG=1 for "
                                       f"the traceback and report it") from None
    return wrapper


def _one_line(e: Exception) -> str:
    """The message of ``e``; a verification failure keeps its mismatch lines below it."""
    from .errors import VerificationError

    text = str(e)
    return text if isinstance(e, VerificationError) else " ".join(text.split())


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hwgen")
def main():
    """hwgen: in-memory BNN accelerators on differential (2T2R) RRAM, from network to RTL."""


def hw_options(fn):
    fn = click.option("--level-bits", type=click.IntRange(*LEVEL_BITS_BOUNDS), default=4, show_default=True,
                      help="Width of a device-state code in the behavioural 2T2R view.")(fn)
    fn = click.option("--config", type=click.Choice(CONFIGS), default="par2seq", show_default=True,
                      help="par2seq: n*N inputs, n*M outputs; seq2par: n*n inputs, N*M outputs.")(fn)
    fn = click.option("--M", "M", type=click.IntRange(*CELLS_BOUNDS), default=None,
                      help="Cells per row (output direction); with --model, default: the smallest that fits each layer.")(fn)
    fn = click.option("--N", "N", type=click.IntRange(*CELLS_BOUNDS), default=None,
                      help="Cells per column (input direction); with --model, default: the smallest that fits.")(fn)
    fn = click.option("--n", "n", type=click.IntRange(*N_BOUNDS), default=32, show_default=True,
                      help="Cell memory is n x n.")(fn)
    return fn


# -- rtl ---------------------------------------------------------------------------------------
@main.command()
@hw_options
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default rtl_out/<config>_n<n>_N<N>_M<M>, or rtl_out/<model>_n<n>). It must be "
                   "new, empty, or an earlier hwgen output, which is replaced.")
@click.option("--top", type=IdentifierType(), default=None,
              help="Top module name of the sim view (default hwgen_array, or hwgen_net with --model).")
@click.option("--views", type=ListType(click.Choice(sorted(set(ARRAY_VIEWS) | set(NETWORK_VIEWS))), "views"),
              default=None,
              help="Comma-separated views: sim (behavioural 2T2R), synth (bit memory), macro (black box), "
                   "harness (sim view in a batch-simulation harness). Default: sim,synth,macro,harness for an "
                   "array, sim,harness,macro for a network (which has no synth view).")
@click.option("--model", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A network IR file (.npz): map every layer onto its own array and emit the whole network.")
@click.option("--parallel", type=ListType(click.IntRange(1, 4096), "replica counts"), default="1", show_default=True,
              help="Conv networks: replicate each conv layer's kernels P times, computing P output positions per "
                   "pass (P times the cells); one P for all conv layers or one per conv layer. 1 stores each "
                   "kernel once and computes the positions sequentially.")
@click.option("--weights", type=click.Choice(["binary", "ternary"]), default="binary", show_default=True,
              help="Arrays: binary (±1) or ternary (-1, 0, +1; HRS/HRS = 0) 2T2R pairs. With --model each layer's "
                   "weights mode comes from the IR, so --weights is refused there.")
@_fail_cleanly
def rtl(n, N, M, config, level_bits, out_dir, top, views, model, parallel, weights):
    """Generate Verilog and a manifest for an N x M array of n x n cells, or for a whole network."""
    from .generate import DEFAULT_VIEWS, generate_array, generate_network

    t0 = time.perf_counter()
    if model is not None and _given(click.get_current_context(), "weights"):
        raise click.UsageError("--weights applies to arrays; with --model each layer's weights (binary or ternary) "
                               "come from the IR")
    if model is not None:
        from .ir import Network
        from .netplan import plan_network

        network = Network.load(model)
        plans = plan_network(network, n, config, N, M, level_bits=level_bits, parallel=parallel)
        out_dir = out_dir or Path("rtl_out") / f"{model.stem}_n{n}"
        manifest = generate_network(network, plans, out_dir, name=top or "hwgen_net",
                                    views=views or NETWORK_VIEWS, model_path=model)
        for p in plans:
            extra = f", {p.conv_timing['passes']} passes per image" if p.conv is not None else ""
            click.echo(f"  layer {p.index} {p.name}: {p.describe()} ({p.cells} cells, {p.cycles_per_pass} cycles "
                       f"per pass{extra})")
        timing = manifest.timing
        click.echo(f"{model.name}: {timing['cycles_per_inference']} cycles per inference, one image every "
                   f"{timing['initiation_interval']} cycles; wrote {out_dir} ({time.perf_counter() - t0:.1f} s)")
        return
    if _given(click.get_current_context(), "parallel"):
        raise click.BadParameter("replicates a network's conv layers; give --model", param_hint="--parallel")
    if N is None or M is None:
        raise click.UsageError("--N and --M are required for an array (or give --model)")
    hw = HwConfig(n=n, N=N, M=M, config=config, level_bits=level_bits, weights=weights)
    out_dir = out_dir or Path("rtl_out") / hw.tag()
    manifest = generate_array(hw, out_dir, name=top or "hwgen_array", views=views or DEFAULT_VIEWS)
    timing = manifest.timing
    click.echo(f"{hw.tag()}: {hw.max_inputs} inputs x {hw.max_outputs} outputs, latency {timing['latency']}, "
               f"{timing['cycles_per_pass']} cycles per layer pass")
    for view, entry in manifest.views.items():
        click.echo(f"  {view:7s} {', '.join(str(out_dir / f) for f in entry.verilog)}")
    click.echo(f"  manifest {out_dir / 'manifest.json'}  ({time.perf_counter() - t0:.1f} s)")


# -- sim ---------------------------------------------------------------------------------------
ARRAY_ONLY = ("passes", "fill", "mode")
NETWORK_ONLY = ("count", "images", "condition", "cycles", "vdd", "workers", "scheduler", "batches")


@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--sim", "simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@click.option("--ber", type=BER, default=0.0, show_default=True,
              help="Weight bit error rate injected in the 2T2R devices. A ternary layer's pairs are each misread "
                   "with this probability, as either other value with equal odds (rates zero_as_pm = BER, "
                   "pm_as_zero = sign_flip = BER/2).")
@click.option("--seed", type=SEED, default=1, show_default=True, help="Seed of weights, inputs and error map.")
@click.option("--passes", type=click.IntRange(min=2), default=16, show_default=True,
              help="Array designs: input vectors (layer passes) to run.")
@click.option("--fill", type=click.Choice(["full", "partial"]), default="full", show_default=True,
              help="Array designs: a layer filling the array, or a smaller one (padding).")
@click.option("--mode", type=click.Choice(["stream", "batch"]), default="batch", show_default=True,
              help="Array designs. batch: the harness view runs preloaded batches (fast); stream: cocotb drives "
                   "every cycle.")
@click.option("--count", type=click.IntRange(min=1), default=200, show_default=True,
              help="Network designs: images to run (more than the harness holds run in several batches).")
@click.option("--images", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Network designs: an image set .npz (images, labels), e.g. from `hwgen images`. Default: the "
                   "shipped test slice of the dataset the network was trained on.")
@click.option("--condition", type=ConditionType(), default=None,
              help="Network designs: sample the device errors from the RRAM model at this programming condition, "
                   "'i_set_uA,v_reset,pulse_us' (e.g. 55,2.5,1), instead of --ber.")
@click.option("--cycles", type=CountType(0), default=0, show_default=True,
              help="With --condition: programming cycles already endured (aging), e.g. 1e9.")
@click.option("--vdd", type=FiniteFloat(0.5, 1.5), default=None,
              help="With --condition, networks with ternary layers: the PCSA read supply (V) of the ternary layers' "
                   "error rates (default 0.9, the ternary operating point); binary layers read at the nominal supply.")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Simulator build folder (default sim_build/<sim>_<view>_<design shape>, shared by designs of the "
                   "same shape); reused while the sources are unchanged. With --scheduler: a folder on each worker "
                   "host (default: its temp folder).")
@farm_options
@click.option("--batches", type=click.IntRange(min=1), default=None,
              help="Network designs: cut the images into this many batches, each a testbench run (with its own "
                   "boot) on a worker, same chip (error map) for all. Default: one per worker (without --workers "
                   "and --scheduler: one per 500 images, at most one per CPU core).")
@VERBOSE
@click.pass_context
@_fail_cleanly
def sim(ctx, design, simulator, ber, seed, passes, fill, mode, count, images, condition, cycles, vdd, build_dir,
        workers, scheduler, batches, verbose):
    """Run the cocotb regression of a generated DESIGN (array or network) against the golden model."""
    from .manifest import Manifest
    from .verify import run_array_regression, run_network_regression

    manifest = Manifest.load(design)
    wrong = [o for o in (ARRAY_ONLY if manifest.kind == "network" else NETWORK_ONLY) if _given(ctx, o)]
    if wrong:
        raise click.UsageError(f"--{wrong[0]} applies to {'array' if manifest.kind == 'network' else 'network'} "
                               f"designs; {design} is {'a network' if manifest.kind == 'network' else 'an array'}")
    if condition is not None and _given(ctx, "ber"):
        raise click.UsageError("--condition and --ber are alternatives: the condition gives the BER")
    if _given(ctx, "cycles") and condition is None:
        raise click.UsageError("--cycles applies with --condition (aging of that programming condition)")
    if vdd is not None:
        if condition is None:
            raise click.UsageError("--vdd applies with --condition (the read supply of the ternary layers' rates)")
        if not any(p.hw.is_ternary for p in manifest.layers):
            raise click.UsageError(f"--vdd is the read supply of ternary layers; {design} has none")
    common = dict(seed=seed, build_dir=build_dir, verbose=verbose, progress=True, log=click.echo)
    if manifest.kind == "network":
        if batches is not None and batches > count:
            raise click.UsageError(f"--batches {batches} is more than the --count of {count} images: every batch "
                                   f"runs at least one")
        if scheduler is not None:
            farm = _farm(scheduler, workers)        # batches: one per worker of the scheduler, unless given
        else:
            from .verify.regression import AUTO_BATCH_IMAGES

            if batches is None:
                batches = workers or min(os.cpu_count() or 1, -(-count // AUTO_BATCH_IMAGES))
            batches = min(batches, count)
            farm = _farm(None, min(workers or os.cpu_count() or 1, batches))
        if farm.in_process and (batches or 1) == 1:
            r = run_network_regression(manifest, simulator, ber=ber, count=count, images=images, condition=condition,
                                       cycles=cycles, vdd=vdd, **common)
        else:
            from .verify.regression import run_network_regression_farm

            with farm:
                r = run_network_regression_farm(manifest, simulator, farm, batches=batches, ber=ber, count=count,
                                                images=images, condition=condition, cycles=cycles, vdd=vdd, **common)
        click.echo(f"RTL accuracy {100 * r['accuracy']:.2f}% on {r['images']} images ({r['images_from']}), "
                   f"{r['injected_errors']} device errors: every class and output popcount equal to the golden "
                   f"model; {r['cycles_per_inference']} cycles per inference, one image every "
                   f"{r['initiation_interval']} cycles ({r['inferences_per_s']:.0f} inferences/s simulated)")
    else:
        r = run_array_regression(manifest, simulator, ber=ber, passes=passes, fill=fill, mode=mode, **common)
        click.echo(f"{r['outputs_checked']} outputs of {r['passes']} passes equal to the golden model, "
                   f"{r['injected_errors']} device errors; {r['cycles_per_pass']} cycles per pass (manifest = "
                   f"measured)")
    if verbose:
        click.echo(json.dumps(r, indent=2, default=str))
    elif "image_batches" in r:
        built = ("on each worker" if r["build_reused"] is None else "reused" if r["build_reused"]
                 else f"{r['build_s']} s")
        click.echo(f"  build {built}, run {r['run_s']} s ({r['images'] / max(r['run_s'], 1e-9):.1f} images/s over all "
                   f"workers, boots included): {len(r['image_batches'])} image batches on {r['farm']}")
        for b in r["image_batches"]:
            click.echo(f"    batch {b['batch']}: images {b['offset']}..{b['offset'] + b['images'] - 1} on "
                       f"{b['worker']}, {b['wall_s']} s; log {b['log']}")
    else:
        built = "reused" if r["build_reused"] else f"{r['build_s']} s"
        click.echo(f"  build {built}, run {r['run_s']} s; log {r['log']}")


# -- check -------------------------------------------------------------------------------------
@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--view", "views", multiple=True, type=click.Choice(ARRAY_VIEWS),
              help="View(s) to lint (repeatable). Default: every view the design has.")
@click.option("--synth/--no-synth", default=True, help="Also run Yosys synth on the synth and macro views.")
@_fail_cleanly
def check(design, views, synth):
    """Lint a generated DESIGN with Verilator and synthesize it with Yosys."""
    from .flow import lint_design, synth_design
    from .manifest import Manifest

    manifest = Manifest.load(design)
    for view in views:
        manifest.view(view)             # a view the design lacks is an error, not a silent skip
    views = views or tuple(manifest.views)
    for view in views:
        report = lint_design(manifest, view)
        click.echo(f"lint  {view:7s} ok  warnings {report['warnings']}")
    for view in (v for v in ("synth", "macro") if synth and v in views):
        report = synth_design(manifest, view)
        click.echo(f"synth {view:7s} ok  {report['cells']} cells")


# -- flow: synthesis, timing, energy, export ---------------------------------------------------
def platform_options(fn):
    fn = click.option("--pdk-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
                      help="Folder of the platform's Liberty and LEF files (default: $HWGEN_PDK/<platform>, "
                           "$HWGEN_DATA/liberty/<platform>, ../shared/data/liberty/<platform>).")(fn)
    fn = click.option("--lib", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
                      help="A Liberty file (.lib or .lib.gz) instead of a named platform (synthesis, STA, energy).")(fn)
    fn = click.option("--platform", type=click.Choice(["sky130hd", "nangate45"]), default=None,
                      help="Technology platform (default sky130hd unless --lib is given).")(fn)
    return fn


def _platform(platform, lib, pdk_dir):
    from .flow.platform import get_platform

    if platform is None and lib is None:
        platform = "sky130hd"
    return get_platform(platform, lib, pdk_dir)


PERIOD = click.option("--period", type=FiniteFloat(0.05, 1e6), default=None,
                      help="Clock period in ns (default 10; sta and energy: the synthesis run's).")
FLOW_VIEW = click.option("--view", type=click.Choice(["macro", "synth"]), default="macro", show_default=True,
                         help="macro: 2T2R + PCSA as the black-box macro; synth: the memory as flip-flops (arrays).")


def _synth_folder(design, plat, view):
    from .flow.steps import flow_folder
    from .manifest import Manifest

    return flow_folder(Manifest.load(design), plat.name, view) / "synth"


def _ensure_synth(design, plat, view, period):
    """The synthesis results of DESIGN on the platform, made now if absent or of another period."""
    from .flow.steps import read_step
    from .flow.synth import synthesize

    folder = _synth_folder(design, plat, view)
    try:
        done = read_step(folder, "synth")
        if period is None or done["period_ns"] == period:
            return folder
    except HwgenError:
        pass
    synthesize(design, plat, view, 10.0 if period is None else period, log=click.echo)
    return folder


@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@platform_options
@FLOW_VIEW
@PERIOD
@_fail_cleanly
def synth(design, platform, lib, pdk_dir, view, period):
    """Synthesize a generated DESIGN onto standard cells (Yosys): area per block and in total."""
    from .flow.synth import synthesize

    r = synthesize(design, _platform(platform, lib, pdk_dir), view, 10.0 if period is None else period,
                   log=click.echo)
    click.echo(f"area {r['area_um2']:,.1f} um2, {r['cells']:,} cells, {r['flops']:,} flip-flops "
               f"({r['gated_flops']:,} behind {r['clock_gates']:,} clock gates) "
               f"({r['seconds']:.1f} s); per block: " + ", ".join(
                   f"{b} {v['area_um2']:,.0f}" for b, v in r["blocks"].items() if v["cells"]))
    click.echo(f"results in {r['folder']}")


@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@platform_options
@FLOW_VIEW
@PERIOD
@_fail_cleanly
def sta(design, platform, lib, pdk_dir, view, period):
    """Static timing (OpenSTA) of a synthesized DESIGN: slack, critical path, fmax (synthesizes first if needed)."""
    from .flow.sta import run_sta

    plat = _platform(platform, lib, pdk_dir)
    r = run_sta(_ensure_synth(design, plat, view, period), plat, period, log=click.echo)
    click.echo(f"setup slack {r['setup_slack_ns']:.3f} ns, hold slack {r['hold_slack_ns']:.3f} ns, "
               f"fmax {r['fmax_mhz']} MHz; critical path {r['setup_path']['start']} -> {r['setup_path']['end']}")


@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@platform_options
@click.option("--count", type=click.IntRange(2, 256), default=16, show_default=True,
              help="Test images (or array passes) in the gate-level run.")
@click.option("--flat/--no-flat", default=None,
              help="Also run the whole design at gate level (default: when it has at most 20k cells).")
@PERIOD
@_fail_cleanly
def energy(design, platform, lib, pdk_dir, count, flat, period):
    """Energy per inference (macro view) from real activity: block-scaled, and flat gate-level for small designs."""
    from .flow.energy import run_energy

    plat = _platform(platform, lib, pdk_dir)
    _ensure_synth(design, plat, "macro", period)
    r = run_energy(design, plat, "macro", count, flat, log=click.echo)
    click.echo(f"results in {r['folder']}")


@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
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
@VERBOSE
@_fail_cleanly
def flow(design, platform, lib, pdk_dir, period, simulator, count, energy_count, compare, verbose):
    """The whole cost flow of DESIGN (macro view): synth, STA, energy, regression, and report.md."""
    from .flow.energy import run_energy
    from .flow.report import load_run, write_report
    from .flow.sta import run_sta
    from .flow.synth import synthesize
    from .manifest import Manifest

    plat = _platform(platform, lib, pdk_dir)
    manifest = Manifest.load(design)
    others = {str(folder): folder for folder in compare}
    for folder in others.values():
        load_run(folder)                  # refused before the long steps when it holds no results
    synth_result = synthesize(manifest, plat, "macro", 10.0 if period is None else period, log=click.echo)
    run_sta(synth_result["folder"], plat, log=click.echo)
    no_energy = None
    if any(p.conv is not None for p in manifest.layers):
        no_energy = ("energy of conv networks is not modelled yet (their frame stores and im2col units have no "
                     "characterisation)", manifest.timing["initiation_interval"])
        click.echo(f"[flow] energy skipped: {no_energy[0]}")
    else:
        run_energy(manifest, plat, "macro", energy_count, None, log=click.echo)
    regression = None
    if simulator != "none" and "harness" in manifest.views:
        from .verify import run_array_regression, run_network_regression

        if manifest.kind == "network":
            regression = run_network_regression(manifest, simulator, count=count, verbose=verbose, progress=True,
                                                log=click.echo)
        else:
            regression = run_array_regression(manifest, simulator, verbose=verbose, log=click.echo)
    elif simulator != "none":
        click.echo("[flow] no harness view: regression skipped (regenerate with --views macro,harness)")
    path = write_report(Path(synth_result["folder"]).parent, regression, no_energy, others)
    click.echo(f"report: {path}")


@main.command()
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--tech", type=click.Choice(["osu018", "sky130hd"]), default="osu018", show_default=True,
              help="qflow technology: osu018 places and routes; sky130hd places only (sky130 numbers: hwgen export orfs).")
@PERIOD
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Result folder (default DESIGN/flow/<tech>_synth/pnr).")
@_fail_cleanly
def pnr(design, tech, period, out):
    """Place and route DESIGN (synth view) with qflow: die area, wirelength, post-route timing, layout PNG."""
    from .flow.pnr import TECHS, place_and_route

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
    """Export a generated design to another flow."""


@export.command("orfs")
@click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
@platform_options
@FLOW_VIEW
@PERIOD
@click.option("--utilization", type=FiniteFloat(1.0, 95.0), default=None,
              help="CORE_UTILIZATION in percent (default: 30 macro view, 40 synth view; lowered until the macros fit).")
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write designs/<platform>/<design>/ into (an ORFS flow/ folder, or a new one).")
@_fail_cleanly
def orfs(design, platform, lib, pdk_dir, view, period, utilization, out_dir):
    """A drop-in OpenROAD-flow-scripts design folder (config.mk, constraint.sdc, sources, macro abstracts)."""
    from .flow.orfs import export_orfs
    from .flow.platform import get_platform

    plat = get_platform(None, lib) if lib is not None and platform is None else (platform or "sky130hd")
    folder = export_orfs(design, plat, out_dir, view=view, period_ns=10.0 if period is None else period,
                         utilization=utilization, pdk_dir=pdk_dir)
    click.echo(f"wrote {folder}")
    click.echo(f"run it from ORFS's flow/ folder: make DESIGN_CONFIG=./designs/{folder.parent.name}/{folder.name}/config.mk")


# -- data --------------------------------------------------------------------------------------
@main.command()
@click.option("--dataset", type=click.Choice(DATASET_NAMES), default="mnist", show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder of the dataset's IDX files (default: $HWGEN_DATA/<dataset>, ../shared/data/<dataset>, "
                   "the Debian package's folder).")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--count", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="First image.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Image set to write (.npz).")
@_fail_cleanly
def images(dataset, data_dir, split, count, offset, out):
    """Write an image set (.npz of images and labels) from a dataset's IDX files, for `hwgen sim --images`."""
    from .data import load_split, write_images

    if out.suffix != ".npz":
        raise click.BadParameter(f"must end in .npz, not {out.name!r}", param_hint="-o/--out")
    data = load_split(split, data_dir, dataset)
    write_images(data, out, count, offset)
    click.echo(f"wrote {out}: {dataset} {split} images {offset}..{offset + count - 1}"
               + ("" if data.official else " (not an official copy of the dataset: used as given)"))


@main.command()
@click.argument("dataset", type=click.Choice(DATASET_NAMES))
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder with the original IDX files (default: $HWGEN_DATA/<dataset>, then ../shared/data/<dataset>, "
                   "then the Debian package's folder).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="IR file to write (default models/<dataset>_bnn.npz, or models/<dataset>_conv.npz with --arch conv; "
                   "_tnn.npz and _tnn_conv.npz with --weights ternary).")
@click.option("--arch", type=click.Choice(["mlp", "conv"]), default="mlp", show_default=True,
              help="mlp: dense layers only; conv: conv stages (--conv), then the dense layers (--hidden).")
@click.option("--conv", "convs", type=ListType(ConvStageType(), "conv stages"), default=None,
              help="With --arch conv: comma-separated stages CHANNELS[:KERNEL[:STRIDE[:PADDING[:POOL]]]], each a "
                   "binarized conv padded with -1, batch-norm, max-pool, sign. Defaults: kernel 3, stride 1, "
                   "padding KERNEL//2, pool 2 (so 32 is a 3x3 conv, padding 1, then 2x2 max-pool).  [default: 32,64]")
@click.option("--hidden", type=HiddenType(), default=None,
              help="Dense hidden layer sizes, or none.  [default: 1024,1024 for mlp; none for conv (flatten, then the "
                   "output layer)]")
@click.option("--epochs", type=click.IntRange(min=1), default=25, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--lr", type=FiniteFloat(0.0, lo_open=True), default=3e-3, show_default=True, help="Adam learning rate (cosine decay).")
@click.option("--seed", type=SEED, default=1, show_default=True)
@click.option("--weights", type=click.Choice(["binary", "ternary"]), default="binary", show_default=True,
              help="binary: weights ±1; ternary: weights -1, 0, +1 (t(w) = sign(w) where |w| > 0.7 * mean|w| of its "
                   "neuron or channel, else 0; IR version 3). Inputs and activations stay ±1.")
@click.option("--flip-ber", type=BER, default=0.0, show_default=True,
              help="Error-aware training: flip each binarized weight with this probability while training (ternary: "
                   "the sign-flip rate of the non-zero weights).")
@click.option("--flip-zero-as-pm", type=BER, default=0.0, show_default=True,
              help="With --weights ternary, error-aware training: read each 0 weight as +1 or -1 (equally likely) with "
                   "this probability while training.")
@click.option("--flip-pm-as-zero", type=BER, default=0.0, show_default=True,
              help="With --weights ternary, error-aware training: read each ±1 weight as 0 with this probability "
                   "while training (at most 1 - --flip-ber: a weight reads as 0 or flips, not both).")
@click.option("--dropout", type=FiniteFloat(0.0, 1.0, hi_open=True), default=0.2, show_default=True,
              help="Dropout while training, on the inputs of an MLP's hidden layers, or of a conv net's dense "
                   "layers (its output layer included).")
@click.option("--input-threshold", type=click.IntRange(0, 255), default=127, show_default=True,
              help="Pixels above it are +1.")
@click.option("--hflip", is_flag=True,
              help="Augmentation: mirror each training image left-right with probability 1/2 (for Fashion-MNIST; "
                   "digits are not mirror images of each other).")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True,
              help="torch threads. 1 is much faster when another job keeps a core of a 2-core machine busy "
                   "(torch's workers spin-wait on it).")
@click.pass_context
@_fail_cleanly
def train(ctx, dataset, data_dir, out, arch, convs, hidden, epochs, batch_size, lr, seed, weights, flip_ber,
          flip_zero_as_pm, flip_pm_as_zero, dropout, input_threshold, hflip, threads):
    """Train a binarized (or ternary-weight) MLP or conv net on DATASET, export it to the network IR, and write
    its model card."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException("hwgen train needs torch: pip install 'hwgen[train]' (torch 2.13.0, CPU)") from None
    from .data import IMAGE_PIXELS
    from .train.job import train_and_export
    from .train.loop import TrainConfig
    from .train.model import ConvStage, conv_plan

    if arch == "mlp":
        if convs is not None:
            raise click.BadParameter("applies to --arch conv only", param_hint="--conv")
        hidden, convs = [1024, 1024] if hidden is None else hidden, []
    else:
        convs = [ConvStage(32), ConvStage(64)] if convs is None else convs
        hidden = [] if hidden is None else hidden
        try:
            conv_plan((28, 28, 1), convs)
        except ValueError as e:
            raise click.BadParameter(f"{e} (images are 28x28)", param_hint="--conv") from None
    if weights == "binary":
        for name in ("flip_zero_as_pm", "flip_pm_as_zero"):
            if _given(ctx, name):
                raise click.BadParameter("applies to --weights ternary only", param_hint=f"--{name.replace('_', '-')}")
    elif flip_pm_as_zero + flip_ber > 1:
        raise click.BadParameter(f"a ±1 weight reads as 0 or flips, not both: --flip-pm-as-zero {flip_pm_as_zero:g} "
                                 f"plus --flip-ber {flip_ber:g} is over 1", param_hint="--flip-pm-as-zero")
    stem = {("mlp", "binary"): "bnn", ("conv", "binary"): "conv", ("mlp", "ternary"): "tnn",
            ("conv", "ternary"): "tnn_conv"}[arch, weights]
    out = out or Path("models") / f"{dataset.replace('-', '_')}_{stem}.npz"
    if out.suffix != ".npz":
        raise click.BadParameter(f"must end in .npz (the IR file), not {out.name!r}", param_hint="-o/--out")
    cfg = TrainConfig(sizes=[IMAGE_PIXELS, *hidden, 10], epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                      flip_ber=flip_ber, dropout=dropout, input_threshold=input_threshold, threads=threads, arch=arch,
                      convs=[c.as_dict() for c in convs], hflip=hflip, weights=weights, flip_zero_as_pm=flip_zero_as_pm,
                      flip_pm_as_zero=flip_pm_as_zero)
    train_and_export(dataset, cfg, out, data_dir, log=click.echo)


# -- studies -----------------------------------------------------------------------------------
def _study_options(fn):
    fn = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
                      show_default=True, help="Folder for the CSV and PNG results.")(fn)
    fn = click.option("--seed", type=SEED, default=0, show_default=True)(fn)
    fn = click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
                      help="The dataset's IDX folder (default: $HWGEN_DATA/<dataset>, ../shared/data/<dataset>, the "
                           "Debian package's folder; else the shipped 1000-image test slice).")(fn)
    fn = click.option("--dataset", type=click.Choice(DATASET_NAMES), default=None,
                      help="Evaluate on this dataset (default: the one the networks were trained on, from their "
                           "metadata).")(fn)
    fn = click.option("--model", "models", multiple=True,
                      type=click.Path(dir_okay=False, exists=True, path_type=Path),
                      help="Network IR(s) (repeatable). Default: the shipped networks of the dataset (MNIST: "
                           "mnist_bnn with dropout, mnist_bnn_plain without, mnist_bnn_adapted error-aware).")(fn)
    return fn


def _load_study(models, dataset, data_dir, count, tag):
    from .study.inputs import study_inputs

    inputs = study_inputs(models, dataset, data_dir, count)
    click.echo(f"[{tag}] {len(inputs.labels)} images of the {inputs.source}; networks: {', '.join(inputs.networks)}")
    return inputs


@main.command()
@_study_options
@click.option("--parallel", "parallels", type=ListType(click.IntRange(1, 4096), "replica counts"), default="1,2,4,8,16",
              show_default=True, help="Replica counts P of every conv layer to tabulate.")
@click.option("--n", "n", type=click.IntRange(*N_BOUNDS), default=32, show_default=True, help="Cell memory is n x n.")
@click.option("--config", type=click.Choice(CONFIGS), default="par2seq", show_default=True)
@click.option("--ber", type=BER, default=0.0, show_default=True,
              help="Also the accuracy with weight errors at this BER (each replica with its own errors).")
@click.option("--clock-mhz", type=FiniteFloat(0.0, lo_open=True), default=100.0, show_default=True,
              help="Clock for the images/s column.")
@click.option("--sim", "simulator", type=click.Choice(["verilator", "icarus"]), default=None,
              help="Also generate every design and measure its cycles in an RTL regression of --sim-count images.")
@click.option("--sim-count", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True,
              help="Error maps per design for the --ber accuracy.")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Use only the first COUNT test images.")
@_fail_cleanly
def space(models, dataset, data_dir, seed, out_dir, parallels, n, config, ber, clock_mhz, simulator, sim_count,
          repeats, count):
    """Design space of conv layers: for each P (kernels stored once or replicated P times), cells,
    cycles per inference, interval and accuracy of every network, as one table (CSV, Markdown, PNG)."""
    from .files import writable_folder
    from .study.space import run_space

    out_dir = writable_folder(out_dir)
    if not models:
        from .data import MODELS_DIR

        models = tuple(p for p in (MODELS_DIR / "mnist_conv.npz", MODELS_DIR / "mnist_bnn.npz") if p.is_file())
    inputs = _load_study(models, dataset, data_dir, count, "space")
    run_space(inputs.networks, inputs.x_bits, inputs.labels, out_dir, parallels, n, config, ber, seed, clock_mhz,
              simulator, sim_count, {Path(m).stem: Path(m) for m in models}, inputs.source, repeats, log=click.echo)


@main.command()
@_study_options
@click.option("--bers", type=ListType(BER, "bit error rates in [0, 1]"),
              default=",".join(f"{b:g}" for b in (0.0, 1e-5, 1e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 4e-2, 6e-2, 1e-1)),
              show_default=True, help="Comma-separated weight bit error rates.")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True,
              help="Error maps per BER (BER 0 runs once).")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Use only the first COUNT test images.")
@farm_options
@_fail_cleanly
def sweep(models, dataset, data_dir, seed, out_dir, bers, repeats, count, workers, scheduler):
    """Accuracy vs weight bit error rate (paper Fig. 9) on the bit-packed golden model: CSV + PNG.
    The points run on --workers local processes or the workers of --scheduler; the results do
    not depend on where they ran."""
    from .files import writable_folder
    from .study.sweep import AUTO_CORES_PER_WORKER, AUTO_MIN_WORK, run_sweep

    _check_farm_options(scheduler, workers)
    out_dir = writable_folder(out_dir)
    inputs = _load_study(models, dataset, data_dir, count, "sweep")
    points = len(inputs.networks) * sum(1 if b == 0 else repeats for b in bers)
    weights = sum(layer.n_inputs * layer.n_outputs for n in inputs.networks.values() for layer in n.layers)
    if scheduler is None:
        if workers is None:
            small = points * len(inputs.labels) * weights < AUTO_MIN_WORK
            workers = 1 if small else max(1, (os.cpu_count() or 1) // AUTO_CORES_PER_WORKER)
        workers = min(workers, points)
    farm = _farm(scheduler, workers)
    with farm:
        run_sweep(inputs.networks, inputs.x_bits, inputs.labels, out_dir, bers, repeats, seed, log=click.echo,
                  source=inputs.source, farm=farm)


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Folder for fig10.csv and fig10.png.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Trained models (default OUT/models); reused when shape, recipe and data match.")
@click.option("--widths", type=ListType(click.IntRange(1, 4096), "widths"), default="16,32,64,128,256,512,1024",
              show_default=True)
@click.option("--hidden-layers", type=ListType(click.IntRange(1, 8), "depths"), default="1,2", show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder of the MNIST IDX files (default: $HWGEN_DATA/mnist, ../shared/data/mnist).")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="torch threads per training.")
@click.option("--platform", type=click.Choice(["sky130hd", "nangate45"]), default="sky130hd", show_default=True)
@click.option("--pdk-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None)
@click.option("--n", "n", type=click.IntRange(*N_BOUNDS), default=32, show_default=True, help="Cell size of the arrays.")
@click.option("--int8-node", type=click.Choice(["platform", "horowitz"]), default="platform", show_default=True,
              help="8-bit energies at the platform's node and supply (E ~ C V^2 from Horowitz's 45 nm / 0.9 V), "
                   "or Horowitz's raw 45 nm figures.")
@PERIOD
@_fail_cleanly
def fig10(out_dir, cache_dir, widths, hidden_layers, epochs, seed, data_dir, threads, platform, pdk_dir, n, int8_node,
          period):
    """Accuracy vs energy per inference, BNN on hwgen hardware vs 8-bit arithmetic (paper Fig. 10): CSV + PNG."""
    from .files import writable_folder
    from .flow.energy import estimate_network_energy
    from .flow.platform import get_platform
    from .study.fig10 import run_fig10

    plat = get_platform(platform, None, pdk_dir)
    clock = 10.0 if period is None else period

    def energy(network):
        return estimate_network_energy(network, n, plat, clock, log=click.echo)["total_j"]

    from .flow.liberty import load_library

    node = None
    if int8_node == "platform":
        node = (plat.process_nm, load_library(plat.prepared_liberty()).voltage_v)
    rows = run_fig10(writable_folder(out_dir, "--out"), energy, widths=widths, hidden_layers=hidden_layers,
                     epochs=epochs, seed=seed, data_dir=data_dir, cache_dir=cache_dir, threads=threads,
                     int8_node=node, log=click.echo)
    for r in rows:
        if r["kind"] == "bnn":
            click.echo(f"{r['sizes']:>18}  BNN {r['accuracy']:.2%} {r['energy_j'] * 1e9:8.2f} nJ   "
                       f"8-bit arithmetic x{r['energy_ratio']:.2f}, at equal accuracy x{r['iso_accuracy_ratio']:.2f}")
    click.echo(f"wrote {out_dir / 'fig10.csv'} and {out_dir / 'fig10.png'}")


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results/tnn"),
              show_default=True, help="Folder for tnn_runs.csv, tnn_summary.csv and tnn.png.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Trained models (default OUT/models); reused when recipe and data match.")
@click.option("--dataset", "datasets", type=ListType(click.Choice(["mnist", "fashion-mnist"]), "datasets"),
              default="mnist,fashion-mnist", show_default=True)
@click.option("--arch", type=click.Choice(["mlp", "conv"]), default="mlp", show_default=True,
              help="mlp: 784-h-h-10 MLPs; conv: 3x3 conv f, 2x2 pool, 3x3 conv 2f, 2x2 pool, dense output.")
@click.option("--widths", type=ListType(click.IntRange(1, 4096), "widths"), default="32,64,128,256",
              show_default=True, help="Model sizes: hidden units h per layer (--arch mlp) or filters f (--arch conv).")
@click.option("--seeds", "seed_list", type=ListType(SEED, "seeds"), default="1,2,3", show_default=True,
              help="Training seeds: every network is trained once per seed (the spread over seeds is reported).")
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True,
              help="Sampled error maps per trained network.")
@click.option("--condition", type=ConditionType(), default="55,2.5,1", show_default=True,
              help="Programming condition i_set_uA,v_reset,pulse_us that sets both networks' device errors.")
@click.option("--cycles", type=CountType(0), default=0, show_default=True, help="Programming cycles endured (aging).")
@click.option("--vdd-binary", type=FiniteFloat(0.5, 1.5), default=1.2, show_default=True,
              help="PCSA supply of the binary read (V).")
@click.option("--vdd-ternary", type=FiniteFloat(0.5, 1.5), default=0.9, show_default=True,
              help="PCSA supply of the ternary read (V): low, so HRS/HRS pairs do not resolve and read 0.")
@click.option("--aware/--no-aware", default=True, show_default=True,
              help="Also train every network error-aware, at its own device error rates.")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="torch threads per training.")
@click.option("--platform", type=click.Choice(["sky130hd", "nangate45"]), default="sky130hd", show_default=True,
              help="Platform whose macro model gives the sense capacitance (read energy = C V^2 per weight).")
@click.option("--pdk-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None)
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder of the IDX files (one --dataset only; default: $HWGEN_DATA/<dataset>, ../shared/data/<dataset>, "
                   "the Debian package's folder).")
@_fail_cleanly
def tnn(out_dir, cache_dir, datasets, arch, widths, seed_list, epochs, repeats, condition, cycles, vdd_binary, vdd_ternary,
        aware, threads, platform, pdk_dir, data_dir):
    """TNN vs BNN (seed 004): accuracy vs model size and read energy, clean and with device errors: CSV + PNG."""
    from .device.physics import parse_condition
    from .files import writable_folder
    from .flow.platform import get_platform
    from .study.tnn import run_tnn_study

    if data_dir is not None and len(datasets) != 1:
        raise click.BadParameter("takes one --dataset (each dataset has its own folder)", param_hint="--data-dir")
    if len(set(seed_list)) != len(seed_list):
        raise click.BadParameter(f"seeds repeat: {','.join(map(str, seed_list))}", param_hint="--seeds")
    runs = run_tnn_study(writable_folder(out_dir, "--out"), datasets=datasets, arch=arch, widths=widths,
                         seed_list=seed_list,
                         epochs=epochs, repeats=repeats, condition=parse_condition(condition), cycles=cycles,
                         vdd_binary=vdd_binary, vdd_ternary=vdd_ternary, aware=aware, threads=threads,
                         platform=get_platform(platform, None, pdk_dir), data_dir=data_dir, cache_dir=cache_dir,
                         log=click.echo)
    click.echo(f"[tnn] {len(runs)} networks; wrote {out_dir / 'tnn_summary.csv'}, {out_dir / 'tnn_runs.csv'} and "
               f"{out_dir / 'tnn.png'}")


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True)
@_fail_cleanly
def device(out_dir):
    """RRAM device model report: 2T2R vs 1T1R BER with ECC (Fig. 8), Table 1, aging: CSV + PNG."""
    from .device.report import device_report
    from .files import writable_folder

    written = device_report(writable_folder(out_dir))
    click.echo(f"[device] wrote {', '.join(str(p) for p in written)}")


@main.command()
@_study_options
@click.option("--count", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Test images per evaluation.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--cycles", type=CountType(0), default=0, show_default=True,
              help="Programming cycles already endured (aging), e.g. 1e9.")
@click.option("--tolerance", type=FiniteFloat(0.0, 1.0), default=0.005, show_default=True,
              help="Accepted accuracy loss (fraction).")
@_fail_cleanly
def loop(models, dataset, data_dir, seed, out_dir, count, repeats, cycles, tolerance):
    """Closed loop: programming condition -> BER -> accuracy -> programming energy (CSV + PNG)."""
    from .files import writable_folder
    from .study.closedloop import closed_loop

    out_dir = writable_folder(out_dir)
    inputs = _load_study(models, dataset, data_dir, count, "loop")
    closed_loop(inputs.networks, inputs.x_bits, inputs.labels, out_dir, repeats, seed, tolerance, cycles,
                log=click.echo)


# -- demo --------------------------------------------------------------------------------------
@main.command()
@click.option("--sim", "simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=Path("rtl_out"),
              show_default=True, help="Where the design folders go.")
@click.option("--build-root", type=click.Path(file_okay=False, path_type=Path), default=Path("sim_build"),
              show_default=True, help="Where the simulator builds and logs go.")
@click.option("--model", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Network IR to run (default: the shipped mnist_bnn); its images are the shipped test slice of "
                   "the dataset it was trained on.")
@click.option("--count", type=click.IntRange(1, 1000), default=200, show_default=True,
              help="Shipped test images to run.")
@click.option("--array/--no-array", "with_array", default=False,
              help="Also generate and verify the paper's 3x3 array (n=32) in both configurations.")
@VERBOSE
@_fail_cleanly
def demo(simulator, out_root, build_root, model, count, with_array, verbose):
    """The main job on shipped files: generate a trained network's RTL, run shipped test images through
    it with and without device errors, and compare every result with the golden model."""
    from .demo import run_demo

    run_demo(sim=simulator, out_root=out_root, model=model, count=count, with_array=with_array,
             build_root=build_root, verbose=verbose, progress=True, log=click.echo)


if __name__ == "__main__":
    sys.exit(main())
