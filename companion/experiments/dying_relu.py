"""The experiments of the ReLU chapter on dead units: kill them with a bias shift, watch who recovers.

Each function runs one framework (``"tf1"``, ``"keras"`` or ``"torch"``) and returns plain tables, so
the chapter can loop over frameworks and seeds and assert on the results.
"""
import numpy as np

from .. import diagnostics, frameworks, models, train


def shift_biases(model, shift):
    """Add ``shift`` to every hidden layer's bias (the logits' bias is left alone)."""
    weights = frameworks.get_weights(model)
    mask = frameworks.trainable_mask(model)
    vectors = [i for i, w in enumerate(weights) if w.ndim == 1 and mask[i]]
    kernels = [i for i, w in enumerate(weights) if w.ndim == 2]
    biases = [kernels_i + 1 for kernels_i in kernels[:-1]]       # a kernel's bias follows it
    if not set(biases) <= set(vectors):
        raise ValueError("shift_biases needs a network of dense layers with biases")
    for i in biases:
        weights[i] = weights[i] + np.float32(shift)
    frameworks.set_weights(model, weights)


def bias_shift_experiment(framework, seed, data, activations, optimizers, shift=-1.0, warmup_epochs=1,
                          epochs=3, batch_size=32):
    """Kill units with a bias shift, then train the same shifted network with each activation.

    One ReLU network (``dying_relu_mlp``: 784-300-100-10, He normal) trains for ``warmup_epochs`` with
    SGD (momentum 0.9, learning rate 0.01); every hidden bias is then moved by ``shift``. The shifted
    weights are loaded into a network of each ``activations`` entry, ``(name, alpha)``, which trains
    for ``epochs`` with each of ``optimizers`` (``{"sgd": dict(optimizer="sgd", learning_rate=0.01,
    momentum=0.9), ...}``). Dead (ReLU) or dormant units are counted on the whole training set.

    Returns ``(table, first_layer)``: ``table`` has one row per (activation, optimizer, moment, layer)
    with ``moment`` in ``warmup`` (before the shift), ``shifted`` and ``epoch 1`` … and the column
    ``dead`` (fraction of the layer's units); ``first_layer`` has one row per (activation, optimizer):
    how many first-layer units were dead at the shift (``dead_at_shift``), how many of them are still
    dead at the end (``still_dead``), whether all their incoming weights are bit-identical to those at
    the shift (``unchanged``), and the mean absolute change of those weights (``mean_change``).
    """
    import pandas as pd

    (X, y) = data[0]
    base = models.build("dying_relu_mlp", framework, seed=seed)
    rows, first_rows = [], []

    def dead_rows(net, moment, name, optimizer):
        for layer, fraction in enumerate(diagnostics.dead_fraction(net, X), start=1):
            rows.append({"activation": name, "optimizer": optimizer, "moment": moment, "layer": layer,
                         "dead": fraction})

    train(base, data, epochs=warmup_epochs, batch_size=batch_size, optimizer="sgd", learning_rate=0.01,
          momentum=0.9, seed=seed)
    dead_rows(base, "warmup", "relu", "warmup")
    shift_biases(base, shift)
    shifted = frameworks.get_weights(base)
    dead_at_shift = diagnostics.dead_units(base, X)[0]
    for name, alpha in activations:
        label = name if alpha is None else f"{name} {alpha:g}"
        for optimizer, settings in optimizers.items():
            net = models.build("dying_relu_mlp", framework, seed=seed, activation=name, alpha=alpha,
                               weights=shifted)
            dead_rows(net, "shifted", label, optimizer)
            for epoch in range(1, epochs + 1):
                train(net, data, epochs=1, batch_size=batch_size, seed=seed + epoch, **settings)
                dead_rows(net, f"epoch {epoch}", label, optimizer)
            kernel = frameworks.get_weights(net)[0]
            change = np.abs(kernel[:, dead_at_shift] - shifted[0][:, dead_at_shift])
            still = diagnostics.dead_units(net, X)[0][dead_at_shift]
            first_rows.append({"activation": label, "optimizer": optimizer,
                               "dead_at_shift": int(dead_at_shift.sum()), "still_dead": int(still.sum()),
                               "unchanged": bool(np.all(change == 0)),
                               "mean_change": float(change.mean()) if change.size else 0.0})
    return pd.DataFrame(rows), pd.DataFrame(first_rows)


def dead_by_depth(framework, seed, data, depth=10, width=100, epochs=1, batch_size=32, **optimizer):
    """Dead units per layer of a deep ReLU net (He normal), at initialization and after training.

    Returns one row per hidden layer: ``layer``, ``at_init`` and ``trained`` (fractions of the layer's
    units dead on the whole training set ``data[0]``).
    """
    import pandas as pd

    X = data[0][0]
    net = models.build("mlp", framework, seed=seed, hidden=(width,) * depth, initializer="he_normal")
    at_init = diagnostics.dead_fraction(net, X)
    train(net, data, epochs=epochs, batch_size=batch_size, seed=seed, **optimizer)
    return pd.DataFrame({"layer": np.arange(1, depth + 1), "at_init": at_init,
                         "trained": diagnostics.dead_fraction(net, X)}).assign(seed=seed,
                                                                              framework=framework)


def recorded_run(framework, seed, data, probe, every, shift=0.0, epochs=1, batch_size=32, **optimizer):
    """Train ``dying_relu_mlp`` (its hidden biases moved by ``shift`` first) under an ActivationRecorder.

    Returns ``(recorder, history)``; the recorder's first recording is the network before training.
    """
    from ..monitor import ActivationRecorder

    net = models.build("dying_relu_mlp", framework, seed=seed)
    if shift:
        shift_biases(net, shift)
    recorder = ActivationRecorder(probe, every=every)
    recorder.record(0, net)
    history = train(net, data, epochs=epochs, batch_size=batch_size, seed=seed, callback=recorder,
                    **optimizer)
    return recorder, history
