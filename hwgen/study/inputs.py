"""What the studies evaluate: networks and the test images of the dataset they were trained on.

The dataset comes from the networks' IR metadata (``dataset``, with its input shape and classes);
a network is never run on images of another dataset or shape, so networks trained on different
datasets cannot be studied together. Images are the dataset's whole test set when a data folder
is given or found (:func:`hwgen.data.test_images`), else its shipped 1000-image slice (built-in
datasets). Evaluation on other files than a network was trained and tested on is noted (by
SHA-256: :func:`hwgen.data.evaluation_note`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import MODELS_DIR, binarize, check_dataset, check_images_fit, evaluation_note, test_images
from ..errors import DataError
from ..ir import Network

SHIPPED = {"mnist": ("mnist_bnn", "mnist_bnn_plain", "mnist_bnn_adapted"), "fashion-mnist": ("fashion_mnist_bnn",)}


@dataclass
class StudyInputs:
    networks: dict              # label -> Network
    dataset: str
    x_bits: np.ndarray
    labels: np.ndarray
    source: str                 # where the images came from, for logs and result files
    notes: list = field(default_factory=list)      # evaluation on other files than the networks' (log lines)


def study_inputs(models=(), dataset: str | None = None, data_dir=None, count: int | None = None,
                 cap: int | None = None, log=None) -> StudyInputs:
    """Load ``models`` (default: the shipped networks of ``dataset``, MNIST if none is named)
    and the test images of their dataset, binarized as the networks expect. ``count`` images, or
    without it all of the test set (at most ``cap``, said through ``log``). A network runs only on
    images of its own dataset and shape (:func:`hwgen.data.check_images_fit`)."""
    if dataset is not None:
        check_dataset(dataset)
    if not models:
        names = SHIPPED.get(dataset or "mnist", ())
        models = [p for p in (MODELS_DIR / f"{name}.npz" for name in names) if p.is_file()]
        if not models:
            raise DataError(f"no shipped network for {dataset}; pass --model")
    networks = {Path(p).stem: Network.load(p) for p in models}
    trained_on = {label: n.dataset for label, n in networks.items()}
    if len(set(trained_on.values())) != 1:
        raise DataError("the networks were trained on different datasets ("
                        + ", ".join(f"{k}: {v}" for k, v in trained_on.items()) + "); study them separately")
    dataset = dataset or next(iter(trained_on.values()))
    thresholds = {n.input_threshold for n in networks.values()}
    if len(thresholds) != 1:
        raise DataError(f"the networks binarize their inputs differently ({sorted(thresholds)})")
    split, source = test_images(dataset, data_dir, count, cap, log)
    notes = []
    for label, n in networks.items():
        check_images_fit(n, label, split, source)
        note = evaluation_note(n, label, split, source)
        if note:
            notes.append(note)
    x = binarize(split.images, thresholds.pop())
    return StudyInputs(networks, dataset, x, split.labels, source, notes)
