"""What the transformer peers of bench/compare train on, made the way memplan makes it.

- The token stream of a profile's `data: {source: synthetic, count: N, seed: S}`: memplan's Markov chain
  (Sources/TrainingData/TextLoader.swift) regenerated bit for bit with SplitMix64: min(vocabulary, 16) symbols, each
  followed by one of three successors drawn at the start (the first twice as likely). The last max(1, N // 10)
  tokens are held out, as memplan holds them out; the peers train on the first N − that.
- Random initial weights in llm.c's checkpoint format (version 3, fp32; train_gpt2.c's `gpt2_build_from_checkpoint`,
  memplan's GPT2Checkpoint.swift): GPT-2's initialization as memplan's TransformerTrainer does it — every matrix
  N(0, 0.02), the two residual projections (attprojw, fcprojw) N(0, 0.02/√(2L)), LayerNorm gains 1, biases 0.
- Tokens in llm.c's data format (256 int32 header: magic 20240520, version 1, count; then uint16 tokens).

usage: gpt_data.py PROFILE.yaml OUT_DIR   writes OUT_DIR/model.bin and OUT_DIR/train.bin, prints the config as JSON
"""
import json, os, sys

import numpy as np

MASK = (1 << 64) - 1
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


def markov_tokens(count, seed, vocabulary):
    """memplan's synthetic stream: (train tokens, validation tokens) as uint16 arrays."""
    generator = SplitMix64(seed)
    symbols = min(vocabulary, 16)
    successors = [[generator.next() % symbols for _ in range(3)] for _ in range(symbols)]
    out = np.empty(count, dtype=np.uint16)
    current = 0
    for position in range(count):
        out[position] = current
        draw = generator.next() % 4
        current = successors[current][0 if draw < 2 else draw - 1]
    held_out = max(1, count // 10)
    return out[:count - held_out], out[count - held_out:]


def padded(vocabulary):
    """llm.c's Vp: the vocabulary rounded up to a multiple of 128 (50,257 → 50,304)."""
    return (vocabulary + 127) // 128 * 128


def config(profile):
    """The model, batch and optimizer of a bench profile (a dict read from its YAML)."""
    optimizer = profile.get("optimizer", {})
    data = profile["data"]
    return {
        "vocabulary": int(profile["vocabulary"]), "padded_vocabulary": padded(int(profile["vocabulary"])),
        "context": int(profile["context"]), "layers": int(profile["layers"]), "heads": int(profile["heads"]),
        "hidden": int(profile["hidden"]), "batch": int(profile["batch"]), "seq": int(profile.get("sequence", profile["context"])),
        "lr": float(optimizer.get("learning_rate", 3e-4)), "weight_decay": float(optimizer.get("weight_decay", 0.01)),
        "beta1": float(optimizer.get("beta1", 0.9)), "beta2": float(optimizer.get("beta2", 0.999)),
        "eps": float(optimizer.get("epsilon", 1e-8)), "count": int(data["count"]), "data_seed": int(data.get("seed", 1)),
        "seed": int(profile.get("seed", 42)),
    } | {"steps": steps(profile)}


def steps(profile):
    """memplan's steps in one epoch: (train tokens − 1) // T windows, taken B at a time."""
    count, T = int(profile["data"]["count"]), int(profile.get("sequence", profile["context"]))
    train = count - max(1, count // 10)
    return (train - 1) // T // int(profile["batch"]) * int(profile.get("epochs", 1))


def shapes(c):
    Vp, maxT, L, C = c["padded_vocabulary"], c["context"], c["layers"], c["hidden"]
    return [(Vp, C), (maxT, C), (L, C), (L, C), (L, 3 * C, C), (L, 3 * C), (L, C, C), (L, C),
            (L, C), (L, C), (L, 4 * C, C), (L, 4 * C), (L, C, 4 * C), (L, C), (C,), (C,)]


def initial_parameters(c):
    """{name: float32 array} in llm.c's shapes, GPT-2's initialization; wte's padded rows are random too (llm.c
    never reads them into a loss)."""
    rng = np.random.default_rng(c["seed"])
    residual = 0.02 / np.sqrt(2 * c["layers"])
    params = {}
    for name, shape in zip(NAMES, shapes(c)):
        if name in ("ln1w", "ln2w", "lnfw"):
            params[name] = np.ones(shape, dtype=np.float32)
        elif len(shape) >= 2 and name not in ("ln1b", "ln2b", "qkvb", "attprojb", "fcb", "fcprojb"):
            deviation = residual if name in ("attprojw", "fcprojw") else 0.02
            params[name] = (rng.standard_normal(shape, dtype=np.float32) * np.float32(deviation))
        else:
            params[name] = np.zeros(shape, dtype=np.float32)
    return params


def write_checkpoint(path, c, params):
    header = np.zeros(256, dtype="<i4")
    header[:8] = [20240326, 3, c["context"], c["vocabulary"], c["layers"], c["heads"], c["hidden"], c["padded_vocabulary"]]
    with open(path, "wb") as f:
        f.write(header.tobytes())
        for name in NAMES:
            f.write(params[name].astype("<f4").tobytes())


def write_tokens(path, tokens):
    header = np.zeros(256, dtype="<i4")
    header[:3] = [20240520, 1, len(tokens)]
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(tokens.astype("<u2").tobytes())


def read_profile(path):
    import yaml
    with open(path) as f:
        return yaml.safe_load(f)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    c = config(read_profile(sys.argv[1]))
    os.makedirs(sys.argv[2], exist_ok=True)
    train, _ = markov_tokens(c["count"], c["data_seed"], c["vocabulary"])
    write_checkpoint(os.path.join(sys.argv[2], "model.bin"), c, initial_parameters(c))
    write_tokens(os.path.join(sys.argv[2], "train.bin"), train)
    print(json.dumps(c))


if __name__ == "__main__":
    main()
