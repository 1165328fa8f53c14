import Foundation
import TestSupport
import Testing

/// LoRA profiles through the built binary: the estimate's counts and bytes, the plan, and train's refusal.
@Suite("memplan with LoRA adapters, end to end")
struct LoRACLITests {
    static let tiny = """
        kind: transformer
        name: tiny-lora
        vocabulary: 64
        context: 8
        layers: 2
        heads: 4
        hidden: 32
        batch: 2
        data: {source: synthetic, count: 1000}
        lora: {rank: 4, targets: [q, v]}

        """

    func writeTiny() throws -> (URL, String) {
        let directory = try makeTemporaryDirectory("lora")
        let path = directory.appendingPathComponent("tiny-lora.yaml")
        try Data(Self.tiny.utf8).write(to: path)
        return (directory, path.path)
    }

    @Test("Llama-2 7B, LoRA r = 8 on q and v, bf16-mixed: 4,194,304 trainable; model state 2 B frozen + 16 B adapters")
    func llama2JSON() throws {
        let result = try runMemplan([
            "estimate", "profiles/llama2-7b-lora.yaml", "--precision", "bf16-mixed", "--format", "json",
        ])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        let document = try #require(object as? [String: Any])
        let counts = try #require(document["counts"] as? [String: Any])
        #expect(counts["trainable_parameters"] as? Int == 4_194_304)
        #expect(counts["frozen_parameters"] as? Int == 6_738_415_616)
        #expect(counts["parameters"] as? Int == 6_742_609_920)
        let lora = try #require(document["lora"] as? [String: Any])
        #expect(lora["rank"] as? Int == 8)
        #expect(lora["targets"] as? [String] == ["q", "v"])
        #expect(lora["adapted_matrices"] as? Int == 64)
        let bytes = try #require(document["bytes"] as? [String: Any])
        #expect(bytes["parameters"] as? Int == 2 * 6_742_609_920)
        #expect(bytes["master_parameters"] as? Int == 4 * 4_194_304)
        #expect(bytes["gradients"] as? Int == 2 * 4_194_304)
        #expect(bytes["optimizer"] as? Int == 8 * 4_194_304)
    }

    @Test("the table says what trains and what is frozen")
    func llama2Table() throws {
        let result = try runMemplan(["estimate", "profiles/llama2-7b-lora.yaml", "--precision", "bf16-mixed"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        #expect(result.standardOutput.contains("Trainable: 4,194,304 (LoRA r = 8 on q, v: 64 adapted matrices"))
        #expect(result.standardOutput.contains("frozen: 6,738,415,616"))
        #expect(result.standardOutput.contains("16 bytes of model state per trainable parameter, 2 per frozen one"))
    }

    @Test("without LoRA every parameter trains and lora is null (keys only added)")
    func withoutLoRA() throws {
        let result = try runMemplan(["estimate", "profiles/fashion-mnist-mlp.yaml", "--format", "json"])
        let object = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8))
        let document = try #require(object as? [String: Any])
        let counts = try #require(document["counts"] as? [String: Any])
        #expect(counts["trainable_parameters"] as? Int == 235_146)
        #expect(counts["frozen_parameters"] as? Int == 0)
        #expect(document["lora"] is NSNull)
        #expect(!result.standardOutput.contains("Trainable:"))
    }

    @Test("plan places the adapters and no gradient or optimizer state for frozen weights")
    func plan() throws {
        let (directory, path) = try writeTiny()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try runMemplan(["plan", path, "--format", "json"])
        #expect(result.status == 0, "stderr: \(result.standardError)")
        for name in ["\"h1.lora_qA\"", "\"dh1.lora_vB\"", "\"mh1.lora_qA\"", "\"h1.qkvw\""] {
            #expect(result.standardOutput.contains(name), "\(name)")
        }
        for name in ["\"dh1.qkvw\"", "\"mh1.qkvw\"", "\"dwte\"", "\"mwte\""] {
            #expect(!result.standardOutput.contains(name), "\(name)")
        }
    }

    @Test("train refuses a LoRA profile in one line, exit 2, instead of training every weight")
    func trainRefuses() throws {
        let (directory, path) = try writeTiny()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try runMemplan(["train", path, "--steps", "1"])
        #expect(result.status == 2)
        #expect(result.standardError.split(separator: "\n").count == 1)
        #expect(result.standardError.contains("memplan train cannot train LoRA adapters"), "\(result.standardError)")
    }
}
