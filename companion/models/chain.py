"""The sigmoid chain: one sigmoid neuron per layer, the smallest network whose gradient vanishes.

Layer k computes ``a_k = σ(w_k a_{k-1} + b_k)`` with ``a_0 = x``; its gradient with respect to the
first bias is the product ``dC/da_L · σ'(z_L) w_L ··· σ'(z_2) w_2 · σ'(z_1)`` (the intro, and the
sigmoid chapter). The same chain in the three dialects follows.
"""
from ..registry import register


def sigmoid_chain_tf1(X, training, depth=4):
    """TF1 style: ``depth`` dense layers of one sigmoid unit each, on a placeholder ``X`` of shape (None, 1)."""
    import tensorflow as tf
    from companion.tf1.layers import dense

    a = X
    for k in range(1, depth + 1):
        a = dense(a, 1, activation=tf.nn.sigmoid, name=f"layer{k}")
    return a


def sigmoid_chain_keras(depth=4):
    """Keras: a ``Sequential`` of ``depth`` one-unit ``Dense`` layers with a sigmoid activation."""
    import keras

    layers = [keras.layers.Dense(1, activation="sigmoid", name=f"layer{k}") for k in range(1, depth + 1)]
    return keras.Sequential([keras.Input(shape=(1,)), *layers], name="sigmoid_chain")


def sigmoid_chain_torch(depth=4):
    """PyTorch: an ``nn.Sequential`` of ``depth`` pairs ``nn.Linear(1, 1)``, ``nn.Sigmoid()``."""
    from torch import nn

    layers = []
    for _ in range(depth):
        layers += [nn.Linear(1, 1), nn.Sigmoid()]
    return nn.Sequential(*layers)


register("sigmoid_chain", tf1=sigmoid_chain_tf1, keras=sigmoid_chain_keras, torch=sigmoid_chain_torch,
         task="regression", input_shape=(1,), depth=4,
         doc="One sigmoid neuron per layer (intro, sigmoid chapter); regression with mean squared error.")
