"""NumPy references that the three frameworks are checked against (float64 throughout)."""
import numpy as np


def sigmoid(z):
    """σ(z) = 1 / (1 + e^-z), computed without overflow for large |z|."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_prime(z):
    """σ'(z) = σ(z)(1 − σ(z)): at most 1/4, at z = 0."""
    s = sigmoid(z)
    return s * (1 - s)


def chain_weights(w, b):
    """The neutral weight list of a sigmoid chain with weights ``w[k]`` and biases ``b[k]``."""
    if len(w) != len(b):
        raise ValueError(f"a chain needs one bias per weight: got {len(w)} weights, {len(b)} biases")
    out = []
    for wk, bk in zip(w, b):
        out += [np.array([[wk]], dtype=np.float32), np.array([bk], dtype=np.float32)]
    return out


def chain_forward(weights, x):
    """Pre-activations ``z[k]`` and activations ``a[k]`` (``a[0] = x``) of a sigmoid chain, float64."""
    a, zs = [np.asarray(x, dtype=np.float64).reshape(-1)], []
    for k in range(0, len(weights), 2):
        w, b = float(weights[k][0, 0]), float(weights[k + 1][0])
        zs.append(w * a[-1] + b)
        a.append(sigmoid(zs[-1]))
    return zs, a


def chain_backprop(weights, x, t):
    """Loss and gradients of the chain's mean squared error, by the chain rule written out.

    Returns ``(loss, grads, factors)``: ``grads`` in the neutral order (``dC/dw_1, dC/db_1, ...``) and,
    for a single example, ``factors[k] = w_{k+1} σ'(z_k)`` for k = 1..L-1, the terms whose product
    carries the gradient from layer L down to layer 1.
    """
    zs, a = chain_forward(weights, x)
    t = np.asarray(t, dtype=np.float64).reshape(-1)
    n, depth = len(t), len(zs)
    loss = np.mean((a[-1] - t) ** 2)
    delta = 2 * (a[-1] - t) / n * sigmoid_prime(zs[-1])      # dC/dz_L
    grads = [None] * (2 * depth)
    for k in range(depth - 1, -1, -1):                          # layer k+1, from the top down
        grads[2 * k] = np.array([[np.sum(delta * a[k])]])       # dC/dw
        grads[2 * k + 1] = np.array([np.sum(delta)])            # dC/db
        if k > 0:
            delta = delta * float(weights[2 * k][0, 0]) * sigmoid_prime(zs[k - 1])
    factors = [float(weights[2 * k][0, 0]) * sigmoid_prime(zs[k - 1]) for k in range(1, depth)]
    return loss, grads, factors


def chain_loss(weights, x, t):
    """The chain's mean squared error, float64."""
    _, a = chain_forward(weights, x)
    return float(np.mean((a[-1] - np.asarray(t, dtype=np.float64).reshape(-1)) ** 2))


def finite_difference(loss, weights, index, h=1e-6):
    """Central difference ``(loss(w + h) − loss(w − h)) / 2h`` for each entry of ``weights[index]``.

    ``loss(weights)`` takes a neutral weight list; the arrays are copied to float64 first.
    """
    weights = [np.array(w, dtype=np.float64) for w in weights]
    grad = np.zeros_like(weights[index])
    for i in np.ndindex(grad.shape):
        saved = weights[index][i]
        weights[index][i] = saved + h
        up = loss(weights)
        weights[index][i] = saved - h
        down = loss(weights)
        weights[index][i] = saved
        grad[i] = (up - down) / (2 * h)
    return grad


def tanh_prime(z):
    """tanh'(z) = 1 − tanh(z)²: at most 1, at z = 0."""
    return 1 - np.tanh(np.asarray(z, dtype=np.float64)) ** 2


def factor_band_width(w):
    """Width of the set of inputs x where one chain factor |w σ'(w x + b)| is at least 1.

    Zero for |w| ≤ 4 (the factor is at most |w|/4 < 1). For |w| > 4, σ'(u) ≥ 1/|w| holds for
    |u| ≤ ln((1 + r)/(1 − r)) with r = √(1 − 4/|w|), an interval of x of width
    (2/|w|) ln((1 + r)/(1 − r)), whatever b is (b only shifts it).
    """
    w = np.abs(np.asarray(w, dtype=np.float64))
    r = np.sqrt(np.clip(1 - 4 / np.maximum(w, 4), 0, 1))
    with np.errstate(divide="ignore"):
        width = 2 / w * np.log((1 + r) / (1 - r))
    return np.where(w > 4, width, 0.0)


def factor_band_width_numeric(w, b=0.0, half_range=5.0, points=200_001):
    """The same width measured on a grid of x: the length of {x : |w σ'(w x + b)| ≥ 1}."""
    x = np.linspace(-half_range, half_range, points)
    inside = np.abs(w * sigmoid_prime(w * x + b)) >= 1
    return inside.sum() * (x[1] - x[0])


# The nonsaturating activations of the ReLU chapter, with their derivatives. At z = 0 the derivative
# takes the value of the z <= 0 branch, as the three frameworks' autodiff does (ReLU'(0) = 0).

def relu(z):
    """max(0, z)."""
    return np.maximum(np.asarray(z, dtype=np.float64), 0.0)


def leaky_relu(z, alpha):
    """z for z > 0, alpha z otherwise (PReLU is the same function with a learned alpha)."""
    z = np.asarray(z, dtype=np.float64)
    return np.where(z > 0, z, alpha * z)


def leaky_relu_prime(z, alpha):
    """1 for z > 0, alpha otherwise (ReLU: alpha = 0, so exactly 0 for every z <= 0)."""
    return np.where(np.asarray(z) > 0, 1.0, float(alpha))


def relu_prime(z):
    """1 for z > 0, exactly 0 otherwise."""
    return leaky_relu_prime(z, 0.0)


def elu(z, alpha=1.0):
    """z for z > 0, alpha (e^z − 1) otherwise."""
    z = np.asarray(z, dtype=np.float64)
    return np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0.0)))


def elu_prime(z, alpha=1.0):
    """1 for z > 0, alpha e^z otherwise (continuous at 0 only when alpha = 1)."""
    z = np.asarray(z, dtype=np.float64)
    return np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0.0)))


def selu(z):
    """λ · ELU_α(z) with Klambauer et al.'s λ ≈ 1.0507 and α ≈ 1.6733."""
    from .activations import SELU_ALPHA, SELU_LAMBDA
    return SELU_LAMBDA * elu(z, SELU_ALPHA)


def selu_prime(z):
    """λ for z > 0, λ α e^z otherwise."""
    from .activations import SELU_ALPHA, SELU_LAMBDA
    return SELU_LAMBDA * elu_prime(z, SELU_ALPHA)


def gelu(z):
    """z Φ(z), Φ the standard normal CDF (the exact GELU, not the tanh approximation)."""
    z = np.asarray(z, dtype=np.float64)
    return z * _normal_cdf(z)


def gelu_prime(z):
    """Φ(z) + z φ(z)."""
    z = np.asarray(z, dtype=np.float64)
    return _normal_cdf(z) + z * np.exp(-z ** 2 / 2) / np.sqrt(2 * np.pi)


def _normal_cdf(z):
    import math
    return 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))


def swish(z):
    """z σ(z) (also called SiLU)."""
    z = np.asarray(z, dtype=np.float64)
    return z * sigmoid(z)


def swish_prime(z):
    """σ(z) + z σ(z)(1 − σ(z))."""
    s = sigmoid(z)
    return s + np.asarray(z, dtype=np.float64) * s * (1 - s)


def activation(name, z, alpha=None):
    """Activation ``name`` at ``z`` in float64, with the course's parameter when ``alpha`` is None."""
    from .activations import check
    name, alpha = check(name, alpha)
    return _FUNCTIONS[name][0](z, alpha)


def activation_prime(name, z, alpha=None):
    """The closed-form derivative of activation ``name`` at ``z``, float64."""
    from .activations import check
    name, alpha = check(name, alpha)
    return _FUNCTIONS[name][1](z, alpha)


_FUNCTIONS = {
    "sigmoid": (lambda z, _: sigmoid(z), lambda z, _: sigmoid_prime(z)),
    "tanh": (lambda z, _: np.tanh(np.asarray(z, np.float64)), lambda z, _: tanh_prime(z)),
    "relu": (lambda z, _: relu(z), lambda z, _: relu_prime(z)),
    "leaky_relu": (leaky_relu, leaky_relu_prime),
    "prelu": (leaky_relu, leaky_relu_prime),
    "elu": (elu, elu_prime),
    "selu": (lambda z, _: selu(z), lambda z, _: selu_prime(z)),
    "gelu": (lambda z, _: gelu(z), lambda z, _: gelu_prime(z)),
    "swish": (lambda z, _: swish(z), lambda z, _: swish_prime(z)),
}


# Batch normalization (the batch-normalization chapter). A batch x of shape (n, channels); per channel:
#   μ = mean(x),  σ² = mean((x − μ)²) (biased),  x̂ = (x − μ) / √(σ² + ε),  y = γ x̂ + β.

def batch_norm_forward(x, gamma, beta, epsilon):
    """``(y, cache)`` of batch normalization in training mode (batch statistics), float64.

    ``cache`` holds what the backward pass needs: ``x``, ``mean``, ``variance``, ``x_hat``, ``gamma``
    and ``epsilon``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"batch normalization here takes a batch of shape (n, channels) with n >= 2, "
                         f"got shape {x.shape}")
    gamma, beta = np.asarray(gamma, np.float64), np.asarray(beta, np.float64)
    mean = x.mean(axis=0)
    variance = ((x - mean) ** 2).mean(axis=0)
    x_hat = (x - mean) / np.sqrt(variance + epsilon)
    cache = dict(x=x, mean=mean, variance=variance, x_hat=x_hat, gamma=gamma, epsilon=epsilon)
    return gamma * x_hat + beta, cache


def batch_norm_backward(dy, cache):
    """``(dx, dgamma, dbeta)`` by the chain rule through the four equations, one step at a time.

    ``dy`` is dL/dy. Backwards through y = γ x̂ + β, x̂ = (x − μ)/√(σ² + ε), σ² = mean((x − μ)²) and
    μ = mean(x): x reaches the loss directly and through μ and σ², and each path is a term of dx.
    """
    dy = np.asarray(dy, dtype=np.float64)
    x, mean, variance, x_hat = cache["x"], cache["mean"], cache["variance"], cache["x_hat"]
    n, inv_std = len(x), 1 / np.sqrt(variance + cache["epsilon"])
    dbeta = dy.sum(axis=0)
    dgamma = (dy * x_hat).sum(axis=0)
    dx_hat = dy * cache["gamma"]
    dvariance = (dx_hat * (x - mean)).sum(axis=0) * -0.5 * inv_std ** 3
    dmean = -(dx_hat * inv_std).sum(axis=0) + dvariance * (-2 * (x - mean)).mean(axis=0)
    dx = dx_hat * inv_std + dvariance * 2 * (x - mean) / n + dmean / n
    return dx, dgamma, dbeta


def batch_norm_backward_compact(dy, cache):
    """The same gradients in the compact form: dx = γ/(n √(σ² + ε)) · (n dy − Σdy − x̂ Σ(dy x̂))."""
    dy = np.asarray(dy, dtype=np.float64)
    x_hat, n = cache["x_hat"], len(cache["x"])
    dbeta, dgamma = dy.sum(axis=0), (dy * x_hat).sum(axis=0)
    dx = cache["gamma"] / (n * np.sqrt(cache["variance"] + cache["epsilon"])) * (n * dy - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def batch_norm_backward_constant_statistics(dy, cache):
    """The gradients when μ and σ² are treated as constants (a layer that computes them under no_grad).

    dγ and dβ are unchanged; dx = γ dy / √(σ² + ε) loses the two terms that flow through the batch
    statistics. It is the gradient of a different function: normalization by fixed numbers.
    """
    dy = np.asarray(dy, dtype=np.float64)
    dx = cache["gamma"] * dy / np.sqrt(cache["variance"] + cache["epsilon"])
    return dx, (dy * cache["x_hat"]).sum(axis=0), dy.sum(axis=0)


def batch_norm_inference(x, gamma, beta, moving_mean, moving_variance, epsilon):
    """Batch normalization in inference mode: the moving statistics instead of the batch's, float64."""
    x = np.asarray(x, dtype=np.float64)
    return gamma * (x - moving_mean) / np.sqrt(np.asarray(moving_variance, np.float64) + epsilon) + beta


# --- gradient clipping (the clipping chapter) -------------------------------------------------------

def _as_list(gradients):
    return [np.asarray(g, dtype=np.float64) for g in gradients]


def clip_by_value(gradients, threshold):
    """Each element of each gradient clipped to ``[-threshold, threshold]``: the direction can change."""
    return [np.clip(g, -threshold, threshold) for g in _as_list(gradients)]


def clip_by_norm(gradients, threshold):
    """Each gradient tensor on its own rescaled to norm ``threshold`` if its norm is above it
    (``tf.clip_by_norm`` per tensor, Keras' ``clipnorm``): each tensor keeps its direction."""
    out = []
    for g in _as_list(gradients):
        norm = np.sqrt(np.sum(g * g))
        out.append(g * threshold / norm if norm > threshold else g)
    return out


def global_norm(gradients):
    """The norm of all the gradients' elements taken together, ``sqrt(sum_k ||g_k||²)``."""
    return float(np.sqrt(sum(np.sum(g * g) for g in _as_list(gradients))))


def clip_by_global_norm(gradients, threshold):
    """``(clipped, norm)``: every gradient scaled by ``threshold / norm`` when the global ``norm`` is above
    ``threshold`` (``tf.clip_by_global_norm``, Keras' ``global_clipnorm``, PyTorch's ``clip_grad_norm_``
    but for its 1e-6): the whole update keeps its direction."""
    grads, norm = _as_list(gradients), global_norm(gradients)
    scale = threshold / norm if norm > threshold else 1.0
    return [g * scale for g in grads], norm


def cosine_similarity(a, b):
    """The cosine of the angle between two gradients (lists of arrays taken as one vector each)."""
    a = np.concatenate([g.ravel() for g in _as_list(a)])
    b = np.concatenate([g.ravel() for g in _as_list(b)])
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- Pascanu, Mikolov & Bengio's one-unit recurrent network ---------------------------------------

def one_unit_rnn(w, b, x0=0.5, steps=50, target=0.7):
    """``(loss, dloss/dw, dloss/db)`` of ``x_t = w σ(x_{t−1}) + b`` with loss ``(σ(x_T) − target)²``.

    ``w`` and ``b`` may be arrays of one shape (a grid, or many starting points): everything is
    computed elementwise, by backpropagation through time written out, in float64.
    """
    w, b = np.broadcast_arrays(np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
    s = [sigmoid(np.full(w.shape, float(x0)))]    # s[t] = σ(x_t), kept for the backward pass
    for _ in range(steps):
        s.append(sigmoid(w * s[-1] + b))
    loss = (s[-1] - target) ** 2
    dx = 2 * (s[-1] - target) * s[-1] * (1 - s[-1])     # dloss/dx_T
    dw, db = np.zeros(w.shape), np.zeros(w.shape)
    for t in range(steps, 0, -1):                 # x_t = w σ(x_{t-1}) + b
        dw += dx * s[t - 1]
        db += dx
        dx = dx * w * s[t - 1] * (1 - s[t - 1])
    return loss, dw, db
