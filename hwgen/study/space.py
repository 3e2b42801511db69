"""``hwgen space``: what storing conv kernels once vs replicating them costs (the paper's open
question for conv layers), as one table.

For every network and every replica count P (``--parallel`` of every conv layer): the basic
cells (the area proxy: every cell is an n x n 2T2R block with its sense amplifiers and counters),
the weight bits, the cycles per inference and the initiation interval of the generated hardware
(:func:`hwgen.netplan.network_timing`, which the RTL regressions check cycle for cycle), the
images per second at a given clock, and the test accuracy of the golden model: at BER 0 it does
not depend on P; at ``--ber`` each replica carries its own sampled errors (mean and standard
deviation over ``--repeats`` error maps: a conv network's first layer has few inputs per output,
so where its errors land matters, and the spread is wide). A dense network (an
MLP) has one row: it has nothing to replicate.

With ``--sim``, every row's design is also generated and run through the RTL regression, which
measures the cycles per inference and the interval and compares every output with the golden
model.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..device import network_error_maps
from ..errors import ConfigError, LayerDoesNotFit
from ..golden import network_forward
from ..netplan import network_timing, plan_network
from ..outputs import new_figure, save_figure, write_csv
from .sweep import point_seed


def space_rows(networks: dict, x_bits, labels, parallels, n: int = 32, config: str = "par2seq", ber: float = 0.0,
               seed: int = 0, clock_mhz: float = 100.0, repeats: int = 3, log=print) -> list[dict]:
    """One row per (network, P) that fits; a P that does not fit a network's layers is logged
    and left out."""
    rows = []
    for label, net in networks.items():
        clean = float((network_forward(net, x_bits)[0] == labels).mean())
        for P in (parallels if net.is_conv else [1]):
            try:
                plans = plan_network(net, n, config, parallel=P)
            except LayerDoesNotFit as e:
                log(f"[space] {label} P={P}: skipped ({e})")
                continue
            timing = network_timing(plans)
            row = {"network": label, "parallel": P if net.is_conv else "-", "n": n, "config": config,
                   "cells": sum(p.cells for p in plans),
                   "conv_cells": sum(p.cells for p in plans if p.conv is not None),
                   "weight_bits": sum(p.weight_bits for p in plans),
                   "cycles_per_inference": timing["cycles_per_inference"],
                   "initiation_interval": timing["initiation_interval"],
                   "images_per_s": round(clock_mhz * 1e6 / timing["initiation_interval"]),
                   "accuracy": clean}
            if ber > 0:
                acc = [float((network_forward(net, x_bits, network_error_maps(net, ber, point_seed(seed, 0, r),
                                                                               [p.parallel for p in plans]))[0]
                              == labels).mean()) for r in range(repeats)]
                row[f"accuracy_ber_{ber:g}"] = float(np.mean(acc))
                row[f"std_ber_{ber:g}"] = float(np.std(acc))
            row["passes_per_conv_layer"] = " ".join(str(p.conv_timing["passes"]) for p in plans if p.conv is not None)
            rows.append(row)
    return rows


def measure_rows(rows: list[dict], networks: dict, model_paths: dict, sim: str, count: int, work: Path,
                 log=print) -> None:
    """Generate each row's design, run ``count`` images through the RTL regression (every output
    equal to the golden model) and record the measured cycles; they must equal the row's."""
    from ..generate import generate_network
    from ..verify import run_network_regression

    for row in rows:
        net = networks[row["network"]]
        P = 1 if row["parallel"] == "-" else row["parallel"]
        plans = plan_network(net, row["n"], row["config"], parallel=P)
        design = generate_network(net, plans, work / f"{row['network']}_P{P}", views=("harness",),
                                  model_path=model_paths.get(row["network"]))
        r = run_network_regression(design, sim, count=count, log=log)
        row["measured_cycles_per_inference"] = r["cycles_per_inference"]
        row["measured_initiation_interval"] = r["initiation_interval"]
        row["rtl_accuracy"] = r["accuracy"]
        if (r["cycles_per_inference"], r["initiation_interval"]) != (row["cycles_per_inference"],
                                                                     row["initiation_interval"]):
            raise AssertionError(f"{row['network']} P={P}: measured {r['cycles_per_inference']}/"
                                 f"{r['initiation_interval']} cycles, the plan says {row['cycles_per_inference']}/"
                                 f"{row['initiation_interval']}")


def markdown(rows: list[dict]) -> str:
    keys = [k for k in rows[0] if k not in ("n", "config")]
    for row in rows[1:]:
        keys += [k for k in row if k not in keys and k not in ("n", "config")]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = []
        for k in keys:
            v = row.get(k, "")
            cells.append(f"{100 * v:.2f}%" if ("accuracy" in k or k.startswith("std")) and isinstance(v, float)
                         else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_space(path, rows: list[dict], title: str) -> Path:
    """Cells (area proxy) against cycles per inference, one line per network, P labelled."""
    fig, ax = new_figure()
    for label in dict.fromkeys(r["network"] for r in rows):
        mine = [r for r in rows if r["network"] == label]
        ax.plot([r["cells"] for r in mine], [r["cycles_per_inference"] for r in mine], marker="o", label=label)
        for r in mine:
            ax.annotate(f"P={r['parallel']}", (r["cells"], r["cycles_per_inference"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("basic cells (area proxy)")
    ax.set_ylabel("cycles per inference")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def run_space(networks: dict, x_bits, labels, out_dir, parallels, n: int = 32, config: str = "par2seq",
              ber: float = 0.0, seed: int = 0, clock_mhz: float = 100.0, sim: str | None = None, count: int = 20,
              model_paths: dict | None = None, source: str = "test images", repeats: int = 3,
              log=print) -> list[dict]:
    """Build the table, optionally measure it in RTL, write ``design_space.csv/.md/.png``."""
    if not any(network.is_conv for network in networks.values()):
        raise ConfigError(f"no conv layers in {', '.join(networks)}: hwgen space tabulates the replicas (--parallel) "
                          f"of conv layers; give a conv network with --model")
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    rows = space_rows(networks, x_bits, labels, parallels, n, config, ber, seed, clock_mhz, repeats, log)
    if not rows:
        raise LayerDoesNotFit("no --parallel value fits these networks")
    if sim is not None:
        measure_rows(rows, networks, model_paths or {}, sim, count, out_dir / "designs", log)
    write_csv(out_dir / "design_space.csv", rows)
    from ..files import atomic_write

    table = markdown(rows)
    atomic_write(out_dir / "design_space.md",
                 f"# Design space: kernels stored once (P=1) or replicated P times\n\n"
                 f"n={n}, {config}; accuracy on {len(labels)} images ({source})"
                 + (f", at BER {ber:g} the mean and standard deviation over {repeats} error maps" if ber else "")
                 + f"; images/s at {clock_mhz:g} MHz.\n\n"
                 + table)
    plot_space(out_dir / "design_space.png", rows, f"Cells vs cycles per inference (n={n}, {config})")
    log(table.rstrip())
    log(f"[space] {len(rows)} designs in {time.perf_counter() - t0:.1f} s; wrote {out_dir}/design_space.csv/.md/.png")
    return rows


def default_models() -> tuple[Path, ...]:
    """The shipped networks ``hwgen space`` tabulates without ``--model``: the MNIST conv net and MLP."""
    from ..data import MODELS_DIR

    return tuple(p for p in (MODELS_DIR / "mnist_conv.npz", MODELS_DIR / "mnist_bnn.npz") if p.is_file())
