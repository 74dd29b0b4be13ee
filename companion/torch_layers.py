"""PyTorch layers of the course that ``torch.nn`` does not have as such."""
import torch
import torch.nn.functional as F
from torch import nn


class BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` whose running variance averages the *biased* batch variance, as Keras and TF1.

    PyTorch's own running variance averages ``n/(n − 1)`` times the batch variance (the unbiased
    estimate); Keras and TF1 average the batch variance itself. In training mode this layer normalizes
    with the batch statistics as ``nn.BatchNorm1d`` does and updates ``running = (1 − m) · running +
    m · batch`` with the biased variance, so with ``momentum = 1 − keras_momentum`` and the same ``eps``
    it keeps the moving statistics Keras keeps. Parameters, buffers, ``state_dict`` and inference are
    those of ``nn.BatchNorm1d``.
    """

    def forward(self, x):
        if not (self.training and self.track_running_stats):
            return super().forward(x)
        self._check_input_dim(x)
        out = F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=self.eps)
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            dims = [d for d in range(x.dim()) if d != 1]
            self.running_mean.lerp_(x.mean(dim=dims), m)
            self.running_var.lerp_(x.var(dim=dims, unbiased=False), m)
        return out
