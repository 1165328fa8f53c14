#!/bin/busybox sh
# /init of the two-node test VM: mounts /proc, /sys, /dev, runs the checks, prints each result
# between markers on the serial console, and reports the status through isa-debug-exit.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# /tmp stays the initramfs' own (already writable): a tmpfs over it would hide the bundled files of a checkout
# under /tmp (the dynamic memplan and its libraries sit at their host paths).
mkdir -p /dev/shm
mount -t tmpfs tmpfs /dev/shm
ip link set lo up
hostname numa-vm
cd /memplan
export HOME=/tmp
status=0
run() {
    name=$1
    shift
    echo "=== BEGIN $name"
    "$@" 2>/tmp/stderr
    code=$?
    echo "=== END $name exit=$code"
    echo "=== STDERR $name: $(head -c 400 /tmp/stderr | tr '\n' ' ')"
}
run topology ./memplan topology --format json
run node1 ./memplan train vm-softmax.yaml --placement node:1 --format json
run node0 ./memplan train vm-softmax.yaml --placement node:0 --format json
run interleave ./memplan train vm-softmax.yaml --placement interleave --format json
run capacity ./memplan capacity vm-softmax.yaml --machine local --format json
run too-large ./memplan train vm-too-large.yaml --placement node:1 --format json
# Two ranks, rank r on node r (mpirun launches them itself: no ssh in here).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_plm=isolated
run ranks /usr/bin/mpirun -q -np 2 ./memplan-mpi train vm-softmax.yaml --strategy zero1 --format json
echo "=== DONE"
# qemu exits with (value << 1) | 1; write 1 so a clean run exits 3.
printf '\001' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
poweroff -f
