"""``hwgen train``: train, export to the IR, check the export, and write the model card.

Writes next to ``out`` (``<stem>.npz``): the IR (``<stem>.npz``), the torch checkpoint
(``<stem>.pt``, binarized weights as int8), the per-epoch history (``<stem>_history.csv``) and
a short model card (``<stem>.md``).
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path


from .. import __version__
from ..data import binarize, dataset_info, folder_dataset_name, load_split
from ..errors import DataError
from ..files import atomic_write, writable_folder
from ..golden import network_forward
from .export import export_network, save_checkpoint
from .loop import RECALIBRATION_IMAGES, TrainConfig, predict, train
from .model import TERNARY_DELTA, ConvStage


def load_training_data(dataset: str | None, data_dir=None) -> tuple:
    """``(train split, test split, DatasetInfo)`` of ``dataset`` (None: named by ``data_dir``'s
    dataset.json or folder name)."""
    if dataset is None:
        if data_dir is None:
            raise DataError("name the dataset (hwgen train mnist|fashion-mnist|NAME) or give its folder (--data-dir)")
        dataset = folder_dataset_name(data_dir)
    train_split = load_split("train", data_dir, dataset)
    test_split = load_split("test", data_dir, dataset)
    if test_split.shape != train_split.shape:
        raise DataError(f"{dataset}: the train images are {'x'.join(map(str, train_split.shape))}, the test images "
                        f"{'x'.join(map(str, test_split.shape))}")
    info = dataset_info(dataset, data_dir, (train_split, test_split))
    return train_split, test_split, info


def train_and_export(dataset: str | None, cfg: TrainConfig, out, data_dir=None, progress=True, log=print,
                     data: tuple | None = None) -> dict:
    """Train ``cfg`` on ``dataset`` (its folder ``data_dir``; ``data``: what
    :func:`load_training_data` gave, if already loaded), export, check and write the IR, the
    checkpoint, the history and the model card next to ``out``."""
    start, cpu_start = time.perf_counter(), time.process_time()
    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"the model path must end in .npz (the IR file), not {out.name!r}")
    writable_folder(out.parent, "-o")
    train_split, test_split, info = data if data is not None else load_training_data(dataset, data_dir)
    dataset = info.name
    if int(max(train_split.labels.max(), test_split.labels.max())) >= cfg.sizes[-1]:
        raise DataError(f"labels go up to {int(max(train_split.labels.max(), test_split.labels.max()))}, the network "
                        f"has {cfg.sizes[-1]} outputs")
    if cfg.sizes[0] != info.pixels:
        raise DataError(f"the network takes {cfg.sizes[0]} inputs, {info.describe()} images have {info.pixels} pixels")
    official = train_split.official and test_split.official
    if not official:
        files = ", ".join(f"{k} (sha256 {v[:16]}...)" for k, v in sorted({**train_split.sha256,
                                                                          **test_split.sha256}.items()))
        kind = "not an official copy of" if dataset in BUILTIN_NAMES else "the user dataset"
        log(f"[train] note: the files are {kind} {dataset}; used as given, their SHA-256 go into the model's "
            f"metadata: {files}")
    errors = f"flip_ber {cfg.flip_ber:g}" if cfg.weights == "binary" else \
        (f"ternary weights, training-time errors: sign flip {cfg.flip_ber:g}, 0 as ±1 {cfg.flip_zero_as_pm:g}, "
         f"±1 as 0 {cfg.flip_pm_as_zero:g}")
    log(f"[train] {info.describe()}: {len(train_split.labels)} train / {len(test_split.labels)} test images, "
        f"pixels > {cfg.input_threshold} are +1, network {cfg.describe()}, seed {cfg.seed}, {errors}")
    model, history = train(cfg, train_split, test_split, progress=progress, log=log)

    test_bits = binarize(test_split.images, cfg.input_threshold)
    torch_pred, _ = predict(model, test_bits, exact=True)
    accuracy = float((torch_pred == test_split.labels).mean())
    metadata = {**info.metadata(), "input_threshold": cfg.input_threshold, "test_accuracy": accuracy,
                "train": cfg.as_dict(), "data_sha256": {**train_split.sources, **test_split.sources},
                "data_official": official, "hwgen_version": __version__}
    network = export_network(model, metadata)
    golden_pred, _, _ = network_forward(network, test_bits)
    agree = int((golden_pred == torch_pred).sum())
    if agree != len(torch_pred):
        raise RuntimeError(f"export check failed: the IR's golden model agrees with torch on {agree} of "
                           f"{len(torch_pred)} test images")
    log(f"[train] export check: golden model on the IR equals torch eval (float64) on all {agree} test images")
    if network.is_ternary:
        log("[train] zero weights: " + ", ".join(f"{layer.name} {100 * zero_fraction(layer):.1f}%"
                                                  for layer in network.layers))
    network.save(out)
    save_checkpoint(model, out.with_suffix(".pt"), extra={"test_accuracy": accuracy})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    atomic_write(out.with_name(out.stem + "_history.csv"), buf.getvalue())
    atomic_write(out.with_suffix(".md"), model_card(out.stem, network, history, cfg,
                                                    wall_s=time.perf_counter() - start,
                                                    cpu_s=time.process_time() - cpu_start))
    log(f"[train] test accuracy {100 * accuracy:.2f}%; wrote {out}, {out.with_suffix('.pt').name}, "
        f"{out.with_suffix('.md').name}")
    return {"accuracy": accuracy, "history": history, "path": str(out)}


BUILTIN_NAMES = ("mnist", "fashion-mnist")


def dataset_card(network) -> str:
    """The model card's bullet on the dataset: name, shape, classes, and whose files."""
    md = network.metadata
    whose = "an official copy" if md.get("data_official", True) else \
        ("not an official copy: used as given" if md["dataset"] in BUILTIN_NAMES else "the user's files")
    return f"- **Dataset:** {network.dataset_info.describe()}; {whose} (SHA-256 below).\n"


def data_option(md) -> str:
    """`` --data-dir DIR`` for a user dataset (its folder is the user's), else nothing."""
    return "" if md["dataset"] in BUILTIN_NAMES else " --data-dir DIR"


def zero_fraction(layer) -> float:
    """The fraction of a layer's weights that are 0 (0.0 for a binary layer)."""
    return float((layer.values() == 0).mean()) if layer.is_ternary else 0.0


def ternary_options(cfg: TrainConfig) -> str:
    """The ``hwgen train`` options of a ternary recipe (empty for a binary one)."""
    if cfg.weights == "binary":
        return ""
    mixed = "" if cfg.first_weights is None else " --first-layer-binary" + (
        "" if cfg.first_flip_ber is None else f" --first-flip-ber {cfg.first_flip_ber:g}")
    return (f" --weights ternary --flip-zero-as-pm {cfg.flip_zero_as_pm:g} --flip-pm-as-zero {cfg.flip_pm_as_zero:g}"
            + mixed)


def ternary_card(network, cfg: TrainConfig) -> str:
    """The model card's bullet on ternary weights (empty for a binary network)."""
    if cfg.weights == "binary":
        return ""
    total = sum(layer.n_inputs * layer.n_outputs for layer in network.layers)
    zeros = sum(zero_fraction(layer) * layer.n_inputs * layer.n_outputs for layer in network.layers)
    per_layer = ", ".join(f"{layer.name} {100 * zero_fraction(layer):.1f}%" for layer in network.layers)
    first = network.layers[0].name
    mixed = "" if cfg.first_weights is None else (
        f"\n- **Mixed:** {first} is binary (±1, read by the binary PCSA at the nominal supply; training-time flips "
        f"{cfg.flip_ber if cfg.first_flip_ber is None else cfg.first_flip_ber:g}); the other layers are ternary.")
    return f"""- **Weights:** ternary (-1, 0, +1; IR version 3): every ternary layer uses t(w) = sign(w) where |w| > delta,
  else 0, of its latent weights (straight-through estimator), with delta = {TERNARY_DELTA:g} * mean|w| per
  output neuron (conv: per output channel), the rule of Li & Liu, "Ternary weight networks" (2016).
  Hidden thresholds are on the score sum(x * w) (gamma < 0 neurons negated). Zero weights:
  {per_layer}; {100 * zeros / total:.1f}% of all {total} weights.
- **Training-time weight errors** (resampled every batch): sign flip {cfg.flip_ber:g}, a 0 read as ±1
  {cfg.flip_zero_as_pm:g}, a ±1 read as 0 {cfg.flip_pm_as_zero:g}.{mixed}
"""


def model_card(name: str, network, history, cfg: TrainConfig, wall_s: float | None = None,
               cpu_s: float | None = None) -> str:
    """The model card (``<name>.md``): what the network is, its accuracy, how it was trained and
    how to train it again (``wall_s``, ``cpu_s``: the whole run's elapsed and CPU time, data loading
    and export check included)."""
    if cfg.arch == "conv":
        return conv_model_card(name, network, history, cfg, wall_s, cpu_s)
    md = network.metadata
    ternary = cfg.weights == "ternary"
    layers = "\n".join(f"| {layer.name} | {layer.n_inputs} | {layer.n_outputs} | {layer.output} | "
                       f"{int(layer.thresholds.min())}..{int(layer.thresholds.max())} |"
                       + (f" {100 * zero_fraction(layer):.1f}% |" if ternary else "") for layer in network.layers)
    hashes = "\n".join(f"- `{k}`: `{v}`" for k, v in sorted(md["data_sha256"].items()))
    total_s = sum(h["seconds"] for h in history)
    threshold = f" --input-threshold {cfg.input_threshold}" if cfg.input_threshold != 127 else ""
    threshold += " --hflip" if cfg.hflip else ""
    threshold += ternary_options(cfg)
    kind = "Ternary-weight MLP" if ternary else "Binarized MLP"
    return f"""# {name}

{kind} {'-'.join(map(str, cfg.sizes))} trained by `hwgen train {md['dataset']}` (hwgen {md['hwgen_version']}).

- **Test accuracy:** {100 * md['test_accuracy']:.2f}% on the {md['dataset']} test set (torch eval; the golden
  model on this IR gives the same prediction on every test image, checked at export).
- **Training:** {cfg.epochs} epochs, batch {cfg.batch_size}, Adam lr {cfg.lr:g} cosine to {cfg.lr_end:g},
  seed {cfg.seed}, dropout {cfg.dropout:g}, training-time weight-flip rate {cfg.flip_ber:g},
  {total_s:.0f} s on the CPU.
{dataset_card(network)}{ternary_card(network, cfg)}- **Inputs:** pixel > {cfg.input_threshold} is +1 (bit 1), else -1 (bit 0).
- **Reproduce:** `hwgen train {md['dataset']}{data_option(md)} --hidden {','.join(map(str, cfg.sizes[1:-1]))} --epochs {cfg.epochs} \
  --batch-size {cfg.batch_size} --lr {cfg.lr:g} --seed {cfg.seed} --dropout {cfg.dropout:g} --flip-ber {cfg.flip_ber:g}{threshold}`
  (CPU; torch's CPU kernels may differ across machines in the last bits, so accuracy can move by a few
  hundredths).
- **Files:** `{name}.npz` (network IR), `{name}.pt` (torch checkpoint, {'ternary' if ternary else 'binarized'} weights),
  `{name}_history.csv` (per-epoch loss and accuracy).

| layer | inputs | outputs | output | thresholds |{' zero weights |' if ternary else ''}
|---|---|---|---|---|{'---|' if ternary else ''}
{layers}

Training data (sha256):
{hashes}
"""


def conv_model_card(name: str, network, history, cfg: TrainConfig, wall_s: float | None = None,
                    cpu_s: float | None = None) -> str:
    md = network.metadata
    ternary = cfg.weights == "ternary"
    rows = []
    for layer in network.layers:
        thresholds = f"{int(layer.thresholds.min())}..{int(layer.thresholds.max())}"
        zeros = f" {100 * zero_fraction(layer):.1f}% |" if ternary else ""
        if layer.is_conv:
            g = layer.geometry()
            shape_in = "x".join(map(str, layer.in_shape))
            kernel = f"{g.kh}x{g.kw}" if layer.kind == "conv2d" else str(layer.kernel)
            pool = (f"max {g.ph}x{g.pw}" if layer.kind == "conv2d" else f"max {g.pw}") if layer.pool > 1 else "-"
            rows.append(f"| {layer.name} | {layer.kind} | {shape_in} | {kernel}, stride {layer.stride}, padding "
                        f"{layer.padding} (-1) | {pool} | {'x'.join(map(str, layer.out_shape))} | "
                        f"{layer.n_outputs} x {layer.n_inputs} | {layer.output} | {thresholds} |{zeros}")
        else:
            rows.append(f"| {layer.name} | dense | {layer.n_inputs} | - | - | {layer.n_outputs} | "
                        f"{layer.n_outputs} x {layer.n_inputs} | {layer.output} | "
                        f"{thresholds if layer.output == 'sign' else '- (argmax of popcounts)'} |{zeros}")
    bits = sum(layer.n_inputs * layer.n_outputs for layer in network.layers)
    score_note = "; with ternary weights read score (sum of x * w) for popcount above" if ternary else ""
    hashes = "\n".join(f"- `{k}`: `{v}`" for k, v in sorted(md["data_sha256"].items()))
    total_s = sum(h["seconds"] for h in history)
    command = " ".join([f"hwgen train {md['dataset']}{data_option(md)} --arch conv",
                        f"--conv {','.join(ConvStage.of(s).text() for s in cfg.convs)}",
                        f"--hidden {','.join(map(str, cfg.sizes[1:-1])) or 'none'}",
                        f"--epochs {cfg.epochs} --batch-size {cfg.batch_size} --lr {cfg.lr:g} --seed {cfg.seed}",
                        f"--dropout {cfg.dropout:g} --flip-ber {cfg.flip_ber:g} --input-threshold {cfg.input_threshold}",
                        *(["--hflip"] if cfg.hflip else []), *([ternary_options(cfg).strip()] if ternary else []),
                        f"--threads {cfg.threads}",
                        f"-o models/{name}.npz"])
    return f"""# {name}

{'Ternary-weight' if ternary else 'Binarized'} conv net trained by `hwgen train {md['dataset']} --arch conv` (hwgen {md['hwgen_version']}):
{network.describe()}.

- **Test accuracy:** {100 * md['test_accuracy']:.2f}% on the {md['dataset']} test set (torch eval in float64;
  the golden model on this IR gives the same prediction on every test image, checked at export).
- **Layers:** each conv stage is a binarized conv (padded pixels are -1, the IR's `pad_bit` 0) ->
  non-overlapping max-pool -> batch-norm (gamma kept at 1) -> sign, folded into one threshold per
  output channel on the window's largest popcount; the dense hidden layers' batch-norm folds the
  same way (neurons with gamma < 0 have their weights flipped). Batch-norm statistics are
  re-estimated on {RECALIBRATION_IMAGES} training images after every epoch, with the weights as
  they are then. The output layer has no batch-norm: the class is the argmax of its popcounts.
  {bits} {'ternary weights' if ternary else 'weight bits'} in all (a conv kernel counts once){score_note}.
{dataset_card(network)}{ternary_card(network, cfg)}- **Training:** {cfg.epochs} epochs, batch {cfg.batch_size}, Adam lr {cfg.lr:g} cosine to {cfg.lr_end:g},
  seed {cfg.seed}, dropout {cfg.dropout:g} (on the dense layers' inputs), training-time weight-flip rate
  {cfg.flip_ber:g}{', each training image mirrored left-right with probability 1/2' if cfg.hflip else ''}.
  Time on the CPU ({cfg.threads} torch thread{'s' if cfg.threads > 1 else ''}): {total_s:.0f} s elapsed for the epochs (training,
  batch-norm re-estimation and the per-epoch test){'' if wall_s is None else f', {wall_s:.0f} s for the whole run (data, export, check)'}{'' if cpu_s is None else f', of which {cpu_s:.0f} s CPU time'}.
- **Inputs:** pixel > {cfg.input_threshold} is +1 (bit 1), else -1 (bit 0); the image is a
  {'x'.join(map(str, cfg.in_shape))} (H x W x C) feature map in raster order.
- **Reproduce** (CPU; torch's CPU kernels may differ across machines in the last bits, so accuracy can
  move by a few hundredths):

  ```
  {command}
  ```
- **Files:** `{name}.npz` (network IR), `{name}.pt` (torch checkpoint, {'ternary' if ternary else 'binarized'} weights),
  `{name}_history.csv` (per-epoch loss and accuracy).

| layer | kind | input | kernel | pool | output | weights (O x I) | activation | thresholds |{' zero weights |' if ternary else ''}
|---|---|---|---|---|---|---|---|---|{'---|' if ternary else ''}
{chr(10).join(rows)}

Training data (sha256):
{hashes}
"""


DEFAULT_HIDDEN = {"mlp": (1024, 1024), "conv": ()}
DEFAULT_CONVS = (32, 64)                # channels of the default conv stages (3x3, pool 2)
MODEL_STEMS = {("mlp", "binary"): "bnn", ("conv", "binary"): "conv", ("mlp", "ternary"): "tnn",
               ("conv", "ternary"): "tnn_conv"}


def arch_layers(arch: str, convs=None, hidden=None, in_shape=(28, 28, 1)) -> tuple[list, list]:
    """``(conv stages, dense hidden sizes)`` of an ``arch`` ("mlp" or "conv") with each arch's
    defaults for what is None (:data:`DEFAULT_HIDDEN`, :data:`DEFAULT_CONVS`). Raises ValueError
    when the stages do not fit images of ``in_shape`` (or are given to an MLP)."""
    from .model import conv_plan

    hidden = list(DEFAULT_HIDDEN[arch] if hidden is None else hidden)
    if arch == "mlp":
        if convs:
            raise ValueError("conv stages apply to the conv architecture only")
        return [], hidden
    convs = [ConvStage(c) for c in DEFAULT_CONVS] if convs is None else list(convs)
    conv_plan(tuple(in_shape), convs, "conv1d" if len(in_shape) == 2 else "conv2d")
    return convs, hidden


def default_model_path(dataset: str, arch: str = "mlp", weights: str = "binary") -> Path:
    """``models/<dataset>_<bnn|conv|tnn|tnn_conv>.npz``: where ``hwgen train`` writes by default."""
    return Path("models") / f"{dataset.replace('-', '_').replace('.', '_')}_{MODEL_STEMS[arch, weights]}.npz"
