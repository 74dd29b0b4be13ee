"""The course's models, each in three dialects (TF1 style, Keras, PyTorch), behind one registry.

>>> from companion import models
>>> models.names()                                   # doctest: +SKIP
['deep_relu_mlp', 'deep_sigmoid_mlp', 'deep_tanh_mlp', 'mlp', 'sigmoid_chain']
>>> m = models.build("sigmoid_chain", "torch", seed=0, depth=4)   # doctest: +SKIP
>>> w = models.get_weights(m)                                      # doctest: +SKIP
>>> models.set_weights(models.build("sigmoid_chain", "keras"), w)  # doctest: +SKIP

Each concept lives in its own module (``chain.py``, ...) with its three short builders side by side;
importing this package registers them without importing any framework.
"""
from ..checkpoints import CheckpointError, load, save  # noqa: F401
from ..frameworks import build, get_weights, set_weights, trainable_mask, predict  # noqa: F401
from ..registry import FRAMEWORKS, names, spec  # noqa: F401
from . import batchnorm, chain, mlp, recurrent  # noqa: F401  (registers the models)

__all__ = ["FRAMEWORKS", "names", "spec", "build", "get_weights", "set_weights", "trainable_mask",
           "predict", "save", "load", "CheckpointError"]
