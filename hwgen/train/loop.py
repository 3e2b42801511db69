"""Training loop: Adam on a BinaryMLP with the STE, on binarized IDX images, with progress.

Deterministic for a given seed on the CPU (torch's default CPU kernels are deterministic for
these operations; the thread count is fixed too).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from ..data import Split, binarize
from ..errors import DataError
from .model import BinaryMLP


@dataclass
class TrainConfig:
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

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be positive, not {self.epochs}, {self.batch_size}")
        if not 0.0 <= self.flip_ber <= 1.0:
            raise ValueError(f"flip_ber must be in [0, 1], not {self.flip_ber}")
        if not 0 <= self.input_threshold <= 255:
            raise ValueError(f"input_threshold must be a pixel value in [0, 255], not {self.input_threshold}")

    def as_dict(self):
        return asdict(self)


def to_pm1(bits: np.ndarray) -> torch.Tensor:
    """{0,1} bits -> ±1 float32 tensor."""
    return torch.from_numpy(bits.astype(np.float32) * 2 - 1)


@torch.no_grad()
def predict(model: BinaryMLP, bits: np.ndarray, batch: int = 2000):
    """Eval-mode class predictions and logits for {0,1} input bits."""
    model = model.eval()
    logits = torch.cat([model(to_pm1(bits[k:k + batch])) for k in range(0, len(bits), batch)])
    return logits.argmax(1).numpy(), logits.numpy()


def fit(model, opt, sched, cfg: TrainConfig, x_train, y_train, rng, evaluate, after_step=None, progress=True,
        log=print, label="[train]") -> list[dict]:
    """The epoch loop every training here shares: ``cfg.epochs`` passes over shuffled batches
    (``rng``), cross-entropy, ``opt`` and a per-step ``sched``, ``after_step()`` after each update
    (e.g. clipping latent weights); ``evaluate()`` gives the test accuracy after each epoch.
    Returns the per-epoch history."""
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
            loss = loss_fn(model(x_train[idx]), y_train[idx])
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
    model = BinaryMLP(cfg.sizes, flip_ber=cfg.flip_ber, dropout=cfg.dropout)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps = cfg.epochs * (len(x_train) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=cfg.lr_end)
    history = fit(model, opt, sched, cfg, x_train, y_train, rng,
                  lambda: float((predict(model, test_bits)[0] == test_split.labels).mean()),
                  after_step=model.clip_, progress=progress, log=log, label="[train]")
    return model.eval(), history
