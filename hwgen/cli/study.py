"""Training and study commands: ``train`` (a binarized or ternary MLP or conv net, exported to the
IR), ``sweep`` (accuracy vs BER), ``loop`` (programming condition -> BER -> accuracy -> energy),
``space`` (conv design space), ``fig10`` (accuracy vs energy against 8-bit arithmetic), ``tnn``
(ternary vs binary) and ``device`` (the RRAM device model's report)."""

from __future__ import annotations

from pathlib import Path

import click

from ..hwconfig import CONFIGS, N_BOUNDS
from .edge import fail_cleanly, given, main
from .options import (BER, PERIOD, SEED, ConditionType, ConvStageType, CountType, DatasetName, FiniteFloat, HiddenType,
                      ListType, check_farm_options, farm_options, load_study, study_options)


@main.command()
@click.argument("dataset", type=DatasetName(), required=False)
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder with the dataset's train and test files: IDX (train-images-idx3-ubyte[.gz], ...) or "
                   "train.npz/test.npz, and optionally dataset.json (name, shape, classes, input_threshold). "
                   "Default: $HWGEN_DATA/<dataset>, then ../shared/data/<dataset>, then the Debian package's "
                   "folder. Without DATASET the dataset is named by its dataset.json or the folder.")
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
@click.option("--first-layer-binary", is_flag=True,
              help="With --weights ternary: keep the first weighted layer (first conv, or an MLP's first dense layer) "
                   "binary, read by the binary PCSA at the nominal supply: a mixed network, which the hardware runs "
                   "layer by layer in its own weights mode.")
@click.option("--first-flip-ber", type=BER, default=None,
              help="With --first-layer-binary, error-aware training: that layer's weight-flip rate (the binary "
                   "read's BER).  [default: --flip-ber]")
@click.option("--dropout", type=FiniteFloat(0.0, 1.0, hi_open=True), default=0.2, show_default=True,
              help="Dropout while training, on the inputs of an MLP's hidden layers, or of a conv net's dense "
                   "layers (its output layer included).")
@click.option("--input-threshold", type=click.IntRange(0, 255), default=None,
              help="Pixels above it are +1.  [default: the dataset's: 127 for MNIST and Fashion-MNIST; a user "
                   "dataset's dataset.json, else half its largest training pixel]")
@click.option("--hflip", is_flag=True,
              help="Augmentation: mirror each training image left-right with probability 1/2 (for Fashion-MNIST; "
                   "digits are not mirror images of each other).")
@click.option("--threads", type=click.IntRange(1, 64), default=2, show_default=True,
              help="torch threads. 1 is much faster when another job keeps a core of a 2-core machine busy "
                   "(torch's workers spin-wait on it).")
@click.pass_context
@fail_cleanly
def train(ctx, dataset, data_dir, out, arch, convs, hidden, epochs, batch_size, lr, seed, weights, flip_ber,
          flip_zero_as_pm, flip_pm_as_zero, first_layer_binary, first_flip_ber, dropout, input_threshold, hflip,
          threads):
    """Train a binarized (or ternary-weight) MLP or conv net on DATASET (mnist, fashion-mnist, or yours in
    --data-dir: any image size and channel count, 1-D signals, any number of classes), export it to the
    network IR, and write its model card."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise click.ClickException("hwgen train needs torch: pip install 'hwgen[train]' (torch 2.13.0, CPU)") from None
    from ..train.job import arch_layers, default_model_path, load_training_data, train_and_export
    from ..train.loop import TrainConfig

    if arch == "mlp" and convs is not None:
        raise click.BadParameter("applies to --arch conv only", param_hint="--conv")
    if dataset is None and data_dir is None:
        raise click.UsageError("name the DATASET (mnist, fashion-mnist, or yours) or give its folder with --data-dir")
    if first_flip_ber is not None and not first_layer_binary:
        raise click.BadParameter("applies to --first-layer-binary only", param_hint="--first-flip-ber")
    if weights == "binary":
        for name in ("flip_zero_as_pm", "flip_pm_as_zero", "first_layer_binary"):
            if given(ctx, name):
                raise click.BadParameter("applies to --weights ternary only", param_hint=f"--{name.replace('_', '-')}")
    elif flip_pm_as_zero + flip_ber > 1:
        raise click.BadParameter(f"a ±1 weight reads as 0 or flips, not both: --flip-pm-as-zero {flip_pm_as_zero:g} "
                                 f"plus --flip-ber {flip_ber:g} is over 1", param_hint="--flip-pm-as-zero")
    if out is not None and out.suffix != ".npz":
        raise click.BadParameter(f"must end in .npz (the IR file), not {out.name!r}", param_hint="-o/--out")
    from ..data import BUILTIN

    if dataset in BUILTIN:          # its shape is known: check the stages before reading any data
        try:
            arch_layers(arch, convs, hidden, BUILTIN[dataset].conv_shape)
        except ValueError as e:
            raise click.BadParameter(f"{e} ({BUILTIN[dataset].describe()})", param_hint="--conv") from None
    data = load_training_data(dataset, data_dir)
    info = data[2]
    try:
        convs, hidden = arch_layers(arch, convs, hidden, info.conv_shape)
    except ValueError as e:
        raise click.BadParameter(f"{e} ({info.describe()})", param_hint="--conv") from None
    out = out or default_model_path(info.name, arch, weights)
    if out.suffix != ".npz":
        raise click.BadParameter(f"must end in .npz (the IR file), not {out.name!r}", param_hint="-o/--out")
    cfg = TrainConfig(sizes=[info.pixels, *hidden, info.classes], epochs=epochs, batch_size=batch_size, lr=lr,
                      seed=seed, flip_ber=flip_ber, dropout=dropout,
                      input_threshold=info.input_threshold if input_threshold is None else input_threshold,
                      threads=threads, arch=arch, in_shape=list(info.conv_shape),
                      convs=[c.as_dict() for c in convs], hflip=hflip, weights=weights, flip_zero_as_pm=flip_zero_as_pm,
                      flip_pm_as_zero=flip_pm_as_zero, first_weights="binary" if first_layer_binary else None,
                      first_flip_ber=first_flip_ber)
    train_and_export(info.name, cfg, out, data_dir, log=click.echo, data=data)


@main.command()
@study_options
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
@fail_cleanly
def space(models, dataset, data_dir, seed, out_dir, parallels, n, config, ber, clock_mhz, simulator, sim_count,
          repeats, count):
    """Design space of conv layers: for each P (kernels stored once or replicated P times), cells,
    cycles per inference, interval and accuracy of every network, as one table (CSV, Markdown, PNG)."""
    from ..files import writable_folder
    from ..study.space import default_models, run_space

    out_dir = writable_folder(out_dir)
    models = models or default_models()
    inputs = load_study(models, dataset, data_dir, count, "space")
    run_space(inputs.networks, inputs.x_bits, inputs.labels, out_dir, parallels, n, config, ber, seed, clock_mhz,
              simulator, sim_count, {Path(m).stem: Path(m) for m in models}, inputs.source, repeats, log=click.echo)


@main.command()
@study_options
@click.option("--bers", type=ListType(BER, "bit error rates in [0, 1]"),
              default=",".join(f"{b:g}" for b in (0.0, 1e-5, 1e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 4e-2, 6e-2, 1e-1)),
              show_default=True, help="Comma-separated weight bit error rates.")
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True,
              help="Error maps per BER (BER 0 runs once).")
@click.option("--count", type=click.IntRange(min=1), default=None, help="Use only the first COUNT test images.")
@farm_options
@fail_cleanly
def sweep(models, dataset, data_dir, seed, out_dir, bers, repeats, count, workers, scheduler):
    """Accuracy vs weight bit error rate (paper Fig. 9) on the bit-packed golden model: CSV + PNG.
    The points run on --workers local processes or the workers of --scheduler; the results do
    not depend on where they ran."""
    from ..files import writable_folder
    from ..farm import Farm
    from ..study.sweep import run_sweep, sweep_workers

    check_farm_options(scheduler, workers)
    out_dir = writable_folder(out_dir)
    inputs = load_study(models, dataset, data_dir, count, "sweep")
    if scheduler is None:
        workers = sweep_workers(inputs.networks, len(inputs.labels), bers, repeats, workers)
    farm = Farm(scheduler, workers)
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
              help="Folder of the dataset's train and test files (IDX or train.npz/test.npz, optionally dataset.json), "
                   "named by its dataset.json or the folder (an official MNIST copy: mnist); the networks take its "
                   "pixels and give its classes. Default: MNIST from $HWGEN_DATA/mnist, ../shared/data/mnist.")
@click.option("--dataset", type=DatasetName(), default=None,
              help="The dataset's name.  [default: named by --data-dir (dataset.json or folder), else mnist]")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="torch threads per training.")
@click.option("--platform", type=click.Choice(["sky130hd", "nangate45"]), default="sky130hd", show_default=True)
@click.option("--pdk-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None)
@click.option("--n", "n", type=click.IntRange(*N_BOUNDS), default=32, show_default=True, help="Cell size of the arrays.")
@click.option("--int8-node", type=click.Choice(["platform", "horowitz"]), default="platform", show_default=True,
              help="8-bit energies at the platform's node and supply (E ~ C V^2 from Horowitz's 45 nm / 0.9 V), "
                   "or Horowitz's raw 45 nm figures.")
@PERIOD
@fail_cleanly
def fig10(out_dir, cache_dir, widths, hidden_layers, epochs, seed, data_dir, dataset, threads, platform, pdk_dir, n,
          int8_node, period):
    """Accuracy vs energy per inference, BNN on hwgen hardware vs 8-bit arithmetic (paper Fig. 10), on MNIST
    or the dataset in --data-dir: CSV + PNG."""
    from ..data import folder_dataset_name
    from ..files import writable_folder
    from ..flow.platform import get_platform
    from ..study.fig10 import run_fig10_on

    if dataset is None:
        dataset = folder_dataset_name(data_dir) if data_dir is not None else "mnist"
    else:
        _dataset_folder(dataset, data_dir)
    rows = run_fig10_on(get_platform(platform, None, pdk_dir), writable_folder(out_dir, "--out"), n,
                        10.0 if period is None else period, int8_node, widths=widths, hidden_layers=hidden_layers,
                        epochs=epochs, seed=seed, data_dir=data_dir, cache_dir=cache_dir, threads=threads,
                        log=click.echo, dataset=dataset)
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
@click.option("--dataset", "datasets", type=ListType(DatasetName(), "datasets"), default="mnist,fashion-mnist",
              show_default=True,
              help="Built-in datasets, or a user dataset (its folder --data-dir, or $HWGEN_DATA/<name>). With "
                   "--data-dir and no --dataset: the one dataset there, named by its dataset.json or the folder.")
@click.option("--arch", type=click.Choice(["mlp", "conv"]), default="mlp", show_default=True,
              help="mlp: P-h-h-K MLPs (P pixels, K classes: 784-h-h-10 for MNIST); conv: 3x3 conv f, 2x2 pool, 3x3 "
                   "conv 2f, 2x2 pool, dense output, on the dataset's images (or 1-D signals).")
@click.option("--widths", type=ListType(click.IntRange(1, 4096), "widths"), default="32,64,128,256",
              show_default=True, help="Model sizes: hidden units h per layer (--arch mlp) or filters f (--arch conv).")
@click.option("--seeds", "seed_list", type=ListType(SEED, "seeds"), default="1,2,3", show_default=True,
              help="Training seeds: every network is trained once per seed (the spread over seeds is reported).")
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--repeats", type=click.IntRange(min=1), default=5, show_default=True,
              help="Sampled error maps per trained network (4x as many where their accuracies spread by more than "
                   "1 point sd).")
@click.option("--condition", type=ConditionType(), default="55,2.5,1", show_default=True,
              help="Programming condition i_set_uA,v_reset,pulse_us that sets both networks' device errors.")
@click.option("--cycles", type=CountType(0), default=0, show_default=True, help="Programming cycles endured (aging).")
@click.option("--vdd-binary", type=FiniteFloat(0.5, 1.5), default=1.2, show_default=True,
              help="PCSA supply of the binary read (V).")
@click.option("--vdd-ternary", type=FiniteFloat(0.5, 1.5), default=0.9, show_default=True,
              help="PCSA supply of the ternary read (V): low, so HRS/HRS pairs do not resolve and read 0.")
@click.option("--aware/--no-aware", default=True, show_default=True,
              help="Also train every network error-aware, at its own device error rates.")
@click.option("--first-binary", is_flag=True,
              help="Also a third network per size and seed: the TNN with its first weighted layer binary (read by "
                   "the binary PCSA at --vdd-binary, at the BNN's error rate), kind tnn_b1.")
@click.option("--vdd-sweep", type=ListType(FiniteFloat(0.5, 1.5), "supplies (V)"), default=None,
              help="Sensitivity: TNN - BNN with errors against the ternary read's supply at these values (V), and "
                   "with only the first layer read at them; also the first layer programmed at 200 uA / 2.5 V / 1 us. "
                   "E.g. 0.85,0.875,0.9,0.925,0.95,0.975,1.0.")
@click.option("--scale-sweep", type=ListType(FiniteFloat(0.01, 100.0), "factors"), default=None,
              help="Sensitivity: TNN - BNN with errors against a factor on the ternary read's resolution level G_res "
                   "(it carries every assumed constant of the read model), e.g. 0.5,0.71,1,1.41,2.")
@click.option("--sweep-count", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Test images of the sensitivity sweeps (the first ones; the BNN beside it on the same images).")
@click.option("--threads", type=click.IntRange(1, 64), default=1, show_default=True, help="torch threads per training.")
@click.option("--platform", type=click.Choice(["sky130hd", "nangate45"]), default="sky130hd", show_default=True,
              help="Platform whose macro model gives the sense capacitance (read energy = C V^2 per weight).")
@click.option("--pdk-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None)
@click.option("--data-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder of one dataset's train and test files (IDX or train.npz/test.npz, optionally dataset.json: "
                   "name, shape, classes, input_threshold); the networks take its pixels and give its classes. "
                   "Default: $HWGEN_DATA/<dataset>, ../shared/data/<dataset>, the Debian package's folder.")
@click.pass_context
@fail_cleanly
def tnn(ctx, out_dir, cache_dir, datasets, arch, widths, seed_list, epochs, repeats, condition, cycles, vdd_binary,
        vdd_ternary, aware, first_binary, vdd_sweep, scale_sweep, sweep_count, threads, platform, pdk_dir, data_dir):
    """TNN vs BNN (seed 004): accuracy vs model size and read energy, clean and with device errors: CSV + PNG."""
    from ..data import folder_dataset_name
    from ..device.physics import parse_condition
    from ..files import writable_folder
    from ..flow.platform import get_platform
    from ..study.tnn import run_tnn_study

    if data_dir is not None and not given(ctx, "datasets"):
        datasets = [folder_dataset_name(data_dir)]
    if data_dir is not None and len(datasets) != 1:
        raise click.BadParameter("takes one --dataset (each dataset has its own folder)", param_hint="--data-dir")
    for name in datasets:
        _dataset_folder(name, data_dir)
    if len(set(seed_list)) != len(seed_list):
        raise click.BadParameter(f"seeds repeat: {','.join(map(str, seed_list))}", param_hint="--seeds")
    runs = run_tnn_study(writable_folder(out_dir, "--out"), datasets=datasets, arch=arch, widths=widths,
                         seed_list=seed_list,
                         epochs=epochs, repeats=repeats, condition=parse_condition(condition), cycles=cycles,
                         vdd_binary=vdd_binary, vdd_ternary=vdd_ternary, aware=aware, threads=threads,
                         platform=get_platform(platform, None, pdk_dir), data_dir=data_dir, cache_dir=cache_dir,
                         log=click.echo, vdd_sweep=vdd_sweep or (), scale_sweep=scale_sweep or (),
                         sweep_count=sweep_count, first_binary=first_binary)
    click.echo(f"[tnn] {len(runs)} networks; wrote {out_dir / 'tnn_summary.csv'}, {out_dir / 'tnn_runs.csv'} and "
               f"{out_dir / 'tnn.png'}")


def _dataset_folder(dataset: str, data_dir) -> None:
    """Refuse a user dataset that has no folder (no --data-dir, none found) before any work."""
    from ..data import BUILTIN, default_data_dir

    if data_dir is None and dataset not in BUILTIN and default_data_dir(dataset) is None:
        raise click.BadParameter(f"{dataset} is no built-in dataset (mnist, fashion-mnist) and has no folder in "
                                 f"$HWGEN_DATA or ../shared/data: give its folder with --data-dir",
                                 param_hint="--dataset")


LOOP_IMAGES = 2000      # hwgen loop's default cap: 3 repeats x ~15 conditions x 3 networks of golden runs


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True)
@fail_cleanly
def device(out_dir):
    """RRAM device model report: 2T2R vs 1T1R BER with ECC (Fig. 8), Table 1, aging: CSV + PNG."""
    from ..device.report import device_report
    from ..files import writable_folder

    written = device_report(writable_folder(out_dir))
    click.echo(f"[device] wrote {', '.join(str(p) for p in written)}")


@main.command()
@study_options
@click.option("--count", type=click.IntRange(min=1), default=None,
              help="Test images per evaluation.  [default: all of the test set, at most 2000]")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True)
@click.option("--cycles", type=CountType(0), default=0, show_default=True,
              help="Programming cycles already endured (aging), e.g. 1e9.")
@click.option("--tolerance", type=FiniteFloat(0.0, 1.0), default=0.005, show_default=True,
              help="Accepted accuracy loss (fraction).")
@fail_cleanly
def loop(models, dataset, data_dir, seed, out_dir, count, repeats, cycles, tolerance):
    """Closed loop: programming condition -> BER -> accuracy -> programming energy (CSV + PNG)."""
    from ..files import writable_folder
    from ..study.closedloop import closed_loop

    out_dir = writable_folder(out_dir)
    inputs = load_study(models, dataset, data_dir, count, "loop", cap=LOOP_IMAGES)
    closed_loop(inputs.networks, inputs.x_bits, inputs.labels, out_dir, repeats, seed, tolerance, cycles,
                log=click.echo)
