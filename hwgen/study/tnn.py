"""TNN vs BNN (seed 004): accuracy against model size and read energy, clean and with device errors.

For every dataset, model size and seed, two networks are trained with **the same recipe** (epochs, batch, learning rate, dropout, input
threshold, seed; :class:`hwgen.train.loop.TrainConfig`): binary weights (BNN) and ternary weights
(TNN, :mod:`hwgen.train.model`). The model size is the hidden units ``h`` of MLPs P-h-h-K
(``arch="mlp"``; P the pixels of the dataset's images, K its classes: 784-h-h-10 for MNIST) or the
filters ``f`` of conv nets (``arch="conv"``: 3x3 conv of ``f`` filters, 2x2 max-pool, 3x3 conv of
``2f``, 2x2 max-pool, then a dense output layer of K; on the dataset's images, or 1-D signals; the
slides' CIFAR-10 study also counts filters). The datasets are the built-in ones or a user's
(:class:`hwgen.data.DatasetInfo`: any shape, any class count, named by its folder's dataset.json).
With ``aware=True`` each is also trained error-aware, at its own device error rates (below).
Trained models are cached under a key of the recipe and the data (:func:`cache_data`: the files'
SHA-256, and a user dataset's name, shape and classes), so a rerun trains nothing and two
datasets never share a model.

Pixels are binarized at the dataset's own threshold (:func:`hwgen.data.dataset_info`:
:data:`hwgen.data.BUILTIN_THRESHOLDS` for the built-in datasets, a user dataset's dataset.json or
half its largest pixel; also ``hwgen train``'s default), the same for both kinds of network.

Device errors come from **one programming condition** (default: the paper's checkerboard,
55 uA / 2.5 V / 1 us, where errors are frequent enough to matter), each network at its own
operating point:

- BNN: the binary PCSA at the nominal supply, bit error rate :func:`hwgen.device.physics.ber_2t2r`;
  seeded maps from :func:`hwgen.device.network_error_maps`.
- TNN: the ternary sense at the low supply, rates per error type (0 read as +-1, +-1 read as 0,
  sign flips) from :func:`hwgen.device.ternary.ternary_rates`; seeded maps from
  :func:`hwgen.device.ternary.network_ternary_error_maps`.

Accuracies are the golden model's (bit-exact with the RTL) on the whole test set; with errors,
the spread over ``repeats`` error maps per trained network (mean, sd, minimum, quartiles; more
maps where the spread is large), and the same with errors confined to each layer in turn; with
``vdd_sweep``/``scale_sweep``, TNN - BNN against the ternary read's supply, a factor on the read
model's assumed constants, and with the first layer read at another supply or programmed at the
strong condition (:mod:`hwgen.study.tnnerrors`).

With ``first_binary`` a third network is trained per size and seed: the TNN with its first
weighted layer binary (kind ``tnn_b1``; :mod:`hwgen.train.model`'s mixed networks), the option that
protects the layer whose few weights the ternary read's errors hit hardest. Its binary layer is
read by the binary PCSA at the nominal supply, with the BNN's error rate and read energy; its other
layers as the TNN's.

Read energy per inference: every stored weight is sensed once per layer pass, i.e. once per
inference for a dense layer and once per computed output position for a conv layer, so it is
``senses x E_sense(V)``, with the sense a C V^2 charge (:mod:`hwgen.flow.macro`: both branches
precharged and discharged, an upper bound): ``C`` is the macro model's sense capacitance
(``sense_energy_j / supply_v**2`` of an n=32 block on the named platform) and ``V`` the supply of
each operating point. A binary and a ternary read are one and the same PCSA operation; only the
supply differs. The counters' extra bit (a ternary column adds 0, 1 or 2) and the rest of the
CMOS are not in this figure.

Outputs: ``tnn_runs.csv`` (one row per network and seed), ``tnn_summary.csv`` (mean and spread
over seeds), ``tnn_maps.csv`` (every error map's accuracy), ``tnn_layers.csv`` (errors in one layer
at a time), ``tnn.png`` (accuracy vs model size, and accuracy vs read energy), ``tnn_spread.png``
and ``tnn_layers.png``; with a sweep ``tnn_sensitivity.csv``, ``tnn_crossovers.csv`` and
``tnn_sensitivity.png``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import seeds
from ..data import BUILTIN, DatasetInfo, binarize
from ..device import network_error_maps
from ..device.physics import CHECKERBOARD, ProgrammingCondition, ber_2t2r
from ..device.ternary import V_LOW, V_NOM, network_ternary_error_maps, ternary_rates
from ..golden import network_forward
from ..ir import Network
from ..outputs import new_figure, save_figure, write_csv
from ..train.job import load_training_data
from ..train.loop import TrainConfig
from .fig10 import _key, _recipe, load_or_train, study_folders
from .tnnerrors import CROSSOVER_FIELDS, crossovers, error_accuracies, layer_rows, sensitivity, spread

DATASETS = ("mnist", "fashion-mnist")
WIDTHS = (32, 64, 128, 256)
ARCHS = ("mlp", "conv")
SEEDS = (1, 2, 3)
EPOCHS = 10
REPEATS = 5
SENSE_N = 32          # the macro whose sense capacitance is used (the paper's 32 x 32 blocks)


def sense_capacitance_f(platform) -> float:
    """C of one PCSA sense (both branches, latch, gates, wires) from the macro model on ``platform``
    (:class:`hwgen.flow.platform.Platform`)."""
    from ..flow.macro import macro_model

    m = macro_model(SENSE_N, platform)
    return m.sense_energy_j / m.supply_v ** 2


def cache_data(info: DatasetInfo, sources: dict) -> dict:
    """The data part of a trained model's cache key: the dataset's name and the SHA-256 of its
    train and test files (``sources``), and for a user dataset also its shape and classes (what its
    dataset.json may say of the same files), so two datasets never share a cached model."""
    if info.name in BUILTIN:
        return {"dataset": info.name, **sources}        # as before user datasets: the same keys
    return {"dataset": info.name, "input_shape": list(info.shape), "classes": info.classes, **sources}


def _network(data: tuple, cfg: TrainConfig, cache_dir: Path, data_dir, progress, log) -> tuple[Network, Path]:
    train_split, test_split, info = data
    kind = KIND_NAMES[network_kind(cfg)]
    key = _key(kind, cfg.sizes, _recipe(cfg), cache_data(info, {**train_split.sources, **test_split.sources}))
    shape = "-".join(map(str, cfg.sizes)) if cfg.arch == "mlp" else "conv" + "-".join(str(c["channels"]) for c in cfg.convs)
    path = cache_dir / f"{kind}_{info.name}_{shape}_{key}.npz"
    return load_or_train(path, info.name, cfg, data_dir, progress, log, data=data), path


KIND_NAMES = {"binary": "bnn", "ternary": "tnn", "mixed": "tnn_b1"}
KIND_LABELS = {"bnn": "BNN", "tnn": "TNN", "tnn_b1": "TNN, binary first layer"}
_KINDS = {"bnn": "tab:blue", "tnn": "tab:red", "tnn_b1": "tab:green"}


def network_kind(cfg: TrainConfig) -> str:
    """``binary``, ``ternary`` or ``mixed`` (ternary with a binary first layer) of a recipe."""
    return "binary" if cfg.weights == "binary" else "mixed" if cfg.first_weights == "binary" else "ternary"


def layer_senses(layer) -> int:
    """PCSA senses of one layer per inference: its weight matrix once per pass (conv: per position)."""
    return layer.n_inputs * layer.n_outputs * (layer.geometry().positions if layer.is_conv else 1)


def read_energy(network: Network, energy: dict) -> float:
    """Read energy per inference (J): each layer's senses at its own read's energy per sense
    (``energy["binary"]``: the binary PCSA at the nominal supply; ``energy["ternary"]``: the
    ternary read at the low supply), so a mixed network's binary layer costs a binary read."""
    return sum(layer_senses(layer) * energy["ternary" if layer.is_ternary else "binary"] for layer in network.layers)


def senses_per_inference(network: Network) -> int:
    """PCSA senses of one inference: each layer's weight matrix once per pass (conv: per position)."""
    return sum(layer_senses(layer) for layer in network.layers)


def recipe(arch: str, size: int, info: DatasetInfo = BUILTIN["mnist"], **common) -> TrainConfig:
    """The study's network of ``size`` (hidden units or filters) on the images of ``info`` (its
    pixels in, its classes out; conv nets on its :attr:`~hwgen.data.DatasetInfo.conv_shape`) as a
    training recipe."""
    if arch == "mlp":
        return TrainConfig(sizes=[info.pixels, size, size, info.classes], **common)
    if arch == "conv":
        return TrainConfig(sizes=[info.pixels, info.classes], arch="conv", in_shape=list(info.conv_shape),
                           convs=[{"channels": size}, {"channels": 2 * size}], **common)
    raise ValueError(f"arch must be one of {', '.join(ARCHS)}, not {arch!r}")


def run_tnn_study(out_dir, datasets=DATASETS, widths=WIDTHS, seed_list=SEEDS, epochs: int = EPOCHS, arch: str = "mlp",
                  repeats: int = REPEATS, condition: ProgrammingCondition = CHECKERBOARD, cycles: float = 0.0,
                  vdd_binary: float = V_NOM, vdd_ternary: float = V_LOW, aware: bool = True, threads: int = 1,
                  platform=None, data_dir=None, cache_dir=None, progress: bool = True,
                  log=None, vdd_sweep=(), scale_sweep=(), sweep_count: int = 2000,
                  first_binary: bool = False) -> list[dict]:
    """Train (or reuse) and measure every network; write the CSVs and the plots. Returns the runs.
    ``datasets``: built-in names or users' (a user dataset's files in ``data_dir``, with one
    dataset, or found as :func:`hwgen.data.default_data_dir` says).
    ``vdd_sweep``/``scale_sweep``: the sensitivity axes (:func:`hwgen.study.tnnerrors.sensitivity`;
    none when both are empty), on the first ``sweep_count`` test images. ``first_binary``: also a
    third network per size and seed, the TNN with its first weighted layer binary (read by the
    binary PCSA at ``vdd_binary``, with the BNN's error rate; kind ``tnn_b1``)."""
    splits = {}         # every dataset read (and checked) before any work: (data, test bits, test labels)
    for dataset in datasets:
        data = load_training_data(dataset, data_dir)
        splits[dataset] = (data, binarize(data[1].images, data[2].input_threshold), data[1].labels)
    out_dir, cache_dir, log = study_folders(out_dir, cache_dir, progress, log)
    for data, _, _ in splits.values():
        if data[2].name not in BUILTIN:
            log(f"[tnn] {data[2].describe()}: pixels > {data[2].input_threshold} are +1")
    ber = ber_2t2r(condition, cycles)
    rates = ternary_rates(condition, vdd_ternary, cycles)
    capacitance = sense_capacitance_f(platform) if platform is not None else math.nan
    energy = {"binary": capacitance * vdd_binary ** 2, "ternary": capacitance * vdd_ternary ** 2}
    log(f"[tnn] {condition}: BNN at {vdd_binary:g} V, BER {ber:.3g}; TNN at {vdd_ternary:g} V, 0 as +-1 "
        f"{rates.zero_as_pm:.3g}, +-1 as 0 {rates.pm_as_zero:.3g}, sign flip {rates.sign_flip:.3g}; sense "
        f"{energy['binary'] * 1e15:.1f} fJ (binary) vs {energy['ternary'] * 1e15:.1f} fJ (ternary)")
    trainings = ["plain", "aware"] if aware else ["plain"]
    kinds = ("binary", "ternary", "mixed") if first_binary else ("binary", "ternary")
    jobs = [(d, w, kind, t, s) for d in datasets for w in widths for kind in kinds
            for t in trainings for s in seed_list]
    runs, layers, maps_rows, kept = [], [], [], {}
    for dataset, width, kind, training, seed in tqdm(jobs, desc="tnn study", unit="network", disable=not progress):
        data, x_bits, labels = splits[dataset]
        info = data[2]
        mixed = {"first_weights": "binary"} if kind == "mixed" else {}
        cfg = recipe(arch, width, info, epochs=epochs, seed=seed, threads=threads,
                     input_threshold=info.input_threshold, weights="binary" if kind == "binary" else "ternary",
                     **mixed)
        if training == "aware":
            cfg = (replace(cfg, flip_ber=ber) if kind == "binary" else
                   replace(cfg, flip_ber=rates.sign_flip, flip_zero_as_pm=rates.zero_as_pm,
                           flip_pm_as_zero=rates.pm_as_zero, first_flip_ber=ber if mixed else None))
        network, path = _network(data, cfg, cache_dir, data_dir, progress, log)
        clean = float((network_forward(network, x_bits)[0] == labels).mean())
        noisy = error_accuracies(network, x_bits, labels, ber, rates, repeats, seed)
        weights = sum(layer.n_inputs * layer.n_outputs for layer in network.layers)
        zeros = sum(int((layer.values() == 0).sum()) for layer in network.layers) / weights
        senses = senses_per_inference(network)
        name = KIND_NAMES[kind]
        base = {"dataset": dataset, "arch": arch, "kind": name, "size": width, "training": training, "seed": seed}
        row = {**base, "weights": weights, "senses": senses, "zero_fraction": round(zeros, 4),
               "accuracy": clean, **spread(noisy),
               "vdd": vdd_binary if kind == "binary" else vdd_ternary,
               "read_energy_j": read_energy(network, energy), "model": path.name}
        maps_rows += [{**base, "map": r, "accuracy_errors": a} for r, a in enumerate(noisy)]
        layers += layer_rows(network, x_bits, labels, ber, rates, repeats, seed, base)
        kept[(dataset, name, width, training, seed)] = network
        log(f"[tnn] {dataset} {name} {width} {training} seed {seed}: {100 * clean:.2f}% clean, with errors "
            f"{100 * row['accuracy_errors']:.2f}% (min {100 * row['accuracy_errors_min']:.2f}%, "
            f"{row['accuracy_errors_maps']} maps); errors in one layer: "
            + ", ".join(f"{r['layer']} {100 * r['accuracy_errors']:.2f}%" for r in layers[-len(network.layers):]))
        runs.append(row)
    summary = summarize(runs, maps_rows)
    write_csv(out_dir / "tnn_runs.csv", runs)
    write_csv(out_dir / "tnn_summary.csv", summary)
    write_csv(out_dir / "tnn_maps.csv", maps_rows)
    write_csv(out_dir / "tnn_layers.csv", layers)
    title = f"{condition}; BNN {vdd_binary:g} V, TNN {vdd_ternary:g} V"
    size_label = f"hidden units per layer ({_mlp_shape([s[0][2] for s in splits.values()])})" if arch == "mlp" else \
        "filters f (conv f, conv 2f, dense)"
    plot(out_dir / "tnn.png", summary, title, size_label)
    plot_spread(out_dir / "tnn_spread.png", maps_rows, title, size_label)
    plot_layers(out_dir / "tnn_layers.png", layers, title)
    if vdd_sweep or scale_sweep:
        pairs = [(key[0], kept[key], kept[(key[0], "bnn", *key[2:])],
                  {"dataset": key[0], "arch": arch, "size": key[2], "training": key[3], "seed": key[4]}, key[4])
                 for key in kept if key[1] == "tnn" and (key[0], "bnn", *key[2:]) in kept]
        sens = []
        with tqdm(total=(2 * len(vdd_sweep) + len(scale_sweep) + 1) * len(pairs), desc="tnn sensitivity",
                  unit="point", disable=not progress) as bar:
            for dataset in datasets:
                _, x_bits, labels = splits[dataset]
                if len(labels) > sweep_count:
                    log(f"[tnn] sensitivity on the first {sweep_count} of {len(labels)} {dataset} test images "
                        f"(--sweep-count)")
                sens += sensitivity([p[1:] for p in pairs if p[0] == dataset], x_bits[:sweep_count],
                                    labels[:sweep_count], condition, cycles, vdd_ternary, repeats, vdd_sweep,
                                    scale_sweep, ber, progress=bar.update)
        if sens:
            write_csv(out_dir / "tnn_sensitivity.csv", sens)
        cross = crossovers(sens)
        write_csv(out_dir / "tnn_crossovers.csv", cross, CROSSOVER_FIELDS)
        for c in cross:
            log(f"[tnn] {c['dataset']} size {c['size']} {c['training']}: TNN - BNN changes sign at {c['axis']} = "
                f"{c['crossover']:g} (TNN ahead {'below' if c['tnn_leads_below'] else 'above'} it)")
        plot_sensitivity(out_dir / "tnn_sensitivity.png", sens, title)
    return runs


def _mlp_shape(infos) -> str:
    """``784-h-h-10``: the MLPs' shape in the plots' labels (``P-h-h-K`` when the datasets differ)."""
    shapes = {(i.pixels, i.classes) for i in infos}
    (pixels, classes), = shapes if len(shapes) == 1 else {("P", "K")}
    return f"{pixels}-h-h-{classes}"


def summarize(runs: list[dict], maps_rows: list[dict] = ()) -> list[dict]:
    """Mean and standard deviation over seeds per (dataset, kind, size, training), the spread over
    all its error maps (minimum, quartiles, count; from ``maps_rows``), and the TNN's lead over the
    BNN of the same dataset, size and training (``tnn_minus_bnn*``)."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["dataset"], r["kind"], r["size"], r["training"]), []).append(r)
    pooled: dict[tuple, list[float]] = {}
    for m in maps_rows:
        pooled.setdefault((m["dataset"], m["kind"], m["size"], m["training"]), []).append(m["accuracy_errors"])
    out = []
    for key, rows in groups.items():
        dataset, kind, size, training = key
        clean = [r["accuracy"] for r in rows]
        noisy = [r["accuracy_errors"] for r in rows]
        maps = spread(pooled.get(key) or noisy)
        out.append({"dataset": dataset, "kind": kind, "arch": rows[0]["arch"], "size": size, "training": training,
                    "seeds": len(rows),
                    "weights": rows[0]["weights"], "senses": rows[0]["senses"], "zero_fraction": float(np.mean([r["zero_fraction"] for r in rows])),
                    "accuracy": float(np.mean(clean)), "accuracy_std": float(np.std(clean)),
                    "accuracy_errors": float(np.mean(noisy)), "accuracy_errors_std": float(np.std(noisy)),
                    **{k: maps[k] for k in ("accuracy_errors_min", "accuracy_errors_q1", "accuracy_errors_median",
                                            "accuracy_errors_q3", "accuracy_errors_maps")},
                    "read_energy_j": rows[0]["read_energy_j"]})
    index = {(r["dataset"], r["kind"], r["size"], r["training"]): r for r in out}
    for r in out:
        b = index.get((r["dataset"], "bnn", r["size"], r["training"]))
        for key in ("accuracy", "accuracy_errors", "accuracy_errors_min"):
            r[f"tnn_minus_bnn_{key}"] = r[key] - b[key] if r["kind"] != "bnn" and b else ""
    return out


def plot(path, summary: list[dict], title: str, size_label: str = "model size") -> Path:
    datasets = sorted({r["dataset"] for r in summary})
    fig, axes = new_figure(size=(11, 4 * len(datasets)), nrows=len(datasets), ncols=2, squeeze=False)
    styles = {(kind, training): (color, "-" if training == "plain" else ":")
              for kind, color in _KINDS.items() for training in ("plain", "aware")}
    for row_axes, dataset in zip(axes, datasets):
        for (kind, training), (color, line) in styles.items():
            rows = sorted((r for r in summary if (r["dataset"], r["kind"], r["training"]) == (dataset, kind, training)),
                          key=lambda r: r["size"])
            if not rows:
                continue
            h = [r["size"] for r in rows]
            e = [r["read_energy_j"] * 1e9 for r in rows]
            for ax, x in zip(row_axes, (h, e)):
                ax.errorbar(x, [100 * r["accuracy"] for r in rows], yerr=[100 * r["accuracy_std"] for r in rows],
                            color=color, linestyle=line, marker="o", capsize=2,
                            label=f"{KIND_LABELS[kind]} {training}, clean")
                ax.errorbar(x, [100 * r["accuracy_errors"] for r in rows],
                            yerr=[100 * r["accuracy_errors_std"] for r in rows], color=color, linestyle=line,
                            marker="x", capsize=2, alpha=0.6, label=f"{KIND_LABELS[kind]} {training}, device errors")
        row_axes[0].set(xscale="log", xlabel=size_label, ylabel="test accuracy (%)",
                        title=dataset)
        row_axes[1].set(xscale="log", xlabel="read energy per inference (nJ)", ylabel="test accuracy (%)",
                        title=f"{dataset}: accuracy vs read energy")
        for ax in row_axes:
            ax.grid(True, which="both", alpha=0.3)
        row_axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def plot_spread(path, maps_rows: list[dict], title: str, size_label: str) -> Path:
    """Box plots of accuracy with errors over all error maps, per model size, BNN beside TNN."""
    datasets = sorted({m["dataset"] for m in maps_rows})
    trainings = [t for t in ("plain", "aware") if any(m["training"] == t for m in maps_rows)]
    fig, axes = new_figure(size=(5.5 * len(trainings), 4 * len(datasets)), nrows=len(datasets),
                           ncols=len(trainings), squeeze=False)
    for row_axes, dataset in zip(axes, datasets):
        for ax, training in zip(row_axes, trainings):
            sizes = sorted({m["size"] for m in maps_rows if m["dataset"] == dataset})
            kinds = [k for k in _KINDS if any(m["kind"] == k for m in maps_rows)]
            for j, kind in enumerate(kinds):
                data = [[100 * m["accuracy_errors"] for m in maps_rows
                         if (m["dataset"], m["kind"], m["size"], m["training"]) == (dataset, kind, s, training)]
                        for s in sizes]
                pos = [k * (len(kinds) + 1) + j for k in range(len(sizes))]
                keep = [(p, d) for p, d in zip(pos, data) if d]
                if keep:
                    box = ax.boxplot([d for _, d in keep], positions=[p for p, _ in keep], widths=0.8,
                                     patch_artist=True, whis=(0, 100))
                    for patch in box["boxes"]:
                        patch.set_facecolor(_KINDS[kind])
                        patch.set_alpha(0.5)
                    ax.plot([], [], color=_KINDS[kind], linewidth=6, alpha=0.5, label=KIND_LABELS[kind])
            ax.set_xticks([k * (len(kinds) + 1) + (len(kinds) - 1) / 2 for k in range(len(sizes))],
                          [str(s) for s in sizes])
            ax.set(xlabel=size_label, ylabel="test accuracy with device errors (%)",
                   title=f"{dataset}, {training} training: every error map (whiskers: min, max)")
            ax.grid(True, axis="y", alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def plot_layers(path, layers: list[dict], title: str) -> Path:
    """Accuracy with errors confined to one layer at a time (mean over seeds; whiskers to the
    worst map), per layer, for every (kind, size) of the plain training."""
    datasets = sorted({r["dataset"] for r in layers})
    fig, axes = new_figure(size=(7, 4 * len(datasets)), nrows=len(datasets), ncols=1, squeeze=False)
    for (ax,), dataset in zip(axes, datasets):
        rows = [r for r in layers if r["dataset"] == dataset and r["training"] == "plain"]
        names = [r["layer"] for r in sorted({r["layer_index"]: r for r in rows}.values(), key=lambda r: r["layer_index"])]
        sizes = sorted({r["size"] for r in rows})
        for kind in [k for k in _KINDS if any(r["kind"] == k for r in rows)]:
            for k, size in enumerate(sizes):
                pts = [[r for r in rows if (r["kind"], r["size"], r["layer_index"]) == (kind, size, i)]
                       for i in range(len(names))]
                mean = [100 * np.mean([r["accuracy_errors"] for r in p]) if p else np.nan for p in pts]
                low = [100 * min(r["accuracy_errors_min"] for r in p) if p else np.nan for p in pts]
                x = np.arange(len(names)) + {"bnn": -0.08 * (k + 1), "tnn": 0.08 * k, "tnn_b1": 0.08 * (k + len(sizes))}[kind]
                alpha = 0.4 + 0.6 * (k + 1) / len(sizes)
                ax.errorbar(x, mean, yerr=[np.subtract(mean, low), np.zeros(len(mean))], color=_KINDS[kind],
                            alpha=alpha, marker="o", linestyle="-", capsize=2, label=f"{KIND_LABELS[kind]} {size}")
        ax.set_xticks(range(len(names)), names)
        ax.set(ylabel="test accuracy (%)", title=f"{dataset}: device errors in one layer only (whisker: worst map)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def plot_sensitivity(path, rows: list[dict], title: str) -> Path:
    """TNN - BNN with device errors (points) against each numeric sensitivity axis, per model size
    (mean over seeds and the plain training)."""
    axes_names = [("vdd", "ternary read supply (V)"), ("g_res_scale", "factor on the resolution level G_res"),
                  ("first_layer_vdd", "first layer's read supply (V), the others at the study's")]
    datasets = sorted({r["dataset"] for r in rows})
    fig, axes = new_figure(size=(15, 4 * len(datasets)), nrows=len(datasets), ncols=3, squeeze=False)
    for row_axes, dataset in zip(axes, datasets):
        for ax, (axis, label) in zip(row_axes, axes_names):
            pts = [r for r in rows if r["dataset"] == dataset and r["axis"] == axis and r["training"] == "plain"]
            for size in sorted({r["size"] for r in pts}):
                values = sorted({float(r["value"]) for r in pts if r["size"] == size})
                diff = [100 * np.mean([r["tnn_minus_bnn"] for r in pts if r["size"] == size and float(r["value"]) == v])
                        for v in values]
                ax.plot(values, diff, marker="o", label=f"size {size}")
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set(xlabel=label, ylabel="TNN - BNN with device errors (points)", title=dataset)
            if axis == "g_res_scale":
                ax.set_xscale("log")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
