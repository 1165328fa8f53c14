#!/bin/sh
# Regenerates the example reports committed in reports/ (release build): the Fashion-MNIST MLP's
# training record, the 300 B quiz's capacity on an 8 × 80 GB machine, the MLP's capacity on a
# two-socket server, and the polynomial's training record. Usage: scripts/make-example-reports.sh [dir]
set -eu
cd "$(dirname "$0")/.."
dir=${1:-reports}
mkdir -p "$dir"
swift build -c release --product memplan >/dev/null
m=.build/release/memplan
$m train profiles/fashion-mnist-mlp.yaml --record "$dir/fashion-mnist-mlp.json" >/dev/null
$m report "$dir/fashion-mnist-mlp.json" --output "$dir/fashion-mnist-mlp.html"
$m report "$dir/fashion-mnist-mlp.json" --format markdown --output "$dir/fashion-mnist-mlp.md"
$m train profiles/polynomial-9.yaml --record "$dir/polynomial-9.json" >/dev/null
$m report "$dir/polynomial-9.json" --output "$dir/polynomial-9.html"
$m select profiles/polynomial-9.yaml --degrees 0...9 --folds 5 > "$dir/polynomial-9-select.txt"
$m capacity profiles/quiz-300b.yaml --machine profiles/machines/dgx-8x80g.yaml --format json --output "$dir/quiz-300b-capacity.json"
$m report "$dir/quiz-300b-capacity.json" --output "$dir/quiz-300b-capacity.html"
$m report "$dir/quiz-300b-capacity.json" --format markdown --output "$dir/quiz-300b-capacity.md"
$m capacity profiles/fashion-mnist-mlp.yaml --machine profiles/machines/two-socket-512g.yaml --format json --output "$dir/fashion-mnist-mlp-capacity.json"
$m report "$dir/fashion-mnist-mlp-capacity.json" --output "$dir/fashion-mnist-mlp-capacity.html"
