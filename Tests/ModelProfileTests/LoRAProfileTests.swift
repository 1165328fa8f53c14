import ModelProfile
import TestSupport
import Testing

@Suite("LoRA in profiles")
struct LoRAProfileTests {
    static let tiny = """
        kind: transformer
        vocabulary: 64
        context: 8
        layers: 2
        heads: 4
        hidden: 32
        activation: swiglu
        norm: rms

        """

    func message(_ text: String) -> String {
        do {
            _ = try ProfileParser.parse(text, file: "t.yaml")
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test("the shipped Llama-2 7B LoRA profile: rank 8 on q and v")
    func shipped() throws {
        guard case .transformer(let model) = try ProfileParser.load(path: profilePath("llama2-7b-lora")) else {
            Issue.record("llama2-7b-lora is not a transformer profile")
            return
        }
        #expect(model.lora == LoRA(rank: 8, targets: [.q, .v]))
        #expect(model.lora?.trainableParameterCount(in: model.spec) == 4_194_304)
    }

    @Test("targets take PEFT's module names too, in any order, each once")
    func names() throws {
        guard
            case .transformer(let model) = try ProfileParser.parse(
                Self.tiny + "lora: {rank: 2, targets: [v_proj, q, down_proj, q]}")
        else {
            Issue.record("expected a transformer")
            return
        }
        #expect(model.lora == LoRA(rank: 2, targets: [.q, .v, .down]))
    }

    @Test(
        "bad adapters: one line naming the line, the field and what is accepted",
        arguments: [
            ("lora: {rank: 0, targets: [q]}", "t.yaml:9:14: invalid lora.rank '0': must be at least 1"),
            ("lora: {rank: 33, targets: [q]}", "lora rank 33 exceeds the q projection (32 → 32): the rank must be at most 32"),
            ("lora: {rank: 9, targets: [k]}", "the rank must be at most 8"),  // with kv_heads: 1, k is 32 → 8
            ("lora: {rank: 2, targets: [qq]}", "unknown lora target 'qq'; did you mean 'q'?"),
            ("lora: {rank: 2, targets: []}", "nothing trains"),
            ("lora: {rank: 2}", "lora is missing 'targets'"),
            ("lora: {rank: 2, targets: [q], alpha: 16}", "unknown key 'alpha' in lora"),
        ])
    func bad(line: String, expected: String) {
        let text = line.contains("[k]") ? Self.tiny + "kv_heads: 1\n" + line : Self.tiny + line
        let description = message(text)
        #expect(description.contains(expected), "\(description)")
        #expect(!description.contains("\n"))
    }

    @Test("lora on an MLP or a bound profile names the kinds it applies to")
    func notATransformer() {
        let mlp = message("input: 2\noutput: {units: 1}\nloss: l2\nlora: {rank: 2, targets: [q]}\n")
        #expect(mlp.contains("lora adapters apply to transformer profiles"), "\(mlp)")
        let bound = message("kind: bound\nparameters: 1e9\nsample_bytes: 1GB\nlora: {rank: 2, targets: [q]}\n")
        #expect(bound.contains("this is a bound profile"), "\(bound)")
    }
}
