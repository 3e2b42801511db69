"""The TNN study's device-error measurements (issue 26): how a network's accuracy spreads over
error maps, which layer the errors hurt, and how the TNN's lead over the BNN depends on the
ternary read's supply and on the ternary read model's assumed constants.

**Spread.** Accuracy with errors is measured on ``repeats`` seeded error maps; when their standard
deviation exceeds :data:`MORE_MAPS_SD` (one point) the spread is large and ``MORE_MAPS_FACTOR`` times
as many maps are drawn (the first maps stay the same). Each row gives the mean, sd, minimum,
quartiles and the number of maps, so a wide spread (a few bad maps in a small, fragile layer) is
visible instead of hidden in a mean.

**Per layer.** The same maps, with errors confined to one layer at a time (the other layers read
exactly): which layer the loss comes from.

**Sensitivity** (:func:`sensitivity`), for every TNN with a BNN partner (same dataset, size,
training and seed; the BNN reads at the nominal supply, so its accuracy with errors is fixed):

- ``vdd``: the ternary read's PCSA supply (the module's default sweep 0.85-1.0 V);
- ``g_res_scale``: a factor on the resolution level ``G_res`` at the study's ternary supply. Every
  assumed constant of :mod:`hwgen.device.ternary` (``V_TH``, ``N_SLOPE``, ``X_NOM``, the centring
  ``G_RES_LOW``) reaches the read only through ``G_res``, so this one factor spans them;
- ``first_layer_vdd``: only the first layer read at another supply (a layer's arrays can have their
  own supply), the others at the study's;
- ``first_layer_condition``: only the first layer programmed at Table 1's strong condition (200 uA /
  2.5 V / 1 us; the first layer of a conv net is small, so its programming energy hardly counts).

For each axis the TNN - BNN difference and, where it changes sign between two points, the
crossover (linear interpolation) are reported.
"""

from __future__ import annotations

import numpy as np

from .. import seeds
from ..device import network_error_maps
from ..device.physics import TABLE1, ProgrammingCondition
from ..device.ternary import network_ternary_error_maps, ternary_rates
from ..golden import network_forward

MORE_MAPS_SD = 0.01          # sd of accuracy over maps above this: draw more maps
MORE_MAPS_FACTOR = 4
VDD_SWEEP = (0.85, 0.875, 0.9, 0.925, 0.95, 0.975, 1.0)
SCALE_SWEEP = (0.5, 0.71, 1.0, 1.41, 2.0)
STRONG = TABLE1["strong"]
AXES = ("vdd", "g_res_scale", "first_layer_vdd", "first_layer_condition")
CROSSOVER_FIELDS = ("dataset", "size", "training", "axis", "crossover", "tnn_leads_below")


def _maps(network, values, ber, rates, seed: int, r: int, first_rates=None) -> list:
    s = seeds.child_seed(seed, "sweep", 0, r)
    if values is None:
        return network_error_maps(network, ber, s)
    maps = network_ternary_error_maps(values, rates, s)
    if first_rates is not None:            # layer 0 draws from its own stream: only its rates change
        maps[0] = network_ternary_error_maps(values[:1], first_rates, s)[0]
    if not all(layer.is_ternary for layer in network.layers):      # a mixed network's binary layers: at ber
        binary = network_error_maps(network, ber, s)
        maps = [m if layer.is_ternary else binary[k] for k, (m, layer) in enumerate(zip(maps, network.layers))]
    return maps


def error_accuracies(network, x_bits, labels, ber: float, rates, repeats: int, seed: int, *, layer=None,
                     first_rates=None, more: bool = True) -> list[float]:
    """Accuracy on each of ``repeats`` seeded error maps (more when the spread is large and
    ``more``): binary networks (and a mixed network's binary layers) at ``ber``, ternary ones at
    ``rates`` (``first_rates``: layer 0's); ``layer``: errors in that layer only."""
    values = [lyr.values() for lyr in network.layers] if network.is_ternary else None

    def run(start, stop):
        out = []
        for r in range(start, stop):
            maps = _maps(network, values, ber, rates, seed, r, first_rates)
            if layer is not None:
                maps = [m if k == layer else None for k, m in enumerate(maps)]
            out.append(float((network_forward(network, x_bits, maps)[0] == labels).mean()))
        return out

    acc = run(0, repeats)
    if more and np.std(acc) > MORE_MAPS_SD:
        acc += run(repeats, repeats * MORE_MAPS_FACTOR)
    return acc


def spread(acc, prefix: str = "accuracy_errors") -> dict:
    """Mean, sd, minimum, quartiles and count of accuracies over error maps."""
    a = np.asarray(acc, dtype=float)
    q = np.percentile(a, [0, 25, 50, 75])
    return {prefix: float(a.mean()), f"{prefix}_std": float(a.std()), f"{prefix}_min": float(q[0]),
            f"{prefix}_q1": float(q[1]), f"{prefix}_median": float(q[2]), f"{prefix}_q3": float(q[3]),
            f"{prefix}_maps": int(a.size)}


def layer_rows(network, x_bits, labels, ber: float, rates, repeats: int, seed: int, base: dict) -> list[dict]:
    """One row per layer: accuracy with errors confined to it (:func:`spread`)."""
    rows = []
    for k, lyr in enumerate(network.layers):
        acc = error_accuracies(network, x_bits, labels, ber, rates, repeats, seed, layer=k)
        weights = lyr.n_inputs * lyr.n_outputs
        zeros = float((lyr.values() == 0).mean()) if lyr.is_ternary else 0.0
        rows.append({**base, "layer": lyr.name or f"layer{k}", "layer_index": k, "layer_weights": weights,
                     "layer_zero_fraction": round(zeros, 4), **spread(acc)})
    return rows


def _points(condition: ProgrammingCondition, cycles: float, vdd_ternary: float, vdd_sweep, scale_sweep):
    """(axis, value, rates, first-layer rates or None) of every sensitivity point."""
    base = ternary_rates(condition, vdd_ternary, cycles)
    points = [("vdd", v, ternary_rates(condition, v, cycles), None) for v in vdd_sweep]
    points += [("g_res_scale", k, ternary_rates(condition, vdd_ternary, cycles, k), None) for k in scale_sweep]
    points += [("first_layer_vdd", v, base, ternary_rates(condition, v, cycles)) for v in vdd_sweep]
    points.append(("first_layer_condition", str(STRONG), base, ternary_rates(STRONG, vdd_ternary, cycles)))
    return points


def sensitivity(pairs, x_bits, labels, condition: ProgrammingCondition, cycles: float, vdd_ternary: float,
                repeats: int, vdd_sweep=VDD_SWEEP, scale_sweep=SCALE_SWEEP, ber: float = 0.0,
                progress=None) -> list[dict]:
    """Rows of TNN - BNN with errors along every axis (module docstring) for ``pairs`` of
    ``(tnn_network, bnn_network, base_row, seed)``, on the images ``x_bits``; the BNN at ``ber``
    (its own read, whatever the ternary supply), on the same maps as the study's."""
    points = _points(condition, cycles, vdd_ternary, vdd_sweep, scale_sweep)
    rows = []
    for network, bnn_network, base, seed in pairs:
        bnn = float(np.mean(error_accuracies(bnn_network, x_bits, labels, ber, None, repeats, seed)))
        for axis, value, rates, first in points:
            acc = error_accuracies(network, x_bits, labels, ber, rates, repeats, seed, first_rates=first)
            shown = first if first is not None else rates
            s = spread(acc, "tnn_accuracy_errors")
            rows.append({**base, "images": len(labels), "axis": axis, "value": value,
                         "zero_as_pm": shown.zero_as_pm, "pm_as_zero": shown.pm_as_zero,
                         "sign_flip": shown.sign_flip, **s,
                         "bnn_accuracy_errors": bnn, "tnn_minus_bnn": s["tnn_accuracy_errors"] - bnn})
            if progress is not None:
                progress()
    return rows


def crossovers(rows: list[dict]) -> list[dict]:
    """Where TNN - BNN (mean over seeds per dataset, size, training and axis value) changes sign
    along a numeric axis, by linear interpolation (:data:`CROSSOVER_FIELDS`)."""
    groups: dict[tuple, dict] = {}
    for r in rows:
        if r["axis"] in ("vdd", "g_res_scale", "first_layer_vdd"):
            key = (r["dataset"], r["size"], r["training"], r["axis"])
            groups.setdefault(key, {}).setdefault(float(r["value"]), []).append(r["tnn_minus_bnn"])
    out = []
    for (dataset, size, training, axis), by_value in sorted(groups.items()):
        xs = sorted(by_value)
        ys = [float(np.mean(by_value[x])) for x in xs]
        for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
            if (y0 > 0) != (y1 > 0):
                x = x0 + (x1 - x0) * y0 / (y0 - y1)
                out.append({"dataset": dataset, "size": size, "training": training, "axis": axis,
                            "crossover": round(x, 4), "tnn_leads_below": y0 > 0})
    return out
