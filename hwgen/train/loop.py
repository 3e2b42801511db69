"""Training loop: Adam on a BinaryMLP or BinaryConvNet with the STE, on binarized IDX images,
with progress.

Deterministic for a given seed on the CPU (torch's default CPU kernels are deterministic for
these operations; the thread count is fixed too).
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from ..data import Split, binarize
from ..errors import DataError
from .model import WEIGHTS, BinaryConvNet, BinaryMLP, ConvStage, conv_plan

ARCHS = ("mlp", "conv")
CONV_ONLY = ("arch", "convs", "in_shape")     # fields an MLP's recipe leaves out (see as_dict)
TERNARY_ONLY = ("weights", "flip_zero_as_pm", "flip_pm_as_zero")     # fields a binary recipe leaves out
MIXED_ONLY = ("first_weights", "first_flip_ber")     # fields left out unless the first layer differs


@dataclass
class TrainConfig:
    """A training recipe. ``sizes`` is ``[inputs, dense hidden..., classes]``; with ``arch="conv"``
    the ``convs`` stages (:class:`ConvStage` fields) come first, on images of ``in_shape``
    (H, W, C; ``inputs`` is its pixel count), and ``sizes[1:-1]`` are the dense layers after
    the flatten. ``weights="ternary"`` trains ternary weights (:mod:`hwgen.train.model`); then
    ``flip_ber`` is the training-time sign-flip rate of the non-zero weights, ``flip_zero_as_pm``
    the rate at which a 0 reads as ±1 and ``flip_pm_as_zero`` the rate at which a ±1 reads as 0."""

    sizes: list = field(default_factory=lambda: [784, 1024, 1024, 10])
    epochs: int = 25
    batch_size: int = 100
    lr: float = 3e-3
    lr_end: float = 3e-5
    seed: int = 1
    input_threshold: int = 127       # pixel > threshold -> +1
    flip_ber: float = 0.0            # error-aware training: weight-flip rate while training
    dropout: float = 0.2
    threads: int = 2
    arch: str = "mlp"                # "mlp" or "conv"
    convs: list = field(default_factory=list)               # conv: the stages, as ConvStage dicts
    in_shape: list = field(default_factory=lambda: [28, 28, 1])
    hflip: bool = False              # augmentation: mirror each training image left-right with probability 1/2
    weights: str = "binary"          # "binary" or "ternary"
    flip_zero_as_pm: float = 0.0     # ternary error-aware training: a 0 read as +1 or -1 (equally likely)
    flip_pm_as_zero: float = 0.0     # ternary error-aware training: a ±1 read as 0
    first_weights: str | None = None  # "binary": a ternary net's first weighted layer stays binary (mixed)
    first_flip_ber: float | None = None   # that binary first layer's training-time flip rate (default flip_ber)

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be positive, not {self.epochs}, {self.batch_size}")
        if not 0.0 <= self.flip_ber <= 1.0:
            raise ValueError(f"flip_ber must be in [0, 1], not {self.flip_ber}")
        if self.weights not in WEIGHTS:
            raise ValueError(f"weights must be one of {', '.join(WEIGHTS)}, not {self.weights!r}")
        for name in ("flip_zero_as_pm", "flip_pm_as_zero"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], not {getattr(self, name)}")
            if self.weights == "binary" and getattr(self, name):
                raise ValueError(f"{name} is a ternary error rate (weights 'ternary'), the weights are binary")
        from .model import check_first_weights

        self.first_weights = check_first_weights(self.weights, self.first_weights)
        if self.first_flip_ber is not None and (self.first_weights is None or not 0.0 <= self.first_flip_ber <= 1.0):
            raise ValueError(f"first_flip_ber {self.first_flip_ber} is the flip rate of a binary first layer in [0, 1] "
                             f"(first_weights 'binary')")
        if self.flip_pm_as_zero + self.flip_ber > 1.0:
            raise ValueError(f"a ±1 weight reads as 0 or flips, not both: flip_pm_as_zero + flip_ber must be at "
                             f"most 1, not {self.flip_pm_as_zero:g} + {self.flip_ber:g}")
        if not 0 <= self.input_threshold <= 255:
            raise ValueError(f"input_threshold must be a pixel value in [0, 255], not {self.input_threshold}")
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}, not {self.arch!r}")
        self.in_shape = [int(v) for v in self.in_shape]
        if self.arch == "mlp":
            if self.convs:
                raise ValueError("conv stages are for arch 'conv', not 'mlp'")
        else:
            self.convs = [ConvStage.of(s).as_dict() for s in self.convs]
            if not self.convs:
                raise ValueError("a conv net needs at least one conv stage")
            conv_plan(self.in_shape, self.convs, self.conv_kind)
        if (self.arch == "conv" or self.hflip) and int(np.prod(self.in_shape)) != self.sizes[0]:
            raise ValueError(f"the input shape {'x'.join(map(str, self.in_shape))} has "
                             f"{int(np.prod(self.in_shape))} pixels, sizes[0] is {self.sizes[0]}")

    @property
    def conv_kind(self) -> str:
        """conv2d on images ``(H, W, C)``, conv1d on signals ``(L, C)`` (``in_shape``'s length)."""
        return "conv1d" if len(self.in_shape) == 2 else "conv2d"

    def as_dict(self):
        """The recipe (model metadata, caches). An MLP's leaves out the conv fields, and a recipe
        without augmentation the ``hflip`` field, so a plain MLP's reads as before conv nets existed
        and recipes keyed on it stay the same; a binary recipe leaves out the ternary fields for the
        same reason."""
        d = asdict(self)
        if self.arch == "mlp":
            for key in CONV_ONLY:
                d.pop(key)
        if self.weights == "binary":
            for key in TERNARY_ONLY:
                d.pop(key)
        if not self.hflip:
            d.pop("hflip")
        for key in MIXED_ONLY:
            if d[key] is None:
                d.pop(key)
        return d

    def build_model(self):
        """A fresh, untrained model of this recipe (the torch seed decides its initial weights)."""
        ternary = {} if self.weights == "binary" else {
            "weights": self.weights, "zero_as_pm": self.flip_zero_as_pm, "pm_as_zero": self.flip_pm_as_zero,
            "first_weights": self.first_weights, "first_flip_ber": self.first_flip_ber}
        if self.arch == "mlp":
            return BinaryMLP(self.sizes, flip_ber=self.flip_ber, dropout=self.dropout, **ternary)
        return BinaryConvNet(self.in_shape, self.convs, self.sizes[1:-1], self.sizes[-1], self.conv_kind,
                             flip_ber=self.flip_ber,
                             dropout=self.dropout, **ternary)

    def describe(self) -> str:
        """``784-1024-1024-10``, or ``conv 32,64 then 3136-10`` for a conv net."""
        if self.arch == "mlp":
            return "-".join(map(str, self.sizes))
        stages = ",".join(ConvStage.of(s).text() for s in self.convs)
        flat = conv_plan(self.in_shape, self.convs, self.conv_kind)[-1][1]
        return f"conv {stages} on {'x'.join(map(str, self.in_shape))}, then " + \
            "-".join(map(str, [int(np.prod(flat)), *self.sizes[1:]]))


def to_pm1(bits: np.ndarray) -> torch.Tensor:
    """{0,1} bits -> ±1 float32 tensor."""
    return torch.from_numpy(bits.astype(np.float32) * 2 - 1)


@torch.no_grad()
def predict(model, bits: np.ndarray, batch: int = 2000, exact: bool = False):
    """Eval-mode class predictions and logits for {0,1} input bits.

    ``exact``: run a float64 copy of the model. Popcount sums are exact integers either way; what
    float32 can get wrong is batch-norm's sign when its output is within rounding of 0, where
    the export's float64 fold (:func:`hwgen.train.export.fold_batchnorm`) decides. The export
    check compares the IR with this exact evaluation."""
    model = model.eval()
    if exact:
        model = copy.deepcopy(model).double()
    cast = (lambda t: t.double()) if exact else (lambda t: t)
    logits = torch.cat([model(cast(to_pm1(bits[k:k + batch]))) for k in range(0, len(bits), batch)])
    return logits.argmax(1).numpy(), logits.numpy()


RECALIBRATION_IMAGES = 10_000


@torch.no_grad()
def recalibrate_batchnorm(model, x: torch.Tensor, batch: int = 500) -> None:
    """Re-estimate every batch-norm's running mean and variance for the model's current weights:
    the exact average of the batch statistics over ``x`` (±1 inputs), weights as in eval mode (no
    training-time flips, no dropout).

    The running averages that training keeps (momentum 0.1) mix in earlier weights. In a binarized
    conv net that matters: a latent weight near 0 flips sign back and forth from step to step,
    even at a small learning rate, and a first-layer kernel has only a few weights, so one flip
    moves its channel's statistics a lot. Measured on MNIST (conv 32,64, 15 epochs, batch-norm
    before the pool): eval with the kept averages gave 82.6%, with these re-estimated ones 97.6%
    (Nagel et al., "Overcoming oscillations in quantization-aware training", ICML 2022, re-estimate
    them the same way)."""
    was_training = model.training
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None             # cumulative average over the batches below
        bn.train()
    for k in range(0, len(x), batch):
        model(x[k:k + batch])
    for bn, momentum in zip(norms, momenta):
        bn.momentum = momentum
        bn.eval()
    model.train(was_training)


def mirror_half(x: torch.Tensor, shape) -> torch.Tensor:
    """Flat images ``(B, H*W*C)`` of ``shape`` ``(H, W, C)``, each mirrored left-right with
    probability 1/2 (torch's random generator, seeded by the training)."""
    images = x.reshape(len(x), *shape)
    flip = (torch.rand(len(x)) < 0.5).reshape(-1, *([1] * len(shape)))
    return torch.where(flip, images.flip(len(shape) - 1), images).reshape(len(x), -1)


def fit(model, opt, sched, cfg: TrainConfig, x_train, y_train, rng, evaluate, after_step=None, progress=True,
        log=print, label="[train]", augment=None) -> list[dict]:
    """The epoch loop every training here shares: ``cfg.epochs`` passes over shuffled batches
    (``rng``), cross-entropy, ``opt`` and a per-step ``sched``, ``after_step()`` after each update
    (e.g. clipping latent weights); ``evaluate()`` gives the test accuracy after each epoch;
    ``augment(batch)``, if given, transforms each training batch. Returns the per-epoch history."""
    loss_fn = torch.nn.CrossEntropyLoss()
    history = []
    for epoch in range(cfg.epochs):
        model.train()
        t0 = time.perf_counter()
        order = rng.permutation(len(x_train))
        batches = range(0, len(order) - cfg.batch_size + 1, cfg.batch_size)
        total = 0.0
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", disable=not progress,
                   leave=False)
        for start in bar:
            idx = torch.from_numpy(order[start:start + cfg.batch_size])
            batch = x_train[idx] if augment is None else augment(x_train[idx])
            loss = loss_fn(model(batch), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if after_step is not None:
                after_step()
            total += loss.item()
        model.eval()
        acc = evaluate()
        history.append({"epoch": epoch + 1, "loss": total / len(batches), "test_accuracy": acc,
                        "seconds": round(time.perf_counter() - t0, 1)})
        log(f"{label} epoch {epoch + 1}/{cfg.epochs}: loss {total / len(batches):.4f}, "
            f"test accuracy {100 * acc:.2f}% ({history[-1]['seconds']} s)")
    return history


def train(cfg: TrainConfig, train_split: Split, test_split: Split, progress: bool = True, log=print):
    """Train; returns ``(model, history)`` where history lists per-epoch loss and accuracies."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    x_train = to_pm1(binarize(train_split.images, cfg.input_threshold))
    y_train = torch.from_numpy(train_split.labels.astype(np.int64))
    test_bits = binarize(test_split.images, cfg.input_threshold)
    if x_train.shape[1] != cfg.sizes[0]:
        raise ValueError(f"images have {x_train.shape[1]} pixels, the network takes {cfg.sizes[0]}")
    if len(x_train) < cfg.batch_size:
        raise DataError(f"the training set holds {len(x_train)} images, fewer than one batch "
                        f"(--batch-size {cfg.batch_size})")
    model = cfg.build_model()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps = cfg.epochs * (len(x_train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=cfg.lr_end)

    def evaluate():
        if cfg.arch == "conv":        # a conv net is evaluated (and exported) with re-estimated statistics
            recalibrate_batchnorm(model, x_train[:RECALIBRATION_IMAGES])
        return float((predict(model, test_bits)[0] == test_split.labels).mean())

    augment = (lambda x: mirror_half(x, cfg.in_shape)) if cfg.hflip else None
    history = fit(model, opt, sched, cfg, x_train, y_train, rng, evaluate, after_step=model.clip_,
                  progress=progress, log=log, label="[train]", augment=augment)
    return model.eval(), history
