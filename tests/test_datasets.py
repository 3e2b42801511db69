"""User datasets of any shape and class count (issue 25), without RTL: loading (IDX 1-D/2-D/colour,
npz, dataset.json), what the IR records, the guards (a network runs only on its own dataset and
shape; evaluation on other files is named) and the defaults that fit the data. The whole pipeline
(train -> sweep -> rtl -> sim -> loop) is tests/test_dataset_pipeline.py."""

import dataclasses
import json

import numpy as np
import pytest

from conftest import idx_dataset
from test_bad_input import invoke, one_line_error
from user_datasets import cifar_shaped, digits, shapes, write_idx

from hwgen.data import (BUILTIN, DatasetInfo, binarize, dataset_info, evaluation_note, folder_dataset_name,
                        load_split, network_images, read_dataset_json)
from hwgen.errors import DataError, ModelFileError
from hwgen.ir import Layer, Network

SEED = 25


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    digits(root / "digits")
    shapes(root / "shapes16")
    cifar_shaped(root / "cifar")
    return root


def random_net(info: DatasetInfo, hidden=16, seed=SEED, **extra) -> Network:
    """A random dense network for ``info`` (its metadata as hwgen train writes it)."""
    print(f"random network seed {seed}")
    rng = np.random.default_rng(seed)
    sizes = [info.pixels, hidden, info.classes]
    layers = [Layer.from_bits(rng.integers(0, 2, (b, a), dtype=np.uint8),
                              np.full(b, a // 2) if k < len(sizes) - 2 else np.zeros(b, dtype=np.int64),
                              output="sign" if k < len(sizes) - 2 else "popcount", name=f"fc{k + 1}")
              for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))]
    return Network(layers, {**info.metadata(), **extra})


# -- loading ----------------------------------------------------------------------------------------
def test_user_datasets_load_in_every_form(root):
    cases = {"digits": ((8, 8), 10, 8, 1437, 360), "shapes16": ((16, 16), 4, 127, 800, 200),
             "cifar": ((32, 32, 3), 10, 127, 200, 40)}
    for name, (shape, classes, threshold, n_train, n_test) in cases.items():
        folder = root / name
        assert folder_dataset_name(folder) == name          # dataset.json's name, else the folder's
        train, test = load_split("train", folder, None), load_split("test", folder, name)
        assert (train.shape, len(train.labels), len(test.labels)) == (shape, n_train, n_test)
        info = dataset_info(name, folder, (train, test))
        assert (info.shape, info.classes, info.input_threshold) == (shape, classes, threshold), name
        assert set(train.sha256) | set(test.sha256) and not train.official
        # bits in (row, column, channel) order: the IR's feature-map order
        assert np.array_equal(binarize(test.images, threshold)[3].reshape(shape), test.images[3] > threshold)


def test_signals_and_flat_image_sets_load(tmp_path):
    rng = np.random.default_rng(SEED)
    folder = tmp_path / "ecg"
    folder.mkdir()
    for prefix, n in (("train", 30), ("test", 10)):        # test- instead of t10k-, 1-D signals (IDX2)
        write_idx(folder / f"{prefix}-images-idx2-ubyte", rng.integers(0, 256, (n, 50)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 3, n))
    split = load_split("test", folder, None)
    info = dataset_info("ecg", folder, (split,))
    assert split.shape == (50,) and info.conv_shape == (50, 1) and info.classes == 3
    # a flat npz reshaped by its dataset.json's shape
    flat = tmp_path / "flat"
    flat.mkdir()
    for s in ("train", "test"):
        np.savez(flat / f"{s}.npz", images=rng.integers(0, 256, (12, 36), dtype=np.uint8),
                 labels=rng.integers(0, 5, 12).astype(np.uint8))
    (flat / "dataset.json").write_text(json.dumps({"name": "tiles", "shape": [6, 6], "classes": 5}))
    assert load_split("test", flat, "tiles").shape == (6, 6)


@pytest.mark.parametrize("content, fragment", [
    ("[1, 2]", "is an object of"),
    ('{"name": "Digits!"}', "is not 1 to 64"),
    ('{"shape": [8, 0]}', "shape must be a list of positive"),
    ('{"classes": 1}', "classes must be a whole number in [2,"),
    ('{"input_threshold": 300}', "input_threshold must be a whole number in [0, 255]"),
    ('{"colour": true}', "found ['colour']"),
    ("{not json", "not readable JSON"),
])
def test_bad_dataset_json_is_a_one_line_error(tmp_path, content, fragment):
    folder = idx_dataset(tmp_path / "d")
    (folder / "dataset.json").write_text(content)
    with pytest.raises(DataError, match=None) as e:
        read_dataset_json(folder)
    assert fragment in str(e.value)
    one_line_error(invoke("images", "--data-dir", folder, "-o", tmp_path / "x.npz"), fragment)


def test_declared_shape_and_classes_are_checked(tmp_path):
    folder = idx_dataset(tmp_path / "d")                   # 28x28, labels up to 9
    (folder / "dataset.json").write_text(json.dumps({"name": "d", "shape": [14, 56]}))
    one_line_error(invoke("images", "--data-dir", folder, "-o", tmp_path / "x.npz"), "are 28x28", "are 14x56")
    (folder / "dataset.json").write_text(json.dumps({"name": "d", "classes": 5}))
    one_line_error(invoke("images", "--data-dir", folder, "-o", tmp_path / "x.npz"), "labels must lie in [0, 4]")


def test_a_built_in_name_refuses_files_of_another_shape(root, tmp_path):
    # the work-around (8x8 digits in a folder called mnist) is refused, naming both shapes
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in (root / "digits").glob("*ubyte"):
        (folder / f.name).write_bytes(f.read_bytes())
    one_line_error(invoke("train", "mnist", "--data-dir", folder, "--epochs", 1, "-o", tmp_path / "m.npz"),
                   "are 8x8, mnist images are 28x28")
    # and a dataset.json of another name is not another dataset's files
    one_line_error(invoke("train", "mnist", "--data-dir", root / "digits", "-o", tmp_path / "m.npz"),
                   "names the dataset 'digits', not 'mnist'")
    assert not (tmp_path / "m.npz").exists()


# -- the IR ----------------------------------------------------------------------------------------
def test_the_ir_records_the_dataset_and_old_files_still_load(tmp_path):
    info = DatasetInfo("digits", (8, 8), 10, 8)
    net = random_net(info)
    net.save(tmp_path / "n.npz")
    back = Network.load(tmp_path / "n.npz")
    assert back.dataset_info == info and back.input_shape == (8, 8) and back.input_threshold == 8
    colour = random_net(DatasetInfo("cifar", (32, 32, 3), 10))
    assert colour.input_shape == (32, 32, 3) and colour.dataset_info.conv_shape == (32, 32, 3)
    # files written before the entries existed derive them
    from hwgen.data import shipped

    for name in ("mnist_bnn", "mnist_conv", "fashion_mnist_bnn", "mnist_tnn"):
        old = Network.load(shipped(f"{name}.npz"))
        assert "input_shape" not in old.metadata, name
        assert old.dataset_info == dataclasses.replace(BUILTIN[old.dataset], input_threshold=old.input_threshold), name
    # entries that contradict the layers are refused
    for bad, fragment in (({"input_shape": [8, 9]}, "has 72 pixels"), ({"classes": 4}, "classes is 4"),
                          ({"input_threshold": 256}, "input_threshold")):
        with pytest.raises(ModelFileError, match=None) as e:
            random_net(info, **bad)
        assert fragment in str(e.value)


# -- guards ----------------------------------------------------------------------------------------
def test_a_network_never_runs_on_another_dataset_or_shape(root, tmp_path):
    net = tmp_path / "digits_net.npz"
    random_net(DatasetInfo("digits", (8, 8), 10, 8)).save(net)
    one_line_error(invoke("sweep", "--model", net, "--data-dir", root / "shapes16", "--out", tmp_path / "r"),
                   "digits (8x8, 10 classes)", "16x16")
    one_line_error(invoke("loop", "--model", net, "--data-dir", root / "cifar", "--out", tmp_path / "r"),
                   "digits (8x8, 10 classes)", "32x32x3")
    from hwgen.data import shipped

    one_line_error(invoke("sweep", "--model", shipped("mnist_bnn.npz"), "--data-dir", root / "digits", "--out",
                          tmp_path / "r"), "'digits', not 'mnist'")
    one_line_error(invoke("sweep", "--model", net, "--out", tmp_path / "r"), "no digits test images", "--data-dir")
    network = Network.load(net)
    with pytest.raises(DataError) as e:
        network_images(network, "digits_net", shipped("mnist_test_slice.npz"))
    assert "trained on digits (8x8, 10 classes)" in str(e.value) and "are mnist (28x28)" in str(e.value)


def test_evaluation_on_other_files_is_named_in_the_log(root, tmp_path):
    pytest.importorskip("torch")
    r = invoke("train", "--data-dir", root / "digits", "--hidden", 16, "--epochs", 1, "--batch-size", 100,
               "--threads", 1, "-o", tmp_path / "digits.npz")
    assert r.exit_code == 0, r.output
    assert "note: the files are the user dataset digits" in r.output and "sha256" in r.output
    net = Network.load(tmp_path / "digits.npz")
    assert net.dataset_info == DatasetInfo("digits", (8, 8), 10, 8) and net.metadata["data_official"] is False
    assert set(net.trained_on) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                   "t10k-labels-idx1-ubyte"}
    assert "digits (8x8, 10 classes); the user's files" in (tmp_path / "digits.md").read_text()
    # the same files: no note; a changed copy of the test set under the same name: named with its SHA-256
    same = invoke("sweep", "--model", tmp_path / "digits.npz", "--data-dir", root / "digits", "--bers", "0",
                  "--out", tmp_path / "r")
    assert same.exit_code == 0, same.output
    assert "note:" not in same.output
    other = tmp_path / "digits_v2"
    other.mkdir()
    for f in (root / "digits").iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    test = load_split("test", other, "digits")
    write_idx(other / "t10k-images-idx3-ubyte", 16 - test.images)       # inverted pixels
    changed = invoke("sweep", "--model", tmp_path / "digits.npz", "--data-dir", other, "--bers", "0",
                     "--out", tmp_path / "r")
    assert changed.exit_code == 0, changed.output
    import hashlib

    digest = hashlib.sha256((other / "t10k-images-idx3-ubyte").read_bytes()).hexdigest()
    assert "note: digits was trained and tested on" in changed.output and digest[:16] in changed.output
    split, where, note = network_images(net, "digits", other)
    assert note is not None and digest[:16] in note
    assert evaluation_note(net, "digits", load_split("test", root / "digits", "digits"), "x") is None


# -- defaults that fit the data ----------------------------------------------------------------------
def test_counts_default_to_what_is_there(root, tmp_path):
    r = invoke("images", "--data-dir", root / "digits", "-o", tmp_path / "all.npz")
    assert r.exit_code == 0, r.output
    with np.load(tmp_path / "all.npz") as z:
        assert z["images"].shape == (360, 8, 8) and str(z["dataset"]) == "digits"
        assert set(json.loads(str(z["sha256"]))) == {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}
    r = invoke("images", "--data-dir", root / "digits", "--offset", 350, "-o", tmp_path / "tail.npz")
    assert r.exit_code == 0 and "images 350..359" in r.output, r.output
    net = tmp_path / "digits_net.npz"
    random_net(DatasetInfo("digits", (8, 8), 10, 8)).save(net)
    r = invoke("loop", "--model", net, "--data-dir", root / "digits", "--repeats", 1, "--out", tmp_path / "l")
    assert r.exit_code == 0, r.output
    assert "[loop] 360 images of the digits test set" in r.output and "default cap" not in r.output
    # more than the cap: the cap is used and printed
    big = shapes(tmp_path / "big", train=10, test=2100)
    bignet = tmp_path / "big_net.npz"
    random_net(DatasetInfo("big", (16, 16), 4, 127), hidden=8).save(bignet)
    r = invoke("loop", "--model", bignet, "--data-dir", big, "--repeats", 1, "--out", tmp_path / "l2")
    assert r.exit_code == 0, r.output
    assert "using the first 2000 of the 2100 images (the default cap; --count to change)" in r.output
    assert "[loop] 2000 images of the big test set" in r.output
    one_line_error(invoke("loop", "--model", net, "--data-dir", root / "digits", "--count", 361, "--out",
                          tmp_path / "l"), "361 images asked for", "holds 360")
