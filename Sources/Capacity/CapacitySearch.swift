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

extension CapacitySearch {
    /// The largest `n` in `1 … limit` whose `measure(n)` (bytes that grow with n; nil or a throw: too large to
    /// measure) is ≤ `budget`; 0 when n = 1 is over it.
    ///
    /// For measures costly to take at large n (a transformer's step planned at 500 blocks): the first probes extrapolate
    /// the growth seen so far to the budget (overshooting by 5%, so the answer is soon bracketed), then regula falsi
    /// interpolates inside the bracket, falling back to bisection whenever an interpolation fails to halve it. An
    /// affine measure takes about five probes; any monotone one at most about twice bisection's.
    public static func largest(upTo limit: Int, budget: Int, measure: (Int) throws -> Int?) -> Int {
        func value(_ n: Int) -> Int? { (try? measure(n)) ?? nil }
        guard limit >= 1, let first = value(1), first <= budget else { return 0 }
        var (low, lowValue) = (1, first)
        var previous = (n: 1, value: first)
        var next = 2
        var high = limit + 1
        var highValue: Int?
        // Bracket: low fits, high does not (or is past the limit).
        while high > limit {
            next = min(next, limit)
            guard next > low else { return low }
            let measuredNext = value(next)
            guard let measured = measuredNext, measured <= budget else {
                (high, highValue) = (next, measuredNext)
                break
            }
            previous = (low, lowValue)
            (low, lowValue) = (next, measured)
            if low == limit { return limit }
            let slope = Double(lowValue - previous.value) / Double(low - previous.n)
            let guess = slope > 0 ? Double(low) + Double(budget - lowValue) / slope * 1.05 + 1 : Double(2 * low)
            next = Int(min(max(guess, Double(low + 1)), Double(low) * 1_024, Double(limit)))
        }
        // Narrow: interpolate, bisect when an interpolation did not halve the bracket.
        var bisectNext = false
        while high - low > 1 {
            var probe = low + (high - low) / 2
            if !bisectNext, let highValue, highValue > lowValue {
                let fraction = Double(budget - lowValue) / Double(highValue - lowValue)
                probe = low + Int((fraction * Double(high - low)).rounded(.down))
                probe = min(max(probe, low + 1), high - 1)
            }
            let width = high - low
            let measured = value(probe)
            if let measured, measured <= budget {
                (low, lowValue) = (probe, measured)
            } else {
                (high, highValue) = (probe, measured)
            }
            bisectNext = !bisectNext && (high - low) * 2 > width
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
