"""Gradient clipping: the NumPy reference, what each framework means by it, and the trainers' clipping.

The same clip of the same gradients gives the same numbers in TF1, Keras and PyTorch (float32), the
trainers clip as the reference does and record what they did, and bad clips are named.
"""
import math

import numpy as np
import pytest

import companion
from companion import frameworks, models, reference
from companion.registry import FRAMEWORKS
from companion.training import Clip, TrainingDiverged

KINDS = ("value", "norm", "global_norm")
REFERENCE = {"value": reference.clip_by_value, "norm": reference.clip_by_norm,
             "global_norm": lambda g, t: reference.clip_by_global_norm(g, t)[0]}
OPTIONS = {"hidden": (32, 16)}


def test_the_seed_example_clipped_both_ways():
    g = [np.array([0.9, 100.0])]
    by_value, by_norm = reference.clip_by_value(g, 1.0)[0], reference.clip_by_norm(g, 1.0)[0]
    np.testing.assert_allclose(by_value, [0.9, 1.0])
    np.testing.assert_allclose(by_norm, [0.00899964, 0.9999595], rtol=1e-6)
    assert reference.cosine_similarity(g, [by_norm]) == pytest.approx(1.0, abs=1e-12)
    cos_value = reference.cosine_similarity(g, [by_value])
    assert cos_value == pytest.approx((0.81 + 100) / (math.hypot(0.9, 100) * math.hypot(0.9, 1)))
    assert cos_value < 0.75                      # by value the direction turns by more than 40 degrees


def test_global_norm_is_per_tensor_norm_for_one_tensor_and_not_for_two():
    rng = np.random.default_rng(0)
    one = [rng.normal(size=(5, 3)) * 10]
    np.testing.assert_allclose(reference.clip_by_global_norm(one, 1.0)[0][0], reference.clip_by_norm(one, 1.0)[0])
    two = one + [rng.normal(size=4) * 10]
    per_tensor, (global_, norm) = reference.clip_by_norm(two, 1.0), reference.clip_by_global_norm(two, 1.0)
    assert reference.global_norm(per_tensor) == pytest.approx(math.sqrt(2))
    assert reference.global_norm(global_) == pytest.approx(1.0) and norm > 10
    assert reference.cosine_similarity(two, global_) == pytest.approx(1.0)
    assert reference.cosine_similarity(two, per_tensor) < 1 - 1e-3
    small = [g / 1000 for g in two]
    for kind in KINDS:                          # below the threshold nothing changes
        for a, b in zip(REFERENCE[kind](small, 1.0), small):
            np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def gradients():
    rng = np.random.default_rng(1)
    return [(rng.normal(size=(6, 4)) * 3).astype(np.float32), (rng.normal(size=4) * 0.1).astype(np.float32),
            np.array([[40.0, -0.5]], np.float32)]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("kind", KINDS)
def test_each_framework_clips_as_the_reference(framework, kind, gradients):
    clipped, norm = frameworks.clip_gradients(gradients, (kind, 2.0), framework)
    for mine, ref in zip(clipped, REFERENCE[kind](gradients, 2.0)):
        np.testing.assert_allclose(mine, ref, rtol=2e-6, atol=1e-7)
    if kind == "global_norm" and framework != "keras":   # tf.clip_by_global_norm, clip_grad_norm_ return it
        assert norm == pytest.approx(reference.global_norm(gradients), rel=1e-6)
    elif kind == "norm" and framework == "torch":       # clip_grad_norm_ on each parameter: each norm
        assert norm == pytest.approx([reference.global_norm([g]) for g in gradients], rel=1e-6)
    else:
        assert norm is None


def test_pytorch_adds_1e_6_to_the_norm():
    """clip_grad_norm_ scales by threshold / (norm + 1e-6): a gradient just above the threshold
    comes out a hair below it, where TensorFlow's comes out at it."""
    g = [np.array([3.0, 4.0], np.float32)]            # norm 5
    torch_out = frameworks.clip_gradients(g, ("global_norm", 1.0), "torch")[0][0]
    tf_out = frameworks.clip_gradients(g, ("global_norm", 1.0), "tf1")[0][0]
    np.testing.assert_allclose(torch_out, np.array([3, 4]) / (5 + 1e-6), rtol=1e-7)
    np.testing.assert_allclose(tf_out, [0.6, 0.8], rtol=1e-7)


@pytest.mark.parametrize("bad, message", [(("sideways", 1.0), "kind"), (("value", 0.0), "threshold"),
                                          (("norm", float("inf")), "threshold"), (("norm", "1"), "threshold"),
                                          (("norm", float("nan")), "threshold"), (1.0, "pair")])
def test_bad_clips_are_named(bad, message):
    weights = models.get_weights(models.build("mlp", "torch", **OPTIONS))
    model = models.build("mlp", "torch", weights=weights, **OPTIONS)
    data = ((np.zeros((4, 28, 28), np.float32), np.zeros(4, np.int64)),)
    with pytest.raises(ValueError, match=message):
        companion.train(model, data, clip=bad, progress=False)
    with pytest.raises(ValueError, match=message):
        frameworks.clip_gradients([np.ones(2)], bad, "tf1")


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, size=(64, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    weights = models.get_weights(models.build("mlp", "torch", seed=4, **OPTIONS))
    return X, y, weights


@pytest.mark.parametrize("kind", KINDS)
def test_one_clipped_step_is_the_same_in_the_three_frameworks(kind, batch):
    """Same weights and batch: the clipped gradients (read off the update, learning rate 0.5) and the
    parameters after the step agree in the three frameworks and with the reference clip."""
    X, y, weights = batch
    threshold = {"value": 0.05, "norm": 0.5, "global_norm": 0.5}[kind]
    reference_model = models.build("mlp", "torch", weights=weights, **OPTIONS)
    _, grads = frameworks.loss_and_gradients(reference_model, X, y)
    expected = REFERENCE[kind](grads, threshold)
    after = {}
    for fw in FRAMEWORKS:
        model = models.build("mlp", fw, weights=weights, **OPTIONS)
        history = companion.train(model, ((X, y),), epochs=1, batch_size=64, learning_rate=0.5,
                                  clip=(kind, threshold), progress=False)
        assert history.attrs["step_clipped"] == (True,) and history.attrs["clip"] == (kind, threshold)
        assert history.attrs["step_gradient_norm"][0] == pytest.approx(reference.global_norm(grads), rel=1e-5)
        after[fw] = models.get_weights(model)
        applied = [(w0 - w1) / 0.5 for w0, w1 in zip(weights, after[fw])]
        scale = max(np.abs(g).max() for g in expected)
        for i, (mine, ref) in enumerate(zip(applied, expected)):
            np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-5 * scale, err_msg=f"{fw} {kind} {i}")
    for fw in ("tf1", "keras"):
        for mine, ref in zip(after[fw], after["torch"]):
            np.testing.assert_allclose(mine, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_clipping_record(framework, batch):
    """Per step: the global norm before clipping and whether the clip changed the gradients; a global
    threshold above every norm clips nothing and leaves the history of an unclipped run."""
    X, y, weights = batch
    data = ((X, y),)
    runs = {}
    for name, clip in (("none", None), ("loose", ("global_norm", 1e6)), ("tight", Clip("global_norm", 0.05))):
        model = models.build("mlp", framework, weights=weights, **OPTIONS)
        runs[name] = companion.train(model, data, epochs=3, batch_size=16, learning_rate=0.1, seed=5,
                                     clip=clip, record_gradient_norm=True, progress=False)
    none, loose, tight = runs["none"], runs["loose"], runs["tight"]
    assert "step_clipped" not in none.attrs and len(none.attrs["step_gradient_norm"]) == 12
    assert loose.attrs["step_clipped"] == (False,) * 12
    np.testing.assert_allclose(loose.attrs["step_loss"], none.attrs["step_loss"], rtol=1e-6)
    np.testing.assert_allclose(loose.attrs["step_gradient_norm"], none.attrs["step_gradient_norm"], rtol=1e-6)
    norms, flags = np.array(tight.attrs["step_gradient_norm"]), tight.attrs["step_clipped"]
    assert flags == tuple(bool(n > 0.05) for n in norms) and all(flags)
    assert tight.attrs["step_loss"][1:] != none.attrs["step_loss"][1:]
    plain = companion.train(models.build("mlp", framework, weights=weights, **OPTIONS), data, epochs=1,
                            batch_size=16, progress=False)
    assert "step_gradient_norm" not in plain.attrs and "step_clipped" not in plain.attrs


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_value_and_norm_flags_are_per_element_and_per_tensor(framework, batch):
    X, y, weights = batch
    model = models.build("mlp", framework, weights=weights, **OPTIONS)
    _, grads = frameworks.loss_and_gradients(model, X, y)
    largest_element = max(np.abs(g).max() for g in grads)
    largest_tensor = max(reference.global_norm([g]) for g in grads)
    for kind, just_above, just_below in (("value", largest_element * 1.01, largest_element * 0.99),
                                         ("norm", largest_tensor * 1.01, largest_tensor * 0.99)):
        for threshold, expected in ((just_above, False), (just_below, True)):
            model = models.build("mlp", framework, weights=weights, **OPTIONS)
            history = companion.train(model, ((X, y),), epochs=1, batch_size=64, clip=(kind, threshold),
                                      progress=False)
            assert history.attrs["step_clipped"] == (expected,), (kind, threshold)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_divergence_names_the_largest_gradient_norm(framework, batch):
    X, y, weights = batch
    model = models.build("mlp", framework, weights=weights, **OPTIONS)
    with pytest.raises(TrainingDiverged, match=r"epoch \d+, step \d+ .*largest gradient norm seen was "
                                               r"[0-9.e+]+: lower"):
        companion.train(model, ((X, y),), epochs=20, batch_size=8, learning_rate=1e30,
                        record_gradient_norm=True, progress=False)
    model = models.build("mlp", framework, weights=weights, **OPTIONS)
    with pytest.raises(TrainingDiverged, match="record_gradient_norm=True"):
        companion.train(model, ((X, y),), epochs=20, batch_size=8, learning_rate=1e30, progress=False)


def test_one_unit_rnn_matches_the_numpy_reference():
    X, y = np.full((1, 1), 0.5, np.float32), np.full((1, 1), 0.7, np.float32)
    for w, b in ((5.0, -2.5), (1.0, 0.0), (8.0, -4.3)):
        loss_ref, dw, db = reference.one_unit_rnn(w, b)
        for fw in FRAMEWORKS:
            model = models.build("one_unit_rnn", fw, weights=[np.float32(w), np.float32(b)])
            loss, (gw, gb) = frameworks.loss_and_gradients(model, X, y)
            assert loss == pytest.approx(loss_ref, rel=1e-5, abs=1e-9), (fw, w, b)
            scale = max(abs(dw), abs(db))
            assert gw == pytest.approx(dw, rel=1e-3, abs=1e-5 * scale), (fw, w, b)
            assert gb == pytest.approx(db, rel=1e-3, abs=1e-5 * scale), (fw, w, b)


def test_reference_rnn_gradient_is_the_finite_difference():
    w, b, h = np.array([5.0, 2.0, -1.0]), np.array([-2.5, -1.0, 0.5]), 1e-6
    _, dw, db = reference.one_unit_rnn(w, b)
    numeric_w = (reference.one_unit_rnn(w + h, b)[0] - reference.one_unit_rnn(w - h, b)[0]) / (2 * h)
    numeric_b = (reference.one_unit_rnn(w, b + h)[0] - reference.one_unit_rnn(w, b - h)[0]) / (2 * h)
    np.testing.assert_allclose(dw, numeric_w, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(db, numeric_b, rtol=1e-5, atol=1e-10)


def test_the_exploding_initializer_is_an_untruncated_normal_of_variance_4_over_fan_in():
    from companion import initializers
    assert initializers.variance("normal_4_over_fan_in", 256, 256) == pytest.approx(4 / 256)
    for framework in FRAMEWORKS:
        w = initializers.sample("normal_4_over_fan_in", framework, 400, 300, seed=0)
        std = 2 / math.sqrt(400)
        assert w.std() == pytest.approx(std, rel=0.01), framework
        assert np.abs(w).max() > 3.5 * std, framework      # untruncated: a truncated one stops at 2 std
