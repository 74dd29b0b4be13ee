"""Time one epoch of the same MLP with each companion trainer and with a bare loop in its framework.

    make bench            (or: python benchmarks/trainers.py --train-size 20000 --batch-size 32)

Prints, per framework, the seconds per epoch of ``companion.train`` and of a plain hand-written loop
doing the same updates, and their ratio (the trainer's overhead: progress bar, NaN check, history);
then the trainer's time over two floors measured in the same run: the FLOP bound (the epoch's
multiply-adds at the speed of a large float32 matmul) and the epoch's own matmuls run back to back.
Both run in this one process, one after the other, after a warm-up on a few batches each, so the
ratio is meaningful even on a busy machine; the absolute times are not. Each timed call includes its
own set-up (building the optimizer, Keras' compile and tracing), as a user's call would. Nothing here
is asserted.
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
    """The plainest Keras loop: ``compile`` and one ``fit`` epoch on the shuffled data."""
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
    t = seconds(lambda: [big @ big for _ in range(repeats)])
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
    floor = seconds(lambda: [one_batch() for _ in range(batches)])
    return epoch_flops(batches * batch_size, sizes) / peak_flops, floor


def seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-size", type=int, default=None, help="default: all 55,000")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    args = parser.parse_args()

    (X, y), _, _ = data.load_fashion_mnist(subset={"train": args.train_size, "valid": 10, "test": 10})
    X, y = X.copy(), y.copy()  # the loader returns read-only arrays
    order = np.random.default_rng(0).permutation(len(X))
    warm = ((X[:10 * args.batch_size], y[:10 * args.batch_size]),)
    print(f"one epoch of an MLP {28 * 28}-{'-'.join(map(str, HIDDEN))}-10, {len(X)} images, "
          f"batch {args.batch_size}, SGD")
    sizes = [28 * 28, *HIDDEN, 10]
    peak, floor = matmul_bounds(len(X), args.batch_size, sizes)
    print(f"FLOP bound {peak:.3f} s per epoch ({epoch_flops(len(X), sizes) / 1e9:.1f} GFLOP at the speed of "
          f"a 2048² matmul); the epoch's own matmuls alone {floor:.3f} s (PyTorch, this process)")
    print(f"{'framework':10}{'companion.train':>17}{'bare loop':>12}{'ratio':>8}{'/ FLOP bound':>14}"
          f"{'/ matmuls':>11}")
    for framework in models.FRAMEWORKS:
        options = dict(batch_size=args.batch_size, learning_rate=args.learning_rate, progress=False)
        mine = models.build("mlp", framework, seed=0, hidden=HIDDEN)
        companion.train(mine, warm, **options)
        t_mine = seconds(lambda: companion.train(mine, ((X, y),), **options))
        bare = models.build("mlp", framework, seed=0, hidden=HIDDEN)
        BARE[framework](bare, *warm[0], args.batch_size, args.learning_rate, np.arange(len(warm[0][0])))
        t_bare = seconds(lambda: BARE[framework](bare, X, y, args.batch_size, args.learning_rate, order))
        print(f"{framework:10}{t_mine:15.2f} s{t_bare:10.2f} s{t_mine / t_bare:8.2f}{t_mine / peak:14.1f}"
              f"{t_mine / floor:11.1f}")
    print("bare loop: session.run(train_op) (tf1), compile + one model.fit epoch (keras), "
          "zero_grad/backward/step (torch)")


if __name__ == "__main__":
    main()
