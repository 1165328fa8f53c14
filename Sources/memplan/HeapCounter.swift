// Heap allocations counted by ordo-one/malloc-interposer, when the HeapCounting trait links it.

import TrainingRun

#if HeapCounting
    import MallocInterposerSwift

    /// Counts every malloc/calloc/realloc/posix_memalign of every thread between `start` and `stop`.
    final class InterposerAllocationCounter: AllocationCounter {
        init() { MallocInterposerSwift.initialize() }

        func start() {
            MallocInterposerSwift.reset()
            MallocInterposerSwift.hook()
        }

        func stop() -> Int {
            MallocInterposerSwift.unhook()
            return MallocInterposerSwift.getStatistics().mallocCount
        }
    }

    /// The counter this build has: the interposer's.
    func makeAllocationCounter() -> AllocationCounter? { InterposerAllocationCounter() }
#else
    /// This build has no allocation counter (a static build without the HeapCounting trait).
    func makeAllocationCounter() -> AllocationCounter? { nil }
#endif
