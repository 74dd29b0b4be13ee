"""What batch normalization costs per epoch, in PyTorch: the MLP without BN, with ``nn.BatchNorm1d``, and
with the course's ``BatchNorm1d`` (biased running variance, as Keras keeps it).

    make bench            (or: python benchmarks/batchnorm.py --train-size 20000 --batch-size 32)

The three networks (784-300-100-10 ReLU; BN on the input and after each activation) train one epoch
each by the same plain loop, in this one process, after a warm-up, three times in turn; the median
seconds per epoch and the ratios to the network without BN are printed. Nothing is asserted.
"""
import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from companion import data, models


def network(kind):
    """``"no BN"``, ``"nn.BatchNorm1d"`` or ``"course BatchNorm1d"``: the seed's MLP, He normal."""
    if kind == "no BN":
        return models.build("dying_relu_mlp", "torch")
    net = models.build("bn_after_mlp", "torch")
    if kind == "nn.BatchNorm1d":
        for i, module in enumerate(net):
            if isinstance(module, torch.nn.BatchNorm1d):
                plain = torch.nn.BatchNorm1d(module.num_features, eps=module.eps, momentum=module.momentum)
                net[i] = plain
    return net


def epoch(net, X, y, batch_size, order):
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-3)
    net.train()
    start = time.perf_counter()
    for first in range(0, len(X), batch_size):
        batch = torch.from_numpy(order[first:first + batch_size])
        optimizer.zero_grad()
        F.cross_entropy(net(X[batch]), y[batch]).backward()
        optimizer.step()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-size", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    (X, y), _, _ = data.load_fashion_mnist(subset=args.train_size)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    order = np.random.default_rng(0).permutation(len(X))
    kinds = ("no BN", "nn.BatchNorm1d", "course BatchNorm1d")
    nets = {kind: network(kind) for kind in kinds}
    for net in nets.values():                                   # warm-up
        epoch(net, X[:640], y[:640], args.batch_size, order[:640] % 640)
    seconds = {kind: [] for kind in kinds}
    for _ in range(args.repeats):
        for kind in kinds:
            seconds[kind].append(epoch(nets[kind], X, y, args.batch_size, order))
    base = statistics.median(seconds["no BN"])
    print(f"PyTorch, {len(X)} images, batch {args.batch_size}, {torch.get_num_threads()} threads; "
          f"median of {args.repeats} epochs")
    for kind in kinds:
        median = statistics.median(seconds[kind])
        print(f"  {kind:20s} {median:7.2f} s per epoch   {median / base:5.2f} x no BN")


if __name__ == "__main__":
    main()
