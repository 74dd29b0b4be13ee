"""The dying-ReLU chapter's born-dead networks: Lu, Shin, Su & Karniadakis (2019) in miniature.

A fresh ReLU network with zero biases, symmetric weights (here He normal, N(0, 2 / fan_in)) and
``hidden_layers`` hidden layers all of width N. For one nonzero input, each unit's pre-activation is
symmetric about 0 and the N units of a layer are independent given the layer's input, so a layer whose
input is nonzero outputs all zeros with probability 2^-N; once a layer is all zero so is every later
one. The net is therefore dead at birth, for that input, with probability 1 - (1 - 2^-N)^hidden_layers.
(``hidden_layers`` counts the hidden layers only; the issue writes L - 1 of them for a net of depth L.)

Pure NumPy, no framework. Each width is simulated once, to the largest depth asked for, recording at
which layer each net died: the net of depth d is the first d layers of that net, so every depth comes
from the same draws. Cells of one width are therefore nested (not independent), which
:func:`agreement` takes into account. The weights are float32: only signs matter, and rounding keeps
the ± symmetry (negating a weight column negates the computed pre-activation exactly).
"""
import math
from statistics import NormalDist

import numpy as np

THREE_SE = 0.0027  # two-sided normal tail beyond 3 standard errors: 2 (1 - Φ(3))


def born_dead_probability(width, hidden_layers):
    """1 - (1 - 2^-width)^hidden_layers: a fresh net is dead at birth for one nonzero input.

    Elementwise on arrays (NumPy broadcasting); a float for scalars. ``hidden_layers`` counts the hidden
    layers (0 gives 0: a net without hidden layers is never dead).
    """
    width = _integers("width", width, minimum=1)
    hidden_layers = _integers("hidden_layers", hidden_layers, minimum=0)
    p = -np.expm1(hidden_layers * np.log1p(-np.exp2(-width.astype(float))))
    return float(p) if p.ndim == 0 else p


def binomial_p_value(k, n, p):
    """Exact two-sided p-value of ``k`` successes under Binomial(n, p), as a float.

    The probability of every outcome no more likely than ``k`` (R's ``binom.test``), summed in log
    space with a relative tolerance of 1e-7 for ties. Binomial(10, 0.5) and k = 0 gives 2 / 1024.
    """
    n = int(_integers("n", n, minimum=0))
    k = int(_integers("k", k, minimum=0))
    if k > n:
        raise ValueError(f"k={k} successes is more than n={n} trials")
    log_pmf = _binomial_log_pmf(n, _probability("p", p))
    return float(min(1.0, np.exp(log_pmf[log_pmf <= log_pmf[k] + 1e-7]).sum()))


def monte_carlo(widths, hidden_layers, n_nets, seed=0, input_dim=10):
    """Fraction of fresh nets dead at birth for one fresh input each, beside the formula.

    For each width, ``n_nets`` nets (an ``input_dim`` -> width first layer, then width x width layers),
    each with its own standard normal input, run to the largest of ``hidden_layers``; a net counts as
    dead at depth d when its d-th hidden layer is all zero. The draws of one width come from
    ``default_rng([seed, width])``, so a cell does not depend on the other cells asked for.

    Returns a DataFrame, one row per (width, hidden_layers): ``width``, ``hidden_layers``, ``n_nets``,
    ``dead`` (count), ``observed`` (fraction), ``predicted`` (:func:`born_dead_probability`), ``se``
    (binomial standard error of the predicted fraction, sqrt(p (1 - p) / n)) and ``p_value`` (exact
    two-sided, of ``dead`` under Binomial(n_nets, predicted)).
    """
    widths, depths = _sizes(widths, hidden_layers)
    n_nets, input_dim = _count("n_nets", n_nets), _count("input_dim", input_dim)
    seed = _seed(seed)
    died = {w: _death_layers_fresh_inputs(w, depths[-1], n_nets, input_dim, np.random.default_rng([seed, w]))
            for w in widths}
    return _table(widths, depths, n_nets, lambda w, d: int(np.count_nonzero(died[w] <= d)))


def agreement(table, false_failure=1e-3, min_variance=5.0):
    """How well a :func:`monte_carlo` table matches its ``predicted`` column, and a pass/fail verdict.

    Uses the columns ``width``, ``hidden_layers``, ``n_nets``, ``dead`` and ``predicted`` (change
    ``predicted`` to test another formula). The cells of one width are nested (the same nets at growing
    depth), so they are not compared one by one: each is split into steps. A step is the nets still
    alive at the previous depth of that width (``at_risk``, all nets for the first depth) and those of
    them that died since (``new_dead``), compared with Binomial(at_risk, h), h = (P_d - P_prev) /
    (1 - P_prev) the predicted chance of dying in between. Given the earlier steps each step's exact
    p-value is at least uniform when the formula is right, so the steps are like independent tests.

    The verdict ``agrees`` needs both, each of false-failure chance at most ``false_failure / 2``:

    - ``beyond_3se``, the number of steps whose exact two-sided p-value is below 0.0027 (beyond 3
      standard errors), is at most ``allowed``, the 1 - false_failure / 2 quantile of
      Binomial(cells, 0.0027); the count is stochastically below that binomial under the formula;
    - ``chi2``, the sum of (new_dead - at_risk h)^2 / (at_risk h (1 - h)) over the ``dof`` steps whose
      variance is at least ``min_variance`` (each term about chi-square(1)), is at most ``chi2_limit``,
      the 1 - false_failure / 2 quantile of chi-square(dof) (Wilson-Hilferty; exact for dof <= 2).

    By the union bound the chance of a false failure is at most ``false_failure`` (1e-3) per table.
    Returns a dict of plain numbers: ``cells``, ``beyond_3se``, ``fraction`` (beyond_3se / cells),
    ``allowed``, ``chi2``, ``dof``, ``chi2_limit``, ``marginal_beyond_3se`` (cells whose own ``dead``
    is beyond 3 standard errors of Binomial(n_nets, predicted); descriptive only, as nested cells
    stray together) and ``agrees``.
    """
    false_failure = _probability("false_failure", false_failure)
    if not 0 < false_failure < 1:
        raise ValueError(f"false_failure must be strictly between 0 and 1, got {false_failure}")
    steps = _steps(table)
    new, at_risk, hazard = steps["new_dead"], steps["at_risk"], steps["hazard"]
    step_p = [binomial_p_value(k, m, h) for k, m, h in zip(new, at_risk, hazard)]
    marginal_p = [binomial_p_value(k, n, p) for k, n, p in zip(steps["dead"], steps["n_nets"],
                                                                steps["predicted"])]
    cells, beyond = len(steps), int(np.sum(np.array(step_p) < THREE_SE))
    allowed = _binomial_quantile(cells, THREE_SE, 1 - false_failure / 2)
    variance = at_risk * hazard * (1 - hazard)
    used = variance >= min_variance
    chi2 = float(np.sum((new[used] - at_risk[used] * hazard[used]) ** 2 / variance[used]))
    dof = int(used.sum())
    limit = _chi2_quantile(dof, 1 - false_failure / 2)
    return {"cells": cells, "beyond_3se": beyond, "fraction": beyond / cells, "allowed": allowed,
            "chi2": chi2, "dof": dof, "chi2_limit": limit,
            "marginal_beyond_3se": int(np.sum(np.array(marginal_p) < THREE_SE)),
            "agrees": bool(beyond <= allowed and chi2 <= limit)}


def death_layers_on_data(width, depth, X, n_nets, seed=0, chunk=100):
    """For ``n_nets`` fresh nets of ``depth`` hidden layers on the inputs ``X`` (n, d): when each died.

    Returns ``(all_inputs, first_input)``, two int arrays of length ``n_nets``: the first hidden layer
    that is all zero for every row of ``X`` (for ``X[0]`` alone), ``depth + 1`` if none is. Dead on
    every input implies dead on the first, so ``first_input <= all_inputs`` net by net. Nets are drawn
    ``chunk`` at a time, chunk i from ``default_rng([seed, width, i])``, every layer's weights for all of
    them: the nets depend on the seed, ``chunk``, ``n_nets`` and the number of features, not on the rows
    of ``X`` (``X[:1]`` sees the same nets as ``X``).
    """
    width, depth = int(_count("width", width)), int(_count("depth", depth))
    X, n_nets, chunk, seed = _inputs(X), _count("n_nets", n_nets), _count("chunk", chunk), _seed(seed)
    all_inputs = np.full(n_nets, depth + 1)
    first_input = np.full(n_nets, depth + 1)
    for i, start in enumerate(range(0, n_nets, chunk)):
        stop = min(start + chunk, n_nets)
        all_inputs[start:stop], first_input[start:stop] = _death_layers_shared_inputs(
            width, depth, X, stop - start, np.random.default_rng([seed, width, i]))
    return all_inputs, first_input


def dead_on_data(widths, hidden_layers, X, n_nets, seed=0, chunk=100):
    """Fraction of fresh nets dead for every input of ``X``: their output is one constant for all.

    ``X`` is (n, d), e.g. flattened standardized images. Per width, one set of nets run to the largest
    depth (:func:`death_layers_on_data`). Returns a DataFrame, one row per (width, hidden_layers):
    ``width``, ``hidden_layers``, ``n_nets``, ``n_inputs``, ``dead`` (count dead on every input),
    ``observed`` (its fraction), ``dead_first`` and ``observed_first`` (the same nets on ``X[0]``
    alone), ``predicted`` (the one-input formula), ``se`` and ``p_value`` (of ``dead`` under
    Binomial(n_nets, predicted): far from the formula unless ``X`` has one row).
    """
    widths, depths = _sizes(widths, hidden_layers)
    X, n_nets = _inputs(X), _count("n_nets", n_nets)
    died = {w: death_layers_on_data(w, depths[-1], X, n_nets, seed, chunk) for w in widths}
    table = _table(widths, depths, n_nets, lambda w, d: int(np.count_nonzero(died[w][0] <= d)))
    first = [int(np.count_nonzero(died[w][1] <= d)) for w in widths for d in depths]
    table.insert(3, "n_inputs", len(X))
    table.insert(6, "dead_first", first)
    table.insert(7, "observed_first", table["dead_first"] / n_nets)
    return table


def _death_layers_fresh_inputs(width, depth, n_nets, input_dim, rng):
    """Per net (own standard normal input): the first all-zero hidden layer, ``depth + 1`` if none."""
    died = np.full(n_nets, depth + 1)
    alive = np.arange(n_nets)  # nets not dead yet; weights are drawn for all, so net i is fixed by the seed
    h = rng.standard_normal((n_nets, 1, input_dim), dtype=np.float32)
    for layer in range(1, depth + 1):
        if len(alive) == 0:
            break
        fan_in = h.shape[2]
        W = rng.standard_normal((n_nets, fan_in, width), dtype=np.float32)[alive]
        W *= np.float32(math.sqrt(2 / fan_in))
        h = np.maximum(h @ W, 0)                           # (nets, 1, width)
        dead = ~(h > 0).any(axis=(1, 2))
        if dead.any():
            died[alive[dead]] = layer
            alive, h = alive[~dead], h[~dead]
    return died


def _death_layers_shared_inputs(width, depth, X, n_nets, rng):
    """Per net on all rows of ``X``: the first layer all zero on every row, and on ``X[0]``."""
    all_inputs, first_input = np.full(n_nets, depth + 1), np.full(n_nets, depth + 1)
    alive = np.arange(n_nets)
    W = rng.standard_normal((X.shape[1], n_nets * width), dtype=np.float32)
    W *= np.float32(math.sqrt(2 / X.shape[1]))
    z = np.ascontiguousarray((X @ W).reshape(len(X), n_nets, width).transpose(1, 0, 2))
    for layer in range(1, depth + 1):
        if len(alive) == 0:
            break
        if layer > 1:
            W = rng.standard_normal((n_nets, width, width), dtype=np.float32)[alive]
            W *= np.float32(math.sqrt(2 / width))
            z = h @ W                                      # (nets, inputs, width)
        first = (z[:, 0, :].max(axis=1) <= 0) & (first_input[alive] > depth)
        first_input[alive[first]] = layer
        dead = z.reshape(len(alive), -1).max(axis=1) <= 0
        if dead.any():
            all_inputs[alive[dead]] = layer
            alive, z = alive[~dead], z[~dead]
        h = np.maximum(z, 0, out=z)
    return all_inputs, first_input


def _table(widths, depths, n_nets, count_dead):
    """The common columns of one row per (width, depth), ``count_dead(width, depth)`` nets dead."""
    import pandas as pd

    rows = []
    for w in widths:
        for d in depths:
            dead, p = count_dead(w, d), born_dead_probability(w, d)
            rows.append({"width": w, "hidden_layers": d, "n_nets": n_nets, "dead": dead,
                         "observed": dead / n_nets, "predicted": p, "se": math.sqrt(p * (1 - p) / n_nets),
                         "p_value": binomial_p_value(dead, n_nets, p)})
    return pd.DataFrame(rows)


def _steps(table):
    """Each width's cells as steps (at_risk, new_dead, hazard) along depth, with the table's columns."""
    needed = {"width", "hidden_layers", "n_nets", "dead", "predicted"}
    if not needed <= set(getattr(table, "columns", ())):
        raise ValueError(f"table must be a DataFrame with the columns {sorted(needed)} "
                         f"(as monte_carlo returns)")
    if len(table) == 0:
        raise ValueError("table has no cells")
    steps = table.sort_values(["width", "hidden_layers"]).reset_index(drop=True)
    if steps.duplicated(["width", "hidden_layers"]).any():
        raise ValueError("table has two cells with the same width and hidden_layers")
    p, dead, n = (steps[c].to_numpy(float) for c in ("predicted", "dead", "n_nets"))
    if not (np.all((p >= 0) & (p <= 1)) and np.all((dead >= 0) & (dead <= n))):
        raise ValueError("predicted must be in [0, 1] and dead between 0 and n_nets")
    by_width = steps.groupby("width")
    if (by_width["n_nets"].nunique() > 1).any():
        raise ValueError("the cells of one width must share n_nets (one set of nets per width)")
    dead_before = by_width["dead"].shift(fill_value=0).to_numpy(float)
    p_before = by_width["predicted"].shift(fill_value=0.0).to_numpy(float)
    if np.any(dead < dead_before) or np.any(p < p_before):
        raise ValueError("dead and predicted must not decrease with hidden_layers within a width: "
                         "agreement expects nested cells, the same nets at growing depth")
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(p_before < 1, (p - p_before) / (1 - p_before), 1.0)
    return steps.assign(at_risk=n - dead_before, new_dead=dead - dead_before,
                        hazard=np.clip(hazard, 0.0, 1.0))


def _binomial_log_pmf(n, p):
    """log P(X = k), k = 0..n, for X ~ Binomial(n, p) (-inf where impossible)."""
    k = np.arange(n + 1)
    if p in (0.0, 1.0):
        return np.where(k == (0 if p == 0 else n), 0.0, -np.inf)
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    return (log_factorial[n] - log_factorial - log_factorial[::-1]
            + k * math.log(p) + (n - k) * math.log1p(-p))


def _binomial_quantile(n, p, q):
    """The smallest c with P(Binomial(n, p) <= c) >= q."""
    cdf = np.cumsum(np.exp(_binomial_log_pmf(n, p)))
    return int(min(np.searchsorted(cdf, q * (1 - 1e-12)), n))


def _chi2_quantile(dof, q):
    """The q quantile of chi-square(dof): exact for dof 1 and 2, Wilson-Hilferty above; 0 for dof 0."""
    if dof == 0:
        return 0.0
    if dof == 1:
        return NormalDist().inv_cdf((1 + q) / 2) ** 2
    if dof == 2:
        return -2 * math.log1p(-q)
    c = 2 / (9 * dof)
    return dof * (1 - c + NormalDist().inv_cdf(q) * math.sqrt(c)) ** 3


def _integers(name, value, minimum):
    """``value`` as an int array (any shape), every entry an integer >= ``minimum``."""
    array = np.asarray(value)
    if array.dtype == bool or array.dtype.kind not in "iuf" or array.size == 0:
        raise ValueError(f"{name} must be integers >= {minimum}, got {value!r}")
    if not (np.all(np.isfinite(array)) and np.all(array == np.round(array)) and np.all(array >= minimum)):
        raise ValueError(f"{name} must be integers >= {minimum}, got {value!r}")
    return array.astype(np.int64)


def _count(name, value):
    """A single int >= 1."""
    array = _integers(name, value, minimum=1)
    if array.ndim:
        raise ValueError(f"{name} must be a single integer >= 1, got {value!r}")
    return int(array)


def _seed(seed):
    """A single int >= 0 (the seeds are entropy for ``numpy.random.default_rng``)."""
    array = _integers("seed", seed, minimum=0)
    if array.ndim:
        raise ValueError(f"seed must be a single integer >= 0, got {seed!r}")
    return int(array)


def _sizes(widths, hidden_layers):
    """Sorted distinct widths and depths (Python ints), each >= 1."""
    widths = sorted(set(_integers("widths", widths, minimum=1).ravel().tolist()))
    depths = sorted(set(_integers("hidden_layers", hidden_layers, minimum=1).ravel().tolist()))
    return widths, depths


def _probability(name, value):
    """A single float in [0, 1]."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return value


def _inputs(X):
    """``X`` as a float32 (n, d) array of finite values, n, d >= 1."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be 2-D (inputs, features) with at least one of each, got shape "
                         f"{X.shape}; flatten images first: X.reshape(len(X), -1)")
    if X.dtype.kind not in "iuf" or not np.all(np.isfinite(X)):
        raise ValueError("X must hold finite numbers")
    return np.ascontiguousarray(X, dtype=np.float32)
