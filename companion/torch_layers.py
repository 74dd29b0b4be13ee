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


class ConstantStatisticsBatchNorm1d(BatchNorm1d):
    """A from-scratch batch normalization that takes the batch mean and variance under ``no_grad``.

    The forward pass is the same as :class:`BatchNorm1d`'s; the backward pass treats μ and σ² as
    constants, so dL/dx = γ · dL/dy / √(σ² + ε) lacks the two terms that flow through the batch
    statistics. The course uses it to show what that mistake does; never train with it.
    """

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        with torch.no_grad():
            mean, variance = x.mean(dim=0), x.var(dim=0, unbiased=False)
            super().forward(x)                                   # updates the running statistics
        return (x - mean) / torch.sqrt(variance + self.eps) * self.weight + self.bias
