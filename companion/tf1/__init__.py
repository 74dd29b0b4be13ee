"""TF1-style building blocks for TensorFlow 2.21 (Keras 3).

TensorFlow 2.21's ``tf.compat.v1.layers.dense`` and ``tf.compat.v1.layers.batch_normalization``
raise AttributeError (they lived in Keras 2), and ``tf.contrib`` is long gone. The course's TF1
programs (graphs, placeholders, sessions, ``UPDATE_OPS``) run unchanged but for the imports:

- :mod:`companion.tf1.layers`: ``dense`` and ``batch_normalization`` with the legacy semantics.
- :mod:`companion.tf1.initializers`: ``variance_scaling_initializer`` of ``tf.contrib.layers``.

Importing this package does not import TensorFlow; the submodules do, on first access.
"""
import importlib

__all__ = ["layers", "initializers"]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
