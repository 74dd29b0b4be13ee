"""The batch-normalization chapter's experiments; each returns a table (or plain numbers) to assert on."""
import numpy as np

from .. import batchnorm, frameworks, models, reference
from ..training import TrainingDiverged, train


def gradient_check(seeds, n=32, channels=4, epsilon=1e-3, h=1e-5):
    """Per seed, the relative error of each backward pass against central finite differences.

    One random batch per seed (mean 2, standard deviation 3, and a random γ, β and upstream dy); the
    loss is Σ dy · BN(x). Columns: ``seed``, ``full`` (the chain rule through μ and σ², step by step),
    ``compact``, ``constant_statistics`` (μ and σ² treated as constants): the relative error
    ‖dx − numeric‖ / ‖numeric‖ of each.
    """
    import pandas as pd

    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        x = rng.normal(2.0, 3.0, size=(n, channels))
        gamma, beta = rng.normal(1.0, 0.5, size=channels), rng.normal(0.0, 1.0, size=channels)
        dy = rng.normal(size=(n, channels))
        _, cache = reference.batch_norm_forward(x, gamma, beta, epsilon)

        def loss(weights):
            return float(np.sum(dy * reference.batch_norm_forward(weights[0], gamma, beta, epsilon)[0]))

        numeric = reference.finite_difference(loss, [x], 0, h=h)
        row = {"seed": seed}
        for label, backward in (("full", reference.batch_norm_backward),
                                ("compact", reference.batch_norm_backward_compact),
                                ("constant_statistics", reference.batch_norm_backward_constant_statistics)):
            dx = backward(dy, cache)[0]
            row[label] = float(np.linalg.norm(dx - numeric) / np.linalg.norm(numeric))
        rows.append(row)
    return pd.DataFrame(rows)


def autodiff_check(seed=0, n=32, channels=4, epsilon=1e-3):
    """The largest relative difference between each framework's autodiff and the NumPy reference.

    One row per (framework, dtype): ``y``, ``dx``, ``dgamma``, ``dbeta``, each max |got − ref| / max |ref|.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, size=(n, channels))
    gamma, beta, dy = rng.normal(1.0, 0.5, channels), rng.normal(0.0, 1.0, channels), rng.normal(size=(n, channels))
    y, cache = reference.batch_norm_forward(x, gamma, beta, epsilon)
    expected = (y, *reference.batch_norm_backward(dy, cache))
    rows = []
    for framework in models.FRAMEWORKS:
        for dtype in (np.float64, np.float32):
            got = frameworks.batch_norm_gradients(x.astype(dtype), gamma, beta, dy, framework, epsilon)
            row = {"framework": framework, "dtype": np.dtype(dtype).name}
            for label, g, e in zip(("y", "dx", "dgamma", "dbeta"), got, expected):
                row[label] = float(np.abs(g - e).max() / np.abs(e).max())
            rows.append(row)
    return pd.DataFrame(rows)


def layer_moving_statistics(framework, batches, momentum=0.99, epsilon=1e-3, settings="course"):
    """The moving mean and variance of one batch-normalization layer after each training step.

    ``batches`` is ``(steps, n, channels)``. ``settings="course"``: the layer configured by
    :func:`companion.batchnorm.layer_arguments` from Keras' ``momentum`` (PyTorch: the course's
    ``BatchNorm1d``); ``"defaults"``: the framework's own layer with its own defaults, nothing passed.
    Returns two ``(steps, channels)`` arrays.
    """
    batches = np.asarray(batches, dtype=np.float32)
    if batches.ndim != 3:
        raise ValueError(f"batches must have shape (steps, n, channels), got {batches.shape}")
    if settings not in ("course", "defaults"):
        raise ValueError(f"settings must be 'course' or 'defaults', not {settings!r}")
    channels = batches.shape[-1]
    arguments = batchnorm.layer_arguments(framework, momentum, epsilon) if settings == "course" else {}
    means, variances = [], []
    if framework == "torch":
        import torch
        from ..torch_layers import BatchNorm1d
        layer = (BatchNorm1d if settings == "course" else torch.nn.BatchNorm1d)(channels, **arguments).train()
        for batch in batches:
            layer(torch.tensor(batch))
            means.append(layer.running_mean.numpy().copy())
            variances.append(layer.running_var.numpy().copy())
    elif framework == "keras":
        import keras
        layer = keras.layers.BatchNormalization(**arguments)
        for batch in batches:
            layer(batch, training=True)
            means.append(layer.moving_mean.numpy())
            variances.append(layer.moving_variance.numpy())
    else:
        import tensorflow as tf
        from ..tf1.layers import batch_normalization
        v1 = tf.compat.v1
        with tf.Graph().as_default() as graph:
            x = v1.placeholder(tf.float32, (None, channels))
            batch_normalization(x, training=True, **arguments)
            moving = [v for v in v1.global_variables() if "moving" in v.name]
            updates = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
            with v1.Session(graph=graph) as session:
                session.run(v1.global_variables_initializer())
                for batch in batches:
                    session.run(updates, {x: batch})
                    mean, variance = session.run(moving)
                    means.append(mean)
                    variances.append(variance)
    return np.array(means), np.array(variances)


def moving_statistics_table(batches, momentum=0.99, epsilon=1e-3):
    """Per framework and setting, how far the moving statistics are from the written-out rule.

    One row per (framework, settings ``course`` or ``defaults``): ``mean_error`` and ``variance_error``,
    the largest |framework − rule| over steps and channels, where the rule is
    :func:`companion.batchnorm.moving_statistics` with Keras' ``momentum`` and the biased variance;
    and ``final_mean``, ``final_variance`` of channel 0 after the last step.
    """
    import pandas as pd

    rule_mean, rule_variance = batchnorm.moving_statistics(batches, momentum)
    rows = []
    for settings in ("course", "defaults"):
        for framework in models.FRAMEWORKS:
            mean, variance = layer_moving_statistics(framework, batches, momentum, epsilon, settings)
            rows.append({"framework": framework, "settings": settings,
                         "mean_error": float(np.abs(mean - rule_mean).max()),
                         "variance_error": float(np.abs(variance - rule_variance).max()),
                         "final_mean": float(mean[-1, 0]), "final_variance": float(variance[-1, 0])})
    return pd.DataFrame(rows)


def bias_before_bn_gradient(framework, X, y, seed=0, hidden=(300, 100)):
    """BN right after a Dense layer cancels its bias: the bias gradients beside the kernel's.

    The ``bn_before_mlp`` network with ``use_bias=True`` and random biases: returns a dict with
    ``largest_bias_gradient`` (over the hidden Dense layers, whose outputs BN normalizes),
    ``largest_kernel_gradient`` (the same layers' kernels) and ``output_change``, the largest change of
    the training-mode outputs when every hidden bias is shifted by 1.
    """
    rng = np.random.default_rng(seed)
    model = models.build("bn_before_mlp", framework, seed=seed, use_bias=True, hidden=hidden)
    weights = frameworks.get_weights(model)
    hidden_biases = _hidden_bias_indices(weights, hidden)
    for i in hidden_biases:
        weights[i] = rng.normal(0, 1, size=weights[i].shape).astype(np.float32)
    frameworks.set_weights(model, weights)
    _, grads = frameworks.loss_and_gradients(model, X, y)
    by_index = dict(zip([i for i, t in enumerate(frameworks.trainable_mask(model)) if t], grads))
    before = frameworks.predict(model, X, training=True)
    shifted = [w + 1 if i in hidden_biases else w for i, w in enumerate(weights)]
    frameworks.set_weights(model, shifted)
    after = frameworks.predict(model, X, training=True)
    return {"largest_bias_gradient": max(float(np.abs(by_index[i]).max()) for i in hidden_biases),
            "largest_kernel_gradient": max(float(np.abs(by_index[i - 1]).max()) for i in hidden_biases),
            "output_change": float(np.abs(after - before).max()),
            "output_scale": float(np.abs(before).max())}


def _hidden_bias_indices(weights, hidden):
    """Indices of the hidden Dense biases in a neutral list: 1-D arrays right after a 2-D kernel."""
    kernels = [i for i, w in enumerate(weights) if w.ndim == 2][:len(hidden)]
    return [i + 1 for i in kernels]


def sigmoid_input_percentiles(model, X, unit=0, percentiles=(15, 50, 85)):
    """The percentiles, over the inputs ``X``, of what the last sigmoid of a PyTorch ``Sequential`` receives.

    For a network with BN before its sigmoids, that is BN's output after its scale and shift, with
    ``X``'s own batch statistics (training mode, the model left unchanged): the distribution the layer
    sees during training, as in Ioffe & Szegedy's Figure 1, not skewed by the lag of moving averages.
    """
    import torch
    from torch import nn
    from ..frameworks.torch import _training_pass

    last = [m for m in model if isinstance(m, nn.Sigmoid)][-1]
    seen = {}
    hook = last.register_forward_hook(lambda module, inputs, output: seen.update(z=inputs[0]))
    try:
        with torch.no_grad(), _training_pass(model) as device:
            model(torch.tensor(X, device=device))
    finally:
        hook.remove()
    return np.percentile(seen["z"][:, unit].cpu().numpy(), percentiles)


def ioffe_figure_1(seed, data, probe, steps, every, with_bn, learning_rate=0.5, batch_size=60, std=0.1):
    """Ioffe & Szegedy's Figure 1 in miniature, in PyTorch: 3 x 100 sigmoid units, with or without BN.

    Trains ``ioffe_bn_sigmoid_mlp`` (or ``ioffe_sigmoid_mlp``) with Gaussian weights of standard
    deviation ``std`` and zero biases, by SGD (``learning_rate``, batches of ``batch_size``) for
    ``steps`` updates. Every ``every`` steps (and at step 0) it records the accuracy on ``probe``
    ``(X, y)`` and the 15th, 50th and 85th percentiles of the input of unit 0 of the last sigmoid layer.
    Returns a table: ``step``, ``accuracy``, ``p15``, ``p50``, ``p85``, ``bn``, ``seed``.
    """
    import pandas as pd

    name = "ioffe_bn_sigmoid_mlp" if with_bn else "ioffe_sigmoid_mlp"
    init = f"normal_{std:g}"
    net = models.build(name, "torch", seed=seed, initializer=init, output_initializer=init)
    X_probe, y_probe = probe
    rows = []

    def record(step, model):
        p15, p50, p85 = sigmoid_input_percentiles(model, X_probe)
        accuracy = float((frameworks.predict(model, X_probe).argmax(axis=1) == y_probe).mean())
        rows.append({"step": step, "accuracy": accuracy, "p15": p15, "p50": p50, "p85": p85})

    record(0, net)
    train(net, data, epochs=None, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
          seed=seed, callback=record, callback_every=every, progress=False)
    return pd.DataFrame(rows).assign(bn=with_bn, seed=seed)


def median_drift(table):
    """Per (bn, seed): max − min over training of the median input (``p50``) of the recorded unit."""
    drift = table.groupby(["bn", "seed"])["p50"].agg(lambda p: p.max() - p.min())
    return drift.rename("drift").reset_index()


def initialization_scale_sweep(framework, scales, seed, data, probe, steps, with_bn, hidden=(100,) * 5,
                               activation="sigmoid", learning_rate=0.5, batch_size=60, epsilon=1e-3):
    """Final probe accuracy and loss of one deep network per initial weight scale, with or without BN.

    Every kernel is drawn from N(0, scale²) (``normal_<scale>``), biases zero; ``with_bn`` puts BN before
    each activation (``ioffe_bn_sigmoid_mlp``'s builder, no Dense bias), else none
    (``ioffe_sigmoid_mlp``'s); ``epsilon`` is BN's ε. Each network trains ``steps`` SGD updates. A run whose loss becomes NaN
    or infinite is recorded with ``diverged`` True and chance accuracy, 0.1. Returns a table: ``scale``,
    ``bn``, ``epsilon`` (NaN without BN), ``seed``, ``accuracy``, ``loss``, ``diverged``.
    """
    import pandas as pd

    name = "ioffe_bn_sigmoid_mlp" if with_bn else "ioffe_sigmoid_mlp"
    X_probe, y_probe = probe
    rows = []
    for scale in scales:
        init = f"normal_{scale:.6g}"
        options = dict(hidden=tuple(hidden), activation=activation, initializer=init, output_initializer=init)
        if with_bn:
            options["epsilon"] = epsilon
        net = models.build(name, framework, seed=seed, **options)
        try:
            train(net, data, epochs=None, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                  seed=seed, progress=False)
            logits = frameworks.predict(net, X_probe)
            accuracy = float((logits.argmax(axis=1) == y_probe).mean())
            loss, diverged = float(_cross_entropy(logits, y_probe)), False
        except TrainingDiverged:
            accuracy, loss, diverged = 0.1, float("nan"), True
        rows.append({"scale": float(scale), "bn": with_bn, "epsilon": epsilon if with_bn else np.nan,
                     "seed": seed, "accuracy": accuracy,
                     "loss": loss, "diverged": diverged})
    return pd.DataFrame(rows)


def _cross_entropy(logits, y):
    """Mean softmax cross-entropy of float logits, computed stably in float64."""
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(y)), y]))


def update_ops_bug(seed, data, probe, epochs, learning_rate=0.01, batch_size=200, model="bn_elu_mlp",
                   **options):
    """The classic TF1 bug: training ops built without the ``UPDATE_OPS`` as control dependencies.

    Two TF1 twins of ``model`` from the same initial weights train on the same batches by SGD, one
    with ``minimize`` under ``control_dependencies(UPDATE_OPS)``, one with a bare ``minimize`` (the
    moving statistics never move). After each epoch both are measured on ``probe``: accuracy in
    inference mode (moving statistics) and in training mode (the probe's batch statistics). Returns a
    table: ``epoch``, ``update_ops`` (bool), ``inference_accuracy``, ``training_mode_accuracy``,
    ``moving_variance_change`` (the largest change of any moving variance since initialization).
    """
    import pandas as pd
    import tensorflow as tf

    from ..training import OptimizerConfig

    v1 = tf.compat.v1
    weights = frameworks.get_weights(models.build(model, "torch", seed=seed, **options))
    (X, y), X_probe, y_probe = data[0], *probe
    rows = []
    for update_ops in (True, False):
        net = models.build(model, "tf1", seed=seed, weights=weights, **options)
        if update_ops:
            train_op = net.train_op(OptimizerConfig("sgd", learning_rate))
        else:
            with net.graph.as_default():                         # the bug: no control_dependencies
                train_op = v1.train.GradientDescentOptimizer(learning_rate).minimize(net.loss)
        moving = [i for i, v in enumerate(net.variables) if "moving_variance" in v.name]
        rng = np.random.default_rng(seed)
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(X))
            for first in range(0, len(X), batch_size):
                batch = order[first:first + batch_size]
                net.session.run(train_op, net.feed(X[batch], y[batch], training=True))
            now = frameworks.get_weights(net)
            rows.append({"epoch": epoch, "update_ops": update_ops,
                         "inference_accuracy": _accuracy(net, X_probe, y_probe, training=False),
                         "training_mode_accuracy": _accuracy(net, X_probe, y_probe, training=True),
                         "moving_variance_change": max(float(np.abs(now[i] - weights[i]).max()) for i in moving)})
        net.close()
    return pd.DataFrame(rows).assign(seed=seed)


def _accuracy(model, X, y, training=False, batch_size=2_000):
    correct = 0
    for first in range(0, len(X), batch_size):
        logits = frameworks.predict(model, X[first:first + batch_size], training=training)
        correct += int((logits.argmax(axis=1) == y[first:first + batch_size]).sum())
    return correct / len(X)


def with_constant_statistics(model):
    """A copy of a PyTorch model whose batch normalizations treat μ and σ² as constants in backward."""
    import copy
    from torch import nn
    from ..torch_layers import BatchNorm1d, ConstantStatisticsBatchNorm1d

    twin = copy.deepcopy(model)
    for name, module in list(twin.named_children()):
        if isinstance(module, BatchNorm1d):
            replacement = ConstantStatisticsBatchNorm1d(module.num_features, eps=module.eps,
                                                        momentum=module.momentum)
            replacement.load_state_dict(module.state_dict())
            setattr(twin, name, replacement)
        elif isinstance(module, nn.BatchNorm1d):
            raise TypeError("with_constant_statistics expects the course's BatchNorm1d layers")
    return twin


def constant_statistics_training(seed, data, probe, steps, every, learning_rate=0.01, batch_size=32,
                                 hidden=(300, 100)):
    """What the gradient without the batch statistics' terms does to training, in PyTorch.

    ``bn_before_mlp`` with a bias in each Dense layer (BN right after it) trains twice from the same
    weights and batches: with the true gradient, and with :func:`with_constant_statistics`. Every
    ``every`` steps: the probe accuracy (inference mode), the norm of the hidden Dense biases and of
    the hidden kernels. Returns a table: ``step``, ``gradient`` (``"through statistics"`` or
    ``"constant statistics"``), ``accuracy``, ``bias_norm``, ``kernel_norm``, ``seed``.
    """
    import pandas as pd

    reference_net = models.build("bn_before_mlp", "torch", seed=seed, use_bias=True, hidden=hidden)
    weights = frameworks.get_weights(reference_net)
    biases = _hidden_bias_indices(weights, hidden)
    X_probe, y_probe = probe
    rows = []
    for label in ("through statistics", "constant statistics"):
        net = models.build("bn_before_mlp", "torch", seed=seed, use_bias=True, hidden=hidden, weights=weights)
        if label == "constant statistics":
            net = with_constant_statistics(net)

        def record(step, model, label=label):
            w = frameworks.get_weights(model)
            rows.append({"step": step, "gradient": label, "accuracy": _accuracy(model, X_probe, y_probe),
                         "bias_norm": float(np.sqrt(sum((w[i] ** 2).sum() for i in biases))),
                         "kernel_norm": float(np.sqrt(sum((w[i - 1] ** 2).sum() for i in biases)))})

        record(0, net)
        try:
            train(net, data, epochs=None, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                  seed=seed, callback=record, callback_every=every, progress=False)
        except TrainingDiverged:
            rows.append({"step": np.nan, "gradient": label, "accuracy": np.nan, "bias_norm": np.inf,
                         "kernel_norm": np.inf})
    return pd.DataFrame(rows).assign(seed=seed)


def train_mode_evaluation(model, X, y, batch_sizes=(2_000, 8)):
    """PyTorch's version of the bug: evaluating a BN network without ``model.eval()``.

    On a trained PyTorch model: the accuracy on ``(X, y)`` in ``eval()`` mode, then in ``train()`` mode
    in batches of each of ``batch_sizes`` (each image normalized with its batch's statistics). Each
    train-mode pass runs as a forgotten ``eval()`` would, under ``no_grad``: it also overwrites the
    running statistics with the evaluation data's; the largest change of a running mean is recorded, and
    the model is restored after each pass. Returns a table: ``mode``, ``batch_size``, ``accuracy``,
    ``running_mean_change``; and whether a batch of one image fails in train mode (PyTorch refuses to
    normalize a single value per channel), as ``table.attrs["single_image_error"]``.
    """
    import pandas as pd
    import torch

    def accuracy(batch_size):
        correct = 0
        with torch.no_grad():
            for first in range(0, len(X), batch_size):
                logits = model(torch.tensor(X[first:first + batch_size]))
                correct += int((logits.argmax(dim=1).numpy() == y[first:first + batch_size]).sum())
        return correct / len(X)

    saved = {name: b.clone() for name, b in model.named_buffers()}
    means = [name for name in saved if name.endswith("running_mean")]

    def restore():
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(saved[name])

    model.eval()
    rows = [{"mode": "eval()", "batch_size": 2_000, "accuracy": accuracy(2_000), "running_mean_change": 0.0}]
    model.train()
    for batch_size in batch_sizes:
        rows.append({"mode": "train()", "batch_size": batch_size, "accuracy": accuracy(batch_size),
                     "running_mean_change": max(float((b - saved[n]).abs().max())
                                                for n, b in model.named_buffers() if n in means)})
        restore()
    try:
        with torch.no_grad():
            model(torch.tensor(X[:1]))
        single = ""
    except ValueError as error:
        single = str(error)
    restore()
    model.eval()
    table = pd.DataFrame(rows)
    table.attrs["single_image_error"] = single
    return table
