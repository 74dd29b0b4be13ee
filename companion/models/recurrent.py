"""Pascanu, Mikolov & Bengio's (2013) one-unit recurrent network, the smallest net whose gradient explodes.

``x_t = w σ(x_{t−1}) + b`` for ``t = 1 … T`` from the input ``x_0``; the output is ``σ(x_T)`` and the
loss ``(σ(x_T) − target)²`` (mean squared error, a regression). Its gradient with respect to ``w`` is a
sum over the ``T`` steps of products of ``w σ'(x_t)``: where the map has two stable points and a start
sits on the boundary between them, the loss jumps (the "cliff") and the gradient there is huge. The
clipping chapter plots the surface over ``(w, b)``; :func:`companion.reference.one_unit_rnn` is the NumPy
reference. The weights are two scalars, ``[w, b]`` in the neutral format.
"""
from ..registry import register


def one_unit_rnn_tf1(X, training, steps=50, w=1.0, b=0.0):
    """TF1 style: two scalar ``get_variable``s and the recurrence unrolled in the graph."""
    import tensorflow as tf
    v1 = tf.compat.v1

    w = v1.get_variable("w", (), initializer=v1.constant_initializer(w))
    b = v1.get_variable("b", (), initializer=v1.constant_initializer(b))
    x = X
    for _ in range(steps):
        x = w * tf.sigmoid(x) + b
    return tf.sigmoid(x)


def one_unit_rnn_keras(steps=50, w=1.0, b=0.0):
    """Keras: a ``Sequential`` of one custom layer (:class:`companion.keras_layers.OneUnitRecurrence`)."""
    import keras
    from companion.keras_layers import OneUnitRecurrence

    return keras.Sequential([keras.Input(shape=(1,)), OneUnitRecurrence(steps, w, b, name="recurrence")],
                            name="one_unit_rnn")


def one_unit_rnn_torch(steps=50, w=1.0, b=0.0):
    """PyTorch: :class:`companion.torch_layers.OneUnitRecurrence`, an ``nn.Module`` with ``w`` and ``b``."""
    from companion.torch_layers import OneUnitRecurrence

    return OneUnitRecurrence(steps, w, b)


register("one_unit_rnn", tf1=one_unit_rnn_tf1, keras=one_unit_rnn_keras, torch=one_unit_rnn_torch,
         task="regression", input_shape=(1,), steps=50, w=1.0, b=0.0,
         doc="x_t = w σ(x_{t−1}) + b, output σ(x_T) (Pascanu et al. 2013's exploding-gradient example).")
