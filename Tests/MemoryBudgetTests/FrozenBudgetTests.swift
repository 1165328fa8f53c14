import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("Frozen layers in the budget")
struct FrozenBudgetTests {
    /// 784-256-10 under Adam, batch 1, with layer 1 frozen.
    static func model(precision: Precision = .single, optimizer: OptimizerKind = .adam) throws -> Model {
        var model = try Model(
            name: "frozen", widths: [784, 256, 10], loss: .softmaxCrossEntropy, precision: precision, batchSize: 1)
        model.layers[0].isFrozen = true
        return try model.with(optimizer: optimizer)
    }

    @Test("784-256-10, layer 1 frozen, Adam fp32: gradients and optimizer state for layer 2's 2,570 parameters only")
    func adamSingle() throws {
        let budget = try MemoryBudget.estimate(try Self.model())
        #expect(budget.parameterCount == 203_530)
        #expect(budget.frozenParameterCount == 200_960)  // 784·256 + 256
        #expect(budget.trainableParameterCount == 2_570)  // 256·10 + 10
        #expect(budget.parameterByteCount == 814_120)  // every parameter stored: 4 × 203,530
        #expect(budget.gradientByteCount == 10_280)  // 4 × 2,570
        #expect(budget.optimizerByteCount == 20_560)  // m and v: 2 × 4 × 2,570
        #expect(budget.masterParameterByteCount == 0)
        #expect(budget.layers[0].gradientByteCount == 0)
        #expect(budget.layers[0].optimizerByteCount == 0)
        #expect(budget.layers[1].gradientByteCount == 10_280)
        #expect(budget.layers[1].optimizerByteCount == 20_560)
        // The delta dz1 is still handed back through layer 2 (kept as is): 4 × 256.
        #expect(budget.deltaByteCount == 1_024)
    }

    @Test("the same under bf16-mixed: master copy, fp32 state and 2-byte gradients for layer 2 only")
    func adamMixed() throws {
        let budget = try MemoryBudget.estimate(try Self.model(precision: .bf16Mixed))
        #expect(budget.parameterByteCount == 407_060)  // 2 × 203,530
        #expect(budget.masterParameterByteCount == 10_280)  // 4 × 2,570
        #expect(budget.gradientByteCount == 5_140)  // 2 × 2,570
        #expect(budget.optimizerByteCount == 20_560)  // 2 × 4 × 2,570
    }

    @Test("the step table has no gradient or optimizer tensor of a frozen layer, and the update skips it")
    func table() throws {
        let table = try StepTable(model: try Self.model())
        let names = Set(table.tensors.map(\.name))
        for name in ["dW1", "db1", "mW1", "vW1", "mb1", "vb1"] { #expect(!names.contains(name), "\(name)") }
        for name in ["W1", "b1", "dW2", "db2", "mW2", "vW2", "dz1"] { #expect(names.contains(name), "\(name)") }
        #expect(table.tensors.filter(\.isFrozen).map(\.name) == ["W1", "b1"])
        #expect(table.parameterIDs.count == 2)
    }

    @Test("fused SGD: the frozen layer's backward writes no parameter; it still hands the delta on")
    func fusedSGD() throws {
        var model = try Model(name: "frozen", widths: [784, 256, 64, 10], loss: .softmaxCrossEntropy, batchSize: 1)
        model.layers[1].isFrozen = true
        let table = try StepTable(model: model)
        #expect(table.fusesUpdate)
        let budget = try MemoryBudget.estimate(table)
        #expect(budget.trainableParameterCount == 200_960 + 650)
        #expect(budget.frozenParameterCount == 256 * 64 + 64)
        #expect(budget.gradientByteCount == 0)
        #expect(budget.deltaByteCount == 4 * (256 + 64))
    }

    @Test("loss scaling costs no bytes: fp16-mixed dynamic equals bf16-mixed byte for byte")
    func lossScalingIsFree() throws {
        let fp16 = try MemoryBudget.estimate(try Self.model(precision: .fp16Mixed))
        let bf16 = try MemoryBudget.estimate(try Self.model(precision: .bf16Mixed))
        #expect(fp16.lossScaling == .dynamic)
        #expect(bf16.lossScaling == .disabled)
        #expect(fp16.totalByteCount == bf16.totalByteCount)
    }
}
