"""The batch-normalization chapter's experiments, at tiny sizes: their tables, and their bad inputs."""
import numpy as np
import pytest
import torch

from companion import models, reference
from companion.experiments import batchnorm as experiment
from companion.torch_layers import BatchNorm1d, ConstantStatisticsBatchNorm1d


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(240, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=240)
    return ((X, y),), (X[:60], y[:60])


def test_gradient_check_table():
    table = experiment.gradient_check([0, 1], n=16)
    assert list(table.columns) == ["seed", "full", "compact", "constant_statistics"]
    assert (table.full < 1e-8).all() and (table.constant_statistics > 0.1).all()


def test_constant_statistics_layer_has_the_reference_gradient():
    rng = np.random.default_rng(1)
    x, dy = rng.normal(2, 3, size=(10, 3)), rng.normal(size=(10, 3))
    gamma, beta = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    layer = ConstantStatisticsBatchNorm1d(3, eps=1e-3, dtype=torch.float64).train()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
        layer.bias.copy_(torch.from_numpy(beta))
    xt = torch.tensor(x, requires_grad=True)
    y = layer(xt)
    (y * torch.from_numpy(dy)).sum().backward()
    y_ref, cache = reference.batch_norm_forward(x, gamma, beta, 1e-3)
    np.testing.assert_allclose(y.detach().numpy(), y_ref, rtol=1e-12)
    wrong = reference.batch_norm_backward_constant_statistics(dy, cache)
    for got, want in zip((xt.grad, layer.weight.grad, layer.bias.grad), wrong):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)
    # and it still keeps the running statistics as the course's BatchNorm1d does
    course = BatchNorm1d(3, eps=1e-3, dtype=torch.float64).train()
    course(torch.tensor(x))
    np.testing.assert_allclose(layer.running_var.numpy(), course.running_var.numpy(), rtol=1e-12)


def test_moving_statistics_table_and_bad_inputs():
    batches = np.random.default_rng(2).normal(3, 2, size=(4, 8, 2))
    table = experiment.moving_statistics_table(batches)
    assert len(table) == 6
    course = table[table.settings == "course"]
    assert (course.mean_error < 1e-5).all() and (course.variance_error < 1e-5).all()
    with pytest.raises(ValueError, match=r"\(steps, n, channels\)"):
        experiment.layer_moving_statistics("torch", batches[0])
    with pytest.raises(ValueError, match="settings must be"):
        experiment.layer_moving_statistics("torch", batches, settings="mine")


def test_bias_before_bn_has_no_gradient(tiny):
    result = experiment.bias_before_bn_gradient("torch", tiny[1][0][:16], tiny[1][1][:16], hidden=(6, 4))
    assert result["largest_bias_gradient"] < 1e-6 * result["largest_kernel_gradient"]
    assert result["output_change"] < 1e-4 * result["output_scale"]


def test_ioffe_figure_1_records_every_few_steps(tiny):
    data, probe = tiny
    table = experiment.ioffe_figure_1(0, data, probe, steps=20, every=10, with_bn=True)
    assert list(table.step) == [0, 10, 20]
    assert (table.p15 <= table.p50).all() and (table.p50 <= table.p85).all()
    drift = experiment.median_drift(table)
    assert list(drift.columns) == ["bn", "seed", "drift"] and drift.drift.iloc[0] >= 0


def test_sigmoid_input_percentiles_leave_the_model_unchanged(tiny):
    net = models.build("ioffe_bn_sigmoid_mlp", "torch")
    before = models.get_weights(net)
    experiment.sigmoid_input_percentiles(net, tiny[1][0])
    for a, b in zip(models.get_weights(net), before):
        np.testing.assert_array_equal(a, b)


def test_scale_sweep_records_a_diverged_run(tiny, monkeypatch):
    data, probe = tiny
    table = experiment.initialization_scale_sweep("torch", [0.01, 1.0], 0, data, probe, steps=5, with_bn=True,
                                                  hidden=(8, 8))
    assert list(table.scale) == [0.01, 1.0] and not table.diverged.any() and (table.epsilon == 1e-3).all()

    def diverge(*args, **kwargs):
        raise experiment.TrainingDiverged("nan")

    monkeypatch.setattr(experiment, "train", diverge)
    table = experiment.initialization_scale_sweep("torch", [0.1], 0, data, probe, steps=5, with_bn=False,
                                                  hidden=(8,))
    assert table.diverged.all() and (table.accuracy == 0.1).all() and table.epsilon.isna().all()


def test_update_ops_bug_freezes_the_moving_statistics(tiny):
    data, probe = tiny
    table = experiment.update_ops_bug(0, data, probe, epochs=1, batch_size=60, hidden=(8, 4))
    by_ops = table.set_index("update_ops")
    assert by_ops.loc[False, "moving_variance_change"] == 0 and by_ops.loc[True, "moving_variance_change"] > 0
    assert by_ops.loc[False, "training_mode_accuracy"] == pytest.approx(by_ops.loc[True, "training_mode_accuracy"])


def test_constant_statistics_training_moves_only_its_biases(tiny):
    data, probe = tiny
    table = experiment.constant_statistics_training(0, data, probe, steps=8, every=4, hidden=(8, 4))
    last = table[table.step == 8].set_index("gradient")
    assert last.loc["through statistics", "bias_norm"] < 1e-6 < last.loc["constant statistics", "bias_norm"]


def test_with_constant_statistics_refuses_plain_batch_norm():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    with pytest.raises(TypeError, match="course's BatchNorm1d"):
        experiment.with_constant_statistics(net)


def test_train_mode_evaluation(tiny):
    data, probe = tiny
    net = models.build("bn_elu_mlp", "torch", hidden=(8, 4))
    before = models.get_weights(net)
    table = experiment.train_mode_evaluation(net, *probe, batch_sizes=(60, 4))
    assert list(table["mode"]) == ["eval()", "train()", "train()"]
    assert (table.running_mean_change.iloc[1:] > 0).all()
    assert "Expected more than 1 value per channel" in table.attrs["single_image_error"]
    for a, b in zip(models.get_weights(net), before):           # restored
        np.testing.assert_array_equal(a, b)
    assert not net.training
