#!/bin/sh
# Acceptance checks of "Sharded training on Open MPI" on a release build (allocation counts are only meaningful
# optimised): W1 (profiles/fashion-mnist-mlp.yaml) and the small transformer (profiles/bytes-gpt.yaml) trained by 2
# ranks under dp, zero1, zero2 and zero3 against one process on the same global batch, at fp32 and fp64; each rank's
# arena, pages, heap allocations and RSS growth; the ZeRO stages' arenas against dp's (Adam, AdamW); samples/s of
# 2 ranks × 1 thread beside 1 process × 2 threads (printed, not judged: speed is for benchmarks). Prints what it
# measured; exits non-zero on a failure.
set -eu
cd "$(dirname "$0")/.."
swift build -c release --product memplan >/dev/null
MEMPLAN=.build/release/memplan
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
w1="profiles/fashion-mnist-mlp.yaml --epochs 2"

for precision in single double; do
    # shellcheck disable=SC2086
    "$MEMPLAN" train $w1 --precision "$precision" --batch 256 --threads 2 --format json > "$out/one-$precision.json"
    # SGD (no state to shard) under dp; Adam, whose state zero1-3 shard, under every strategy.
    # shellcheck disable=SC2086
    mpirun -q -np 2 "$MEMPLAN" train $w1 --precision "$precision" --threads 1 --strategy dp --format json \
        > "$out/dp-$precision.json"
    for strategy in dp zero1 zero2 zero3; do
        # shellcheck disable=SC2086
        mpirun -q -np 2 "$MEMPLAN" train $w1 --precision "$precision" --optimizer adam --learning-rate 0.001 --threads 1 \
            --strategy "$strategy" --format json > "$out/adam-$strategy-$precision.json"
    done
    # shellcheck disable=SC2086
    "$MEMPLAN" train $w1 --precision "$precision" --optimizer adam --learning-rate 0.001 --batch 256 --threads 2 \
        --format json > "$out/adam-one-$precision.json"
done

# The small transformer (bytes-gpt, tied embeddings) at fp64 and fp32: 30 steps of global batch 8, one process against
# 2 ranks under each strategy. On one fortune file (238 KB) rather than all of them: the end-of-run validation pass over
# 5 % of 2.8 MB took 10 of the 11 s a run took.
sed 's|path: /usr/share/games/fortunes,|path: /usr/share/games/fortunes/computers,|' profiles/bytes-gpt.yaml > "$out/bytes-gpt.yaml"
grep -q 'fortunes/computers' "$out/bytes-gpt.yaml"
for precision in single double; do
    "$MEMPLAN" train "$out/bytes-gpt.yaml" --precision "$precision" --steps 30 --batch 8 --threads 2 --format json \
        > "$out/gpt-one-$precision.json"
    for strategy in dp zero1 zero2 zero3; do
        mpirun -q -np 2 "$MEMPLAN" train "$out/bytes-gpt.yaml" --precision "$precision" --steps 30 --batch 4 --threads 1 \
            --strategy "$strategy" --format json > "$out/gpt-$strategy-$precision.json"
    done
done

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
failures = []
def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        failures.append(message)
def load(name):
    return json.load(open(os.path.join(out, name + ".json")))
def arenas_shrink(label, prefix, precision):
    """Each ZeRO stage's rank-0 arena against dp's (runs named {prefix}{strategy}-{precision}): smaller by what the
    plan says, within two pages."""
    dp = load(f"{prefix}dp-{precision}")["ranks"][0]
    for strategy in ["zero1", "zero2", "zero3"]:
        sharded = load(f"{prefix}{strategy}-{precision}")["ranks"][0]
        planned = dp["predicted"]["arena_bytes"] - sharded["predicted"]["arena_bytes"]
        measured = dp["actual"]["arena_bytes"] - sharded["actual"]["arena_bytes"]
        check(planned > 0 and abs(measured - planned) < 2 * 4096, f"{label} {precision}: {strategy}'s rank arena smaller than dp's by {measured:,} B measured, {planned:,} B planned")

for precision in ["single", "double"]:
    for optimizer in ["", "adam-"]:
        one = load(f"{optimizer}one-{precision}")
        for strategy in (["dp", "zero1", "zero2", "zero3"] if optimizer else ["dp"]):
            run = load(f"{optimizer}{strategy}-{precision}")
            name = f"W1 {optimizer or 'sgd-'}{strategy} {precision}, 2 ranks"
            a = [e["train_loss"] for e in one["metrics"]["epochs"]]
            b = [e["train_loss"] for e in run["metrics"]["epochs"]]
            worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
            if precision == "double":
                check(len(a) == len(b) and worst <= 1e-5, f"{name}: train loss per epoch within {worst:.1e} relative of one process (<= 1e-5)")
            gap = abs(one["metrics"]["test_accuracy"] - run["metrics"]["test_accuracy"]) * 100
            check(gap <= 0.2, f"{name}: test accuracy {run['metrics']['test_accuracy']:.4f} vs one process {one['metrics']['test_accuracy']:.4f} ({gap:.2f} points <= 0.2)")
            for rank in run["ranks"]:
                p, act = rank["predicted"], rank["actual"]
                label = f"{name}, rank {rank['rank']}"
                check(act["arena_bytes"] == p["arena_mapped_bytes"], f"{label}: measured arena {act['arena_bytes']:,} B = planned {p['arena_mapped_bytes']:,} B")
                check(act["heap_allocations_per_step"] == 0, f"{label}: {act['heap_allocations_per_step']} heap allocations per step over {act['measured_steps']:,} steady-state steps")
                limit = p["arena_bytes"] + (16 << 20)
                check(act["peak_rss_growth_bytes"] <= limit, f"{label}: RSS growth {act['peak_rss_growth_bytes']:,} B <= arena + 16 MiB ({limit:,} B)")
                node = rank["node"]
                pages = act["pages_by_node"]
                check(node is not None and pages.get(str(node), 0) == sum(pages.values()), f"{label}: all {sum(pages.values()):,} resident pages on node {node} {pages}")
    arenas_shrink("W1 Adam", "adam-", precision)
    one, two = load(f"one-{precision}"), load(f"dp-{precision}")
    ratio = two["throughput"]["samples_per_second"] / one["throughput"]["samples_per_second"]
    print(f"info  W1 {precision}: 2 ranks x 1 thread {two['throughput']['samples_per_second']:,.0f} samples/s, 1 process x 2 threads {one['throughput']['samples_per_second']:,.0f} ({ratio:.2f}x); exchange {two['sharding']['exchange_seconds_per_step'] * 1e3:.3f} ms per step")
for precision in ["single", "double"]:
    one = load(f"gpt-one-{precision}")
    for strategy in ["dp", "zero1", "zero2", "zero3"]:
        run = load(f"gpt-{strategy}-{precision}")
        name = f"bytes-gpt {strategy} {precision}, 2 ranks"
        for key in ["train_loss", "validation_loss"]:
            a, b = one["metrics"]["epochs"][-1][key], run["metrics"]["epochs"][-1][key]
            limit = 1e-5 if precision == "double" else 1e-4
            check(abs(a - b) <= limit * abs(a), f"{name}: {key} {b:.9f} vs one process {a:.9f} (relative {abs(a - b) / abs(a):.1e} <= {limit})")
        for rank in run["ranks"]:
            p, act = rank["predicted"], rank["actual"]
            label = f"{name}, rank {rank['rank']}"
            check(act["arena_bytes"] == p["arena_mapped_bytes"] and act["heap_allocations_per_step"] == 0,
                  f"{label}: measured arena {act['arena_bytes']:,} B = planned {p['arena_mapped_bytes']:,} B; {act['heap_allocations_per_step']} heap allocations per step")
    arenas_shrink("bytes-gpt", "gpt-", precision)
    print(f"info  bytes-gpt {precision}: 2 ranks x 1 thread {load(f'gpt-dp-{precision}')['throughput']['tokens_per_second']:,.0f} tokens/s, 1 process x 2 threads {one['throughput']['tokens_per_second']:,.0f}")
if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
PY
