"""Accuracy vs weight bit error rate (paper Fig. 9), on the bit-packed golden model.

For every BER and repeat, one seeded error map per layer (:func:`network_error_maps`) is
XOR-ed into the packed weights and the whole test set is classified; there is no float path.
Seeds: BER point b, repeat r runs with ``seeds.child_seed(seed, "sweep", b, r)`` (recorded in
the CSV) and the per-layer streams of network_error_maps, so any single point can be
reproduced alone, e.g. in the RTL regression with that ``--seed``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import seeds
from ..device import check_ber, network_error_maps
from ..golden import network_forward
from ..ir import Network, pack_bits
from ..outputs import new_figure, save_figure, write_csv

PAPER_BERS = (0.0, 1e-5, 1e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 4e-2, 6e-2, 1e-1)


def point_seed(seed: int, b: int, r: int) -> int:
    return seeds.child_seed(seed, "sweep", b, r)


def accuracy_vs_ber(network: Network, x_bits: np.ndarray, labels: np.ndarray, bers=PAPER_BERS, repeats: int = 5,
                    seed: int = 0, progress: bool = True, desc: str = "sweep") -> list[dict]:
    """One row per (BER, repeat): ``ber, repeat, seed, errors, accuracy``. BER 0 runs once."""
    bers = [check_ber(b) for b in bers]
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, not {repeats}")
    x_bits = np.asarray(x_bits)
    if x_bits.ndim != 2 or x_bits.shape[1] != network.input_size or len(x_bits) != len(labels):
        raise ValueError(f"inputs {x_bits.shape} / labels {np.shape(labels)} do not fit a network of "
                         f"{network.input_size} inputs")
    jobs = [(b, r) for b, ber in enumerate(bers) for r in range(1 if ber == 0 else repeats)]
    rows = []
    for b, r in tqdm(jobs, desc=desc, unit="point", disable=not progress):
        s = point_seed(seed, b, r)
        maps = None
        errors = 0
        if bers[b] > 0:
            maps = [pack_bits(m) for m in network_error_maps(network, bers[b], s)]
            errors = int(sum(int(np.bitwise_count(m).sum()) for m in maps))
        pred, _, _ = network_forward(network, x_bits, maps)
        rows.append({"ber": bers[b], "repeat": r, "seed": s, "errors": errors,
                     "accuracy": float((pred == labels).mean())})
    return rows


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
              progress: bool = True, log=print, source: str = "test images") -> dict:
    """Sweep every network in ``models`` (label -> Network); write CSVs and the Fig. 9 plot.
    ``source`` names the images (it goes into the plot's title)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    curves, all_rows = {}, []
    t0 = time.perf_counter()
    for label, network in models.items():
        rows = accuracy_vs_ber(network, x_bits, labels, bers, repeats, seed, progress, desc=label)
        all_rows += [{"network": label, **row} for row in rows]
        curves[label] = summarize(rows)
    seconds = time.perf_counter() - t0
    images = sum(1 for _ in all_rows) * len(labels)
    summary = [{"network": label, **row} for label, rows in curves.items() for row in rows]
    write_csv(out_dir / "fig9_accuracy_vs_ber_runs.csv", all_rows)
    write_csv(out_dir / "fig9_accuracy_vs_ber.csv", summary)
    plot_accuracy_vs_ber(out_dir / "fig9_accuracy_vs_ber.png", curves,
                         f"Accuracy vs weight BER ({len(labels)} images: {source}, {repeats} repeats)")
    log(f"[sweep] {len(all_rows)} points, {images} image inferences in {seconds:.1f} s "
        f"({images / seconds:.0f} images/s); wrote {out_dir}/fig9_accuracy_vs_ber.csv/.png")
    for row in summary:
        log(f"[sweep] {row['network']:>10s}  BER {row['ber']:<7g} accuracy {100 * row['mean']:6.2f}% "
            f"± {100 * row['std']:.2f}")
    return {"curves": curves, "seconds": seconds, "images": images}
