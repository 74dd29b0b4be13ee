"""The sigmoid chapter's measuring tools, at tiny sizes: diagnostics, references and experiments."""
import math

import numpy as np
import pytest

import companion
from companion import data, diagnostics, models, reference
from companion.experiments import initialization as experiment
from companion.registry import FRAMEWORKS

RNG = np.random.default_rng(0)
X = RNG.uniform(0, 1, size=(40, 28, 28)).astype(np.float32)
Y = RNG.integers(0, 10, size=40)
SMALL = {"hidden": (16, 12, 8)}


def test_layer_values_agree_across_frameworks():
    """Same weights: the same z, a and dL/dz in every layer, whatever the framework."""
    weights = models.get_weights(models.build("deep_sigmoid_mlp", "torch", seed=1, **SMALL))
    values = {fw: diagnostics.layer_values(models.build("deep_sigmoid_mlp", fw, weights=weights, **SMALL), X, Y)
              for fw in FRAMEWORKS}
    assert [v["a"].shape for v in values["torch"]] == [(40, 16), (40, 12), (40, 8), (40, 10)]
    for fw in ("tf1", "keras"):
        for mine, ref in zip(values[fw], values["torch"]):
            for key in ("z", "a", "dz"):
                scale = np.abs(ref[key]).max()
                np.testing.assert_allclose(mine[key], ref[key], rtol=1e-4, atol=1e-5 * scale, err_msg=f"{fw} {key}")


def test_layer_values_are_the_gradients():
    """dL/dz of the last hidden layer, times its inputs, is that layer's weight gradient."""
    net = models.build("deep_sigmoid_mlp", "keras", seed=2, **SMALL)
    layers = diagnostics.layer_values(net, X, Y)
    _, grads = companion.gradients(net, X, Y)
    np.testing.assert_allclose(layers[2]["a"].T @ layers[3]["dz"], grads[6], rtol=1e-4, atol=1e-7)


def test_saturated_fraction():
    a = np.array([0.001, 0.02, 0.5, 0.9, 0.99])
    assert diagnostics.saturated_fraction(a, "sigmoid") == pytest.approx(0.6)
    assert diagnostics.saturated_fraction(np.array([-0.99, 0.0, 0.5]), "tanh") == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="saturation is defined"):
        diagnostics.saturated_fraction(a, "relu")


def test_layer_statistics_table():
    table = experiment.layer_statistics("torch", "standard", [0, 1], X, Y, model="deep_sigmoid_mlp")
    assert len(table) == 2 * 5 and set(table.seed) == {0, 1}
    assert {"act_mean", "saturated", "slope_rms", "grad_var", "weight_grad_norm", "grad_ratio"} <= set(table)
    one = table[table.seed == 0]
    assert one["grad_ratio"].iloc[-1] == 1
    assert len(experiment.gain_per_layer(one)) == 4


def test_activation_trajectory_records_every_layer():
    trajectory, history = experiment.activation_trajectory(
        "torch", 0, ((X, Y), (X[:10], Y[:10])), (X[:20], Y[:20]), steps=6, every=3, batch_size=5)
    assert sorted(set(trajectory.step)) == [0, 3, 6]
    assert sorted(set(trajectory.layer)) == [1, 2, 3, 4, 5]
    assert (trajectory.p15 <= trajectory.p85).all()
    assert history["steps"].iloc[-1] == 6


def test_gradient_variance_ratios_and_depth_experiment():
    ratios = experiment.gradient_variance_ratios("torch", "glorot_uniform", 0, X, Y)
    assert ratios.shape == (9,) and np.all(ratios > 0)
    m2, losses = experiment.depth_experiment("torch", "he_normal", 0, ((X, Y),), (X, Y), steps=3, batch_size=10)
    assert m2 > 0 and losses.shape == (3,) and np.all(np.isfinite(losses))


def test_training_curves_table():
    table = experiment.training_curves("torch", ["standard", "normal"], 0, ((X, Y), (X[:10], Y[:10])),
                                       epochs=2, optimizer="sgd", learning_rate=0.1, batch_size=20)
    assert len(table) == 4 and set(table.initializer) == {"standard", "normal"}
    assert {"epoch", "loss", "val_accuracy", "framework", "optimizer", "seed"} <= set(table)


@pytest.mark.parametrize("w", [4.2, 5.0, 6.9, 12.0, 40.0])
def test_factor_band_closed_form(w):
    assert reference.factor_band_width(w) == pytest.approx(reference.factor_band_width_numeric(w, b=-0.4),
                                                           abs=1e-4)


def test_factor_band_is_zero_below_four():
    assert np.all(reference.factor_band_width([0.5, 2.0, 4.0, -3.9]) == 0)
    assert reference.factor_band_width(-8.0) == reference.factor_band_width(8.0)


def test_tanh_prime_and_standardize():
    z = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(reference.tanh_prime(z), 4 * reference.sigmoid_prime(2 * z), rtol=1e-12)
    train, test = data.standardize(X, X[:5])
    assert train.dtype == np.float32 and abs(float(train.mean())) < 1e-4
    assert math.isclose(float(train[:, 10, 10].std()), 1, rel_tol=1e-2)
    np.testing.assert_array_equal(train[:5], test)


def test_measuring_leaves_batch_norm_statistics_alone():
    """Diagnostics and gradients run in training mode but must not move the moving statistics."""
    import keras
    from torch import nn
    nets = [nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.BatchNorm1d(8), nn.Sigmoid(), nn.Linear(8, 10)),
            keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(8),
                              keras.layers.BatchNormalization(momentum=0.5), keras.layers.Activation("sigmoid"),
                              keras.layers.Dense(10)])]
    for net in nets:
        before = models.get_weights(net)
        diagnostics.layer_values(net, X, Y)
        companion.gradients(net, X, Y)
        for after, ref in zip(models.get_weights(net), before):
            np.testing.assert_array_equal(after, ref)
