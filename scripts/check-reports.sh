#!/bin/sh
# Generates fresh example reports into a temporary directory and checks every HTML page in
# headless Chromium (scripts/check-html.sh), then checks the committed ones too.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
scripts/make-example-reports.sh "$tmp"
scripts/check-html.sh "$tmp"/*.html reports/*.html
