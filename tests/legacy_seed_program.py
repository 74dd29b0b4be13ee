"""The seed notes' TF1 batch-normalization program, verbatim but for its data, on the legacy layers.

Run in a separate process, with Keras 2 (tf-keras) behind ``tf.compat.v1.layers``::

    TF_USE_LEGACY_KERAS=1 python tests/legacy_seed_program.py INPUTS.npz OUTPUTS.npz CHECKPOINT_PREFIX

It trains three steps on the batches of ``INPUTS.npz`` (``X``, ``y``, ``X_test``), saves a ``Saver``
checkpoint at ``CHECKPOINT_PREFIX`` and writes the variables' names, shapes and values and the test
outputs in both modes to ``OUTPUTS.npz``. ``tests/test_batchnorm.py`` restores the checkpoint into the
companion's ``bn_elu_mlp`` and compares.
"""
import os
import sys

import numpy as np


def main(inputs, outputs, prefix):
    assert os.environ.get("TF_USE_LEGACY_KERAS") == "1", "run with TF_USE_LEGACY_KERAS=1"
    from functools import partial
    import tensorflow as tf
    tf = tf.compat.v1
    tf.disable_eager_execution()
    data = np.load(inputs)
    n_inputs, n_hidden1, n_hidden2, n_outputs = 28 * 28, 300, 100, 10
    batch_norm_momentum, learning_rate = 0.9, 0.01

    X = tf.placeholder(tf.float32, shape=(None, n_inputs), name="X")
    y = tf.placeholder(tf.int32, shape=(None), name="y")
    training = tf.placeholder_with_default(False, shape=(), name="training")
    with tf.name_scope("dnn"):
        he_init = tf.variance_scaling_initializer()
        my_batch_norm_layer = partial(tf.layers.batch_normalization, training=training,
                                      momentum=batch_norm_momentum)
        my_dense_layer = partial(tf.layers.dense, kernel_initializer=he_init)
        hidden1 = my_dense_layer(X, n_hidden1, name="hidden1")
        bn1 = tf.nn.elu(my_batch_norm_layer(hidden1))
        hidden2 = my_dense_layer(bn1, n_hidden2, name="hidden2")
        bn2 = tf.nn.elu(my_batch_norm_layer(hidden2))
        logits_before_bn = my_dense_layer(bn2, n_outputs, name="outputs")
        logits = my_batch_norm_layer(logits_before_bn)
    with tf.name_scope("loss"):
        xentropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = tf.reduce_mean(xentropy, name="loss")
    with tf.name_scope("train"):
        optimizer = tf.train.GradientDescentOptimizer(learning_rate)
        extra_update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(extra_update_ops):
            training_op = optimizer.minimize(loss)
    init = tf.global_variables_initializer()
    saver = tf.train.Saver()

    with tf.Session() as sess:
        init.run()
        for X_batch, y_batch in zip(data["X"], data["y"]):
            sess.run(training_op, feed_dict={training: True, X: X_batch.reshape(-1, n_inputs), y: y_batch})
        saver.save(sess, prefix)
        variables = tf.global_variables()
        X_test = data["X_test"].reshape(-1, n_inputs)
        np.savez(outputs, names=np.array([v.name for v in variables]),
                 shapes=np.array([str(v.shape.as_list()) for v in variables]),
                 inference=sess.run(logits, {X: X_test}),
                 training=sess.run(logits, {X: X_test, training: True}),
                 **{f"value{i}": value for i, value in enumerate(sess.run(variables))})


if __name__ == "__main__":
    main(*sys.argv[1:4])
