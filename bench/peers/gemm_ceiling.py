"""The GEMM-only ceiling of one W1 step in numpy (its OpenBLAS) or PyTorch on CPU (its MKL): the 8 products at
batch 128, nothing else.

Timed like every other figure in bench/compare: one block of steps after a warm-up, samples divided by the block's
wall time (a mean rate, as memplan's `ceiling` and every trainer report it; the best of several short blocks would
pick the host's fastest moment and overstate the ceiling). Every product writes into a preallocated array, so
neither library's allocator is part of it.

Usage: gemm_ceiling.py [single|double] [batch] [steps] [numpy|torch]
"""
import json, sys, time

precision = sys.argv[1] if len(sys.argv) > 1 else "single"
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 400
library = sys.argv[4] if len(sys.argv) > 4 else "numpy"
sizes = [784, 256, 128, 10]

if library == "torch":
    import torch
    torch.set_grad_enabled(False)
    dt = torch.float32 if precision == "single" else torch.float64
    generator = torch.Generator().manual_seed(0)
    matrix = lambda rows, columns: torch.randn(rows, columns, generator=generator, dtype=dt)
    matmul = torch.matmul
else:
    import numpy as np
    dt = np.float32 if precision == "single" else np.float64
    rng = np.random.default_rng(0)
    matrix = lambda rows, columns: rng.standard_normal((rows, columns)).astype(dt)
    matmul = np.matmul

a = [matrix(batch, s) for s in sizes]
W = [matrix(o, i) for i, o in zip(sizes, sizes[1:])]
G = [matrix(o, i) for i, o in zip(sizes, sizes[1:])]
d = [matrix(batch, s) for s in sizes]


def step():
    for k in range(3):
        matmul(a[k], W[k].T, out=a[k + 1])  # (B, out) = (B, in)·Wᵀ
    for k in (2, 1, 0):
        matmul(d[k + 1].T, a[k], out=G[k])  # (out, in) = dzᵀ·a
        if k > 0:
            matmul(d[k + 1], W[k], out=d[k])  # (B, in) = dz·W


for _ in range(max(3, steps // 20)):
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
seconds = time.perf_counter() - start
print(json.dumps({"precision": precision, "batch": batch, "steps": steps, "library": library,
                  "ceiling_samples_per_second": steps * batch / seconds}))
