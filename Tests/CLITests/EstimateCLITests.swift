import Foundation
import TestSupport
import Testing

/// End-to-end runs of the built `memplan` binary.
@Suite("memplan estimate, end to end")
struct EstimateCLITests {
    func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try runMemplan(arguments)
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        return try #require(object as? [String: Any])
    }

    func total(_ document: [String: Any]) -> Int? {
        (document["bytes"] as? [String: Any])?["total"] as? Int
    }

    @Test(
        "the quiz figures through the CLI",
        arguments: [
            ([String](), 3_601_000_000_000), (["--precision", "double"], 7_201_000_000_000),
            (["--batch", "1000"], 1_203_400_000_000_000), (["--batch", "1000", "--precision", "double"], 2_405_800_000_000_000),
        ])
    func quiz(extra: [String], expected: Int) throws {
        let document = try json(["estimate", "profiles/quiz-300b.yaml", "--format", "json"] + extra)
        #expect(total(document) == expected)
        #expect(document["mode"] as? String == "bound")
    }

    @Test("the JSON contract's keys are all there, with integer values")
    func contract() throws {
        let document = try json(["estimate", "profiles/fashion-mnist-mlp.yaml", "--format", "json"])
        for key in ["profile", "precision", "batch", "mode", "counts", "bytes", "layers"] {
            #expect(document[key] != nil, "missing key \(key)")
        }
        let counts = try #require(document["counts"] as? [String: Any])
        #expect(counts["parameters"] as? Int == 235_146)
        for key in ["parameters", "weights", "biases", "neurons"] { #expect(counts[key] is Int) }
        let bytes = try #require(document["bytes"] as? [String: Any])
        #expect(bytes["parameters"] as? Int == 940_584)
        #expect(bytes["gradients"] as? Int == 0)  // plain SGD: the update is fused into the backward pass
        for key in ["parameters", "gradients", "activations", "inputs", "optimizer", "total", "deltas", "scratch"] {
            #expect(bytes[key] is Int)
        }
        let momentum = try json(["estimate", "profiles/fashion-mnist-mlp.yaml", "--format", "json", "--optimizer", "momentum"])
        #expect((momentum["bytes"] as? [String: Any])?["gradients"] as? Int == 940_584)
        #expect((document["layers"] as? [Any])?.count == 3)
        #expect(document["mode"] as? String == "exact")
        #expect(document["precision"] as? String == "single")
        #expect(document["batch"] as? Int == 128)
    }

    @Test("--parameters/--sample-bytes and --mlp need no profile and give the same numbers")
    func withoutProfile() throws {
        let bound = try json([
            "estimate", "--parameters", "300e9", "--sample-bytes", "1GB", "--batch", "1000", "--format", "json",
        ])
        #expect(total(bound) == 1_203_400_000_000_000)
        let fromFlags = try json([
            "estimate", "--mlp", "784,256,128,10", "--activation", "relu", "--loss", "softmax-ce", "--batch", "128", "--format",
            "json",
        ])
        let fromProfile = try json(["estimate", "profiles/fashion-mnist-mlp.yaml", "--format", "json"])
        #expect(fromFlags["bytes"] as? [String: Int] == fromProfile["bytes"] as? [String: Int])
        #expect(fromFlags["counts"] as? [String: Int] == fromProfile["counts"] as? [String: Int])
    }

    @Test("the table shows exact bytes, decimal and binary units; bound mode explains the lecture's units")
    func table() throws {
        let result = try runMemplan(["estimate", "profiles/quiz-300b.yaml", "--batch", "1000"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("1,203,400,000,000,000"))
        #expect(result.standardOutput.contains("1.20 PB"))
        #expect(result.standardOutput.contains("1.07 PiB"))
        #expect(result.standardOutput.contains("1,203,400 GB = 1.15 PB"))
        #expect(result.standardOutput.contains("1024"))
        let markdown = try runMemplan(["estimate", "profiles/perceptron-3-4-2.yaml", "--format", "markdown"])
        #expect(markdown.standardOutput.contains("| Category |"))
    }

    /// Each bad input: exit status 2, one line on stderr that says what is wrong, never a signal.
    static let badInputs: [(String, String, String)] = [
        ("kind: bound\nparameters: 1e30\nsample_bytes: 1GB\n", "too large", "parameters"),
        ("input: 3\nhidden: [{units: -4}]\noutput: {units: 1}\nloss: l2\n", "must not be negative", "units"),
        (
            "input: 3\nhidden:\n  - units: 4\n    activaton: relu\noutput: {units: 1}\nloss: l2\n", "did you mean 'activation'?",
            ":4:"
        ),
        (
            "input: 3\nhidden: [{units: 4, activation: rellu}]\noutput: {units: 1}\nloss: l2\n", "unknown activation 'rellu'",
            "relu"
        ),
        ("input:\n  features: 3\n hidden: [\n", "malformed", ":3:"),
        ("input: 1e15\noutput: {units: 1e10}\nloss: l2\n", "would exceed", "bad.yaml: bad: buffer W1"),
    ]

    @Test("bad profiles: one clear line on stderr, exit 2", arguments: badInputs)
    func badProfiles(text: String, expected: String, mentions: String) throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("bad.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let result = try runMemplan(["estimate", file.path])
        #expect(!result.wasSignalled)
        #expect(result.status == 2)
        #expect(result.standardOutput.isEmpty)
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.standardError)")
        #expect(result.standardError.contains(expected))
        #expect(result.standardError.contains(mentions))
    }

    @Test("a missing file and bad flags are bad input too")
    func badInvocations() throws {
        let missing = try runMemplan(["estimate", "profiles/nope.yaml"])
        #expect(missing.status == 2)
        #expect(missing.standardError.contains("no such profile file"))
        for arguments in [
            ["estimate", "profiles/quiz-300b.yaml", "--batch", "0"],
            ["estimate", "profiles/quiz-300b.yaml", "--batch", "1e30"],
            ["estimate", "profiles/quiz-300b.yaml", "--precision", "quad"],
            ["estimate", "profiles/quiz-300b.yaml", "--bogus"],
            ["estimate", "--parameters", "300e9"],
            ["estimate", "--mlp", "784,x,10"],
            ["estimate"],
        ] {
            let result = try runMemplan(arguments)
            #expect(result.status == 2, "\(arguments): \(result.standardError)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(arguments): \(result.standardError)")
            #expect(result.standardError.hasPrefix("memplan: error: "))
        }
    }
}
