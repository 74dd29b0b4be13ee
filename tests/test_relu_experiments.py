"""The ReLU chapter's companion code at tiny sizes: activations, dead units, the recorder, experiments."""
import numpy as np
import pytest

from companion import activations, data, diagnostics, frameworks, models, reference
from companion.experiments import dying_relu, nonsaturating
from companion.monitor import ActivationRecorder
from companion.registry import FRAMEWORKS


@pytest.fixture(scope="module")
def tiny():
    return data.load_fashion_mnist(subset={"train": 300, "valid": 50, "test": 10})


@pytest.mark.parametrize("name,alpha", [("leaky_relu", 0.2), ("elu", 0.5), ("prelu", 0.1), ("selu", None),
                                        ("gelu", None), ("swish", None), ("relu", None)])
def test_the_three_frameworks_compute_the_same_function(name, alpha):
    z = np.linspace(-6, 6, 241)
    expected = reference.activation(name, z, alpha)
    for fw in FRAMEWORKS:
        values = frameworks.activation_values(name, z, fw, alpha)
        # TensorFlow's LeakyRelu keeps alpha in float32; its float64 erfc is good to ~1e-8
        np.testing.assert_allclose(values, expected, rtol=0, atol=1e-7, err_msg=fw)


def test_an_elu_that_ignored_its_alpha_would_be_caught():
    z = np.linspace(-3, 0, 7)
    assert np.abs(reference.elu(z, 0.5) - reference.elu(z, 1.0)).max() > 0.3
    for fw in FRAMEWORKS:
        np.testing.assert_allclose(frameworks.activation_values("elu", z, fw, 0.5), reference.elu(z, 0.5),
                                   atol=1e-12, err_msg=fw)


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="unknown activation 'rellu'"):
        activations.check("rellu")
    with pytest.raises(ValueError, match="relu has no parameter"):
        activations.check("relu", 0.1)
    with pytest.raises(ValueError, match="must be positive"):
        activations.check("elu", 0.0)
    assert activations.check("leaky_relu") == ("leaky_relu", activations.ALPHA["leaky_relu"])


def test_framework_defaults_are_read_from_the_frameworks():
    table = activations.framework_defaults().set_index("api")["default"]
    assert table["keras.layers.LeakyReLU()"] == pytest.approx(0.3)
    assert table["tf.nn.leaky_relu(z)"] == pytest.approx(0.2)
    assert table["torch.nn.LeakyReLU()"] == pytest.approx(0.01)
    assert table["keras.layers.PReLU()"] == 0 and table["torch.nn.PReLU()"] == pytest.approx(0.25)


def test_derivative_check_table():
    table = nonsaturating.derivative_check(np.linspace(-2, 2, 41), [("relu", None), ("leaky_relu", 0.2)])
    assert len(table) == 2 * 3 * 2
    assert (table.query("activation == 'relu'")["max_error"] == 0).all()
    assert (table.query("activation == 'relu'")["at_zero"] == 0).all()
    assert (table.query("activation == 'leaky_relu'")["alpha_float32_error"] < 1e-7).all()


@pytest.fixture(scope="module")
def shared_relu_net():
    """A small ReLU net with some units killed by hand, as neutral weights."""
    net = models.build("dying_relu_mlp", "torch", seed=0, hidden=(20, 10))
    weights = models.get_weights(net)
    weights[1][:5] = -50.0                 # units 0-4 of layer 1: never positive on images in [0, 1]
    weights[0][:, :5] = np.abs(weights[0][:, :5])
    weights[3][7:] = -50.0                 # units 7-9 of layer 2
    return weights


def test_dead_units_agree_in_the_three_frameworks(shared_relu_net, tiny):
    X = tiny[0][0]
    found = {}
    for fw in FRAMEWORKS:
        net = models.build("dying_relu_mlp", fw, hidden=(20, 10), weights=shared_relu_net)
        found[fw] = diagnostics.dead_units(net, X, batch_size=128)
        assert found[fw][0][:5].all() and found[fw][1][7:].all()
        assert diagnostics.dead_fraction(net, X) == pytest.approx([d.mean() for d in found[fw]])
    for fw in ("tf1", "keras"):
        for mine, ref in zip(found[fw], found["torch"]):
            np.testing.assert_array_equal(mine, ref)


def test_a_dead_relu_unit_gets_exactly_zero_gradient(shared_relu_net, tiny):
    (X, y) = tiny[0]
    for fw in FRAMEWORKS:
        net = models.build("dying_relu_mlp", fw, hidden=(20, 10), weights=shared_relu_net)
        _, grads = frameworks.loss_and_gradients(net, X, y)
        assert np.all(grads[0][:, :5] == 0) and np.all(grads[1][:5] == 0), fw
        assert np.any(grads[0][:, 5:] != 0), fw
        leaky = models.build("dying_relu_mlp", fw, hidden=(20, 10), activation="leaky_relu", alpha=0.2,
                             weights=shared_relu_net)
        _, grads = frameworks.loss_and_gradients(leaky, X, y)
        assert np.all(grads[1][:5] != 0), fw          # dormant, not dead


def test_unit_activity_needs_inputs(shared_relu_net):
    net = models.build("dying_relu_mlp", "torch", hidden=(20, 10), weights=shared_relu_net)
    with pytest.raises(ValueError, match="at least one input"):
        diagnostics.unit_activity(net, np.zeros((0, 28, 28)))


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_recorder_records_histograms_dead_units_and_update_ratios(framework, tiny):
    from companion import train
    net = models.build("mlp", framework, seed=0, hidden=(16, 8), initializer="he_normal")
    recorder = ActivationRecorder(tiny[2][0], every=3)
    recorder.record(0, net)
    train(net, tiny, epochs=1, batch_size=32, learning_rate=0.05, callback=recorder, progress=False)
    steps = int(np.ceil(300 / 32))
    assert recorder.steps == [0, 3, 6, 9][:1 + steps // 3]
    table = recorder.table
    assert set(table["layer"]) == {1, 2} and len(table) == 2 * len(recorder.steps)
    assert table.query("step == 0")["update_ratio"].isna().all()
    later = table.query("step > 0")["update_ratio"]
    assert (later > 0).all() and (later < 1).all()
    images = recorder.layer_images()
    assert len(images) == 2 and images[0].shape == (len(recorder.bins) - 1, len(recorder.steps))
    assert (images[0].sum(axis=0) == 10 * 16).all()        # every activation counted, clipped into range
    with pytest.raises(ValueError, match="every=0"):
        ActivationRecorder(tiny[2][0], every=0)


def test_update_ratio_is_one_step(tiny):
    """The ratio compares the kernel with the one a single update earlier, not `every` updates earlier."""
    from companion import train
    net = models.build("mlp", "torch", seed=0, hidden=(16,), initializer="he_normal")
    snapshots = {}

    def keep(step, model):
        snapshots[step] = [w for w in models.get_weights(model) if w.ndim == 2]
        recorder(step, model)

    recorder = ActivationRecorder(tiny[2][0], every=4)
    train(net, tiny, epochs=1, batch_size=32, learning_rate=0.05, callback=keep, progress=False)
    expected = np.std(snapshots[4][0] - snapshots[3][0]) / np.std(snapshots[4][0])
    assert recorder.table.query("step == 4 and layer == 1")["update_ratio"].item() == pytest.approx(expected)


def test_shift_biases_moves_hidden_biases_only():
    for fw in FRAMEWORKS:
        net = models.build("dying_relu_mlp", fw, hidden=(6, 4))
        before = models.get_weights(net)
        dying_relu.shift_biases(net, -1.0)
        after = models.get_weights(net)
        for i, (b, a) in enumerate(zip(before, after)):
            np.testing.assert_allclose(a - b, -1.0 if i in (1, 3) else 0.0, err_msg=f"{fw} {i}")


def test_bias_shift_experiment_tiny(tiny):
    opts = {"sgd": dict(optimizer="sgd", learning_rate=0.01, momentum=0.9)}
    table, first = dying_relu.bias_shift_experiment("torch", 0, tiny, [("relu", None), ("elu", 1.0)], opts,
                                                    shift=-1.0, epochs=1)
    assert set(table["moment"]) == {"warmup", "shifted", "epoch 1"}
    relu = first.set_index("activation").loc["relu"]
    assert relu["unchanged"] and relu["still_dead"] == relu["dead_at_shift"] > 0
    assert not first.set_index("activation").loc["elu 1"]["unchanged"]


def test_gradients_at_init_and_forward_statistics(tiny):
    (X, y) = tiny[2]
    table, grads = nonsaturating.gradients_at_init("torch", 0, X, y, ["sigmoid", "relu"], depth=3, width=8)
    assert len(table) == 6 and len(grads["relu"]) == 3 and grads["relu"][0].shape == (784, 8)
    stats = nonsaturating.forward_statistics("keras", 0, X, depth=4, width=8, activation="selu",
                                             initializer="lecun_normal")
    assert list(stats["layer"]) == [1, 2, 3, 4] and (stats["variance"] > 0).all()


def test_selu_constants_in_every_framework():
    for fw in FRAMEWORKS:
        c = nonsaturating.selu_constants(fw)
        assert c["lambda"] == pytest.approx(activations.SELU_LAMBDA, rel=1e-12)
        assert c["alpha"] == pytest.approx(activations.SELU_ALPHA, rel=1e-12)


def test_train_variants_start_from_the_same_weights(tiny):
    variants = {"leaky": ("leaky_relu_mlp", dict(hidden=(8,)))}
    tables = [nonsaturating.train_variants(fw, 0, tiny, variants, epochs=1, learning_rate=1e-2)
              for fw in FRAMEWORKS]
    losses = [t["loss"].item() for t in tables]
    assert max(losses) - min(losses) < 1e-4


def test_zero_slope_onset_finds_where_the_slope_rounds_to_zero():
    table = nonsaturating.zero_slope_onset("elu", 1.0, step=0.5).set_index(["framework", "dtype"])["onset"]
    assert table["tf1", "float32"] > -20 and table["keras", "float32"] > -20    # slope from the output
    assert table["torch", "float32"] < -80                                       # e^z underflows
    assert np.isnan(table["torch", "float64"])
    relu = nonsaturating.zero_slope_onset("relu", step=0.5, frameworks_=("torch",))
    assert (relu["onset"] == -0.5).all()                       # ReLU: zero slope right below 0
