"""Training export: batch-norm folding is exact, the golden model on the IR equals torch eval,
and the shipped model keeps its promise on the whole MNIST test set."""

import numpy as np
import pytest
import torch

from hwgen.data import MODELS_DIR, binarize, default_data_dir, load_fixture, load_split
from hwgen.golden import layer_forward, network_forward
from hwgen.ir import Layer, Network
from hwgen.train.export import export_network, fold_batchnorm, load_checkpoint, save_checkpoint
from hwgen.train.loop import TrainConfig, predict, train
from hwgen.train.model import BinaryMLP

SEED = 20261125


def test_fold_batchnorm_is_exact_for_every_popcount_and_sign_of_gamma():
    """For every possible popcount, sign(BN(a)) (torch, float64) equals popcount >= T on the
    folded (possibly flipped) weights, including gamma < 0 and gamma == 0."""
    print(f"seed={SEED}")
    rng = np.random.default_rng(SEED)
    n_in, n_out = 37, 64
    bn = torch.nn.BatchNorm1d(n_out).double().eval()
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(rng.normal(0, 1, n_out)))
        bn.weight[:4] = 0.0
        bn.bias.copy_(torch.from_numpy(rng.normal(0, 3, n_out)))
        bn.bias[0], bn.bias[1] = 1.0, -1.0
        bn.running_mean.copy_(torch.from_numpy(rng.normal(0, 8, n_out)))
        bn.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 40, n_out)))
    assert (bn.weight < 0).any() and (bn.weight > 0).any()
    bits = rng.integers(0, 2, (n_out, n_in), dtype=np.uint8)
    folded, thresholds = fold_batchnorm(bits, bn)
    negative = bn.weight.detach().numpy() < 0
    assert np.all(folded[negative] == 1 - bits[negative]) and np.all(folded[~negative] == bits[~negative])
    x = rng.integers(0, 2, (4000, n_in), dtype=np.uint8)
    a = (2 * x.astype(np.float64) - 1) @ (2 * bits.astype(np.float64) - 1).T
    with torch.no_grad():
        want = (bn(torch.from_numpy(a)) >= 0).numpy().astype(np.uint8)
    got, _ = layer_forward(Layer.from_bits(folded, thresholds), x)
    assert np.array_equal(got, want)
    assert thresholds.min() >= 0 and thresholds.max() <= n_in + 1


@pytest.fixture(scope="module")
def small_trained(tmp_path_factory):
    """A 784-64-32-10 BNN trained for one epoch on 3000 images of the shipped fixture's shape."""
    split = load_fixture()
    cfg = TrainConfig(sizes=[784, 64, 32, 10], epochs=2, batch_size=50, seed=SEED, threads=1)
    model, history = train(cfg, split, split, progress=False, log=lambda *_: None)
    return cfg, model, history, split


def test_export_matches_torch_eval_and_survives_checkpoint(small_trained, tmp_path):
    cfg, model, history, split = small_trained
    assert len(history) == 2 and history[-1]["test_accuracy"] > 0.5
    bits = binarize(split.images, cfg.input_threshold)
    torch_pred, logits = predict(model, bits)
    net = export_network(model, {"input_threshold": cfg.input_threshold})
    golden_pred, pcs, acts = network_forward(net, bits)
    assert np.array_equal(golden_pred, torch_pred)
    # output popcounts are an affine image of torch's logits: a = 2*pc - I, logits = a * scale
    scale = float(model.log_scale.detach().exp()) / 32 ** 0.5
    assert np.allclose((2 * pcs - 32) * scale, logits, atol=1e-4)
    path = save_checkpoint(model, tmp_path / "m.pt")
    reloaded = load_checkpoint(path)
    assert np.array_equal(predict(reloaded, bits)[0], torch_pred)
    net.save(tmp_path / "m.npz")
    assert np.array_equal(network_forward(Network.load(tmp_path / "m.npz"), bits)[0], golden_pred)


def test_error_aware_training_flips_weights_only_while_training():
    torch.manual_seed(SEED)
    model = BinaryMLP([16, 8, 4], flip_ber=0.5)
    x = torch.ones(3, 16)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    outs = {tuple(model.out(torch.ones(1, 8)).flatten().tolist()) for _ in range(20)}
    assert len(outs) > 1


@pytest.mark.parametrize("name, floor", [("mnist_bnn", 0.98), ("mnist_bnn_plain", 0.975), ("mnist_bnn_adapted", 0.97)])
def test_shipped_model_golden_equals_torch_on_the_whole_mnist_test_set(name, floor):
    data_dir = default_data_dir("mnist")
    if data_dir is None:
        pytest.skip("MNIST test set not found (HWGEN_DATA or ../shared/data/mnist)")
    shipped = MODELS_DIR / f"{name}.npz"
    net = Network.load(shipped)
    model = load_checkpoint(shipped.with_suffix(".pt"))
    test = load_split("test", data_dir)
    bits = binarize(test.images, net.metadata["input_threshold"])
    torch_pred, _ = predict(model, bits)
    golden_pred, _, _ = network_forward(net, bits)
    mismatches = int((torch_pred != golden_pred).sum())
    accuracy = float((golden_pred == test.labels).mean())
    print(f"golden accuracy {100 * accuracy:.2f}% on {len(bits)} test images, {mismatches} differ from torch")
    assert mismatches == 0
    assert accuracy == pytest.approx(net.metadata["test_accuracy"], abs=1e-9)
    assert accuracy >= floor
