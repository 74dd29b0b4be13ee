"""PyTorch layers of the course that ``torch.nn`` does not have as such."""
import torch
import torch.nn.functional as F
from torch import nn


class BatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` whose running variance averages the *biased* batch variance, as Keras and TF1.

    PyTorch's own running variance averages ``n/(n − 1)`` times the batch variance (the unbiased
    estimate); Keras and TF1 average the batch variance itself. In training mode this layer runs
    PyTorch's kernel (batch statistics, ``running = (1 − m) · running + m · batch``) on a copy of the
    running variance, then keeps ``(n − 1)/n`` of what the kernel added to it: the update with the
    biased variance, ``(n − 1)/n · updated + (1 − m)/n · running``. With ``momentum = 1 − keras_momentum`` and the same ``eps`` it keeps the moving
    statistics Keras keeps. Parameters, buffers, ``state_dict`` and inference are those of
    ``nn.BatchNorm1d``.
    """

    def forward(self, x):
        if not (self.training and self.track_running_stats):
            return super().forward(x)
        self._check_input_dim(x)
        self.num_batches_tracked += 1
        m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        updated = self.running_var.clone()          # the kernel's copy (autograd keeps it: not in place)
        out = F.batch_norm(x, self.running_mean, updated, self.weight, self.bias, True, m, self.eps)
        n = x.numel() // x.shape[1]
        with torch.no_grad():   # updated = (1 − m) running + m n/(n − 1) var, so this is (1 − m) running + m var
            self.running_var.mul_((1 - m) / n).add_(updated, alpha=(n - 1) / n)
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


class OneUnitRecurrence(nn.Module):
    """Pascanu et al.'s one-unit recurrent network: ``x_t = w σ(x_{t−1}) + b`` for ``steps`` steps from
    the input ``x_0``; the output is ``σ(x_T)``. ``w`` and ``b`` are scalar parameters."""

    NEUTRAL_ORDER = ("w", "b")     # the neutral weight format's order (companion.frameworks)

    def __init__(self, steps=50, w=1.0, b=0.0):
        super().__init__()
        self.steps = steps
        self.w = nn.Parameter(torch.tensor(float(w)))
        self.b = nn.Parameter(torch.tensor(float(b)))

    def forward(self, x):
        for _ in range(self.steps):
            x = self.w * torch.sigmoid(x) + self.b
        return torch.sigmoid(x)
