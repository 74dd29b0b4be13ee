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
    summary = experiment.vanishing_summary(table)
    assert list(summary.seed) == [0, 1] and (summary[["observed", "predicted", "gain"]] > 0).all().all()
    assert summary["predicted"][0] == pytest.approx(np.prod(experiment.gain_per_layer(one)))


def test_activation_trajectory_records_every_layer():
    trajectory, history = experiment.activation_trajectory(
        "torch", 0, ((X, Y), (X[:10], Y[:10])), (X[:20], Y[:20]), steps=6, every=3, batch_size=5)
    assert sorted(set(trajectory.step)) == [0, 3, 6]
    assert sorted(set(trajectory.layer)) == [1, 2, 3, 4, 5]
    assert (trajectory.p15 <= trajectory.p85).all()
    assert history["steps"].iloc[-1] == 6


def test_layer_spreads_and_depth_experiment():
    spreads = experiment.layer_spreads("torch", "glorot_uniform", 0, X, Y)
    assert list(spreads.index) == list(range(1, 11)) and (spreads > 0).all().all()
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


def test_activation_trajectory_records_slopes_and_gradients():
    trajectory, _ = experiment.activation_trajectory(
        "torch", 0, ((X, Y), (X[:10], Y[:10])), (X[:20], Y[:20]), steps=2, every=2, batch_size=5)
    assert trajectory["slope"].between(0, 0.25).all() and (trajectory["grad_var"] > 0).all()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_constant_weights_keep_units_identical(framework):
    table = experiment.symmetry_experiment(framework, ((X, Y),), value=0.01, steps=5, batch_size=10,
                                           hidden=(6, 4), activation="tanh")
    assert list(table.index) == [1, 2] and list(table["units"]) == [6, 4]
    assert (table["spread_before"] == 0).all() and (table["spread_after"] <= 1e-9).all()
    assert (table["moved"] > 0).all()


def test_random_weights_are_not_symmetric():
    """The spread measure sees a difference between units when there is one."""
    net = models.build("mlp", "torch", seed=0, hidden=(6, 4))
    weights = models.get_weights(net)
    assert np.abs(weights[0] - weights[0][:, :1]).max() > 0.01


def test_output_scale_scales_the_logits_layer_only():
    weights = models.get_weights(models.build("mlp", "torch", seed=0, hidden=(8,)))
    losses = experiment.output_scale_experiment("torch", weights, 0.0, ((X, Y),), steps=3, batch_size=10,
                                                hidden=(8,))
    assert losses.shape == (3,) and losses[0] == pytest.approx(math.log(10), abs=1e-6)   # zero logits
    big = experiment.output_scale_experiment("torch", weights, 50.0, ((X, Y),), steps=1, batch_size=10,
                                             hidden=(8,))
    assert big[0] > losses[0]
    np.testing.assert_array_equal(models.get_weights(models.build("mlp", "torch", seed=0, hidden=(8,)))[-2],
                                  weights[-2])                                          # input not edited


def test_tanh_signal_propagation():
    table = experiment.tanh_signal_propagation(1.0, width=32, depth=4, n=50)
    assert list(table.index) == [1, 2, 3, 4] and (table > 0).all().all()
    assert table["second_moment"].is_monotonic_decreasing


def test_variance_factors_follow_fan_in_and_fan_out():
    forward, backward = experiment.variance_factors(0.01, 100, 25, n=3000)
    assert forward == pytest.approx(1.0, rel=0.05) and backward == pytest.approx(0.25, rel=0.05)


def test_glorot_sigmoid_is_four_times_glorot():
    from companion import initializers
    assert initializers.variance("glorot_sigmoid", 300, 100) == pytest.approx(16 * initializers.variance("glorot_uniform", 300, 100))
    for framework in FRAMEWORKS:
        w = initializers.sample("glorot_sigmoid", framework, 300, 100, seed=0)
        bound = 4 * math.sqrt(6 / 400)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound


def test_book_table_renames_and_pads():
    import pandas as pd
    from companion.book import table
    frame = pd.DataFrame({"a": [0.123456, 2.0], "b": [1e-7, 3.0], "c": ["x", "y"]})
    html = table(frame, {"a": "first column", "c": "label"}, "Caption").to_html()
    assert "first column" in html and "label" in html and ">b<" not in html
    assert "0.123" in html and "0.123456" not in html and "padding" in html and "Caption" in html


def test_legend_by_keeps_colour_and_style_apart():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from companion.plots import legend_by
    fig, ax = plt.subplots()
    legend_by(ax, {"he": "C0", "lecun": "C3"}, {"tf1": ":", "torch": "-"}, "initializer", "framework")
    legends = [child for child in ax.get_children() if isinstance(child, matplotlib.legend.Legend)]
    assert [lg.get_title().get_text() for lg in legends] == ["initializer", "framework"]
    colour_lines, style_lines = (lg.get_lines() for lg in legends)
    assert {line.get_linestyle() for line in colour_lines} == {"-"}
    assert len({line.get_color() for line in style_lines}) == 1
    plt.close(fig)
