"""``companion.tf1``: TF1 layers for TensorFlow 2.21, checked against the legacy ``tf.compat.v1.layers``.

The legacy layers only work in a process that sets ``TF_USE_LEGACY_KERAS=1`` before importing
TensorFlow, so ``legacy_tf1_oracle.py`` runs them in a subprocess (once per module), and the same
experiments run here with the companion's layers.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import legacy_tf1_oracle as oracle  # noqa: E402  (tests/ is on sys.path under pytest)
from companion.tf1.initializers import variance_scaling_initializer  # noqa: E402
from companion.tf1.layers import batch_normalization, dense  # noqa: E402

v1 = tf.compat.v1
TOL = dict(rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def data():
    return oracle.make_inputs()


@pytest.fixture(scope="module")
def legacy(data, tmp_path_factory):
    """Results of the legacy tf.compat.v1.layers (tf-keras), from a subprocess."""
    tmp = tmp_path_factory.mktemp("tf1_oracle")
    inputs, outputs = tmp / "inputs.npz", tmp / "outputs.npz"
    np.savez(inputs, **data)
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    run = subprocess.run([sys.executable, oracle.__file__, str(inputs), str(outputs)],
                         env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"oracle failed:\n{run.stdout}\n{run.stderr[-5000:]}"
    with np.load(outputs) as results:
        return dict(results)


@pytest.fixture(scope="module")
def ours(data):
    return oracle.run_experiments(tf, dense, batch_normalization, data)


def test_same_experiments(legacy, ours):
    assert sorted(ours) == sorted(legacy)


def test_dense_matches_legacy(legacy, ours):
    for key in ("relu", "tanh", "shared", "unnamed", "losses"):
        np.testing.assert_allclose(ours[f"dense/{key}"], legacy[f"dense/{key}"], **TOL, err_msg=key)
    for key in ("variables", "trainable", "shapes"):
        np.testing.assert_array_equal(ours[f"dense/{key}"], legacy[f"dense/{key}"], err_msg=key)
    np.testing.assert_array_equal(legacy["dense/unnamed"], legacy["dense/relu"])  # reused "dense"


@pytest.mark.parametrize("case", list(oracle.BN_CASES))
def test_batch_normalization_matches_legacy(legacy, ours, case):
    for key in ("train", "infer", "moving_mean", "moving_variance"):
        np.testing.assert_allclose(ours[f"{case}/{key}"], legacy[f"{case}/{key}"], **TOL,
                                   err_msg=f"{case}/{key}")
    for key in ("variables", "trainable", "moving_average_variables", "n_update_ops"):
        np.testing.assert_array_equal(ours[f"{case}/{key}"], legacy[f"{case}/{key}"],
                                      err_msg=f"{case}/{key}")


def test_legacy_variable_order_and_collections(legacy):
    """What the oracle says, spelled out (the comparisons above enforce it on the companion)."""
    assert list(legacy["bn2d/variables"]) == ["bn/gamma:0", "bn/beta:0", "bn/moving_mean:0",
                                              "bn/moving_variance:0"]
    assert list(legacy["bn2d/trainable"]) == ["bn/gamma:0", "bn/beta:0"]
    assert legacy["bn2d/moving_average_variables"].size == 0  # not in MOVING_AVERAGE_VARIABLES
    assert legacy["bn2d/n_update_ops"] == 2 and legacy["bn4d_nhwc/n_update_ops"] == 2
    assert legacy["bn2d_frozen/n_update_ops"] == 0  # trainable=False: no update ops at all


def test_fused_layouts_update_with_the_unbiased_variance(legacy, data):
    x = data["x4d"][0].reshape(-1, 2)  # NHWC, 2 channels: 60 values per channel
    n, m = len(x), oracle.MOMENTUM
    biased = m * 1.0 + (1 - m) * x.var(0)
    np.testing.assert_allclose(legacy["bn4d_unfused/moving_variance"][0], biased, rtol=1e-5)
    np.testing.assert_allclose(legacy["bn4d_nhwc/moving_variance"][0],
                               m * 1.0 + (1 - m) * x.var(0) * n / (n - 1), rtol=1e-5)
    np.testing.assert_allclose(legacy["bn4d_nhwc/moving_mean"][0], (1 - m) * x.mean(0), rtol=1e-5, atol=1e-7)
    x2 = data["x2d"][0]
    np.testing.assert_allclose(legacy["bn2d/moving_variance"][0], m + (1 - m) * x2.var(0), rtol=1e-5)


def test_update_ops_are_collected_not_run(data):
    x_np = data["x2d"][0]
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 4])
        y = batch_normalization(x, momentum=0.9, training=True)
        update_ops = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
        assert len(update_ops) == 2 and all(isinstance(op, tf.Operation) for op in update_ops)
        moving_mean = [v for v in v1.global_variables() if v.name.endswith("moving_mean:0")][0]
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            sess.run(y, {x: x_np})
            np.testing.assert_array_equal(sess.run(moving_mean), np.zeros(4))  # not run by itself
            sess.run(update_ops, {x: x_np})
            np.testing.assert_allclose(sess.run(moving_mean), 0.1 * x_np.mean(0), rtol=1e-5)


def test_default_names_are_uniquified():
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 3])
        h = dense(dense(x, 3), 3)
        batch_normalization(batch_normalization(h))
        dense(x, 3, name="out")
        names = [v.name for v in v1.global_variables()]
    assert names == ["dense/kernel:0", "dense/bias:0", "dense_1/kernel:0", "dense_1/bias:0",
                     "batch_normalization/gamma:0", "batch_normalization/beta:0",
                     "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0",
                     "batch_normalization_1/gamma:0", "batch_normalization_1/beta:0",
                     "batch_normalization_1/moving_mean:0", "batch_normalization_1/moving_variance:0",
                     "out/kernel:0", "out/bias:0"]


def test_reuse_shares_variables(data):
    x_np = data["x2d"][0]
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 4])
        a = dense(x, 2, name="shared")
        b = dense(x, 2, name="shared", reuse=True)
        first = dense(x, 3)
        again = dense(x, 3, reuse=True)  # unnamed and reused: the scope "dense", as in the legacy layer
        y_train = batch_normalization(x, training=True, name="bn")
        y_infer = batch_normalization(x, training=False, name="bn", reuse=True)
        names = [v.name for v in v1.global_variables()]
        assert names == ["shared/kernel:0", "shared/bias:0", "dense/kernel:0", "dense/bias:0",
                         "bn/gamma:0", "bn/beta:0", "bn/moving_mean:0", "bn/moving_variance:0"]
        assert len(v1.get_collection(v1.GraphKeys.UPDATE_OPS)) == 2  # only the training call
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            a, b, first, again, y_infer = sess.run([a, b, first, again, y_infer], {x: x_np})
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(y_infer, x_np / np.sqrt(1 + 1e-3), rtol=1e-6)


def test_reuse_of_missing_or_existing_scope_raises():
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 3])
        with pytest.raises(ValueError, match="does not exist"):
            dense(x, 2, name="missing", reuse=True)
        dense(x, 2, name="layer")
        with pytest.raises(ValueError, match="already exists"):
            dense(x, 2, name="layer")


def test_training_tensor_switches_at_run_time(data):
    x_np = data["x2d"][0]
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 4])
        training = v1.placeholder_with_default(False, ())
        y = batch_normalization(x, momentum=0.9, epsilon=1e-3, training=training)
        update_ops = v1.get_collection(v1.GraphKeys.UPDATE_OPS)
        assert len(update_ops) == 2
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            y_infer, _ = sess.run([y, update_ops], {x: x_np})  # training False: moving stats, no update
            np.testing.assert_allclose(y_infer, x_np / np.sqrt(1 + 1e-3), rtol=1e-5)
            mean, var = sess.run([v for v in v1.global_variables() if "moving" in v.name])
            np.testing.assert_array_equal(mean, np.zeros(4))
            np.testing.assert_array_equal(var, np.ones(4))
            y_train, _ = sess.run([y, update_ops], {x: x_np, training: True})
            expected = (x_np - x_np.mean(0)) / np.sqrt(x_np.var(0) + 1e-3)
            np.testing.assert_allclose(y_train, expected, rtol=1e-4, atol=1e-5)
            mean, var = sess.run([v for v in v1.global_variables() if "moving" in v.name])
            np.testing.assert_allclose(mean, 0.1 * x_np.mean(0), rtol=1e-5)
            np.testing.assert_allclose(var, 0.9 + 0.1 * x_np.var(0), rtol=1e-5)


def test_trainable_false():
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 3])
        dense(x, 2, trainable=False)
        batch_normalization(x, training=True, trainable=False)
        assert len(v1.global_variables()) == 2 + 4
        assert v1.trainable_variables() == []
        assert v1.get_collection(v1.GraphKeys.UPDATE_OPS) == []  # as legacy: frozen statistics


def test_dense_default_kernel_is_glorot_uniform_unless_the_scope_says_otherwise():
    with tf.Graph().as_default():
        v1.set_random_seed(0)
        x = v1.placeholder(tf.float32, [None, 300])
        dense(x, 200)
        with v1.variable_scope("block", initializer=v1.constant_initializer(0.5)):
            dense(x, 2)
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            glorot, _, scoped, _ = sess.run(v1.global_variables())
    limit = np.sqrt(6 / (300 + 200))
    assert np.abs(glorot).max() <= limit and abs(glorot.std() / (limit / np.sqrt(3)) - 1) < 0.02
    np.testing.assert_array_equal(scoped, np.full((300, 2), 0.5, np.float32))


def test_regularizers_and_constraints():
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 3])
        dense(x, 2, kernel_regularizer=tf.nn.l2_loss, bias_regularizer=tf.nn.l2_loss,
              kernel_constraint=lambda w: tf.clip_by_norm(w, 1.0))
        batch_normalization(x, gamma_regularizer=tf.nn.l2_loss)
        assert len(v1.get_collection(v1.GraphKeys.REGULARIZATION_LOSSES)) == 3
        assert v1.global_variables()[0].constraint is not None
        dense(x, 2, name="dense", reuse=True, kernel_regularizer=tf.nn.l2_loss)
        assert len(v1.get_collection(v1.GraphKeys.REGULARIZATION_LOSSES)) == 3  # not added twice


@pytest.mark.parametrize("kwargs, match", [
    ({"renorm": True}, "renorm"),
    ({"virtual_batch_size": 2}, "virtual_batch_size"),
    ({"adjustment": lambda shape: (1.0, 0.0)}, "adjustment"),
    ({"renorm_clipping": {"rmax": 3.0}}, "renorm_clipping"),
    ({"axis": [1, 2]}, "axis"),
])
def test_unsupported_arguments_raise(kwargs, match):
    with tf.Graph().as_default():
        x = v1.placeholder(tf.float32, [None, 3, 4])
        with pytest.raises(NotImplementedError, match=match):
            batch_normalization(x, **kwargs)


def test_unsupported_dtype_and_eager_raise():
    with tf.Graph().as_default():
        with pytest.raises(NotImplementedError, match="float32"):
            batch_normalization(v1.placeholder(tf.float16, [None, 3]))
    with pytest.raises(RuntimeError, match="tf.Graph"):
        dense(tf.ones((2, 3)), 2)


def _sample(initializer, shape, seed=1):
    with tf.Graph().as_default():
        v1.set_random_seed(seed)
        w = v1.get_variable("w", shape, initializer=initializer)
        with v1.Session() as sess:
            sess.run(v1.global_variables_initializer())
            return sess.run(w)


TRUNCATED_STD = 0.87962566103423978  # std of a standard normal truncated to [-2, 2]


@pytest.mark.parametrize("mode, uniform, factor", [
    ("FAN_IN", False, 2.0), ("FAN_OUT", False, 2.0), ("FAN_AVG", False, 1.0), ("FAN_IN", True, 2.0),
])
def test_contrib_variance_scaling_initializer(mode, uniform, factor):
    shape = (1000, 500) if mode != "FAN_IN" else (1000, 1000)
    n = {"FAN_IN": shape[0], "FAN_OUT": shape[1], "FAN_AVG": (shape[0] + shape[1]) / 2}[mode]
    w = _sample(variance_scaling_initializer(factor=factor, mode=mode, uniform=uniform), shape)
    if uniform:
        limit = np.sqrt(3 * factor / n)
        expected_std = limit / np.sqrt(3)  # = sqrt(factor / n)
        assert np.abs(w).max() <= limit
    else:
        stddev = np.sqrt(1.3 * factor / n)
        expected_std = stddev * TRUNCATED_STD  # about 1.003 * sqrt(factor / n)
        assert np.abs(w).max() <= 2 * stddev * (1 + 1e-6)
    assert abs(w.std() / expected_std - 1) < 0.02
    assert abs(w.mean()) < 0.01 * expected_std  # the mean's own std is std / 1000


def test_the_he_versus_lecun_trap():
    shape = (1000, 1000)
    he = _sample(variance_scaling_initializer(), shape)
    lecun = _sample(v1.variance_scaling_initializer(), shape)  # TF1's later default: scale=1.0
    assert abs(he.std() / np.sqrt(2 / 1000) - 1) < 0.02
    assert abs(lecun.std() / np.sqrt(1 / 1000) - 1) < 0.02


def test_variance_scaling_rejects_bad_arguments():
    with pytest.raises(TypeError):
        variance_scaling_initializer(mode="fan_in")
    with pytest.raises(TypeError):
        variance_scaling_initializer(dtype=tf.int32)


def test_package_import_is_light():
    code = "import sys, companion.tf1; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120,
                   cwd=Path(__file__).resolve().parents[1])
