// The machine's NUMA nodes: their CPUs, memory and distances, as `numactl --hardware` shows them.

/// One NUMA node.
public struct NUMANode: Sendable, Hashable, Codable {
    public var id: Int
    public var cpus: [Int]
    public var totalBytes: Int
    public var freeBytes: Int
}

/// The NUMA topology libnuma reports, or one pseudo-node from /proc/meminfo when NUMA is unavailable.
public struct NUMATopology: Sendable, Hashable, Codable {
    /// Whether libnuma reports NUMA support (`numa_available() >= 0`).
    public var isAvailable: Bool
    public var nodes: [NUMANode]
    /// `distances[i][j]`: the SLIT distance from `nodes[i]` to `nodes[j]` (10 = local).
    public var distances: [[Int]]

    public init(isAvailable: Bool, nodes: [NUMANode], distances: [[Int]]) {
        self.isAvailable = isAvailable
        self.nodes = nodes
        self.distances = distances
    }

    /// Reads the topology now (free memory changes; call again for fresh numbers).
    public static func current() -> NUMATopology {
        guard LibNUMA.isAvailable() else {
            let memory = ProcessMemory.systemMemory()
            let cpuCount = ProcessMemory.onlineCPUCount()
            return NUMATopology(
                isAvailable: false,
                nodes: [NUMANode(id: 0, cpus: Array(0..<cpuCount), totalBytes: memory.total, freeBytes: memory.available)],
                distances: [[10]])
        }
        var nodes: [NUMANode] = []
        for id in 0...max(0, LibNUMA.maxNode()) {
            guard let size = LibNUMA.nodeSize(id) else { continue }
            nodes.append(NUMANode(id: id, cpus: LibNUMA.cpus(ofNode: id), totalBytes: size.total, freeBytes: size.free))
        }
        let distances = nodes.map { a in nodes.map { b in LibNUMA.distance(a.id, b.id) } }
        return NUMATopology(isAvailable: true, nodes: nodes, distances: distances)
    }

    public func node(_ id: Int) -> NUMANode? { nodes.first { $0.id == id } }

    /// The node the calling thread runs on now (node 0 without NUMA).
    public static func currentNode() -> Int {
        LibNUMA.isAvailable() ? (LibNUMA.currentNode() ?? 0) : 0
    }

    public var totalBytes: Int { nodes.reduce(0) { $0 + $1.totalBytes } }
    public var freeBytes: Int { nodes.reduce(0) { $0 + $1.freeBytes } }
}
