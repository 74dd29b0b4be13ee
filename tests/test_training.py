"""The three trainers: one signature, one history, reproducible, and loud when the loss blows up."""
import numpy as np
import pytest

import companion
from companion import models
from companion.registry import FRAMEWORKS
from companion.training import TrainingDiverged

OPTIONS = {"hidden": (32,)}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(300, 28, 28)).astype(np.float32)
    y = (X[:, :14].mean(axis=(1, 2)) > X[:, 14:].mean(axis=(1, 2))).astype(np.int64)
    return (X[:200], y[:200]), (X[200:], y[200:])


@pytest.fixture(scope="module")
def initial_weights():
    return models.get_weights(models.build("mlp", "torch", seed=0, **OPTIONS))


def _train(framework, data, weights, **kwargs):
    model = models.build("mlp", framework, weights=weights, **OPTIONS)
    options = dict(epochs=2, batch_size=32, optimizer="sgd", learning_rate=0.1, seed=7)
    options.update(kwargs)
    return model, companion.train(model, data, **options)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_history_table(framework, data, initial_weights):
    _, history = _train(framework, data, initial_weights)
    assert list(history.index) == [1, 2]
    assert list(history.columns) == ["loss", "accuracy", "val_loss", "val_accuracy", "steps", "seconds"]
    assert list(history["steps"]) == [7, 14]
    assert history["loss"].iloc[1] < history["loss"].iloc[0]
    assert ((history[["accuracy", "val_accuracy"]] >= 0) & (history[["accuracy", "val_accuracy"]] <= 1)).all().all()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_same_seed_same_history(framework, data, initial_weights):
    _, first = _train(framework, data, initial_weights)
    _, second = _train(framework, data, initial_weights)
    cols = ["loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_array_equal(first[cols].to_numpy(), second[cols].to_numpy())


def test_three_frameworks_same_history(data, initial_weights):
    """Same weights and batch order: the three trainers follow the same trajectory."""
    cols = ["loss", "accuracy", "val_loss", "val_accuracy"]
    histories = {fw: _train(fw, data, initial_weights, optimizer="sgd", momentum=0.9)[1][cols]
                 for fw in FRAMEWORKS}
    for fw in ("tf1", "keras"):
        np.testing.assert_allclose(histories[fw].to_numpy(), histories["torch"].to_numpy(),
                                   rtol=2e-4, atol=2e-5, err_msg=fw)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_adam_is_the_same_everywhere(framework, data, initial_weights):
    _, mine = _train(framework, data, initial_weights, optimizer="adam", learning_rate=1e-3, epochs=1)
    _, ref = _train("torch", data, initial_weights, optimizer="adam", learning_rate=1e-3, epochs=1)
    np.testing.assert_allclose(mine["val_loss"], ref["val_loss"], rtol=1e-4)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_non_finite_loss_stops_with_a_clear_error(framework, data, initial_weights):
    with pytest.raises(TrainingDiverged, match=r"epoch 1, step \d+ \(" + framework):
        _train(framework, data, initial_weights, learning_rate=1e30)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_steps_and_callback(framework, data, initial_weights):
    seen = []
    model, history = _train(framework, data, initial_weights, epochs=5, steps=10,
                            callback=lambda step, m: seen.append((step, m)), callback_every=3)
    assert [s for s, _ in seen] == [3, 6, 9]
    assert all(m is model for _, m in seen)
    assert list(history["steps"]) == [7, 10]


def test_bad_data_is_a_clear_error(initial_weights):
    model = models.build("mlp", "torch", weights=initial_weights, **OPTIONS)
    X = np.zeros((10, 28, 28), np.float32)
    with pytest.raises(ValueError, match="10 inputs but 9 targets"):
        companion.train(model, ((X, np.zeros(9)),))
    with pytest.raises(ValueError, match="load_fashion_mnist"):
        companion.train(model, X)


def test_unknown_optimizer(initial_weights):
    model = models.build("mlp", "torch", weights=initial_weights, **OPTIONS)
    with pytest.raises(ValueError, match="'sgd' or 'adam'"):
        companion.train(model, ((np.zeros((4, 28, 28)), np.zeros(4)),), optimizer="rmsprop")


def test_wrong_shapes_and_labels_are_clear_errors(initial_weights):
    model = models.build("mlp", "keras", weights=initial_weights, **OPTIONS)
    with pytest.raises(ValueError, match=r"takes inputs of shape \(n, 28, 28\), got \(4, 784\)"):
        companion.train(model, ((np.zeros((4, 784)), np.zeros(4, int)),))
    with pytest.raises(ValueError, match="class numbers"):
        companion.train(model, ((np.zeros((4, 28, 28)), np.full(4, 0.5)),))


def test_epochs_from_steps(data, initial_weights):
    _, history = _train("torch", data, initial_weights, epochs=None, steps=10)
    assert list(history["steps"]) == [7, 10]
    with pytest.raises(ValueError, match="epochs, of steps, or both"):
        _train("torch", data, initial_weights, epochs=None)


BAD_ARGUMENTS = [
    (dict(batch_size=0), r"batch_size=0: batch_size must be a positive whole number"),
    (dict(batch_size=-5), r"batch_size=-5"),
    (dict(batch_size=2.5), r"batch_size=2.5"),
    (dict(epochs=0), r"epochs=0: epochs must be a positive whole number or None"),
    (dict(epochs=-1), r"epochs=-1"),
    (dict(steps=0), r"steps=0"),
    (dict(callback_every=0), r"callback_every=0"),
]


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("arguments, message", BAD_ARGUMENTS, ids=[str(a) for a, _ in BAD_ARGUMENTS])
def test_bad_counts_are_named(framework, data, initial_weights, arguments, message):
    model = models.build("mlp", framework, weights=initial_weights, **OPTIONS)
    with pytest.raises(ValueError, match=message):
        companion.train(model, data, **arguments)
    np.testing.assert_array_equal(models.get_weights(model)[0], initial_weights[0])   # nothing trained


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_labels_beyond_the_classes_are_named(framework, data, initial_weights):
    (X, y), valid = data
    model = models.build("mlp", framework, weights=initial_weights, **OPTIONS)
    with pytest.raises(ValueError, match=r"training labels must be class numbers 0 to 9 .*got a label 10"):
        companion.train(model, ((X, np.where(y == 1, 10, y)), valid))
    with pytest.raises(ValueError, match=r"validation labels .* got a label 12"):
        companion.train(model, ((X, y), (valid[0], np.full_like(valid[1], 12))))
    with pytest.raises(ValueError, match=r"class numbers 0, 1, .*got a label -1"):
        companion.train(model, ((X, np.where(y == 1, -1, y)), valid))


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_inputs_are_named(framework, data, initial_weights, bad):
    (X, y), valid = data
    X = X.copy()
    X[3, 5, 5] = X[7, 0, 0] = bad
    model = models.build("mlp", framework, weights=initial_weights, **OPTIONS)
    with pytest.raises(ValueError, match=r"training inputs hold NaN or infinite values \(2 of 200 examples, "
                                         r"the first at index 3\)"):
        companion.train(model, ((X, y), valid))
    np.testing.assert_array_equal(models.get_weights(model)[0], initial_weights[0])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_an_empty_split_is_named_before_the_model_runs(framework, data, initial_weights):
    (X, y), valid = data
    model = models.build("mlp", framework, weights=initial_weights, **OPTIONS)
    with pytest.raises(ValueError, match="the training split of the data is empty"):
        companion.train(model, ((X[:0], y[:0]), valid))
    with pytest.raises(ValueError, match="the validation split of the data is empty"):
        companion.train(model, ((X, y), (valid[0][:0], valid[1][:0])))


@pytest.mark.parametrize("momentum, clip", [(0.0, None), (0.9, None), (0.9, ("global_norm", 0.5))])
def test_the_keras_step_returns_what_fit_returns(data, initial_weights, momentum, clip):
    """The Keras dialect's own step (faster than ``fit``: benchmarks/trainers.py) gives ``fit``'s history
    and weights on the same batches: the same order of examples, ``shuffle=False``."""
    from companion.frameworks import keras as backend
    from companion.training import OptimizerConfig, as_clip

    model, history = _train("keras", data, initial_weights, momentum=momentum, clip=clip)
    (X, y), validation = data
    twin = models.build("mlp", "keras", weights=initial_weights, **OPTIONS)
    twin.compile(optimizer=backend.make_optimizer(OptimizerConfig("sgd", 0.1, momentum), as_clip(clip)),
                 loss=backend.loss_fn("classification"), metrics=["accuracy"])
    rng, rows = np.random.default_rng(7), []
    for _ in range(2):
        order = rng.permutation(len(X))
        logs = twin.fit(X[order], y[order], batch_size=32, epochs=1, shuffle=False,
                        validation_data=validation, verbose=0).history
        rows.append([logs[k][0] for k in ("loss", "accuracy", "val_loss", "val_accuracy")])
    cols = ["loss", "accuracy", "val_loss", "val_accuracy"]
    np.testing.assert_allclose(history[cols].to_numpy(), np.array(rows), rtol=1e-5, atol=1e-6)
    for ours, theirs in zip(models.get_weights(model), models.get_weights(twin)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_the_calls_of_an_epoch_end_where_the_loop_has_work_between_steps():
    """200 images in batches of 32: six full batches and one of 8. A trainer that runs many steps per
    call gets the full ones together, cut at every callback step and at the last step asked for."""
    from companion.training import _calls
    assert list(_calls(200, 32, 0, 14, None, many=False)) == [(32 * i, 1) for i in range(7)]
    assert list(_calls(200, 32, 0, 14, None, many=True)) == [(0, 6), (192, 1)]
    assert list(_calls(200, 32, 7, 14, 3, many=True)) == [(0, 2), (64, 3), (160, 1), (192, 1)]
    assert list(_calls(200, 32, 7, 10, None, many=True)) == [(0, 3)]


KERAS_RUNS = [
    ("mlp", OPTIONS, {}),
    ("mlp", OPTIONS, {"momentum": 0.9, "clip": ("global_norm", 0.5), "epochs": None, "steps": 10}),
    ("mlp", OPTIONS, {"optimizer": "adam", "learning_rate": 1e-3, "record_gradient_norm": True}),
    ("bn_before_mlp", {"hidden": (32,)}, {}),               # moving statistics move inside the loop
]


@pytest.mark.parametrize("name, options, kwargs", KERAS_RUNS)
def test_keras_steps_run_many_per_call_give_the_history_of_one_per_call(name, options, kwargs, data,
                                                                        monkeypatch):
    """``Trainer.run`` (many steps in one ``tf.function`` call) against ``Trainer.step`` alone: the same
    history, the same per-step records, the same weights (moving statistics included), to the bit."""
    from companion.frameworks.keras import Trainer

    weights = models.get_weights(models.build(name, "torch", seed=0, **options))

    def train():
        model = models.build(name, "keras", weights=weights, **options)
        settings = dict(epochs=2, batch_size=32, learning_rate=0.1, seed=7, progress=False)
        history = companion.train(model, data, **{**settings, **kwargs})
        return history.drop(columns="seconds"), models.get_weights(model)

    many, many_weights = train()
    monkeypatch.delattr(Trainer, "run")
    one, one_weights = train()
    assert many.equals(one) and many.attrs == one.attrs and len(many.attrs["step_loss"]) == many["steps"].iloc[-1]
    for a, b in zip(many_weights, one_weights):
        np.testing.assert_array_equal(a, b)


def test_keras_steps_run_many_per_call_still_stop_at_callbacks_and_a_diverged_step(data, initial_weights,
                                                                                   monkeypatch):
    """The callback sees the weights after its own step, and a diverged loss names the same step."""
    from companion.frameworks.keras import Trainer

    def callbacks_and_divergence():
        seen = []
        model = models.build("mlp", "keras", weights=initial_weights, **OPTIONS)
        companion.train(model, data, epochs=2, batch_size=32, learning_rate=0.1, seed=7, progress=False,
                        callback=lambda step, m: seen.append((step, models.get_weights(m))), callback_every=4)
        model = models.build("mlp", "keras", weights=initial_weights, **OPTIONS)
        with pytest.raises(TrainingDiverged) as diverged:
            companion.train(model, data, epochs=2, batch_size=32, learning_rate=1e30, progress=False)
        return seen, str(diverged.value)

    many, many_message = callbacks_and_divergence()
    monkeypatch.delattr(Trainer, "run")
    one, one_message = callbacks_and_divergence()
    assert [s for s, _ in many] == [s for s, _ in one] == [4, 8, 12]
    for (_, a), (_, b) in zip(many, one):
        for x, z in zip(a, b):
            np.testing.assert_array_equal(x, z)
    assert many_message == one_message
