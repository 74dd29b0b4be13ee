"""Batch normalization's settings in the three frameworks, and the conversions between them.

One layer, three conventions. For a batch of ``n`` examples with batch mean ``mean`` and biased batch
variance ``var`` (the mean of the squared deviations, divided by ``n``), a training step updates:

==============================  ============================================  =========  =======
layer                           moving statistics                             momentum   epsilon
==============================  ============================================  =========  =======
TF1 ``batch_normalization``     moving = m · moving + (1 − m) · batch         m = 0.99   1e-3
Keras ``BatchNormalization``    moving = m · moving + (1 − m) · batch         m = 0.99   1e-3
PyTorch ``BatchNorm1d``         running = (1 − m) · running + m · batch,      m = 0.1    1e-5
                                with the *unbiased* variance n/(n − 1) · var
==============================  ============================================  =========  =======

(TF1's fused kernel, chosen for 4-D inputs, also averages the unbiased variance; the course's networks
are 2-D.) All three normalize the batch itself with the biased variance. So "the same" layer needs
momentum ``m`` in Keras and TF1 and ``1 − m`` in PyTorch, one epsilon passed to all three, and a
PyTorch layer that averages the biased variance: :class:`companion.torch_layers.BatchNorm1d`.
:func:`layer_arguments` gives each framework's arguments for one setting. Nothing here imports a
framework.
"""
import numpy as np

DEFAULTS = {
    "tf1": {"momentum": 0.99, "epsilon": 1e-3, "running_variance": "biased"},
    "keras": {"momentum": 0.99, "epsilon": 1e-3, "running_variance": "biased"},
    "torch": {"momentum": 0.1, "epsilon": 1e-5, "running_variance": "unbiased"},
}
"""Each framework's defaults, in its own meaning of momentum (PyTorch's weights the *new* batch)."""


def _check_momentum(momentum, meaning):
    if not 0 <= momentum <= 1:
        raise ValueError(f"a batch-normalization momentum is a weight between 0 and 1 ({meaning}), "
                         f"got {momentum}")
    return float(momentum)


def torch_momentum(keras_momentum):
    """PyTorch's ``momentum`` for a Keras/TF1 ``momentum``: ``1 − m`` (0.99 → 0.01, 0.9 → 0.1)."""
    return 1.0 - _check_momentum(keras_momentum, "Keras' weight of the old moving value")


def keras_momentum(torch_momentum):
    """Keras'/TF1's ``momentum`` for a PyTorch ``momentum``: ``1 − m`` (0.1 → 0.9)."""
    return 1.0 - _check_momentum(torch_momentum, "PyTorch's weight of the new batch value")


def layer_arguments(framework, momentum=0.99, epsilon=1e-3):
    """The keyword arguments of ``framework``'s batch-normalization layer for Keras' ``momentum``.

    ``momentum`` is given in Keras' (and TF1's) meaning, the weight of the old moving value; PyTorch
    gets ``1 − momentum`` and ``eps``. The PyTorch layer must be :class:`companion.torch_layers.BatchNorm1d`
    (biased running variance) to compute what the other two do.
    """
    momentum = _check_momentum(momentum, "Keras' weight of the old moving value")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive (it keeps the division finite), got {epsilon}")
    if framework in ("tf1", "keras"):
        return {"momentum": momentum, "epsilon": epsilon}
    if framework == "torch":
        return {"momentum": 1.0 - momentum, "eps": epsilon}
    raise ValueError(f"framework must be one of ('tf1', 'keras', 'torch'), not {framework!r}")


def moving_statistics(batches, momentum, running_variance="biased", mean=0.0, variance=1.0):
    """The moving mean and variance after each batch, by the update rule written out (float64).

    ``batches`` is a sequence of ``(n, channels)`` arrays; ``momentum`` is the weight of the old value
    (Keras' meaning); ``running_variance`` is ``"biased"`` (Keras, TF1) or ``"unbiased"`` (PyTorch).
    Returns two ``(steps, channels)`` arrays, starting from ``mean`` and ``variance`` (the three
    frameworks start at 0 and 1).
    """
    if running_variance not in ("biased", "unbiased"):
        raise ValueError(f"running_variance must be 'biased' or 'unbiased', not {running_variance!r}")
    means, variances = [], []
    for batch in batches:
        batch = np.asarray(batch, dtype=np.float64)
        n = len(batch)
        var = batch.var(axis=0)
        if running_variance == "unbiased":
            var = var * n / (n - 1)
        mean = momentum * mean + (1 - momentum) * batch.mean(axis=0)
        variance = momentum * variance + (1 - momentum) * var
        means.append(mean)
        variances.append(variance)
    return np.array(means), np.array(variances)
