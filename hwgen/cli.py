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
    fn = click.option("--M", "M", type=int, default=None,
                      help="Cells per row (output direction); with --model, default: the smallest that fits each layer.")(fn)
    fn = click.option("--N", "N", type=int, default=None,
                      help="Cells per column (input direction); with --model, default: the smallest that fits.")(fn)
    fn = click.option("--n", "n", type=int, default=32, show_default=True, help="Cell memory is n x n.")(fn)
    return fn


@main.command()
@hw_options
@click.option("-o", "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default rtl_out/<config>_n<n>_N<N>_M<M>).")
@click.option("--top", default=None, help="Top module name of the sim view (default hwgen_array, or hwgen_net "
                                          "with --model).")
@click.option("--views", default=None,
              help="Comma-separated views: sim (behavioural 2T2R), synth (bit memory), macro (black box), "
                   "harness (sim view in a batch-simulation harness). Default: sim,synth,macro,harness for an "
                   "array, sim,harness,macro for a network.")
@click.option("--model", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A network IR file (.npz): map every layer onto its own array and emit the whole network.")
@_fail_cleanly
def rtl(n, N, M, config, level_bits, out_dir, top, views, model):
    """Generate Verilog and a manifest for an N x M array of n x n cells, or for a whole network."""
    from .generate import DEFAULT_VIEWS, NETWORK_VIEWS, generate_array, generate_network

    if model is not None:
        from .ir import Network
        from .netplan import plan_network

        network = Network.load(model)
        plans = plan_network(network, n, config, N, M, level_bits=level_bits)
        out_dir = out_dir or Path("rtl_out") / f"{model.stem}_n{n}"
        t0 = time.perf_counter()
        view_list = tuple(v.strip() for v in views.split(",") if v.strip()) if views else NETWORK_VIEWS
        manifest = generate_network(network, plans, out_dir, name=top or "hwgen_net",
                                    views=view_list, model_path=model)
        for p in plans:
            click.echo(f"  layer {p.index} {p.name}: {p.n_inputs} -> {p.n_outputs} on {p.hw.tag()} "
                       f"({p.hw.cells} cells, {p.cycles_per_pass} cycles per pass)")
        timing = manifest["timing"]
        click.echo(f"{model.name}: {timing['cycles_per_inference']} cycles per inference, one image every "
                   f"{timing['initiation_interval']} cycles; wrote {out_dir} ({time.perf_counter() - t0:.1f} s)")
        return
    if N is None or M is None:
        raise click.ClickException("--N and --M are required for an array (or give --model)")
    views = views or ",".join(DEFAULT_VIEWS)
    hw = HwConfig(n=n, N=N, M=M, config=config, level_bits=level_bits)
    out_dir = out_dir or Path("rtl_out") / hw.tag()
    t0 = time.perf_counter()
    manifest = generate_array(hw, out_dir, name=top or "hwgen_array", views=tuple(v.strip() for v in views.split(",") if v.strip()))
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
@click.option("--count", default=200, show_default=True, help="Network designs: images to run.")
@click.option("--condition", default=None,
              help="Network designs: sample the device errors from the RRAM model at this programming condition, "
                   "'i_set_uA,v_reset,pulse_us' (e.g. 55,2.5,1), instead of --ber.")
@click.option("--cycles", default=0, show_default=True, help="With --condition: programming cycles (aging).")
@click.option("--images", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Network designs: npz of images/labels (default: the shipped MNIST test slice).")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Simulator build folder (default sim_build/<sim>_<design>).")
@_fail_cleanly
def sim(design, simulator, ber, seed, passes, fill, mode, count, condition, cycles, images, build_dir):
    """Run the cocotb regression of a generated DESIGN (array or network) against the golden model."""
    from .flow.checks import load_manifest
    from .verify import run_array_regression, run_network_regression

    if load_manifest(design).get("kind") == "network":
        result = run_network_regression(design, simulator, ber=ber, seed=seed, count=count, images=images,
                                        build_dir=build_dir, condition=condition, cycles=cycles, echo=click.echo)
        click.echo(json.dumps(result, indent=2))
        click.echo(f"RTL accuracy {100 * result['accuracy']:.2f}% on {result['images']} images; every class and "
                   f"output popcount equal to the golden model")
        return

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
@click.argument("dataset", type=click.Choice(["mnist", "fashion-mnist"]))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with the original IDX files (default: $HWGEN_DATA, then ../shared/data/<dataset>).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="IR file to write (default models/<dataset>_bnn.npz).")
@click.option("--hidden", default="1024,1024", show_default=True, help="Hidden layer sizes.")
@click.option("--epochs", default=25, show_default=True)
@click.option("--batch-size", default=100, show_default=True)
@click.option("--lr", default=3e-3, show_default=True, help="Adam learning rate (cosine decay).")
@click.option("--seed", default=1, show_default=True)
@click.option("--flip-ber", default=0.0, show_default=True,
              help="Error-aware training: flip each binarized weight with this probability while training.")
@click.option("--dropout", default=0.2, show_default=True, help="Dropout on every layer input while training.")
@click.option("--input-threshold", default=127, show_default=True, help="Pixels above it are +1.")
@_fail_cleanly
def train(dataset, data_dir, out, hidden, epochs, batch_size, lr, seed, flip_ber, dropout, input_threshold):
    """Train a binarized MLP on DATASET, export it to the network IR, and write its model card."""
    from .device import check_ber
    from .train.job import train_and_export
    from .train.loop import TrainConfig

    try:
        sizes = [784, *[int(h) for h in hidden.split(",") if h.strip()], 10]
    except ValueError:
        raise click.ClickException(f"--hidden must be comma-separated integers, not {hidden!r}") from None
    cfg = TrainConfig(sizes=sizes, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                      flip_ber=check_ber(flip_ber), dropout=dropout, input_threshold=input_threshold)
    train_and_export(dataset, cfg, out or Path("models") / f"{dataset.replace('-', '_')}_bnn.npz", data_dir,
                     log=click.echo)


def _study_inputs(models, data_dir, count: int, tag: str):
    """Networks (default: the shipped MNIST ones) and binarized test images for the studies: the
    MNIST test set when found, else the shipped 1000-image slice."""
    from .data import MODELS_DIR, binarize, default_data_dir, load_fixture, load_split
    from .ir import Network

    if not models:
        models = [MODELS_DIR / f"mnist_bnn{suffix}.npz" for suffix in ("", "_plain", "_adapted")]
        models = [p for p in models if p.is_file()]
    networks = {p.stem: Network.load(p) for p in models}
    thresholds = {n.metadata.get("input_threshold", 127) for n in networks.values()}
    if len(thresholds) != 1:
        raise click.ClickException(f"the networks binarize their inputs differently ({sorted(thresholds)})")
    if data_dir is not None or default_data_dir("mnist") is not None:
        split, source = load_split("test", data_dir), "MNIST test set"
    else:
        split, source = load_fixture(), "shipped 1000-image slice"
    images, labels = (split.images[:count], split.labels[:count]) if count else (split.images, split.labels)
    click.echo(f"[{tag}] {len(labels)} images of the {source}; networks: {', '.join(networks)}")
    return networks, binarize(images, thresholds.pop()), labels


@main.command()
@click.option("--model", "models", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Network IR(s) to sweep (repeatable). Default: the shipped MNIST networks mnist_bnn "
                   "(dropout), mnist_bnn_plain (no dropout) and mnist_bnn_adapted (error-aware training).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="MNIST IDX folder (default: $HWGEN_DATA, ../shared/data/mnist; else the shipped 1000-image slice).")
@click.option("--bers", default=",".join(f"{b:g}" for b in (0.0, 1e-5, 1e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 4e-2, 6e-2, 1e-1)),
              show_default=True, help="Comma-separated weight bit error rates.")
@click.option("--repeats", default=5, show_default=True, help="Error maps per BER (BER 0 runs once).")
@click.option("--seed", default=0, show_default=True)
@click.option("--count", default=0, help="Use only the first COUNT test images (0: all).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True)
@_fail_cleanly
def sweep(models, data_dir, bers, repeats, seed, count, out_dir):
    """Accuracy vs weight bit error rate (paper Fig. 9) on the bit-packed golden model: CSV + PNG."""
    from .study.sweep import run_sweep

    try:
        ber_list = [float(b) for b in bers.split(",") if b.strip()]
    except ValueError:
        raise click.ClickException(f"--bers must be comma-separated numbers, not {bers!r}") from None
    networks, x, labels = _study_inputs(models, data_dir, count, "sweep")
    run_sweep(networks, x, labels, out_dir, ber_list, repeats, seed, log=click.echo)


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True)
@_fail_cleanly
def device(out_dir):
    """RRAM device model report: 2T2R vs 1T1R BER with ECC (Fig. 8), Table 1, aging: CSV + PNG."""
    from .device.report import device_report

    written = device_report(out_dir)
    click.echo(f"[device] wrote {', '.join(str(p) for p in written) if written else out_dir}")


@main.command()
@click.option("--model", "models", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Network IR(s) (repeatable). Default: the shipped standard and error-aware MNIST networks.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--count", default=2000, show_default=True, help="Test images per evaluation (0: all).")
@click.option("--repeats", default=3, show_default=True)
@click.option("--cycles", default=0, show_default=True, help="Programming cycles already endured (aging).")
@click.option("--tolerance", default=0.005, show_default=True, help="Accepted accuracy loss (fraction).")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True)
@_fail_cleanly
def loop(models, data_dir, count, repeats, cycles, tolerance, seed, out_dir):
    """Closed loop: programming condition -> BER -> accuracy -> programming energy (CSV + PNG)."""
    from .study.closedloop import closed_loop

    networks, x, labels = _study_inputs(models, data_dir, count, "loop")
    closed_loop(networks, x, labels, out_dir, repeats, seed, tolerance, cycles, log=click.echo)


@main.command()
@click.option("--sim", "simulator", type=click.Choice(["verilator", "icarus"]), default="verilator", show_default=True)
@click.option("--out", "out_root", type=click.Path(file_okay=False, path_type=Path), default=Path("rtl_out"),
              show_default=True)
@click.option("--model", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Network IR to run (default: the shipped models/mnist_bnn.npz).")
@click.option("--count", default=200, show_default=True, help="Shipped MNIST test images to run.")
@click.option("--array/--no-array", "with_array", default=False,
              help="Also generate and verify the paper's 3x3 array (n=32) in both configurations.")
@_fail_cleanly
def demo(simulator, out_root, model, count, with_array):
    """The main job on shipped files: generate the MNIST network's RTL, run the shipped test images
    through it with and without device errors, and compare every result with the golden model."""
    from .data import MODELS_DIR
    from .generate import generate_array, generate_network
    from .ir import Network
    from .netplan import plan_network
    from .verify import build_network, run_array_regression, run_network_regression

    model = model or MODELS_DIR / "mnist_bnn.npz"
    network = Network.load(model)
    plans = plan_network(network, 32)
    out_dir = out_root / f"{model.stem}_n32"
    t0 = time.perf_counter()
    manifest = generate_network(network, plans, out_dir, views=("sim", "harness"), model_path=model)
    timing = manifest["timing"]
    click.echo(f"[demo] {model.name} ({network.metadata.get('test_accuracy', float('nan')) * 100:.2f}% in torch) "
               f"-> {out_dir}: " + ", ".join(f"{p.n_inputs}->{p.n_outputs} on {p.hw.tag()}" for p in plans)
               + f" ({time.perf_counter() - t0:.0f} s)")
    built = build_network(out_dir, simulator, Path("sim_build") / f"{simulator}_{out_dir.name}")
    for ber, seed in ((0.0, 1), (1e-2, 3)):
        r = run_network_regression(out_dir, simulator, ber=ber, seed=seed, count=count, built=built, echo=click.echo)
        click.echo(f"[demo] {simulator} BER {ber:g}: RTL accuracy {100 * r['accuracy']:.2f}% on {r['images']} images, "
                   f"{r['injected_errors']} device errors; every class and output popcount equal to the golden "
                   f"model; {r['cycles_per_inference']} cycles/inference, one image every "
                   f"{r['initiation_interval']} cycles, {r['inferences_per_s']:.0f} inferences/s simulated")
    from .data import binarize, load_fixture
    from .golden import network_forward

    fixture = load_fixture()
    pred, _, _ = network_forward(network, binarize(fixture.images, network.metadata.get("input_threshold", 127)))
    click.echo(f"[demo] for scale, golden model accuracy: {100 * float((pred == fixture.labels).mean()):.2f}% on all "
               f"{len(pred)} shipped test images, {100 * float((pred[:count] == fixture.labels[:count]).mean()):.2f}% on "
               f"the first {count}; {100 * network.metadata.get('test_accuracy', float('nan')):.2f}% on the full test set")
    click.echo(f"[demo] cycles per inference {timing['cycles_per_inference']} (manifest = measured); "
               f"RTL, programming image and manifest in {out_dir}; simulator build in sim_build/")
    if with_array:
        for config in CONFIGS:
            hw = HwConfig(n=32, N=3, M=3, config=config)
            array_dir = out_root / f"demo_{config}"
            generate_array(hw, array_dir)
            for ber in (0.0, 1e-2):
                r = run_array_regression(array_dir, simulator, ber=ber, seed=2024, passes=64, mode="batch",
                                         echo=click.echo)
                click.echo(f"[demo] {hw.tag()} BER {ber:g}: {r['outputs_checked']} outputs equal to the golden "
                           f"model, cycles/pass {r['cycles_per_pass']}")


if __name__ == "__main__":
    sys.exit(main())
