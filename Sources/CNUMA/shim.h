// libnuma for Swift: <numa.h> for topology and allocation, <numaif.h> for move_pages/get_mempolicy,
// plus the few helpers Swift cannot reach through Glibc.
#include <numa.h>
#include <numaif.h>
#include <sys/syscall.h>
#include <unistd.h>

/// The CPU the calling thread runs on (sched_getcpu needs _GNU_SOURCE, which Swift's Glibc lacks).
static inline int memplan_current_cpu(void) {
    unsigned cpu = 0;
    if (syscall(SYS_getcpu, &cpu, (void *)0, (void *)0) != 0) return -1;
    return (int)cpu;
}

/// Interleaves the pages of [mem, mem + size) over every node (numa_all_nodes_ptr is a global Swift 6 may not read).
static inline void memplan_interleave_memory(void *mem, size_t size) {
    numa_interleave_memory(mem, size, numa_all_nodes_ptr);
}
