"""The experiments of the ReLU chapter on the nonsaturating activations: derivatives, gradients at
initialization, SELU's self-normalization and the trained comparisons.

Each function runs one framework (``"tf1"``, ``"keras"`` or ``"torch"``) where a framework is involved
and returns plain tables, so the chapter can loop over frameworks and seeds and assert on the results.
"""
import numpy as np

from .. import activations, diagnostics, frameworks, models, reference, train

# The initializer each activation calls for (Glorot for the saturating ones, He for the ReLU family,
# LeCun for SELU): the pairing of the chapter's comparisons.
INITIALIZER_FOR = {"sigmoid": "glorot_uniform", "tanh": "glorot_uniform", "relu": "he_normal",
                   "leaky_relu": "he_normal", "prelu": "he_normal", "elu": "he_normal",
                   "selu": "lecun_normal", "gelu": "he_normal", "swish": "he_normal"}


def derivative_check(z, variants, frameworks_=models.FRAMEWORKS):
    """Each framework's autodiff of each activation against :func:`companion.reference.activation_prime`.

    ``variants`` is a list of ``(name, alpha)``. One row per (activation, alpha, framework, dtype):
    ``max_error`` (largest absolute difference from the closed form, away from z = 0, where the
    derivative jumps and each framework picks a side), ``at_zero`` (the framework's value at z = 0),
    ``alpha_used`` (the largest difference from the closed form taken with alpha rounded to float32,
    for parametrized activations: TensorFlow's LeakyRelu stores its alpha as a float32 attribute).
    """
    import pandas as pd

    z = np.asarray(z, dtype=np.float64)
    away = z != 0
    rows = []
    for name, alpha in variants:
        name, alpha = activations.check(name, alpha)
        exact = reference.activation_prime(name, z, alpha)
        rounded = exact if alpha is None else reference.activation_prime(name, z, float(np.float32(alpha)))
        for framework in frameworks_:
            for dtype in (np.float64, np.float32):
                d = frameworks.activation_derivative(name, z.astype(dtype), framework, alpha)
                rows.append({"activation": name, "alpha": alpha, "framework": framework,
                             "dtype": np.dtype(dtype).name,
                             "max_error": float(np.max(np.abs(d - exact)[away])),
                             "alpha_float32_error": float(np.max(np.abs(d - rounded)[away])),
                             "at_zero": float(d[~away][0]) if (~away).any() else np.nan})
    return pd.DataFrame(rows)


def gradients_at_init(framework, seed, X, y, names, depth=10, width=100):
    """The same deep MLP with each activation (and the initializer it calls for), at initialization.

    Returns ``(table, kernel_grads)``: ``table`` has one row per (activation, layer) with the columns of
    :func:`companion.diagnostics.layer_stats` (``weight_grad_norm`` among them); ``kernel_grads`` maps
    each activation to the list of its hidden kernels' gradients, for histograms.
    """
    import pandas as pd

    tables, kernel_grads = [], {}
    for name in names:
        net = models.build("mlp", framework, seed=seed, hidden=(width,) * depth, activation=name,
                           initializer=INITIALIZER_FOR[name])
        stats = diagnostics.layer_stats(net, X, y)
        tables.append(stats.reset_index().assign(activation=name, initializer=INITIALIZER_FOR[name],
                                                 seed=seed, framework=framework))
        _, grads = frameworks.loss_and_gradients(net, X, y)
        kernel_grads[name] = [g for g in grads if g.ndim == 2][:-1]
    return pd.concat(tables, ignore_index=True), kernel_grads


def forward_statistics(framework, seed, X, depth, width, activation, initializer):
    """Each hidden layer's activation mean and variance (over units and examples) at initialization."""
    import pandas as pd

    net = models.build("mlp", framework, seed=seed, hidden=(width,) * depth, activation=activation,
                       initializer=initializer)
    layers = diagnostics.layer_values(net, X, np.zeros(len(X), dtype=np.int64))[:-1]
    return pd.DataFrame({"layer": np.arange(1, depth + 1),
                         "mean": [float(layer["a"].mean()) for layer in layers],
                         "variance": [float(layer["a"].var()) for layer in layers],
                         "second_moment": [float(np.mean(layer["a"].astype(np.float64) ** 2))
                                           for layer in layers]}
                        ).assign(seed=seed, framework=framework, activation=activation)


def selu_constants(framework):
    """SELU's λ and α as ``framework`` computes them: λ = selu(1), α = −selu(−40)/λ (float64)."""
    values = frameworks.activation_values("selu", np.array([1.0, -40.0]), framework)
    return {"lambda": float(values[0]), "alpha": float(-values[1] / values[0])}


def train_variants(framework, seed, data, variants, epochs, optimizer="sgd", learning_rate=1e-3,
                   momentum=0.0, batch_size=32):
    """Train one network per variant from the *same initial weights in every framework*.

    ``variants`` maps a label to ``(model name, options)``; each network's initial weights are the
    PyTorch twin's (seeded with ``seed``), loaded into ``framework``'s network. Returns one history table
    with ``variant``, ``framework``, ``seed`` and ``epoch`` columns.
    """
    import pandas as pd

    tables = []
    for label, (name, options) in variants.items():
        weights = frameworks.get_weights(models.build(name, "torch", seed=seed, **options))
        net = models.build(name, framework, seed=seed, weights=weights, **options)
        history = train(net, data, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                        learning_rate=learning_rate, momentum=momentum, seed=seed)
        tables.append(history.reset_index().assign(variant=label, framework=framework, seed=seed))
    return pd.concat(tables, ignore_index=True)


def zero_slope_onset(name, alpha=None, frameworks_=models.FRAMEWORKS, step=0.01, lowest=-120.0):
    """Where each framework's autodiff slope of ``name`` first becomes exactly 0, going down from z = 0.

    One row per (framework, dtype) with ``onset``: the largest z ≤ 0 on a grid of ``step`` at which the
    derivative is exactly 0 (NaN if it never is down to ``lowest``). ELU's slope α e^z is positive for
    every z; a zero is round-off: float underflow of e^z, or, where a framework computes the slope from
    the output (y + α, TensorFlow's kernels), the rounding of y + α to 0.
    """
    import pandas as pd

    z = np.arange(0.0, lowest - step / 2, -step)
    rows = []
    for framework in frameworks_:
        for dtype in (np.float32, np.float64):
            d = frameworks.activation_derivative(name, z.astype(dtype), framework, alpha)
            zero = np.flatnonzero((d == 0) & (z < 0))
            rows.append({"framework": framework, "dtype": np.dtype(dtype).name,
                         "onset": float(z[zero[0]]) if zero.size else np.nan})
    return pd.DataFrame(rows)
