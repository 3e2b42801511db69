"""Design commands: ``rtl`` (generate an array or a whole network), ``check`` (lint and a quick
synthesis of a generated design) and ``images`` (an image set for ``hwgen sim --images``)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..hwconfig import HwConfig
from .edge import fail_cleanly, given, main
from .options import (ARRAY_VIEWS, DEFAULT_NETWORK_VIEWS, DESIGN, NETWORK_VIEWS, DatasetName, IdentifierType, ListType,
                      hw_options)


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
                   "harness (sim view in a batch-simulation harness), fpga (networks: the harness with the 2T2R "
                   "blocks as FPGA block RAM, for `hwgen fpga`). Default: sim,synth,macro,harness for an "
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
@click.option("--neuron-order", type=click.Choice(["activity", "model"]), default="activity", show_default=True,
              help="With --model: activity puts each hidden par2seq layer's neurons in the order whose consecutive "
                   "weight rows differ least (fewer toggling sense outputs and popcount adders, the same outputs; "
                   "the design's IR copy records the permutation); model keeps the IR's order.")
@click.pass_context
@fail_cleanly
def rtl(ctx, n, N, M, config, level_bits, out_dir, top, views, model, parallel, weights, neuron_order):
    """Generate Verilog and a manifest for an N x M array of n x n cells, or for a whole network."""
    from ..generate import generate_array, generate_model

    t0 = time.perf_counter()
    if model is not None:
        if given(ctx, "weights"):
            raise click.UsageError("--weights applies to arrays; with --model each layer's weights (binary or "
                                   "ternary) come from the IR")
        manifest = generate_model(model, n, config, N, M, level_bits, parallel, out_dir, name=top or "hwgen_net",
                                  views=views or DEFAULT_NETWORK_VIEWS, neuron_order=neuron_order, log=click.echo)
        for p in manifest.layers:
            extra = f", {p.conv_timing['passes']} passes per image" if p.conv is not None else ""
            click.echo(f"  layer {p.index} {p.name}: {p.describe()} ({p.cells} cells, {p.cycles_per_pass} cycles "
                       f"per pass{extra})")
        timing = manifest.timing
        click.echo(f"{model.name}: {timing['cycles_per_inference']} cycles per inference, one image every "
                   f"{timing['initiation_interval']} cycles; wrote {manifest.folder} ({time.perf_counter() - t0:.1f} s)")
        return
    if given(ctx, "parallel"):
        raise click.BadParameter("replicates a network's conv layers; give --model", param_hint="--parallel")
    if given(ctx, "neuron_order"):
        raise click.BadParameter("orders a network's hidden neurons; give --model", param_hint="--neuron-order")
    if N is None or M is None:
        raise click.UsageError("--N and --M are required for an array (or give --model)")
    hw = HwConfig(n=n, N=N, M=M, config=config, level_bits=level_bits, weights=weights)
    manifest = generate_array(hw, out_dir, name=top or "hwgen_array", views=views or ARRAY_VIEWS)
    timing = manifest.timing
    click.echo(f"{hw.tag()}: {hw.max_inputs} inputs x {hw.max_outputs} outputs, latency {timing['latency']}, "
               f"{timing['cycles_per_pass']} cycles per layer pass")
    for view, entry in manifest.views.items():
        click.echo(f"  {view:7s} {', '.join(str(manifest.folder / f) for f in entry.verilog)}")
    click.echo(f"  manifest {manifest.folder / 'manifest.json'}  ({time.perf_counter() - t0:.1f} s)")


@main.command()
@DESIGN
@click.option("--view", "views", multiple=True, type=click.Choice(ARRAY_VIEWS),
              help="View(s) to lint (repeatable). Default: every view the design has.")
@click.option("--synth/--no-synth", default=True, help="Also run Yosys synth on the synth and macro views.")
@fail_cleanly
def check(design, views, synth):
    """Lint a generated DESIGN with Verilator and synthesize it with Yosys."""
    from ..flow.checks import check_design

    check_design(design, views, synth, log=click.echo)


@main.command()
@click.option("--dataset", type=DatasetName(), default=None,
              help="mnist, fashion-mnist or a user dataset's name.  [default: named by --data-dir's dataset.json or "
                   "folder; without --data-dir, mnist]")
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder of the dataset's files (IDX or train.npz/test.npz; default: $HWGEN_DATA/<dataset>, "
                   "../shared/data/<dataset>, the Debian package's folder).")
@click.option("--split", type=click.Choice(["test", "train"]), default="test", show_default=True)
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="Images to write.  [default: all from --offset on]")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="First image.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Image set to write (.npz).")
@fail_cleanly
def images(dataset, data_dir, split, count, offset, out):
    """Write an image set (.npz of images and labels) from a dataset's IDX files, for `hwgen sim --images`."""
    from ..data import load_split, write_images

    if out.suffix != ".npz":
        raise click.BadParameter(f"must end in .npz, not {out.name!r}", param_hint="-o/--out")
    if dataset is None and data_dir is None:
        dataset = "mnist"
    data = load_split(split, data_dir, dataset)
    if count is None:
        if offset >= len(data.labels):
            raise click.BadParameter(f"the {split} split holds {len(data.labels)} images", param_hint="--offset")
        count = len(data.labels) - offset
    write_images(data, out, count, offset)
    click.echo(f"wrote {out}: {data.dataset} ({'x'.join(map(str, data.shape))}) {split} images "
               f"{offset}..{offset + count - 1}"
               + ("" if data.official or data.dataset not in ("mnist", "fashion-mnist")
                  else " (not an official copy of the dataset: used as given)"))
