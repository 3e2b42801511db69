"""Option types and the options several commands share: every value is checked here, at the edge,
with a message that names the option (click's usage error, exit status 2)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ..hwconfig import CELLS_BOUNDS, CONFIGS, LEVEL_BITS_BOUNDS, N_BOUNDS

ARRAY_VIEWS = ("sim", "synth", "macro", "harness")     # hwgen.generate's DEFAULT_VIEWS, NETWORK_VIEWS and
NETWORK_VIEWS = ("sim", "harness", "macro", "fpga")    # DEFAULT_NETWORK_VIEWS, here without importing Amaranth
DEFAULT_NETWORK_VIEWS = ("sim", "harness", "macro")    # for --help
DATASET_NAMES = ("mnist", "fashion-mnist")              # built in; a user dataset has any name (DatasetName)


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
        from ..train.model import ConvStage

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
        from ..device.physics import calibration_warnings, parse_condition

        try:
            cond = parse_condition(value)
        except ValueError as e:
            self.fail(str(e), param, ctx)
        for warning in calibration_warnings(cond):
            click.echo(f"warning: --condition {value}: {warning}; the device model extrapolates there", err=True)
        return str(value)


class DatasetName(click.ParamType):
    """A dataset name: mnist, fashion-mnist, or a user dataset's (its files in --data-dir)."""

    name = "dataset"

    def convert(self, value, param, ctx):
        from ..data import check_dataset
        from ..errors import DataError

        try:
            return check_dataset(str(value))
        except DataError as e:
            self.fail(str(e), param, ctx)


class IdentifierType(click.ParamType):
    name = "identifier"

    def convert(self, value, param, ctx):
        from ..manifest import IDENTIFIER_RULE, is_identifier

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
        from ..farm import check_address

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


def check_farm_options(scheduler, workers):
    if scheduler is not None and workers is not None:
        raise click.UsageError("--workers sizes a local cluster; with --scheduler the workers are those that joined "
                               "the scheduler")



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


def platform_of(platform, lib, pdk_dir):
    from ..flow.platform import get_platform

    if platform is None and lib is None:
        platform = "sky130hd"
    return get_platform(platform, lib, pdk_dir)


DESIGN = click.argument("design", type=click.Path(file_okay=False, exists=True, path_type=Path))
PERIOD = click.option("--period", type=FiniteFloat(0.05, 1e6), default=None,
                      help="Clock period in ns (default 10; sta and energy: the synthesis run's).")
FLOW_VIEW = click.option("--view", type=click.Choice(["macro", "synth"]), default="macro", show_default=True,
                         help="macro: 2T2R + PCSA as the black-box macro; synth: the memory as flip-flops (arrays).")


def flow_step_options(fn):
    """DESIGN, the platform, the view and the clock period of a flow step (synth, sta)."""
    return DESIGN(platform_options(FLOW_VIEW(PERIOD(fn))))



# -- studies -----------------------------------------------------------------------------------
def study_options(fn):
    fn = click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
                      show_default=True, help="Folder for the CSV and PNG results.")(fn)
    fn = click.option("--seed", type=SEED, default=0, show_default=True)(fn)
    fn = click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
                      help="The dataset's folder (IDX files or test.npz; default: $HWGEN_DATA/<dataset>, "
                           "../shared/data/<dataset>, the Debian package's folder; else the shipped 1000-image test "
                           "slice of MNIST or Fashion-MNIST).")(fn)
    fn = click.option("--dataset", type=DatasetName(), default=None,
                      help="The networks' dataset (default: the one they were trained on, from their metadata; "
                           "without --model, the shipped networks of this dataset).")(fn)
    fn = click.option("--model", "models", multiple=True,
                      type=click.Path(dir_okay=False, exists=True, path_type=Path),
                      help="Network IR(s) (repeatable). Default: the shipped networks of the dataset (MNIST: "
                           "mnist_bnn with dropout, mnist_bnn_plain without, mnist_bnn_adapted error-aware).")(fn)
    return fn


def load_study(models, dataset, data_dir, count, tag, cap=None):
    """The networks and test images of a study; without ``count`` all the test images, at most
    ``cap`` (the cap printed)."""
    from ..study.inputs import study_inputs

    inputs = study_inputs(models, dataset, data_dir, count, cap, log=lambda line: click.echo(f"[{tag}] {line}"))
    click.echo(f"[{tag}] {len(inputs.labels)} images of the {inputs.source}; networks: {', '.join(inputs.networks)}")
    for note in inputs.notes:
        click.echo(f"[{tag}] {note}")
    return inputs
