// `memplan topology` output: what `numactl --hardware` prints, plus free memory, as a table or JSON.

/// The `--format json` contract of `memplan topology`:
/// `{"numa_available", "nodes": [{"node", "cpus", "total_bytes", "free_bytes"}], "distances": [[…]]}`.
public struct TopologyReport: Codable, Sendable, Equatable, ReportDocument {
    public struct Node: Codable, Sendable, Equatable {
        public var node: Int
        public var cpus: [Int]
        public var totalBytes: Int
        public var freeBytes: Int

        public init(node: Int, cpus: [Int], totalBytes: Int, freeBytes: Int) {
            self.node = node
            self.cpus = cpus
            self.totalBytes = totalBytes
            self.freeBytes = freeBytes
        }
    }

    public var numaAvailable: Bool
    public var nodes: [Node]
    public var distances: [[Int]]

    public static let formats: [ReportFormat] = [.table, .json]

    public init(numaAvailable: Bool, nodes: [Node], distances: [[Int]]) {
        self.numaAvailable = numaAvailable
        self.nodes = nodes
        self.distances = distances
    }

    /// `numactl --hardware`'s layout with exact bytes.
    public var tableText: String {
        let ids = nodes.map(\.node)
        var out = "available: \(ids.count) node\(ids.count == 1 ? "" : "s") (\(ids.map(String.init).joined(separator: ",")))"
        out += numaAvailable ? "\n" : " — libnuma reports no NUMA support; this is /proc/meminfo as one node\n"
        for node in nodes {
            out += "node \(node.node) cpus: \(node.cpus.map(String.init).joined(separator: " "))\n"
            out +=
                "node \(node.node) size: \(node.totalBytes >> 20) MB (\(ByteUnits.grouped(node.totalBytes)) bytes, \(ByteUnits.binary(node.totalBytes)))\n"
            out +=
                "node \(node.node) free: \(node.freeBytes >> 20) MB (\(ByteUnits.grouped(node.freeBytes)) bytes, \(ByteUnits.binary(node.freeBytes)))\n"
        }
        out += "node distances:\nnode " + ids.map { String($0).leftPadded(4) }.joined() + "\n"
        for (row, id) in ids.enumerated() where row < distances.count {
            out += "\(String(id).leftPadded(3)): " + distances[row].map { String($0).leftPadded(4) }.joined() + "\n"
        }
        return out
    }
}

extension String {
    /// Right-aligned in `width` columns.
    public func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
