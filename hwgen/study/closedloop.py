"""Closed loop: programming condition -> 2T2R bit error rate (device model) -> accuracy (golden
model with sampled errors) -> programming energy. It answers "what programming energy can this
network afford": the cheapest condition whose accuracy stays within ``tolerance`` of the
error-free network, against the strong condition of the paper's Table 1 (its "÷30" claim).
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from ..outputs import new_figure, save_figure, write_csv
from .sweep import accuracy_vs_ber, summarize

STRONG = (200.0, 2.5, 1.0)     # Table 1 "strong" condition (SET compliance µA, RESET V, pulse µs)
GRID = {"i_set_uA": (20.0, 30.0, 40.0, 55.0, 80.0, 120.0, 200.0),
        "v_reset": (1.5, 2.0, 2.5),
        "pulse_us": (0.1, 1.0, 10.0)}


def closed_loop(models: dict, x_bits, labels, out_dir, repeats: int = 3, seed: int = 0, tolerance: float = 0.005,
                cycles: int = 0, progress: bool = True, log=print) -> dict:
    """Evaluate every condition of :data:`GRID` for every network (label -> Network)."""
    from ..device.physics import ProgrammingCondition, ber_2t2r, programming_energy_pj

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    conditions = [ProgrammingCondition(i_set_uA=i, v_reset=v, pulse_us=p)
                  for i, v, p in itertools.product(*GRID.values())]
    bers = {c: float(ber_2t2r(c, cycles)) for c in conditions}
    t0 = time.perf_counter()
    rows, verdict = [], {}
    for label, network in models.items():
        weights = sum(layer.n_inputs * layer.n_outputs for layer in network.layers)
        unique = sorted(set(bers.values()))
        curve = {r["ber"]: r for r in summarize(accuracy_vs_ber(network, x_bits, labels, [0.0] + unique, repeats,
                                                                 seed, progress, desc=f"{label} loop"))}
        clean = curve[0.0]["mean"]
        for c in conditions:
            point = curve[bers[c]]
            rows.append({"network": label, "i_set_uA": c.i_set_uA, "v_reset": c.v_reset, "pulse_us": c.pulse_us,
                         "cycles": cycles, "ber_2t2r": bers[c], "energy_pj_per_bit": programming_energy_pj(c).bit_pj,
                         "energy_uj_network": weights * programming_energy_pj(c).bit_pj * 1e-6,
                         "accuracy": point["mean"], "accuracy_std": point["std"],
                         "ok": point["mean"] >= clean - tolerance})
        ok = [r for r in rows if r["network"] == label and r["ok"]]
        strong = next(r for r in rows if r["network"] == label
                      and (r["i_set_uA"], r["v_reset"], r["pulse_us"]) == STRONG)
        cheapest = min(ok, key=lambda r: r["energy_pj_per_bit"]) if ok else None
        verdict[label] = {"clean_accuracy": clean, "strong": strong, "cheapest": cheapest,
                          "energy_ratio": strong["energy_pj_per_bit"] / cheapest["energy_pj_per_bit"]
                          if cheapest else None}
    write_csv(out_dir / "closed_loop.csv", rows)
    _plot(out_dir / "closed_loop.png", rows, tolerance)
    log(f"[loop] {len(conditions)} conditions x {len(models)} networks in {time.perf_counter() - t0:.1f} s; "
        f"wrote {out_dir}/closed_loop.csv/.png")
    for label, v in verdict.items():
        c = v["cheapest"]
        if c is None:
            log(f"[loop] {label}: no condition keeps accuracy within {100 * tolerance:.1f} points")
            continue
        log(f"[loop] {label}: cheapest condition within {100 * tolerance:.1f} points of {100 * v['clean_accuracy']:.2f}%: "
            f"{c['i_set_uA']:g} µA / {c['v_reset']:g} V / {c['pulse_us']:g} µs, BER {c['ber_2t2r']:.1e}, "
            f"{c['energy_pj_per_bit']:.1f} pJ per bit (SET + RESET) ({100 * c['accuracy']:.2f}%); "
            f"the strong condition costs {v['energy_ratio']:.0f}x more")
    return verdict


def _plot(path, rows, tolerance):
    fig, ax = new_figure()
    for label in sorted({r["network"] for r in rows}):
        mine = sorted((r for r in rows if r["network"] == label), key=lambda r: r["energy_pj_per_bit"])
        ax.scatter([r["energy_pj_per_bit"] for r in mine], [100 * r["accuracy"] for r in mine], label=label, s=18)
    ax.set_xscale("log")
    ax.set_xlabel("programming energy per 2T2R bit (pJ)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"Closed loop: condition -> BER -> accuracy (tolerance {100 * tolerance:.1f} pt)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    save_figure(fig, path)
