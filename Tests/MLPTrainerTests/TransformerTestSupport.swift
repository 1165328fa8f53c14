// Test-only helpers for the transformer kernels: owned buffers, splitting a range into parts, finite differences.

@testable import MLPTrainer
import ModelProfile

typealias K = TransformerKernels

/// An owned buffer a kernel can take the pointer of; freed with the object.
///
/// Test code only.
final class Slab<Element> {
    let p: UnsafeMutablePointer<Element>
    let count: Int

    init(_ count: Int, repeating value: Element) {
        self.count = count
        p = .allocate(capacity: max(count, 1))
        p.initialize(repeating: value, count: max(count, 1))
    }

    init(_ values: [Element]) {
        count = values.count
        p = .allocate(capacity: max(count, 1))
        if values.isEmpty { return }
        _ = UnsafeMutableBufferPointer(start: p, count: count).initialize(from: values)
    }

    deinit {
        p.deinitialize(count: max(count, 1))
        p.deallocate()
    }

    var array: [Element] { Array(UnsafeBufferPointer(start: p, count: count)) }

    subscript(index: Int) -> Element {
        get { p[index] }
        set { p[index] = newValue }
    }
}

extension Slab where Element: TrainingScalar {
    /// `count` samples of offset + scale·N(0, 1).
    convenience init(normal count: Int, _ generator: inout SplitMix64, scale: Double = 1, offset: Double = 0) {
        self.init((0..<count).map { _ in Element(offset + scale * generator.nextNormal()) })
    }

    /// A copy, for a kernel that works in place.
    func copy() -> Slab<Element> { Slab(array) }

    var doubles: [Double] { array.map { Double($0) } }
}

/// `count` split into `parts` complementary ranges, uneven on purpose (the first part is the smallest).
func split(_ count: Int, parts: Int) -> [Range<Int>] {
    guard parts > 1 else { return [0..<count] }
    var bounds = [0]
    for part in 1..<parts { bounds.append(min(count, max(bounds[part - 1], (part * count) / parts - 1))) }
    bounds.append(count)
    return (0..<parts).map { bounds[$0]..<bounds[$0 + 1] }
}

/// Rows r0..<r1 of width `width` as an element range.
func elements(_ rows: Range<Int>, width: Int) -> Range<Int> { (rows.lowerBound * width)..<(rows.upperBound * width) }

/// Fourth-order central differences of `loss` at the listed elements of `values` (restored afterwards).
///
/// f′(x) ≈ (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h. Truncation O(h⁴); rounding about 1.5·ε·|f|/h.
func numericGradient(_ values: Slab<Double>, at indices: [Int], h: Double = 1e-3, _ loss: () -> Double) -> [Double] {
    indices.map { index in
        let saved = values[index]
        func at(_ offset: Double) -> Double {
            values[index] = saved + offset
            return loss()
        }
        let value = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)
        values[index] = saved
        return value
    }
}

/// The worst |analytic − numeric| / max(|analytic| + |numeric|, floor) over a tensor: relative where the gradient
/// is not tiny, |difference|/floor below that.
func worstRelativeError(_ analytic: [Double], _ numeric: [Double], floor: Double = 1e-3) -> Double {
    zip(analytic, numeric).map { abs($0 - $1) / max(abs($0) + abs($1), floor) }.max() ?? 0
}

/// The indices a gradient check visits: all of a small tensor, else `limit` spread over it (both ends included).
func sampleIndices(_ count: Int, limit: Int = 40) -> [Int] {
    guard count > limit else { return Array(0..<count) }
    return (0..<limit).map { $0 * (count - 1) / (limit - 1) }
}

/// Σ w ⊙ x, the scalar a kernel gradient test differentiates (so dout = w).
func weightedSum(_ x: UnsafePointer<Double>, _ w: Slab<Double>) -> Double {
    var sum = 0.0
    for i in 0..<w.count { sum += x[i] * w[i] }
    return sum
}

/// The largest |a − b| over max|b|, over two arrays of the same length (a norm-wise relative error).
func normRelativeError(_ a: [Double], _ b: [Double]) -> Double {
    let scale = b.map(abs).max() ?? 0
    let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    return scale == 0 ? difference : difference / scale
}

/// True when every element has the same bits (Float → Double is exact and one-to-one, signed zeros included).
func bitIdentical<T: TrainingScalar>(_ a: [T], _ b: [T]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { Double($0).bitPattern == Double($1).bitPattern }
}
