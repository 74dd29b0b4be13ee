"""Per-layer statistics of a network, the same function for TF1, Keras and PyTorch models.

:func:`layer_values` asks the model's backend for every dense layer's pre-activations ``z``,
activations ``a`` and back-propagated gradients ``dL/dz`` on a batch; :func:`layer_stats` reduces them,
with the weight gradients, to one row per layer: the numbers the sigmoid chapter reasons with.
"""
import numpy as np

from . import frameworks

# derivative of the activation as a function of its output a, to measure saturation
_SLOPE_FROM_OUTPUT = {
    "sigmoid": (lambda a: a * (1 - a), 0.25),
    "tanh": (lambda a: 1 - a ** 2, 1.0),
}


def slope_from_output(activation):
    """The activation's derivative as a function of its output ``a`` (sigmoid: a(1 − a))."""
    if activation not in _SLOPE_FROM_OUTPUT:
        raise ValueError(f"slopes from outputs are defined for {sorted(_SLOPE_FROM_OUTPUT)}, "
                         f"not {activation!r}")
    return _SLOPE_FROM_OUTPUT[activation][0]


def layer_values(model, X, y, task=None):
    """``[{"z": ..., "a": ..., "dz": ...}, ...]``, one dict per dense layer (the last is the output)."""
    X = frameworks.check_inputs(model, X, y, task)
    backend = frameworks.backend(frameworks.framework_of(model))
    return backend.layer_values(model, X, np.asarray(y), frameworks.task_of(model, task))


def saturated_fraction(a, activation, below=0.1):
    """Fraction of unit-input pairs whose slope is under ``below`` × the activation's largest slope.

    For the sigmoid (largest slope 1/4) that is σ'(z) < 0.025, i.e. an output under 0.026 or over 0.974.
    """
    if activation not in _SLOPE_FROM_OUTPUT:
        raise ValueError(f"saturation is defined for {sorted(_SLOPE_FROM_OUTPUT)}, not {activation!r}")
    slope, largest = _SLOPE_FROM_OUTPUT[activation]
    return float(np.mean(slope(np.asarray(a, dtype=np.float64)) < below * largest))


def layer_stats(model, X, y, activation=None, task=None):
    """One row per hidden layer (1 = closest to the input), as a pandas table.

    Columns: ``act_mean``, ``act_std`` (of the activations over units and examples), ``saturated``
    (:func:`saturated_fraction`), ``slope_mean`` and ``slope_rms`` (mean and root mean square of the
    activation's derivative f'(z); these three when ``activation`` is ``sigmoid`` or ``tanh``), ``grad_var``
    (variance of the back-propagated gradient dL/dz), ``weight_grad_norm`` (Frobenius norm of
    dL/dW), ``weight_std`` (of the layer's kernel).
    """
    import pandas as pd

    layers = layer_values(model, X, y, task)[:-1]
    _, grads = frameworks.loss_and_gradients(model, X, y, task)
    weights = frameworks.get_weights(model)
    kernels = [w for w in weights if w.ndim == 2]
    kernel_grads = [g for g in grads if g.ndim == 2]
    rows = []
    for k, layer in enumerate(layers):
        row = {"layer": k + 1, "units": layer["a"].shape[1], "act_mean": float(layer["a"].mean()),
               "act_std": float(layer["a"].std()), "grad_var": float(layer["dz"].var()),
               "weight_grad_norm": float(np.linalg.norm(kernel_grads[k])),
               "weight_std": float(kernels[k].std())}
        if activation in _SLOPE_FROM_OUTPUT:
            slope = _SLOPE_FROM_OUTPUT[activation][0](layer["a"].astype(np.float64))
            row["slope_mean"], row["slope_rms"] = float(slope.mean()), float(np.sqrt(np.mean(slope ** 2)))
            row["saturated"] = saturated_fraction(layer["a"], activation)
        rows.append(row)
    return pd.DataFrame(rows).set_index("layer")


def unit_activity(model, X, batch_size=5_000):
    """Per hidden layer, how each unit behaves over the whole of ``X``: one dict per layer.

    ``max_z`` is each unit's largest pre-activation over the inputs and ``active`` the fraction of
    inputs on which it is positive (z > 0). The pass runs in batches, in training mode as
    :func:`layer_values` does (the same as inference for networks without batch normalization or
    dropout), with dummy labels: only the forward values are used.
    """
    X = np.asarray(X, dtype=np.float32)
    if len(X) == 0:
        raise ValueError("unit activity needs at least one input")
    max_z, positive = None, None
    for first in range(0, len(X), batch_size):
        batch = X[first:first + batch_size]
        layers = layer_values(model, batch, np.zeros(len(batch), dtype=np.int64))[:-1]
        zs = [layer["z"] for layer in layers]
        if max_z is None:
            max_z = [z.max(axis=0) for z in zs]
            positive = [(z > 0).sum(axis=0) for z in zs]
        else:
            max_z = [np.maximum(m, z.max(axis=0)) for m, z in zip(max_z, zs)]
            positive = [p + (z > 0).sum(axis=0) for p, z in zip(positive, zs)]
    return [{"max_z": m, "active": p / len(X)} for m, p in zip(max_z, positive)]


def dead_units(model, X, batch_size=5_000):
    """One boolean array per hidden layer: True for each unit whose pre-activation is ≤ 0 on every input.

    For a ReLU such a unit outputs 0 on all of ``X`` and its incoming weights get a gradient of exactly
    0 from every example: it is *dead* on ``X``. For LeakyReLU, PReLU or ELU the same units are merely
    *dormant*: they output small negative values and still receive a (smaller) gradient. Pass the whole
    training set: a unit dead on a subset may be alive on other inputs.
    """
    return [layer["max_z"] <= 0 for layer in unit_activity(model, X, batch_size)]


def dead_fraction(model, X, batch_size=5_000):
    """The fraction of dead (ReLU) or dormant units in each hidden layer on ``X`` (1 = nearest the input)."""
    return np.array([float(dead.mean()) for dead in dead_units(model, X, batch_size)])
