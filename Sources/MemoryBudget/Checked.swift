// Checked Int arithmetic that throws instead of trapping: profiles can ask for absurd sizes.

/// Adds and multiplies byte counts, throwing `BudgetError.overflow` naming the quantity.
/// The quantity's name is an autoclosure: it is only built when something overflows.
public struct Checked: Sendable {
    /// What the numbers belong to, for the message (a profile name).
    public let context: String

    public init(context: String) {
        self.context = context
    }

    public func multiply(_ a: Int, _ b: Int, what: @autoclosure () -> String) throws(BudgetError) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw .overflow(quantity: what(), context: context) }
        return product
    }

    public func multiply(_ a: Int, _ b: Int, _ c: Int, what: @autoclosure () -> String) throws(BudgetError) -> Int {
        try multiply(try multiply(a, b, what: what()), c, what: what())
    }

    public func add(_ a: Int, _ b: Int, what: @autoclosure () -> String) throws(BudgetError) -> Int {
        let (total, overflow) = a.addingReportingOverflow(b)
        guard !overflow else { throw .overflow(quantity: what(), context: context) }
        return total
    }

    public func sum(_ values: [Int], what: @autoclosure () -> String) throws(BudgetError) -> Int {
        var result = 0
        for value in values { result = try add(result, value, what: what()) }
        return result
    }
}

/// Why a budget cannot be computed.
public enum BudgetError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A byte or element count exceeds `Int.max` (about 9.2e18 bytes, 8 EiB).
    case overflow(quantity: String, context: String)
    /// A split over devices the model or the strategy cannot take (`DeviceBudget`).
    case unshardable(strategy: String, devices: Int, reason: String, hint: String)

    public var description: String {
        switch self {
        case .overflow(let quantity, let context):
            "\(context): \(quantity) would exceed \(Int.max) (2⁶³−1, about 8 EiB), the largest number memplan counts in; "
                + "check the profile for a mistyped width, parameter count or batch size"
        case .unshardable(let strategy, let devices, let reason, let hint):
            "--strategy \(strategy) over \(devices) devices: \(reason); \(hint)"
        }
    }
}
