"""Time one epoch of the same MLP with each companion trainer and with a bare loop in its framework.

    make bench            (or: python benchmarks/trainers.py --train-size 20000 --batch-size 32 128)

Prints, for batches of 32 and 128: per framework, the seconds per epoch of ``companion.train`` and of
a plain hand-written loop doing the same updates, and their ratio (the trainer's overhead: progress
bar, NaN check, history); for Keras also its own ``fit`` over the same batches, and how much faster the
course's Keras step is; then each trainer's time over two floors measured in the same run: the FLOP
bound (the epoch's multiply-adds at the speed of a large float32 matmul on the threads PyTorch uses)
and the epoch's own matmuls run back to back. Everything runs in this one process, one after the
other, each on a fresh model after a warm-up on another, so the ratios are meaningful even on a busy
machine; the absolute times are not. Each time is the best of ``--repeats`` runs (3), and the runs of
the trainer, its bare loop and ``fit`` alternate, so a stretch when the machine is slow (a shared
virtual machine's cores can halve their speed for minutes) slows all of them or none; the table's last
line gives the largest spread (slowest run over fastest) seen. Each timed call includes its own set-up
(building the optimizer, Keras' compile and tracing), as a user's call would. Nothing here is asserted.
"""
import argparse
import time

import numpy as np

import companion
from companion import data, models

HIDDEN = (300, 100)


def bare_tf1(model, X, y, batch_size, learning_rate, order):
    """The plainest TF1 loop: one ``session.run(train_op, feed_dict)`` per batch."""
    import tensorflow as tf
    with model.graph.as_default():
        train_op = tf.compat.v1.train.GradientDescentOptimizer(learning_rate).minimize(model.loss)
    for first in range(0, len(X), batch_size):
        batch = order[first:first + batch_size]
        model.session.run(train_op, {model.X: X[batch], model.y: y[batch], model.training: True})


def bare_keras(model, X, y, batch_size, learning_rate, order):
    """The plainest custom Keras loop, as Keras' guides write it: a ``tf.function`` step of
    ``GradientTape`` and ``apply_gradients``, called once per batch."""
    import keras
    import tensorflow as tf
    optimizer = keras.optimizers.SGD(learning_rate)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(images, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(images, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))

    for first in range(0, len(X), batch_size):
        batch = order[first:first + batch_size]
        step(X[batch], y[batch])


def keras_fit(model, X, y, batch_size, learning_rate, order):
    """Keras' own loop: ``compile`` and one ``fit`` epoch on the shuffled data."""
    import keras
    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X[order], y[order], batch_size=batch_size, epochs=1, shuffle=False, verbose=0)


def bare_torch(model, X, y, batch_size, learning_rate, order):
    """The plainest PyTorch loop: zero_grad, forward, backward, step."""
    import torch
    import torch.nn.functional as F
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    model.train()
    for first in range(0, len(X), batch_size):
        batch = torch.from_numpy(order[first:first + batch_size])
        optimizer.zero_grad()
        F.cross_entropy(model(Xt[batch]), yt[batch]).backward()
        optimizer.step()


BARE = {"tf1": bare_tf1, "keras": bare_keras, "torch": bare_torch}


def epoch_flops(n_images, sizes):
    """Multiply-add FLOPs of one SGD epoch of an MLP: forward, weight gradients, input gradients."""
    pairs = list(zip(sizes[:-1], sizes[1:]))
    forward = sum(2 * a * b for a, b in pairs)
    backward = 2 * forward - 2 * sizes[0] * sizes[1]       # no gradient for the images themselves
    return n_images * (forward + backward)


def matmul_bounds(n_images, batch_size, sizes):
    """``(peak_seconds, floor_seconds)`` of one epoch, measured now with PyTorch's float32 matmul.

    ``peak``: the epoch's FLOPs at the speed of a large square matmul (what the cores can do);
    ``floor``: the epoch's own matmuls (forward, weight and input gradients, at this batch size) run
    back to back without anything else: no framework can train faster than that on this machine.
    """
    import torch
    big = torch.randn(2048, 2048)
    big @ big
    repeats = 10
    t = min(seconds(lambda: [big @ big for _ in range(repeats)]) for _ in range(3))
    peak_flops = repeats * 2 * 2048 ** 3 / t
    weights = [torch.randn(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    x = [torch.randn(batch_size, a) for a in sizes]

    def one_batch():
        for k, w in enumerate(weights):
            x[k] @ w                                       # forward
            x[k].T @ x[k + 1]                              # dL/dW
            if k:
                x[k + 1] @ w.T                             # dL/dx
    one_batch()
    batches = n_images // batch_size
    floor = min(seconds(lambda: [one_batch() for _ in range(batches)]) for _ in range(3))
    return epoch_flops(batches * batch_size, sizes) / peak_flops, floor


def seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def timed(loop, framework, X, y, batch_size, learning_rate, order, warm):
    """Seconds of one epoch of ``loop`` on a fresh model, after a warm-up call on another fresh model."""
    model = models.build("mlp", framework, seed=0, hidden=HIDDEN)
    loop(model, *warm, batch_size, learning_rate, np.arange(len(warm[0])))
    model = models.build("mlp", framework, seed=0, hidden=HIDDEN)
    return seconds(lambda: loop(model, X, y, batch_size, learning_rate, order))


def companion_loop(model, X, y, batch_size, learning_rate, order):
    companion.train(model, ((X, y),), batch_size=batch_size, learning_rate=learning_rate, progress=False)


def best_of(repeats, loops, *args):
    """Per loop, the fastest of ``repeats`` timed runs, the loops' runs alternating; and the largest
    spread (slowest over fastest run) among them."""
    runs = {name: [] for name in loops}
    for _ in range(repeats):
        for name, loop in loops.items():
            runs[name].append(timed(loop, *args))
    return {name: min(t) for name, t in runs.items()}, max(max(t) / min(t) for t in runs.values())


def table(X, y, batch_size, learning_rate, order, repeats):
    """The table of one batch size: each trainer, its bare loop, Keras' fit, and the floors."""
    import torch
    sizes = [28 * 28, *HIDDEN, 10]
    peak, floor = matmul_bounds(len(X), batch_size, sizes)
    print(f"\nbatch {batch_size}: FLOP bound {peak:.3f} s per epoch ({epoch_flops(len(X), sizes) / 1e9:.1f} GFLOP at "
          f"the speed of a 2048² matmul on {torch.get_num_threads()} threads); the epoch's own matmuls alone "
          f"{floor:.3f} s")
    print(f"{'framework':10}{'companion.train':>17}{'bare loop':>12}{'ratio':>8}{'Keras fit':>12}{'fit / train':>13}"
          f"{'/ FLOP bound':>14}{'/ matmuls':>11}")
    warm = (X[:10 * batch_size], y[:10 * batch_size])
    fastest, spread = float("inf"), 1.0
    for framework in models.FRAMEWORKS:
        loops = {"mine": companion_loop, "bare": BARE[framework]}
        if framework == "keras":
            loops["fit"] = keras_fit
        t, s = best_of(repeats, loops, framework, X, y, batch_size, learning_rate, order, warm)
        spread = max(spread, s)
        fit = f"{t['fit']:10.2f} s{t['fit'] / t['mine']:13.2f}" if "fit" in t else " " * 25
        fastest = min(fastest, t["mine"])
        print(f"{framework:10}{t['mine']:15.2f} s{t['bare']:10.2f} s{t['mine'] / t['bare']:8.2f}{fit}"
              f"{t['mine'] / peak:14.1f}{t['mine'] / floor:11.1f}")
    print(f"fastest companion.train: {fastest / peak:.1f} times the FLOP bound, {fastest / floor:.1f} times the "
          f"epoch's own matmuls; best of {repeats} runs each, largest spread {spread:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-size", type=int, default=None, help="default: all 55,000")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each loop; the best counts")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")

    (X, y), _, _ = data.load_fashion_mnist(subset={"train": args.train_size, "valid": 10, "test": 10})
    X, y = X.copy(), y.copy()  # the loader returns read-only arrays
    order = np.random.default_rng(0).permutation(len(X))
    print(f"one epoch of an MLP {28 * 28}-{'-'.join(map(str, HIDDEN))}-10, {len(X)} images, SGD")
    for batch_size in args.batch_size:
        table(X, y, batch_size, args.learning_rate, order, args.repeats)
    print("\nbare loop: session.run(train_op) (tf1), a tf.function step of GradientTape + apply_gradients (keras), "
          "zero_grad/backward/step (torch); Keras fit: compile + one model.fit epoch")


if __name__ == "__main__":
    main()
