"""Time one epoch of the same MLP with each companion trainer and with a bare loop in its framework.

    make bench            (or: python benchmarks/trainers.py --train-size 20000 --batch-size 64)

Prints, per framework, the seconds per epoch of ``companion.train`` and of a plain hand-written loop
doing the same updates, and their ratio (the trainer's overhead: progress bar, NaN check, history).
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
    print(f"{'framework':10}{'companion.train':>17}{'bare loop':>12}{'ratio':>8}")
    for framework in models.FRAMEWORKS:
        options = dict(batch_size=args.batch_size, learning_rate=args.learning_rate, progress=False)
        mine = models.build("mlp", framework, seed=0, hidden=HIDDEN)
        companion.train(mine, warm, **options)
        t_mine = seconds(lambda: companion.train(mine, ((X, y),), **options))
        bare = models.build("mlp", framework, seed=0, hidden=HIDDEN)
        BARE[framework](bare, *warm[0], args.batch_size, args.learning_rate, np.arange(len(warm[0][0])))
        t_bare = seconds(lambda: BARE[framework](bare, X, y, args.batch_size, args.learning_rate, order))
        print(f"{framework:10}{t_mine:15.2f} s{t_bare:10.2f} s{t_mine / t_bare:8.2f}")


if __name__ == "__main__":
    main()
