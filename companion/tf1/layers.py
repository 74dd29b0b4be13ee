"""``dense`` and ``batch_normalization`` with the semantics of TF1's ``tf.compat.v1.layers``.

TensorFlow 2.21 ships Keras 3, and there ``tf.compat.v1.layers.dense`` and
``tf.compat.v1.layers.batch_normalization`` no longer exist. These two functions rebuild them from
plain ``tf.compat.v1`` ops (variable scopes, ``get_variable``, ``matmul``, ``nn.moments``, graph
collections), so that a TF1 program runs unchanged but for one import::

    from companion.tf1.layers import dense, batch_normalization

Use them inside ``with tf.Graph().as_default():``. Variables, their names and order, the graph
collections, the outputs and the moving-statistics updates match the legacy layers (checked
against them by ``tests/test_tf1_layers.py``).
"""
import tensorflow as tf

_v1 = tf.compat.v1

# (rank, channel axis) pairs for which the legacy layer silently switches to the fused kernel.
_FUSED_LAYOUTS = {(4, 1), (4, 3), (5, 1), (5, 4)}


def _layer_scope(name, default_name, reuse):
    """Open the variable scope of one layer call; unnamed layers get "dense", "dense_1", ..."""
    if tf.executing_eagerly():
        raise RuntimeError(f"TF1 layers build graphs: call `{default_name}` inside "
                           "`with tf.Graph().as_default():` (or use the Keras layers in eager code).")
    if reuse and name is None:
        name = default_name  # legacy: an unnamed layer with reuse=True reuses "dense", not "dense_1"
    return _v1.variable_scope(name, default_name=default_name, reuse=reuse)


def _static_value(flag):
    """``flag`` as a Python bool if it is known when the graph is built, else None."""
    if isinstance(flag, (tf.Tensor, tf.Variable)):
        value = tf.get_static_value(flag)  # None for a placeholder
        return None if value is None else bool(value)
    return bool(flag)


def _pick(flag, if_true, if_false):
    """``if_true()`` or ``if_false()``: chosen in Python if ``flag`` is static, else by ``tf.cond``."""
    value = _static_value(flag)
    if value is None:
        return tf.cond(flag, if_true, if_false)
    return if_true() if value else if_false()


# Arguments of the legacy batch_normalization that are not implemented, and what to do instead.
_UNSUPPORTED = {
    "renorm": "batch renormalization is not implemented; use renorm=False.",
    "renorm_clipping": "it only applies with renorm=True, which is not implemented.",
    "virtual_batch_size": "ghost batches are not implemented; normalize whole batches.",
    "adjustment": "it is not implemented; scale and shift the layer's outputs yourself.",
}


def _refuse(**arguments):
    """Raise NotImplementedError if any of ``arguments`` is set (neither None nor False)."""
    for argument, value in arguments.items():
        if value is not None and value is not False:
            raise NotImplementedError(f"companion.tf1.layers.batch_normalization does not support "
                                      f"`{argument}`: {_UNSUPPORTED[argument]}")


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=_v1.zeros_initializer(), kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None, bias_constraint=None, trainable=True,
          name=None, reuse=None):
    """Fully connected layer ``activation(inputs @ kernel + bias)``, as ``tf.compat.v1.layers.dense``.

    Creates ``<scope>/kernel`` (shape ``[in, units]``) and ``<scope>/bias`` (shape ``[units]``)
    with ``tf.compat.v1.get_variable`` in the variable scope ``name``; without a name the scopes
    are "dense", "dense_1", ... ``reuse=True`` shares the variables of an earlier call with the
    same name. The kernel defaults to the initializer of the enclosing variable scope, else to
    Glorot uniform (``get_variable``'s default, as in TF1); the bias starts at zero.
    ``trainable=False`` keeps both out of ``TRAINABLE_VARIABLES``. Regularizer losses go to
    ``GraphKeys.REGULARIZATION_LOSSES``; the activity loss is divided by the batch size, as the
    legacy layer does. Inputs of rank > 2 are multiplied along their last axis (``tensordot``).
    Constraints are stored on the variables; TF1 optimizers apply them after each update.
    """
    inputs = tf.convert_to_tensor(inputs)
    in_dim = tf.compat.dimension_value(inputs.shape[-1])
    if in_dim is None:
        raise ValueError(f"The last dimension of the inputs to `dense` must be known; got {inputs.shape}.")
    with _layer_scope(name, "dense", reuse):
        kernel = _v1.get_variable("kernel", [in_dim, units], inputs.dtype, kernel_initializer,
                                  kernel_regularizer, trainable, constraint=kernel_constraint)
        rank = inputs.shape.rank
        if rank == 2:
            outputs = tf.matmul(inputs, kernel)
        else:
            outputs = tf.tensordot(inputs, kernel, [[rank - 1], [0]])
            outputs.set_shape(inputs.shape[:-1].concatenate([units]))
        if use_bias:
            bias = _v1.get_variable("bias", [units], inputs.dtype, bias_initializer,
                                    bias_regularizer, trainable, constraint=bias_constraint)
            outputs = tf.nn.bias_add(outputs, bias)
        if activation is not None:
            outputs = activation(outputs)
        if activity_regularizer is not None:
            with tf.name_scope("ActivityRegularizer"):
                loss = tf.convert_to_tensor(activity_regularizer(outputs))
                batch_size = tf.cast(tf.shape(outputs)[0], loss.dtype)
                _v1.add_to_collection(_v1.GraphKeys.REGULARIZATION_LOSSES, loss / batch_size)
    return outputs


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=_v1.zeros_initializer(), gamma_initializer=_v1.ones_initializer(),
                        moving_mean_initializer=_v1.zeros_initializer(),
                        moving_variance_initializer=_v1.ones_initializer(), beta_regularizer=None,
                        gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                        training=False, trainable=True, name=None, reuse=None, renorm=False,
                        renorm_clipping=None, renorm_momentum=0.99, fused=None,
                        virtual_batch_size=None, adjustment=None):
    """Batch normalization, as ``tf.compat.v1.layers.batch_normalization``.

    ``outputs = gamma * (inputs - mean) / sqrt(variance + epsilon) + beta``, per channel of ``axis``.
    Creates, in this order, ``gamma`` and ``beta`` (trainable; omitted if ``scale``/``center`` is
    False), then ``moving_mean`` and ``moving_variance`` (not trainable, only in
    ``GLOBAL_VARIABLES``), in the variable scope ``name`` ("batch_normalization", "..._1", ...).

    ``training`` is a Python bool or a boolean tensor (e.g. a ``placeholder_with_default``).
    When true, the batch mean and the biased batch variance normalize the batch; when false, the
    moving statistics do. The default is False: forget ``training=True`` and the layer never
    learns its statistics.

    In training mode the layer does NOT update its moving statistics itself. It adds two ops to
    ``GraphKeys.UPDATE_OPS``, ``moving -= (moving - batch) * (1 - momentum)``, i.e.
    ``moving = momentum * moving + (1 - momentum) * batch``; you must run them, classically with
    ``with tf.control_dependencies(tf.compat.v1.get_collection(UPDATE_OPS)): train_op = ...``.
    With a tensor ``training`` they do nothing when it is False at run time. As in the legacy
    layer, ``trainable=False`` adds no update ops at all: the moving statistics stay frozen.

    TF1 defaults: ``momentum=0.99`` weights the *old* value, ``epsilon=1e-3``. PyTorch's
    ``BatchNorm`` uses ``momentum=0.1`` on the *new* value (the same as 0.9 here), ``eps=1e-5``
    and always the unbiased batch variance ``n/(n-1) * var`` for its running variance.

    A teachable inconsistency of the legacy layer: for 4-D inputs with the channel axis 1 or 3
    (5-D: 1 or 4), ``fused=None`` (and ``fused=True``) select the fused kernel, whose moving
    variance update uses the *unbiased* batch variance ``n/(n-1) * var`` (``n`` = values per
    channel), whereas 2-D inputs, other axes and ``fused=False`` use the *biased* one. Either
    way the batch itself is normalized with the biased variance. This function reproduces both.

    ``renorm``, ``virtual_batch_size`` and ``adjustment`` are not supported.
    """
    _refuse(renorm=renorm, renorm_clipping=renorm_clipping, virtual_batch_size=virtual_batch_size,
            adjustment=adjustment)
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise NotImplementedError(f"batch_normalization normalizes over one channel axis, not "
                                      f"axis={axis}: pass an int (or reshape the inputs).")
        axis = axis[0]
    inputs = tf.convert_to_tensor(inputs)
    rank, dtype = inputs.shape.rank, inputs.dtype
    if dtype not in (tf.float32, tf.float64):
        raise NotImplementedError(f"companion.tf1.layers.batch_normalization supports float32 and "
                                  f"float64 inputs, not {dtype.name}: cast the inputs to float32.")
    axis %= rank
    channels = tf.compat.dimension_value(inputs.shape[axis])
    if channels is None:
        raise ValueError(f"The channel axis {axis} of the inputs must be known; got {inputs.shape}.")
    shape = [channels if i == axis else 1 for i in range(rank)]  # broadcasts a per-channel vector

    def per_channel(v):
        return v if v is None or axis == rank - 1 else tf.reshape(v, shape)

    with _layer_scope(name, "batch_normalization", reuse):
        def variable(var_name, initializer, is_trainable, regularizer=None, constraint=None):
            return _v1.get_variable(var_name, [channels], dtype, initializer, regularizer,
                                    is_trainable, constraint=constraint)

        gamma = beta = None
        if scale:
            gamma = variable("gamma", gamma_initializer, trainable, gamma_regularizer, gamma_constraint)
        if center:
            beta = variable("beta", beta_initializer, trainable, beta_regularizer, beta_constraint)
        moving_mean = variable("moving_mean", moving_mean_initializer, False)
        moving_variance = variable("moving_variance", moving_variance_initializer, False)

        if _static_value(training) is False:
            mean, variance = moving_mean, moving_variance
        else:
            batch_mean, batch_variance = tf.nn.moments(inputs, [i for i in range(rank) if i != axis])
            mean = _pick(training, lambda: batch_mean, lambda: tf.identity(moving_mean))
            variance = _pick(training, lambda: batch_variance, lambda: tf.identity(moving_variance))
            if fused is not False and (rank, axis) in _FUSED_LAYOUTS and dtype == tf.float32:
                n = tf.cast(tf.size(inputs) // channels, dtype)  # values per channel
                batch_variance = batch_variance * n / (n - 1)  # the fused kernel's unbiased variance
            if trainable:  # the legacy layer publishes no updates when trainable=False
                for moving, batch in ((moving_mean, batch_mean), (moving_variance, batch_variance)):
                    _v1.add_to_collection(_v1.GraphKeys.UPDATE_OPS,
                                          _moving_average_update(moving, batch, momentum, training))
        return tf.nn.batch_normalization(inputs, per_channel(mean), per_channel(variance),
                                         per_channel(beta), per_channel(gamma), epsilon)


def _moving_average_update(moving, batch, momentum, training):
    """The op ``moving -= (moving - batch) * (1 - momentum)``; a no-op when ``training`` is False."""
    def update():
        return tf.identity(_v1.assign_sub(moving, (moving - batch) * (1.0 - momentum)))

    return _pick(training, update, lambda: tf.identity(moving)).op
