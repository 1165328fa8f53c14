// One allocation per plan, placed by NUMA policy, and the check of where its pages really are.

import Foundation

/// A block of memory for one planned arena.
///
/// The arena knows bytes and offsets, not models: the trainer resolves planned offsets against
/// `baseAddress`. Memory is mapped with the placement's policy (or plain anonymous memory when
/// libnuma reports no NUMA), every page is touched once at allocation so placement happens
/// there (first touch) and the run never page-faults on the arena, and it is freed on deinit.
///
///     let arena = try Arena(byteCount: plan.arenaByteCount, placement: .node(1))
///     let census = arena.pageCensus()   // pages per node, from move_pages
public final class Arena: @unchecked Sendable {
    /// Page-aligned start of the arena.
    public let baseAddress: UnsafeMutableRawPointer
    /// The bytes the plan asked for.
    public let byteCount: Int
    /// `byteCount` rounded up to whole pages: what was asked of the kernel (see `measuredByteCount()` for what it mapped).
    public let mappedByteCount: Int
    public let placement: Placement
    /// Whether the memory came from libnuma (false: plain `mmap`, NUMA unavailable).
    public let isNUMABacked: Bool
    public let pageSize: Int

    /// Allocates and prefaults `byteCount` bytes.
    ///
    /// - Parameters:
    ///   - force: skip the free-memory check.
    ///   - topology: the machine (defaults to the current one).
    /// - Throws: `NUMAError` for a node that does not exist, too little free memory (unless
    ///   `force`), NUMA placement without NUMA, or a failed allocation.
    ///   - shortfallPages: fault injection for tests: map this many pages fewer than `byteCount` needs, so the
    ///     kernel's view of the mapping (`measuredByteCount()`) is smaller than what was planned.
    public init(
        byteCount: Int, placement: Placement, force: Bool = false, topology: NUMATopology = .current(), shortfallPages: Int = 0
    ) throws(NUMAError) {
        let pageSize = ProcessMemory.pageSize
        let (rounded, overflow) = byteCount.addingReportingOverflow(pageSize - 1)
        guard !overflow, byteCount >= 0 else { throw .allocationFailed(bytes: byteCount, function: "arena") }
        let mapped = max(pageSize, rounded / pageSize * pageSize - max(0, shortfallPages) * pageSize)
        if !topology.isAvailable, placement != .local {
            if case .node(0) = placement {} else { throw .unavailable(placement: placement.description) }
        }
        if case .node(let node) = placement, topology.node(node) == nil {
            throw .noSuchNode(requested: node, available: topology.nodes.map(\.id))
        }
        if !force {
            let (free, whereTo): (Int, String)
            switch placement {
            case .node(let node): (free, whereTo) = (topology.node(node)?.freeBytes ?? 0, "node \(node)")
            case .interleave: (free, whereTo) = (topology.freeBytes, "the machine (all nodes)")
            case .local:
                let node = NUMATopology.currentNode()
                (free, whereTo) = (
                    topology.node(node)?.freeBytes ?? topology.freeBytes,
                    topology.isAvailable ? "node \(node) (local)" : "the machine"
                )
            }
            guard mapped <= free else { throw .insufficientMemory(requiredBytes: mapped, freeBytes: free, whereTo: whereTo) }
        }
        // One reservation: a PROT_NONE guard page, the arena, another guard page. The guards keep the kernel from
        // merging the arena's mapping with a neighbour's (it did, with malloc's anonymous mappings), so its line in
        // /proc/self/maps and numa_maps is the arena's alone and `measuredByteCount()` reads its real size.
        let (reservation, tooLarge) = mapped.addingReportingOverflow(2 * pageSize)
        guard !tooLarge else { throw .allocationFailed(bytes: byteCount, function: "arena") }
        let mapping = mmap(nil, reservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let mapping, mapping != MAP_FAILED else { throw .allocationFailed(bytes: mapped, function: "mmap") }
        let pointer = mapping + pageSize
        guard mprotect(pointer, mapped, PROT_READ | PROT_WRITE) == 0 else {
            munmap(mapping, reservation)
            throw .allocationFailed(bytes: mapped, function: "mprotect")
        }
        if topology.isAvailable { LibNUMA.applyPolicy(pointer, bytes: mapped, placement: placement) }
        if placement == .interleave {
            // Interleave is page by page: a transparent huge page would put 512 pages on one node (a 6 MB arena in
            // the two-node VM got one, 33% / 67%). Best effort: without THP the advice changes nothing.
            _ = madvise(pointer, mapped, MADV_NOHUGEPAGE)
        }
        self.baseAddress = pointer
        self.byteCount = byteCount
        self.mappedByteCount = mapped
        self.placement = placement
        self.isNUMABacked = topology.isAvailable
        self.pageSize = pageSize
        prefault()
    }

    deinit {
        munmap(baseAddress - pageSize, mappedByteCount + 2 * pageSize)
    }

    /// Writes one zero byte per page, so every page is resident on its policy's node now.
    public func prefault() {
        var offset = 0
        while offset < mappedByteCount {
            baseAddress.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self)
            offset += pageSize
        }
    }

    /// A typed pointer `offset` bytes into the arena.
    ///
    /// Traps (a programmer error) when the range runs past the arena or is misaligned for `T`.
    public func pointer<T>(at offset: Int, count: Int, as type: T.Type) -> UnsafeMutablePointer<T> {
        precondition(
            offset >= 0 && count >= 0 && offset + count * MemoryLayout<T>.stride <= mappedByteCount,
            "Arena.pointer: [\(offset), +\(count) × \(MemoryLayout<T>.stride)) runs past the arena (\(mappedByteCount) bytes)")
        precondition(offset % MemoryLayout<T>.alignment == 0, "Arena.pointer: offset \(offset) misaligned for \(T.self)")
        return (baseAddress + offset).bindMemory(to: T.self, capacity: max(count, 1))
    }

    /// Where the arena's pages are, per node, from `move_pages` (node of every page).
    public func pageCensus() -> PageCensus {
        let pageCount = mappedByteCount / pageSize
        var pages = (0..<pageCount).map { Optional(baseAddress + $0 * pageSize) }
        guard isNUMABacked, let status = LibNUMA.nodesOfPages(&pages) else {
            // Without NUMA every resident page is on the one implicit node 0.
            let resident = residentPageCount()
            return PageCensus(
                pageCount: pageCount, pageSize: pageSize, pagesByNode: [0: resident], notResident: pageCount - resident,
                source: "mincore")
        }
        var byNode: [Int: Int] = [:]
        var missing = 0
        for value in status {
            if value >= 0 { byNode[Int(value), default: 0] += 1 } else { missing += 1 }
        }
        return PageCensus(
            pageCount: pageCount, pageSize: pageSize, pagesByNode: byNode, notResident: missing, source: "move_pages")
    }

    /// Resident pages by `mincore`, for plain memory.
    func residentPageCount() -> Int {
        let pageCount = mappedByteCount / pageSize
        var vector = [UInt8](repeating: 0, count: pageCount)
        guard mincore(baseAddress, mappedByteCount, &vector) == 0 else { return 0 }
        return vector.reduce(0) { $0 + Int($1 & 1) }
    }

    /// The arena's size as the kernel maps it: bytes from `baseAddress` to the end of the mapping that holds it in
    /// /proc/self/maps (whole pages; guard pages keep neighbours out of it), or nil when the mapping is not found.
    /// This is what `actual.arena_bytes` reports: measured, not the size that was asked for.
    public func measuredByteCount() -> Int? {
        guard let (_, high) = Self.mapping(containing: baseAddress) else { return nil }
        return Int(high - UInt(bitPattern: baseAddress))
    }

    /// The [start, end) of the /proc/self/maps line holding `address`.
    static func mapping(containing address: UnsafeRawPointer) -> (UInt, UInt)? {
        let base = UInt(bitPattern: address)
        guard let maps = ProcessMemory.readProcFile("/proc/self/maps") else { return nil }
        for line in maps.split(separator: "\n") {
            let range = line.prefix { $0 != " " }.split(separator: "-")
            guard range.count == 2, let low = UInt(range[0], radix: 16), let high = UInt(range[1], radix: 16) else { continue }
            if low <= base, base < high { return (low, high) }
        }
        return nil
    }

    /// The /proc/self/numa_maps line of the mapping holding this arena (policy and `N<node>=<pages>`
    /// counts), if present. The kernel may merge the arena with a neighbouring mapping of the same
    /// policy, so the mapping is looked up in /proc/self/maps first.
    public func numaMapsLine() -> String? {
        let start = Self.mapping(containing: baseAddress)?.0 ?? UInt(bitPattern: baseAddress)
        guard let text = ProcessMemory.readProcFile("/proc/self/numa_maps") else { return nil }
        let prefix = String(start, radix: 16) + " "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init)
    }

    /// Binds every thread of the process to the CPUs of the placement's node (`node:N` only);
    /// returns the number of threads bound.
    @discardableResult
    public func bindThreadsToPlacementNode() -> Int {
        guard isNUMABacked, case .node(let node) = placement else { return 0 }
        return LibNUMA.bindAllThreads(toNode: node)
    }
}

/// Where an arena's pages are.
public struct PageCensus: Sendable, Hashable, Codable {
    public var pageCount: Int
    public var pageSize: Int
    /// Resident pages per node.
    public var pagesByNode: [Int: Int]
    /// Pages not resident (never touched, or swapped out).
    public var notResident: Int
    /// `move_pages` (per-page node query) or `mincore` (residency only, no NUMA).
    public var source: String

    public var residentPages: Int { pagesByNode.values.reduce(0, +) }
    public var residentBytes: Int { residentPages * pageSize }
}
