"""Checkpoints of the course's models, in each framework's own format, written atomically.

A checkpoint is a directory::

    manifest.json     what was saved: framework, registered model name and options, weight shapes,
                      and the SHA-256 of every file below
    model.pt          PyTorch: the module's ``state_dict`` (``torch.save``)
    model.keras       Keras: ``model.save`` (the native Keras 3 format)
    model.index, model.data-00000-of-00001, checkpoint
                      TF1: a ``tf.compat.v1.train.Saver`` checkpoint of every global variable

Batch normalization's moving statistics are saved with the weights in all three. :func:`save` writes
the whole directory under a temporary name beside ``path`` and renames it into place, so a crash
mid-write leaves the previous checkpoint (or none), never a mixture. :func:`load` rebuilds the model
from the registry and restores it; a missing, truncated, corrupt or mismatched checkpoint raises
:class:`CheckpointError` naming the file and what was expected.
"""
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from . import frameworks

FORMAT = 1
MANIFEST = "manifest.json"


class CheckpointError(ValueError):
    """A checkpoint cannot be read or is not the model expected; the message names the file."""


def save(model, path):
    """Save ``model`` (made by ``companion.models.build``) to the directory ``path``, atomically."""
    path = Path(path)
    name, options = frameworks.built_from(model)
    framework = frameworks.framework_of(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        _SAVERS[framework](model, work)
        manifest = {"format": FORMAT, "framework": framework, "model": name,
                    "options": _to_json(options),
                    "weights": [list(w.shape) for w in frameworks.get_weights(model)],
                    "files": {f.name: _sha256(f) for f in sorted(work.iterdir())}}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=1))
        _replace_directory(work, path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return path


def load(path, expect=None):
    """The model saved in ``path``, rebuilt from the registry and restored.

    ``expect`` (a registered model name) makes a checkpoint of any other model an error.
    """
    path = Path(path)
    manifest = read_manifest(path)
    if expect is not None and manifest["model"] != expect:
        raise CheckpointError(f"{path} holds a checkpoint of model {manifest['model']!r}, "
                              f"not of {expect!r}")
    for file, digest in manifest["files"].items():
        if not (path / file).is_file():
            raise CheckpointError(f"{path / file} is missing: the checkpoint is incomplete")
        if _sha256(path / file) != digest:
            raise CheckpointError(f"{path / file} is damaged (its SHA-256 differs from the manifest's): "
                                  f"the checkpoint was truncated or changed after it was written")
    model = frameworks.build(manifest["model"], manifest["framework"], **_from_json(manifest["options"]))
    try:
        _LOADERS[manifest["framework"]](model, path)
    except Exception as error:
        raise CheckpointError(f"{path} does not restore into model {manifest['model']!r} "
                              f"({manifest['framework']}): {error}") from error
    shapes = [list(w.shape) for w in frameworks.get_weights(model)]
    if shapes != manifest["weights"]:
        raise CheckpointError(f"{path}: the restored model has weight shapes {shapes}, the manifest "
                              f"says {manifest['weights']}")
    return model


def read_manifest(path):
    """The checkpoint's ``manifest.json`` as a dict, checked for the fields :func:`load` needs."""
    file = Path(path) / MANIFEST
    if not file.is_file():
        raise CheckpointError(f"{path} is not a checkpoint of the course: {file} does not exist "
                              f"(save one with companion.models.save(model, path))")
    try:
        manifest = json.loads(file.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{file} is not valid JSON ({error}): the checkpoint is damaged") from None
    missing = {"format", "framework", "model", "options", "weights", "files"} - set(manifest)
    if missing:
        raise CheckpointError(f"{file} lacks {sorted(missing)}: not a checkpoint this course wrote")
    if manifest["format"] != FORMAT:
        raise CheckpointError(f"{file} has checkpoint format {manifest['format']}; this companion reads "
                              f"format {FORMAT}")
    if manifest["framework"] not in _LOADERS:
        raise CheckpointError(f"{file} names framework {manifest['framework']!r}, not one of "
                              f"{sorted(_LOADERS)}")
    return manifest


# --- each framework's own format -------------------------------------------------------------------

def _save_torch(model, directory):
    import torch
    torch.save(model.state_dict(), directory / "model.pt")


def _load_torch(model, directory):
    import torch
    state = torch.load(directory / "model.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)


def _save_keras(model, directory):
    model.save(directory / "model.keras")


def _load_keras(model, directory):
    model.load_weights(directory / "model.keras")


def _save_tf1(model, directory):
    import tensorflow as tf
    with model.graph.as_default():          # Saver.save takes its eager path outside the graph
        tf.compat.v1.train.Saver(model.variables).save(model.session, str(directory / "model"),
                                                       write_meta_graph=False)


def _load_tf1(model, directory):
    import tensorflow as tf
    with model.graph.as_default():
        tf.compat.v1.train.Saver(model.variables).restore(model.session, str(directory / "model"))


_SAVERS = {"torch": _save_torch, "keras": _save_keras, "tf1": _save_tf1}
_LOADERS = {"torch": _load_torch, "keras": _load_keras, "tf1": _load_tf1}


# --- helpers -----------------------------------------------------------------------------------------

def _replace_directory(new, path):
    """Move the finished directory ``new`` to ``path``, replacing a previous checkpoint there."""
    if path.exists() and not (path / MANIFEST).is_file():
        raise CheckpointError(f"{path} exists and is not a checkpoint: refusing to replace it")
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
        os.rmdir(old)
        os.rename(path, old)
    os.rename(new, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _sha256(file):
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _to_json(options):
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def _from_json(options):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}

