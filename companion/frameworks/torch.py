"""The PyTorch backend: neutral weights, predictions, gradients and the training step for ``nn.Module``s."""
import contextlib

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def owns(model):
    """True for a ``torch.nn.Module``."""
    return isinstance(model, nn.Module)


def device():
    """The device trainers use: the GPU when one is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed(value):
    """Seed PyTorch's generators (CPU and GPU)."""
    torch.manual_seed(value)


def build(spec, options, seed_value):
    """Call the registered PyTorch builder with PyTorch seeded."""
    seed(seed_value)
    return spec.builders["torch"](**options)


def _neutral_tensors(model):
    """(tensor, transposed?, trainable?) for each neutral weight array, in Keras order."""
    for module in model.modules():
        if isinstance(module, nn.Linear):
            yield module.weight, True, True
            if module.bias is not None:
                yield module.bias, False, True
        elif isinstance(module, _BATCH_NORMS):
            if module.affine:
                yield module.weight, False, True
                yield module.bias, False, True
            yield module.running_mean, False, False
            yield module.running_var, False, False
        elif isinstance(module, nn.PReLU):
            yield module.weight, False, True
        elif hasattr(module, "NEUTRAL_ORDER"):       # a course layer that names its weights' order
            for name in module.NEUTRAL_ORDER:
                yield getattr(module, name), False, True
        elif any(True for _ in module.parameters(recurse=False)):
            raise TypeError(f"{type(module).__name__} has weights that the neutral format does not "
                            f"know yet: add it to companion.frameworks.torch._neutral_tensors")


def get_weights(model):
    """The neutral weight list of ``model`` (Linear weights transposed to (fan_in, fan_out))."""
    return [(t.T if transposed else t).detach().cpu().numpy().copy()
            for t, transposed, _ in _neutral_tensors(model)]


@torch.no_grad()
def set_weights(model, weights):
    """Copy a neutral weight list into ``model``."""
    for (t, transposed, _), w in zip(list(_neutral_tensors(model)), weights):
        value = torch.from_numpy(np.array(w.T if transposed else w, order="C"))  # keeps 0-d arrays 0-d
        t.copy_(value.to(t.device, t.dtype))


def trainable_mask(model):
    """True for each neutral weight array that is a trained parameter."""
    return [trainable for _, _, trainable in _neutral_tensors(model)]


def parameter_counts(model):
    """Parameters that require gradients, and the floating-point buffers (running statistics)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    buffers = sum(b.numel() for b in model.buffers() if b.is_floating_point())
    return trainable, frozen + buffers


def _tensor(X, device_):
    """``X`` as a tensor on ``device_`` (copied: the course's data arrays are read-only)."""
    return torch.tensor(X, device=device_)


def _batch_tensor(X, device_):
    """A batch (a fresh, writable NumPy array: the trainer's fancy-indexed slice) as a tensor on
    ``device_``, sharing its memory on the CPU instead of copying it again."""
    X = np.asarray(X)
    if not X.flags.writeable or not X.flags.c_contiguous:
        return _tensor(X, device_)
    return torch.from_numpy(X).to(device_)


def _device_of(model):
    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


@torch.no_grad()
def predict(model, X, training=False):
    """Raw outputs on ``X``; ``training`` picks ``model.train()`` or ``model.eval()`` for the call.

    In training mode batch normalization uses the batch's statistics; its running statistics, which
    such a forward pass updates, are restored afterwards: predicting never changes the model.
    """
    if training:
        with _training_pass(model) as dev:
            return model(_tensor(X, dev)).cpu().numpy()
    was_training = model.training
    model.eval()
    try:
        return model(_tensor(X, _device_of(model))).cpu().numpy()
    finally:
        model.train(was_training)


def loss_fn(task):
    """The course's loss for ``task``: softmax cross-entropy on logits, or mean squared error."""
    return F.cross_entropy if task == "classification" else F.mse_loss


def _targets(y, task, device_):
    y = np.asarray(y)
    y = torch.from_numpy(y) if y.flags.writeable and y.flags.c_contiguous else torch.tensor(y)
    return (y.long() if task == "classification" else y.float()).to(device_)


@contextlib.contextmanager
def _training_pass(model):
    """Training mode for one forward and backward pass that leaves the model as it was.

    Gradients are cleared afterwards and buffers (batch normalization's running statistics, which a
    training-mode forward pass updates) are restored, as are the model's train/eval mode.
    """
    saved = {name: b.clone() for name, b in model.named_buffers()}
    was_training = model.training
    model.train()
    model.zero_grad(set_to_none=True)
    try:
        yield _device_of(model)
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(saved[name])


def loss_and_gradients(model, X, y, task):
    """Loss and trainable gradients in training mode; the model is left unchanged."""
    with _training_pass(model) as dev:
        loss = loss_fn(task)(model(_tensor(X, dev)), _targets(y, task, dev))
        loss.backward()
        grads = [(t.grad.T if transposed else t.grad).cpu().numpy().copy()
                 for t, transposed, trainable in _neutral_tensors(model) if trainable]
    return loss.item(), grads


def make_optimizer(model, config):
    """The PyTorch optimizer of ``config`` (SGD with optional momentum, or Adam), hyperparameters explicit."""
    if config.name == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.learning_rate,
                                betas=(config.beta_1, config.beta_2), eps=config.epsilon)
    return torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=config.momentum)


class Trainer:
    """The PyTorch training step: ``zero_grad``, forward, ``backward``, ``step``, on the trainer's device."""

    def __init__(self, model, task, config, clip=None, record_norm=False):
        self.model, self.task = model.to(device()), task
        self.device = device()
        self.loss_fn = loss_fn(task)
        self.optimizer = make_optimizer(model, config)
        self.clip, self.record_norm = clip, record_norm
        self.parameters = [p for p in model.parameters() if p.requires_grad]

    def step(self, X, y):
        """One update on a batch: (mean loss, number correct or nan, gradient norm or nan, clipped)."""
        self.model.train()                       # a callback may have switched (part of) it to eval()
        X, y = _batch_tensor(X, self.device), _targets(y, self.task, self.device)
        self.optimizer.zero_grad()
        out = self.model(X)
        loss = self.loss_fn(out, y)
        loss.backward()
        norm, clipped = clip_gradients(self.parameters, self.clip, self.record_norm)
        self.optimizer.step()
        if self.task != "classification":
            return loss.item(), float("nan"), norm, clipped
        with torch.no_grad():                # one copy to the host per step: the loss and the count together
            loss, correct = torch.stack([loss, (out.argmax(dim=1) == y).sum().to(loss.dtype)]).tolist()
        return loss, correct, norm, clipped

    @torch.no_grad()
    def evaluate(self, X, y):
        """(mean loss, n correct or nan) in inference mode (``model.eval()``)."""
        self.model.eval()
        X, y = _tensor(X, self.device), _targets(y, self.task, self.device)
        out = self.model(X)
        return self.loss_fn(out, y).item(), _n_correct(out, y, self.task)


def clip_gradients(parameters, clip, record_norm=True):
    """Clip the parameters' ``.grad`` in place between ``backward`` and ``step``: ``clip_grad_value_``,
    ``clip_grad_norm_`` on each parameter, or ``clip_grad_norm_`` on all of them (whose scale is
    ``threshold / (norm + 1e-6)``). Returns (global norm before clipping or nan, was any clipped)."""
    if clip is None and not record_norm:
        return float("nan"), False
    grads = [p.grad for p in parameters if p.grad is not None]
    if clip is not None and clip.kind == "global_norm":
        norm = nn.utils.clip_grad_norm_(parameters, clip.threshold).item()
        return norm, norm > clip.threshold
    norm = nn.utils.get_total_norm(grads).item() if record_norm else float("nan")
    if clip is None:
        return norm, False
    if clip.kind == "value":
        clipped = any(bool((g.abs() > clip.threshold).any()) for g in grads)
        nn.utils.clip_grad_value_(parameters, clip.threshold)
        return norm, clipped
    norms = [nn.utils.clip_grad_norm_([p], clip.threshold).item() for p in parameters if p.grad is not None]
    return norm, any(n > clip.threshold for n in norms)


def clip_arrays(gradients, clip):
    """``(clipped, norm)``: ``gradients`` set as the ``.grad`` of parameters and clipped by PyTorch;
    the norm is what ``clip_grad_norm_`` returns (None for ``clip_grad_value_``)."""
    parameters = [nn.Parameter(torch.zeros(g.shape)) for g in gradients]
    for p, g in zip(parameters, gradients):
        p.grad = torch.tensor(g)
    if clip.kind == "value":
        nn.utils.clip_grad_value_(parameters, clip.threshold)
        norm = None
    elif clip.kind == "norm":
        norm = [nn.utils.clip_grad_norm_([p], clip.threshold).item() for p in parameters]
    else:
        norm = nn.utils.clip_grad_norm_(parameters, clip.threshold).item()
    return [p.grad.numpy() for p in parameters], norm


def _n_correct(out, y, task):
    if task != "classification":
        return float("nan")
    return (out.argmax(dim=1) == y).sum().item()


def layer_values(model, X, y, task):
    """Per dense layer of a ``Sequential``: pre-activations z, activations a and dL/dz, as arrays.

    ``a`` is the output of the module right after each ``nn.Linear`` (its activation), or ``z`` itself
    when a ``Linear`` is followed by nothing or by another ``Linear``. Runs in training mode and leaves
    the model unchanged.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError("layer diagnostics need an nn.Sequential model")
    children = list(model)
    outputs = {}

    def keep(index):
        def hook(module, inputs, output):
            if index in linear_at:
                output.retain_grad()
            outputs[index] = output
        return hook

    linear_at = {i for i, m in enumerate(children) if isinstance(m, nn.Linear)}
    hooks = [m.register_forward_hook(keep(i)) for i, m in enumerate(children)]
    try:
        with _training_pass(model) as dev:
            loss_fn(task)(model(_tensor(X, dev)), _targets(y, task, dev)).backward()
    finally:
        for h in hooks:
            h.remove()
    layers = []
    for i in sorted(linear_at):
        z = outputs[i]
        nxt = i + 1
        a = outputs[nxt] if nxt < len(children) and nxt not in linear_at else z
        layers.append({"z": z.detach().cpu().numpy(), "a": a.detach().cpu().numpy(),
                       "dz": z.grad.cpu().numpy()})
    return layers


def _activation_module(name, alpha, dtype):
    from companion import activations
    return activations.torch(name, alpha).to(getattr(torch, np.dtype(dtype).name))


def activation_derivative(name, z, alpha):
    """dσ(z)/dz of activation ``name`` by PyTorch's autograd, in ``z``'s dtype (float32 or float64)."""
    z = torch.tensor(z, requires_grad=True)
    _activation_module(name, alpha, z.detach().numpy().dtype)(z).sum().backward()
    return z.grad.numpy()


@torch.no_grad()
def activation_values(name, z, alpha):
    """The activation's module applied to ``z``."""
    return _activation_module(name, alpha, z.dtype)(torch.tensor(z)).numpy()


def batch_norm_gradients(x, gamma, beta, dy, epsilon):
    """The course's ``BatchNorm1d`` in training mode on ``x`` and autograd's gradients of sum(dy * y)."""
    from companion.torch_layers import BatchNorm1d
    dtype = getattr(torch, x.dtype.name)
    layer = BatchNorm1d(x.shape[1], eps=epsilon, dtype=dtype).train()
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(gamma))
        layer.bias.copy_(torch.from_numpy(beta))
    x = torch.tensor(x, requires_grad=True)
    y = layer(x)
    (y * torch.from_numpy(dy)).sum().backward()
    return y.detach().numpy(), x.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()
