import ModelProfile
import TestSupport
import Testing

@Suite("Machine profiles")
struct MachineParserTests {
    func parse(_ text: String) throws -> Machine {
        let directory = try makeTemporaryDirectory("machine")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("m.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try MachineParser.load(path: file.path)
    }

    @Test("the shipped machines load")
    func shipped() throws {
        let two = try MachineParser.load(path: packageRoot.appendingPathComponent("profiles/machines/two-socket-512g.yaml").path)
        #expect(two.nodes.map(\.totalBytes) == [256 << 30, 256 << 30])
        let dgx = try MachineParser.load(path: packageRoot.appendingPathComponent("profiles/machines/dgx-8x80g.yaml").path)
        #expect(dgx.nodes.count == 8)
        #expect(dgx.totalBytes == 640_000_000_000)
        let laptop = try MachineParser.load(path: packageRoot.appendingPathComponent("profiles/machines/laptop-16g.yaml").path)
        #expect(laptop.freeBytes == 12 << 30)
    }

    @Test("bad machine files: unknown keys, zero memory, free above memory, no nodes, a model profile")
    func errors() throws {
        func message(_ text: String) -> String {
            do {
                _ = try parse(text)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(message("nodes:\n  - {memroy: 1GB}\n").contains("unknown key 'memroy' in nodes[0]; did you mean 'memory'?"))
        #expect(message("nodes:\n  - {memory: 0}\n").contains("a node needs some memory"))
        #expect(message("nodes:\n  - {memory: 1GB, free: 2GB}\n").contains("is more than the node's memory"))
        #expect(message("nodes: []\n").contains("at least one node"))
        #expect(message("name: x\n").contains("missing 'nodes'"))
        #expect(message("kind: exact\nnodes: [{memory: 1GB}]\n").contains("not a machine profile"))
        #expect(message("nodez: 1\n").contains("did you mean 'nodes'?"))
    }
}

import Foundation
