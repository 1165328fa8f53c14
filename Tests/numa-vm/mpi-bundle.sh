#!/bin/sh
# Copies a dynamic memplan and Open MPI's runtime (mpirun, orted, their plug-ins, help texts and settings) with every
# shared library they load into IMAGE, at the same absolute paths, so the two-node VM can run
# `mpirun -np 2 memplan train`. Usage: Tests/numa-vm/mpi-bundle.sh MEMPLAN IMAGE
set -eu
binary=$1
image=$2
files=$(mktemp)
trap 'rm -f "$files"' EXIT
mpirun=$(readlink -f /usr/bin/mpirun)
{
    echo "$binary"
    echo "$mpirun"
    echo /usr/bin/orted
    find /usr/lib/x86_64-linux-gnu/openmpi/lib /usr/lib/x86_64-linux-gnu/pmix2 -name '*.so*' \( -type f -o -type l \)
} > "$files"
# Every shared library any of them loads (ldd resolves the whole closure of each), and the loader.
for file in $(cat "$files"); do
    ldd "$file" 2>/dev/null | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'
done | sort -u >> "$files"
for file in $(sort -u "$files"); do
    mkdir -p "$image$(dirname "$file")"
    cp -L "$file" "$image$file"
done
mkdir -p "$image/usr/bin"
cp -L /usr/bin/orted "$image/usr/bin/orted"
cp -L "$mpirun" "$image/usr/bin/mpirun"
for dir in /usr/share/openmpi /usr/share/pmix /etc/openmpi /usr/lib/x86_64-linux-gnu/openmpi/share; do
    if [ -d "$dir" ]; then
        mkdir -p "$image$(dirname "$dir")"
        cp -rL "$dir" "$image$dir"
    fi
done
