"""``hwgen train``: train, export to the IR, check the export, and write the model card.

Writes next to ``out`` (``<stem>.npz``): the IR (``<stem>.npz``), the torch checkpoint
(``<stem>.pt``, binarized weights as int8), the per-epoch history (``<stem>_history.csv``) and
a short model card (``<stem>.md``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from .. import __version__
from ..data import binarize, load_split
from ..errors import DataError
from ..files import atomic_write, writable_folder
from ..golden import network_forward
from .export import export_network, save_checkpoint
from .loop import TrainConfig, predict, train


def train_and_export(dataset: str, cfg: TrainConfig, out, data_dir=None, progress=True, log=print) -> dict:
    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"the model path must end in .npz (the IR file), not {out.name!r}")
    writable_folder(out.parent, "-o")
    train_split = load_split("train", data_dir, dataset)
    test_split = load_split("test", data_dir, dataset)
    if int(max(train_split.labels.max(), test_split.labels.max())) >= cfg.sizes[-1]:
        raise DataError(f"labels go up to {int(max(train_split.labels.max(), test_split.labels.max()))}, the network "
                        f"has {cfg.sizes[-1]} outputs")
    for what, split in (("training", train_split), ("test", test_split)):
        if not split.official:
            log(f"[train] note: the {what} files are not an official copy of {dataset} (unknown SHA-256); used as "
                f"given, their hashes go into the model's metadata")
    log(f"[train] {dataset}: {len(train_split.labels)} train / {len(test_split.labels)} test images, "
        f"network {'-'.join(map(str, cfg.sizes))}, seed {cfg.seed}, flip_ber {cfg.flip_ber:g}")
    model, history = train(cfg, train_split, test_split, progress=progress, log=log)

    test_bits = binarize(test_split.images, cfg.input_threshold)
    torch_pred, _ = predict(model, test_bits)
    accuracy = float((torch_pred == test_split.labels).mean())
    metadata = {"dataset": dataset, "input_threshold": cfg.input_threshold, "test_accuracy": accuracy,
                "train": cfg.as_dict(), "data_sha256": {**train_split.sources, **test_split.sources},
                "hwgen_version": __version__}
    network = export_network(model, metadata)
    golden_pred, _, _ = network_forward(network, test_bits)
    agree = int((golden_pred == torch_pred).sum())
    if agree != len(torch_pred):
        raise RuntimeError(f"export check failed: the IR's golden model agrees with torch on {agree} of "
                           f"{len(torch_pred)} test images")
    log(f"[train] export check: golden model on the IR equals torch eval on all {agree} test images")
    network.save(out)
    save_checkpoint(model, out.with_suffix(".pt"), extra={"test_accuracy": accuracy})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    atomic_write(out.with_name(out.stem + "_history.csv"), buf.getvalue())
    atomic_write(out.with_suffix(".md"), model_card(out.stem, network, history, cfg))
    log(f"[train] test accuracy {100 * accuracy:.2f}%; wrote {out}, {out.with_suffix('.pt').name}, "
        f"{out.with_suffix('.md').name}")
    return {"accuracy": accuracy, "history": history, "path": str(out)}


def model_card(name: str, network, history, cfg: TrainConfig) -> str:
    md = network.metadata
    layers = "\n".join(f"| {layer.name} | {layer.n_inputs} | {layer.n_outputs} | {layer.output} | "
                       f"{int(layer.thresholds.min())}..{int(layer.thresholds.max())} |" for layer in network.layers)
    hashes = "\n".join(f"- `{k}`: `{v}`" for k, v in sorted(md["data_sha256"].items()))
    total_s = sum(h["seconds"] for h in history)
    return f"""# {name}

Binarized MLP {'-'.join(map(str, cfg.sizes))} trained by `hwgen train {md['dataset']}` (hwgen {md['hwgen_version']}).

- **Test accuracy:** {100 * md['test_accuracy']:.2f}% on the {md['dataset']} test set (torch eval; the golden
  model on this IR gives the same prediction on every test image, checked at export).
- **Training:** {cfg.epochs} epochs, batch {cfg.batch_size}, Adam lr {cfg.lr:g} cosine to {cfg.lr_end:g},
  seed {cfg.seed}, dropout {cfg.dropout:g}, training-time weight-flip rate {cfg.flip_ber:g},
  {total_s:.0f} s on the CPU.
- **Inputs:** pixel > {cfg.input_threshold} is +1 (bit 1), else -1 (bit 0).
- **Reproduce:** `hwgen train {md['dataset']} --hidden {','.join(map(str, cfg.sizes[1:-1]))} --epochs {cfg.epochs} \
  --batch-size {cfg.batch_size} --lr {cfg.lr:g} --seed {cfg.seed} --dropout {cfg.dropout:g} --flip-ber {cfg.flip_ber:g}`
  (CPU; torch's CPU kernels may differ across machines in the last bits, so accuracy can move by a few
  hundredths).
- **Files:** `{name}.npz` (network IR), `{name}.pt` (torch checkpoint, binarized weights),
  `{name}_history.csv` (per-epoch loss and accuracy).

| layer | inputs | outputs | output | thresholds |
|---|---|---|---|---|
{layers}

Training data (sha256):
{hashes}
"""
