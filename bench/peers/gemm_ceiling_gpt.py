"""The GEMM-only ceiling of one GPT-2 training step: the step's matrix products at their real shapes, nothing else,
in numpy (its OpenBLAS) or PyTorch (its MKL/oneDNN), as tokens per second.

Per block, forward: qkv (B·T×C · C×3C), attention scores Q·Kᵀ and A·V for each of the B·NH heads (full T×T, no
causal saving), attproj (C×C), fc (C×4C), fcproj (4C×C); the head (B·T×C · C×V, tied to wte). Backward: two products
per linear (dX = dY·W, dW = dYᵀ·X, the head's included) and four per head of attention (dA = dY·Vᵀ, dV = Aᵀ·dY,
dQ = dS·K, dK = dSᵀ·Q). 2·m·n·k flops each; the JSON says how many a step has. No layer norm, GELU, softmax,
embedding, loss or optimizer: what a trainer spends on those is what separates it from this ceiling.

Timed as gemm_ceiling.py times W1's: one block of steps after a warm-up, tokens divided by the block's wall time;
every product writes into a preallocated array.

usage: gemm_ceiling_gpt.py --batch B --seq T --layers L --heads NH --hidden C --vocabulary V [--steps 20] [numpy|torch]
"""
import argparse, json, time

parser = argparse.ArgumentParser()
for name in ["batch", "seq", "layers", "heads", "hidden", "vocabulary"]:
    parser.add_argument("--" + name, type=int, required=True)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("library", nargs="?", default="numpy", choices=["numpy", "torch"])
args = parser.parse_args()
B, T, L, NH, C, V = args.batch, args.seq, args.layers, args.heads, args.hidden, args.vocabulary
N, hs = B * T, C // NH

if args.library == "torch":
    import os
    import torch
    torch.set_grad_enabled(False)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    generator = torch.Generator().manual_seed(0)
    array = lambda *shape: torch.randn(*shape, generator=generator, dtype=torch.float32)
    matmul = torch.matmul
    T_ = lambda a: a.transpose(-1, -2)
else:
    import numpy as np
    rng = np.random.default_rng(0)
    array = lambda *shape: rng.standard_normal(shape, dtype=np.float32)
    matmul = np.matmul
    T_ = lambda a: a.swapaxes(-1, -2)

# (out features, in features) of the four linears of a block; their weights and gradients, one set reused by every
# block (the same shapes; a trainer's weights differ per block, which only costs cache, not flops).
linears = [(3 * C, C), (C, C), (4 * C, C), (C, 4 * C)]
W = [array(o, i) for o, i in linears]
dW = [array(o, i) for o, i in linears]
X = [array(N, i) for _, i in linears]
Y = [array(N, o) for o, _ in linears]
dX = [array(N, i) for _, i in linears]
q, k, v, dy = (array(B * NH, T, hs) for _ in range(4))
scores, dscores = array(B * NH, T, T), array(B * NH, T, T)
attended, dq, dk, dv = (array(B * NH, T, hs) for _ in range(4))
wte, dwte = array(V, C), array(V, C)
hidden, dhidden, logits = array(N, C), array(N, C), array(N, V)


def step():
    for _ in range(L):
        for j in range(4):
            matmul(X[j], T_(W[j]), out=Y[j])
            if j == 0:
                matmul(q, T_(k), out=scores)
                matmul(scores, v, out=attended)
    matmul(hidden, T_(wte), out=logits)
    matmul(logits, wte, out=dhidden)
    matmul(T_(logits), hidden, out=dwte)
    for _ in range(L):
        for j in (3, 2, 1, 0):
            matmul(Y[j], W[j], out=dX[j])
            matmul(T_(Y[j]), X[j], out=dW[j])
            if j == 1:
                matmul(dy, T_(v), out=dscores)
                matmul(T_(scores), dy, out=dv)
                matmul(dscores, k, out=dq)
                matmul(T_(dscores), q, out=dk)


flops = 2 * (L * 3 * sum(N * o * i for o, i in linears) + 3 * N * V * C + L * 6 * B * NH * T * T * hs)
for _ in range(max(2, args.steps // 10)):
    step()
start = time.perf_counter()
for _ in range(args.steps):
    step()
seconds = time.perf_counter() - start
print(json.dumps({"library": args.library, "batch": B, "seq": T, "steps": args.steps, "flops_per_step": flops,
                  "gflops_per_second": flops * args.steps / seconds / 1e9,
                  "ceiling_tokens_per_second": args.steps * N / seconds}))
