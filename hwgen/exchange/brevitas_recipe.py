"""The Brevitas recipe: a binary MLP or a binary conv net trained with Brevitas layers and exported
as QONNX (``brevitas.export.export_qonnx``), which ``hwgen import`` reads.

What the hardware runs, in Brevitas terms:

- weights: ``QuantLinear``/``QuantConv2d`` (no bias) with a binary weight quantizer (:class:`BinaryWeight`,
  ±1: Brevitas' ``SignedBinaryWeightPerTensorConst`` at scale 1);
- activations: ``QuantIdentity`` with a binary quantizer (:class:`BinaryActivation`, ±1) after a
  ``BatchNorm`` (folded by the import into integer thresholds);
- the input: ``pixel / 255 - 0.5`` binarised by a ``QuantIdentity`` (pixels above 127 are +1, as
  ``hwgen train``);
- conv layers without padding (ONNX pads with 0, which ±1 logic has not), ``MaxPool2d`` after the
  binary activation; ``Flatten`` before the first dense layer; the last ``QuantLinear`` gives the
  class scores (no batch-norm after it).

Run as ``python -m hwgen.exchange.brevitas_recipe --arch mlp -o mlp.onnx`` (see ``--help``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import require


def _brevitas():
    import warnings

    with warnings.catch_warnings():     # brevitas warns that an optional Hadamard kernel is missing
        warnings.filterwarnings("ignore", message="fast_hadamard_transform")
        require("brevitas", "brevitas", "onnx", "onnxoptimizer", "qonnx", "torch")
        import brevitas.nn as qnn
        from brevitas.quant.binary import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst

    class BinaryWeight(SignedBinaryWeightPerTensorConst):
        scaling_const = 1.0

    class BinaryActivation(SignedBinaryActPerTensorConst):
        scaling_const = 1.0

    return qnn, BinaryWeight, BinaryActivation


def build_model(arch: str = "mlp", hidden=(64,), channels=(16, 32)):
    """A Brevitas binary network for 28 x 28 images: ``mlp`` (784 - hidden... - 10) or ``conv``
    (3x3 convs of ``channels``, each with a 2x2 max-pool, then ``hidden`` dense layers, then 10)."""
    import torch
    from torch import nn

    qnn, BinaryWeight, BinaryActivation = _brevitas()

    class Centre(nn.Module):
        """pixel / 255 -> pixel / 255 - 0.5: the binary input quantizer then gives +1 above 127."""

        def forward(self, x):
            return x - 0.5

    def act():
        return qnn.QuantIdentity(act_quant=BinaryActivation, return_quant_tensor=False)

    layers: list[nn.Module] = []
    if arch == "conv":
        layers += [Centre(), act()]
        c_in, size = 1, 28
        for c in channels:
            layers += [qnn.QuantConv2d(c_in, c, 3, padding=0, bias=False, weight_quant=BinaryWeight),
                       nn.BatchNorm2d(c), act(), nn.MaxPool2d(2)]
            c_in, size = c, (size - 2) // 2
        layers.append(nn.Flatten())
        width = c_in * size * size
    elif arch == "mlp":
        layers += [nn.Flatten(), Centre(), act()]
        width = 784
    else:
        raise ValueError(f"arch must be 'mlp' or 'conv', not {arch!r}")
    for h in hidden:
        layers += [qnn.QuantLinear(width, h, bias=False, weight_quant=BinaryWeight), nn.BatchNorm1d(h), act()]
        width = h
    layers.append(qnn.QuantLinear(width, 10, bias=False, weight_quant=BinaryWeight))
    torch.manual_seed(0)
    return nn.Sequential(*layers)


def to_tensor(images: np.ndarray):
    """uint8 images ``(B, 28, 28)`` as the model's input ``(B, 1, 28, 28)``, ``pixel / 255`` (float32)."""
    import torch

    return torch.from_numpy(np.asarray(images, dtype=np.float32) / np.float32(255)).unsqueeze(1)


def train(model, images, labels, *, steps: int = 300, batch: int = 100, lr: float = 0.01, seed: int = 1, log=print,
          after_step=None):
    """Adam on cross-entropy for ``steps`` mini-batches drawn (seeded) from ``images``; eval mode after.
    ``after_step()`` runs after every optimiser step (FINN's bnn_pynq models clip their weights
    there: ``model.clip_weights(-1, 1)``)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x, y = to_tensor(images), torch.from_numpy(np.asarray(labels, dtype=np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    t0 = time.perf_counter()
    for step in range(steps):
        idx = torch.from_numpy(rng.integers(0, len(x), batch))
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if after_step is not None:
            after_step()
        if log and (step + 1) % max(1, steps // 5) == 0:
            log(f"[brevitas] step {step + 1}/{steps} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
    return model.eval()


def predict(model, images) -> np.ndarray:
    """The model's classes (eval mode, torch)."""
    import torch

    with torch.no_grad():
        return model.eval()(to_tensor(images)).argmax(1).numpy()


def export(model, path) -> Path:
    """``brevitas.export.export_qonnx`` of ``model`` (input ``(1, 1, 28, 28)``) to ``path``, atomically."""
    import logging
    import tempfile

    import warnings

    import torch

    from ..files import atomic_write

    with warnings.catch_warnings():     # brevitas warns that an optional Hadamard kernel is missing
        warnings.filterwarnings("ignore", message="fast_hadamard_transform")
        from brevitas.export import export_qonnx

    path = Path(path)
    # torch's exporter warns that torchvision (not needed here) is missing, and reports progress
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "model.onnx"
        export_qonnx(model.eval(), torch.zeros(1, 1, 28, 28), export_path=str(out), verbose=False)
        return atomic_write(path, out.read_bytes())


def main(argv=None):
    """``python -m hwgen.exchange.brevitas_recipe``: train, report the torch accuracy, export QONNX."""
    import click

    from ..data import load_split
    from ..errors import HwgenError

    @click.command()
    @click.option("--arch", type=click.Choice(["mlp", "conv"]), default="mlp", show_default=True)
    @click.option("--hidden", default="256", show_default=True, help="Comma-separated hidden dense widths.")
    @click.option("--channels", default="16,32", show_default=True, help="conv: comma-separated channels.")
    @click.option("--steps", type=click.IntRange(1), default=3000, show_default=True, help="Mini-batches of 100.")
    @click.option("--train-count", type=click.IntRange(100, 60000), default=60000, show_default=True)
    @click.option("--seed", type=int, default=1, show_default=True)
    @click.option("--data", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="MNIST IDX folder (default: HWGEN_DATA or ../shared/data/mnist).")
    @click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
    def cli(arch, hidden, channels, steps, train_count, seed, data, out):
        try:
            widths = tuple(int(v) for v in hidden.split(",") if v.strip())
            chans = tuple(int(v) for v in channels.split(",") if v.strip())
        except ValueError:
            raise click.BadParameter("must be comma-separated whole numbers") from None
        try:
            tr, te = load_split("train", data), load_split("test", data)
            model = build_model(arch, widths, chans)
            train(model, tr.images[:train_count], tr.labels[:train_count], steps=steps, seed=seed)
            acc = float(np.mean(predict(model, te.images) == te.labels))
            export(model, out)
        except HwgenError as e:
            raise click.ClickException(" ".join(str(e).split())) from None
        click.echo(f"{arch}: torch accuracy {acc:.4f} on {len(te.labels)} test images; wrote {out}")

    cli.main(args=argv, prog_name="python -m hwgen.exchange.brevitas_recipe")


if __name__ == "__main__":
    main()
