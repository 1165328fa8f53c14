"""The GEMM-only ceiling of one W1 step in numpy (numpy's own OpenBLAS): the 8 products at batch 128, nothing else."""
import json, sys, time

import numpy as np

precision = sys.argv[1] if len(sys.argv) > 1 else "single"
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
dt = np.float32 if precision == "single" else np.float64
rng = np.random.default_rng(0)
sizes = [784, 256, 128, 10]
a = [rng.standard_normal((batch, s)).astype(dt) for s in sizes]
W = [rng.standard_normal((o, i)).astype(dt) for i, o in zip(sizes, sizes[1:])]
d = [rng.standard_normal((batch, s)).astype(dt) for s in sizes]

def step():
    for k in range(3):
        np.matmul(a[k], W[k].T, out=a[k + 1])
    for k in (2, 1, 0):
        g = d[k + 1].T @ a[k]
        if k > 0:
            np.matmul(d[k + 1], W[k], out=d[k])

for _ in range(20):
    step()
best = 0.0
for _ in range(5):
    steps = 200
    start = time.perf_counter()
    for _ in range(steps):
        step()
    best = max(best, steps * batch / (time.perf_counter() - start))
print(json.dumps({"precision": precision, "batch": batch, "ceiling_samples_per_second": best}))
