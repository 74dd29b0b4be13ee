"""Activation functions by name in each framework, with every parameter explicit.

The frameworks' defaults differ (LeakyReLU's slope is 0.3 in Keras, 0.2 in ``tf.nn.leaky_relu``,
0.01 in PyTorch); the course passes every such parameter itself so the three compute one function.
"""
NAMES = ("sigmoid", "tanh", "relu")


def _check(name):
    if name not in NAMES:
        raise ValueError(f"unknown activation {name!r}; the course's activations are {NAMES}")
    return name


def tf1(name):
    """The ``tf.nn`` function of activation ``name``."""
    import tensorflow as tf
    return {"sigmoid": tf.nn.sigmoid, "tanh": tf.nn.tanh, "relu": tf.nn.relu}[_check(name)]


def keras(name):
    """The Keras activation of ``name`` (a name Keras knows)."""
    return _check(name)


def keras_function(name):
    """The function ``keras.activations.<name>``."""
    import keras as k
    return k.activations.get(_check(name))


def torch(name):
    """A new PyTorch module computing activation ``name``."""
    from torch import nn
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[_check(name)]()
