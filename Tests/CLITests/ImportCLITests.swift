import Foundation
import TestSupport
import Testing

/// A Hugging Face config.json wherever a profile goes, and `memplan import` writing the profile it becomes.
@Suite("memplan import and config.json, end to end")
struct ImportCLITests {
    static let gpt2 = """
        {"model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024,
         "vocab_size": 50257, "activation_function": "gelu_new", "summary_activation": null}
        """

    @Test("estimate config.json counts GPT-2's 124,439,808 parameters; import's profile estimates the same")
    func configAndImport() throws {
        let directory = try makeTemporaryDirectory("import-cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("config.json").path
        try Self.gpt2.write(toFile: config, atomically: true, encoding: .utf8)
        func parameters(_ path: String) throws -> Int? {
            let run = try runMemplan(["estimate", path, "--format", "json"])
            #expect(run.status == 0, "stderr: \(run.standardError)")
            let document = try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any]
            return (document?["counts"] as? [String: Any])?["parameters"] as? Int
        }
        #expect(try parameters(config) == 124_439_808)

        let profile = directory.appendingPathComponent("gpt2.yaml").path
        let imported = try runMemplan(["import", config, "--output", profile])
        #expect(imported.status == 0, "stderr: \(imported.standardError)")
        #expect(imported.standardOutput == "Profile written to \(profile)\n")
        let text = try String(contentsOfFile: profile, encoding: .utf8)
        #expect(text.contains("kind: transformer\n") && text.contains("hidden: 768\n") && text.contains("biases: true\n"))
        #expect(try parameters(profile) == 124_439_808)

        let printed = try runMemplan(["import", config])
        #expect(printed.status == 0)
        #expect(printed.standardOutput.hasSuffix(text.drop(while: { $0 != "\n" }).dropFirst()))

        let mlp = try runMemplan(["import", "profiles/fashion-mnist-mlp.yaml"])
        #expect(mlp.status == 2)
        #expect(mlp.standardError.contains("import derives transformer profiles from config.json"))
    }
}
