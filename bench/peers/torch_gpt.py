"""A GPT-2-shaped transformer trained in PyTorch on CPU, for bench/compare's transformer workload.

The model of a bench profile (LayerNorm ε 1e-5, tanh-approximated GELU, learned positions, tied embeddings, biases,
causal attention through F.scaled_dot_product_attention, as nanoGPT writes GPT-2), started from the same llm.c
checkpoint llm.c's trainer reads (bench/peers/gpt_data.py writes it; the padded rows V..Vp of wte are dropped), fp32,
trained with torch.optim.AdamW on llm.c-format tokens read as llm.c's loader reads them (B·T + 1 consecutive tokens,
advancing B·T). Eager by default; --compile wraps the model in torch.compile (its first steps compile).
--autocast trains as PyTorch's CPU mixed precision does (bench/mixed): fp32 weights and AdamW state, forward and loss
under torch.autocast("cpu", dtype=torch.bfloat16), so the products run in bf16 and the backward follows them.

Each step — zero_grad, forward, loss, backward, optimizer step — is timed alone (time.perf_counter). Prints one JSON
line: tokens/s over every step (memplan's count) and over the steps after --warmup (for --compile: after the
compiling steps), and RSS growth as memplan measures its own: VmHWM at the end − VmRSS once the model and tokens
are loaded, VmHWM reset there (/proc/self/clear_refs), so loading's own peak is not counted.

usage: torch_gpt.py --checkpoint model.bin --tokens train.bin --batch B --seq T --steps N [--lr …] [--weight-decay …]
                    [--beta1 …] [--beta2 …] [--eps …] [--warmup 2] [--compile] [--fused] [--autocast]
"""
import argparse, json, math, os, time

import numpy as np
import torch
import torch.nn.functional as F

from common import rss_now
from gpt_data import NAMES


def reset_peak():
    """VmHWM back to the current RSS, as memplan's ProcessMemory.resetPeak does."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def read_checkpoint(path):
    header = np.fromfile(path, dtype="<i4", count=256)
    assert header[0] == 20240326 and header[1] == 3, f"{path}: not an llm.c version-3 checkpoint"
    maxT, V, L, NH, C, Vp = (int(v) for v in header[2:8])
    shapes = [(Vp, C), (maxT, C), (L, C), (L, C), (L, 3 * C, C), (L, 3 * C), (L, C, C), (L, C),
              (L, C), (L, C), (L, 4 * C, C), (L, 4 * C), (L, C, 4 * C), (L, C), (C,), (C,)]
    flat = np.fromfile(path, dtype="<f4", offset=1024)
    params, offset = {}, 0
    for name, shape in zip(NAMES, shapes):
        size = int(np.prod(shape))
        params[name] = torch.from_numpy(flat[offset:offset + size].reshape(shape).copy())
        offset += size
    return dict(maxT=maxT, V=V, L=L, NH=NH, C=C, Vp=Vp), params


class Block(torch.nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln1, self.ln2 = torch.nn.LayerNorm(C, eps=1e-5), torch.nn.LayerNorm(C, eps=1e-5)
        self.qkv, self.attproj = torch.nn.Linear(C, 3 * C), torch.nn.Linear(C, C)
        self.fc, self.fcproj = torch.nn.Linear(C, 4 * C), torch.nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (a.view(B, T, self.NH, C // self.NH).transpose(1, 2) for a in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attproj(y)
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        V, C = cfg["V"], cfg["C"]
        self.wte, self.wpe = torch.nn.Embedding(V, C), torch.nn.Embedding(cfg["maxT"], C)
        self.blocks = torch.nn.ModuleList(Block(C, cfg["NH"]) for _ in range(cfg["L"]))
        self.lnf = torch.nn.LayerNorm(C, eps=1e-5)

    def forward(self, inputs, targets):
        T = inputs.shape[1]
        x = self.wte(inputs) + self.wpe(torch.arange(T))
        for block in self.blocks:
            x = block(x)
        logits = self.lnf(x) @ self.wte.weight.T  # tied embeddings: the head is wte
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))

    @torch.no_grad()
    def load(self, cfg, p):
        self.wte.weight.copy_(p["wte"][:cfg["V"]])
        self.wpe.weight.copy_(p["wpe"])
        for l, block in enumerate(self.blocks):
            for module, w, b in [(block.ln1, "ln1w", "ln1b"), (block.qkv, "qkvw", "qkvb"), (block.attproj, "attprojw", "attprojb"),
                                 (block.ln2, "ln2w", "ln2b"), (block.fc, "fcw", "fcb"), (block.fcproj, "fcprojw", "fcprojb")]:
                module.weight.copy_(p[w][l])
                module.bias.copy_(p[b][l])
        self.lnf.weight.copy_(p["lnfw"])
        self.lnf.bias.copy_(p["lnfb"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--tokens", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--beta1", type=float, default=0.9)
    parser.add_argument("--beta2", type=float, default=0.999)
    parser.add_argument("--eps", type=float, default=1e-8)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (default backend, inductor)")
    parser.add_argument("--fused", action="store_true", help="AdamW(fused=True) instead of PyTorch's default for CPU")
    parser.add_argument("--autocast", action="store_true",
                        help="CPU bf16 autocast around forward and loss (fp32 weights and AdamW state), as torch_mlp.py's --autocast")
    args = parser.parse_args()
    assert args.steps > args.warmup
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    torch.manual_seed(0)

    cfg, params = read_checkpoint(args.checkpoint)
    header = np.fromfile(args.tokens, dtype="<i4", count=256)
    assert header[0] == 20240520 and header[1] == 1, f"{args.tokens}: not an llm.c token file"
    stream = torch.from_numpy(np.fromfile(args.tokens, dtype="<u2", offset=1024, count=int(header[2])).astype(np.int64))
    model = GPT(cfg)
    model.load(cfg, params)
    del params
    model.train()
    step_model = torch.compile(model) if args.compile else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps,
                                  weight_decay=args.weight_decay, **({"fused": True} if args.fused else {}))
    reset_peak()
    rss_after_load = rss_now()

    B, T = args.batch, args.seq
    position, total, steady, first, losses = 0, 0.0, 0.0, 0.0, []
    for step in range(args.steps):
        started = time.perf_counter()
        if position + B * T + 1 > len(stream):
            position = 0
        window = stream[position:position + B * T + 1]
        position += B * T
        inputs, targets = window[:-1].view(B, T), window[1:].view(B, T)
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
            loss = step_model(inputs, targets)
        loss.backward()
        optimizer.step()
        value = loss.item()  # the step is done when its loss is known (eager CPU work is synchronous anyway)
        elapsed = time.perf_counter() - started
        total += elapsed
        if step >= args.warmup:
            steady += elapsed
        if step == 0:
            first = elapsed
        losses.append(value)
    assert all(math.isfinite(v) for v in losses), f"diverged: {losses}"
    loss_dtype = str(loss.dtype).removeprefix("torch.")  # under --autocast: the dtype cross_entropy returned
    peak = status_bytes("VmHWM")
    print(json.dumps({
        "peer": ("pytorch-compile" if args.compile else "pytorch") + ("-autocast-bf16" if args.autocast else ""),
        "torch": torch.__version__, "batch": B, "seq": T,
        "steps": args.steps, "warmup_steps": args.warmup, "threads": torch.get_num_threads(),
        "vocabulary": cfg["V"], "parameters": sum(p.numel() for p in model.parameters()),
        "tokens_per_second": args.steps * B * T / total, "steady_tokens_per_second": (args.steps - args.warmup) * B * T / steady,
        "first_step_seconds": first, "training_seconds": total, "first_loss": losses[0], "last_loss": losses[-1],
        "rss_after_load_bytes": rss_after_load, "peak_rss_bytes": peak, "rss_growth_bytes": max(0, peak - rss_after_load),
        "fused_adamw": args.fused, "autocast": args.autocast, "loss_dtype": loss_dtype, "mean_loss": sum(losses) / len(losses),
    }))


if __name__ == "__main__":
    main()
