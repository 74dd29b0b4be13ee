"""Multilayer perceptrons with batch normalization: after or before each activation.

``placement="after"``: Dense → activation → BN (Hands-On ML's first model, BN on the flattened input
too). ``placement="before"``: Dense → BN → activation, where β takes the place of the Dense bias
(``use_bias=False``). ``normalize_input`` and ``normalize_logits`` add BN on the flattened input and
on the logits. Every setting of the layer is explicit: ``momentum`` is Keras' and TF1's weight of the
old moving value (PyTorch gets ``1 − momentum``: :mod:`companion.batchnorm`) and ``epsilon`` is passed
to all three. Layer names follow the seed's TF1 program: ``hidden1``, ``hidden2``, ..., ``outputs``,
and TF1's ``batch_normalization``, ``batch_normalization_1``, ...
"""
from ..registry import register

PLACEMENTS = ("after", "before")


def _check_placement(placement):
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {PLACEMENTS} (BN after or before each activation), "
                         f"not {placement!r}")


def bn_mlp_tf1(X, training, hidden=(300, 100), activation="relu", alpha=None, initializer="he_normal",
               output_initializer="glorot_uniform", placement="after", use_bias=True,
               normalize_input=True, normalize_logits=False, momentum=0.99, epsilon=1e-3, n_classes=10):
    """TF1 style: ``dense`` and ``batch_normalization(training=training)`` layers; returns the logits.

    Train with the ``UPDATE_OPS`` as control dependencies of the training op, or the moving
    statistics never move (:class:`companion.frameworks.tf1.GraphModel` does it).
    """
    from functools import partial
    import numpy as np
    import tensorflow as tf
    from companion import activations, initializers
    from companion.tf1.layers import batch_normalization, dense

    _check_placement(placement)
    bn = partial(batch_normalization, training=training, momentum=momentum, epsilon=epsilon)
    he_init = initializers.tf1(initializer)
    a = tf.reshape(X, [-1, int(np.prod(X.shape[1:]))])
    if normalize_input:
        a = bn(a)
    for k, units in enumerate(hidden, start=1):
        act = activations.tf1(activation, alpha, name_scope=f"hidden{k}")
        if placement == "after":
            a = bn(act(dense(a, units, kernel_initializer=he_init, use_bias=use_bias, name=f"hidden{k}")))
        else:
            a = act(bn(dense(a, units, kernel_initializer=he_init, use_bias=use_bias, name=f"hidden{k}")))
    logits = dense(a, n_classes, kernel_initializer=initializers.tf1(output_initializer), name="outputs")
    return bn(logits) if normalize_logits else logits


def bn_mlp_keras(hidden=(300, 100), activation="relu", alpha=None, initializer="he_normal",
                 output_initializer="glorot_uniform", placement="after", use_bias=True,
                 normalize_input=True, normalize_logits=False, momentum=0.99, epsilon=1e-3, n_classes=10):
    """Keras: a ``Sequential`` of ``Dense``, activation and ``BatchNormalization`` layers; returns logits."""
    import keras
    from companion import activations, initializers

    _check_placement(placement)

    def bn():
        return keras.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)

    layers = [keras.Input(shape=(28, 28)), keras.layers.Flatten()]
    if normalize_input:
        layers.append(bn())
    for k, units in enumerate(hidden, start=1):
        dense = keras.layers.Dense(units, kernel_initializer=initializers.keras(initializer),
                                   use_bias=use_bias, name=f"hidden{k}")
        act = activations.keras_layer(activation, alpha, layer_name=f"activation{k}")
        layers += [dense, act, bn()] if placement == "after" else [dense, bn(), act]
    layers.append(keras.layers.Dense(n_classes, kernel_initializer=initializers.keras(output_initializer),
                                     name="outputs"))
    if normalize_logits:
        layers.append(bn())
    return keras.Sequential(layers)


def bn_mlp_torch(hidden=(300, 100), activation="relu", alpha=None, initializer="he_normal",
                 output_initializer="glorot_uniform", placement="after", use_bias=True,
                 normalize_input=True, normalize_logits=False, momentum=0.99, epsilon=1e-3, n_classes=10):
    """PyTorch: an ``nn.Sequential`` of ``Linear``, activation and ``BatchNorm1d`` modules; returns logits.

    ``BatchNorm1d`` is :class:`companion.torch_layers.BatchNorm1d` (the running variance Keras keeps)
    with ``momentum=1 - momentum``: PyTorch's momentum weights the new batch, Keras' the old average.
    """
    from torch import nn
    from companion import activations, initializers
    from companion.torch_layers import BatchNorm1d

    _check_placement(placement)

    def bn(units):
        return BatchNorm1d(units, momentum=1 - momentum, eps=epsilon)

    sizes, layers = [28 * 28, *hidden], [nn.Flatten()]
    if normalize_input:
        layers.append(bn(sizes[0]))
    for fan_in, units in zip(sizes, hidden):
        linear = nn.Linear(fan_in, units, bias=use_bias)
        initializers.torch(initializer)(linear.weight)
        act = activations.torch(activation, alpha, units=units)
        layers += [linear, act, bn(units)] if placement == "after" else [linear, bn(units), act]
    logits = nn.Linear(sizes[-1], n_classes)
    initializers.torch(output_initializer)(logits.weight)
    layers.append(logits)
    if normalize_logits:
        layers.append(bn(n_classes))
    for layer in layers:
        if isinstance(layer, nn.Linear) and layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


OPTIONS = dict(hidden=(300, 100), activation="relu", alpha=None, initializer="he_normal",
               output_initializer="glorot_uniform", placement="after", use_bias=True, normalize_input=True,
               normalize_logits=False, momentum=0.99, epsilon=1e-3, n_classes=10)

PRESETS = {
    "bn_after_mlp": dict(doc="Hands-On ML: BN on the input and after each ReLU (271,346 parameters)."),
    "bn_before_mlp": dict(placement="before", use_bias=False,
                          doc="Hands-On ML: BN between each Dense (no bias) and its ReLU (270,946 parameters)."),
    "bn_elu_mlp": dict(activation="elu", alpha=1.0, output_initializer="he_normal", placement="before",
                       normalize_input=False, normalize_logits=True, momentum=0.9,
                       doc="The seed's TF1 program: 300-100-10, He init, BN (momentum 0.9) before ELU "
                           "and on the logits."),
    "ioffe_bn_sigmoid_mlp": dict(hidden=(100, 100, 100), activation="sigmoid", initializer="normal_0.1",
                                 output_initializer="normal_0.1", placement="before", use_bias=False,
                                 normalize_input=False,
                                 doc="Ioffe & Szegedy's Figure 1 network: 3 x 100 sigmoid, BN before each "
                                     "sigmoid, Gaussian weights."),
}


for _name, _preset in PRESETS.items():
    _preset = dict(_preset)
    _options = {**OPTIONS, **_preset}
    _doc = _options.pop("doc")
    register(_name, tf1=bn_mlp_tf1, keras=bn_mlp_keras, torch=bn_mlp_torch, task="classification",
             input_shape=(28, 28), doc=_doc, **_options)
