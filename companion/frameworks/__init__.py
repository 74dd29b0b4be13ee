"""One interface over the three frameworks: build, weights, predictions, gradients, training steps.

Each backend module (:mod:`.tf1`, :mod:`.keras`, :mod:`.torch`) implements the same functions; the
functions here find the backend of a model and check the arguments once, for all three.

**The neutral weight format** is a list of float32 NumPy arrays in Keras' order: layer by layer, in the
order the layers are applied; within a layer ``kernel`` (shape ``(fan_in, fan_out)``, PyTorch's
``weight`` transposed), ``bias``; for batch normalization ``gamma``, ``beta``, ``moving_mean``,
``moving_variance``. The same list loads into the model's twin in any framework.
"""
import importlib
import sys
import weakref

import numpy as np

from ..registry import FRAMEWORKS, check_framework, spec as model_spec

_SPECS = weakref.WeakKeyDictionary()  # model -> the ModelSpec it was built from
_OPTIONS = weakref.WeakKeyDictionary()  # model -> the options it was built with


def backend(framework):
    """The backend module of ``framework`` (``tf1``, ``keras`` or ``torch``); imports it on first use."""
    return importlib.import_module(f"{__name__}.{check_framework(framework)}")


def framework_of(model):
    """``"tf1"``, ``"keras"`` or ``"torch"``: which framework ``model`` belongs to."""
    for name in FRAMEWORKS:
        module = sys.modules.get(f"{__name__}.{name}")
        if module is not None and module.owns(model):
            return name
    if "torch" in sys.modules and backend("torch").owns(model):
        return "torch"
    if "keras" in sys.modules and backend("keras").owns(model):
        return "keras"
    raise TypeError(f"{type(model).__name__} is not a model of the course: pass a model made by "
                    f"companion.models.build, a keras.Model or a torch.nn.Module")


def build(name, framework, seed=0, weights=None, **options):
    """Build registered model ``name`` in ``framework``, seeded with ``seed``.

    ``weights`` (neutral format) replaces the framework's own initial weights, so the same list gives
    the same model in the three frameworks. ``options`` override the model's registered defaults.
    """
    spec = model_spec(name)
    model = backend(framework).build(spec, spec.options(**options), seed)
    _SPECS[model] = spec
    _OPTIONS[model] = spec.options(**options)
    if weights is not None:
        set_weights(model, weights)
    return model


def built_from(model):
    """``(name, options)`` of a model made by :func:`build`; a clear error for any other model."""
    if model not in _SPECS:
        raise TypeError(f"this {type(model).__name__} was not made by companion.models.build, so the course "
                        f"does not know which registered model (and options) it is")
    return _SPECS[model].name, dict(_OPTIONS[model])


def task_of(model, task=None):
    """The task of ``model``: ``task`` if given, else the registered one, else classification."""
    spec = _SPECS.get(model)
    return task or (spec.task if spec else "classification")


def check_inputs(model, X, y=None, task=None):
    """Raise a clear ``ValueError`` if ``X`` (and ``y``) do not fit ``model``; returns ``X`` as float32."""
    X = np.asarray(X, dtype=np.float32)
    spec = _SPECS.get(model)
    if spec is not None and X.shape[1:] != spec.input_shape:
        raise ValueError(f"model {spec.name!r} takes inputs of shape (n, {', '.join(map(str, spec.input_shape))})"
                         f", got {X.shape}: reshape the inputs (images stay 28 x 28, not flattened)")
    if X.ndim < 2:
        raise ValueError(f"inputs need a batch axis first: got shape {X.shape}; "
                         f"use X.reshape(-1, 1) for a batch of scalars")
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"{len(X)} inputs but {len(y)} targets: they must pair one to one")
        if task_of(model, task) == "classification":
            if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"a classifier's targets are class numbers 0, 1, ... (one integer per "
                                 f"input); got an array of {y.dtype} with shape {y.shape}")
            if y.size and y.min() < 0:
                raise ValueError(f"a classifier's targets are class numbers 0, 1, ... (one integer per "
                                 f"input); got a label {int(y.min())}")
    return X


def get_weights(model):
    """The model's weights in the neutral format (a list of float32 arrays, Keras order)."""
    return [np.asarray(w, dtype=np.float32) for w in backend(framework_of(model)).get_weights(model)]


def set_weights(model, weights):
    """Load ``weights`` (neutral format) into ``model``; a wrong count or shape is a clear error."""
    current = get_weights(model)
    weights = [np.asarray(w, dtype=np.float32) for w in weights]
    if len(weights) != len(current):
        raise ValueError(f"the model has {len(current)} weight arrays, got {len(weights)}: shapes "
                         f"expected {[w.shape for w in current]}")
    for i, (new, old) in enumerate(zip(weights, current)):
        if new.shape != old.shape:
            raise ValueError(f"weight array {i} has shape {new.shape}, the model expects {old.shape} "
                             f"(kernels are (fan_in, fan_out) in the neutral format)")
    backend(framework_of(model)).set_weights(model, weights)


def trainable_mask(model):
    """One bool per neutral weight array: True where it is trained (False for moving statistics)."""
    return list(backend(framework_of(model)).trainable_mask(model))


def parameter_counts(model):
    """``(trainable, non_trainable)``: how many numbers the model holds, counted by its framework.

    Keras: ``count_params`` of ``trainable_weights`` and ``non_trainable_weights``. TF1: the sizes of
    ``TRAINABLE_VARIABLES`` and of the other ``GLOBAL_VARIABLES``. PyTorch: ``numel`` of the
    parameters and of the floating-point buffers (batch normalization's running statistics; not its
    integer ``num_batches_tracked`` counter, which is no weight of the model).
    """
    trainable, non_trainable = backend(framework_of(model)).parameter_counts(model)
    return int(trainable), int(non_trainable)


def predict(model, X, training=False):
    """The model's raw outputs (logits, or the regression output) on ``X`` as a float32 array.

    ``training=True`` normalizes with the batch's statistics (batch normalization's training mode);
    in every framework the moving statistics are left as they were.
    """
    X = check_inputs(model, X)
    return np.asarray(backend(framework_of(model)).predict(model, X, training))


def output_width(model, X):
    """How many outputs ``model`` has (a classifier's number of classes), from one example of ``X``."""
    return int(predict(model, np.asarray(X)[:1]).shape[-1])


def loss_and_gradients(model, X, y, task=None):
    """``(loss, gradients)`` of ``model`` on ``(X, y)`` in training mode, leaving the model unchanged.

    The gradients follow the neutral order, one array per *trainable* weight array (see
    :func:`trainable_mask`), kernels as ``(fan_in, fan_out)``.
    """
    X, y = check_inputs(model, X, y, task), np.asarray(y)
    loss, grads = backend(framework_of(model)).loss_and_gradients(model, X, y, task_of(model, task))
    return float(loss), [np.asarray(g, dtype=np.float32) for g in grads]


def activation_derivative(name, z, framework, alpha=None):
    """The derivative of activation ``name`` (parameter ``alpha``) at the points ``z``, by autodiff.

    ``z`` keeps its dtype: float64 gives the frameworks' double-precision kernels.
    """
    from .. import activations
    name, alpha = activations.check(name, alpha)
    z = np.asarray(z)
    if z.dtype not in (np.float32, np.float64):
        raise ValueError(f"z must be float32 or float64, not {z.dtype}")
    return np.asarray(backend(framework).activation_derivative(name, z, alpha))


def activation_values(name, z, framework, alpha=None):
    """Activation ``name`` (parameter ``alpha``) at the points ``z``, computed by ``framework``."""
    from .. import activations
    name, alpha = activations.check(name, alpha)
    return np.asarray(backend(framework).activation_values(name, np.asarray(z), alpha))


def batch_norm_gradients(x, gamma, beta, dy, framework, epsilon=1e-3):
    """``(y, dx, dgamma, dbeta)``: the framework's batch-normalization layer in training mode on ``x``
    (shape ``(n, channels)``, float32 or float64, kept) and the gradients of ``sum(dy * y)`` by autodiff.

    TF1: :func:`companion.tf1.layers.batch_normalization` in a graph and ``tf.gradients``; Keras:
    ``BatchNormalization`` under a ``GradientTape``; PyTorch: :class:`companion.torch_layers.BatchNorm1d`
    and ``backward``.
    """
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64) or x.ndim != 2:
        raise ValueError(f"x must be a float32 or float64 batch of shape (n, channels), got {x.dtype} {x.shape}")
    gamma, beta, dy = (np.asarray(a, dtype=x.dtype) for a in (gamma, beta, dy))
    if gamma.shape != (x.shape[1],) or beta.shape != gamma.shape or dy.shape != x.shape:
        raise ValueError(f"gamma and beta need shape ({x.shape[1]},) and dy the shape of x {x.shape}; got "
                         f"{gamma.shape}, {beta.shape}, {dy.shape}")
    return tuple(np.asarray(a) for a in backend(framework).batch_norm_gradients(x, gamma, beta, dy, epsilon))


def clip_gradients(gradients, clip, framework):
    """``(clipped, norm)``: ``gradients`` (a list of arrays) clipped by ``framework``'s own tools.

    ``clip`` is a :class:`companion.training.Clip` or a pair such as ``("norm", 1.0)``. TF1:
    ``tf.clip_by_value``, ``tf.clip_by_norm`` per tensor, ``tf.clip_by_global_norm``; Keras: what SGD with
    ``clipvalue``, ``clipnorm`` or ``global_clipnorm`` applies; PyTorch: ``clip_grad_value_`` and
    ``clip_grad_norm_`` (on each parameter for ``"norm"``). ``norm`` is what the function returns beside
    the gradients: the global norm of ``tf.clip_by_global_norm`` and ``clip_grad_norm_``, the list of
    per-parameter norms of ``clip_grad_norm_`` called on each, otherwise None.
    """
    from ..training import as_clip
    clip = as_clip(clip)
    if clip is None:
        raise ValueError("give a clip such as ('global_norm', 1.0)")
    gradients = [np.asarray(g, dtype=np.float32) for g in gradients]
    clipped, norm = backend(framework).clip_arrays(gradients, clip)
    return [np.asarray(g, dtype=np.float32) for g in clipped], norm
