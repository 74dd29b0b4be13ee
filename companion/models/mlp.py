"""The multilayer perceptron: Flatten, hidden Dense layers with one activation, linear logits.

Its options choose the hidden widths, the activation and the weight initializer (the same
distribution in the three frameworks: :mod:`companion.initializers`). The benchmarks and the trainers'
tests use it; the sigmoid chapter's deep networks are instances of it.
"""
from ..registry import register


def mlp_tf1(X, training, hidden=(300, 100), activation="relu", alpha=None,
            initializer="glorot_uniform", output_initializer=None, n_classes=10):
    """TF1 style: flatten the placeholder, then ``dense`` layers and activations; returns the logits."""
    import numpy as np
    import tensorflow as tf
    from companion import activations, initializers
    from companion.tf1.layers import dense

    init = initializers.tf1(initializer)
    a = tf.reshape(X, [-1, int(np.prod(X.shape[1:]))])
    for k, units in enumerate(hidden, start=1):
        z = dense(a, units, kernel_initializer=init, name=f"hidden{k}")
        a = activations.tf1(activation, alpha, name_scope=f"hidden{k}")(z)
    return dense(a, n_classes, kernel_initializer=initializers.tf1(output_initializer or initializer),
                 name="logits")


def mlp_keras(hidden=(300, 100), activation="relu", alpha=None, initializer="glorot_uniform",
              output_initializer=None, n_classes=10):
    """Keras: a ``Sequential`` of ``Flatten``, ``Dense`` and activation layers; returns the logits."""
    import keras
    from companion import activations, initializers

    layers = [keras.Input(shape=(28, 28)), keras.layers.Flatten()]
    for k, units in enumerate(hidden, start=1):
        layers += [keras.layers.Dense(units, kernel_initializer=initializers.keras(initializer),
                                      name=f"hidden{k}"),
                   activations.keras_layer(activation, alpha, layer_name=f"activation{k}")]
    layers.append(keras.layers.Dense(
        n_classes, kernel_initializer=initializers.keras(output_initializer or initializer), name="logits"))
    return keras.Sequential(layers)


def mlp_torch(hidden=(300, 100), activation="relu", alpha=None, initializer="glorot_uniform",
              output_initializer=None, n_classes=10):
    """PyTorch: an ``nn.Sequential`` of ``Flatten``, ``Linear`` and activation modules; returns logits."""
    from torch import nn
    from companion import activations, initializers

    sizes, layers = [28 * 28, *hidden], [nn.Flatten()]
    for fan_in, units in zip(sizes, hidden):
        layers += [nn.Linear(fan_in, units), activations.torch(activation, alpha, units=units)]
    layers.append(nn.Linear(sizes[-1], n_classes))
    for layer in layers[:-1]:
        if isinstance(layer, nn.Linear):
            initializers.torch(initializer)(layer.weight)
            nn.init.zeros_(layer.bias)
    initializers.torch(output_initializer or initializer)(layers[-1].weight)
    nn.init.zeros_(layers[-1].bias)
    return nn.Sequential(*layers)


OPTIONS = dict(hidden=(300, 100), activation="relu", alpha=None, initializer="glorot_uniform",
               output_initializer=None, n_classes=10)
register("mlp", tf1=mlp_tf1, keras=mlp_keras, torch=mlp_torch, task="classification",
         input_shape=(28, 28), doc="Flatten, hidden Dense layers, logits: Fashion-MNIST's classifier.",
         **OPTIONS)

# The chapters' networks: the same builders, other defaults (every option stays open to change).
PRESETS = {
    "deep_sigmoid_mlp": dict(hidden=(256,) * 5, activation="sigmoid", initializer="standard",
                             doc="5 sigmoid layers of 256 (Glorot & Bengio's deep sigmoid network)."),
    "deep_tanh_mlp": dict(hidden=(256,) * 10, activation="tanh", initializer="standard",
                          doc="10 tanh layers of 256 (Glorot & Bengio's Figures 6 and 7)."),
    "deep_relu_mlp": dict(hidden=(128,) * 30, activation="relu", initializer="he_normal",
                          doc="30 ReLU layers of 128, zero biases (He et al.'s depth experiment)."),
    # the ReLU chapter's networks
    "leaky_relu_mlp": dict(hidden=(300, 100), activation="leaky_relu", alpha=0.3,
                           initializer="he_normal", output_initializer="glorot_uniform",
                           doc="Hands-On ML's LeakyReLU network: Keras' default slope 0.3, made explicit."),
    "dying_relu_mlp": dict(hidden=(300, 100), activation="relu", initializer="he_normal",
                           doc="784-300-100-10 ReLU, He normal: the dead-units experiment's network."),
    "deep_selu_mlp": dict(hidden=(100,) * 100, activation="selu", initializer="lecun_normal",
                          doc="100 SELU layers of 100, LeCun normal (Klambauer et al.'s deep SNN)."),
    # the batch-normalization chapter's
    "ioffe_sigmoid_mlp": dict(hidden=(100, 100, 100), activation="sigmoid", initializer="normal_0.1",
                              doc="Ioffe & Szegedy's Figure 1 network without BN: 3 x 100 sigmoid, Gaussian "
                                  "weights."),
    # the clipping chapter's
    "clipping_relu_mlp": dict(hidden=(300, 50, 50, 50, 50), activation="relu", initializer="glorot_uniform",
                              doc="The seed notes' clipping program: 5 ReLU layers (300, 50, 50, 50, 50), "
                                  "Glorot uniform (tf.layers.dense's default)."),
    "exploding_tanh_mlp": dict(hidden=(256,) * 10, activation="tanh", initializer="normal_4_over_fan_in",
                               doc="10 tanh layers of 256 with weights N(0, 4/fan_in): gradients explode."),
}
for _name, _preset in PRESETS.items():
    _preset = dict(_preset)
    register(_name, tf1=mlp_tf1, keras=mlp_keras, torch=mlp_torch, task="classification",
             input_shape=(28, 28), doc=_preset.pop("doc"), **{**OPTIONS, **_preset})
