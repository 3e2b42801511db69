"""Verification commands: ``sim`` (the cocotb regression of a generated array or network against
the golden model, in this process or on a farm of workers) and ``demo`` (the main job on shipped
files)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .edge import fail_cleanly, given, main
from .options import BER, DESIGN, SEED, VERBOSE, ConditionType, CountType, FiniteFloat, check_farm_options, farm_options


ARRAY_ONLY = ("passes", "fill", "mode")
NETWORK_ONLY = ("count", "images", "data_dir", "condition", "cycles", "vdd", "workers", "scheduler", "batches")


@main.command()
@DESIGN
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
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="Network designs: images to run (more than the harness holds run in several batches).  "
                   "[default: all the images there are, at most 200]")
@click.option("--images", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Network designs: an image set .npz (images, labels), e.g. from `hwgen images`. Default: the "
                   "shipped test slice of the dataset the network was trained on (a user dataset: --data-dir).")
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Network designs: run the test split of this dataset folder (IDX files or test.npz; default for "
                   "a user dataset: $HWGEN_DATA/<dataset>, ../shared/data/<dataset>).")
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
@fail_cleanly
def sim(ctx, design, simulator, ber, seed, passes, fill, mode, count, images, data_dir, condition, cycles, vdd,
        build_dir, workers, scheduler, batches, verbose):
    """Run the cocotb regression of a generated DESIGN (array or network) against the golden model."""
    from ..manifest import Manifest
    from ..verify import run_array_regression
    from ..verify.regression import run_network_regression_on

    manifest = Manifest.load(design)
    wrong = [o for o in (ARRAY_ONLY if manifest.kind == "network" else NETWORK_ONLY) if given(ctx, o)]
    if wrong:
        raise click.UsageError(f"--{wrong[0]} applies to {'array' if manifest.kind == 'network' else 'network'} "
                               f"designs; {design} is {'a network' if manifest.kind == 'network' else 'an array'}")
    if condition is not None and given(ctx, "ber"):
        raise click.UsageError("--condition and --ber are alternatives: the condition gives the BER")
    if given(ctx, "cycles") and condition is None:
        raise click.UsageError("--cycles applies with --condition (aging of that programming condition)")
    if vdd is not None:
        if condition is None:
            raise click.UsageError("--vdd applies with --condition (the read supply of the ternary layers' rates)")
        if not any(p.hw.is_ternary for p in manifest.layers):
            raise click.UsageError(f"--vdd is the read supply of ternary layers; {design} has none")
    common = dict(seed=seed, build_dir=build_dir, verbose=verbose, progress=True, log=click.echo)
    if manifest.kind == "network":
        if images is not None and data_dir is not None:
            raise click.UsageError("--images and --data-dir are alternatives: an image set, or a dataset's folder")
        images = images if data_dir is None else data_dir
        count = sim_count(manifest, images, count)
        if batches is not None and batches > count:
            raise click.UsageError(f"--batches {batches} is more than the --count of {count} images: every batch "
                                   f"runs at least one")
        check_farm_options(scheduler, workers)
        r = run_network_regression_on(manifest, simulator, count=count, batches=batches, workers=workers,
                                      scheduler=scheduler, ber=ber, images=images, condition=condition,
                                      cycles=cycles, vdd=vdd, **common)
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



SIM_IMAGES = 200        # hwgen sim's default cap (about 1 s of Verilator on the MNIST network, after the build)


def sim_count(manifest, images, count):
    """``--count``, or all the images there are, at most :data:`SIM_IMAGES` (the cap printed);
    refuses images of another dataset or shape before anything is built."""
    from ..data import network_images
    from ..ir import Network

    network = Network.load(manifest.path(manifest.ir_file))
    split, where, _ = network_images(network, manifest.folder.name, images, count, SIM_IMAGES,
                                     log=lambda line: click.echo(f"[sim] {line}"))
    return len(split.labels)


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
@fail_cleanly
def demo(simulator, out_root, build_root, model, count, with_array, verbose):
    """The main job on shipped files: generate a trained network's RTL, run shipped test images through
    it with and without device errors, and compare every result with the golden model."""
    from ..demo import run_demo

    run_demo(sim=simulator, out_root=out_root, model=model, count=count, with_array=with_array,
             build_root=build_root, verbose=verbose, progress=True, log=click.echo)
