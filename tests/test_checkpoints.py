"""Checkpoints in the three frameworks: round trips, atomic writes, and clear errors for bad ones."""
import json
import os

import numpy as np
import pytest

from companion import models, train
from companion.checkpoints import MANIFEST
from companion.models import CheckpointError
from companion.frameworks import built_from as models_built_from
from companion.registry import FRAMEWORKS

OPTIONS = dict(hidden=(12, 8), activation="prelu", alpha=0.1)   # PReLU: slopes are weights too
# batch normalization: moving statistics are weights too, and training and inference modes differ
TRAINED = {"leaky_relu_mlp": OPTIONS, "bn_elu_mlp": dict(hidden=(12, 8))}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(64, 28, 28)).astype(np.float32)
    return ((X, rng.integers(0, 10, size=64)),)


@pytest.fixture(params=[(name, fw) for name in TRAINED for fw in FRAMEWORKS], ids="-".join)
def trained(request, data):
    name, framework = request.param
    model = models.build(name, framework, seed=1, **TRAINED[name])
    initial = models.get_weights(model)
    train(model, data, epochs=1, batch_size=16, learning_rate=0.1, progress=False)
    assert all(not np.array_equal(a, b) for a, b in zip(initial, models.get_weights(model)))
    return model


def test_round_trip_gives_the_same_model(trained, data, tmp_path):
    path = models.save(trained, tmp_path / "ckpt")
    restored = models.load(path)
    assert type(restored) is type(trained)
    for mine, ref in zip(models.get_weights(restored), models.get_weights(trained)):
        np.testing.assert_array_equal(mine, ref)
    X = data[0][0]
    for training in (False, True):
        np.testing.assert_array_equal(models.predict(restored, X, training=training),
                                      models.predict(trained, X, training=training))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]          # nothing left beside it
    manifest = json.loads((path / MANIFEST).read_text())
    name, _ = models_built_from(trained)
    assert manifest["model"] == name and manifest["options"]["hidden"] == [12, 8]
    assert models.trainable_mask(restored) == models.trainable_mask(trained)


def test_saving_again_replaces_the_checkpoint(trained, data, tmp_path):
    path = tmp_path / "ckpt"
    models.save(models.build("leaky_relu_mlp", "torch", seed=5, **OPTIONS), path)
    models.save(trained, path)
    restored = models.load(path)
    np.testing.assert_array_equal(models.get_weights(restored)[0], models.get_weights(trained)[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_a_crash_mid_write_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    from companion import checkpoints
    path = tmp_path / "ckpt"
    first = models.build("mlp", "torch", seed=0, hidden=(4,))
    models.save(first, path)

    def crash(model, directory):
        (directory / "model.pt").write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setitem(checkpoints._SAVERS, "torch", crash)
    with pytest.raises(KeyboardInterrupt):
        models.save(models.build("mlp", "torch", seed=1, hidden=(4,)), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]          # no partial directory left
    np.testing.assert_array_equal(models.get_weights(models.load(path))[0], models.get_weights(first)[0])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_truncated_file_is_named(framework, tmp_path):
    path = models.save(models.build("mlp", framework, seed=0, hidden=(4,)), tmp_path / "ckpt")
    manifest = json.loads((path / MANIFEST).read_text())
    biggest = max(manifest["files"], key=lambda f: (path / f).stat().st_size)
    with open(path / biggest, "r+b") as handle:
        handle.truncate((path / biggest).stat().st_size // 2)
    with pytest.raises(CheckpointError, match=f"{biggest}.*damaged"):
        models.load(path)
    os.remove(path / biggest)
    with pytest.raises(CheckpointError, match=f"{biggest} is missing"):
        models.load(path)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_checkpoint_whose_files_do_not_fit_its_manifest_is_refused(framework, tmp_path):
    """Files of another model under a manifest that says otherwise (a hand-copied checkpoint)."""
    small = models.save(models.build("mlp", framework, seed=0, hidden=(4,)), tmp_path / "small")
    large = models.save(models.build("mlp", framework, seed=0, hidden=(6,)), tmp_path / "large")
    manifest = json.loads((large / MANIFEST).read_text())
    manifest["files"] = json.loads((small / MANIFEST).read_text())["files"]
    for name in manifest["files"]:
        (large / name).write_bytes((small / name).read_bytes())
    (large / MANIFEST).write_text(json.dumps(manifest))
    # PyTorch and Keras refuse the shapes; TF1's Saver reshapes the variables, which the shape check catches
    with pytest.raises(CheckpointError, match="does not restore into model 'mlp'|restored model has weight "
                                              r"shapes \[\[784, 4\]"):
        models.load(large)


def test_wrong_model_and_not_a_checkpoint(tmp_path):
    path = models.save(models.build("mlp", "torch", hidden=(4,)), tmp_path / "ckpt")
    with pytest.raises(CheckpointError, match="checkpoint of model 'mlp', not of 'deep_selu_mlp'"):
        models.load(path, expect="deep_selu_mlp")
    with pytest.raises(CheckpointError, match="not a checkpoint of the course"):
        models.load(tmp_path / "nowhere")
    (path / MANIFEST).write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        models.load(path)
    other = tmp_path / "data"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="exists and is not a checkpoint"):
        models.save(models.build("mlp", "torch", hidden=(4,)), other)
    assert (other / "keep.txt").read_text() == "mine"


def test_only_models_of_the_registry_can_be_saved(tmp_path):
    from torch import nn
    with pytest.raises(TypeError, match="not made by companion.models.build"):
        models.save(nn.Linear(2, 2), tmp_path / "x")
