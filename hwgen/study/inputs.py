"""What the studies evaluate: networks and the test images of the dataset they were trained on.

The dataset comes from the networks' IR metadata (``dataset``), unless the caller overrides it;
networks trained on different datasets cannot be studied together. Images are the dataset's
whole test set when a data folder is given or found (:func:`hwgen.data.test_images`), else its
shipped 1000-image slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import DATASETS, MODELS_DIR, binarize, check_dataset, test_images
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


def study_inputs(models=(), dataset: str | None = None, data_dir=None, count: int | None = None) -> StudyInputs:
    """Load ``models`` (default: the shipped networks of ``dataset``, MNIST if none is named)
    and the test images of their dataset, binarized as the networks expect."""
    if dataset is not None:
        check_dataset(dataset)
    if not models:
        names = SHIPPED.get(dataset or "mnist", ())
        models = [p for p in (MODELS_DIR / f"{name}.npz" for name in names) if p.is_file()]
        if not models:
            raise DataError(f"no shipped network for {dataset}; pass --model")
    networks = {Path(p).stem: Network.load(p) for p in models}
    trained_on = {label: n.dataset for label, n in networks.items()}
    if dataset is None:
        if len(set(trained_on.values())) != 1:
            raise DataError("the networks were trained on different datasets ("
                            + ", ".join(f"{k}: {v}" for k, v in trained_on.items()) + "); study them separately")
        dataset = next(iter(trained_on.values()))
        if dataset not in DATASETS:
            raise DataError(f"the networks were trained on {dataset!r}, which hwgen cannot load; pass --dataset")
    thresholds = {n.input_threshold for n in networks.values()}
    if len(thresholds) != 1:
        raise DataError(f"the networks binarize their inputs differently ({sorted(thresholds)})")
    split, source = test_images(dataset, data_dir, count)
    x = binarize(split.images, thresholds.pop())
    for label, n in networks.items():
        if n.input_size != x.shape[1]:
            raise DataError(f"{label} takes {n.input_size} inputs, the {dataset} images have {x.shape[1]}")
        if n.classes <= int(split.labels.max()):
            raise DataError(f"{label} has {n.classes} outputs, the labels go up to {int(split.labels.max())}")
    return StudyInputs(networks, dataset, x, split.labels, source)
