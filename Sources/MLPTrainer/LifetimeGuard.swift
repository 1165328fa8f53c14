// A debug mode that proves the trainer touches no tensor outside its planned lifetime.

import ArenaPlanner
import NUMAArena

/// Around every op, fills every arena byte that no live buffer covers with 0xFF (a NaN in every float format,
/// and in bf16), and afterwards checks those bytes are still 0xFF.
///
/// - An op that reads a tensor outside the tensor's lifetime reads NaNs, so the losses of a guarded run differ
///   from an unguarded one (they are bit-identical when every read is inside a lifetime: a live tensor's bytes
///   are never poisoned).
/// - An op that writes outside the live buffers leaves bytes that are not 0xFF: it is recorded in `violations`.
///
/// Costs a pass over the dead bytes twice per op; for tests and `MEMPLAN_LIFETIME_GUARD` runs only.
final class LifetimeGuard {
    let base: UnsafeMutableRawPointer
    /// For each op: the byte ranges of the arena that no buffer live at that op covers.
    let deadRanges: [[Range<Int>]]
    /// What went wrong: an op that wrote bytes outside every live buffer.
    private(set) var violations: [String] = []
    let opNames: [String]

    /// Builds the dead ranges of each op of `program` from `plan`, over the arena's mapped bytes.
    init(program: StepProgram, plan: ArenaPlan, arena: Arena) {
        base = arena.baseAddress
        opNames = program.opNames
        let size = arena.mappedByteCount
        deadRanges = program.ops.indices.map { op in
            let live = plan.requests.indices
                .filter { plan.requests[$0].lifetime.contains(op) && plan.requests[$0].byteCount > 0 }
                .map { plan.offsets[$0]..<(plan.offsets[$0] + plan.requests[$0].byteCount) }
                .sorted { $0.lowerBound < $1.lowerBound }
            var dead: [Range<Int>] = []
            var cursor = 0
            for range in live {
                if range.lowerBound > cursor { dead.append(cursor..<range.lowerBound) }
                cursor = max(cursor, range.upperBound)
            }
            if cursor < size { dead.append(cursor..<size) }
            return dead
        }
    }

    /// Poisons the bytes dead at op `index`.
    func beforeOp(_ index: Int) {
        for range in deadRanges[index] {
            (base + range.lowerBound).initializeMemory(as: UInt8.self, repeating: 0xFF, count: range.count)
        }
    }

    /// Checks that op `index` left the bytes dead at it untouched.
    func afterOp(_ index: Int) {
        for range in deadRanges[index] {
            let bytes = (base + range.lowerBound).assumingMemoryBound(to: UInt8.self)
            for offset in 0..<range.count where bytes[offset] != 0xFF {
                violations.append(
                    "op \(index) (\(opNames[index])) wrote arena byte \(range.lowerBound + offset), outside every live buffer")
                break
            }
        }
    }
}
