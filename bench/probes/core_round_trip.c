// Probe: the round trip of one cache line between the first two CPUs this process may use, in nanoseconds.
// Two threads, pinned one to each CPU, hand a counter back and forth in 5 blocks of 20,000 trips; prints the median
// block's mean as {"round_trip_ns": N, ...} (null with fewer than two CPUs); one block alone is noisy (a preempted
// vCPU). bench/compare runs it around every 2-thread run: on this project's 2-vCPU VMs the host sometimes places
// the two vCPUs on cores that share an L3 (about 80-140 ns here, a Zen 5) and sometimes on cores of different CCDs
// (330-390 ns), and a 2-thread step, which hands its tensors between the cores, slows by a quarter in the second.
//   cc -O2 -pthread bench/probes/core_round_trip.c -o .build-bench/core_round_trip && .build-bench/core_round_trip
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { BLOCKS = 5, TRIPS_PER_BLOCK = 20000, TRIPS = BLOCKS * TRIPS_PER_BLOCK };
static _Alignas(64) atomic_int counter;
static int cpus[2];

static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *answer(void *unused) {
    (void)unused;
    pin(cpus[1]);
    for (int trip = 0; trip < TRIPS; trip++) {
        while (atomic_load_explicit(&counter, memory_order_acquire) != 2 * trip + 1) {}
        atomic_store_explicit(&counter, 2 * trip + 2, memory_order_release);
    }
    return NULL;
}

int main(void) {
    cpu_set_t allowed;
    int found = 0;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++) {
            if (CPU_ISSET(cpu, &allowed)) cpus[found++] = cpu;
        }
    }
    if (found < 2) {
        printf("{\"round_trip_ns\": null}\n");
        return 0;
    }
    pin(cpus[0]);
    pthread_t thread;
    if (pthread_create(&thread, NULL, answer, NULL) != 0) {
        printf("{\"round_trip_ns\": null}\n");
        return 0;
    }
    double blocks[BLOCKS];
    for (int block = 0; block < BLOCKS; block++) {
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        for (int trip = block * TRIPS_PER_BLOCK; trip < (block + 1) * TRIPS_PER_BLOCK; trip++) {
            atomic_store_explicit(&counter, 2 * trip + 1, memory_order_release);
            while (atomic_load_explicit(&counter, memory_order_acquire) != 2 * trip + 2) {}
        }
        clock_gettime(CLOCK_MONOTONIC, &end);
        blocks[block] = ((end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec)) / TRIPS_PER_BLOCK;
    }
    pthread_join(thread, NULL);
    double sorted[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {  // insertion sort: five values
        int j = i;
        while (j > 0 && sorted[j - 1] > blocks[i]) { sorted[j] = sorted[j - 1]; j--; }
        sorted[j] = blocks[i];
    }
    printf("{\"round_trip_ns\": %.0f, \"blocks_ns\": [", sorted[BLOCKS / 2]);
    for (int i = 0; i < BLOCKS; i++) printf("%s%.0f", i ? ", " : "", blocks[i]);
    printf("], \"cpus\": [%d, %d]}\n", cpus[0], cpus[1]);
    return 0;
}
