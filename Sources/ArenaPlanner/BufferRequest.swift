// A buffer the planner must place: its size and the inclusive range of ops during which it is live.

/// What a buffer holds; reports group bytes by category.
public enum BufferCategory: String, CaseIterable, Sendable, Codable, Hashable {
    case parameters
    case gradients
    case optimizer
    /// The batch's features x and targets y.
    case inputs
    /// Layer outputs a_l (and, after the loss, dz_L in place of a_L).
    case activations
    /// Backward deltas dz_l = ∂L/∂z_l of hidden layers.
    case deltas
    /// The dataset decoded once, and the shuffle order (training runs only).
    case data
}

/// A buffer to place.
///
/// `lifetime` is inclusive at both ends, in op indices of the schedule: the buffer must hold its
/// value from before op `lifetime.lowerBound` runs until after op `lifetime.upperBound` has run.
/// Two buffers whose lifetimes share an op may not share bytes.
public struct BufferRequest: Sendable, Hashable, Codable {
    public var name: String
    public var byteCount: Int
    public var lifetime: ClosedRange<Int>
    public var category: BufferCategory

    public init(name: String, byteCount: Int, lifetime: ClosedRange<Int>, category: BufferCategory = .activations) {
        self.name = name
        self.byteCount = byteCount
        self.lifetime = lifetime
        self.category = category
    }

    /// Whether the two lifetimes share at least one op.
    public func overlapsInTime(_ other: BufferRequest) -> Bool {
        lifetime.lowerBound <= other.lifetime.upperBound && other.lifetime.lowerBound <= lifetime.upperBound
    }
}

/// Why buffers cannot be planned.
public enum PlanError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The alignment is not a positive power of two.
    case invalidAlignment(Int)
    case negativeSize(name: String, byteCount: Int)
    case invalidLifetime(name: String, first: Int, last: Int)
    /// The arena would exceed `Int.max` bytes.
    case overflow(name: String)

    public var description: String {
        switch self {
        case .invalidAlignment(let alignment):
            "alignment must be a power of two such as 64 (1, 2, 4, … 4096), got \(alignment)"
        case .negativeSize(let name, let byteCount):
            "buffer '\(name)' has a negative size (\(byteCount) bytes)"
        case .invalidLifetime(let name, let first, let last):
            "buffer '\(name)' has lifetime [\(first), \(last)]; it must start at op 0 or later and end no earlier than it starts"
        case .overflow(let name):
            "placing buffer '\(name)' would take the arena past \(Int.max) bytes (8 EiB); use a smaller batch or model"
        }
    }
}

/// Rounds `value` up to a multiple of `alignment` (a power of two), or nil on overflow.
@inline(__always)
func alignUp(_ value: Int, _ alignment: Int) -> Int? {
    let (sum, overflow) = value.addingReportingOverflow(alignment - 1)
    guard !overflow else { return nil }
    return sum & ~(alignment - 1)
}

/// Checks the requests and alignment every planner accepts.
func validate(_ requests: [BufferRequest], alignment: Int) throws(PlanError) {
    guard alignment > 0, alignment & (alignment - 1) == 0 else { throw .invalidAlignment(alignment) }
    for request in requests {
        guard request.byteCount >= 0 else { throw .negativeSize(name: request.name, byteCount: request.byteCount) }
        guard request.lifetime.lowerBound >= 0 else {
            throw .invalidLifetime(name: request.name, first: request.lifetime.lowerBound, last: request.lifetime.upperBound)
        }
    }
}
