// Measurement, a stage of its own: what the kernel says happened to the process and the arena during a run.
// Every number here is read from the kernel (/proc/self/status, /proc/self/maps, move_pages or mincore) or
// counted by the allocation counter; none is copied from the plan.

import NUMAArena

/// Counts heap allocations over a window (the CLI supplies one backed by a malloc interposer).
public protocol AllocationCounter: AnyObject {
    /// Starts counting from zero.
    func start()
    /// Stops counting; returns the allocations since `start()`.
    func stop() -> Int
}

/// What was measured during one run.
public struct RunMeasurement: Sendable {
    /// The arena as the kernel maps it: bytes from its start to the end of its mapping (whole pages).
    public var arenaMappedBytes: Int
    public var pageSize: Int
    /// Page census right after the first step, and at the end of the run.
    public var censusAfterFirstStep: PageCensus
    public var censusAtEnd: PageCensus
    public var numaMapsLine: String?
    public var threadsBound: Int
    /// VmRSS just before the arena was allocated.
    public var baselineRSSBytes: Int
    /// max(VmHWM) − baseline: everything the run added at its peak (arena, data, buffers).
    public var peakRSSGrowthBytes: Int
    /// VmHWM during training − VmRSS once the data was in the arena: what training itself added.
    public var trainingRSSGrowthBytes: Int
    /// Mean heap allocations per steady-state step, when counted.
    public var heapAllocationsPerStep: Double?
    public var measuredSteps: Int
}

/// Takes the measurements of a run at its stages: before the arena, once it is mapped, once the data is
/// loaded, around each steady-state step, after the first step, and at the end.
final class RunMeter {
    let counter: AllocationCounter?
    private(set) var baseline = 0
    private var loadPeak = 0
    private var trainingBaseline = 0
    private var census: PageCensus?
    private var allocations = 0
    private(set) var measuredSteps = 0
    private var counting = false

    init(counter: AllocationCounter?) { self.counter = counter }

    /// Before the arena: everything the run adds to resident memory from here on counts as its growth.
    func beforeArena() {
        ProcessMemory.resetPeak()
        baseline = ProcessMemory.residentBytes()
    }

    /// Once the data is in the arena: the whole run's peak so far is noted, then training is measured alone.
    func afterLoad() {
        loadPeak = ProcessMemory.peakResidentBytes()
        ProcessMemory.resetPeak()
        trainingBaseline = ProcessMemory.residentBytes()
    }

    /// Around a step: counts its heap allocations when `steady` (past the warm-up steps) and a counter exists.
    @inline(__always)
    func stepStarts(steady: Bool) {
        counting = steady && counter != nil
        if counting { counter!.start() }
    }

    @inline(__always)
    func stepEnds() {
        guard counting else { return }
        allocations += counter!.stop()
        measuredSteps += 1
        counting = false
    }

    /// After the first step: where the arena's pages are once every op has touched them.
    func afterFirstStep(_ arena: Arena) {
        if census == nil { census = arena.pageCensus() }
    }

    /// The measurements at the end of the run.
    func finish(_ arena: Arena, threadsBound: Int) -> RunMeasurement {
        let end = arena.pageCensus()
        let trainingPeak = ProcessMemory.peakResidentBytes()
        return RunMeasurement(
            arenaMappedBytes: arena.measuredByteCount() ?? 0, pageSize: arena.pageSize, censusAfterFirstStep: census ?? end,
            censusAtEnd: end, numaMapsLine: arena.numaMapsLine(), threadsBound: threadsBound, baselineRSSBytes: baseline,
            peakRSSGrowthBytes: max(0, max(loadPeak, trainingPeak) - baseline),
            trainingRSSGrowthBytes: max(0, trainingPeak - trainingBaseline),
            heapAllocationsPerStep: counter == nil || measuredSteps == 0 ? nil : Double(allocations) / Double(measuredSteps),
            measuredSteps: measuredSteps)
    }
}
