"""Ternary weights in 2T2R RRAM: one PCSA sense at a reduced supply reads -1, 0 or +1.

Source: Laborieux et al., "Low Power In-Memory Implementation of Ternary Neural Networks with
Resistive RAM-Based Synapse" (AICAS 2020 slides), referred to as "the slides" below. The device
distributions and the PCSA offset are those of :mod:`.physics` (Hirtzlin et al., Front. Neurosci.
2020, "the paper").

Encoding
--------
A pair (BL, BLb) stores +1 as one LRS and one HRS device, 0 as two HRS devices and -1 as the
mirror of +1 (slides: "encode a third state with HRS/HRS", no memory overhead). Which branch holds
the LRS of a +1 only names the sign and the model is symmetric; here +1 puts BL in HRS and BLb in
LRS, the binary convention of :mod:`.errormap` and the RTL (weight bit 1), so a +1 reads +1 when
BLb conducts more. (The slides' table lists +1 as LRS/HRS: the same pair with the branches named
the other way round.)

Sense model
-----------
Branch conductances ``G_BL``, ``G_BLb``; ``n ~ N(0, 1)`` is the PCSA's input offset. The latch sees

    S = (G_BLb - G_BL) + SIGMA_PCSA * sqrt(G_BL * G_BLb) * n

(:mod:`.physics`'s decision variable ``sqrt(r) - 1/sqrt(r)`` plus offset, scaled back to siemens by
the geometric-mean branch conductance). It reads +1 if ``S > G_res(vdd)``, -1 if ``S < -G_res(vdd)``
and 0 otherwise: the latch has not resolved within the sense window (slides: "the Sense converges
slowly when operated with low supply voltage ... leverage the speed of the Sense to store a new
value"). At ``G_res = 0`` this is exactly :func:`.physics.pcsa_error_probability`.

Resolution level: the linearised latch, driven by the differential branch current
``dI = V_rd * S``, obeys ``C dV/dt = dI + C V / tau`` and reaches a logic swing ``V_L`` within the
sense window ``T_S`` if ``V(T_S) = (dI tau / C) (exp(T_S/tau) - 1) >= V_L``, that is

    |S| > G_res(vdd) = G_INT * x / (exp(x) - 1),    x = T_S / tau(vdd) = X_NOM * gm(vdd) / gm(V_NOM)

``G_INT = C V_L / (V_rd T_S)`` is the no-regeneration (integration-only) limit reached at very low
supply; at the nominal supply ``x`` is large and ``G_res`` exponentially small (binary read). The
regeneration time constant ``tau = C / gm`` takes the transconductance of the latch transistors at
their metastable point ``V_GS = vdd/2`` from the EKV interpolation (weak to strong inversion,
Enz, Krummenacher & Vittoz, AICSP 1995): ``I ~ ln^2(1 + exp(q))``, ``gm ~ ln(1 + exp(q)) /
(1 + exp(-q))``, ``q = (vdd/2 - V_TH) / (2 N_SLOPE U_T)``. Lowering the supply brings ``vdd/2``
towards and below threshold, so ``tau`` grows steeply (about 5x from 1.2 V to 0.9 V here).

HRS/HRS pairs differ by about one HRS conductance (a few uS) and LRS/HRS pairs by an LRS
conductance (0.1-0.5 mS), so between the two the resolution level separates 0 from +-1. Error
types (per stored weight of that kind): a stored 0 read +-1 (one HRS much more conductive than the
other), a stored +-1 read 0 (LRS too resistive or HRS too conductive), and +1 <-> -1 (the binary
error: at the nominal supply it equals :func:`.physics.ber_2t2r`, checked in
tests/test_ternary_device.py).

Long programming pulses (the slides' "stochastic" condition)
------------------------------------------------------------
The slides show that pairs programmed at 200 uA / 2.5 V / 100 us have wide, overlapping LRS and HRS
distributions ("device pairs programmed in the stochastic area create new errors ... 0 can be read
as +-1"). :func:`.physics.distributions` widens both log-spreads above its calibrated pulse range
(``LONG_PULSE_SPREAD``), so the binary read (:func:`.physics.ber_2t2r`) and this ternary read use one
set of distributions: at the nominal supply a ternary layer's sign flips are the binary BER of the
same condition (tests/test_device_consistency.py).

Error maps
----------
A ternary layer's error map is uint8, shaped like the logical weights, with codes 0..3: bit 0 flips
the stored sign bit, bit 1 the stored zero bit (:mod:`hwgen.golden`). A stored 0 read as -1 is 2,
read as +1 is 3; a stored +-1 read as 0 is 2; +1 <-> -1 is 1. A binary (0/1) map is therefore a
ternary map without zero errors.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from .. import seeds
from ..hwconfig import check_float
from ..outputs import new_figure, save_figure, write_csv
from .physics import (CHECKERBOARD, LONG_PULSE_SPREAD, SIGMA_PCSA, TABLE1, ProgrammingCondition,  # noqa: F401
                      StateDistributions, ber_2t2r, distributions)

# --- Supply voltages -----------------------------------------------------------------------------------
# Assumed: nominal core supply of the slides' 130 nm CMOS (standard for the node); the binary 2T2R
# read of the paper runs here.
V_NOM = 1.2                    # V
# Assumed: ternary operating point. The slides give no value ("a behavior magnified in the low supply
# voltage regime"); 0.9 V = 2 V_TH puts the latch's metastable point at threshold (moderate inversion),
# where the HRS/HRS pairs of the calibrated conditions stay unresolved and the LRS/HRS pairs resolve.
V_LOW = 0.9                    # V
# Assumed: range of the model, from a deeply sub-threshold latch (vdd/2 = 0.25 V) to 125% of nominal.
VDD_RANGE = (0.5, 1.5)         # V

# --- Latch regeneration ---------------------------------------------------------------------------------
# Assumed: |V_TH| of the 130 nm core NMOS and PMOS of the latch (0.35-0.5 V is typical of the node).
V_TH = 0.45                    # V
# Assumed: sub-threshold slope factor of bulk CMOS (typically 1.3-1.6).
N_SLOPE = 1.5
# Thermal voltage kT/q at 300 K (the measurements are at room temperature).
U_T = 0.02585                  # V
# Assumed: sense window over regeneration time constant at 1.2 V (e.g. ~300 ps over ~20 ps for a
# 130 nm latch). It sets how binary the nominal read is: with 15, HRS/HRS pairs of the strong condition
# read 0 with probability ~2e-4 at 1.2 V, and the +-1 rows equal the paper's binary read.
X_NOM = 15.0
# Assumed (design centring): the sense window is sized so that at V_LOW the resolution level sits at
# the geometric mean of the LRS and HRS median conductances of Table 1's strong condition (200 uA /
# 2.5 V / 1 us), half-way in log between the HRS/HRS and the LRS/HRS signals. G_INT follows from it
# (~0.27 mS = C V_L / (V_rd T_S): with T_S ~300 ps and V_L ~ V_rd, C ~ 80 fF, a bit-line-sized load).
_CENTRE = distributions(TABLE1["strong"])
G_RES_LOW = math.exp(-(_CENTRE.mu_lrs + _CENTRE.mu_hrs) / 2)        # S, ~46 uS

# Conditions of the report: Table 1's strong one, the slides' stochastic one, the paper's checkerboard.
STOCHASTIC = ProgrammingCondition(200, 2.5, 100)
REPORT_CONDITIONS = {"strong (Table 1)": TABLE1["strong"], "stochastic (slides)": STOCHASTIC,
                     "checkerboard (Fig. 4)": CHECKERBOARD}
REPORT_VDD = np.round(np.linspace(VDD_RANGE[0], VDD_RANGE[1], 41), 3)
_FLOOR = 1e-16      # rates below this are drawn at the floor of the log axis

# Integration grid: u = ln(G_BLb / G_BL) over its mean +- 9 sd, and m = ln sqrt(R_BL R_BLb) given u over
# +- 8 sd. Entries above 1e-13 agree with a 3x finer grid to better than 1e-3 relative (tests); 5-20 ms a
# call on a busy 2-core machine.
U_POINTS = 801
M_POINTS = 65

# Numerical Recipes (2nd ed., Sec. 6.2) erfcc: Chebyshev fit with fractional error < 1.2e-7 everywhere,
# so the tails keep their relative accuracy. Vectorised numpy; physics.py's math.erfc loop is too slow
# for the 2-D grids here.
_ERFC = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398,
         1.48851587, -0.82215223, 0.17087277)


# Below this |x| erfc(x) = 1 - erf(x) from erf's Taylor series (12 terms: exact to rounding), so that
# Q(0) is 1/2 and a narrow window -g < d + offset < g near d = 0 integrates to its small size rather
# than to the fit's ~1e-8 error.
_SERIES_BELOW = 0.5
_SERIES_TERMS = 12


def _q_both(z):
    """``(Q(z), Q(-z))`` for the Gaussian tail Q, each with its relative accuracy (no ``1 - Q``
    cancellation in the tails), and exactly complementary."""
    z = np.asarray(z, dtype=float)
    x = np.abs(z) * (1 / math.sqrt(2.0))
    t = 1.0 / (1.0 + 0.5 * x)
    poly = np.full_like(t, _ERFC[-1])
    for c in _ERFC[-2::-1]:
        poly = poly * t + c
    small = 0.5 * t * np.exp(-x * x + poly)      # Q(|z|)
    near = x < _SERIES_BELOW
    if near.any():
        xs = x[near]
        term, erf = xs.copy(), xs.copy()          # term_n = (-1)^n x^(2n+1) / n!
        for n in range(1, _SERIES_TERMS):
            term = term * (-xs * xs) / n
            erf = erf + term / (2 * n + 1)
        small[near] = 0.5 - erf / math.sqrt(math.pi)
    big = 1.0 - small
    return np.where(z >= 0, small, big), np.where(z >= 0, big, small)


def _check_vdd(vdd) -> float:
    return check_float("vdd", vdd, *VDD_RANGE, "V")


def _latch_gm(vdd: float) -> float:
    """Latch transconductance at the metastable point (EKV form, arbitrary units)."""
    q = (vdd / 2 - V_TH) / (2 * N_SLOPE * U_T)
    return math.log1p(math.exp(q)) / (1 + math.exp(-q))


def regeneration_windows(vdd) -> float:
    """``x = T_S / tau(vdd)``: regeneration time constants of the latch within the sense window."""
    return X_NOM * _latch_gm(_check_vdd(vdd)) / _latch_gm(V_NOM)


def _gain(x: float) -> float:
    return x / math.expm1(x)


G_INT = G_RES_LOW / _gain(X_NOM * _latch_gm(V_LOW) / _latch_gm(V_NOM))   # S, derived (see G_RES_LOW)


def resolution_conductance(vdd) -> float:
    """``G_res(vdd)`` (siemens): the differential signal a pair needs to resolve within the sense window."""
    return G_INT * _gain(regeneration_windows(vdd))


def sense(g_bl, g_blb, vdd, offset) -> np.ndarray:
    """What one sense reads (int8 -1/0/+1) from pairs with branch conductances ``g_bl``, ``g_blb``
    (siemens) and PCSA offsets ``offset`` (standard normal draws), elementwise. The reference form
    of the model that :func:`ternary_confusion` integrates."""
    g_bl, g_blb, offset = (np.asarray(a, dtype=float) for a in (g_bl, g_blb, offset))
    signal = g_blb - g_bl + SIGMA_PCSA * np.sqrt(g_bl * g_blb) * offset
    g_res = resolution_conductance(vdd)
    return np.where(signal > g_res, 1, np.where(signal < -g_res, -1, 0)).astype(np.int8)


def device_distributions(cond: ProgrammingCondition, cycles=0) -> StateDistributions:
    """The device distributions the ternary read integrates over: :func:`.physics.distributions`
    (one device model for binary and ternary reads)."""
    return distributions(cond, cycles)


def binary_ber(cond: ProgrammingCondition, cycles=0) -> float:
    """The binary 2T2R BER of ``cond``: :func:`.physics.ber_2t2r` (one device model; kept under this
    name for the ternary report's reference line)."""
    return ber_2t2r(cond, cycles)


def _trapezoid_weights(points: int, half_width: float) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal grid over +-half_width and its trapezoid weights (normalised to sum to 1)."""
    z = np.linspace(-half_width, half_width, points)
    w = np.exp(-0.5 * z * z)
    w[[0, -1]] *= 0.5
    return z, w / w.sum()


def _pair_reads(mu_bl, s_bl, mu_blb, s_blb, g_res, u_points, m_points):
    """Expected ``(P(+1), P(not +1), P(-1), P(not -1))`` of a pair whose ln R_BL ~ N(mu_bl, s_bl)
    and ln R_BLb ~ N(mu_blb, s_blb), independent.

    Variables ``u = ln R_BL - ln R_BLb = ln(G_BLb / G_BL)`` and ``m = (ln R_BL + ln R_BLb) / 2``; given
    ``u``, ``m`` is normal (mean linear in u, sd ``s_bl s_blb / hypot``). The decision needs
    ``d = 2 sinh(u/2)`` and ``g = G_res / sqrt(G_BL G_BLb) = G_res exp(m)``:
    ``P(+1 | u, m) = Q((g - d) / SIGMA_PCSA)``, ``P(-1 | u, m) = Q((g + d) / SIGMA_PCSA)``.
    """
    s_u = math.hypot(s_bl, s_blb)
    mu_u = mu_bl - mu_blb
    zu, wu = _trapezoid_weights(u_points, 9.0)
    zm, wm = _trapezoid_weights(m_points, 8.0)
    u = mu_u + s_u * zu
    slope = (s_bl ** 2 - s_blb ** 2) / (2 * s_u ** 2)
    m = ((mu_bl + mu_blb) / 2 + slope * (u - mu_u))[:, None] + (s_bl * s_blb / s_u) * zm[None, :]
    g = g_res * np.exp(m)
    d = (2 * np.sinh(u / 2))[:, None]
    plus, not_plus = _q_both((g - d) / SIGMA_PCSA)
    minus, not_minus = _q_both((g + d) / SIGMA_PCSA)
    return tuple(float(wu @ p @ wm) for p in (plus, not_plus, minus, not_minus))


def _confusion(d: StateDistributions, g_res: float, u_points=U_POINTS, m_points=M_POINTS) -> np.ndarray:
    lrs, hrs = (d.mu_lrs, d.sigma_lrs), (d.mu_hrs, d.sigma_hrs)
    out = np.empty((3, 3))
    # stored -1: BL in LRS, BLb in HRS
    plus, _, minus, not_minus = _pair_reads(*lrs, *hrs, g_res, u_points, m_points)
    out[0] = (1 - not_minus, max(not_minus - plus, 0.0), plus)
    # stored 0: both in HRS
    plus, _, minus, _ = _pair_reads(*hrs, *hrs, g_res, u_points, m_points)
    out[1] = (minus, max(1 - plus - minus, 0.0), plus)
    # stored +1: BL in HRS, BLb in LRS
    plus, not_plus, minus, _ = _pair_reads(*hrs, *lrs, g_res, u_points, m_points)
    out[2] = (minus, max(not_plus - minus, 0.0), 1 - not_plus)
    return out


def ternary_confusion(cond: ProgrammingCondition, vdd, cycles=0, g_res_scale: float = 1.0) -> np.ndarray:
    """3x3 read probabilities at supply ``vdd`` (V) after ``cycles``: rows stored (-1, 0, +1), columns
    read (-1, 0, +1); rows sum to 1. Numerical integration over the log-normal device distributions
    and the PCSA offset (module docstring). ``g_res_scale`` multiplies the resolution level: every
    assumed latch constant (``V_TH``, ``N_SLOPE``, ``X_NOM``, the centring ``G_RES_LOW``) acts on the
    read only through ``G_res(vdd)``, so a factor on it is the sensitivity axis of those assumptions."""
    g_res = resolution_conductance(vdd) * check_float("g_res_scale", g_res_scale, 1e-3, 1e3)
    return _confusion(device_distributions(cond, cycles), g_res)


class TernaryRates(NamedTuple):
    """Read error rates per stored weight of each kind.

    ``zero_as_pm``: a stored 0 reads -1 or +1 (half each); ``pm_as_zero``: a stored +-1 reads 0;
    ``sign_flip``: a stored +-1 reads the opposite sign.
    """

    zero_as_pm: float
    pm_as_zero: float
    sign_flip: float


def ternary_rates(cond: ProgrammingCondition, vdd, cycles=0, g_res_scale: float = 1.0) -> TernaryRates:
    """:class:`TernaryRates` of ``cond`` read at ``vdd`` after ``cycles`` (from :func:`ternary_confusion`;
    the +1 and -1 rows agree, the model being symmetric)."""
    c = ternary_confusion(cond, vdd, cycles, g_res_scale)
    return TernaryRates(float(c[1, 0] + c[1, 2]), float(c[2, 1]), float(c[2, 0]))


def check_rates(rates) -> TernaryRates:
    """``rates`` as a :class:`TernaryRates` of floats in [0, 1] with ``pm_as_zero + sign_flip <= 1``,
    or ValueError naming the bad value."""
    try:
        values = TernaryRates(*rates)
    except TypeError:
        raise ValueError(f"rates must be (zero_as_pm, pm_as_zero, sign_flip), not {rates!r}") from None
    out = []
    for name, value in zip(TernaryRates._fields, values):
        out.append(check_float(name, value, 0.0, 1.0, noun="a rate"))
    rates = TernaryRates(*out)
    if rates.pm_as_zero + rates.sign_flip > 1.0:
        raise ValueError(f"pm_as_zero + sign_flip must be <= 1, not {rates.pm_as_zero!r} + {rates.sign_flip!r}")
    return rates


def _check_weights(weights) -> np.ndarray:
    w = np.asarray(weights)
    bad = ~np.isin(w, (-1, 0, 1))
    if bad.any():
        raise ValueError(f"ternary weights must be -1, 0 or +1, not {w[bad].flat[0].item()!r}")
    return w.astype(np.int8)


def sample_ternary_error_map(weights, rates, seed: int, layer: int = 0) -> np.ndarray:
    """Seeded error codes (uint8, shaped like ``weights``) for a ternary array storing ``weights``.

    One uniform draw ``v`` per weight from the ``("errors", layer)`` stream of ``seed``, the stream of
    :func:`.errormap.sample_error_map`. A stored +-1 gets code 1 (sign flip) if ``v < sign_flip``, else 2
    (reads 0) if ``v < sign_flip + pm_as_zero``; so its sign flips are exactly the binary map at BER
    ``sign_flip``. A stored 0 gets 2 (reads -1) if ``v < zero_as_pm / 2``, else 3 (reads +1) if
    ``v < zero_as_pm``. Same inputs, same map, on any machine.
    """
    w = _check_weights(weights)
    r = check_rates(rates)
    v = seeds.rng(seed, "errors", layer).random(w.shape)
    nonzero = w != 0
    codes = np.zeros(w.shape, dtype=np.uint8)
    codes[nonzero & (v < r.sign_flip + r.pm_as_zero)] = 2
    codes[nonzero & (v < r.sign_flip)] = 1
    codes[~nonzero & (v < r.zero_as_pm)] = 3
    codes[~nonzero & (v < r.zero_as_pm / 2)] = 2
    return codes


def network_ternary_error_maps(layers_weights, rates, seed: int, replicas=None) -> list[np.ndarray]:
    """One seeded error map per layer, for logical weights ``(O, I)`` of -1/0/+1 per layer: shaped
    ``(O, I)``, or ``(P, O, I)`` where ``replicas[k] = P > 1`` (each replica has its own devices and
    stores the same weights). Layer k draws from stream ``("errors", k)``, as
    :func:`.errormap.network_error_maps` does."""
    layers_weights = list(layers_weights)
    replicas = [1] * len(layers_weights) if replicas is None else list(replicas)
    if len(replicas) != len(layers_weights):
        raise ValueError(f"replicas has {len(replicas)} entries for {len(layers_weights)} layers")
    maps = []
    for k, (weights, count) in enumerate(zip(layers_weights, replicas)):
        w = _check_weights(weights)
        if w.ndim != 2:
            raise ValueError(f"layer {k}: weights must be (outputs, inputs), not shape {w.shape}")
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"layer {k}: replicas must be an integer >= 1, not {count!r}")
        if count > 1:
            w = np.broadcast_to(w, (int(count),) + w.shape)
        maps.append(sample_ternary_error_map(w, rates, seed, k))
    return maps


def network_ternary_error_maps_from_condition(layers_weights, cond: ProgrammingCondition, vdd, cycles,
                                              seed: int, replicas=None) -> list[np.ndarray]:
    """:func:`network_ternary_error_maps` at the rates :func:`ternary_rates` gives (same streams)."""
    return network_ternary_error_maps(layers_weights, ternary_rates(cond, vdd, cycles), seed, replicas)


def apply_ternary_errors(weights, error_map) -> np.ndarray:
    """The int8 values an array storing ``weights`` reads under ``error_map`` (codes 0..3):
    read sign = sign ^ (e & 1), read zero = zero ^ (e >> 1), with sign 1 = +1 and a stored 0 having
    sign 0. Plain reference form of the code contract."""
    w = _check_weights(weights)
    codes = np.asarray(error_map)
    if codes.dtype == bool:
        codes = codes.astype(np.uint8)
    if codes.shape != w.shape:
        raise ValueError(f"error map has shape {codes.shape}, weights are {w.shape}")
    if codes.size and not (np.issubdtype(codes.dtype, np.integer) and codes.min() >= 0 and codes.max() <= 3):
        raise ValueError(f"ternary error codes are 0..3, not {codes[(codes < 0) | (codes > 3)].flat[0].item()!r}"
                         if np.issubdtype(codes.dtype, np.integer) else
                         f"ternary error codes must be integers 0..3, not dtype {codes.dtype}")
    codes = codes.astype(np.uint8)
    sign = (w > 0) ^ (codes & 1).astype(bool)
    zero = (w == 0) ^ (codes >> 1).astype(bool)
    return np.where(zero, 0, np.where(sign, 1, -1)).astype(np.int8)


def ternary_report(out_dir, progress: bool = True) -> list[Path]:
    """Rates per error type vs supply for :data:`REPORT_CONDITIONS`: ``ternary_rates.csv`` and
    ``ternary_rates.png`` in ``out_dir``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    points = [(name, cond, float(v)) for name, cond in REPORT_CONDITIONS.items() for v in REPORT_VDD]
    rows = []
    for name, cond, vdd in tqdm(points, desc="ternary rates", unit="point", disable=not progress):
        rates = ternary_rates(cond, vdd)
        rows.append({"condition": name, "i_set_uA": cond.i_set_uA, "v_reset": cond.v_reset,
                     "pulse_us": cond.pulse_us, "vdd": vdd, "g_res_uS": resolution_conductance(vdd) * 1e6,
                     **rates._asdict(), "ber_2t2r_binary": binary_ber(cond)})
    csv_path = write_csv(out_dir / "ternary_rates.csv", rows)

    fig, axes = new_figure((5 * len(REPORT_CONDITIONS), 4.5), ncols=len(REPORT_CONDITIONS), sharey=True)
    labels = {"zero_as_pm": "0 read as +-1", "pm_as_zero": "+-1 read as 0", "sign_flip": "+1 <-> -1"}
    for ax, (name, cond) in zip(axes, REPORT_CONDITIONS.items()):
        mine = [r for r in rows if r["condition"] == name]
        vdd = [r["vdd"] for r in mine]
        for key, label in labels.items():
            ax.plot(vdd, np.maximum([r[key] for r in mine], _FLOOR), label=label)
        ax.axhline(max(binary_ber(cond), _FLOOR), color="gray", ls=":", lw=1, label="binary 2T2R BER")
        ax.axvline(V_LOW, color="k", ls="--", lw=1, label=f"ternary operating point {V_LOW:g} V")
        ax.axvline(V_NOM, color="gray", ls="--", lw=1, label=f"nominal {V_NOM:g} V (binary)")
        ax.set(yscale="log", ylim=(1e-14, 1e3), xlabel="PCSA supply vdd (V)", title=f"{name}: {cond}")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("error rate per stored weight of that kind")
    png_path = save_figure(fig, out_dir / "ternary_rates.png")
    return [csv_path, png_path]
