// Where an arena's pages should live.

/// A memory placement policy for the arena.
public enum Placement: Sendable, Hashable, CustomStringConvertible {
    /// Pages on the node of the CPU that first touches them (the kernel's default policy).
    case local
    /// Every page on node N (`numa_alloc_onnode`); the training threads are bound to N's CPUs.
    case node(Int)
    /// Pages spread round-robin over all nodes (`numa_alloc_interleaved`), page by page: the arena is advised
    /// MADV_NOHUGEPAGE, so no transparent huge page puts 512 pages on one node.
    case interleave

    /// Parses `local`, `node:N` (or `nodeN`) and `interleave`.
    public init?(_ text: String) {
        let lowered = text.lowercased()
        switch lowered {
        case "local": self = .local
        case "interleave", "interleaved": self = .interleave
        default:
            var digits = Substring(lowered)
            if digits.hasPrefix("node:") {
                digits = digits.dropFirst(5)
            } else if digits.hasPrefix("node") {
                digits = digits.dropFirst(4)
            } else {
                return nil
            }
            guard !digits.isEmpty, digits.allSatisfy(\.isNumber), let node = Int(digits), node < 1 << 20 else { return nil }
            self = .node(node)
        }
    }

    public var description: String {
        switch self {
        case .local: "local"
        case .node(let node): "node:\(node)"
        case .interleave: "interleave"
        }
    }
}
