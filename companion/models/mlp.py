"""The multilayer perceptron: Flatten, hidden Dense layers with one activation, linear logits.

Its options choose the hidden widths, the activation and the weight initializer (the same
distribution in the three frameworks: :mod:`companion.initializers`). The benchmarks and the trainers'
tests use it; the sigmoid chapter's deep networks are instances of it.
"""
from ..registry import register


def mlp_tf1(X, training, hidden=(300, 100), activation="relu", initializer="glorot_uniform",
            n_classes=10):
    """TF1 style: flatten the placeholder, then ``dense`` layers; returns the logits."""
    import numpy as np
    import tensorflow as tf
    from companion import activations, initializers
    from companion.tf1.layers import dense

    init = initializers.tf1(initializer)
    a = tf.reshape(X, [-1, int(np.prod(X.shape[1:]))])
    for k, units in enumerate(hidden, start=1):
        a = dense(a, units, activation=activations.tf1(activation), kernel_initializer=init,
                  name=f"hidden{k}")
    return dense(a, n_classes, kernel_initializer=init, name="logits")


def mlp_keras(hidden=(300, 100), activation="relu", initializer="glorot_uniform", n_classes=10):
    """Keras: a ``Sequential`` of ``Flatten`` and ``Dense`` layers; returns the logits."""
    import keras
    from companion import activations, initializers

    layers = [keras.layers.Dense(units, activation=activations.keras(activation),
                                 kernel_initializer=initializers.keras(initializer), name=f"hidden{k}")
              for k, units in enumerate(hidden, start=1)]
    logits = keras.layers.Dense(n_classes, kernel_initializer=initializers.keras(initializer),
                                name="logits")
    return keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(), *layers, logits])


def mlp_torch(hidden=(300, 100), activation="relu", initializer="glorot_uniform", n_classes=10):
    """PyTorch: an ``nn.Sequential`` of ``Flatten``, ``Linear`` and activation modules; returns logits."""
    from torch import nn
    from companion import activations, initializers

    sizes, layers = [28 * 28, *hidden], [nn.Flatten()]
    for fan_in, units in zip(sizes, hidden):
        layers += [nn.Linear(fan_in, units), activations.torch(activation)]
    layers.append(nn.Linear(sizes[-1], n_classes))
    init = initializers.torch(initializer)
    for layer in layers:
        if isinstance(layer, nn.Linear):
            init(layer.weight)
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers)


register("mlp", tf1=mlp_tf1, keras=mlp_keras, torch=mlp_torch, task="classification",
         input_shape=(28, 28), hidden=(300, 100), activation="relu", initializer="glorot_uniform",
         n_classes=10, doc="Flatten, hidden Dense layers, logits: Fashion-MNIST's classifier.")

# The deep networks of the sigmoid chapter: the same builders, other defaults.
DEEP_NETWORKS = {
    "deep_sigmoid_mlp": dict(hidden=(256,) * 5, activation="sigmoid", initializer="standard",
                             doc="5 sigmoid layers of 256 (Glorot & Bengio's deep sigmoid network)."),
    "deep_tanh_mlp": dict(hidden=(256,) * 10, activation="tanh", initializer="standard",
                          doc="10 tanh layers of 256 (Glorot & Bengio's Figures 6 and 7)."),
    "deep_relu_mlp": dict(hidden=(128,) * 30, activation="relu", initializer="he_normal",
                          doc="30 ReLU layers of 128, zero biases (He et al.'s depth experiment)."),
}
for _name, _options in DEEP_NETWORKS.items():
    _options = dict(_options)
    register(_name, tf1=mlp_tf1, keras=mlp_keras, torch=mlp_torch, task="classification",
             input_shape=(28, 28), n_classes=10, doc=_options.pop("doc"), **_options)
