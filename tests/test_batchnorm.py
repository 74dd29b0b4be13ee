"""Batch normalization: the NumPy reference, the three frameworks' layers, settings and models."""
import numpy as np
import pytest

from companion import batchnorm, frameworks, models, reference
from companion.registry import FRAMEWORKS

EPSILON = 1e-3


def _batch(seed=0, n=8, channels=5):
    rng = np.random.default_rng(seed)
    return (rng.normal(2.0, 3.0, size=(n, channels)), rng.normal(1.0, 0.5, size=channels),
            rng.normal(0.0, 1.0, size=channels), rng.normal(size=(n, channels)))


def _surrogate_loss(dy, epsilon=EPSILON):
    """L(x, γ, β) = Σ dy · BN(x): its gradient is the backward pass of dy, whatever dy is."""
    def loss(weights):
        y, _ = reference.batch_norm_forward(weights[0], weights[1], weights[2], epsilon)
        return float(np.sum(dy * y))
    return loss


def test_forward_normalizes_each_channel():
    x, gamma, beta, _ = _batch()
    y, cache = reference.batch_norm_forward(x, np.ones(5), np.zeros(5), 0.0)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1, rtol=1e-12)      # the biased variance
    y, _ = reference.batch_norm_forward(x, gamma, beta, EPSILON)
    np.testing.assert_allclose(y.mean(axis=0), beta, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backward_matches_finite_differences_and_the_compact_form(seed):
    x, gamma, beta, dy = _batch(seed)
    _, cache = reference.batch_norm_forward(x, gamma, beta, EPSILON)
    grads = reference.batch_norm_backward(dy, cache)
    compact = reference.batch_norm_backward_compact(dy, cache)
    loss = _surrogate_loss(dy)
    for i, (g, c) in enumerate(zip(grads, compact)):
        np.testing.assert_allclose(c, g, rtol=1e-12, atol=1e-12)
        numeric = reference.finite_difference(loss, [x, gamma, beta], i, h=1e-5)
        np.testing.assert_allclose(g, numeric, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(grads[0].sum(axis=0), 0, atol=1e-12)     # dx sums to zero per channel


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constant_statistics_fail_the_gradient_check(seed):
    x, gamma, beta, dy = _batch(seed)
    _, cache = reference.batch_norm_forward(x, gamma, beta, EPSILON)
    wrong = reference.batch_norm_backward_constant_statistics(dy, cache)
    numeric = reference.finite_difference(_surrogate_loss(dy), [x, gamma, beta], 0, h=1e-5)
    relative = np.linalg.norm(wrong[0] - numeric) / np.linalg.norm(numeric)
    assert relative > 0.3
    right = reference.batch_norm_backward(dy, cache)
    np.testing.assert_allclose(wrong[1], right[1]), np.testing.assert_allclose(wrong[2], right[2])


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("dtype,tolerance", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_each_framework_autodiff_matches_the_reference(framework, dtype, tolerance):
    x, gamma, beta, dy = _batch(3, n=16, channels=6)
    y_ref, cache = reference.batch_norm_forward(x, gamma, beta, EPSILON)
    expected = (y_ref, *reference.batch_norm_backward(dy, cache))
    got = frameworks.batch_norm_gradients(x.astype(dtype), gamma, beta, dy, framework, epsilon=EPSILON)
    for name, g, e in zip(("y", "dx", "dgamma", "dbeta"), got, expected):
        assert g.dtype == dtype, name
        np.testing.assert_allclose(g, e, rtol=tolerance, atol=tolerance * np.abs(e).max(), err_msg=name)


def test_batch_norm_gradients_reject_bad_shapes():
    x, gamma, beta, dy = _batch()
    with pytest.raises(ValueError, match="shape"):
        frameworks.batch_norm_gradients(x, gamma[:3], beta, dy, "torch")
    with pytest.raises(ValueError, match=r"\(n, channels\)"):
        reference.batch_norm_forward(x[:1], gamma, beta, EPSILON)


def test_momentum_conversions():
    assert batchnorm.torch_momentum(0.9) == pytest.approx(0.1)
    assert batchnorm.keras_momentum(0.1) == pytest.approx(0.9)
    assert batchnorm.torch_momentum(0.99) == pytest.approx(0.01)
    assert batchnorm.layer_arguments("torch", 0.9, 1e-3) == {"momentum": pytest.approx(0.1), "eps": 1e-3}
    assert batchnorm.layer_arguments("keras", 0.9, 1e-3) == {"momentum": 0.9, "epsilon": 1e-3}
    with pytest.raises(ValueError, match="between 0 and 1"):
        batchnorm.torch_momentum(1.5)
    with pytest.raises(ValueError, match="epsilon must be positive"):
        batchnorm.layer_arguments("tf1", 0.9, 0)
    with pytest.raises(ValueError, match="framework must be"):
        batchnorm.layer_arguments("jax")


@pytest.mark.parametrize("momentum", [0.9, 0.99])
def test_moving_statistics_agree_step_by_step(momentum):
    import torch
    from companion.experiments.batchnorm import layer_moving_statistics
    rng = np.random.default_rng(4)
    batches = rng.normal(3.0, 2.0, size=(6, 10, 4)).astype(np.float32)
    means, variances = batchnorm.moving_statistics(batches, momentum)
    for framework in FRAMEWORKS:
        m, v = layer_moving_statistics(framework, batches, momentum, 1e-3)
        np.testing.assert_allclose(m, means, rtol=1e-5, atol=1e-6, err_msg=framework)
        np.testing.assert_allclose(v, variances, rtol=1e-5, atol=1e-6, err_msg=framework)
    plain = torch.nn.BatchNorm1d(4, **batchnorm.layer_arguments("torch", momentum, 1e-3)).train()
    for batch in batches:                                 # nn.BatchNorm1d: the unbiased variance
        plain(torch.tensor(batch))
    _, unbiased = batchnorm.moving_statistics(batches, momentum, running_variance="unbiased")
    np.testing.assert_allclose(plain.running_mean.numpy(), means[-1], rtol=1e-5)
    np.testing.assert_allclose(plain.running_var.numpy(), unbiased[-1], rtol=1e-5)
    assert np.all(unbiased > variances)


def test_moving_statistics_rejects_unknown_variance():
    with pytest.raises(ValueError, match="running_variance"):
        batchnorm.moving_statistics(np.ones((1, 2, 3)), 0.9, running_variance="sample")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_seed_model_parameter_counts(framework):
    after = frameworks.parameter_counts(models.build("bn_after_mlp", framework))
    before = frameworks.parameter_counts(models.build("bn_before_mlp", framework))
    assert sum(after) == 271_346 and after[1] == 2_368
    assert sum(before) == 270_946 and before[1] == 2_368


def test_placement_must_be_known():
    for framework in FRAMEWORKS:
        with pytest.raises(ValueError, match="placement must be one of"):
            models.build("bn_after_mlp", framework, placement="between", hidden=(4,))


def test_gaussian_initializer_by_name():
    from companion import initializers
    assert initializers.variance("normal_0.01", 10, 10) == pytest.approx(1e-4)
    assert initializers.normal_std("normal_1e-3") == pytest.approx(1e-3)
    for bad in ("normal_", "normal_-1", "normal_x", "normal_0"):
        with pytest.raises(ValueError, match="normal_<std>"):
            initializers.scheme(bad)
    for framework in FRAMEWORKS:
        w = initializers.sample("normal_0.05", framework, 300, 200, seed=1)
        assert w.std() == pytest.approx(0.05, rel=0.02) and np.abs(w).max() > 3.5 * 0.05


def test_a_checkpoint_of_the_seed_program_restores(tmp_path):
    """The seed's TF1 program, run on the legacy ``tf.compat.v1.layers`` (tf-keras, in a process of its
    own), saves a checkpoint; the companion's ``bn_elu_mlp`` restores it with a plain ``Saver`` and then
    gives the program's outputs in both modes: same variable names, shapes and order."""
    import os
    import subprocess
    import sys
    import tensorflow as tf
    import legacy_seed_program
    rng = np.random.default_rng(0)
    inputs, outputs, prefix = tmp_path / "in.npz", tmp_path / "out.npz", tmp_path / "seed" / "model"
    np.savez(inputs, X=rng.uniform(0, 1, (3, 32, 28, 28)).astype(np.float32),
             y=rng.integers(0, 10, (3, 32)), X_test=rng.uniform(0, 1, (20, 28, 28)).astype(np.float32))
    run = subprocess.run([sys.executable, legacy_seed_program.__file__, inputs, outputs, prefix],
                         env={**os.environ, "TF_USE_LEGACY_KERAS": "1"}, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-5000:]
    legacy = np.load(outputs)
    model = models.build("bn_elu_mlp", "tf1", seed=9)
    assert [v.name for v in model.variables] == list(legacy["names"])
    assert [str(v.shape.as_list()) for v in model.variables] == list(legacy["shapes"])
    with model.graph.as_default():
        tf.compat.v1.train.Saver().restore(model.session, str(prefix))
    for i, value in enumerate(models.get_weights(model)):
        np.testing.assert_array_equal(value, legacy[f"value{i}"])
    X_test = np.load(inputs)["X_test"]
    for mode, training in (("inference", False), ("training", True)):
        np.testing.assert_allclose(models.predict(model, X_test, training=training), legacy[mode],
                                   rtol=1e-5, atol=1e-5, err_msg=mode)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_predicting_in_training_mode_leaves_the_moving_statistics(framework):
    model = models.build("bn_after_mlp", framework, hidden=(8,))
    before = models.get_weights(model)
    X = np.random.default_rng(0).uniform(0, 1, (16, 28, 28)).astype(np.float32)
    a = models.predict(model, X, training=True)
    np.testing.assert_array_equal(a, models.predict(model, X, training=True))
    for w, w0 in zip(models.get_weights(model), before):
        np.testing.assert_array_equal(w, w0)
    assert not np.allclose(a, models.predict(model, X))
