"""TF1-era initializers that TensorFlow 2.21 no longer ships (``tf.contrib`` is gone)."""
import math

import tensorflow as tf

_MODES = ("FAN_IN", "FAN_OUT", "FAN_AVG")


def variance_scaling_initializer(factor=2.0, mode="FAN_IN", uniform=False, seed=None, dtype=tf.float32):
    """He initialization, as TF1's ``tf.contrib.layers.variance_scaling_initializer``.

    Returns an initializer for ``tf.compat.v1.get_variable`` (e.g. the ``kernel_initializer`` of
    :func:`companion.tf1.layers.dense`). With ``n`` the fan-in (``mode="FAN_IN"``), the fan-out
    (``"FAN_OUT"``) or their mean (``"FAN_AVG"``), where for a kernel of shape
    ``[..., fan_in, fan_out]`` the leading dimensions (a convolution's window) multiply both:

    - ``uniform=False`` (default): a normal with ``stddev = sqrt(1.3 * factor / n)``, truncated
      at two standard deviations. Truncation shrinks the standard deviation by 0.8796..., so the
      values actually have a standard deviation of about ``1.003 * sqrt(factor / n)``.
    - ``uniform=True``: uniform on ``[-limit, limit]`` with ``limit = sqrt(3 * factor / n)``,
      standard deviation ``sqrt(factor / n)``.

    The defaults (``factor=2.0``, ``FAN_IN``) are He et al. (2015) for ReLU networks;
    ``factor=1.0`` with ``FAN_IN`` is LeCun, with ``FAN_AVG`` Glorot (Xavier).

    The trap: TF1's later ``tf.compat.v1.variance_scaling_initializer()`` (and the Keras
    ``VarianceScaling``) default to ``scale=1.0``, i.e. *LeCun*, not He. Porting
    ``tf.contrib.layers.variance_scaling_initializer()`` to ``tf.compat.v1.variance_scaling_initializer()``
    silently halves the variance of every layer; He needs ``scale=2.0`` there (or
    ``tf.compat.v1.keras.initializers.he_normal()``).
    """
    dtype = tf.as_dtype(dtype)
    if not dtype.is_floating:
        raise TypeError("Cannot create initializer for non-floating point type.")
    if mode not in _MODES:
        raise TypeError(f"Unknown mode {mode!r}; expected one of {_MODES}.")

    def _initializer(shape, dtype=dtype, partition_info=None):
        dtype = tf.as_dtype(dtype)
        if not dtype.is_floating:
            raise TypeError("Cannot create initializer for non-floating point type.")
        shape = [int(d) for d in shape]
        fan_in = float(shape[-2]) if len(shape) > 1 else float(shape[-1]) if shape else 1.0
        fan_out = float(shape[-1]) if shape else 1.0
        for dim in shape[:-2]:
            fan_in *= dim
            fan_out *= dim
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[mode]
        if uniform:
            limit = math.sqrt(3.0 * factor / n)
            return tf.random.uniform(shape, -limit, limit, dtype, seed=seed)
        return tf.random.truncated_normal(shape, 0.0, math.sqrt(1.3 * factor / n), dtype, seed=seed)

    return _initializer
