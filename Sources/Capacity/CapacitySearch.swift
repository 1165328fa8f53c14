// The largest value for which a monotone "fits" predicate holds: batch sizes, model scales.

import ArenaPlanner
import MemoryBudget
import ModelProfile

/// Exact search for the largest `n` in `1 … limit` with `fits(n)`, for predicates that are true
/// up to some point and false after it (a planned arena grows with the batch).
///
///     let batch = CapacitySearch.largest(upTo: 1 << 40) { try arena(batch: $0) <= budget }
///
/// Exponential probing then bisection: O(log n) calls. Returns 0 when `fits(1)` is false.
/// A predicate that throws (an overflow past the limit) counts as not fitting.
public enum CapacitySearch {
    public static func largest(upTo limit: Int, _ fits: (Int) throws -> Bool) -> Int {
        func holds(_ n: Int) -> Bool { (try? fits(n)) ?? false }
        guard limit >= 1, holds(1) else { return 0 }
        var low = 1  // fits
        var high = 2  // first probe
        while high <= limit, holds(high) {
            low = high
            let (doubled, overflow) = high.multipliedReportingOverflow(by: 2)
            high = overflow ? limit + 1 : doubled
        }
        high = min(high, limit + 1)  // does not fit, or is past the limit
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if holds(middle) { low = middle } else { high = middle }
        }
        return low
    }
}

/// Capacity of a bound (lecture-style) profile in closed form.
extension MemoryBudget {
    /// The largest batch B with P·s·(2 + m) + B·(P·s + S) ≤ limit, or 0 if not even B = 1 fits.
    public static func maximumBatch(_ bound: BoundModel, limit: Int) -> Int {
        CapacitySearch.largest(upTo: Int.max / 2) { batch in
            (try? estimate(try bound.with(batchSize: batch)).totalByteCount).map { $0 <= limit } ?? false
        }
    }

    /// The largest parameter count whose bound at the profile's batch fits `limit`.
    public static func maximumParameters(_ bound: BoundModel, limit: Int) -> Int {
        CapacitySearch.largest(upTo: Int.max / 2) { parameters in
            guard
                let candidate = try? BoundModel(
                    name: bound.name, parameterCount: parameters, sampleByteCount: bound.sampleByteCount,
                    precision: bound.precision,
                    batchSize: bound.batchSize, optimizer: bound.optimizer)
            else { return false }
            return (try? estimate(candidate).totalByteCount).map { $0 <= limit } ?? false
        }
    }
}
