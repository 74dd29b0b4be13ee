"""Weight initializers by name, with the *same distribution* in TF1, Keras and PyTorch.

The frameworks share names but not always distributions: Keras' ``he_normal`` is a truncated normal
(cut at two standard deviations, its scale divided by 0.8796 so the variance stays 2/fan_in), while
PyTorch's ``kaiming_normal_`` is an untruncated normal. Each name below means one distribution,
built with each framework's own tools:

=========================  ==========================================  ========
name                       distribution of W (fan_in n, fan_out m)     variance
=========================  ==========================================  ========
``standard``               U(±1/√n) (PyTorch's ``nn.Linear``)          1/(3n)
``glorot_uniform``         U(±√(6/(n+m)))                              2/(n+m)
``glorot_sigmoid``         U(±4√(6/(n+m))) (4 × Glorot's bound)        32/(n+m)
``glorot_normal``          truncated normal, Keras style               2/(n+m)
``he_uniform``             U(±√(6/n))                                  2/n
``he_normal``              truncated normal, Keras style               2/n
``lecun_normal``           truncated normal, Keras style               1/n
``normal_4_over_fan_in``   N(0, 4/n), untruncated (twice He's std)     4/n
``normal``                 N(0, 1)                                     1
``normal_<std>``           N(0, std²), e.g. ``normal_0.01``            std²
=========================  ==========================================  ========

Biases always start at zero.
"""
import math
import re

# name -> (scale, mode, distribution) of variance scaling: Var = scale / fan, except "normal"
SCHEMES = {
    "standard": (1 / 3, "fan_in", "uniform"),
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    # gain one for the sigmoid, whose slope at 0 is 1/4 (the Theano tutorials' factor 4)
    "glorot_sigmoid": (16.0, "fan_avg", "uniform"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
    # too large on purpose: the clipping chapter's exploding tanh network
    "normal_4_over_fan_in": (4.0, "fan_in", "untruncated_normal"),
    "normal": None,
}
TRUNCATED_NORMAL_STD = 0.87962566103423978  # std of a unit normal cut at ±2


def scheme(name):
    """``(scale, mode, distribution)`` of initializer ``name`` (None for ``normal`` and ``normal_<std>``)."""
    if name not in SCHEMES and normal_std(name) is None:
        raise ValueError(f"unknown initializer {name!r}; the course's initializers are {sorted(SCHEMES)} "
                         f"and normal_<std> (e.g. normal_0.01: a Gaussian of standard deviation 0.01)")
    return SCHEMES.get(name)


def normal_std(name):
    """The standard deviation of a Gaussian initializer: 1 for ``normal``, std for ``normal_<std>``."""
    if name == "normal":
        return 1.0
    match = re.fullmatch(r"normal_(\d+(?:\.\d*)?(?:e-?\d+)?)", str(name))
    return float(match.group(1)) if match and float(match.group(1)) > 0 else None


def variance(name, fan_in, fan_out):
    """The variance of one weight drawn by initializer ``name``."""
    s = scheme(name)
    if s is None:
        return normal_std(name) ** 2
    scale, mode, _ = s
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return scale / fan


def keras(name):
    """The Keras initializer of ``name``."""
    import keras as k
    s = scheme(name)
    if s is None:
        return k.initializers.RandomNormal(0.0, normal_std(name))
    scale, mode, distribution = s
    return k.initializers.VarianceScaling(scale=scale, mode=mode, distribution=distribution)


def tf1(name):
    """The ``tf.compat.v1`` initializer of ``name``."""
    import tensorflow as tf
    s = scheme(name)
    if s is None:
        return tf.compat.v1.random_normal_initializer(0.0, normal_std(name))
    scale, mode, distribution = s
    return tf.compat.v1.variance_scaling_initializer(scale=scale, mode=mode, distribution=distribution)


def torch(name):
    """A function that initializes a PyTorch ``(fan_out, fan_in)`` weight in place as ``name`` does."""
    from torch import nn

    def init(weight):
        fan_out, fan_in = weight.shape
        s = scheme(name)
        if s is None:
            return nn.init.normal_(weight, 0.0, normal_std(name))
        _, _, distribution = s
        std = math.sqrt(variance(name, fan_in, fan_out))
        if distribution == "uniform":
            return nn.init.uniform_(weight, -math.sqrt(3) * std, math.sqrt(3) * std)
        if distribution == "untruncated_normal":
            return nn.init.normal_(weight, 0.0, std)
        std /= TRUNCATED_NORMAL_STD
        return nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std)

    return init


def sample(name, framework, fan_in, fan_out, seed=0):
    """A ``(fan_in, fan_out)`` kernel drawn by ``framework``'s own implementation of ``name``.

    ``name`` is one of :data:`SCHEMES`; the TF1 draw runs ``tf.compat.v1`` ops in a graph, the Keras
    one calls the Keras initializer, the PyTorch one fills an ``nn.Linear``-shaped weight in place.
    """
    import numpy as np
    if framework == "torch":
        import torch as t
        t.manual_seed(seed)
        weight = t.empty(fan_out, fan_in)
        torch(name)(weight)
        return weight.T.numpy()
    if framework == "keras":
        import keras as k
        k.utils.set_random_seed(seed)
        return np.asarray(keras(name)(shape=(fan_in, fan_out)))
    if framework == "tf1":
        import tensorflow as tf
        with tf.Graph().as_default() as graph:
            tf.compat.v1.set_random_seed(seed)
            kernel = tf.compat.v1.get_variable("kernel", (fan_in, fan_out), initializer=tf1(name))
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(kernel.initializer)
                return session.run(kernel)
    raise ValueError(f"framework must be one of ('tf1', 'keras', 'torch'), not {framework!r}")
