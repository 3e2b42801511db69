"""Paper Fig. 10 (§4.1.2): MNIST accuracy against energy per inference, BNN on our hardware
against the arithmetic of an 8-bit fixed-point network of the same shape.

Two families of MLPs, one and two hidden layers of ``width`` neurons (784-w-10, 784-w-w-10).
The same on any dataset (``dataset``/``data_dir``, :class:`hwgen.data.DatasetInfo`): P-w-K and
P-w-w-K, P the pixels of its images (all channels), K its classes, pixels binarized at its input
threshold for the BNNs (MNIST: 127). For each shape:

- **bnn**: trained with hwgen's own training (:func:`hwgen.train.job.train_and_export`, the
  ``hwgen train`` defaults except epochs and seed), exported to the IR; its accuracy is the
  golden model's (:func:`hwgen.golden.network_forward`, the hardware's bit-exact behaviour) on
  the whole test set; its energy per inference comes from the ``bnn_energy`` callable
  (``Network -> joules``), i.e. at the node of the platform that callable models.
- **int8**: a real-valued MLP of the same shape (ReLU, trained in float with torch on the 8-bit
  pixels, not the BNN's binarized ones), then quantized after training (see
  :func:`quantize_int8`) and run in integer arithmetic in numpy; its accuracy is the integer
  network's on the same test set. Its energy is the paper's: the
  arithmetic only, one 8-bit multiply and one 8-bit add per synapse, overheads (memory,
  control, the wider accumulator) neglected, at Horowitz's 45 nm / 0.9 V figures
  (:data:`E_MULT8_J`, :data:`E_ADD8_J`). ``int8_node=(nm, volts)`` scales them to another node
  by the constant-field rule of :func:`int8_mac_energy`; the default keeps the raw 45 nm
  figures so the comparison is exactly the paper's.

Trained models are cached in ``cache_dir`` (default ``<out_dir>/models``) under a name keyed by
kind, shape and a hash of the training recipe and the training/test files (and a user dataset's
name, shape and classes: :func:`cache_data`), so a rerun (e.g. with the real energy model) trains
nothing and two datasets never share a model.

Results: ``fig10.csv`` (one row per shape and kind) and ``fig10.png`` (panels (a) one hidden
layer, (b) two; log energy on x, accuracy on y), written atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from ..data import BUILTIN, DatasetInfo, Split, binarize
from ..errors import ModelFileError
from ..files import atomic_write
from ..golden import network_forward
from ..ir import Network
from ..outputs import new_figure, save_figure, write_csv
from ..train.job import load_training_data, train_and_export
from ..train.loop import TrainConfig, fit

# M. Horowitz, "1.1 Computing's energy problem (and what we can do about it)", ISSCC 2014 Digest
# of Technical Papers, pp. 10-14, doi:10.1109/ISSCC.2014.6757323, Fig. 1.1.9 "Rough energy costs
# for various operations in 45nm 0.9V": integer add 8 bit 0.03 pJ, 32 bit 0.1 pJ; integer
# multiply 8 bit 0.2 pJ (32 bit 3.1 pJ).
HOROWITZ_NODE_NM = 45.0
HOROWITZ_VDD = 0.9
E_ADD8_J = 0.03e-12
E_MULT8_J = 0.2e-12
E_ADD32_J = 0.1e-12     # not used by default: the paper counts an 8-bit sum; a 32-bit accumulator adds +30%

# The figure's family. 16..1024 spans low accuracy (where the paper sees its ~10x) up to the
# paper's own 784-1024-1024-10 network (§4.1.1, 25 nJ per digit); 2048 would add ~1/3 to the
# training time for one more point at the flat top.
WIDTHS = (16, 32, 64, 128, 256, 512, 1024)
HIDDEN_LAYERS = (1, 2)
# 10 epochs instead of hwgen train's 25 (which give the shipped 784-1024-1024-10 its ~98.2%)
# keep the full run (14 shapes x 2 kinds, ~100 s per epoch of all of them on one idle core,
# measured) under ~20 min; the trends are what the figure shows, and both kinds get the same
# epochs.
EPOCHS = 10
# The float reference: Adam at 1e-3 (Kingma & Ba 2015's default) with the same cosine decay to
# 1/100, batch and dropout as hwgen train's BNN recipe (TrainConfig).
FLOAT_LR = 1e-3
# torch threads per training. One, not TrainConfig's two: measured on this 2-core machine while
# another job used a core, 2 threads trained 784-16-10 at 20 s/epoch against 1.7 s/epoch with 1
# (torch's OpenMP workers spin-wait on the busy core); idle, 2 threads gain only ~1.5x.
THREADS = 1
CALIBRATION_IMAGES = 10_000     # the first training images set the activation ranges (memory: 10k x width)
FLOAT_RECIPE = "relu-mlp-adam-cosine-v1"   # in the int8 cache key: bump when train_float_mlp changes
# (the quantization runs again on every run from the cached float weights: no retraining for it)


def mlp_family(hidden_layers=HIDDEN_LAYERS, widths=WIDTHS, inputs: int = 784, classes: int = 10) -> list[list[int]]:
    """The shapes: ``[inputs, width * h, classes]`` for every depth ``h`` and width."""
    shapes = []
    for h in hidden_layers:
        for w in widths:
            if int(h) < 1 or int(w) < 1:
                raise ValueError(f"hidden layers and widths must be positive, not {h}, {w}")
            shapes.append([inputs, *[int(w)] * int(h), classes])
    return shapes


def synapses(sizes) -> int:
    """Weights of a fully-connected network: one multiply-accumulate each per inference."""
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def int8_mac_energy(node_nm: float | None = None, vdd: float | None = None, e_mult: float = E_MULT8_J,
                    e_add: float = E_ADD8_J) -> float:
    """Joules per 8-bit multiply + add; Horowitz's 45 nm / 0.9 V figures unless a node is given.

    Scaling (first order, constant-field scaling, R. H. Dennard et al., "Design of ion-implanted
    MOSFET's with very small physical dimensions", IEEE JSSC 9(5), 1974): switched capacitance
    scales with the feature size and the dynamic energy is C V^2, so
    ``E = E_45nm * (node_nm / 45) * (vdd / 0.9)**2``. E.g. sky130hd (130 nm, 1.8 V): x11.6;
    nangate45 (45 nm, 1.1 V): x1.49. Give the node's real supply: voltage stopped following the
    feature size in the 2000s (Horowitz 2014's own point), so the rule is only first order.
    """
    e = e_mult + e_add
    if node_nm is None and vdd is None:
        return e
    node_nm = HOROWITZ_NODE_NM if node_nm is None else float(node_nm)
    vdd = HOROWITZ_VDD if vdd is None else float(vdd)
    if node_nm <= 0 or vdd <= 0:
        raise ValueError(f"node and supply must be positive, not {node_nm} nm, {vdd} V")
    return e * (node_nm / HOROWITZ_NODE_NM) * (vdd / HOROWITZ_VDD) ** 2


def int8_energy(sizes, mac_energy: float | None = None) -> float:
    """Arithmetic energy of one inference of the 8-bit network: synapses x (E_mult8 + E_add8)."""
    return synapses(sizes) * (int8_mac_energy() if mac_energy is None else mac_energy)


# ---------------------------------------------------------------------------------------------
# cache

def _key(kind: str, sizes, recipe: dict, data: dict) -> str:
    blob = json.dumps({"kind": kind, "sizes": list(sizes), "recipe": recipe, "data": data}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _recipe(cfg: TrainConfig) -> dict:
    # threads change speed, not the recipe: a rerun with another thread count reuses the models
    return {k: v for k, v in cfg.as_dict().items() if k not in ("threads", "sizes")}


def cache_data(info: DatasetInfo, sources: dict) -> dict:
    """The data part of a cache key: the SHA-256 of the train and test files (``sources``), and for
    a user dataset also its name, shape and classes (what its dataset.json says of the files), so
    two datasets never share a cached model. MNIST's keys are the files' alone, as before."""
    if info.name in BUILTIN:
        return dict(sources)
    return {"dataset": info.name, "input_shape": list(info.shape), "classes": info.classes, **sources}


def cache_path(cache_dir, kind: str, sizes, cfg: TrainConfig, data: dict, dataset: str = "mnist") -> Path:
    """Where a trained model of this kind, shape, recipe and data lives in the cache (a dataset
    other than MNIST also names it: ``bnn_digits_64-16-10_<key>.npz``)."""
    recipe = _recipe(cfg) if kind == "bnn" else {**_recipe(cfg), "float": FLOAT_RECIPE, "lr": FLOAT_LR}
    tag = "" if dataset == "mnist" else f"{dataset}_"
    name = f"{kind}_{tag}{'-'.join(map(str, sizes))}_{_key(kind, sizes, recipe, data)}.npz"
    return Path(cache_dir) / name


# ---------------------------------------------------------------------------------------------
# the 8-bit reference

def train_float_mlp(cfg: TrainConfig, train_split: Split, test_split: Split, progress: bool = True, log=print):
    """A real-valued ReLU MLP of ``cfg.sizes`` on 8-bit pixels / 255: ``(weights, biases, history)``
    as float32 numpy arrays (``weights[k]`` is ``(out, in)``). Same batches, epochs, seed,
    dropout and cosine schedule as :func:`hwgen.train.loop.train`; Adam at :data:`FLOAT_LR`."""
    import torch
    from torch import nn

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    x_train = torch.from_numpy(_pixels(train_split.images).astype(np.float32) / 255)
    y_train = torch.from_numpy(train_split.labels.astype(np.int64))
    x_test = torch.from_numpy(_pixels(test_split.images).astype(np.float32) / 255)
    layers = []
    for a, b in zip(cfg.sizes[:-2], cfg.sizes[1:-1]):
        layers += [nn.Dropout(cfg.dropout), nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Dropout(cfg.dropout), nn.Linear(cfg.sizes[-2], cfg.sizes[-1]))
    opt = torch.optim.Adam(model.parameters(), lr=FLOAT_LR)
    steps = cfg.epochs * (len(x_train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=FLOAT_LR / 100)

    def evaluate():
        with torch.no_grad():
            return float((model(x_test).argmax(1).numpy() == test_split.labels).mean())

    history = fit(model, opt, sched, cfg, x_train, y_train, rng, evaluate, progress=progress, log=log,
                  label=f"[fig10] float {'-'.join(map(str, cfg.sizes))}")
    linears = [m for m in model if isinstance(m, nn.Linear)]
    return ([m.weight.detach().numpy().copy() for m in linears], [m.bias.detach().numpy().copy() for m in linears],
            history)


def _pixels(images) -> np.ndarray:
    images = np.asarray(images)
    return images.reshape(len(images), -1)


def quantize_int8(weights, biases, calibration_pixels) -> dict:
    """Post-training quantization to 8-bit weights and activations (Jacob et al., "Quantization
    and training of neural networks for efficient integer-arithmetic-only inference", CVPR 2018,
    with its simplest choices):

    - weights: per-tensor symmetric int8 in [-127, 127], scale ``max|W| / 127``;
    - inputs: the 8-bit pixels themselves (uint8, scale 1/255, exact);
    - hidden activations: ReLU outputs as uint8 in [0, 255], scale ``max / 255`` with the max
      taken over ``calibration_pixels`` (min-max calibration, as torch's MinMaxObserver);
    - biases: int32 at the accumulator's scale ``s_in * s_w``;
    - requantization: ``round(acc * s_in * s_w / s_out)`` clipped to [0, 255] (a float multiplier
      here, a fixed-point one in hardware; same result up to rounding ties).

    Returns ``{"w": [int8 (out, in)], "b": [int64], "m": [requantization multipliers]}``.
    """
    x = _pixels(calibration_pixels).astype(np.float64) / 255
    s_in = 1 / 255
    q = {"w": [], "b": [], "m": []}
    for k, (w, b) in enumerate(zip(weights, biases)):
        w = np.asarray(w, dtype=np.float64)
        s_w = max(float(np.abs(w).max()), 1e-12) / 127
        q["w"].append(np.clip(np.round(w / s_w), -127, 127).astype(np.int8))
        q["b"].append(np.round(np.asarray(b, dtype=np.float64) / (s_in * s_w)).astype(np.int64))
        if k < len(weights) - 1:
            x = np.maximum(x @ w.T + b, 0)                  # float activations for calibration
            s_out = max(float(x.max()), 1e-12) / 255
            q["m"].append(s_in * s_w / s_out)
            s_in = s_out
    return q


def int8_forward(q: dict, pixels) -> np.ndarray:
    """Class predictions of the quantized network in integer arithmetic.

    The products and sums are integers held in float64 so numpy uses BLAS: every partial sum is
    below 255 * 127 * 2**20 < 2**53, so the float64 result is the exact integer accumulator."""
    x = _pixels(pixels).astype(np.float64)
    for k, (w, b) in enumerate(zip(q["w"], q["b"])):
        acc = x @ w.astype(np.float64).T + b
        if k < len(q["w"]) - 1:
            x = np.clip(np.round(acc * q["m"][k]), 0, 255)
    return acc.argmax(axis=1)      # the output scale is positive: argmax of the accumulator


def _save_float(path: Path, weights, biases, meta: dict) -> None:
    arrays = {f"w{k}": w for k, w in enumerate(weights)} | {f"b{k}": b for k, b in enumerate(biases)}
    arrays["meta"] = np.array(json.dumps(meta, sort_keys=True))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _load_float(path: Path, sizes):
    try:
        with np.load(path, allow_pickle=False) as z:
            n = len(sizes) - 1
            weights = [z[f"w{k}"] for k in range(n)]
            biases = [z[f"b{k}"] for k in range(n)]
            meta = json.loads(str(z["meta"]))
    except Exception as e:     # a truncated or foreign file: train again
        raise ModelFileError(f"{path}: {e}") from e
    if [w.shape for w in weights] != [(b, a) for a, b in zip(sizes[:-1], sizes[1:])]:
        raise ModelFileError(f"{path} holds another shape")
    return weights, biases, meta


# ---------------------------------------------------------------------------------------------
# the study

def study_folders(out_dir, cache_dir, progress: bool, log):
    """A study's ``(out_dir, cache_dir, log)``: both folders made (the trained models default to
    ``out_dir/models``); ``log`` defaults to ``tqdm.write`` with progress bars, silence without."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = out_dir / "models" if cache_dir is None else Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    if log is None:
        log = tqdm.write if progress else (lambda *_: None)
    return out_dir, cache_dir, log


def load_or_train(path: Path, dataset: str, cfg: TrainConfig, data_dir, progress, log, fits=None,
                  data: tuple | None = None) -> Network:
    """The network cached at ``path`` when it loads (and ``fits(network)``, if given); otherwise
    trained on ``dataset`` with ``cfg`` and exported there (``data``: its
    :func:`hwgen.train.job.load_training_data`, if already loaded)."""
    if path.is_file():
        try:
            network = Network.load(path)
            if fits is None or fits(network):
                return network
        except ModelFileError:
            pass
    train_and_export(dataset, cfg, path, data_dir=data_dir, progress=progress, log=log, data=data)
    return Network.load(path)


def _bnn(sizes, cfg, path: Path, data: tuple, data_dir, progress, log) -> Network:
    return load_or_train(path, data[2].name, replace(cfg, sizes=list(sizes)), data_dir, progress, log,
                         fits=lambda net: [layer.n_inputs for layer in net.layers] + [net.layers[-1].n_outputs]
                         == list(sizes), data=data)


def _int8(sizes, cfg, path: Path, train_split, test_split, progress, log):
    loaded = None
    if path.is_file():
        try:
            loaded = _load_float(path, sizes)
        except ModelFileError:
            loaded = None
    if loaded is None:
        weights, biases, history = train_float_mlp(replace(cfg, sizes=list(sizes)), train_split, test_split,
                                                   progress=progress, log=log)
        _save_float(path, weights, biases, {"sizes": list(sizes), "recipe": FLOAT_RECIPE, "lr": FLOAT_LR,
                                            "train": replace(cfg, sizes=list(sizes)).as_dict(),
                                            "history": history})
        loaded = _load_float(path, sizes)
    return loaded


def energy_at_accuracy(accuracy: float, points) -> float:
    """Energy a curve of ``(energy, accuracy)`` points needs to reach ``accuracy``: log-linear
    interpolation between its points, ordered by energy, on their running best accuracy. NaN
    when the curve never reaches ``accuracy`` or already starts above it."""
    pts = sorted((e, a) for e, a in points if math.isfinite(e) and e > 0)
    best, prev = -1.0, None
    for e, a in pts:
        a = max(a, best)
        if a >= accuracy:
            if prev is None:
                return math.nan     # even the smallest 8-bit network is better: no crossing to read
            (e0, a0) = prev
            t = 0.0 if a == a0 else (accuracy - a0) / (a - a0)
            return math.exp(math.log(e0) + t * (math.log(e) - math.log(e0)))
        best, prev = a, (e, a)
    return math.nan


def run_fig10(out_dir, bnn_energy: Callable[[Network], float], widths=WIDTHS, hidden_layers=HIDDEN_LAYERS,
              epochs: int = EPOCHS, seed: int = 0, data_dir=None, progress: bool = True, cache_dir=None,
              threads: int = THREADS, int8_node: tuple[float, float] | None = None, log=None,
              dataset: str | None = "mnist") -> list[dict]:
    """Train (or reuse) every shape of :func:`mlp_family` as a BNN and as an 8-bit network,
    measure both on the whole test set, write ``fig10.csv`` and ``fig10.png`` in ``out_dir``.

    ``dataset``: mnist (default), or any dataset in ``data_dir`` (None: named by its dataset.json
    or the folder, as ``hwgen train --data-dir``); the networks take its pixels and give its
    classes, the BNNs binarize at its input threshold.

    ``bnn_energy(network)`` gives joules per inference on our hardware (NaN or None: unknown,
    left out of the plot). ``cache_dir`` holds the trained models (default ``out_dir/models``).
    ``int8_node=(nm, volts)`` scales the 8-bit energies (:func:`int8_mac_energy`); None keeps
    Horowitz's 45 nm figures. Returns the CSV rows.
    """
    out_dir, cache_dir, log = study_folders(out_dir, cache_dir, progress, log)
    loaded = load_training_data(dataset, data_dir)
    train_split, test_split, info = loaded
    cfg = TrainConfig(sizes=[info.pixels, info.classes], epochs=epochs, seed=seed, threads=threads,
                      input_threshold=info.input_threshold)
    data = cache_data(info, {**train_split.sources, **test_split.sources})
    if info.name != "mnist":
        log(f"[fig10] {info.describe()}: {len(train_split.labels)} train / {len(test_split.labels)} test images, "
            f"pixels > {info.input_threshold} are +1 for the BNNs")
    mac_j = int8_mac_energy(*int8_node) if int8_node is not None else int8_mac_energy()
    test_bits = binarize(test_split.images, cfg.input_threshold)
    shapes = mlp_family(hidden_layers, widths, info.pixels, info.classes)
    rows = []
    for sizes in tqdm(shapes, desc="fig10", unit="shape", disable=not progress):
        common = {"hidden_layers": len(sizes) - 2, "width": sizes[1], "sizes": "-".join(map(str, sizes)),
                  "synapses": synapses(sizes)}
        path = cache_path(cache_dir, "bnn", sizes, cfg, data, info.name)
        network = _bnn(sizes, cfg, path, loaded, data_dir, progress, log)
        pred, _, _ = network_forward(network, binarize(test_split.images, network.input_threshold)
                                     if network.input_threshold != cfg.input_threshold else test_bits)
        e_bnn = bnn_energy(network)
        e_bnn = math.nan if e_bnn is None else float(e_bnn)
        bnn_row = {"kind": "bnn", **common, "accuracy": float((pred == test_split.labels).mean()),
                   "float_accuracy": "", "energy_j": e_bnn, "model": str(path)}
        q_path = cache_path(cache_dir, "int8", sizes, cfg, data, info.name)
        weights, biases, meta = _int8(sizes, cfg, q_path, train_split, test_split, progress, log)
        q = quantize_int8(weights, biases, train_split.images[:CALIBRATION_IMAGES])
        int8_row = {"kind": "int8", **common,
                    "accuracy": float((int8_forward(q, test_split.images) == test_split.labels).mean()),
                    "float_accuracy": meta["history"][-1]["test_accuracy"], "energy_j": synapses(sizes) * mac_j,
                    "model": str(q_path)}
        ratio = int8_row["energy_j"] / e_bnn if math.isfinite(e_bnn) and e_bnn > 0 else math.nan
        for row in (bnn_row, int8_row):
            row["energy_ratio"] = ratio
        log(f"[fig10] {common['sizes']}: bnn {100 * bnn_row['accuracy']:.2f}% {e_bnn:.3g} J, int8 "
            f"{100 * int8_row['accuracy']:.2f}% {int8_row['energy_j']:.3g} J")
        rows += [bnn_row, int8_row]
    for row in rows:        # the paper's "at equivalent precision": the 8-bit curve at the BNN's accuracy
        row["iso_accuracy_ratio"] = math.nan
        if row["kind"] == "bnn" and math.isfinite(row["energy_j"]) and row["energy_j"] > 0:
            curve = [(r["energy_j"], r["accuracy"]) for r in rows
                     if r["kind"] == "int8" and r["hidden_layers"] == row["hidden_layers"]]
            row["iso_accuracy_ratio"] = energy_at_accuracy(row["accuracy"], curve) / row["energy_j"]
    order = ["kind", "hidden_layers", "width", "sizes", "synapses", "accuracy", "float_accuracy", "energy_j",
             "energy_ratio", "iso_accuracy_ratio", "model"]
    rows = [{k: row[k] for k in order} for row in rows]
    write_csv(out_dir / "fig10.csv", rows)
    plot_fig10(out_dir / "fig10.png", rows, int8_label=_int8_label(int8_node),
               dataset="MNIST" if info.name == "mnist" else info.name)
    return rows


def _int8_label(int8_node) -> str:
    if int8_node is None:
        return f"8-bit fixed point, arithmetic only ({HOROWITZ_NODE_NM:g} nm, {HOROWITZ_VDD:g} V)"
    return f"8-bit fixed point, arithmetic only (scaled to {int8_node[0]:g} nm, {int8_node[1]:g} V)"


def plot_fig10(path, rows: list[dict], int8_label: str = "8-bit fixed point, arithmetic only",
               dataset: str = "MNIST") -> Path:
    """Two panels as the paper's: (a) one hidden layer, (b) two; every point labelled by width."""
    depths = sorted({r["hidden_layers"] for r in rows})
    fig, axes = new_figure(size=(5.5 * len(depths), 4.5), ncols=len(depths), squeeze=False)
    for ax, depth, letter in zip(axes[0], depths, "abcdefgh"):
        for kind, style, label in (("bnn", dict(marker="o", color="#08306b"), "BNN on this hardware"),
                                   ("int8", dict(marker="s", color="#6baed6"), int8_label)):
            pts = [r for r in rows if r["kind"] == kind and r["hidden_layers"] == depth
                   and isinstance(r["energy_j"], float) and math.isfinite(r["energy_j"]) and r["energy_j"] > 0]
            if not pts:
                continue
            ax.plot([r["energy_j"] for r in pts], [100 * r["accuracy"] for r in pts], label=label, **style)
            for r in pts:
                ax.annotate(str(r["width"]), (r["energy_j"], 100 * r["accuracy"]), textcoords="offset points",
                            xytext=(4, -10), fontsize=7, color=style["color"])
        if not any(r["kind"] == "bnn" and r["hidden_layers"] == depth and math.isfinite(r["energy_j"]) for r in rows):
            ax.text(0.02, 0.97, "BNN energy not given", transform=ax.transAxes, va="top", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("energy per inference (J)")
        ax.set_ylabel(f"{dataset} test accuracy (%)")
        hidden = {1: "one hidden layer", 2: "two hidden layers"}.get(depth, f"{depth} hidden layers")
        ax.set_title(f"({letter}) {hidden} (labels: neurons per layer)", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, path)


def run_fig10_on(platform, out_dir, n: int = 32, period_ns: float = 10.0, int8_node: str = "platform",
                 log=print, **kwargs) -> list[dict]:
    """:func:`run_fig10` with the BNNs costed on ``platform`` (a :class:`hwgen.flow.platform.Platform`)
    by :func:`hwgen.flow.energy.estimate_network_energy` on n x n arrays at ``period_ns``, and the
    8-bit energies at the platform's node and supply (``int8_node="platform"``) or Horowitz's
    45 nm figures (``"horowitz"``). ``kwargs``: :func:`run_fig10`'s training options."""
    from ..flow.energy import estimate_network_energy

    def energy(network):
        return estimate_network_energy(network, n, platform, period_ns, log=log)["total_j"]

    node = None
    if int8_node == "platform":
        node = (platform.process_nm, platform.library().voltage_v)
    return run_fig10(out_dir, energy, int8_node=node, log=log, **kwargs)
