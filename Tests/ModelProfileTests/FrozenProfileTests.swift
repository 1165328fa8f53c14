import ModelProfile
import TestSupport
import Testing

@Suite("Frozen layers and loss scaling in profiles")
struct FrozenProfileTests {
    static let mlp = """
        input: {features: 784}
        hidden:
          - units: 256
            frozen: true
        output: {units: 10}
        loss: softmax-cross-entropy

        """

    func message(_ text: String, file: String = "p.yaml") -> String {
        do {
            _ = try ProfileParser.parse(text, file: file)
            return "no error"
        } catch {
            return error.description
        }
    }

    @Test("frozen: true on a hidden layer; the output layer trains by default")
    func frozenHidden() throws {
        guard case .exact(let model) = try ProfileParser.parse(Self.mlp) else {
            Issue.record("not an exact profile")
            return
        }
        #expect(model.layers.map(\.isFrozen) == [true, false])
    }

    @Test("frozen: true on the output layer, frozen: false on a hidden one")
    func frozenOutput() throws {
        let text = Self.mlp.replacing("frozen: true", with: "frozen: false").replacing(
            "output: {units: 10}", with: "output: {units: 10, frozen: true}")
        guard case .exact(let model) = try ProfileParser.parse(text) else {
            Issue.record("not an exact profile")
            return
        }
        #expect(model.layers.map(\.isFrozen) == [false, true])
    }

    @Test("every layer frozen: nothing trains, at the output layer's line")
    func everyLayerFrozen() {
        let text = Self.mlp.replacing("output: {units: 10}", with: "output: {units: 10, frozen: true}")
        let error = message(text)
        #expect(error.hasPrefix("p.yaml:5:"), "\(error)")
        #expect(error.contains("nothing trains"))
    }

    @Test("loss_scaling defaults to dynamic for fp16-mixed and none otherwise")
    func lossScalingDefaults() throws {
        guard case .exact(let single) = try ProfileParser.parse(Self.mlp),
            case .exact(let half) = try ProfileParser.parse(Self.mlp + "precision: fp16-mixed\n")
        else {
            Issue.record("not exact profiles")
            return
        }
        #expect(single.lossScaling == nil)
        #expect(single.effectiveLossScaling == .disabled)
        #expect(half.effectiveLossScaling == .dynamic)
        #expect(LossScaling.defaultScaling(for: .bf16Mixed) == .disabled)
    }

    @Test("loss_scaling: dynamic and none are read; none is fine for bf16-mixed")
    func lossScalingRead() throws {
        guard case .exact(let dynamic) = try ProfileParser.parse(Self.mlp + "precision: fp16-mixed\nloss_scaling: dynamic\n"),
            case .exact(let none) = try ProfileParser.parse(Self.mlp + "precision: bf16-mixed\nloss_scaling: none\n")
        else {
            Issue.record("not exact profiles")
            return
        }
        #expect(dynamic.lossScaling == .dynamic)
        #expect(none.lossScaling == .disabled)
    }

    @Test("fp16-mixed with loss_scaling: none names the loss_scaling line and says what to do")
    func fp16WithoutScaling() {
        let error = message(Self.mlp + "precision: fp16-mixed\nloss_scaling: none\n")
        #expect(error.hasPrefix("p.yaml:8:"), "\(error)")
        #expect(error.contains("fp16's 5-bit exponent underflows small gradients; use loss_scaling: dynamic or bf16-mixed"))
        #expect(!error.contains("\n"))
    }

    @Test("the CLI's fp16-mixed against a profile's loss_scaling: none is a model error")
    func overrideRefused() throws {
        guard case .exact(let model) = try ProfileParser.parse(Self.mlp + "loss_scaling: none\n") else {
            Issue.record("not an exact profile")
            return
        }
        #expect(throws: ModelError.fp16WithoutLossScaling) { try model.with(precision: .fp16Mixed) }
        #expect(try model.with(precision: .bf16Mixed).precision == .bf16Mixed)
    }

    @Test("a transformer profile takes loss_scaling too")
    func transformer() {
        let text = "kind: transformer\nvocabulary: 64\ncontext: 8\nlayers: 1\nheads: 4\nhidden: 32\n"
        #expect(message(text + "precision: fp16-mixed\nloss_scaling: dynamic\n") == "no error")
        let error = message(text + "precision: fp16-mixed\nloss_scaling: none\n", file: "t.yaml")
        #expect(error.hasPrefix("t.yaml:8:"), "\(error)")
    }

    @Test("an unknown loss_scaling lists the accepted ones")
    func unknownScaling() {
        let error = message(Self.mlp + "loss_scaling: static\n")
        #expect(error.contains("unknown loss_scaling 'static'"), "\(error)")
        #expect(error.contains("dynamic, none"))
    }
}
