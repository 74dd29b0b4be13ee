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


def vanishing_summary(stats):
    """One row per framework and seed of :func:`layer_statistics`: how much δ shrinks, and why.

    Columns: ``observed`` (std of δ at layer 1 over the last hidden layer's, from ``grad_var``),
    ``predicted`` (the product of :func:`gain_per_layer`), ``gain`` (their mean) and ``weight_ratio``
    (the same ratio for the weight-gradient norms).
    """
    import pandas as pd

    rows = []
    for (framework, seed), run in stats.groupby(["framework", "seed"]):
        gains = gain_per_layer(run)
        rows.append({"framework": framework, "seed": seed,
                     "observed": float(np.sqrt(run["grad_var"].iloc[0] / run["grad_var"].iloc[-1])),
                     "predicted": float(np.prod(gains)), "gain": float(np.mean(gains)),
                     "weight_ratio": float(run["grad_ratio"].iloc[0])})
    return pd.DataFrame(rows)


def activation_trajectory(framework, seed, data, probe, steps, every, learning_rate=0.1, batch_size=10,
                          model="deep_sigmoid_mlp", initializer="standard"):
    """Glorot & Bengio's Figure 2: each hidden layer's activations on ``probe`` during plain SGD.

    Returns ``(trajectory, history)``: one row per measurement (``every`` steps, and step 0) with the
    columns ``step``, ``layer``, ``mean``, ``std``, ``p15``, ``p85`` (of the activations), ``slope``
    (the mean of the activation's derivative) and ``grad_var`` (the variance of dL/dz); and the
    training history.
    """
    import pandas as pd

    net = models.build(model, framework, seed=seed, initializer=initializer)
    slope = diagnostics.slope_from_output(models.spec(model).defaults["activation"])
    rows = []

    def measure(step, net):
        for k, layer in enumerate(diagnostics.layer_values(net, *probe)[:-1], start=1):
            a = layer["a"]
            rows.append({"step": step, "layer": k, "mean": float(a.mean()), "std": float(a.std()),
                         "p15": float(np.percentile(a, 15)), "p85": float(np.percentile(a, 85)),
                         "slope": float(slope(a.astype(np.float64)).mean()),
                         "grad_var": float(layer["dz"].var())})

    measure(0, net)
    history = train(net, data, epochs=None,
                    batch_size=batch_size, learning_rate=learning_rate, seed=seed, steps=steps,
                    callback=measure, callback_every=every)
    return pd.DataFrame(rows), history


def layer_spreads(framework, initializer, seed, X, y, model="deep_tanh_mlp"):
    """Each hidden layer's spread at initialization: ``act_std`` (of a) and ``grad_var`` (Var[dL/dz])."""
    import pandas as pd

    net = models.build(model, framework, seed=seed, initializer=initializer)
    layers = diagnostics.layer_values(net, X, y)[:-1]
    return pd.DataFrame({"layer": np.arange(1, len(layers) + 1),
                         "act_std": [float(layer["a"].std()) for layer in layers],
                         "grad_var": [float(layer["dz"].var()) for layer in layers]}).set_index("layer")


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


def symmetry_experiment(framework, data, value=0.05, steps=100, seed=0, hidden=(32, 16),
                        activation="sigmoid", learning_rate=0.1, batch_size=32):
    """Every weight set to ``value`` (biases 0), then SGD: do a layer's units stay identical?

    Returns one row per hidden layer: ``spread_before`` and ``spread_after`` (the largest difference
    between any unit's incoming weights and bias and unit 1's) and ``moved`` (the largest change of a
    weight during training).
    """
    import pandas as pd

    net = models.build("mlp", framework, seed=seed, hidden=hidden, activation=activation)
    start = [np.full_like(w, value if w.ndim == 2 else 0.0) for w in models.get_weights(net)]
    models.set_weights(net, start)
    train(net, data, epochs=None, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
          seed=seed)
    end = models.get_weights(net)

    def spread(kernel, bias):
        units = np.vstack([kernel, bias[None, :]])          # one column per unit
        return float(np.max(np.abs(units - units[:, :1])))

    return pd.DataFrame([{"layer": k + 1, "units": hidden[k],
                          "spread_before": spread(start[2 * k], start[2 * k + 1]),
                          "spread_after": spread(end[2 * k], end[2 * k + 1]),
                          "moved": float(np.max(np.abs(end[2 * k] - start[2 * k])))}
                         for k in range(len(hidden))]).set_index("layer")


def output_scale_experiment(framework, weights, scale, data, steps, learning_rate=0.01, batch_size=64,
                            seed=0, model="mlp", **options):
    """The ``model`` (with ``options``) from ``weights``, its logits layer (kernel, bias) times ``scale``.

    Returns the training loss of every SGD step, the first one measured before any update.
    """
    weights = [np.array(w) for w in weights]
    weights[-2] *= scale
    weights[-1] *= scale
    net = models.build(model, framework, seed=seed, weights=weights, **options)
    history = train(net, data, epochs=None, steps=steps, batch_size=batch_size,
                    learning_rate=learning_rate, seed=seed)
    return np.array(history.attrs["step_loss"])


def tanh_signal_propagation(gain, width=256, depth=10, n=1000, seed=0):
    """A NumPy tanh network with W ~ N(0, gain²/width) on unit-normal inputs, at initialization.

    Returns one row per layer: the second moment of the activations, E[a²], and the variance of the
    back-propagated gradient dL/dz for a unit-normal dL/da at the top.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    a, kernels, slopes, moments = rng.normal(size=(n, width)), [], [], []
    for _ in range(depth):
        kernels.append(rng.normal(0.0, gain / np.sqrt(width), (width, width)))
        a = np.tanh(a @ kernels[-1])
        slopes.append(1 - a ** 2)
        moments.append(float(np.mean(a ** 2)))
    dz = rng.normal(size=a.shape) * slopes[-1]
    grad_var = [float(dz.var())]
    for k in range(depth - 1, 0, -1):
        dz = (dz @ kernels[k].T) * slopes[k - 1]
        grad_var.insert(0, float(dz.var()))
    return pd.DataFrame({"layer": np.arange(1, depth + 1), "second_moment": moments,
                         "grad_var": grad_var}).set_index("layer")


def variance_factors(variance, fan_in, fan_out, n=4000, seed=0):
    """Glorot's two conditions, measured on one linear layer ``z = x W`` with ``Var[W] = variance``.

    Returns ``(forward, backward)``: Var[z] / Var[x] for unit-normal inputs x (theory: fan_in · Var[W])
    and Var[dL/dx] / Var[dL/dz] for unit-normal gradients dL/dz (theory: fan_out · Var[W]).
    """
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, np.sqrt(variance), (fan_in, fan_out))
    x, dz = rng.normal(size=(n, fan_in)), rng.normal(size=(n, fan_out))
    return float((x @ W).var() / x.var()), float((dz @ W.T).var() / dz.var())
