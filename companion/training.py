"""One trainer signature and one history table for the three frameworks.

:func:`train` owns what the frameworks share: the batch order (drawn with NumPy from ``seed``, so the
three frameworks see the same batches), the epoch bookkeeping, the progress bar, the check for a
non-finite loss and the history table. Each backend contributes only its idiomatic training step
(``session.run(train_op)``, a ``tf.function`` of ``GradientTape`` and ``apply_gradients``,
``loss.backward(); optimizer.step()``). A backend's trainer that can also ``run`` many steps in one
call (the Keras one, as ``steps_per_execution`` does for ``fit``) gets the full batches between two
points where the loop has work (a callback, the last step, the epoch's smaller last batch) together;
the history is the same, step by step.
"""
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from . import frameworks


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite: the message names the epoch, the step and, when gradient norms
    are recorded, the largest one seen."""


CLIP_KINDS = ("value", "norm", "global_norm")


@dataclass(frozen=True)
class Clip:
    """Gradient clipping between the gradients and the update, the same in the three frameworks.

    - ``"value"``: every element clipped to ``[-threshold, threshold]`` (``tf.clip_by_value``, Keras'
      ``clipvalue``, PyTorch's ``clip_grad_value_``); the direction of the update can change.
    - ``"norm"``: each gradient tensor rescaled on its own to norm ``threshold`` when its norm is above
      it (``tf.clip_by_norm`` per tensor, Keras' ``clipnorm``, ``clip_grad_norm_`` on each parameter).
    - ``"global_norm"``: all the gradients rescaled together by ``threshold / norm`` when their global
      norm is above it (``tf.clip_by_global_norm``, Keras' ``global_clipnorm``, ``clip_grad_norm_``);
      the update keeps its direction.
    """
    kind: str
    threshold: float

    def __post_init__(self):
        if self.kind not in CLIP_KINDS:
            raise ValueError(f"clip kind must be one of {CLIP_KINDS}, not {self.kind!r}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, float, np.floating)) \
                or not math.isfinite(self.threshold) or self.threshold <= 0:
            raise ValueError(f"clip threshold must be a positive finite number, not {self.threshold!r}")
        object.__setattr__(self, "threshold", float(self.threshold))


def as_clip(clip):
    """``None``, a :class:`Clip` or a pair ``(kind, threshold)`` as a :class:`Clip` (or None)."""
    if clip is None or isinstance(clip, Clip):
        return clip
    if isinstance(clip, (tuple, list)) and len(clip) == 2:
        return Clip(*clip)
    raise ValueError(f"clip must be None, a companion.Clip or a pair (kind, threshold) such as "
                     f"('global_norm', 1.0), not {clip!r}")


@dataclass(frozen=True)
class OptimizerConfig:
    """An optimizer with every hyperparameter explicit (the frameworks' defaults differ).

    ``name`` is ``"sgd"`` (plain or with ``momentum``) or ``"adam"``. Adam's epsilon is 1e-7 here, as
    in Keras; PyTorch and TF1 default to 1e-8, so it is always passed explicitly.
    """
    name: str = "sgd"
    learning_rate: float = 0.01
    momentum: float = 0.0
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def __post_init__(self):
        if self.name not in ("sgd", "adam"):
            raise ValueError(f"optimizer must be 'sgd' or 'adam', not {self.name!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, not {self.learning_rate}")


def progress_enabled(progress=None):
    """Whether to show progress bars: ``progress`` if given; off when ``CI`` or ``COURSE_PROGRESS=0``."""
    if progress is not None:
        return bool(progress)
    return not os.environ.get("CI") and os.environ.get("COURSE_PROGRESS", "1") != "0"


def train(model, data, *, epochs=1, batch_size=32, optimizer="sgd", learning_rate=0.01, momentum=0.0,
          seed=0, steps=None, callback=None, callback_every=1, task=None, progress=None, clip=None,
          record_gradient_norm=None):
    """Train ``model`` with minibatch gradient descent and return the history, one row per epoch.

    - ``data``: ``((X_train, y_train), (X_valid, y_valid), ...)`` as :mod:`companion.data` returns it
      (a third split is ignored), or ``((X_train, y_train),)`` for no validation.
    - ``optimizer``: ``"sgd"`` (with ``momentum``) or ``"adam"``, or an :class:`OptimizerConfig`.
    - ``seed``: the batch order of every epoch; the same seed and initial weights give the same history.
    - ``steps``: stop after this many updates in all (the last epoch may be partial); with
      ``epochs=None``, as many epochs as those steps need.
    - ``callback(step, model)``: called after every ``callback_every``-th update (for measurements).
    - ``clip``: gradient clipping, a :class:`Clip` or a pair such as ``("global_norm", 1.0)``.
    - ``record_gradient_norm``: record the global gradient norm of every step (before clipping); on
      by default when ``clip`` is given, off otherwise (it costs a few percent of a small step).

    The table's columns are ``loss`` and ``accuracy`` (means over the epoch's batches, in training
    mode), ``val_loss`` and ``val_accuracy`` (inference mode, at the end of the epoch), ``steps`` and
    ``seconds``; regression models have no accuracy columns. ``history.attrs["step_loss"]`` holds the
    training loss of every update (a tuple); with gradient norms recorded, ``step_gradient_norm``
    holds the global norm of every update's gradients before clipping and, with ``clip``,
    ``step_clipped`` whether clipping changed them. A NaN or infinite loss raises
    :class:`TrainingDiverged`.
    """
    import pandas as pd

    _check_counts(epochs=epochs, batch_size=batch_size, steps=steps, callback_every=callback_every)
    config = optimizer if isinstance(optimizer, OptimizerConfig) else OptimizerConfig(
        optimizer, learning_rate, momentum)
    clip = as_clip(clip)
    record = clip is not None if record_gradient_norm is None else bool(record_gradient_norm)
    framework = frameworks.framework_of(model)
    task = frameworks.task_of(model, task)
    (X, y), validation = _splits(data, model, task)
    backend = frameworks.backend(framework)
    backend.seed(seed)
    trainer = backend.Trainer(model, task, config, clip=clip, record_norm=record)
    rng = np.random.default_rng(seed)
    batches_per_epoch = math.ceil(len(X) / batch_size)
    if epochs is None:
        if steps is None:
            raise ValueError("give the number of epochs, of steps, or both")
        epochs = math.ceil(steps / batches_per_epoch)
    total = min(epochs * batches_per_epoch, steps or epochs * batches_per_epoch)
    rows, step, step_losses, step_norms, step_clipped = [], 0, [], [], []
    with _progress_bar(total, framework, progress) as bar:
        for epoch in range(1, epochs + 1):
            start, order = time.perf_counter(), rng.permutation(len(X))
            loss_sum = correct_sum = seen = 0
            every = callback_every if callback is not None else None
            for first, count in _calls(len(X), batch_size, step, total, every, hasattr(trainer, "run")):
                batch = order[first:first + count * batch_size]
                if count == 1:
                    results = [trainer.step(X[batch], y[batch])]
                else:          # full batches stacked, for a trainer that runs many steps in one call
                    results = trainer.run(X[batch].reshape(count, batch_size, *X.shape[1:]),
                                          y[batch].reshape(count, batch_size, *y.shape[1:]))
                size = len(batch) // count
                for loss, correct, norm, was_clipped in results:
                    step += 1
                    step_losses.append(loss)
                    step_norms.append(norm)
                    step_clipped.append(was_clipped)
                    if not math.isfinite(loss):
                        raise TrainingDiverged(_diverged_message(loss, epoch, step, framework, config, clip,
                                                                 step_norms if record else None))
                    loss_sum, correct_sum, seen = loss_sum + loss * size, correct_sum + correct, seen + size
                bar.update(count)
                if callback is not None and step % callback_every == 0:
                    callback(step, model)
                if step == total:
                    break
            row = {"epoch": epoch, "loss": loss_sum / seen, "accuracy": correct_sum / seen}
            if validation is not None:
                val_loss, val_correct = _evaluate(trainer, *validation)
                row.update(val_loss=val_loss, val_accuracy=val_correct / len(validation[0]))
            row.update(steps=step, seconds=time.perf_counter() - start)
            rows.append(row)
            bar.set_postfix(loss=f"{row['loss']:.4f}")
            if step == total:
                break
    history = pd.DataFrame(rows).set_index("epoch")
    history.attrs["step_loss"] = tuple(step_losses)  # a tuple: pandas compares and copies attrs
    if record:
        history.attrs["step_gradient_norm"] = tuple(step_norms)
    if clip is not None:
        history.attrs["step_clipped"] = tuple(step_clipped)
        history.attrs["clip"] = (clip.kind, clip.threshold)
    if task != "classification":
        history = history.drop(columns=[c for c in ("accuracy", "val_accuracy") if c in history])
    return history


def _calls(n_images, batch_size, step, total, callback_every, many):
    """``(first image, number of batches)`` of each call to the backend's trainer in one epoch.

    One batch per call (``trainer.step``), unless the trainer can run many (``many``: the Keras
    dialect's ``run``, as ``compile(steps_per_execution=...)`` does for ``fit``); then the epoch's full
    batches go in as few calls as the callback (every ``callback_every`` steps, or None), the last of
    the ``total`` steps and the epoch's last, smaller batch allow: every call ends where the loop has
    something to do between two steps.
    """
    first = 0
    while first < n_images and step < total:
        full = (n_images - first) // batch_size
        count = min(full, total - step)
        if callback_every:
            count = min(count, callback_every - step % callback_every)
        count = max(count, 1) if many else 1
        yield first, count
        first, step = first + count * batch_size, step + count


def _diverged_message(loss, epoch, step, framework, config, clip, norms):
    """What :class:`TrainingDiverged` says: where, with what, the largest gradient norm, what to do."""
    seen = [n for n in (norms or ()) if math.isfinite(n)]
    largest = (f"; the largest gradient norm seen was {max(seen):.3g}" if seen else
               "; the gradient norm was not finite from the first step" if norms else
               " (train with record_gradient_norm=True to see the gradient norms)")
    advice = ("lower the learning rate or the clip threshold, or check the initialization" if clip else
              "lower the learning rate, clip the gradients (clip=('global_norm', 1.0)) or check the "
              "initialization")
    return (f"the training loss became {loss} at epoch {epoch}, step {step} ({framework}, {config.name}, "
            f"learning rate {config.learning_rate}{f', clip {clip.kind} {clip.threshold}' if clip else ''})"
            f"{largest}: {advice}")


def _evaluate(trainer, X, y, batch_size=2_000):
    """Mean loss and number correct over ``X`` in inference mode, in batches."""
    loss_sum = correct_sum = 0.0
    for first in range(0, len(X), batch_size):
        loss, correct = trainer.evaluate(X[first:first + batch_size], y[first:first + batch_size])
        n = len(X[first:first + batch_size])
        loss_sum, correct_sum = loss_sum + loss * n, correct_sum + correct
    return loss_sum / len(X), correct_sum


def _check_counts(**counts):
    """Each count is a positive whole number (``epochs`` and ``steps`` may also be None)."""
    for name, value in counts.items():
        if value is None and name in ("epochs", "steps"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            allowed = "a positive whole number" + (" or None" if name in ("epochs", "steps") else "")
            raise ValueError(f"{name}={value!r}: {name} must be {allowed}")


def _splits(data, model, task):
    """``(X, y)`` of training and ``(X, y)`` of validation (or None), checked against ``model``.

    Beyond :func:`companion.frameworks.check_inputs`: no split is empty, every input is finite, and a
    classifier's labels are below its number of classes. All before any framework runs.
    """
    if not isinstance(data, (tuple, list)) or not data or len(data[0]) != 2:
        raise ValueError("data must be ((X_train, y_train), (X_valid, y_valid), ...) as "
                         "companion.data.load_fashion_mnist returns it, or ((X_train, y_train),)")
    pairs = [(frameworks.check_inputs(model, X, y, task), np.asarray(y)) for X, y in data[:2]]
    for (X, _), split in zip(pairs, ("training", "validation")):
        if len(X) == 0:
            raise ValueError(f"the {split} split of the data is empty")
    n_classes = frameworks.output_width(model, pairs[0][0]) if task == "classification" else None
    for (X, y), split in zip(pairs, ("training", "validation")):
        finite = np.isfinite(X)
        if not finite.all():
            bad = np.flatnonzero(~finite.reshape(len(X), -1).all(axis=1))
            raise ValueError(f"the {split} inputs hold NaN or infinite values ({len(bad)} of {len(X)} "
                             f"examples, the first at index {bad[0]}): drop or repair them before training")
        if n_classes is not None and y.size and y.max() >= n_classes:
            raise ValueError(f"the {split} labels must be class numbers 0 to {n_classes - 1} (the model has "
                             f"{n_classes} outputs), got a label {int(y.max())}")
    return pairs[0], (pairs[1] if len(pairs) > 1 else None)


class _NoBar:
    def update(self, n):
        pass

    def set_postfix(self, **kw):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _progress_bar(total, framework, progress):
    if not progress_enabled(progress):
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=f"training ({framework})", unit="step", leave=False)
