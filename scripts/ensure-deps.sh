#!/bin/sh
# Installs the Debian packages memplan needs, or prints the exact command when not root.
# Usage: scripts/ensure-deps.sh [extra-package ...]
set -eu

packages="libnuma-dev libopenblas-dev libopenmpi-dev openmpi-bin pkg-config zlib1g-dev dataset-fashion-mnist fortunes $*"
missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

command="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
    echo "memplan: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "memplan: installing$missing (sudo)" >&2
    sudo DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
else
    echo "memplan: missing Debian packages:$missing" >&2
    echo "memplan: run this as root, then try again:" >&2
    echo "    apt-get update && $command" >&2
    exit 1
fi
