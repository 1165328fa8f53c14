// The result of planning: an offset per buffer, the arena size, and checks on both.

import MemoryBudget

/// Offsets for a list of buffers in one arena.
///
///     let plan = try GreedyPlanner().plan(requests, alignment: 64)
///     plan.offsets[0]        // offset of requests[0]
///     plan.arenaByteCount    // bytes to allocate
///     plan.lowerBound        // most bytes live at any one op: no plan can be smaller
///
/// Invariants (checked by `validate()`, which every run calls before it allocates, and `memplan plan
/// --validate` prints): buffers whose lifetimes share an op occupy disjoint byte ranges; every offset is
/// a multiple of `alignment`; every buffer ends within `arenaByteCount`.
public struct ArenaPlan: Sendable {
    public let requests: [BufferRequest]
    /// `offsets[i]` is where `requests[i]` starts in the arena.
    public let offsets: [Int]
    /// max(offset + byteCount): the bytes the arena must have.
    public let arenaByteCount: Int
    public let alignment: Int
    /// Which placement produced this plan (e.g. `greedy-by-size`, `sweep`, `linear`).
    public let strategy: String

    public init(requests: [BufferRequest], offsets: [Int], arenaByteCount: Int, alignment: Int, strategy: String) {
        precondition(requests.count == offsets.count, "ArenaPlan: \(requests.count) requests but \(offsets.count) offsets")
        self.requests = requests
        self.offsets = offsets
        self.arenaByteCount = arenaByteCount
        self.alignment = alignment
        self.strategy = strategy
    }

    /// The most bytes live at any one op (exact sizes, no alignment): a lower bound on any plan.
    public var lowerBound: Int { LowerBound.peakLiveBytes(requests) ?? Int.max }

    /// Ops 0 … opCount-1 covered by the requests.
    public var opCount: Int { (requests.map(\.lifetime.upperBound).max() ?? -1) + 1 }

    /// The offset of the buffer with this name.
    public func offset(of name: String) -> Int? {
        requests.firstIndex { $0.name == name }.map { offsets[$0] }
    }

    /// Index pairs of non-empty buffers that are live at a common op and share bytes. Empty for a valid plan.
    ///
    /// O(n²) up to 4,096 buffers; above that, one sweep per op over the buffers live there.
    public func overlappingPairs() -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        let live = requests.indices.filter { requests[$0].byteCount > 0 }
        if live.count <= 4096 {
            for (position, i) in live.enumerated() {
                for j in live[(position + 1)...] where requests[i].overlapsInTime(requests[j]) {
                    let (a, b) = (offsets[i], offsets[j])
                    if a < b + requests[j].byteCount, b < a + requests[i].byteCount { pairs.append((i, j)) }
                }
            }
            return pairs
        }
        var seen = Set<Int>()
        for op in 0..<opCount {
            let here = live.filter { requests[$0].lifetime.contains(op) }.sorted { offsets[$0] < offsets[$1] }
            var furthest: Int?
            for index in here {
                if let previous = furthest, offsets[index] < offsets[previous] + requests[previous].byteCount {
                    let key = min(previous, index) &* 1_000_003 &+ max(previous, index)
                    if seen.insert(key).inserted { pairs.append((min(previous, index), max(previous, index))) }
                }
                if furthest == nil
                    || offsets[index] + requests[index].byteCount > offsets[furthest!] + requests[furthest!].byteCount
                {
                    furthest = index
                }
            }
        }
        return pairs
    }

    /// Throws the first broken invariant: two buffers live at a common op that share bytes, or a buffer that is
    /// misaligned or runs past the arena.
    public func validate() throws(PlanError) {
        if let (i, j) = overlappingPairs().first {
            let shared = max(requests[i].lifetime.lowerBound, requests[j].lifetime.lowerBound)
            throw .overlap(first: requests[i].name, second: requests[j].name, op: shared)
        }
        for index in requests.indices {
            let end = offsets[index].addingReportingOverflow(requests[index].byteCount)
            guard offsets[index] >= 0, offsets[index] % alignment == 0, !end.overflow, end.partialValue <= arenaByteCount else {
                throw .outsideArena(name: requests[index].name, offset: offsets[index], arenaByteCount: arenaByteCount)
            }
        }
    }

    /// Whether every offset is aligned and every buffer ends inside the arena.
    public var isWithinArena: Bool {
        requests.indices.allSatisfy { index in
            offsets[index] >= 0 && offsets[index] % alignment == 0 && offsets[index] + requests[index].byteCount <= arenaByteCount
        }
    }

    /// Bytes of each category, summed over buffers.
    public func bytes(of category: BufferCategory) -> Int {
        requests.reduce(0) { $1.category == category ? $0 + $1.byteCount : $0 }
    }

    /// What the kernel must map for the arena: ⌈arenaByteCount / pageSize⌉ pages, at least one, × pageSize (`Arena`
    /// maps exactly that). An arena within a page of `Int.max` has no such size: the result saturates at the last
    /// whole page, below the arena, and `Arena` refuses to allocate it.
    public func mappedByteCount(pageSize: Int) -> Int {
        precondition(pageSize > 0, "a page has bytes")
        let pages = arenaByteCount / pageSize + (arenaByteCount % pageSize == 0 ? 0 : 1)
        let (bytes, overflow) = max(1, pages).multipliedReportingOverflow(by: pageSize)
        return overflow ? Int.max / pageSize * pageSize : bytes
    }
}

/// The lower bound of any plan: the largest sum of bytes live at one op.
public enum LowerBound {
    /// max over ops t of Σ byteCount of requests live at t; nil if the sum overflows Int.
    /// O(n log n) over start and end events.
    public static func peakLiveBytes(_ requests: [BufferRequest]) -> Int? {
        var events: [(op: Int, delta: Int)] = []
        events.reserveCapacity(requests.count * 2)
        for request in requests where request.byteCount > 0 {
            events.append((request.lifetime.lowerBound, request.byteCount))
            events.append((request.lifetime.upperBound + 1, -request.byteCount))
        }
        // At equal ops, ends (negative deltas) apply before starts: a buffer ending at op t-1 and
        // one starting at op t never coexist.
        events.sort { $0.op != $1.op ? $0.op < $1.op : $0.delta < $1.delta }
        var live = 0
        var peak = 0
        for event in events {
            let (sum, overflow) = live.addingReportingOverflow(event.delta)
            guard !overflow else { return nil }
            live = sum
            peak = max(peak, live)
        }
        return peak
    }
}
