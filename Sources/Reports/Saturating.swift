// Arithmetic for rendering numbers a file supplied: sums and products that stop at the ends of Int instead of
// trapping, and Double → Int conversions that clamp (Int(Double(Int.max)) itself traps: the Double is 2⁶³).

extension Int {
    /// `value` rounded toward zero and clamped to Int's range; 0 for NaN.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9_223_372_036_854_775_807.0 {
            self = .max
        } else if value <= -9_223_372_036_854_775_808.0 {
            self = .min
        } else {
            self = Int(value)
        }
    }

    /// `self + other`, or the end of Int's range it ran past.
    public func saturatingAdding(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self − other`, or the end of Int's range it ran past.
    public func saturatingSubtracting(_ other: Int) -> Int {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }

    /// `self × other`, or the end of Int's range it ran past.
    public func saturatingMultiplying(by other: Int) -> Int {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }
}

extension Sequence where Element == Int {
    /// The sum, stopping at the end of Int's range instead of trapping.
    public func saturatingSum() -> Int { reduce(0) { $0.saturatingAdding($1) } }
}
