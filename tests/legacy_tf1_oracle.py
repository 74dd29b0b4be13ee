"""Oracle for ``companion.tf1.layers``: the same TF1 graphs, built with the legacy layers.

Run in a separate process, with Keras 2 (tf-keras) behind ``tf.compat.v1.layers``::

    TF_USE_LEGACY_KERAS=1 python tests/legacy_tf1_oracle.py INPUTS.npz OUTPUTS.npz

``tests/test_tf1_layers.py`` imports this module for :func:`make_inputs` and :func:`run_experiments`
(which take the layer functions as arguments, so both implementations run the very same graphs),
and runs it as a script for the legacy results. Nothing here imports TensorFlow at module level:
``TF_USE_LEGACY_KERAS`` must be set before TensorFlow is first imported.
"""
import os
import sys

import numpy as np

MOMENTUM = 0.9
EPSILON = 1e-3
STEPS = 3

# name -> (input key, keyword arguments, training: True or a run-time schedule of bools)
BN_CASES = {
    "bn2d": ("x2d", {}, True),
    "bn2d_flag": ("x2d", {}, [True, False, True]),
    "bn2d_frozen": ("x2d", {"trainable": False}, True),
    "bn4d_nhwc": ("x4d", {}, True),  # legacy: fused kernel
    "bn4d_axis3_flag": ("x4d", {"axis": 3}, [True, False, True]),  # fused kernel inside a cond
    "bn4d_nchw": ("x4d_nchw", {"axis": 1}, True),  # fused, channels first
    "bn4d_unfused": ("x4d", {"fused": False}, True),
    "bn4d_axis2": ("x4d", {"axis": 2}, True),  # no fused layout: plain moments
    "bn4d_no_affine": ("x4d", {"center": False, "scale": False}, True),  # fused, no gamma nor beta
}


def make_inputs(seed=0):
    """Inputs and weights of all experiments, as float32 arrays."""
    rng = np.random.default_rng(seed)
    x4d = rng.normal(-1.0, 2.0, size=(STEPS, 5, 3, 4, 2))
    data = {
        "dense_x": rng.normal(size=(8, 5)),
        "dense_x3d": rng.normal(size=(2, 3, 5)),
        "dense_kernel": rng.normal(0.0, 0.5, size=(5, 4)),
        "dense_bias": rng.normal(0.0, 0.1, size=4),
        "x2d": rng.normal(2.0, 3.0, size=(STEPS, 16, 4)),
        "x4d": x4d,
        "x4d_nchw": x4d.transpose(0, 1, 4, 2, 3),
    }
    for channels in (2, 3, 4):
        data[f"gamma{channels}"] = rng.uniform(0.5, 1.5, size=channels)
        data[f"beta{channels}"] = rng.normal(0.0, 0.5, size=channels)
    return {key: value.astype(np.float32) for key, value in data.items()}


def _names(variables):
    return np.array([v.name for v in variables])


def run_dense(tf, dense, data):
    """Dense layers: forward values, variable names and collections, regularization losses."""
    out = {}
    const = tf.compat.v1.constant_initializer
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 5])
        x3d = tf.compat.v1.placeholder(tf.float32, [None, 3, 5])
        relu = dense(x, 4, activation=tf.nn.relu, kernel_initializer=const(data["dense_kernel"]),
                     bias_initializer=const(data["dense_bias"]), kernel_regularizer=tf.nn.l2_loss,
                     activity_regularizer=lambda t: 0.01 * tf.reduce_sum(tf.abs(t)))
        tanh = dense(x3d, 4, activation=tf.tanh, kernel_initializer=const(data["dense_kernel"]),
                     bias_initializer=const(data["dense_bias"]))
        shared = dense(x, 4, activation=tf.nn.relu, name="dense", reuse=True)
        unnamed = dense(x, 4, activation=tf.nn.relu, reuse=True)  # legacy: reuses "dense", not "dense_2"
        frozen = dense(x, 3, use_bias=False, trainable=False)
        with tf.compat.v1.variable_scope("block"):
            dense(x, 2)
        dense(x, 2, name="head")
        out["dense/shapes"] = np.array([str(t.shape) for t in (relu, tanh, shared, frozen)])
        out["dense/variables"] = _names(tf.compat.v1.global_variables())
        out["dense/trainable"] = _names(tf.compat.v1.trainable_variables())
        losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            feed = {x: data["dense_x"], x3d: data["dense_x3d"]}
            values = sess.run([relu, tanh, shared, unnamed, losses], feed)
        for key, value in zip(["relu", "tanh", "shared", "unnamed", "losses"], values):
            out[f"dense/{key}"] = value
    return out


def run_batch_norm(tf, batch_normalization, data, case):
    """One batch-norm case: STEPS training steps running UPDATE_OPS, then inference each step."""
    key, kwargs, training = BN_CASES[case]
    xs = data[key]
    axis = kwargs.get("axis", -1)
    channels = xs.shape[1:][axis]
    out = {}
    with tf.Graph().as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, *xs.shape[2:]])
        flag = tf.compat.v1.placeholder_with_default(False, ()) if isinstance(training, list) else True
        common = dict(momentum=MOMENTUM, epsilon=EPSILON, name="bn", **kwargs)
        y_train = batch_normalization(
            x, training=flag, gamma_initializer=tf.compat.v1.constant_initializer(data[f"gamma{channels}"]),
            beta_initializer=tf.compat.v1.constant_initializer(data[f"beta{channels}"]), **common)
        y_infer = batch_normalization(x, training=False, reuse=True, **common)
        update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_step = tf.identity(y_train)
        moving = [v for v in tf.compat.v1.global_variables() if "moving_" in v.name]
        out[f"{case}/variables"] = _names(tf.compat.v1.global_variables())
        out[f"{case}/trainable"] = _names(tf.compat.v1.trainable_variables())
        out[f"{case}/moving_average_variables"] = _names(tf.compat.v1.moving_average_variables())
        out[f"{case}/n_update_ops"] = np.array(len(update_ops))
        train, infer, stats = [], [], []
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for step in range(STEPS):
                feed = {x: xs[step]}
                if isinstance(training, list):
                    feed[flag] = training[step]
                train.append(sess.run(train_step, feed))
                stats.append(sess.run(moving))
                infer.append(sess.run(y_infer, {x: xs[step]}))
        out[f"{case}/train"], out[f"{case}/infer"] = np.stack(train), np.stack(infer)
        out[f"{case}/moving_mean"] = np.stack([s[0] for s in stats])
        out[f"{case}/moving_variance"] = np.stack([s[1] for s in stats])
    return out


def run_experiments(tf, dense, batch_normalization, data):
    """All experiments, as one flat dict of arrays (the oracle's .npz)."""
    out = run_dense(tf, dense, data)
    for case in BN_CASES:
        out.update(run_batch_norm(tf, batch_normalization, data, case))
    return out


def main(inputs_path, outputs_path):
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        sys.exit("Set TF_USE_LEGACY_KERAS=1 before running the oracle (tf.compat.v1.layers needs tf-keras).")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import warnings

    import tensorflow as tf

    warnings.filterwarnings("ignore")
    tf.get_logger().setLevel("ERROR")
    data = dict(np.load(inputs_path))
    results = run_experiments(tf, tf.compat.v1.layers.dense, tf.compat.v1.layers.batch_normalization, data)
    np.savez(outputs_path, **results)


if __name__ == "__main__":
    main(*sys.argv[1:3])
