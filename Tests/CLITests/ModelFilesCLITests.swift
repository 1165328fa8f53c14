import Foundation
import TestSupport
import Testing

/// safetensors files, sharded indexes and ONNX graphs where a profile goes: an ONNX MLP trains; everything else
/// is estimated from its headers, estimate-only; every bad file is one line and exit 2.
@Suite("Model files through the CLI")
struct ModelFilesCLITests {
    func estimate(_ path: String, _ flags: [String] = []) throws -> [String: Any] {
        let run = try runMemplan(["estimate", path, "--format", "json"] + flags)
        #expect(run.status == 0, "\(path): \(run.standardError)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any])
    }

    @Test("an ONNX MLP is an exact profile: estimated like one and trained; a CNN and unknown ops are estimate-only")
    func onnx() throws {
        let mlp = try estimate("fuzz/corpus/onnx/mlp.onnx")
        #expect((mlp["counts"] as? [String: Any])?["parameters"] as? Int == 152)
        let train = try runMemplan(["train", "fuzz/corpus/onnx/mlp.onnx", "--epochs", "1", "--format", "json"])
        #expect(train.status == 0, "\(train.standardError)")

        let cnn = try estimate("fuzz/corpus/onnx/cnn.onnx", ["--batch", "4"])
        let activations = try #require(cnn["activations"] as? [String: Any])
        #expect(activations["batch"] as? Int == 4)
        #expect(activations["complete"] as? Bool == true)
        #expect((activations["saved_bytes"] as? Int ?? 0) > 0)
        let plan = try runMemplan(["plan", "fuzz/corpus/onnx/cnn.onnx"])
        #expect(plan.status == 2)
        #expect(plan.standardError.contains("not a plain MLP"))

        let unknown = try estimate("fuzz/corpus/onnx/unknown-ops.onnx")
        let skipped = try #require((unknown["activations"] as? [String: Any])?["skipped_ops"] as? [[String: Any]])
        #expect(skipped.compactMap { $0["op"] as? String }.sorted() == ["Erf", "com.example.Fancy"])
        let table = try runMemplan(["estimate", "fuzz/corpus/onnx/unknown-ops.onnx"])
        #expect(table.standardOutput.contains("NOT sized, left out of the totals: Erf ×1, com.example.Fancy ×1"))
    }

    @Test("safetensors: parameters from the header, position_ids a buffer; markdown is refused by name")
    func safetensors() throws {
        let bert = try estimate("fuzz/corpus/safetensors/bert-like.safetensors")
        #expect(bert["parameters"] as? Int == 24)
        let buffers = try #require(bert["buffers"] as? [[String: Any]])
        #expect(buffers.compactMap { $0["name"] as? String } == ["embeddings.position_ids"])
        let markdown = try runMemplan(["estimate", "fuzz/corpus/safetensors/small.safetensors", "--format", "markdown"])
        #expect(markdown.status == 2)
        #expect(markdown.standardError.contains("renders table or json"))
    }

    @Test(
        "bad model files: one line and exit 2 each",
        arguments: [
            "onnx/bad-varint.onnx", "onnx/group.onnx", "onnx/truncated.onnx", "safetensors/bad-offsets.safetensors",
            "safetensors/negative-shape.safetensors", "safetensors/truncated.safetensors", "safetensors/index-unsafe.json",
        ])
    func badFiles(name: String) throws {
        let run = try runMemplan(["estimate", "fuzz/corpus/" + name])
        #expect(run.status == 2, "\(name): \(run.standardError)")
        #expect(run.standardError.hasPrefix("memplan: error: "))
        #expect(run.standardError.filter { $0 == "\n" }.count == 1, "\(name): \(run.standardError)")
        #expect(run.standardOutput.isEmpty)
    }

    /// The real files scripts/fetch-import-fixtures.sh downloads from PyPI; without them this skips.
    static let fixtures = ".build-fixtures"

    @Test(
        "published counts through the CLI: all-MiniLM-L6-v2 22,713,216; AlexNet, VGG-19, ResNet-50, SqueezeNet 1.1",
        .enabled(if: FileManager.default.fileExists(atPath: fixtures + "/minilm/model.safetensors")))
    func publishedFiles() throws {
        let minilm = try estimate(Self.fixtures + "/minilm/model.safetensors")
        #expect(minilm["parameters"] as? Int == 22_713_216)
        #expect((minilm["buffers"] as? [[String: Any]])?.first?["name"] as? String == "embeddings.position_ids")
        for (model, count) in [
            ("bvlc_alexnet", 60_965_224), ("vgg19", 143_667_240), ("resnet50", 25_557_032), ("squeezenet", 1_235_496),
        ] {
            let document = try estimate(Self.fixtures + "/onnx-light/light_\(model).onnx")
            #expect(document["parameters"] as? Int == count, "\(model)")
            let activations = try #require(document["activations"] as? [String: Any])
            #expect(activations["complete"] as? Bool == true, "\(model)")
            #expect((activations["skipped_ops"] as? [Any])?.isEmpty == true, "\(model)")
        }
    }

    /// A GPT-2-shaped safetensors file (V 8, T 4, L 1, C 4: 300 parameters) with a config.json beside it.
    static func gpt2Weights(in directory: URL, layers: Int) throws -> String {
        let shapes: [(String, [Int])] = [
            ("wte.weight", [8, 4]), ("wpe.weight", [4, 4]), ("h.0.ln_1.weight", [4]), ("h.0.ln_1.bias", [4]),
            ("h.0.attn.c_attn.weight", [4, 12]), ("h.0.attn.c_attn.bias", [12]), ("h.0.attn.c_proj.weight", [4, 4]),
            ("h.0.attn.c_proj.bias", [4]), ("h.0.ln_2.weight", [4]), ("h.0.ln_2.bias", [4]),
            ("h.0.mlp.c_fc.weight", [4, 16]), ("h.0.mlp.c_fc.bias", [16]), ("h.0.mlp.c_proj.weight", [16, 4]),
            ("h.0.mlp.c_proj.bias", [4]), ("ln_f.weight", [4]), ("ln_f.bias", [4]),
        ]
        var entries: [String] = []
        var offset = 0
        for (name, shape) in shapes {
            let bytes = 4 * shape.reduce(1, *)
            entries.append(#""\#(name)": {"dtype": "F32", "shape": \#(shape), "data_offsets": [\#(offset), \#(offset + bytes)]}"#)
            offset += bytes
        }
        let header = Array(("{" + entries.joined(separator: ", ") + "}").utf8)
        let length = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) }
        let weights = directory.appendingPathComponent("model.safetensors")
        try Data(length + header + [UInt8](repeating: 0, count: offset)).write(to: weights)
        let config =
            #"{"model_type": "gpt2", "n_embd": 4, "n_head": 1, "n_layer": \#(layers), "n_positions": 4, "vocab_size": 8}"#
        try config.write(to: directory.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        return weights.path
    }

    @Test("a config.json beside the weights is counted against them: agreeing, and one block too many")
    func crossCheck() throws {
        let directory = try makeTemporaryDirectory("model-files")
        defer { try? FileManager.default.removeItem(at: directory) }
        let agreeing = try estimate(try Self.gpt2Weights(in: directory, layers: 1))
        #expect(agreeing["parameters"] as? Int == 300)
        let check = try #require(agreeing["cross_check"] as? [String: Any])
        #expect(check["config_parameters"] as? Int == 300)
        #expect(check["agrees"] as? Bool == true)

        let disagreeing = try estimate(try Self.gpt2Weights(in: directory, layers: 2))
        let second = try #require(disagreeing["cross_check"] as? [String: Any])
        #expect(second["config_parameters"] as? Int == 300 + 244)
        #expect(second["agrees"] as? Bool == false)
        let table = try runMemplan(["estimate", directory.appendingPathComponent("model.safetensors").path])
        #expect(table.standardOutput.contains("544 parameters, the weights hold 300: they disagree"))
    }
}
