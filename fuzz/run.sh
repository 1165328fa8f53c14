#!/bin/sh
# Runs a libFuzzer target for a while: fuzz/run.sh profile|idx|record|csv|safetensors|onnx|checkpoint [seconds] (default 60).
# Builds with -sanitize=fuzzer,address into .build-fuzz, starts from the committed seed corpus
# (fuzz/corpus/<target>) plus what earlier runs found (fuzz/corpus-work/<target>, not committed),
# and leaves crash reproducers in fuzz/artifacts/. Exits non-zero on a crash.
set -eu
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh profile|idx|record|csv|safetensors|onnx|checkpoint|build [seconds]}
seconds=${2:-60}
build() {
    swift build -c release --scratch-path .build-fuzz --product "$1" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address >&2
}
# `build` builds every target first, so that several fuzzers can then run at once (each run's own build is a no-op).
if [ "$target" = build ]; then
    for product in FuzzProfile FuzzIDX FuzzRecord FuzzCSV FuzzSafetensors FuzzONNX FuzzCheckpoint; do build "$product"; done
    exit 0
fi
case "$target" in
    profile) product=FuzzProfile ;;
    idx) product=FuzzIDX ;;
    record) product=FuzzRecord ;;
    csv) product=FuzzCSV ;;
    safetensors) product=FuzzSafetensors ;;
    onnx) product=FuzzONNX ;;
    checkpoint) product=FuzzCheckpoint ;;
    *) echo "fuzz/run.sh: unknown target '$target' (profile, idx, record, csv, safetensors, onnx or checkpoint)" >&2; exit 2 ;;
esac
build "$product"
mkdir -p "fuzz/corpus-work/$target" fuzz/artifacts
# The Swift runtime's backtracer would catch signals before libFuzzer can save the input.
SWIFT_BACKTRACE=enable=no ".build-fuzz/release/$product" "fuzz/corpus-work/$target" "fuzz/corpus/$target" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -artifact_prefix="fuzz/artifacts/$target-" -print_final_stats=1
