"""TNN vs BNN (seed 004): accuracy against model size and read energy, clean and with device errors.

For every dataset, model size and seed, two networks are trained with **the same recipe** (epochs, batch, learning rate, dropout, input
threshold, seed; :class:`hwgen.train.loop.TrainConfig`): binary weights (BNN) and ternary weights
(TNN, :mod:`hwgen.train.model`). The model size is the hidden units ``h`` of MLPs 784-h-h-10
(``arch="mlp"``) or the filters ``f`` of conv nets (``arch="conv"``: 3x3 conv of ``f`` filters, 2x2
max-pool, 3x3 conv of ``2f``, 2x2 max-pool, then a dense output layer; the slides' CIFAR-10 study
also counts filters). With ``aware=True`` each is also trained error-aware, at its
own device error rates (below). Trained models are cached under a key of the recipe and the
data files (as :mod:`hwgen.study.fig10` does), so a rerun trains nothing.

Device errors come from **one programming condition** (default: the paper's checkerboard,
55 uA / 2.5 V / 1 us, where errors are frequent enough to matter), each network at its own
operating point:

- BNN: the binary PCSA at the nominal supply, bit error rate :func:`hwgen.device.physics.ber_2t2r`;
  seeded maps from :func:`hwgen.device.network_error_maps`.
- TNN: the ternary sense at the low supply, rates per error type (0 read as +-1, +-1 read as 0,
  sign flips) from :func:`hwgen.device.ternary.ternary_rates`; seeded maps from
  :func:`hwgen.device.ternary.network_ternary_error_maps`.

Accuracies are the golden model's (bit-exact with the RTL) on the whole test set; with errors,
the mean and standard deviation over ``repeats`` error maps per trained network.

Read energy per inference: every stored weight is sensed once per layer pass, i.e. once per
inference for a dense layer and once per computed output position for a conv layer, so it is
``senses x E_sense(V)``, with the sense a C V^2 charge (:mod:`hwgen.flow.macro`: both branches
precharged and discharged, an upper bound): ``C`` is the macro model's sense capacitance
(``sense_energy_j / supply_v**2`` of an n=32 block on the named platform) and ``V`` the supply of
each operating point. A binary and a ternary read are one and the same PCSA operation; only the
supply differs. The counters' extra bit (a ternary column adds 0, 1 or 2) and the rest of the
CMOS are not in this figure.

Outputs: ``tnn_runs.csv`` (one row per network and seed), ``tnn_summary.csv`` (mean and spread
over seeds) and ``tnn.png`` (accuracy vs model size, and accuracy vs read energy).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import seeds
from ..data import binarize, load_split
from ..device import network_error_maps
from ..device.physics import CHECKERBOARD, ProgrammingCondition, ber_2t2r
from ..device.ternary import V_LOW, V_NOM, network_ternary_error_maps, ternary_rates
from ..golden import network_forward
from ..ir import Network
from ..outputs import new_figure, save_figure, write_csv
from ..train.loop import TrainConfig
from .fig10 import _key, _recipe, load_or_train, study_folders

DATASETS = ("mnist", "fashion-mnist")
# Pixel > threshold is +1. Fashion-MNIST's garments are mid-grey: 50 keeps their texture (the
# shipped Fashion models use it); both kinds of network get the same inputs.
INPUT_THRESHOLDS = {"mnist": 127, "fashion-mnist": 50}
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


def _network(dataset, cfg: TrainConfig, cache_dir: Path, data, data_dir, progress, log) -> tuple[Network, Path]:
    kind = "tnn" if cfg.weights == "ternary" else "bnn"
    key = _key(kind, cfg.sizes, _recipe(cfg), {"dataset": dataset, **data})
    shape = "-".join(map(str, cfg.sizes)) if cfg.arch == "mlp" else "conv" + "-".join(str(c["channels"]) for c in cfg.convs)
    path = cache_dir / f"{kind}_{dataset}_{shape}_{key}.npz"
    return load_or_train(path, dataset, cfg, data_dir, progress, log), path


def _error_accuracy(network: Network, x_bits, labels, ber: float, rates, repeats: int, seed: int) -> list[float]:
    out = []
    values = [layer.values() for layer in network.layers] if network.is_ternary else None
    for r in range(repeats):
        s = seeds.child_seed(seed, "sweep", 0, r)
        maps = (network_ternary_error_maps(values, rates, s) if network.is_ternary
                else network_error_maps(network, ber, s))
        pred, _, _ = network_forward(network, x_bits, maps)
        out.append(float((pred == labels).mean()))
    return out


def senses_per_inference(network: Network) -> int:
    """PCSA senses of one inference: each layer's weight matrix once per pass (conv: per position)."""
    return sum(layer.n_inputs * layer.n_outputs * (layer.geometry().positions if layer.is_conv else 1)
               for layer in network.layers)


def recipe(arch: str, size: int, **common) -> TrainConfig:
    """The study's network of ``size`` (hidden units or filters) as a training recipe."""
    if arch == "mlp":
        return TrainConfig(sizes=[784, size, size, 10], **common)
    if arch == "conv":
        return TrainConfig(sizes=[784, 10], arch="conv", convs=[{"channels": size}, {"channels": 2 * size}], **common)
    raise ValueError(f"arch must be one of {', '.join(ARCHS)}, not {arch!r}")


def run_tnn_study(out_dir, datasets=DATASETS, widths=WIDTHS, seed_list=SEEDS, epochs: int = EPOCHS, arch: str = "mlp",
                  repeats: int = REPEATS, condition: ProgrammingCondition = CHECKERBOARD, cycles: float = 0.0,
                  vdd_binary: float = V_NOM, vdd_ternary: float = V_LOW, aware: bool = True, threads: int = 1,
                  platform=None, data_dir=None, cache_dir=None, progress: bool = True,
                  log=None) -> list[dict]:
    """Train (or reuse) and measure every network; write the CSVs and the plot. Returns the runs."""
    out_dir, cache_dir, log = study_folders(out_dir, cache_dir, progress, log)
    ber = ber_2t2r(condition, cycles)
    rates = ternary_rates(condition, vdd_ternary, cycles)
    capacitance = sense_capacitance_f(platform) if platform is not None else math.nan
    energy = {"binary": capacitance * vdd_binary ** 2, "ternary": capacitance * vdd_ternary ** 2}
    log(f"[tnn] {condition}: BNN at {vdd_binary:g} V, BER {ber:.3g}; TNN at {vdd_ternary:g} V, 0 as +-1 "
        f"{rates.zero_as_pm:.3g}, +-1 as 0 {rates.pm_as_zero:.3g}, sign flip {rates.sign_flip:.3g}; sense "
        f"{energy['binary'] * 1e15:.1f} fJ (binary) vs {energy['ternary'] * 1e15:.1f} fJ (ternary)")
    trainings = ["plain", "aware"] if aware else ["plain"]
    jobs = [(d, w, kind, t, s) for d in datasets for w in widths for kind in ("binary", "ternary")
            for t in trainings for s in seed_list]
    splits = {}
    runs = []
    for dataset, width, kind, training, seed in tqdm(jobs, desc="tnn study", unit="network", disable=not progress):
        if dataset not in splits:
            train_split, test_split = load_split("train", data_dir, dataset), load_split("test", data_dir, dataset)
            splits[dataset] = ({**train_split.sources, **test_split.sources},
                               binarize(test_split.images, INPUT_THRESHOLDS[dataset]), test_split.labels)
        data, x_bits, labels = splits[dataset]
        cfg = recipe(arch, width, epochs=epochs, seed=seed, threads=threads,
                     input_threshold=INPUT_THRESHOLDS[dataset], weights=kind)
        if training == "aware":
            cfg = (replace(cfg, flip_ber=ber) if kind == "binary" else
                   replace(cfg, flip_ber=rates.sign_flip, flip_zero_as_pm=rates.zero_as_pm,
                           flip_pm_as_zero=rates.pm_as_zero))
        network, path = _network(dataset, cfg, cache_dir, data, data_dir, progress, log)
        clean = float((network_forward(network, x_bits)[0] == labels).mean())
        noisy = _error_accuracy(network, x_bits, labels, ber, rates, repeats, seed)
        weights = sum(layer.n_inputs * layer.n_outputs for layer in network.layers)
        zeros = sum(int((layer.values() == 0).sum()) for layer in network.layers) / weights
        senses = senses_per_inference(network)
        row = {"dataset": dataset, "arch": arch, "kind": "tnn" if kind == "ternary" else "bnn", "size": width,
               "training": training, "seed": seed, "weights": weights, "senses": senses, "zero_fraction": round(zeros, 4),
               "accuracy": clean, "accuracy_errors": float(np.mean(noisy)), "accuracy_errors_std": float(np.std(noisy)),
               "vdd": vdd_ternary if kind == "ternary" else vdd_binary,
               "read_energy_j": senses * energy[kind], "model": path.name}
        log(f"[tnn] {dataset} {row['kind']} {width} {training} seed {seed}: {100 * clean:.2f}% clean, "
            f"{100 * row['accuracy_errors']:.2f}% with errors")
        runs.append(row)
    summary = summarize(runs)
    write_csv(out_dir / "tnn_runs.csv", runs)
    write_csv(out_dir / "tnn_summary.csv", summary)
    plot(out_dir / "tnn.png", summary, f"{condition}; BNN {vdd_binary:g} V, TNN {vdd_ternary:g} V",
         "hidden units per layer (784-h-h-10)" if arch == "mlp" else "filters f (conv f, conv 2f, dense)")
    return runs


def summarize(runs: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds per (dataset, kind, size, training), and the TNN's
    lead over the BNN of the same dataset, size and training (``tnn_minus_bnn*``)."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["dataset"], r["kind"], r["size"], r["training"]), []).append(r)
    out = []
    for (dataset, kind, size, training), rows in groups.items():
        clean = [r["accuracy"] for r in rows]
        noisy = [r["accuracy_errors"] for r in rows]
        out.append({"dataset": dataset, "kind": kind, "arch": rows[0]["arch"], "size": size, "training": training,
                    "seeds": len(rows),
                    "weights": rows[0]["weights"], "senses": rows[0]["senses"], "zero_fraction": float(np.mean([r["zero_fraction"] for r in rows])),
                    "accuracy": float(np.mean(clean)), "accuracy_std": float(np.std(clean)),
                    "accuracy_errors": float(np.mean(noisy)), "accuracy_errors_std": float(np.std(noisy)),
                    "read_energy_j": rows[0]["read_energy_j"]})
    index = {(r["dataset"], r["kind"], r["size"], r["training"]): r for r in out}
    for r in out:
        b = index.get((r["dataset"], "bnn", r["size"], r["training"]))
        for key in ("accuracy", "accuracy_errors"):
            r[f"tnn_minus_bnn_{key}"] = r[key] - b[key] if r["kind"] == "tnn" and b else ""
    return out


def plot(path, summary: list[dict], title: str, size_label: str = "model size") -> Path:
    datasets = sorted({r["dataset"] for r in summary})
    fig, axes = new_figure(size=(11, 4 * len(datasets)), nrows=len(datasets), ncols=2, squeeze=False)
    styles = {("bnn", "plain"): ("tab:blue", "-"), ("bnn", "aware"): ("tab:blue", ":"),
              ("tnn", "plain"): ("tab:red", "-"), ("tnn", "aware"): ("tab:red", ":")}
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
                            label=f"{kind.upper()} {training}, clean")
                ax.errorbar(x, [100 * r["accuracy_errors"] for r in rows],
                            yerr=[100 * r["accuracy_errors_std"] for r in rows], color=color, linestyle=line,
                            marker="x", capsize=2, alpha=0.6, label=f"{kind.upper()} {training}, device errors")
        row_axes[0].set(xscale="log", xlabel=size_label, ylabel="test accuracy (%)",
                        title=dataset)
        row_axes[1].set(xscale="log", xlabel="read energy per inference (nJ)", ylabel="test accuracy (%)",
                        title=f"{dataset}: accuracy vs read energy")
        for ax in row_axes:
            ax.grid(True, which="both", alpha=0.3)
        row_axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
