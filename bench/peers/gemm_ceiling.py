"""The GEMM-only ceiling of one W1 step in numpy (numpy's own OpenBLAS): the 8 products at batch 128, nothing else.

Timed like every other figure in bench/compare: one block of steps after a warm-up, samples divided by the block's
wall time (a mean rate, as memplan's `ceiling` and every trainer report it; the best of several short blocks would
pick the host's fastest moment and overstate the ceiling). Every product writes into a preallocated array, so
numpy's allocator is not part of it.
"""
import json, sys, time

import numpy as np

precision = sys.argv[1] if len(sys.argv) > 1 else "single"
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 400
dt = np.float32 if precision == "single" else np.float64
rng = np.random.default_rng(0)
sizes = [784, 256, 128, 10]
a = [rng.standard_normal((batch, s)).astype(dt) for s in sizes]
W = [rng.standard_normal((o, i)).astype(dt) for i, o in zip(sizes, sizes[1:])]
G = [np.empty_like(w) for w in W]
d = [rng.standard_normal((batch, s)).astype(dt) for s in sizes]


def step():
    for k in range(3):
        np.matmul(a[k], W[k].T, out=a[k + 1])  # (B, out) = (B, in)·Wᵀ
    for k in (2, 1, 0):
        np.matmul(d[k + 1].T, a[k], out=G[k])  # (out, in) = dzᵀ·a
        if k > 0:
            np.matmul(d[k + 1], W[k], out=d[k])  # (B, in) = dz·W


for _ in range(max(3, steps // 20)):
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
seconds = time.perf_counter() - start
print(json.dumps({"precision": precision, "batch": batch, "steps": steps, "ceiling_samples_per_second": steps * batch / seconds}))
