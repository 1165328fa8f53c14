"""GPT-2 forward and backward in numpy, independent of memplan's Swift kernels: the reference the tiny GPT-2 of
Tests/MLPTrainerTests/TransformerModelTests.swift is compared against.

Reads an llm.c checkpoint (train_gpt2.c's format, version 3: 256 little-endian int32 header = magic 20240326,
version 3, maxT, V, L, NH, C, Vp, then the fp32 parameters wte, wpe, ln1w, ln1b, qkvw, qkvb, attprojw, attprojb,
ln2w, ln2b, fcw, fcb, fcprojw, fcprojb, lnfw, lnfb) and a token file, runs one forward and backward, and writes the
mean loss and every parameter gradient.

Token file: B*T + 1 little-endian int32 tokens, one batch as llm.c's data loader reads it:
inputs = tokens[0 : B*T], targets = tokens[1 : B*T + 1], each reshaped (B, T).

Output (--out): little-endian float64, 1 + P values: the mean loss over the B*T positions, then the gradient of the
mean loss for every parameter in the checkpoint's order (P = the checkpoint's parameter count; wte's padded rows
V..Vp get no gradient from the head and 0 overall). With --dtype float32 everything is computed in float32 and the
results are widened exactly.

With --targets, the token file holds the B*T inputs and the targets file the B*T targets (a batch of windows taken
from anywhere in a text, as memplan's trainer gathers them).

usage: python3 numpy_gpt.py --checkpoint model.bin --tokens tokens.bin --batch B --seq T --out grads.bin
                            [--targets targets.bin] [--dtype float32|float64]
"""
import argparse
import math
import sys

import numpy as np

NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
GELU_K = math.sqrt(2.0 / math.pi)  # Python floats: NumPy 2 keeps float32 arrays float32 with them
EPS = 1e-5


def read_checkpoint(path, dtype):
    raw = np.fromfile(path, dtype="<i4", count=256)
    if raw.size < 256:
        sys.exit(f"{path}: shorter than the 1024-byte header")
    magic, version, maxT, V, L, NH, C, Vp = (int(v) for v in raw[:8])
    if magic != 20240326 or version != 3:
        sys.exit(f"{path}: magic {magic} version {version}, expected 20240326 version 3")
    shapes = [(Vp, C), (maxT, C), (L, C), (L, C), (L, 3 * C, C), (L, 3 * C), (L, C, C), (L, C),
              (L, C), (L, C), (L, 4 * C, C), (L, 4 * C), (L, C, 4 * C), (L, C), (C,), (C,)]
    flat = np.fromfile(path, dtype="<f4", offset=1024)
    count = sum(int(np.prod(s)) for s in shapes)
    if flat.size != count:
        sys.exit(f"{path}: {flat.size} parameters after the header, expected {count}")
    params, offset = {}, 0
    for name, shape in zip(NAMES, shapes):
        size = int(np.prod(shape))
        params[name] = flat[offset:offset + size].reshape(shape).astype(dtype)
        offset += size
    return dict(maxT=maxT, V=V, L=L, NH=NH, C=C, Vp=Vp), params


def layernorm(x, w, b):
    mu = x.mean(-1, keepdims=True)
    xc = x - mu
    rstd = 1.0 / np.sqrt((xc * xc).mean(-1, keepdims=True) + EPS)
    xhat = xc * rstd
    return xhat * w + b, (xhat, rstd, w)


def layernorm_back(dy, cache):
    xhat, rstd, w = cache
    g = dy * w
    dx = (g - g.mean(-1, keepdims=True) - xhat * (g * xhat).mean(-1, keepdims=True)) * rstd
    return dx, (dy * xhat).sum((0, 1)), dy.sum((0, 1))


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(GELU_K * (x + 0.044715 * x ** 3)))


def gelu_back(dy, x):
    th = np.tanh(GELU_K * (x + 0.044715 * x ** 3))
    return dy * (0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * GELU_K * (1.0 + 3 * 0.044715 * x * x))


def attention(qkv, NH):
    B, T, C3 = qkv.shape
    C = C3 // 3
    hs = C // NH
    q, k, v = (a.reshape(B, T, NH, hs).transpose(0, 2, 1, 3) for a in np.split(qkv, 3, axis=-1))
    scores = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(hs)
    future = np.triu(np.ones((T, T), dtype=bool), 1)
    scores = np.where(future, -np.inf, scores)
    scores = scores - scores.max(-1, keepdims=True)
    att = np.exp(scores)
    att /= att.sum(-1, keepdims=True)
    y = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, C)
    return y, (q, k, v, att)


def attention_back(dy, cache):
    q, k, v, att = cache
    B, NH, T, hs = q.shape
    dy = dy.reshape(B, T, NH, hs).transpose(0, 2, 1, 3)
    datt = dy @ v.transpose(0, 1, 3, 2)
    dv = att.transpose(0, 1, 3, 2) @ dy
    dscores = att * (datt - (att * datt).sum(-1, keepdims=True)) / math.sqrt(hs)
    dq = dscores @ k
    dk = dscores.transpose(0, 1, 3, 2) @ q
    return np.concatenate([a.transpose(0, 2, 1, 3).reshape(B, T, NH * hs) for a in (dq, dk, dv)], axis=-1)


def step(cfg, p, inputs, targets):
    """The mean loss and the gradient of every parameter, as a dict of arrays shaped like p."""
    B, T = inputs.shape
    L, NH, V = cfg["L"], cfg["NH"], cfg["V"]
    g = {name: np.zeros_like(value) for name, value in p.items()}
    x = p["wte"][inputs] + p["wpe"][:T]
    caches = []
    for l in range(L):
        h1, ln1 = layernorm(x, p["ln1w"][l], p["ln1b"][l])
        qkv = h1 @ p["qkvw"][l].T + p["qkvb"][l]
        y, att = attention(qkv, NH)
        x2 = x + y @ p["attprojw"][l].T + p["attprojb"][l]
        h2, ln2 = layernorm(x2, p["ln2w"][l], p["ln2b"][l])
        pre = h2 @ p["fcw"][l].T + p["fcb"][l]
        act = gelu(pre)
        x3 = x2 + act @ p["fcprojw"][l].T + p["fcprojb"][l]
        caches.append((h1, ln1, y, att, h2, ln2, pre, act))
        x = x3
    hf, lnf = layernorm(x, p["lnfw"], p["lnfb"])
    logits = hf @ p["wte"][:V].T                       # only the real vocabulary: the padded columns are ignored
    logits = logits - logits.max(-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(-1, keepdims=True)
    n = B * T
    picked = np.take_along_axis(probs, targets[..., None], -1)[..., 0]
    loss = -np.log(picked).mean()

    dlogits = probs.copy()
    np.put_along_axis(dlogits, targets[..., None], np.take_along_axis(dlogits, targets[..., None], -1) - 1, -1)
    dlogits /= n
    g["wte"][:V] += np.einsum("btv,btc->vc", dlogits, hf)
    dx, g["lnfw"], g["lnfb"] = layernorm_back(dlogits @ p["wte"][:V], lnf)
    for l in reversed(range(L)):
        h1, ln1, y, att, h2, ln2, pre, act = caches[l]
        # x3 = x2 + fcproj(gelu(fc(ln2(x2))))
        g["fcprojw"][l] = np.einsum("bto,bti->oi", dx, act)
        g["fcprojb"][l] = dx.sum((0, 1))
        dpre = gelu_back(dx @ p["fcprojw"][l], pre)
        g["fcw"][l] = np.einsum("bto,bti->oi", dpre, h2)
        g["fcb"][l] = dpre.sum((0, 1))
        dh2, g["ln2w"][l], g["ln2b"][l] = layernorm_back(dpre @ p["fcw"][l], ln2)
        dx = dx + dh2
        # x2 = x + attproj(attention(qkv(ln1(x))))
        g["attprojw"][l] = np.einsum("bto,bti->oi", dx, y)
        g["attprojb"][l] = dx.sum((0, 1))
        dqkv = attention_back(dx @ p["attprojw"][l], att)
        g["qkvw"][l] = np.einsum("bto,bti->oi", dqkv, h1)
        g["qkvb"][l] = dqkv.sum((0, 1))
        dh1, g["ln1w"][l], g["ln1b"][l] = layernorm_back(dqkv @ p["qkvw"][l], ln1)
        dx = dx + dh1
    # the forward's loss and the backward's residual gradient pass through every layer: neither may have widened
    assert loss.dtype == dx.dtype == p["wte"].dtype, f"computed in {loss.dtype}/{dx.dtype}, not {p['wte'].dtype}"
    np.add.at(g["wte"], inputs, dx)
    g["wpe"][:T] += dx.sum(0)
    return loss, g


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--targets", help="B*T int32 targets; then --tokens holds exactly the B*T inputs")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    cfg, params = read_checkpoint(args.checkpoint, dtype)
    B, T = args.batch, args.seq
    if T > cfg["maxT"]:
        sys.exit(f"--seq {T} exceeds the checkpoint's maxT {cfg['maxT']}")
    tokens = np.fromfile(args.tokens, dtype="<i4")
    expected = B * T if args.targets else B * T + 1
    if tokens.size != expected:
        sys.exit(f"{args.tokens}: {tokens.size} tokens, expected {'B*T' if args.targets else 'B*T + 1'} = {expected}")
    if args.targets:
        target_tokens = np.fromfile(args.targets, dtype="<i4")
        if target_tokens.size != B * T:
            sys.exit(f"{args.targets}: {target_tokens.size} targets, expected B*T = {B * T}")
        inputs, targets = tokens.reshape(B, T), target_tokens.reshape(B, T)
    else:
        inputs, targets = tokens[:-1].reshape(B, T), tokens[1:].reshape(B, T)
    for name, values in (("tokens", inputs), ("targets", targets)):
        if values.min() < 0 or values.max() >= cfg["V"]:
            sys.exit(f"{name}: outside 0..{cfg['V'] - 1}")
    inputs, targets = inputs.astype(np.int64), targets.astype(np.int64)
    loss, grads = step(cfg, params, inputs, targets)
    out = np.concatenate([[np.float64(loss)]] + [grads[name].astype(np.float64).ravel() for name in NAMES])
    out.astype("<f8").tofile(args.out)
    print(f"numpy_gpt: loss {float(loss):.6f} over B={B} T={T}, {out.size - 1} gradients in {args.dtype} -> {args.out}")


if __name__ == "__main__":
    main()
