// Room under an address-space limit (`ulimit -v`) for what training maps besides the arena. OpenBLAS maps a
// 128 MiB buffer for each thread that calls it, at the first call, and when the mapping fails it retries forever
// (memory.c's blas_memory_alloc loops until it gets one): under a limit a few hundred MB too low, train spun at
// 100% CPU without a word. The room is checked before the first step, while a refusal can still be an answer.

import Foundation
import NUMAArena

#if canImport(Glibc)
    import Glibc
#endif

/// The address space a run still needs once its arena is mapped, and the check that it is there.
enum AddressSpace {
    /// OpenBLAS's BUFFER_SIZE on x86-64 (32 << 22), plus its alignment page.
    static let blasBufferBytes = 128 << 20 + 64 << 10
    /// A new thread's first malloc reserves a heap of its own (glibc's HEAP_MAX_SIZE on 64-bit), plus a margin for its
    /// stack guard and memplan's kernel scratch.
    static let threadHeapBytes = 66 << 20

    /// Bytes to reserve for `threads` threads calling BLAS.
    static func neededBytes(threads: Int) -> Int { max(1, threads) * (blasBufferBytes + threadHeapBytes) }

    /// The soft RLIMIT_AS in bytes, or nil when unlimited.
    static func limit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return limit.rlim_cur > UInt64(Int.max) ? nil : Int(limit.rlim_cur)
    }

    /// Under an address-space limit, maps (and unmaps) what `threads` BLAS threads will need; throws when it does
    /// not fit. Without a limit there is nothing to check.
    static func check(threads: Int) throws(RunError) {
        guard let limit = limit() else { return }
        let needed = neededBytes(threads: threads)
        let probe = mmap(nil, needed, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        if let probe, probe != MAP_FAILED {
            munmap(probe, needed)
            return
        }
        throw .addressSpaceLimit(
            limitBytes: limit, mappedBytes: ProcessMemory.virtualBytes(), neededBytes: needed, threads: max(1, threads))
    }
}
