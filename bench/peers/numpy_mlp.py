"""W1 in numpy: MLP 784-256-128-10, ReLU, softmax cross-entropy, plain mini-batch SGD, shuffled each epoch.
--batch 1 --epochs 1 is the lecture's per-sample loop."""
import time

import numpy as np
from common import arguments, load, report, rss_now

args = arguments()
dt = args.dtype
x, y, tx, ty = load(dt)
rss_after_load = rss_now()
rng = np.random.default_rng(args.seed)
sizes = [784, 256, 128, 10]
W = [(rng.standard_normal((o, i)) * np.sqrt(2.0 / i)).astype(dt) for i, o in zip(sizes, sizes[1:])]
b = [np.zeros(o, dtype=dt) for o in sizes[1:]]
lr = dt(args.lr)
n = len(x) if args.samples == 0 else min(args.samples, len(x))
eye = np.eye(10, dtype=dt)

start = time.perf_counter()
for epoch in range(args.epochs):
    order = rng.permutation(len(x))[:n]
    for first in range(0, n, args.batch):
        rows = order[first:first + args.batch]
        a0 = x[rows]
        z1 = a0 @ W[0].T + b[0]; a1 = np.maximum(z1, 0)
        z2 = a1 @ W[1].T + b[1]; a2 = np.maximum(z2, 0)
        z3 = a2 @ W[2].T + b[2]
        z3 -= z3.max(axis=1, keepdims=True)
        p = np.exp(z3); p /= p.sum(axis=1, keepdims=True)
        d3 = (p - eye[y[rows]]) / dt(len(rows))
        d2 = (d3 @ W[2]) * (a2 > 0)
        d1 = (d2 @ W[1]) * (a1 > 0)
        W[2] -= lr * (d3.T @ a2); b[2] -= lr * d3.sum(axis=0)
        W[1] -= lr * (d2.T @ a1); b[1] -= lr * d2.sum(axis=0)
        W[0] -= lr * (d1.T @ a0); b[0] -= lr * d1.sum(axis=0)
seconds = time.perf_counter() - start

a = np.maximum(tx @ W[0].T + b[0], 0)
a = np.maximum(a @ W[1].T + b[1], 0)
accuracy = float(((a @ W[2].T + b[2]).argmax(axis=1) == ty).mean())
report("numpy", args.precision, args.batch, args.epochs, n * args.epochs, seconds, accuracy, rss_after_load)
