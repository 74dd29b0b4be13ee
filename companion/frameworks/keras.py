"""The Keras 3 backend (TensorFlow as its backend): neutral weights, predictions, gradients, training."""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import contextlib  # noqa: E402
import logging  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from . import tf1  # noqa: E402  (TensorFlow's clipping ops, shared with the TF1 backend)


class _ExpectedRetracing(logging.Filter):
    """Each model the course trains compiles its own step function, so TensorFlow's warning that
    "N out of the last M calls ... triggered tf.function retracing" is expected noise here."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_ExpectedRetracing())

if keras.backend.backend() != "tensorflow":
    raise ImportError(f"the course runs Keras on TensorFlow, but Keras' backend is "
                      f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow before starting Python")


def owns(model):
    """True for a ``keras.Model``."""
    return isinstance(model, keras.Model)


def seed(value):
    """Seed Keras (and through it Python, NumPy and TensorFlow)."""
    keras.utils.set_random_seed(value)


def build(spec, options, seed_value):
    """Call the registered Keras builder with Keras seeded."""
    seed(seed_value)
    return spec.builders["keras"](**options)


def get_weights(model):
    """``model.get_weights()``: Keras' order is the neutral order."""
    return model.get_weights()


def set_weights(model, weights):
    """``model.set_weights(weights)``."""
    model.set_weights(weights)


def trainable_mask(model):
    """True for each of ``model.weights`` that is trainable."""
    trainable = {w.path for w in model.trainable_weights}
    return [w.path in trainable for w in model.weights]


def parameter_counts(model):
    """``model.count_params()`` split as ``model.summary()`` splits it: trainable weights, the rest."""
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return trainable, model.count_params() - trainable


def predict(model, X, training=False):
    """Raw outputs of ``model(X, training=training)``; the moving statistics that a training-mode call
    updates are restored: predicting never changes the model."""
    if training:
        with _restoring_statistics(model):
            return keras.ops.convert_to_numpy(model(X, training=True))
    return keras.ops.convert_to_numpy(model(X, training=False))


def loss_fn(task):
    """Softmax cross-entropy on logits (``from_logits=True``) or mean squared error."""
    if task == "classification":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return keras.losses.MeanSquaredError()


@contextlib.contextmanager
def _restoring_statistics(model):
    """Restore the non-trainable weights (moving statistics) that training-mode calls update."""
    saved = [w.numpy() for w in model.non_trainable_weights]
    try:
        yield
    finally:
        for w, value in zip(model.non_trainable_weights, saved):
            w.assign(value)


def loss_and_gradients(model, X, y, task):
    """Loss and trainable gradients of ``model(X, training=True)``; the model is left unchanged."""
    with _restoring_statistics(model), tf.GradientTape() as tape:
        loss = loss_fn(task)(y, model(X, training=True))
    by_path = dict(zip((w.path for w in model.trainable_weights),
                       tape.gradient(loss, model.trainable_weights)))
    return float(loss), [by_path[w.path].numpy() for w in model.weights if w.path in by_path]


CLIP_ARGUMENTS = {"value": "clipvalue", "norm": "clipnorm", "global_norm": "global_clipnorm"}


def make_optimizer(config, clip=None):
    """The Keras optimizer of ``config``, every hyperparameter explicit (Adam's epsilon defaults differ),
    clipping with the optimizer's own ``clipvalue``, ``clipnorm`` (per variable) or ``global_clipnorm``."""
    clipping = {CLIP_ARGUMENTS[clip.kind]: clip.threshold} if clip else {}
    if config.name == "adam":
        return keras.optimizers.Adam(learning_rate=config.learning_rate, beta_1=config.beta_1,
                                     beta_2=config.beta_2, epsilon=config.epsilon, **clipping)
    return keras.optimizers.SGD(learning_rate=config.learning_rate, momentum=config.momentum, **clipping)


class Trainer:
    """The Keras training step: a ``tf.function`` of ``GradientTape`` and ``apply_gradients``.

    This is the custom training step of Keras' own guides; it computes what ``train_on_batch`` does (the
    compiled loss plus ``model.losses``, one optimizer update, layers in training mode so that batch
    normalization moves its statistics) with less work per call than ``train_on_batch``'s or ``fit``'s
    generic machinery: ``benchmarks/trainers.py`` measures the difference. :meth:`run` loops the same
    step over a stack of batches inside one ``tf.function``, as ``steps_per_execution`` does for
    ``fit``. ``compile`` still sets the optimizer, the loss and the metric that ``evaluate`` uses.
    """

    def __init__(self, model, task, config, clip=None, record_norm=False):
        self.model, self.task, self.clip, self.record_norm = model, task, clip, record_norm
        metrics = ["accuracy"] if task == "classification" else []
        model.compile(optimizer=make_optimizer(config, clip), loss=loss_fn(task), metrics=metrics,
                      jit_compile=False)
        model.optimizer.build(model.trainable_variables)
        self._step = tf.function(self._train_step, reduce_retracing=True)
        self._steps = tf.function(self._train_steps, reduce_retracing=True)

    def _train_step(self, X, y):
        model = self.model
        with tf.GradientTape() as tape:
            out = model(X, training=True)
            loss = model.loss(y, out)
            if model.losses:
                loss = loss + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        if self.record_norm:                       # measured before the optimizer clips them
            norm = tf.linalg.global_norm(grads)
            clipped = tf1.clip_gradients(grads, self.clip, norm)[1]
        else:
            norm, clipped = tf.constant(float("nan")), tf.constant(False)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        if self.task != "classification":
            return loss, tf.constant(-1, tf.int64), norm, clipped
        predicted = tf.argmax(out, axis=-1, output_type=tf.int64)
        correct = tf.reduce_sum(tf.cast(tf.equal(predicted, tf.cast(y, tf.int64)), tf.int64))
        return loss, correct, norm, clipped

    def _train_steps(self, X, y):
        """``_train_step`` on ``X[i], y[i]`` for every i, in one graph loop; the results stacked."""
        n = tf.shape(X)[0]
        results = [tf.TensorArray(dtype, size=n) for dtype in (tf.float32, tf.int64, tf.float32, tf.bool)]
        for i in tf.range(n):
            results = [r.write(i, tf.cast(value, r.dtype))
                       for r, value in zip(results, self._train_step(X[i], y[i]))]
        return [r.stack() for r in results]

    def step(self, X, y):
        """One update on a batch: (mean loss, number correct or nan, gradient norm or nan, clipped)."""
        return self._results(*self._step(X, y))

    def run(self, X, y):
        """One update on each batch ``X[i], y[i]`` of a stack of equal batches, in one call: a list of
        what :meth:`step` returns, one per batch.

        This is what ``compile(steps_per_execution=...)`` does for ``fit``: the Python round trip of a
        call is paid once for many steps (at batch 32 it costs as much as the step itself). The updates
        are the same ops in the same order, so the history is the same as step by step.
        """
        return [self._results(*values) for values in zip(*(t.numpy() for t in self._steps(X, y)))]

    def _results(self, loss, correct, norm, clipped):
        return (float(loss), (float(correct) if self.task == "classification" else float("nan")),
                float(norm), bool(clipped))

    def evaluate(self, X, y):
        """(mean loss, n correct or nan) in inference mode."""
        logs = self.model.evaluate(X, y, batch_size=len(X), verbose=0, return_dict=True)
        return logs["loss"], logs.get("accuracy", float("nan")) * len(X)


ACTIVATION_LAYERS = (keras.layers.Activation, keras.layers.LeakyReLU, keras.layers.PReLU,
                     keras.layers.ELU, keras.layers.ReLU)


def layer_values(model, X, y, task):
    """Per ``Dense`` layer: pre-activations z, activations a and dL/dz, recomputed layer by layer.

    Each ``Dense`` is split into ``z = a @ kernel + bias`` and ``a = activation(z)`` with the layer's
    own weights and activation, so the tape can watch ``z``; other layers are called as they are, in
    training mode, and the model is left unchanged.
    """
    records, a = [], tf.convert_to_tensor(X)
    with _restoring_statistics(model), tf.GradientTape(persistent=True) as tape:
        for layer in model.layers:
            if isinstance(layer, keras.layers.Dense):
                z = tf.matmul(a, layer.kernel) + (layer.bias if layer.use_bias else 0.0)
                tape.watch(z)
                a = layer.activation(z)
                records.append([z, a])
            else:
                follows_dense = records and records[-1][1] is a
                a = layer(a, training=True)
                if follows_dense and isinstance(layer, ACTIVATION_LAYERS):
                    records[-1][1] = a
        loss = loss_fn(task)(y, a)
    grads = tape.gradient(loss, [z for z, _ in records])
    del tape
    return [{"z": z.numpy(), "a": act.numpy(), "dz": g.numpy()} for (z, act), g in zip(records, grads)]


def activation_derivative(name, z, alpha):
    """dσ(z)/dz of the Keras activation layer of ``name`` by a gradient tape, in ``z``'s dtype."""
    from companion import activations
    z = tf.constant(z)
    layer = activations.keras_layer(name, alpha, dtype=z.dtype.name)
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = layer(z)
    return tape.gradient(out, z).numpy()


def activation_values(name, z, alpha):
    """The Keras activation layer of ``name`` applied to ``z``."""
    from companion import activations
    layer = activations.keras_layer(name, alpha, dtype=np.dtype(z.dtype).name)
    return keras.ops.convert_to_numpy(layer(tf.constant(z)))


def clip_arrays(gradients, clip):
    """``(clipped, None)``: what a Keras optimizer with ``clipvalue``, ``clipnorm`` or ``global_clipnorm``
    applies, read off SGD with learning rate 1 on variables that start at zero (Keras returns no norm)."""
    variables = [keras.Variable(np.zeros_like(g)) for g in gradients]
    from companion.training import OptimizerConfig
    optimizer = make_optimizer(OptimizerConfig("sgd", 1.0), clip)
    optimizer.apply_gradients(zip([tf.constant(g) for g in gradients], variables))
    return [-v.numpy() for v in variables], None


def batch_norm_gradients(x, gamma, beta, dy, epsilon):
    """Keras' ``BatchNormalization`` called with ``training=True`` under a tape: gradients of sum(dy * y)."""
    layer = keras.layers.BatchNormalization(epsilon=epsilon, dtype=x.dtype.name)
    layer.build(x.shape)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * dy)
    dx, dgamma, dbeta = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return y.numpy(), dx.numpy(), dgamma.numpy(), dbeta.numpy()
