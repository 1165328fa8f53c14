// A buffer the planner must place: its size and the inclusive range of ops during which it is live.

import MemoryBudget

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

extension BufferRequest {
    /// One buffer per tensor, in order: persistent tensors live at every op, the others from the first op that reads
    /// or writes them to the last (inclusive), as `StepProgram` derives them.
    ///
    /// - Precondition: every op touches only declared tensors, and every non-persistent tensor is touched.
    public static func lifetimes(of tensors: [TensorSpec], ops: [OpAccess]) -> [BufferRequest] {
        let last = max(0, ops.count - 1)
        let declared = Set(tensors.map(\.id))
        var first: [TensorID: Int] = [:]
        var final: [TensorID: Int] = [:]
        for (index, access) in ops.enumerated() {
            for id in access.touched {
                precondition(declared.contains(id), "lifetimes: \(access.name) touches \(id), which no tensor declares")
                if first[id] == nil { first[id] = index }
                final[id] = index
            }
        }
        return tensors.map { spec in
            let lifetime: ClosedRange<Int>
            if spec.isPersistent {
                lifetime = 0...last
            } else {
                guard let start = first[spec.id], let end = final[spec.id] else {
                    preconditionFailure("lifetimes: no op touches \(spec.name); a table declared a tensor it never uses")
                }
                lifetime = start...end
            }
            return BufferRequest(name: spec.name, byteCount: spec.byteCount, lifetime: lifetime, category: spec.category)
        }
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
    /// A plan placed two buffers that are live at the same op on shared bytes.
    case overlap(first: String, second: String, op: Int)
    /// A plan placed a buffer misaligned or past the end of its arena.
    case outsideArena(name: String, offset: Int, arenaByteCount: Int)

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
        case .overlap(let first, let second, let op):
            "buffers '\(first)' and '\(second)' are both live at op \(op) but share bytes"
        case .outsideArena(let name, let offset, let arena):
            "buffer '\(name)' at offset \(offset) is misaligned or runs past the arena's \(arena) bytes"
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
