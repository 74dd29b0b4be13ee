"""One set of weights, three frameworks: the same outputs, loss and gradients (float32 tolerance).

Every registered model is checked; a new model is covered as soon as it is registered.
"""
import numpy as np
import pytest

from companion import frameworks, models
from companion.registry import FRAMEWORKS

# keeps the suite fast; the builders are the same
SMALL_OPTIONS = {"mlp": {"hidden": (32, 16)}, "leaky_relu_mlp": {"hidden": (32, 16)},
                 "dying_relu_mlp": {"hidden": (32, 16)}, "deep_selu_mlp": {"hidden": (16,) * 6},
                 "bn_after_mlp": {"hidden": (32, 16)}, "bn_before_mlp": {"hidden": (32, 16)},
                 "bn_elu_mlp": {"hidden": (32, 16)}, "clipping_relu_mlp": {"hidden": (32, 16, 16)},
                 "exploding_tanh_mlp": {"hidden": (32,) * 4}}


def _inputs(spec, rng, n=16):
    X = rng.normal(size=(n, *spec.input_shape)).astype(np.float32)
    return X


@pytest.fixture(scope="module", params=models.names())
def twins(request):
    """The model built in every framework, all loaded with the PyTorch twin's initial weights."""
    name = request.param
    options = SMALL_OPTIONS.get(name, {})
    reference = models.build(name, "torch", seed=3, **options)
    weights = models.get_weights(reference)
    built = {fw: models.build(name, fw, seed=3, weights=weights, **options) for fw in FRAMEWORKS}
    return name, weights, built


def _targets(spec, outputs, rng):
    if spec.task == "classification":
        return rng.integers(0, outputs.shape[1], size=len(outputs))
    return rng.uniform(0, 1, size=outputs.shape).astype(np.float32)


def test_weights_round_trip(twins):
    _, weights, built = twins
    for fw, model in built.items():
        for mine, ref in zip(models.get_weights(model), weights):
            np.testing.assert_array_equal(mine, ref, err_msg=fw)


def test_same_outputs_loss_and_gradients(twins):
    name, _, built = twins
    spec, rng = models.spec(name), np.random.default_rng(0)
    X = _inputs(spec, rng)
    outputs = {fw: models.predict(m, X) for fw, m in built.items()}
    y = _targets(spec, outputs["torch"], rng)
    results = {fw: frameworks.loss_and_gradients(m, X, y) for fw, m in built.items()}
    loss_ref, grads_ref = results["torch"]
    scale = max(np.abs(g).max() for g in grads_ref)
    out_scale = np.abs(outputs["torch"]).max()
    for fw in ("tf1", "keras"):
        # float32 round-off grows with depth: differences are judged against the outputs' size
        np.testing.assert_allclose(outputs[fw], outputs["torch"], rtol=1e-5, atol=1e-5 * out_scale,
                                   err_msg=fw)
        loss, grads = results[fw]
        assert loss == pytest.approx(loss_ref, rel=1e-5), fw
        assert len(grads) == len(grads_ref)
        for i, (g, g_ref) in enumerate(zip(grads, grads_ref)):
            np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-6 * scale, err_msg=f"{fw} grad {i}")


def test_same_weights_after_training_steps(twins):
    """Three SGD steps from the same weights on the same batches: the same trained weights, moving
    statistics included, and the same outputs in training and inference mode, in the three frameworks."""
    from companion.training import OptimizerConfig
    name, weights, _ = twins
    spec, rng = models.spec(name), np.random.default_rng(2)
    options = SMALL_OPTIONS.get(name, {})
    batches = [_inputs(spec, rng) for _ in range(3)]
    X_test = _inputs(spec, rng)
    reference = models.build(name, "torch", weights=weights, **options)
    targets = [_targets(spec, models.predict(reference, X), rng) for X in batches]
    results = {}
    for fw in FRAMEWORKS:
        model = models.build(name, fw, weights=weights, **options)
        trainer = frameworks.backend(fw).Trainer(model, spec.task, OptimizerConfig("sgd", learning_rate=0.1))
        for X, y in zip(batches, targets):
            trainer.step(X, y)
        results[fw] = (models.get_weights(model), models.predict(model, X_test),
                       models.predict(model, X_test, training=True))
    trained, inference, training = results["torch"]
    moved = [i for i, (w, w0) in enumerate(zip(trained, weights)) if not np.array_equal(w, w0)]
    assert len(moved) == len(weights), f"{name}: weight arrays {set(range(len(weights))) - set(moved)} did not move"
    for fw in ("tf1", "keras"):
        for i, (w, w_ref) in enumerate(zip(results[fw][0], trained)):
            np.testing.assert_allclose(w, w_ref, rtol=1e-4, atol=1e-5 * max(1.0, np.abs(w_ref).max()),
                                       err_msg=f"{fw} weight array {i}")
        for got, want, mode in ((results[fw][1], inference, "inference"), (results[fw][2], training, "training")):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max(), err_msg=f"{fw} {mode}")


def test_gradients_do_not_change_the_model(twins):
    name, weights, built = twins
    spec, rng = models.spec(name), np.random.default_rng(1)
    X = _inputs(spec, rng)
    for fw, model in built.items():
        y = _targets(spec, models.predict(model, X), rng)
        frameworks.loss_and_gradients(model, X, y)
        for mine, ref in zip(models.get_weights(model), weights):
            np.testing.assert_array_equal(mine, ref, err_msg=fw)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_wrong_weights_are_a_clear_error(framework):
    model = models.build("sigmoid_chain", framework, depth=2)
    with pytest.raises(ValueError, match="4 weight arrays, got 3"):
        models.set_weights(model, models.get_weights(model)[:3])
    bad = models.get_weights(model)
    bad[0] = np.zeros((2, 1), np.float32)
    with pytest.raises(ValueError, match=r"weight array 0 has shape \(2, 1\)"):
        models.set_weights(model, bad)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_same_seed_same_initial_weights(framework):
    a = models.get_weights(models.build("mlp", framework, seed=5, hidden=(8,)))
    b = models.get_weights(models.build("mlp", framework, seed=5, hidden=(8,)))
    c = models.get_weights(models.build("mlp", framework, seed=6, hidden=(8,)))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_chain_matches_the_numpy_reference():
    from companion import reference
    weights = reference.chain_weights([1.5, -2.0, 3.0, 0.5, 4.0], [0.1, -0.2, 0.3, 0.0, -1.0])
    X = np.array([[0.7], [-1.2], [2.0]], np.float32)
    t = np.array([[0.2], [0.9], [0.5]], np.float32)
    loss_ref, grads_ref, _ = reference.chain_backprop(weights, X, t)
    for fw in FRAMEWORKS:
        model = models.build("sigmoid_chain", fw, depth=5, weights=weights)
        loss, grads = frameworks.loss_and_gradients(model, X, t)
        assert loss == pytest.approx(loss_ref, rel=1e-6), fw
        for g, g_ref in zip(grads, grads_ref):
            np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-9, err_msg=fw)


@pytest.mark.parametrize("activation,alpha", [("relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0.3),
                                              ("prelu", 0.25), ("elu", 1.0), ("elu", 0.5),
                                              ("selu", None), ("gelu", None), ("swish", None),
                                              ("sigmoid", None), ("tanh", None)])
def test_every_activation_gives_the_same_network(activation, alpha):
    """The MLP with each activation: random weights (PReLU's slopes too) give the same outputs, loss and
    gradients in the three frameworks; an activation that ignored its parameter would fail here."""
    rng = np.random.default_rng(7)
    options = dict(hidden=(12, 8), activation=activation, alpha=alpha)
    shapes = [w.shape for w in models.get_weights(models.build("mlp", "torch", **options))]
    weights = [rng.normal(0, 0.3, size=s).astype(np.float32) for s in shapes]
    if activation == "prelu":              # one learnable slope per unit, after each layer's bias
        assert shapes[2] == (12,) and shapes[5] == (8,)
    X = rng.normal(size=(16, 28, 28)).astype(np.float32) * 0.2
    y = rng.integers(0, 10, size=16)
    results = {}
    for fw in FRAMEWORKS:
        model = models.build("mlp", fw, weights=weights, **options)
        results[fw] = (models.predict(model, X), *frameworks.loss_and_gradients(model, X, y))
    out_ref, loss_ref, grads_ref = results["torch"]
    for fw in ("tf1", "keras"):
        out, loss, grads = results[fw]
        np.testing.assert_allclose(out, out_ref, rtol=1e-5, atol=1e-6, err_msg=fw)
        assert loss == pytest.approx(loss_ref, rel=1e-5), fw
        assert len(grads) == len(grads_ref) == len(weights)
        for i, (g, g_ref) in enumerate(zip(grads, grads_ref)):
            np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-6, err_msg=f"{fw} grad {i}")


def test_trainable_masks_agree(twins):
    _, weights, built = twins
    masks = {fw: models.trainable_mask(m) for fw, m in built.items()}
    assert len(masks["torch"]) == len(weights)
    assert masks["tf1"] == masks["keras"] == masks["torch"]
