// Machines to plan for: the local one, or a machine profile describing hardware you do not have.

import Yams

/// One memory domain: a NUMA node, or one accelerator's memory.
public struct MachineNode: Sendable, Hashable, Codable {
    public var id: Int
    public var totalBytes: Int
    /// What a run may use now: free memory on the local machine, or as stated (default: all).
    public var freeBytes: Int
    public var cpuCount: Int?

    public init(id: Int, totalBytes: Int, freeBytes: Int, cpuCount: Int? = nil) {
        self.id = id
        self.totalBytes = totalBytes
        self.freeBytes = freeBytes
        self.cpuCount = cpuCount
    }
}

/// A machine: its memory domains.
public struct Machine: Sendable, Hashable, Codable {
    public var name: String
    public var description: String?
    /// `local` for this machine, else the profile's path.
    public var source: String
    public var nodes: [MachineNode]
    /// What each node's free bytes are: `free` (MemFree), `available` (MemAvailable) on this machine, `stated` in a
    /// machine profile.
    public var memorySource: String?

    public init(name: String, description: String? = nil, source: String, nodes: [MachineNode], memorySource: String? = nil) {
        self.name = name
        self.description = description
        self.source = source
        self.nodes = nodes
        self.memorySource = memorySource
    }

    /// Σ total bytes, saturating at Int.max.
    public var totalBytes: Int {
        nodes.reduce(0) { $0.addingReportingOverflow($1.totalBytes).overflow ? Int.max : $0 + $1.totalBytes }
    }
    /// Σ free bytes, saturating at Int.max.
    public var freeBytes: Int {
        nodes.reduce(0) { $0.addingReportingOverflow($1.freeBytes).overflow ? Int.max : $0 + $1.freeBytes }
    }
}

/// Reads machine profiles (`kind: machine`):
///
///     kind: machine
///     name: two-socket-512g
///     description: two sockets, 256 GiB each
///     nodes:
///       - memory: 256GiB        # total bytes of the node
///         free: 250GiB          # optional: what a run may use (default: memory)
///         cpus: 32              # optional
///       - {memory: 256GiB, cpus: 32}
///     # or, for identical nodes:  nodes: [{memory: 80GB, count: 8}]
public enum MachineParser {
    static let topKeys = ["kind", "name", "description", "nodes"]
    static let nodeKeys = ["memory", "free", "cpus", "count"]

    /// Loads and validates the machine profile at `path`.
    public static func load(path: String) throws(ProfileError) -> Machine {
        do {
            return try loadUntyped(path: path)
        } catch let error as ProfileError {
            throw error
        } catch {
            throw .malformed(SourceLocation(file: path), problem: "\(error)")
        }
    }

    /// Parses machine-profile text (what `load` reads from a file).
    public static func parse(_ text: String, file: String = "<machine>") throws(ProfileError) -> Machine {
        do {
            let (root, reader) = try ProfileParser.compose(text: text, file: file, baseDirectory: ".")
            return try build(root, reader: reader, path: file)
        } catch let error as ProfileError {
            throw error
        } catch {
            throw .malformed(SourceLocation(file: file), problem: "\(error)")
        }
    }

    static func loadUntyped(path: String) throws -> Machine {
        let (root, reader) = try ProfileParser.compose(path: path)
        return try build(root, reader: reader, path: path)
    }

    static func build(_ root: Node, reader: NodeReader, path: String) throws -> Machine {
        let top = try reader.section(root, named: "the machine profile", allowed: topKeys)
        try reader.rejectUnknown(top, allowed: topKeys)
        if let kind = top["kind"] {
            let text = try reader.string(kind, field: "kind")
            guard text.lowercased() == "machine" else {
                throw ProfileError.inconsistent(
                    reader.location(kind),
                    "this is a '\(text)' profile, not a machine profile (kind: machine); model profiles go first, --machine FILE second"
                )
            }
        }
        let name = try top["name"].map { try reader.string($0, field: "name") } ?? reader.defaultName
        let description = try top["description"].map { try reader.string($0, field: "description") }
        let nodesNode = try top.require(
            "nodes", hint: "list the memory domains, e.g. nodes: [{memory: 256GiB}, {memory: 256GiB}]")
        var nodes: [MachineNode] = []
        for (index, item) in try reader.list(nodesNode, field: "nodes").enumerated() {
            let node = try reader.section(item, named: "nodes", index: index, allowed: nodeKeys)
            let memoryNode = try node.require("memory", hint: "give the node's memory, e.g. memory: 256GiB")
            let memory = try reader.byteCount(memoryNode, field: "memory")
            guard memory > 0 else {
                throw ProfileError.invalidValue(
                    reader.location(memoryNode), field: "memory", value: "0", reason: "a node needs some memory")
            }
            var free = memory
            if let freeNode = node["free"] {
                free = try reader.byteCount(freeNode, field: "free")
                guard free <= memory else {
                    throw ProfileError.invalidValue(
                        reader.location(freeNode), field: "free", value: "\(free)",
                        reason: "is more than the node's memory \(memory)")
                }
            }
            let cpus = try node["cpus"].map { try reader.count($0, field: "cpus", minimum: 1) }
            let count = try node["count"].map { try reader.count($0, field: "count", minimum: 1) } ?? 1
            guard count <= 4096, nodes.count + count <= 4096 else {
                throw ProfileError.invalidValue(
                    reader.location(item), field: "count", value: "\(count)", reason: "at most 4096 nodes")
            }
            for _ in 0..<count { nodes.append(MachineNode(id: nodes.count, totalBytes: memory, freeBytes: free, cpuCount: cpus)) }
        }
        guard !nodes.isEmpty else {
            throw ProfileError.invalidValue(
                reader.location(nodesNode), field: "nodes", value: "[]", reason: "list at least one node")
        }
        var total = 0
        for node in nodes {
            let (sum, overflow) = total.addingReportingOverflow(node.totalBytes)
            guard !overflow else {
                throw ProfileError.inconsistent(
                    reader.location(nodesNode),
                    "the nodes' memory adds up to more than memplan can count (\(Int.max.groupedDigits) bytes, 8 EiB); "
                        + "describe fewer or smaller nodes")
            }
            total = sum
        }
        return Machine(name: name, description: description, source: path, nodes: nodes, memorySource: "stated")
    }
}
