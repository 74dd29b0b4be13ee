"""The experiments of the clipping chapter: what clipping does, what each framework means by it, why
gradients explode (Pascanu, Mikolov & Bengio 2013's one-unit recurrent net) and clipping in training.

Each function returns plain tables (pandas) or arrays, so the chapter can assert on them.
"""
import numpy as np

from .. import frameworks, models, reference, train
from ..registry import FRAMEWORKS
from ..training import CLIP_KINDS

SEED_GRADIENT = (0.9, 100.0)          # the seed notes' example
W_RANGE, B_RANGE = (-2.0, 10.0), (-6.0, 2.0)   # Pascanu et al.'s Figure 6 window


def seed_example(threshold=1.0):
    """The gradient [0.9, 100] clipped by value and by norm: the vectors, their norms and cosines."""
    import pandas as pd

    g = [np.array(SEED_GRADIENT)]
    rows = []
    for kind, clipped in (("none", g), ("value", reference.clip_by_value(g, threshold)),
                          ("norm", reference.clip_by_norm(g, threshold))):
        v = clipped[0]
        rows.append({"clip": kind, "g1": v[0], "g2": v[1], "norm": reference.global_norm(clipped),
                     "cosine": reference.cosine_similarity(g, clipped),
                     "angle_degrees": float(np.degrees(np.arccos(min(1.0, reference.cosine_similarity(g, clipped)))))})
    return pd.DataFrame(rows).set_index("clip")


def example_gradients(seed=0):
    """Three gradient tensors of unlike sizes (a kernel, a bias, a kernel with one huge entry): the
    gradients on which the frameworks' clipping is compared."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(4, 3)) * 2).astype(np.float32), (rng.normal(size=3) * 0.1).astype(np.float32),
            np.array([[30.0, -0.5]], np.float32)]


def framework_semantics(gradients, threshold=1.0):
    """One row per framework and clip kind: what the framework's own clipping makes of ``gradients``.

    Columns: the framework's function, the largest difference from the NumPy reference of that kind,
    the global norm after clipping, the cosine with the unclipped gradients, and the norm the function
    returns (NaN where it returns none).
    """
    import pandas as pd

    names = {"tf1": {"value": "tf.clip_by_value", "norm": "tf.clip_by_norm (each tensor)",
                     "global_norm": "tf.clip_by_global_norm"},
             "keras": {"value": "SGD(clipvalue=…)", "norm": "SGD(clipnorm=…) (each variable)",
                       "global_norm": "SGD(global_clipnorm=…)"},
             "torch": {"value": "clip_grad_value_", "norm": "clip_grad_norm_ on each parameter",
                       "global_norm": "clip_grad_norm_"}}
    expected = {"value": reference.clip_by_value(gradients, threshold),
                "norm": reference.clip_by_norm(gradients, threshold),
                "global_norm": reference.clip_by_global_norm(gradients, threshold)[0]}
    rows = []
    for framework in FRAMEWORKS:
        for kind in CLIP_KINDS:
            clipped, returned = frameworks.clip_gradients(gradients, (kind, threshold), framework)
            rows.append({"framework": framework, "kind": kind, "function": names[framework][kind],
                         "max_difference": max(float(np.abs(a - b).max()) for a, b in zip(clipped, expected[kind])),
                         "norm_after": reference.global_norm(clipped),
                         "cosine": reference.cosine_similarity(gradients, clipped),
                         "returns_norm": (float(returned) if np.isscalar(returned) else np.nan)})
    return pd.DataFrame(rows)


def rnn_surface(n=301, steps=50):
    """``(w, b, loss, gradient_norm)`` of the one-unit recurrent net on an ``n × n`` grid over Pascanu
    et al.'s window (w ∈ [−2, 10], b ∈ [−6, 2]), from the NumPy reference (float64)."""
    w, b = np.meshgrid(np.linspace(*W_RANGE, n), np.linspace(*B_RANGE, n))
    loss, dw, db = reference.one_unit_rnn(w, b, steps=steps)
    return w, b, loss, np.hypot(dw, db)


def cliff_ratio(gradient_norm):
    """The largest gradient norm on the grid over the median: how tall the cliff is."""
    return float(np.max(gradient_norm) / np.median(gradient_norm))


def descent_from_starts(n_starts, seed, learning_rate, steps, threshold=None, tolerance=1e-4):
    """Gradient descent on the one-unit recurrent net from ``n_starts`` uniform starts over the window,
    all at once (vectorised NumPy), with the gradient clipped to global norm ``threshold`` or not.

    Returns a dict: ``success`` (the share of starts whose final loss is below ``tolerance``), the
    longest step taken (``max_step``, to compare with learning rate × threshold), the share of steps
    clipped, and the final losses.
    """
    rng = np.random.default_rng(seed)
    w = rng.uniform(*W_RANGE, n_starts)
    b = rng.uniform(*B_RANGE, n_starts)
    max_step, clipped = 0.0, 0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            _, dw, db = reference.one_unit_rnn(w, b)
            norm = np.hypot(dw, db)
            scale = np.ones_like(norm)
            if threshold is not None:
                over = norm > threshold
                scale[over] = threshold / norm[over]
                clipped += int(over.sum())
            dw, db = np.nan_to_num(dw * scale), np.nan_to_num(db * scale)
            max_step = max(max_step, float(np.max(learning_rate * np.hypot(dw, db))))
            w, b = w - learning_rate * dw, b - learning_rate * db
        final = reference.one_unit_rnn(w, b)[0]
    final = np.where(np.isfinite(final), final, np.inf)
    return {"success": float(np.mean(final < tolerance)), "max_step": max_step,
            "clipped_share": clipped / (steps * n_starts), "final_loss": final}


def descent_table(seeds, n_starts, learning_rates, steps, threshold=1.0):
    """One row per learning rate and seed: the success rate without and with clipping, and the longest
    steps taken."""
    import pandas as pd

    rows = []
    for lr in learning_rates:
        for seed in seeds:
            plain = descent_from_starts(n_starts, seed, lr, steps)
            clip = descent_from_starts(n_starts, seed, lr, steps, threshold)
            rows.append({"learning_rate": lr, "seed": seed, "success_plain": plain["success"],
                         "success_clipped": clip["success"], "max_step_plain": plain["max_step"],
                         "max_step_clipped": clip["max_step"], "clipped_share": clip["clipped_share"]})
    return pd.DataFrame(rows)


def clipped_training(framework, data, seed, clip, epochs, model="exploding_tanh_mlp", learning_rate=0.2,
                     batch_size=32, weights=None, steps=None):
    """Train ``model`` with SGD and ``clip`` (or None), recording the gradient norm of every step.

    Returns ``(history, summary)``: the history of :func:`companion.train` and a dict with the last
    epoch's training loss (its mean over the epoch) and validation loss, the share of steps clipped, the
    median, mean and largest gradient norms, the first step's loss and the mean loss of steps 6 to 10 (NaN for a run of fewer steps).
    """
    net = models.build(model, framework, seed=seed, weights=weights)
    history = train(net, data, epochs=epochs, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                    seed=seed, clip=clip, record_gradient_norm=True)
    norms, step_loss = np.asarray(history.attrs["step_gradient_norm"]), history.attrs["step_loss"]
    summary = {"framework": framework, "seed": seed, "clip": "none" if clip is None else f"{clip[0]} {clip[1]:g}",
               "loss": float(history["loss"].iloc[-1]), "val_loss": float(history["val_loss"].iloc[-1]),
               "clipped_share": float(np.mean(history.attrs.get("step_clipped", [False]))),
               "median_norm": float(np.median(norms)), "mean_norm": float(norms.mean()),
               "max_norm": float(norms.max()),
               "first_loss": float(step_loss[0]),
               "loss_after_10_steps": (float(np.mean(step_loss[5:10])) if len(step_loss) >= 10 else np.nan)}
    return history, summary



def nudged(weights, scale, seed):
    """``weights`` each multiplied by ``1 + scale * N(0, 1)``, drawn from ``seed``: the same start up to
    what a different CPU's round-off could make of it (``scale=1e-6`` is a few float32 ulps)."""
    rng = np.random.default_rng(seed)
    return [(w * (1 + scale * rng.standard_normal(w.shape))).astype(w.dtype) for w in weights]


def round_off_sweep(framework, data, seeds, thresholds, nudges=2, scale=1e-6, epochs=1,
                    model="exploding_tanh_mlp", **training):
    """The runs of :func:`threshold_sweep` again from initial weights :func:`nudged` by ``scale``,
    ``nudges`` times per seed (nudge 1, 2, ...; the sweep itself is nudge 0): whether a threshold's
    outcome is a property of the threshold or of the round-off. Returns a table like the sweep's with a
    ``nudge`` column."""
    import pandas as pd

    rows = []
    for seed in seeds:
        start = models.get_weights(models.build(model, framework, seed=seed))
        for nudge in range(1, nudges + 1):
            weights = nudged(start, scale, seed=1000 * seed + nudge)
            for threshold in thresholds:
                _, summary = clipped_training(framework, data, seed, ("global_norm", threshold), epochs,
                                              model=model, weights=weights, **training)
                rows.append({**summary, "threshold": float(threshold), "nudge": nudge})
    return pd.DataFrame(rows)

SEED_PROGRAM = dict(model="clipping_relu_mlp", learning_rate=0.01, batch_size=200)
SEED_PROGRAM_RUNS = (("tf1", ("value", 1.0)), ("keras", ("value", 1.0)), ("torch", ("value", 1.0)),
                     ("keras", ("norm", 1.0)), ("torch", None))


def seed_program(data, seeds, epochs):
    """The seed notes' TF1 program (the 5-layer ReLU net, SGD 0.01, batch 200, gradients clipped by value
    to [−1, 1]) and its twins: Keras ``clipvalue=1`` and ``clipnorm=1``, PyTorch ``clip_grad_value_(1)``
    and PyTorch without clipping. All the runs of a seed start from the TF1 model's initial weights.

    Returns ``(table, histories)``: one row per seed and run (the summary of :func:`clipped_training`
    and the final validation accuracy), and the histories keyed by ``(framework, clip, seed)``.
    """
    import pandas as pd

    rows, histories = [], {}
    for seed in seeds:
        with models.build(SEED_PROGRAM["model"], "tf1", seed=seed) as net:
            weights = models.get_weights(net)
        for framework, clip in SEED_PROGRAM_RUNS:
            history, summary = clipped_training(framework, data, seed, clip, epochs, weights=weights, **SEED_PROGRAM)
            summary["val_accuracy"] = float(history["val_accuracy"].iloc[-1])
            rows.append(summary)
            histories[framework, summary["clip"], seed] = history
    return pd.DataFrame(rows), histories


PASCANU_BAND = (0.5, 10.0)     # the heuristic: a threshold from half to ten times the average gradient norm


def threshold_sweep(framework, data, seeds, thresholds, epochs=1, **training):
    """The exploding tanh net trained without clipping and clipped to global norm ``c`` for each ``c`` in
    ``thresholds``, for each seed. Returns ``(table, histories)`` like :func:`seed_program`, with a
    ``threshold`` column (NaN for no clipping) and the histories keyed by ``(threshold, seed)``."""
    import pandas as pd

    rows, histories = [], {}
    for seed in seeds:
        for threshold in (None, *thresholds):
            clip = None if threshold is None else ("global_norm", threshold)
            history, summary = clipped_training(framework, data, seed, clip, epochs, **training)
            summary["threshold"] = np.nan if threshold is None else float(threshold)
            rows.append(summary)
            histories[threshold, seed] = history
    return pd.DataFrame(rows), histories
