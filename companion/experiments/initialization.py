"""The experiments of the sigmoid chapter: saturation, vanishing gradients and initialization.

Each function runs one framework (``"tf1"``, ``"keras"`` or ``"torch"``) and returns plain tables, so
the chapter can loop over frameworks and seeds and assert on the results.
"""
import numpy as np

from .. import diagnostics, models, train


def layer_statistics(framework, initializer, seeds, X, y, model="deep_sigmoid_mlp"):
    """:func:`companion.diagnostics.layer_stats` of freshly built networks, one block of rows per seed.

    Adds the ratio of each layer's weight-gradient norm to the last hidden layer's (``grad_ratio``).
    """
    import pandas as pd

    tables = []
    for seed in seeds:
        net = models.build(model, framework, seed=seed, initializer=initializer)
        activation = models.spec(model).defaults["activation"]
        table = diagnostics.layer_stats(net, X, y, activation=activation)
        table["grad_ratio"] = table["weight_grad_norm"] / table["weight_grad_norm"].iloc[-1]
        tables.append(table.assign(seed=seed, framework=framework, initializer=initializer))
    return pd.concat(tables).reset_index()


def gain_per_layer(table):
    """Predicted factor by which the back-propagated gradient's size changes from layer k + 1 to k.

    δ_k = (W_{k+1} δ_{k+1}) ⊙ σ'(z_k): a sum of n_{k+1} terms times a slope, so its standard deviation
    changes by about √n_{k+1} · std(W_{k+1}) · RMS[σ'(z_k)] per layer (RMS ≈ E[σ'] when the slopes
    barely vary, as with small weights). ``table`` is one seed's :func:`layer_statistics`; returns one
    value per k = 1 .. L − 1.
    """
    fan = np.sqrt(table["units"].to_numpy()[1:]) * table["weight_std"].to_numpy()[1:]
    return fan * table["slope_rms"].to_numpy()[:-1]


def activation_trajectory(framework, seed, data, probe, steps, every, learning_rate=0.1, batch_size=10,
                          model="deep_sigmoid_mlp", initializer="standard"):
    """Glorot & Bengio's Figure 2: each hidden layer's activations on ``probe`` during plain SGD.

    Returns ``(trajectory, history)``: one row per measurement (``every`` steps, and step 0) with the
    columns ``step``, ``layer``, ``mean``, ``std``, ``p15``, ``p85``; and the training history.
    """
    import pandas as pd

    net = models.build(model, framework, seed=seed, initializer=initializer)
    rows = []

    def measure(step, net):
        for k, layer in enumerate(diagnostics.layer_values(net, *probe)[:-1], start=1):
            a = layer["a"]
            rows.append({"step": step, "layer": k, "mean": float(a.mean()), "std": float(a.std()),
                         "p15": float(np.percentile(a, 15)), "p85": float(np.percentile(a, 85))})

    measure(0, net)
    history = train(net, data, epochs=None,
                    batch_size=batch_size, learning_rate=learning_rate, seed=seed, steps=steps,
                    callback=measure, callback_every=every)
    return pd.DataFrame(rows), history


def gradient_variance_ratios(framework, initializer, seed, X, y, model="deep_tanh_mlp"):
    """Var[dL/dz] of each hidden layer divided by the next one's (layer k over layer k + 1)."""
    net = models.build(model, framework, seed=seed, initializer=initializer)
    variances = np.array([layer["dz"].var() for layer in diagnostics.layer_values(net, X, y)[:-1]])
    return variances[:-1] / variances[1:]


def depth_experiment(framework, initializer, seed, data, probe, steps, learning_rate=0.01,
                     batch_size=128, model="deep_relu_mlp"):
    """He et al.'s deep ReLU network: the last hidden layer's second moment, then SGD's loss per step.

    Returns ``(second_moment, step_losses)``.
    """
    net = models.build(model, framework, seed=seed, initializer=initializer)
    second_moment = float(np.mean(diagnostics.layer_values(net, *probe)[-2]["a"] ** 2))
    history = train(net, data, epochs=None,
                    batch_size=batch_size, learning_rate=learning_rate, seed=seed, steps=steps)
    return second_moment, np.array(history.attrs["step_loss"])


def training_curves(framework, initializers, seed, data, epochs, optimizer, learning_rate,
                    batch_size=64, model="deep_sigmoid_mlp"):
    """Train ``model`` once per initializer; one history table with ``initializer`` and ``epoch`` columns."""
    import pandas as pd

    tables = []
    for initializer in initializers:
        net = models.build(model, framework, seed=seed, initializer=initializer)
        history = train(net, data, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                        learning_rate=learning_rate, seed=seed)
        tables.append(history.reset_index().assign(initializer=initializer, framework=framework,
                                                   optimizer=optimizer, seed=seed))
    return pd.concat(tables, ignore_index=True)
