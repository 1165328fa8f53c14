// What can go wrong placing an arena: each case carries the numbers and says what to do.

/// Why an arena could not be allocated or placed.
public enum NUMAError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `node:N` names a node the machine does not have.
    case noSuchNode(requested: Int, available: [Int])
    /// The arena is larger than the free memory where it must go.
    case insufficientMemory(requiredBytes: Int, freeBytes: Int, whereTo: String)
    /// The allocation call failed (`numa_alloc_onnode`, `mmap`, …).
    case allocationFailed(bytes: Int, function: String)
    /// NUMA placement was asked for on a machine without NUMA support.
    case unavailable(placement: String)

    public var description: String {
        switch self {
        case .noSuchNode(let requested, let available):
            "NUMA node \(requested) does not exist on this machine; it has node\(available.count == 1 ? "" : "s") "
                + available.map(String.init).joined(separator: ", ")
                + " (see `memplan topology`)"
        case .insufficientMemory(let required, let free, let whereTo):
            "the arena needs \(grouped(required)) bytes but \(whereTo) has \(grouped(free)) bytes free; "
                + "use a smaller batch or model, another placement, or --force to try anyway"
        case .allocationFailed(let bytes, let function):
            "\(function) could not allocate \(grouped(bytes)) bytes"
        case .unavailable(let placement):
            "--placement \(placement) needs NUMA support, and libnuma reports none on this machine; use --placement local"
        }
    }

    /// Every case is a resource the machine lacks (exit status 3).
    public var isResourceError: Bool { true }
}

/// Thousands separators (NUMAArena depends on no other memplan module, so it keeps its own copy).
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var result = ""
    for (index, character) in digits.enumerated() {
        if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(character)
    }
    return value < 0 ? "-" + result : result
}
