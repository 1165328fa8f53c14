// `memplan train --save-checkpoint` then `memplan generate`, end to end on a tiny synthetic transformer; and the ways
// generate refuses a checkpoint.

import Foundation
import TestSupport
import Testing

@Suite("memplan generate, end to end")
struct GenerateCLITests {
    /// A tiny byte-level GPT-2 on synthetic tokens.
    static let tiny = """
        kind: transformer
        name: tiny-gpt
        vocabulary: 256
        context: 32
        layers: 2
        heads: 2
        hidden: 32
        batch: 4
        sequence: 32
        data: {source: synthetic, count: 20000, seed: 1}

        """

    /// The tiny profile in a fresh directory, and a checkpoint trained from it for three steps.
    static func trained() throws -> (directory: URL, profile: String, checkpoint: String) {
        let directory = try makeTemporaryDirectory("generate-cli")
        let profile = directory.appendingPathComponent("tiny.yaml").path
        try tiny.write(toFile: profile, atomically: true, encoding: .utf8)
        let checkpoint = directory.appendingPathComponent("tiny.bin").path
        let train = try runMemplan(["train", profile, "--steps", "3", "--save-checkpoint", checkpoint])
        #expect(train.status == 0, "stderr: \(train.standardError)")
        #expect(train.standardOutput.contains("Checkpoint written to \(checkpoint)"))
        return (directory, profile, checkpoint)
    }

    @Test("train --save-checkpoint, then generate: the prompt, the text and the KV cache's bytes per token")
    func endToEnd() throws {
        let (directory, profile, checkpoint) = try Self.trained()
        defer { try? FileManager.default.removeItem(at: directory) }
        // llm.c's header and 4 bytes per parameter: V·C + T·C + L·(12C² + 13C) + 2C with V 256, T 32, C 32, L 2.
        let parameters = 256 * 32 + 32 * 32 + 2 * (12 * 32 * 32 + 13 * 32) + 2 * 32
        let size = try FileManager.default.attributesOfItem(atPath: checkpoint)[.size] as? Int
        #expect(size == 1024 + 4 * parameters)

        let table = try runMemplan(["generate", profile, "--checkpoint-file", checkpoint, "--prompt", "Hello", "--tokens", "40"])
        #expect(table.status == 0, "stderr: \(table.standardError)")
        #expect(table.standardOutput.contains("\nHello"))
        #expect(table.standardOutput.contains("KV cache bytes per token"))

        let run = try runMemplan([
            "generate", profile, "--checkpoint-file", checkpoint, "--prompt", "Hi", "--tokens", "40", "--format", "json",
        ])
        #expect(run.status == 0, "stderr: \(run.standardError)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
        #expect(document["prompt"] as? String == "Hi")
        #expect((document["generated"] as? String)?.isEmpty == false)
        let predicted = try #require(document["predicted"] as? [String: Any])
        let actual = try #require(document["actual"] as? [String: Any])
        // 2 · 2 blocks · 32 channels · 4 bytes, measured by mincore over the first window's 32 tokens.
        #expect(predicted["kv_bytes_per_token"] as? Int == 512)
        #expect(actual["kv_bytes_per_token"] as? Double == 512)
        #expect(actual["kv_measured_tokens"] as? [Int] == [8, 32])
        #expect(predicted["arena_mapped_bytes"] as? Int == actual["arena_bytes"] as? Int)
        #expect(actual["heap_allocations_per_token"] != nil)
        let throughput = try #require(document["throughput"] as? [String: Any])
        #expect(throughput["tokens"] as? Int == 40)
        #expect(throughput["window_slides"] as? Int == 1)
        let buffers = try #require(document["buffers"] as? [[String: Any]])
        #expect(buffers.contains { $0["name"] as? String == "kv_cache" && $0["category"] as? String == "kv_cache" })
    }

    @Test("a checkpoint that disagrees with the profile, a missing one, one that is not a checkpoint: bad input (2)")
    func refusals() throws {
        let (directory, profile, checkpoint) = try Self.trained()
        defer { try? FileManager.default.removeItem(at: directory) }
        let wider = directory.appendingPathComponent("wider.yaml").path
        try Self.tiny.replacingOccurrences(of: "hidden: 32", with: "hidden: 64").write(
            toFile: wider, atomically: true, encoding: .utf8)
        let mismatch = try runMemplan(["generate", wider, "--checkpoint-file", checkpoint])
        #expect(mismatch.status == 2)
        #expect(
            mismatch.standardError
                == "memplan: error: \(checkpoint) does not fit tiny-gpt: the checkpoint has hidden 32, the profile 64\n")
        #expect(mismatch.standardOutput.isEmpty)

        let missing = try runMemplan([
            "generate", profile, "--checkpoint-file", directory.appendingPathComponent("none.bin").path,
        ])
        #expect(missing.status == 2)  // a missing file is bad input, as a missing profile is
        #expect(missing.standardError.hasPrefix("memplan: error: cannot open "))
        #expect(missing.standardError.hasSuffix("No such file or directory\n"))

        let notCheckpoint = try runMemplan(["generate", profile, "--checkpoint-file", profile])
        #expect(notCheckpoint.status == 2)
        #expect(notCheckpoint.standardError.contains("not a GPT-2 checkpoint"))
    }

    @Test("--save-checkpoint refuses a model llm.c's format cannot hold before training, naming the property")
    func unsupportedShape() throws {
        let directory = try makeTemporaryDirectory("generate-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let llama = directory.appendingPathComponent("llama.yaml").path
        try Self.tiny.replacingOccurrences(of: "hidden: 32\n", with: "hidden: 32\nnorm: rms\nactivation: swiglu\n").write(
            toFile: llama, atomically: true, encoding: .utf8)
        let checkpoint = directory.appendingPathComponent("llama.bin").path
        let result = try runMemplan(["train", llama, "--steps", "3", "--save-checkpoint", checkpoint])
        #expect(result.status == 2)
        #expect(result.standardError.contains("norm is rms; GPT-2 uses layer norm"))
        #expect(result.standardOutput.isEmpty, "nothing trained")
        #expect(!FileManager.default.fileExists(atPath: checkpoint))

        let mlp = try runMemplan(["train", "profiles/smallest-perceptron.yaml", "--save-checkpoint", checkpoint])
        #expect(mlp.status == 2)
        #expect(mlp.standardError.contains("--save-checkpoint applies to transformer profiles"))
    }

    @Test("--save-checkpoint writes through /dev/null and a symbolic link's target, never replacing them; - is refused")
    func specialTargets() throws {
        let directory = try makeTemporaryDirectory("generate-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = directory.appendingPathComponent("tiny.yaml").path
        try Self.tiny.write(toFile: profile, atomically: true, encoding: .utf8)

        let null = try runMemplan(["train", profile, "--steps", "1", "--save-checkpoint", "/dev/null"])
        #expect(null.status == 0, "stderr: \(null.standardError)")
        let device = try FileManager.default.attributesOfItem(atPath: "/dev/null")[.type] as? FileAttributeType
        #expect(device == .typeCharacterSpecial)

        let target = directory.appendingPathComponent("target.bin").path
        let link = directory.appendingPathComponent("link.bin").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let linked = try runMemplan(["train", profile, "--steps", "1", "--save-checkpoint", link])
        #expect(linked.status == 0, "stderr: \(linked.standardError)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        let size = try FileManager.default.attributesOfItem(atPath: target)[.size] as? Int
        #expect(size == 1024 + 4 * (256 * 32 + 32 * 32 + 2 * (12 * 32 * 32 + 13 * 32) + 2 * 32))

        let standardOutput = try runMemplan(["train", profile, "--steps", "1", "--save-checkpoint", "-"])
        #expect(standardOutput.status == 2)
        #expect(standardOutput.standardError.contains("a checkpoint is binary"))
        #expect(standardOutput.standardOutput.isEmpty, "refused before training")
    }
}
