"""Keras layers of the course that ``keras.layers`` does not have as such."""
import keras
from keras import ops


class OneUnitRecurrence(keras.layers.Layer):
    """Pascanu et al.'s one-unit recurrent network: ``x_t = w σ(x_{t−1}) + b`` for ``steps`` steps from
    the input ``x_0``; the output is ``σ(x_T)``. ``w`` and ``b`` are scalar weights, in that order."""

    def __init__(self, steps=50, w=1.0, b=0.0, **kwargs):
        super().__init__(**kwargs)
        self.steps, self.w_init, self.b_init = steps, float(w), float(b)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.w_init), name="w")
        self.b = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.b_init), name="b")

    def call(self, x):
        for _ in range(self.steps):
            x = self.w * ops.sigmoid(x) + self.b
        return ops.sigmoid(x)
