"""The GEMM-only ceiling of one W1 step in PyTorch on CPU (its MKL): the 8 products at batch 128, nothing else.

Timed as bench/peers/gemm_ceiling.py times numpy's: one block of steps after a warm-up, a mean rate; every product
writes into a preallocated tensor.
"""
import json, sys, time

import torch

precision = sys.argv[1] if len(sys.argv) > 1 else "single"
batch = int(sys.argv[2]) if len(sys.argv) > 2 else 128
steps = int(sys.argv[3]) if len(sys.argv) > 3 else 400
dt = torch.float32 if precision == "single" else torch.float64
generator = torch.Generator().manual_seed(0)
sizes = [784, 256, 128, 10]
a = [torch.randn(batch, s, generator=generator, dtype=dt) for s in sizes]
W = [torch.randn(o, i, generator=generator, dtype=dt) for i, o in zip(sizes, sizes[1:])]
G = [torch.empty_like(w) for w in W]
d = [torch.randn(batch, s, generator=generator, dtype=dt) for s in sizes]


def step():
    for k in range(3):
        torch.matmul(a[k], W[k].T, out=a[k + 1])  # (B, out) = (B, in)·Wᵀ
    for k in (2, 1, 0):
        torch.matmul(d[k + 1].T, a[k], out=G[k])  # (out, in) = dzᵀ·a
        if k > 0:
            torch.matmul(d[k + 1], W[k], out=d[k])  # (B, in) = dz·W


with torch.no_grad():
    for _ in range(max(3, steps // 20)):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
print(json.dumps({"precision": precision, "batch": batch, "steps": steps, "threads": torch.get_num_threads(),
                  "ceiling_samples_per_second": steps * batch / seconds}))
