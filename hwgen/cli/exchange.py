"""Exchange commands: ``import`` (a QONNX graph, as Brevitas exports it, to the network IR) and
``export qonnx`` (the IR to a QONNX graph that qonnx, FINN and hls4ml read). They need the
``hwgen[onnx]`` extra; without it they stop with one line naming it."""

from __future__ import annotations

from pathlib import Path

import click

from .edge import fail_cleanly, given, main
from .flow import export
from .options import DATASET_NAMES, FiniteFloat


@main.command("import")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The network IR file to write (.npz); written only when the whole graph is accepted.")
@click.option("--input-threshold", type=click.IntRange(-1, 255), default=None,
              help="Pixels above it are +1: the input binarisation of a graph whose first layer takes float pixels "
                   "(a graph that binarises its input says it itself; a different value is refused).")
@click.option("--pixel-divisor", type=FiniteFloat(0.0, lo_open=True), default=255.0, show_default=True,
              help="The graph's input is pixel / DIVISOR (255: torchvision's ToTensor).")
@click.option("--dataset", type=click.Choice(DATASET_NAMES), default=None,
              help="The dataset the network was trained on (recorded in the IR; default mnist).")
@fail_cleanly
def import_(model, out, input_threshold, pixel_divisor, dataset):
    """A QONNX graph (binary or ternary weights, binary activations) as a network IR file."""
    from ..exchange.qonnx_import import import_qonnx

    network = import_qonnx(model, out, input_threshold=input_threshold, divisor=pixel_divisor, dataset=dataset)
    kinds = "ternary" if network.is_ternary else "binary"
    click.echo(f"{model.name}: {network.describe()} ({len(network.layers)} {kinds} layers; pixels above "
               f"{network.input_threshold} are +1); wrote {out}")


@export.command("qonnx")
@click.argument("network", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The QONNX file to write (.onnx).")
@click.option("--ber", type=FiniteFloat(0.0, 1.0), default=None,
              help="Export the weights a faulty chip reads: the error map `hwgen sim --ber BER --seed SEED` draws "
                   "(ternary layers: its misread codes).")
@click.option("--seed", type=click.IntRange(0), default=1, show_default=True, help="The error map's seed (with --ber).")
@click.pass_context
@fail_cleanly
def qonnx(ctx, network, out, ber, seed):
    """A network IR file as a QONNX graph (input: pixel / 255; output: the golden model's class scores)."""
    from ..exchange.qonnx_export import export_qonnx

    if given(ctx, "seed") and ber is None:
        raise click.BadParameter("draws an error map; give --ber too", param_hint="--seed")
    export_qonnx(network, out, ber=ber, seed=seed)
    click.echo(f"{network.name}: wrote {out}" + (f" (error map: BER {ber:g}, seed {seed})" if ber is not None else ""))
