"""W1 in PyTorch on CPU, when torch is importable (it is a multi-GB install; bench/compare skips it otherwise).
--autocast trains as PyTorch's CPU mixed precision does: fp32 weights and SGD, bf16 products under torch.autocast."""
import time

import numpy as np
import torch
from common import arguments, load, report, rss_now

args = arguments()
x, y, tx, ty = load(args.dtype)
torch.manual_seed(args.seed)
dtype = torch.float32 if args.precision == "single" else torch.float64
X, Y, TX, TY = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(tx), torch.from_numpy(ty)
rss_after_load = rss_now()
model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(dtype)
optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
loss_fn = torch.nn.CrossEntropyLoss()
n = len(x) if args.samples == 0 else min(args.samples, len(x))
generator = torch.Generator().manual_seed(args.seed)
start = time.perf_counter()
for epoch in range(args.epochs):
    order = torch.randperm(len(x), generator=generator)[:n]
    for first in range(0, n, args.batch):
        rows = order[first:first + args.batch]
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
            loss = loss_fn(model(X[rows]), Y[rows])
        loss.backward()
        optimizer.step()
seconds = time.perf_counter() - start
with torch.no_grad():
    accuracy = float((model(TX).argmax(dim=1) == TY).double().mean())
report("pytorch-autocast-bf16" if args.autocast else "pytorch", args.precision, args.batch, args.epochs, n * args.epochs, seconds, accuracy, rss_after_load,
       {"torch": torch.__version__})
