"""Accuracy vs weight bit error rate (paper Fig. 9), on the bit-packed golden model.

For every BER and repeat, one seeded error map per layer (:func:`network_error_maps`) is
XOR-ed into the packed weights and the whole test set is classified; there is no float path.
Seeds: BER point b, repeat r runs with ``seeds.child_seed(seed, "sweep", b, r)`` (recorded in
the CSV) and the per-layer streams of network_error_maps, so any single point can be
reproduced alone, e.g. in the RTL regression with that ``--seed``.

Distribution (:class:`hwgen.farm.Farm`): the points are cut into contiguous tasks of several
points (a point takes a fraction of a second, too little for a task of its own), the networks
and images go to every worker once, and the rows come back in point order. A point's seed
depends on the point alone, so the rows are identical for any number of workers.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import seeds
from ..device import check_ber, network_error_maps
from ..golden import network_forward
from ..ir import Network, pack_bits
from ..outputs import new_figure, save_figure, write_csv

PAPER_BERS = (0.0, 1e-5, 1e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 4e-2, 6e-2, 1e-1)
# `hwgen sweep` without --workers: a point already runs on up to 4 threads in one process
# (hwgen.golden's pool), so a local cluster gets one worker per AUTO_CORES_PER_WORKER cores (none
# on 4 cores or fewer), and only for runs of at least AUTO_MIN_WORK points x images x weights
# (about 10 s in one process: a cluster takes a few seconds to start and warm up)
AUTO_CORES_PER_WORKER = 4
AUTO_MIN_WORK = 2e12


def point_seed(seed: int, b: int, r: int) -> int:
    return seeds.child_seed(seed, "sweep", b, r)


def sweep_point(network: Network, x_bits: np.ndarray, labels: np.ndarray, ber: float, b: int, r: int,
                seed: int) -> dict:
    """The row of BER point ``b`` (rate ``ber``), repeat ``r``: one seeded error map per layer."""
    s = point_seed(seed, b, r)
    maps = None
    errors = 0
    if ber > 0:
        maps = [pack_bits(m) for m in network_error_maps(network, ber, s)]
        errors = int(sum(int(np.bitwise_count(m).sum()) for m in maps))
    pred, _, _ = network_forward(network, x_bits, maps)
    return {"ber": ber, "repeat": r, "seed": s, "errors": errors, "accuracy": float((pred == labels).mean())}


def _sweep_task(points, data) -> list[dict]:
    """A farm task: ``points`` are ``(label, ber, b, r)``; ``data`` is ``(networks, x_bits, labels, seed)``."""
    networks, x_bits, labels, seed = data
    return [{"network": label, **sweep_point(networks[label], x_bits, labels, ber, b, r, seed)}
            for label, ber, b, r in points]


def _check_inputs(network: Network, x_bits, labels, bers, repeats):
    bers = [check_ber(b) for b in bers]
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, not {repeats}")
    x_bits = np.asarray(x_bits)
    if x_bits.ndim != 2 or x_bits.shape[1] != network.input_size or len(x_bits) != len(labels):
        raise ValueError(f"inputs {x_bits.shape} / labels {np.shape(labels)} do not fit a network of "
                         f"{network.input_size} inputs")
    return bers, x_bits


def sweep_rows(networks: dict, x_bits, labels, bers=PAPER_BERS, repeats: int = 5, seed: int = 0, farm=None,
               progress: bool = True, desc: str = "sweep") -> list[dict]:
    """The rows of every network in ``networks`` (label -> Network): ``network, ber, repeat, seed,
    errors, accuracy`` per (BER, repeat), BER 0 once, in (network, BER, repeat) order; on
    ``farm`` (a started :class:`hwgen.farm.Farm`; None: this process, point by point)."""
    from ..farm import TASKS_PER_WORKER, Farm, chunks

    if not networks:
        raise ValueError("no network to sweep")
    for network in networks.values():
        checked, x_bits = _check_inputs(network, x_bits, labels, bers, repeats)
    labels = np.asarray(labels)
    points = [(label, ber, b, r) for label in networks for b, ber in enumerate(checked)
              for r in range(1 if ber == 0 else repeats)]
    farm = farm or Farm(workers=1)
    if farm.in_process:
        tasks = [[p] for p in points]
    else:       # a few tasks per worker: enough to balance the load, few enough to keep overheads small
        tasks = [points[c.start:c.stop] for c in chunks(len(points), farm.workers * TASKS_PER_WORKER)]
    results = farm.map(_sweep_task, tasks, (networks, x_bits, labels, seed), sizes=[len(t) for t in tasks],
                       desc=desc, unit="point", progress=progress)
    return [row for rows in results for row in rows]


def accuracy_vs_ber(network: Network, x_bits: np.ndarray, labels: np.ndarray, bers=PAPER_BERS, repeats: int = 5,
                    seed: int = 0, progress: bool = True, desc: str = "sweep", farm=None) -> list[dict]:
    """One row per (BER, repeat): ``ber, repeat, seed, errors, accuracy``. BER 0 runs once.
    ``farm``: see :func:`sweep_rows` (the rows do not depend on it)."""
    rows = sweep_rows({desc: network}, x_bits, labels, bers, repeats, seed, farm, progress, desc)
    return [{k: v for k, v in row.items() if k != "network"} for row in rows]


def summarize(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation of the accuracy per BER."""
    out = []
    for ber in sorted({row["ber"] for row in rows}):
        acc = np.array([row["accuracy"] for row in rows if row["ber"] == ber])
        out.append({"ber": ber, "repeats": len(acc), "mean": float(acc.mean()), "std": float(acc.std())})
    return out


def plot_accuracy_vs_ber(path, curves: dict, title: str) -> Path:
    """``curves``: label -> summarize() rows. BER 0 is drawn at the left edge of the log axis."""
    fig, ax = new_figure()
    nonzero = [r["ber"] for rows in curves.values() for r in rows if r["ber"] > 0]
    zero_at = min(nonzero) / 3 if nonzero else 1e-6
    for label, rows in curves.items():
        x = [r["ber"] if r["ber"] > 0 else zero_at for r in rows]
        ax.errorbar(x, [100 * r["mean"] for r in rows], yerr=[100 * r["std"] for r in rows], marker="o",
                    capsize=3, label=label)
    ax.set_xscale("log")
    ax.set_xlabel(f"weight bit error rate (BER 0 drawn at {zero_at:.0e})")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def run_sweep(models: dict, x_bits, labels, out_dir, bers=PAPER_BERS, repeats: int = 5, seed: int = 0,
              progress: bool = True, log=print, source: str = "test images", farm=None) -> dict:
    """Sweep every network in ``models`` (label -> Network); write CSVs and the Fig. 9 plot.
    ``source`` names the images (it goes into the plot's title). ``farm``: where the points run
    (a started :class:`hwgen.farm.Farm`; default this process); the results do not depend on it."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    all_rows = sweep_rows(models, x_bits, labels, bers, repeats, seed, farm, progress)
    curves = {label: summarize([row for row in all_rows if row["network"] == label]) for label in models}
    seconds = time.perf_counter() - t0
    images = sum(1 for _ in all_rows) * len(labels)
    summary = [{"network": label, **row} for label, rows in curves.items() for row in rows]
    write_csv(out_dir / "fig9_accuracy_vs_ber_runs.csv", all_rows)
    write_csv(out_dir / "fig9_accuracy_vs_ber.csv", summary)
    plot_accuracy_vs_ber(out_dir / "fig9_accuracy_vs_ber.png", curves,
                         f"Accuracy vs weight BER ({len(labels)} images: {source}, {repeats} repeats)")
    where = "" if farm is None or farm.in_process else f" on {farm.describe()}"
    log(f"[sweep] {len(all_rows)} points, {images} image inferences in {seconds:.1f} s{where} "
        f"({images / seconds:.0f} images/s); wrote {out_dir}/fig9_accuracy_vs_ber.csv/.png")
    for row in summary:
        log(f"[sweep] {row['network']:>10s}  BER {row['ber']:<7g} accuracy {100 * row['mean']:6.2f}% "
            f"± {100 * row['std']:.2f}")
    return {"curves": curves, "seconds": seconds, "images": images, "rows": all_rows}


def sweep_workers(networks: dict, images: int, bers, repeats: int, workers: int | None = None) -> int:
    """Local worker processes of a sweep: ``workers`` (default: one per :data:`AUTO_CORES_PER_WORKER`
    cores for runs of at least :data:`AUTO_MIN_WORK`, else 1), never more than its points."""
    import os

    points = len(networks) * sum(1 if b == 0 else repeats for b in bers)
    if workers is None:
        weights = sum(layer.n_inputs * layer.n_outputs for n in networks.values() for layer in n.layers)
        small = points * images * weights < AUTO_MIN_WORK
        workers = 1 if small else max(1, (os.cpu_count() or 1) // AUTO_CORES_PER_WORKER)
    return min(workers, points)
