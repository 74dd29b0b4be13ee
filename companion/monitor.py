"""Watching a network train: per-layer activation histograms, dead units and update sizes over time.

:class:`ActivationRecorder` is a training callback for any of the three frameworks::

    recorder = ActivationRecorder(X_probe, every=50)
    recorder.record(0, model)                  # the state before training
    train(model, data, callback=recorder, callback_every=1)
    recorder.histograms, recorder.table        # what companion.plots.activity_figure draws

Every ``every`` steps it records, for each hidden layer, a histogram of the activations on the probe
inputs (fixed bins, so the histograms line up over time), the fraction of units dead on the probe
(pre-activation ≤ 0 on every probe input) and the update-to-weight ratio: the standard deviation of the
last update of the layer's kernel over the standard deviation of the kernel (about 1e-3 is the usual
healthy figure; far below, the layer barely learns; far above, it is thrown around).
"""
import numpy as np

from . import diagnostics, frameworks


class ActivationRecorder:
    """A callback ``(step, model)`` that records per-layer activity every ``every`` steps."""

    def __init__(self, X_probe, every, bins=None):
        if not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every={every!r}: record every 1, 2, ... steps")
        self.X = np.asarray(X_probe, dtype=np.float32)
        if len(self.X) == 0:
            raise ValueError("the probe set is empty: pass some inputs to record activations on")
        self.every = int(every)
        self.bins = np.linspace(-1.5, 4.5, 61) if bins is None else np.asarray(bins, dtype=np.float64)
        self.steps, self.histograms, self._rows = [], [], []
        self._before = None                      # the kernels one step before a recording

    def __call__(self, step, model):
        if (step + 1) % self.every == 0:
            self._before = _kernels(model)
        if step % self.every == 0:
            self.record(step, model)

    def record(self, step, model):
        """Record the model's state now, as the measurement of ``step``."""
        layers = diagnostics.layer_values(model, self.X, np.zeros(len(self.X), dtype=np.int64))[:-1]
        kernels = _kernels(model)
        counts = []
        for k, layer in enumerate(layers):
            a = np.clip(layer["a"].ravel(), self.bins[0], self.bins[-1])
            counts.append(np.histogram(a, bins=self.bins)[0])
            ratio = np.nan
            if self._before is not None:
                ratio = float(np.std(kernels[k] - self._before[k]) / np.std(kernels[k]))
            self._rows.append({"step": step, "layer": k + 1,
                               "dead": float(np.mean(layer["z"].max(axis=0) <= 0)),
                               "update_ratio": ratio, "act_mean": float(layer["a"].mean())})
        self.steps.append(step)
        self.histograms.append(np.array(counts))
        self._before = None

    @property
    def table(self):
        """One row per recording and layer: ``step``, ``layer``, ``dead``, ``update_ratio``, ``act_mean``."""
        import pandas as pd
        return pd.DataFrame(self._rows, columns=["step", "layer", "dead", "update_ratio", "act_mean"])

    def layer_images(self):
        """Per hidden layer, an array (bins × recordings) of activation counts: time runs along x."""
        stacked = np.array(self.histograms)          # (recordings, layers, bins)
        return [stacked[:, k, :].T for k in range(stacked.shape[1])]


def _kernels(model):
    """The dense kernels (2-D weight arrays) of ``model``, hidden layers first."""
    return [w for w in frameworks.get_weights(model) if w.ndim == 2]
