// `memplan topology`: what `numactl --hardware` prints, plus free memory, as a table or JSON.

import ArgumentParser
import NUMAArena
import Reports

/// The `--format json` contract of `memplan topology`:
/// `{"numa_available", "nodes": [{"node", "cpus", "total_bytes", "free_bytes"}], "distances": [[…]]}`.
struct TopologyReport: Codable {
    struct Node: Codable {
        var node: Int
        var cpus: [Int]
        var totalBytes: Int
        var freeBytes: Int

        enum CodingKeys: String, CodingKey {
            case node, cpus
            case totalBytes = "total_bytes"
            case freeBytes = "free_bytes"
        }
    }

    var numaAvailable: Bool
    var nodes: [Node]
    var distances: [[Int]]

    enum CodingKeys: String, CodingKey {
        case nodes, distances
        case numaAvailable = "numa_available"
    }

    init(_ topology: NUMATopology) {
        numaAvailable = topology.isAvailable
        nodes = topology.nodes.map { Node(node: $0.id, cpus: $0.cpus, totalBytes: $0.totalBytes, freeBytes: $0.freeBytes) }
        distances = topology.distances
    }
}

extension Memplan {
    struct Topology: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the NUMA nodes: their CPUs, total and free memory, and distances.",
            discussion: """
                The same facts as `numactl --hardware`, read through libnuma, with sizes in bytes. When libnuma reports no NUMA support, memplan shows the machine as one node from /proc/meminfo and says so; arenas then use plain memory.

                Examples:
                  memplan topology
                  memplan topology --format json
                """)

        @Option(help: ArgumentHelp("table or json.", valueName: "format"))
        var format: OutputFormat = .table

        func validate() throws {
            guard format == .table || format == .json else { throw ValidationError("topology prints table or json") }
        }

        func run() throws {
            let topology = NUMATopology.current()
            if format == .json {
                print(JSONText.encode(TopologyReport(topology)), terminator: "")
                return
            }
            let ids = topology.nodes.map(\.id)
            var out = "available: \(ids.count) node\(ids.count == 1 ? "" : "s") (\(ids.map(String.init).joined(separator: ",")))"
            out += topology.isAvailable ? "\n" : " — libnuma reports no NUMA support; this is /proc/meminfo as one node\n"
            for node in topology.nodes {
                out += "node \(node.id) cpus: \(node.cpus.map(String.init).joined(separator: " "))\n"
                out += "node \(node.id) size: \(node.totalBytes >> 20) MB (\(ByteUnits.grouped(node.totalBytes)) bytes, \(ByteUnits.binary(node.totalBytes)))\n"
                out += "node \(node.id) free: \(node.freeBytes >> 20) MB (\(ByteUnits.grouped(node.freeBytes)) bytes, \(ByteUnits.binary(node.freeBytes)))\n"
            }
            out += "node distances:\nnode " + ids.map { String($0).leftPadded(4) }.joined() + "\n"
            for (row, id) in ids.enumerated() {
                out += "\(String(id).leftPadded(3)): " + topology.distances[row].map { String($0).leftPadded(4) }.joined() + "\n"
            }
            print(out, terminator: "")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
