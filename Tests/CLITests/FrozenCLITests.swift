import Foundation
import TestSupport
import Testing

/// Frozen MLP layers and loss scaling through the built binary: the estimate, the plan, and the refusals.
@Suite("memplan with frozen layers and loss scaling, end to end")
struct FrozenCLITests {
    static let frozen = """
        name: frozen-mlp
        input: {features: 784}
        hidden:
          - units: 256
            frozen: true
        output: {units: 10}
        loss: softmax-cross-entropy
        optimizer: adam
        data: {source: synthetic}

        """

    func write(_ text: String, named name: String = "p.yaml") throws -> String {
        let directory = try makeTemporaryDirectory("frozen")
        let path = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: path)
        return path.path
    }

    func expectOneLineError(_ result: ProcessResult, containing words: [String]) {
        #expect(result.status == 2, "stderr: \(result.standardError)")
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count == 1, "\(result.standardError)")
        #expect(result.standardError.hasPrefix("memplan: error: "), "\(result.standardError)")
        for word in words { #expect(result.standardError.contains(word), "\(word) in \(result.standardError)") }
    }

    @Test("estimate JSON: 2,570 trainable, 200,960 frozen; gradients and Adam state for layer 2 only")
    func estimateJSON() throws {
        let result = try runMemplan(["estimate", try write(Self.frozen), "--format", "json"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        let counts = try #require(document["counts"] as? [String: Any])
        #expect(counts["trainable_parameters"] as? Int == 2_570)
        #expect(counts["frozen_parameters"] as? Int == 200_960)
        let bytes = try #require(document["bytes"] as? [String: Any])
        #expect(bytes["gradients"] as? Int == 10_280)
        #expect(bytes["optimizer"] as? Int == 20_560)
        #expect(bytes["parameters"] as? Int == 814_120)
        let recipe = try #require(document["recipe"] as? [String: Any])
        #expect(recipe["loss_scaling"] as? String == "none")
    }

    @Test("plan places no gradient or optimizer buffer for the frozen layer")
    func plan() throws {
        let result = try runMemplan(["plan", try write(Self.frozen)])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let buffers = result.standardOutput.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first }
        #expect(buffers.contains("W1"))
        #expect(buffers.contains("dW2"))
        for name in ["dW1", "mW1", "vW1", "db1"] { #expect(!buffers.contains(Substring(name)), "\(name)") }
    }

    @Test("fp16-mixed says its loss scaling in the recipe line and the JSON")
    func fp16Recipe() throws {
        let table = try runMemplan(["estimate", "profiles/fashion-mnist-mlp.yaml", "--precision", "fp16-mixed"])
        #expect(table.status == 0, "stderr: \(table.standardError)")
        #expect(table.standardOutput.contains("Loss scaling: dynamic (one scalar, no memory)."))
        let json = try runMemplan([
            "estimate", "profiles/fashion-mnist-mlp.yaml", "--precision", "fp16-mixed", "--format", "json",
        ])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let recipe = try #require(document["recipe"] as? [String: Any])
        #expect(recipe["loss_scaling"] as? String == "dynamic")
    }

    @Test("fp16-mixed with loss_scaling: none in the profile: one line, exit 2, at the key's line")
    func fp16WithoutScaling() throws {
        let path = try write(Self.frozen + "precision: fp16-mixed\nloss_scaling: none\n")
        let result = try runMemplan(["estimate", path])
        expectOneLineError(result, containing: ["p.yaml:11:", "use loss_scaling: dynamic or bf16-mixed"])
    }

    @Test("--precision fp16-mixed against loss_scaling: none: one line naming the profile, exit 2")
    func fp16Override() throws {
        let path = try write(Self.frozen + "loss_scaling: none\n")
        for command in ["estimate", "plan"] {
            let result = try runMemplan([command, path, "--precision", "fp16-mixed"])
            expectOneLineError(result, containing: ["p.yaml: precision fp16-mixed needs loss scaling", "5-bit exponent"])
        }
    }

    @Test("every layer frozen: one line, exit 2, nothing trains")
    func everyLayerFrozen() throws {
        let path = try write(Self.frozen.replacing("output: {units: 10}", with: "output: {units: 10, frozen: true}"))
        for command in ["estimate", "plan"] {
            expectOneLineError(try runMemplan([command, path]), containing: ["p.yaml:6:", "nothing trains"])
        }
    }

    @Test("train refuses a profile with a frozen layer: one line, exit 2")
    func trainRefuses() throws {
        let result = try runMemplan(["train", try write(Self.frozen)])
        expectOneLineError(result, containing: ["memplan train cannot freeze layers", "layer 1 is frozen"])
    }
}
