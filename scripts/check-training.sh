#!/bin/sh
# Acceptance checks of "NUMA arena and real training" on a release build (the step loop's
# allocation count is only meaningful optimised): the main job at single and double precision,
# and every shipped profile's loss falling. Prints what it measured; exits non-zero on a failure.
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product memplan >/dev/null
MEMPLAN=.build/release/memplan
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for precision in single double; do
    "$MEMPLAN" train profiles/fashion-mnist-mlp.yaml --precision "$precision" --format json > "$out/$precision.json"
done
for profile in perceptron-3-4-2 smallest-perceptron second-smallest-perceptron polynomial-9 logistic softmax-fashion multilabel; do
    "$MEMPLAN" train "profiles/$profile.yaml" --format json > "$out/$profile.json"
done

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
failures = []
def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        failures.append(message)

for precision in ["single", "double"]:
    d = json.load(open(os.path.join(out, precision + ".json")))
    p, a, m = d["predicted"], d["actual"], d["metrics"]
    acc = m["test_accuracy"]
    check(acc >= 0.85, f"fashion-mnist-mlp {precision}: test accuracy {acc:.4f} >= 0.85 (5 epochs, batch 128, lr 0.05)")
    page = a["page_bytes"]
    whole_pages = -(-p["arena_bytes"] // page) * page
    check(a["arena_bytes"] == whole_pages, f"fashion-mnist-mlp {precision}: arena as the kernel maps it {a['arena_bytes']:,} == predicted {p['arena_bytes']:,} in whole pages ({whole_pages:,})")
    planned = str(a["planned_node"])
    on_node = a["pages_by_node"].get(planned, 0)
    total = sum(a["pages_by_node"].values()) + a["pages_not_resident"]
    check(a["pages_not_resident"] == 0 and on_node == total, f"fashion-mnist-mlp {precision}: {on_node:,} of {total:,} arena pages resident on planned node {planned}")
    after = a["pages_by_node_after_first_step"]
    check(after.get(planned, 0) == total, f"fashion-mnist-mlp {precision}: every page resident on node {planned} after the first step")
    check(a["heap_allocations_per_step"] == 0, f"fashion-mnist-mlp {precision}: heap allocations per step {a['heap_allocations_per_step']} over {a['measured_steps']:,} steady-state steps")
    limit = p["arena_bytes"] + (8 << 20)
    check(a["peak_rss_growth_bytes"] <= limit, f"fashion-mnist-mlp {precision}: peak RSS growth {a['peak_rss_growth_bytes']:,} <= arena + 8 MiB {limit:,}")
    print(f"      {precision}: {d['throughput']['samples_per_second']:,.0f} samples/s, train loss {[round(e['train_loss'], 4) for e in m['epochs']]}")

for profile in ["perceptron-3-4-2", "smallest-perceptron", "second-smallest-perceptron", "polynomial-9", "logistic", "softmax-fashion", "multilabel"]:
    d = json.load(open(os.path.join(out, profile + ".json")))
    e = d["metrics"]["epochs"]
    first, last = e[0]["train_loss"], e[-1]["train_loss"]
    check(last < first, f"{profile}: train loss {first:.4f} -> {last:.4f} over {len(e)} epochs, {d['actual']['heap_allocations_per_step']} allocations per step")
sys.exit(1 if failures else 0)
PY
