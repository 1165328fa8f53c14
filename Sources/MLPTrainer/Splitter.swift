// How an op is split over the worker pool's parts, and the rules the trainer and the GEMM ceiling share.
// Products are split by the parts' measured speeds only where the result cannot depend on the split.

import CGEMM

/// How one op is split into parts: part p's share of `count` items (by the parts' measured speeds).
struct Splitter {
    let pool: WorkerPool?
    let partCount: Int

    /// Part `part`'s range of `count` items (`WorkerPool.range(of:count:granule:records:)`), by the parts' speeds:
    /// for ops whose every item's result does not depend on the split (elementwise, per row, per column).
    @inline(__always)
    func share(_ part: Int, of count: Int, granule: Int = 1, records: Bool = true) -> Range<Int> {
        pool?.range(of: part, count: count, granule: granule, records: records) ?? 0..<count
    }

    /// Part `part`'s range of a product's split edge (`count` items; `edges` its other two): by the parts' speeds
    /// when memplan's own kernels take every part's product — their results do not depend on where a part starts —
    /// else equal shares, because BLAS's rounding may follow the split (and a part too small for the kernels would
    /// fall to BLAS). So the results depend on the seed and the thread count, never on timing.
    @inline(__always)
    func productShare(_ part: Int, of count: Int, granule: Int, edges: (Int, Int), records: Bool = true) -> Range<Int> {
        guard let pool else { return 0..<count }
        let balanced = SplitRules.ownKernelsTakeEveryPart(
            count: count, granule: granule, edges: edges, smallestFraction: pool.smallestPartFraction)
        return pool.range(of: part, count: count, granule: granule, records: records, balanced: balanced)
    }
}

/// Split rules shared by the trainer and the GEMM ceiling, so both split every product the same way.
public enum SplitRules {
    /// Rows are split when each part gets at least this many; otherwise columns are.
    public static var minimumRowsPerPart: Int { 8 }

    /// C's rows go to parts in multiples of the kernels' row tile (8).
    public static var rowGranule: Int { 8 }

    /// C's columns go to parts in multiples of the kernels' panel width (two 64-byte vectors: 32 floats, 16 doubles).
    public static func columnGranule<T>(_: T.Type) -> Int { 128 / MemoryLayout<T>.stride }

    /// Whether memplan's own kernels take a product's every part however the shares fall: they are enabled (AVX-512F),
    /// the product's other two edges are at least 16, and the smallest part a share can get (its fraction of
    /// `count`, less a granule lost to rounding on each side) is at least 16.
    @inline(__always)
    static func ownKernelsTakeEveryPart(count: Int, granule: Int, edges: (Int, Int), smallestFraction: Double) -> Bool {
        guard memplan_gemm_enabled() != 0, memplan_gemm_takes(16, Int32(clamping: edges.0), Int32(clamping: edges.1)) != 0
        else { return false }
        return Double(count) * smallestFraction - Double(2 * granule) >= 16
    }

    /// Whether fwd k splits its outputs (W's rows) rather than the batch rows across parts: each
    /// part then reads all of x and its share of W instead of its share of x and all of W, which
    /// reads less when the layer has more outputs than the batch has rows, and for small batches.
    @inline(__always)
    public static func forwardSplitsOutputs(rows: Int, outputs: Int, parts: Int) -> Bool {
        guard parts > 1, outputs >= parts else { return false }
        return rows < parts * minimumRowsPerPart || outputs > rows
    }
}
