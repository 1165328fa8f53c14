import Foundation
import TestSupport
import Testing

@Suite("memplan capacity and report, end to end")
struct CapacityCLITests {
    @Test("the capacity JSON contract on a machine profile")
    func contract() throws {
        let result = try runMemplan([
            "capacity", "profiles/fashion-mnist-mlp.yaml", "--machine", "profiles/machines/two-socket-512g.yaml", "--format",
            "json",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let machine = try #require(document["machine"] as? [String: Any])
        let nodes = try #require(machine["nodes"] as? [[String: Any]])
        #expect(nodes.count == 2)
        for node in nodes { for key in ["node", "total_bytes", "free_bytes"] { #expect(node[key] is Int, "\(key)") } }
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.map { $0["precision"] as? String } == ["single", "double"])
        for entry in results {
            let maxBatch = try #require(entry["max_batch"] as? [String: Any])
            #expect((maxBatch["machine"] as? Int ?? 0) > 1_000_000)
            let perNode = try #require(maxBatch["per_node"] as? [String: Int])
            #expect(Set(perNode.keys) == ["0", "1"])
            #expect(entry["max_scale"] is Double)
            #expect(entry["arena_bytes_at_max_batch"] is Int)
        }
    }

    @Test("the quiz's capacity restates the lecture and counts machines")
    func quiz() throws {
        let result = try runMemplan(["capacity", "profiles/quiz-300b.yaml", "--machine", "profiles/machines/dgx-8x80g.yaml"])
        #expect(result.status == 0, "\(result.standardError)")
        for text in ["3,601 GB", "7,201 GB", "1.15 PB", "2.29 PB", "machines like dgx-8x80g"] {
            #expect(result.standardOutput.contains(text), "missing \(text)")
        }
    }

    @Test("report renders a record and a capacity result to files, atomically")
    func report() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let capacity = directory.appendingPathComponent("capacity.json").path
        let json = try runMemplan(["capacity", "profiles/quiz-300b.yaml", "--format", "json", "--output", capacity])
        #expect(json.status == 0, "\(json.standardError)")
        let html = directory.appendingPathComponent("quiz.html").path
        let rendered = try runMemplan(["report", capacity, "--output", html])
        #expect(rendered.status == 0, "\(rendered.standardError)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg"))
        #expect(page.contains("1.15 PB"))
        let markdown = try runMemplan(["report", capacity, "--format", "markdown", "--output", "-"])
        #expect(markdown.standardOutput.contains("| Precision |"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["capacity.json", "quiz.html"])
    }

    @Test(
        "bad input: unknown machine keys, zero memory, too small a machine, unwritable output, not a record",
        arguments: [
            ("nodes:\n  - {memroy: 1GB}\n", ["capacity", "profiles/fashion-mnist-mlp.yaml"], Int32(2), "did you mean 'memory'"),
            ("nodes:\n  - {memory: 0}\n", ["capacity", "profiles/fashion-mnist-mlp.yaml"], 2, "needs some memory"),
            ("nodes:\n  - {memory: 1MiB}\n", ["capacity", "profiles/fashion-mnist-mlp.yaml"], 3, "does not fit"),
        ])
    func badMachines(machine: String, arguments: [String], status: Int32, message: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("machine.yaml")
        try machine.write(to: file, atomically: true, encoding: .utf8)
        let result = try runMemplan(arguments + ["--machine", file.path])
        #expect(result.status == status, "\(result.standardError)")
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1)
    }

    @Test("unwritable outputs and inputs that are not reports fail cleanly")
    func badFiles() throws {
        let unwritable = try runMemplan([
            "capacity", "profiles/quiz-300b.yaml", "--format", "html", "--output", "/nonexistent-dir/q.html",
        ])
        #expect(unwritable.status == 2)
        #expect(unwritable.standardError.contains("does not exist"))
        let notReport = try runMemplan(["report", "profiles/quiz-300b.yaml", "--output", "-"])
        #expect(notReport.status == 2)
        #expect(notReport.standardError.contains("not valid JSON"))
        let missing = try runMemplan(["report", "/nonexistent.json"])
        #expect(missing.status == 2)
        let headroom = try runMemplan(["capacity", "profiles/quiz-300b.yaml", "--headroom", "150%"])
        #expect(headroom.status == 2)
    }
}
