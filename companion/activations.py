"""Activation functions by name in each framework, with every parameter explicit.

The frameworks' defaults differ (LeakyReLU's slope is 0.3 in Keras' layer, 0.2 in
``keras.activations.leaky_relu`` and ``tf.nn.leaky_relu``, 0.01 in PyTorch; PReLU starts at 0 per unit in
Keras and at 0.25 shared in PyTorch; ``tf.nn.elu`` has no alpha at all). The course passes every such
parameter itself, so that one name and one ``alpha`` compute one function in the three frameworks.

``alpha`` means LeakyReLU's negative slope, PReLU's initial (learnable) slope, or ELU's α; it is None for
the activations without a parameter. Left out, it takes the course's value in :data:`ALPHA`.
"""
NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "swish")

# The course's parameter of each parametrized activation, when a caller gives none (Maas et al.'s 0.01
# for LeakyReLU, He et al.'s 0.25 for PReLU, Clevert et al.'s 1 for ELU). Models that copy a published
# run set their own (the seed notebook's LeakyReLU has Keras' 0.3).
ALPHA = {"leaky_relu": 0.01, "prelu": 0.25, "elu": 1.0}

# SELU's two constants (Klambauer et al. 2017, eq. 14), to 16 digits
SELU_LAMBDA = 1.0507009873554804934193349852946
SELU_ALPHA = 1.6732632423543772848170429916717


def check(name, alpha=None):
    """``(name, alpha)`` with ``alpha`` filled in; an unknown name or a misplaced alpha is a clear error."""
    if name not in NAMES:
        raise ValueError(f"unknown activation {name!r}; the course's activations are {NAMES}")
    if name not in ALPHA:
        if alpha is not None:
            raise ValueError(f"{name} has no parameter: alpha={alpha!r} would be ignored; leave it out")
        return name, None
    alpha = ALPHA[name] if alpha is None else float(alpha)
    if name == "elu" and not alpha > 0:
        raise ValueError(f"ELU's alpha must be positive, not {alpha}")
    return name, alpha


def tf1(name, alpha=None, name_scope=None):
    """A function ``z -> a`` of ``tf.compat.v1`` ops computing activation ``name``.

    PReLU creates its per-unit slopes as a variable ``alpha`` (``name_scope/prelu/alpha``), so call the
    function once per layer. The output is named ``<name_scope>/activation`` when a scope is given, so
    the course's layer diagnostics find it in the graph.
    """
    import tensorflow as tf
    v1 = tf.compat.v1
    name, alpha = check(name, alpha)

    def elu(z):
        if alpha == 1.0:
            return tf.nn.elu(z)
        # tf.nn.elu has no alpha; exp of the clipped input keeps the unused branch's gradient finite
        return tf.where(z > 0, z, alpha * tf.math.expm1(tf.minimum(z, 0.0)))

    def prelu(z):
        with v1.variable_scope(f"{name_scope}/prelu" if name_scope else "prelu"):
            slopes = v1.get_variable("alpha", z.shape[-1:], dtype=z.dtype.base_dtype,
                                     initializer=v1.constant_initializer(alpha))
        return tf.nn.relu(z) - slopes * tf.nn.relu(-z)

    functions = {"sigmoid": tf.nn.sigmoid, "tanh": tf.nn.tanh, "relu": tf.nn.relu,
                 "leaky_relu": lambda z: tf.nn.leaky_relu(z, alpha=alpha), "prelu": prelu, "elu": elu,
                 "selu": tf.nn.selu, "gelu": lambda z: tf.nn.gelu(z, approximate=False),
                 "swish": tf.nn.silu}

    def apply(z):
        a = functions[name](z)
        return tf.identity(a, name=f"{name_scope}/activation") if name_scope else a

    return apply


def keras_layer(name, alpha=None, layer_name=None, dtype=None):
    """A new Keras layer computing activation ``name``, with its parameter passed explicitly."""
    import keras as k
    name, alpha = check(name, alpha)
    common = dict(name=layer_name, dtype=dtype)
    if name == "leaky_relu":
        return k.layers.LeakyReLU(negative_slope=alpha, **common)
    if name == "prelu":
        return k.layers.PReLU(alpha_initializer=k.initializers.Constant(alpha), **common)
    if name == "elu":
        return k.layers.ELU(alpha=alpha, **common)
    if name == "gelu":
        return k.layers.Activation(lambda z: k.activations.gelu(z, approximate=False), **common)
    return k.layers.Activation(_KERAS_NAMES.get(name, name), **common)


_KERAS_NAMES = {"swish": "silu"}


def torch(name, alpha=None, units=1):
    """A new PyTorch module computing activation ``name`` (PReLU: one learnable slope per unit)."""
    from torch import nn
    name, alpha = check(name, alpha)
    if name == "leaky_relu":
        return nn.LeakyReLU(negative_slope=alpha)
    if name == "prelu":
        return nn.PReLU(num_parameters=units, init=alpha)
    if name == "elu":
        return nn.ELU(alpha=alpha)
    if name == "gelu":
        return nn.GELU(approximate="none")
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "selu": nn.SELU,
            "swish": nn.SiLU}[name]()


def framework_defaults():
    """What each framework does when a parameter is left out, read from the frameworks themselves.

    One row per (activation, framework API): the API as one writes it and its default parameter. The
    defaults trap of the ReLU chapter, measured rather than remembered.
    """
    import inspect

    import keras as k
    import pandas as pd
    import tensorflow as tf
    import torch as t

    def default(function, parameter):
        return inspect.signature(function).parameters[parameter].default

    prelu_keras = k.layers.PReLU()
    prelu_keras.build((None, 3))
    prelu_torch = t.nn.PReLU()
    rows = [
        ("leaky_relu", "keras.layers.LeakyReLU()", k.layers.LeakyReLU().negative_slope, "slope"),
        ("leaky_relu", "keras.activations.leaky_relu(z)",
         default(k.activations.leaky_relu, "negative_slope"), "slope"),
        ("leaky_relu", "tf.nn.leaky_relu(z)", default(tf.nn.leaky_relu, "alpha"), "slope"),
        ("leaky_relu", "torch.nn.LeakyReLU()", t.nn.LeakyReLU().negative_slope, "slope"),
        ("prelu", "keras.layers.PReLU()", float(prelu_keras.alpha.numpy().ravel()[0]),
         "initial slope, " + _sharing(prelu_keras.alpha.shape[-1], 3)),
        ("prelu", "torch.nn.PReLU()", float(prelu_torch.weight.detach()[0]),
         "initial slope, " + _sharing(prelu_torch.weight.numel(), 3)),
        ("elu", "keras.layers.ELU()", k.layers.ELU().alpha, "alpha"),
        ("elu", "tf.nn.elu(z)", None, "alpha: none, fixed at 1"),
        ("elu", "torch.nn.ELU()", t.nn.ELU().alpha, "alpha"),
    ]
    return pd.DataFrame(rows, columns=["activation", "api", "default", "meaning"])


def _sharing(n_slopes, n_units):
    """How a PReLU layer built for ``n_units`` units shares its ``n_slopes`` slopes, in words."""
    return "one per unit" if n_slopes == n_units else f"{n_slopes} shared by all units"
