"""Shared by the peers: Fashion-MNIST from the Debian package, timing and memory, one JSON line out."""
import gzip, json, os, resource, sys, time

import numpy as np

DATA = os.environ.get("FASHION_MNIST", "/usr/share/datasets/fashion-mnist")


def idx(name):
    with gzip.open(os.path.join(DATA, name + ".gz"), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(dtype):
    """Pixels scaled to [0, 1] as (N, 784) in `dtype`, labels as int64."""
    x = idx("train-images-idx3-ubyte").reshape(-1, 784).astype(dtype) / dtype(255)
    y = idx("train-labels-idx1-ubyte").astype(np.int64)
    tx = idx("t10k-images-idx3-ubyte").reshape(-1, 784).astype(dtype) / dtype(255)
    ty = idx("t10k-labels-idx1-ubyte").astype(np.int64)
    return x, y, tx, ty


def rss_now():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def report(peer, precision, batch, epochs, samples, seconds, accuracy, rss_after_load, extra=None):
    result = {
        "peer": peer, "precision": precision, "batch": batch, "epochs": epochs, "samples": samples,
        "fit_seconds": seconds, "samples_per_second": samples / seconds, "test_accuracy": accuracy,
        "peak_rss_bytes": peak_rss(), "rss_growth_bytes": max(0, peak_rss() - rss_after_load),
    }
    result.update(extra or {})
    print(json.dumps(result))


def arguments():
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--precision", choices=["single", "double"], default="single")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--samples", type=int, default=0, help="train on only the first N samples of each epoch (per-sample runs)")
    parser.add_argument("--autocast", action="store_true", help="PyTorch: fp32 weights, bf16 products under torch.autocast (cpu)")
    args = parser.parse_args()
    args.dtype = np.float32 if args.precision == "single" else np.float64
    return args
