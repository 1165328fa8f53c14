import Foundation
import TestSupport
import Testing

@Suite("memplan plan, end to end")
struct PlanCLITests {
    @Test("the JSON contract: integers, and the three sizes in order")
    func contract() throws {
        let result = try runMemplan(["plan", "profiles/fashion-mnist-mlp.yaml", "--format", "json"])
        #expect(result.status == 0, "\(result.standardError)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let arena = try #require(document["arena_bytes"] as? Int)
        let bound = try #require(document["lower_bound_bytes"] as? Int)
        let naive = try #require(document["naive_bytes"] as? Int)
        #expect(document["alignment"] as? Int == 64)
        #expect(bound <= arena)
        #expect(arena < naive)
        let buffers = try #require(document["buffers"] as? [[String: Any]])
        // W, b, a per layer; dz1, dz2; x, y. Plain SGD stores no dW, db.
        #expect(buffers.count == 13)
        #expect(document["ops"] as? [String] == ["load", "fwd1", "fwd2", "fwd3", "loss", "bwd3+sgd", "bwd2+sgd", "bwd1+sgd"])
        for buffer in buffers {
            #expect(buffer["name"] is String)
            for key in ["bytes", "offset", "first", "last"] { #expect(buffer[key] is Int, "\(key) in \(buffer)") }
            #expect((buffer["offset"] as! Int) % 64 == 0)
        }
    }

    @Test("the table has buffers, a timeline and the summary")
    func table() throws {
        let result = try runMemplan(["plan", "profiles/perceptron-3-4-2.yaml", "--batch", "8", "--optimizer", "momentum"])
        #expect(result.status == 0)
        for text in [
            "W1", "dz1", "dW2", "vW1", "fwd1", "bwd2", "update", "naive sum", "planned arena", "lower bound", "arena end",
        ] {
            #expect(result.standardOutput.contains(text), "missing \(text)")
        }
    }

    @Test("--validate checks the plan and says so, in the table and in the JSON")
    func validate() throws {
        let table = try runMemplan(["plan", "profiles/fashion-mnist-mlp.yaml", "--validate", "--threads", "2"])
        #expect(table.status == 0, "\(table.standardError)")
        #expect(
            table.standardOutput.contains("Plan check: valid: no two of the 15 buffers live at one op share bytes"),
            "\(table.standardOutput)")
        let json = try runMemplan(["plan", "profiles/fashion-mnist-mlp.yaml", "--validate", "--format", "json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect((document["validation"] as? String)?.hasPrefix("valid:") == true)
        let plain = try runMemplan(["plan", "profiles/fashion-mnist-mlp.yaml", "--format", "json"])
        let unchecked = try #require(try JSONSerialization.jsonObject(with: Data(plain.standardOutput.utf8)) as? [String: Any])
        #expect(unchecked["validation"] is NSNull)
    }

    @Test("every planner can be chosen and keeps the JSON shape", arguments: ["best", "greedy", "sweep", "skyline", "linear"])
    func planners(name: String) throws {
        let result = try runMemplan([
            "plan", "profiles/multilabel.yaml", "--planner", name, "--format", "json", "--optimizer", "adam",
        ])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("\"arena_bytes\""))
    }

    @Test(
        "bad input: alignment, batch, overflow, bound profile → one line, exit 2",
        arguments: [
            (["--alignment", "0"], "power of two"), (["--alignment", "48"], "power of two"),
            (["--alignment", "-64"], "alignment"),
            (["--batch", "0"], "at least 1"), (["--batch", "9e18"], "would exceed"), (["--planner", "magic"], "planner"),
        ])
    func badInput(extra: [String], expected: String) throws {
        let result = try runMemplan(["plan", "profiles/fashion-mnist-mlp.yaml"] + extra)
        #expect(result.status == 2, "\(extra): \(result.standardError)")
        #expect(!result.wasSignalled)
        #expect(result.standardError.contains(expected), "\(extra): \(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
    }

    @Test("a bound profile has no buffers to plan")
    func bound() throws {
        let result = try runMemplan(["plan", "profiles/quiz-300b.yaml"])
        #expect(result.status == 2)
        #expect(result.standardError.contains("bound profile"))
    }
}
