// The arena a run works in: allocated where the options place it, checked against the kernel's view of the
// mapping before any tensor is resolved in it, and the process's threads bound to its node.

import ArenaPlanner
import MLPTrainer
import NUMAArena

/// An allocated, checked arena and where its pages were meant to go.
struct RunArena {
    let arena: Arena
    /// The arena's size as the kernel maps it (/proc/self/maps) when it was allocated.
    let mappedByteCount: Int
    /// Threads bound to the placement's node (0 unless `node:N` on a NUMA machine).
    let threadsBound: Int
    /// The node the pages should be on: the placement's, the current one for `local`, nil for `interleave`.
    let plannedNode: Int?
    /// The run's measurements, started just before the arena was allocated (`RunMeter.beforeArena`).
    let meter: RunMeter

    /// A training run's arena as `options` place it, with its meter started before it; OpenBLAS is then set to one
    /// thread (its threaded level-3 path mallocs per call; memplan splits the work itself).
    init(_ plan: ArenaPlan, options: TrainingOptions) throws {
        let meter = RunMeter(counter: options.allocationCounter)
        meter.beforeArena()
        try self.init(
            plan, placement: options.placement, force: options.force, shortfallPages: options.arenaShortfallPages,
            meter: meter)
        BLASInfo.setThreadCount(1)
    }

    /// Allocates `plan.arenaByteCount` bytes as `placement` says.
    ///
    /// - Throws: `NUMAError` (no such node, not enough free memory without `force`), or
    ///   `RunError.arenaSmallerThanPlanned` when the kernel maps fewer bytes than the plan needs.
    init(_ plan: ArenaPlan, placement: Placement, force: Bool, shortfallPages: Int = 0, meter: RunMeter? = nil) throws {
        self.meter = meter ?? RunMeter(counter: nil)
        arena = try Arena(
            byteCount: plan.arenaByteCount, placement: placement, force: force, shortfallPages: shortfallPages)
        mappedByteCount = arena.measuredByteCount() ?? 0
        guard mappedByteCount >= plan.arenaByteCount else {
            throw RunError.arenaSmallerThanPlanned(mappedBytes: mappedByteCount, plannedBytes: plan.arenaByteCount)
        }
        threadsBound = arena.bindThreadsToPlacementNode()
        plannedNode =
            switch placement {
            case .node(let node): node
            case .local: NUMATopology.currentNode()
            case .interleave: nil
            }
    }
}
