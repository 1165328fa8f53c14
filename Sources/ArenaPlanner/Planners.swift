// Placement strategies behind one small interface: no reuse, greedy by size, sweep, and the best of them.

/// Places buffers in one arena so that buffers live at the same op never share bytes.
///
///     let requests = [
///         BufferRequest(name: "a", byteCount: 100, lifetime: 0...1),
///         BufferRequest(name: "b", byteCount: 50, lifetime: 2...3),
///     ]
///     let plan = try GreedyPlanner().plan(requests, alignment: 64)
///     plan.offsets            // [0, 0]: a and b are never live together
///     plan.arenaByteCount     // 100
///
/// Strategies can be swapped without changing the caller.
public protocol MemoryPlanner: Sendable {
    /// A short name for reports, e.g. `greedy-by-size`.
    var name: String { get }
    /// Offsets for `requests` (in order) with every offset a multiple of `alignment`.
    ///
    /// - Throws: `PlanError` for an alignment that is not a power of two, a negative size, a
    ///   lifetime that starts before op 0, or an arena larger than `Int.max`.
    func plan(_ requests: [BufferRequest], alignment: Int) throws(PlanError) -> ArenaPlan
}

extension MemoryPlanner {
    /// The plan at 64-byte alignment (a cache line).
    public func plan(_ requests: [BufferRequest]) throws(PlanError) -> ArenaPlan { try plan(requests, alignment: 64) }
}

/// A planner that places the requests itself. Its plan is assembled here, once: the requests and alignment are
/// validated before `place` sees them, and the plan carries the planner's `name` as its strategy. Internal, so that
/// nothing outside this module can call `place` on requests that were not validated.
protocol PlacementStrategy: MemoryPlanner {
    /// Offsets for validated `requests` (in order), every one a multiple of `alignment`, and the arena's size: the
    /// end of the highest placed buffer.
    func place(_ requests: [BufferRequest], alignment: Int) throws(PlanError) -> (offsets: [Int], arenaByteCount: Int)
}

extension PlacementStrategy {
    public func plan(_ requests: [BufferRequest], alignment: Int) throws(PlanError) -> ArenaPlan {
        try validate(requests, alignment: alignment)
        let (offsets, arenaByteCount) = try place(requests, alignment: alignment)
        return ArenaPlan(
            requests: requests, offsets: offsets, arenaByteCount: arenaByteCount, alignment: alignment, strategy: name)
    }
}

// MARK: - No reuse

/// The baseline: every buffer gets its own range, in request order (TFLM's `LinearMemoryPlanner`).
/// The arena is the sum of the aligned sizes.
public struct LinearPlanner: PlacementStrategy {
    public let name = "linear"
    public init() {}

    func place(_ requests: [BufferRequest], alignment: Int) throws(PlanError) -> (offsets: [Int], arenaByteCount: Int) {
        var offsets: [Int] = []
        offsets.reserveCapacity(requests.count)
        var top = 0
        for request in requests {
            guard let start = alignUp(top, alignment) else { throw .overflow(name: request.name) }
            let (end, overflow) = start.addingReportingOverflow(request.byteCount)
            guard !overflow else { throw .overflow(name: request.name) }
            offsets.append(start)
            top = end
        }
        return (offsets, top)
    }
}

// MARK: - Greedy by size

/// Greedy by size with best-fit gap search (TensorFlow Lite's arena planner; Pisarchyk & Lee 2020,
/// "Efficient Memory Management for Deep Neural Net Inference"):
///
/// 1. Order the buffers: by default persistent ones first (live at every op), then by size,
///    largest first, ties by first use. Large buffers go in first so small ones fill the gaps.
/// 2. For each buffer, collect the already placed buffers whose lifetimes overlap it, sorted by
///    offset, and walk the gaps between them.
/// 3. Take the smallest gap the buffer fits in (best fit; a gap of exactly its size ends the
///    search), or else the first offset above all of them.
///
/// Not optimal — the general problem is NP-hard — but close on real schedules. Each placement
/// scans the placed buffers, so planning n buffers costs O(n² + K log K) for K overlapping pairs;
/// `BestPlanner` falls back to `SweepPlanner` when that is too much.
public struct GreedyPlanner: PlacementStrategy {
    /// The order in which buffers are placed.
    public enum Ordering: String, Sendable, CaseIterable {
        /// Persistent first, then size descending, then first use (TFLite).
        case sizeDescending = "greedy-by-size"
        /// Longest lifetime first, then size.
        case lifetimeDescending = "greedy-by-lifetime"
        /// Largest area (size × lifetime) first.
        case areaDescending = "greedy-by-area"
        /// Earliest start first, larger first at equal starts.
        case startAscending = "greedy-by-start"
        /// Latest end first, larger first at equal ends.
        case endDescending = "greedy-by-end"

        var keys: [PlacementKey] {
            switch self {
            case .sizeDescending: [.persistentFirst, .largest, .earliestStart]
            case .lifetimeDescending: [.longest, .largest]
            case .areaDescending: [.largestArea]
            case .startAscending: [.earliestStart, .largest]
            case .endDescending: [.latestEnd, .largest]
            }
        }
    }

    public let ordering: Ordering
    public var name: String { ordering.rawValue }

    public init(ordering: Ordering = .sizeDescending) {
        self.ordering = ordering
    }

    func place(_ requests: [BufferRequest], alignment: Int) throws(PlanError) -> (offsets: [Int], arenaByteCount: Int) {
        let order = PlacementKey.order(requests, by: ordering.keys)
        var offsets = [Int](repeating: 0, count: requests.count)
        var placed: [Int] = []
        placed.reserveCapacity(requests.count)
        var overlapping: [(offset: Int, end: Int)] = []
        var arena = 0
        for index in order {
            let request = requests[index]
            guard request.byteCount > 0 else { continue }
            let first = request.lifetime.lowerBound
            let last = request.lifetime.upperBound
            overlapping.removeAll(keepingCapacity: true)
            for other in placed {
                let lifetime = requests[other].lifetime
                if lifetime.lowerBound <= last, first <= lifetime.upperBound {
                    overlapping.append((offsets[other], offsets[other] + requests[other].byteCount))
                }
            }
            overlapping.sort { $0.offset < $1.offset }
            var candidate = 0
            var best: (offset: Int, gap: Int)?
            for range in overlapping {
                if range.offset >= candidate {
                    let gap = range.offset - candidate
                    if gap >= request.byteCount, best == nil || gap < best!.gap {
                        best = (candidate, gap)
                        if gap == request.byteCount { break }
                    }
                }
                if range.end > candidate {
                    guard let aligned = alignUp(range.end, alignment) else { throw .overflow(name: request.name) }
                    candidate = aligned
                }
            }
            let offset = best?.offset ?? candidate
            let (end, overflow) = offset.addingReportingOverflow(request.byteCount)
            guard !overflow else { throw .overflow(name: request.name) }
            offsets[index] = offset
            arena = max(arena, end)
            placed.append(index)
        }
        return (offsets, arena)
    }
}

// MARK: - Sweep

/// Online best fit in op order, like a heap allocator replaying the schedule: at each op, free
/// the buffers whose lifetime ended at the op before, then allocate the ones that start (larger
/// first) in the smallest free block that fits, else at the top. Stack-like lifetimes (forward
/// activations freed in reverse by the backward pass) pack without waste.
///
/// O(n log n + n·F) for F free blocks; used where the greedy's O(n²) scan is too slow.
public struct SweepPlanner: PlacementStrategy {
    public let name = "sweep"
    public init() {}

    func place(_ requests: [BufferRequest], alignment: Int) throws(PlanError) -> (offsets: [Int], arenaByteCount: Int) {
        let order = PlacementKey.order(requests, by: [.earliestStart, .largest], skippingEmpty: true)
        var offsets = [Int](repeating: 0, count: requests.count)
        var free = FreeList()
        var ending = MinHeap()  // (last op, index) of allocated buffers
        var high = 0
        for index in order {
            let request = requests[index]
            while let soonest = ending.peek, soonest.key < request.lifetime.lowerBound {
                ending.pop()
                let other = soonest.value
                free.release(offset: offsets[other], size: requests[other].byteCount)
            }
            guard let offset = free.allocate(size: request.byteCount, alignment: alignment, high: &high) else {
                throw .overflow(name: request.name)
            }
            offsets[index] = offset
            ending.push(key: request.lifetime.upperBound, value: index)
        }
        return (offsets, high)
    }
}

/// Free byte ranges below the high-water mark, sorted by offset and merged.
struct FreeList {
    private var blocks: [(offset: Int, end: Int)] = []

    /// Best fit among free blocks; else extends the last block if it touches `high`; else the top.
    mutating func allocate(size: Int, alignment: Int, high: inout Int) -> Int? {
        var best: (block: Int, offset: Int, slack: Int)?
        for (position, block) in blocks.enumerated() {
            guard let start = alignUp(block.offset, alignment), start + size <= block.end else { continue }
            let slack = block.end - block.offset - size
            if best == nil || slack < best!.slack { best = (position, start, slack) }
            if slack == 0 { break }
        }
        if let best {
            take(block: best.block, from: best.offset, size: size)
            return best.offset
        }
        var start: Int
        if let last = blocks.last, last.end == high, let aligned = alignUp(last.offset, alignment) {
            start = aligned
            blocks.removeLast()
            if start > last.offset { blocks.append((last.offset, start)) }
        } else {
            guard let aligned = alignUp(high, alignment) else { return nil }
            start = aligned
            if start > high { blocks.append((high, start)) }
        }
        let (end, overflow) = start.addingReportingOverflow(size)
        guard !overflow else { return nil }
        high = end
        return start
    }

    private mutating func take(block position: Int, from start: Int, size: Int) {
        let block = blocks[position]
        var replacement: [(offset: Int, end: Int)] = []
        if start > block.offset { replacement.append((block.offset, start)) }
        if start + size < block.end { replacement.append((start + size, block.end)) }
        blocks.replaceSubrange(position...position, with: replacement)
    }

    mutating func release(offset: Int, size: Int) {
        guard size > 0 else { return }
        var low = 0
        var high = blocks.count
        while low < high {
            let mid = (low + high) / 2
            if blocks[mid].offset < offset { low = mid + 1 } else { high = mid }
        }
        var block = (offset: offset, end: offset + size)
        var removeFrom = low
        var removeTo = low
        if low > 0, blocks[low - 1].end >= block.offset {
            block.offset = blocks[low - 1].offset
            block.end = max(block.end, blocks[low - 1].end)
            removeFrom = low - 1
        }
        while removeTo < blocks.count, blocks[removeTo].offset <= block.end {
            block.end = max(block.end, blocks[removeTo].end)
            removeTo += 1
        }
        blocks.replaceSubrange(removeFrom..<removeTo, with: [block])
    }
}

/// A binary min-heap of (key, value) pairs.
struct MinHeap {
    private var items: [(key: Int, value: Int)] = []

    var peek: (key: Int, value: Int)? { items.first }

    mutating func push(key: Int, value: Int) {
        items.append((key, value))
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].key < items[parent].key else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() {
        guard !items.isEmpty else { return }
        items.swapAt(0, items.count - 1)
        items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count, items[left].key < items[smallest].key { smallest = left }
            if right < items.count, items[right].key < items[smallest].key { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

// MARK: - Skyline (best fit by lifetime)

/// Best-fit strip packing over the op axis (Sekiyama et al. 2018, "Profile-guided memory
/// optimization for deep neural networks", after Burke et al.'s best-fit heuristic):
///
/// 1. Keep a skyline: for each op, the offset below which everything is taken.
/// 2. Find the lowest skyline segment (a run of ops at one height, leftmost on ties).
/// 3. Place there the unplaced buffer whose lifetime lies inside the segment and is longest
///    (larger first on ties), raising the segment under its lifetime by its size.
/// 4. If none fits, raise the segment to its lower neighbour (that space stays unused).
///
/// O(n·(n + S)) for S segments; the portfolio uses it on small and medium plans, where it often
/// reaches the lower bound where the greedy leaves holes.
public struct SkylinePlanner: PlacementStrategy {
    /// Which fitting buffer goes first.
    public enum Preference: String, Sendable, CaseIterable {
        /// Longest lifetime, then largest (Sekiyama et al.).
        case longest = "skyline"
        /// Largest, then longest.
        case largest = "skyline-by-size"

        var keys: [PlacementKey] { self == .longest ? [.longest, .largest] : [.largest, .longest] }
    }

    public let preference: Preference
    public var name: String { preference.rawValue }

    public init(preference: Preference = .longest) {
        self.preference = preference
    }

    func place(_ requests: [BufferRequest], alignment: Int) throws(PlanError) -> (offsets: [Int], arenaByteCount: Int) {
        var offsets = [Int](repeating: 0, count: requests.count)
        // Unplaced buffers in the preference's order: the first that fits is the best.
        var unplaced = PlacementKey.order(requests, by: preference.keys, skippingEmpty: true)
        guard !unplaced.isEmpty else { return (offsets, 0) }
        let opCount = (unplaced.map { requests[$0].lifetime.upperBound }.max() ?? 0) + 1
        // Segments (first op, last op, height), contiguous over 0 ..< opCount.
        var segments: [(first: Int, last: Int, height: Int)] = [(0, opCount - 1, 0)]
        var arena = 0
        while !unplaced.isEmpty {
            var lowest = 0
            for position in segments.indices where segments[position].height < segments[lowest].height { lowest = position }
            let segment = segments[lowest]
            guard let base = alignUp(segment.height, alignment) else { throw .overflow(name: requests[unplaced[0]].name) }
            if let choice = unplaced.firstIndex(where: { index in
                let lifetime = requests[index].lifetime
                return lifetime.lowerBound >= segment.first && lifetime.upperBound <= segment.last
            }) {
                let index = unplaced.remove(at: choice)
                let request = requests[index]
                let (top, overflow) = base.addingReportingOverflow(request.byteCount)
                guard !overflow else { throw .overflow(name: request.name) }
                offsets[index] = base
                arena = max(arena, top)
                var replacement: [(first: Int, last: Int, height: Int)] = []
                if request.lifetime.lowerBound > segment.first {
                    replacement.append((segment.first, request.lifetime.lowerBound - 1, segment.height))
                }
                replacement.append((request.lifetime.lowerBound, request.lifetime.upperBound, top))
                if request.lifetime.upperBound < segment.last {
                    replacement.append((request.lifetime.upperBound + 1, segment.last, segment.height))
                }
                segments.replaceSubrange(lowest...lowest, with: replacement)
            } else {
                // Nothing fits: lift the segment to its lower neighbour and merge with it.
                let left = lowest > 0 ? segments[lowest - 1].height : Int.max
                let right = lowest + 1 < segments.count ? segments[lowest + 1].height : Int.max
                let target = min(left, right)
                precondition(target != Int.max, "SkylinePlanner: a buffer longer than the schedule")
                segments[lowest].height = target
            }
            // Merge neighbours of equal height so lifetimes spanning them can fit.
            var merged: [(first: Int, last: Int, height: Int)] = []
            merged.reserveCapacity(segments.count)
            for segment in segments {
                if let previous = merged.last, previous.height == segment.height {
                    merged[merged.count - 1].last = segment.last
                } else {
                    merged.append(segment)
                }
            }
            segments = merged
        }
        return (offsets, arena)
    }
}

// MARK: - The default

/// The default planner: runs several strategies and keeps the smallest arena.
///
/// - `LinearPlanner` and `SweepPlanner` always (O(n log n)), which keeps 100,000-buffer
///   schedules fast;
/// - every greedy ordering (`GreedyPlanner.Ordering`) and both skyline preferences while their
///   O(n²) scans stay cheap (n²/2 below `greedyWorkLimit`).
///
/// The returned plan's `strategy` names the winner.
public struct BestPlanner: MemoryPlanner {
    public let name = "best"
    /// Above this estimated work (pair checks) the greedy orderings are skipped.
    public var greedyWorkLimit: Int

    public init(greedyWorkLimit: Int = 50_000_000) {
        self.greedyWorkLimit = greedyWorkLimit
    }

    public func plan(_ requests: [BufferRequest], alignment: Int) throws(PlanError) -> ArenaPlan {
        try validate(requests, alignment: alignment)
        // No reuse is a candidate too: with tiny buffers, request order can beat size order on padding.
        var best = try LinearPlanner().plan(requests, alignment: alignment)
        let sweep = try SweepPlanner().plan(requests, alignment: alignment)
        if sweep.arenaByteCount < best.arenaByteCount { best = sweep }
        let n = requests.count
        let (square, overflow) = n.multipliedReportingOverflow(by: n)
        if !overflow, square / 2 <= greedyWorkLimit {
            var candidates: [any MemoryPlanner] = GreedyPlanner.Ordering.allCases.map { GreedyPlanner(ordering: $0) }
            candidates += SkylinePlanner.Preference.allCases.map { SkylinePlanner(preference: $0) }
            for planner in candidates {
                let candidate = try planner.plan(requests, alignment: alignment)
                if candidate.arenaByteCount < best.arenaByteCount { best = candidate }
            }
        }
        return best
    }
}
