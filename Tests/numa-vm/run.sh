#!/bin/sh
# Proves memplan's NUMA placement on a two-node machine: boots Debian's kernel under qemu (software
# emulation, 2 nodes × 1 GiB × 1 CPU) with a static memplan in the initramfs, runs topology, train
# with node:1, node:0 and interleave, capacity, and an arena too large for node 1, and checks
# memplan's own JSON from each. Installs what it needs (as root). Usage: Tests/numa-vm/run.sh
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
scripts/ensure-deps.sh qemu-system-x86 linux-image-amd64 busybox-static cpio

echo "numa-vm: building a static memplan (.build-static/release/memplan)" >&2
log=$(mktemp)
if ! swift build -c release --product memplan --scratch-path .build-static --disable-default-traits \
    -Xswiftc -static-executable > "$log" 2>&1; then
    tail -40 "$log" >&2
    exit 1
fi
rm -f "$log"
binary=.build-static/release/memplan
file "$binary" | grep -q "statically linked" || { echo "numa-vm: $binary is not statically linked" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
image="$work/root"
mkdir -p "$image/bin" "$image/memplan/fashion-slice" "$image/proc" "$image/sys" "$image/dev" "$image/tmp"
cp /bin/busybox "$image/bin/busybox"
cp "$binary" "$image/memplan/memplan"
cp Tests/numa-vm/vm-softmax.yaml Tests/numa-vm/vm-too-large.yaml "$image/memplan/"
cp Tests/numa-vm/init.sh "$image/init"
chmod +x "$image/init"
# A slice of Fashion-MNIST: the first 6,000 training and 1,000 test images.
python3 - "$image/memplan/fashion-slice" <<'PY'
import gzip, os, sys
source, target = "/usr/share/datasets/fashion-mnist", sys.argv[1]
for name, count in [("train-images-idx3-ubyte", 6000), ("train-labels-idx1-ubyte", 6000),
                    ("t10k-images-idx3-ubyte", 1000), ("t10k-labels-idx1-ubyte", 1000)]:
    raw = gzip.open(os.path.join(source, name + ".gz")).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    item = 1
    for size in shape[1:]:
        item *= size
    header = raw[:4] + count.to_bytes(4, "big") + raw[8:4 + 4 * dims]
    body = raw[4 + 4 * dims:4 + 4 * dims + count * item]
    with gzip.open(os.path.join(target, name + ".gz"), "wb") as out:
        out.write(header + body)
PY
# Training over two ranks (one per node) needs Open MPI, so a dynamic memplan (the MPI trait) and mpirun's runtime
# go in beside the static one, at their own paths.
echo "numa-vm: adding a dynamic memplan and Open MPI for the two-rank run" >&2
if ! swift build -c release --product memplan > "$work/build.log" 2>&1; then
    tail -40 "$work/build.log" >&2
    exit 1
fi
dynamic="$root/.build/release/memplan"
Tests/numa-vm/mpi-bundle.sh "$dynamic" "$image"
printf '#!/bin/sh\nexec %s "$@"\n' "$dynamic" > "$image/memplan/memplan-mpi"
chmod +x "$image/memplan/memplan-mpi"
(cd "$image" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initramfs.cpio.gz"
kernel=$(ls /boot/vmlinuz-* | sort -V | tail -1)

# The same profile and seed on this machine, for the accuracy comparison.
mkdir -p "$work/host" && cp -r "$image/memplan/fashion-slice" Tests/numa-vm/vm-softmax.yaml "$work/host/"
(cd "$work/host" && "$root/$binary" train vm-softmax.yaml --format json) > "$work/host.json"

echo "numa-vm: booting $kernel with 2 NUMA nodes (qemu TCG)" >&2
start=$(date +%s)
set +e
timeout 900 qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2G \
    -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G \
    -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
    -kernel "$kernel" -initrd "$work/initramfs.cpio.gz" -append "console=ttyS0 quiet rdinit=/init panic=-1" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 -display none -serial stdio -monitor none -no-reboot > "$work/console.log" 2>&1
qemu=$?
set -e
echo "numa-vm: the VM ran for $(( $(date +%s) - start )) s (qemu exit $qemu)" >&2
python3 Tests/numa-vm/check.py "$work/console.log" "$work/host.json"
