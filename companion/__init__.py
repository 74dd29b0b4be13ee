"""Companion package of the course *Vanishing and exploding gradients, in three frameworks*.

Importing :mod:`companion` loads neither TensorFlow nor PyTorch: each framework is imported the first
time a model of that framework is built or trained, without TensorFlow's start-up messages
(:mod:`companion.quiet`). The public entry points:

- :mod:`companion.data`: Fashion-MNIST (and MNIST) from local files, with clear errors.
- :mod:`companion.sizes`: the quick (CI) and full (book) sizes, picked by ``COURSE_SIZE``.
- :mod:`companion.models`: the registry of the course's models, each in TF1 style, Keras and PyTorch.
- :func:`companion.train`: one trainer signature and one history table for all three frameworks;
  :class:`companion.Clip` its gradient clipping.
- :mod:`companion.tf1`: ``dense`` and ``batch_normalization`` with TF1 semantics for TensorFlow 2.21.
"""
import importlib

from . import quiet

quiet.install()        # TensorFlow's first import, wherever it happens, without its start-up noise

__version__ = "0.1.0"
__all__ = ["data", "sizes", "models", "reference", "frameworks", "tf1", "train", "gradients", "Clip"]

_LAZY = {"activations", "book", "data", "diagnostics", "experiments", "frameworks", "initializers",
         "instructors", "models", "reference", "registry", "sizes", "tf1", "training"}


def train(model, data, **options):
    """Train ``model`` (TF1 graph model, Keras model or PyTorch module) on ``data``.

    See :func:`companion.training.train` for the arguments; the history is a pandas table with one
    row per epoch and the columns ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``seconds``.
    """
    from .training import train as _train
    return _train(model, data, **options)


def gradients(model, X, y):
    """Loss and gradients of ``model`` on ``(X, y)``, in the neutral weight order.

    See :func:`companion.frameworks.loss_and_gradients`.
    """
    from .frameworks import loss_and_gradients
    return loss_and_gradients(model, X, y)


def __getattr__(name):
    if name == "Clip":
        from .training import Clip
        return Clip
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'companion' has no attribute {name!r}")
