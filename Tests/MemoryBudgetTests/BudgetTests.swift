import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("Memory budget")
struct BudgetTests {
    func budget(_ name: String, precision: Precision? = nil, batch: Int? = nil, optimizer: OptimizerKind? = nil) throws -> Budget
    {
        let profile = try ProfileParser.load(path: profilePath(name)).with(
            precision: precision, batchSize: batch, optimizer: optimizer)
        return try MemoryBudget.estimate(profile)
    }

    // MARK: - The lecture's numbers

    @Test("the lecture's 3-4-2 network: 26 parameters, 20 weights, 6 biases, 6 neurons")
    func perceptron342() throws {
        let b = try budget("perceptron-3-4-2")
        #expect(b.parameterCount == 26)
        #expect(b.weightCount == 20)
        #expect(b.biasCount == 6)
        #expect(b.neuronCount == 6)
    }

    @Test(
        "the lecture's quiz: 3,601 GB, 7,201 GB, 1,203,400 GB, 2,405,800 GB",
        arguments: [
            (Precision.single, 1, 3_601_000_000_000), (.double, 1, 7_201_000_000_000),
            (.single, 1000, 1_203_400_000_000_000), (.double, 1000, 2_405_800_000_000_000),
        ])
    func quiz(precision: Precision, batch: Int, expected: Int) throws {
        let b = try budget("quiz-300b", precision: precision, batch: batch)
        #expect(b.mode == .bound)
        #expect(b.totalByteCount == expected)
        // The lecture's decomposition: parameters, gradients (same shape), activations ≤ parameters per sample, samples.
        #expect(b.parameterByteCount == 300_000_000_000 * precision.byteCount)
        #expect(b.gradientByteCount == b.parameterByteCount)
        #expect(b.activationByteCount == b.parameterByteCount * batch)
        #expect(b.inputByteCount == 1_000_000_000 * batch)
    }

    @Test(
        "the Fashion-MNIST MLP: 235,146 parameters, 940,584 bytes of parameters; SGD stores no gradients, momentum 940,584 bytes")
    func fashionMLP() throws {
        let b = try budget("fashion-mnist-mlp")
        #expect(b.parameterCount == 235_146)
        #expect(b.parameterByteCount == 940_584)
        // Plain SGD's update is fused into the backward pass: each gradient is applied as it is formed.
        #expect(b.fusesUpdate)
        #expect(b.gradientByteCount == 0)
        #expect(try budget("fashion-mnist-mlp", optimizer: .momentum).gradientByteCount == 940_584)
        #expect(b.layers.map(\.parameterCount) == [200_960, 32_896, 1_290])
        // a_l for the batch: 128 · (256 + 128 + 10) · 4
        #expect(b.activationByteCount == 128 * 394 * 4)
        // x (128 · 784) and one-hot y (128 · 10), 4 bytes each
        #expect(b.inputByteCount == 128 * (784 + 10) * 4)
        // dz of the hidden layers: 128 · (256 + 128) · 4
        #expect(b.deltaByteCount == 128 * 384 * 4)
        #expect(b.totalByteCount == 940_584 + 128 * 394 * 4 + 128 * 794 * 4 + 128 * 384 * 4)
    }

    /// Counts of every shipped exact profile: (parameters, weights, biases, neurons).
    static let shippedCounts: [(String, Int, Int, Int, Int)] = [
        ("perceptron-3-4-2", 26, 20, 6, 6),
        ("smallest-perceptron", 1, 1, 0, 1),
        ("second-smallest-perceptron", 2, 2, 0, 1),
        ("polynomial-9", 10, 9, 1, 1),
        ("logistic", 785, 784, 1, 1),
        ("softmax-fashion", 7_850, 7_840, 10, 10),
        ("multilabel", 784 * 64 + 64 + 64 * 3 + 3, 784 * 64 + 64 * 3, 67, 67),
        ("fashion-mnist-mlp", 235_146, 234_752, 394, 394),
        // 20 hidden layers of 64 with layer norm: weights + biases + γ and β of each hidden layer (20 · 64 · 2).
        ("deep-sigmoid", 80_128 + 1_284 + 2_560, 32 * 64 + 19 * 64 * 64 + 64 * 4, 20 * 64 + 4, 20 * 64 + 4),
    ]

    @Test("every shipped profile's counts", arguments: shippedCounts)
    func shippedProfileCounts(name: String, parameters: Int, weights: Int, biases: Int, neurons: Int) throws {
        let b = try budget(name)
        #expect(b.parameterCount == parameters)
        #expect(b.weightCount == weights)
        #expect(b.biasCount == biases)
        #expect(b.neuronCount == neurons)
    }

    @Test("every shipped profile is covered by the counts table")
    func everyProfileCounted() {
        let counted = Set(Self.shippedCounts.map(\.0) + ["quiz-300b"] + shippedTransformerProfileNames())
        #expect(Set(shippedProfileNames()) == counted)
    }

    // MARK: - All four precisions, both modes

    @Test("exact mode scales every byte category by the element size", arguments: Precision.allCases)
    func exactPrecisions(precision: Precision) throws {
        let b = try budget("fashion-mnist-mlp", precision: precision, batch: 32)
        let s = precision.byteCount
        #expect(b.parameterByteCount == 235_146 * s)
        #expect(b.gradientByteCount == 0)  // SGD, fused
        #expect(b.activationByteCount == 32 * 394 * s)
        #expect(b.deltaByteCount == 32 * 384 * s)
        #expect(b.inputFeatureByteCount == 32 * 784 * s)
        #expect(b.inputTargetByteCount == 32 * 10 * s)
        #expect(b.optimizerByteCount == 0)
        // A mixed recipe keeps an fp32 master copy of the weights beside the 2-byte ones.
        let master = 235_146 * (precision.masterPrecision?.byteCount ?? 0)
        #expect(b.masterParameterByteCount == master)
        #expect(b.totalByteCount == (235_146 + 32 * 394 + 32 * 794 + 32 * 384) * s + master)
    }

    @Test("bf16-mixed with AdamW: 16 bytes of model state per parameter, 107.8 GB for Llama-2 7B; pure bf16 only 8")
    func mixedPrecisionRecipe() throws {
        guard case .transformer(let model) = try ProfileParser.load(path: profilePath("llama2-7b")) else {
            Issue.record("llama2-7b is not a transformer profile")
            return
        }
        func modelState(_ precision: Precision) throws -> Int {
            let b = try MemoryBudget.estimate(
                .transformer(try model.with(precision: precision, batchSize: 1, optimizer: .adamw, sequenceLength: 16)))
            #expect(b.parameterCount == 6_738_415_616)
            return b.parameterByteCount + b.masterParameterByteCount + b.gradientByteCount + b.optimizerByteCount
        }
        #expect(try modelState(.bf16Mixed) == 16 * 6_738_415_616)  // 2 + 4 master + 2 grad + 4 + 4 Adam
        #expect(try modelState(.fp16Mixed) == 16 * 6_738_415_616)
        #expect(try modelState(.bfloat16) == 8 * 6_738_415_616)  // every tensor 2 bytes, as labelled
        #expect(try modelState(.single) == 16 * 6_738_415_616)  // 4 + 4 + 4 + 4, no master copy
    }

    @Test("bound mode at every precision follows the lecture's formula", arguments: Precision.allCases)
    func boundPrecisions(precision: Precision) throws {
        let b = try budget("quiz-300b", precision: precision, batch: 7)
        let p = 300_000_000_000 * precision.byteCount
        // Mixed recipes add the fp32 master weights (the quiz's SGD keeps no optimizer state).
        let master = 300_000_000_000 * (precision.masterPrecision?.byteCount ?? 0)
        #expect(b.masterParameterByteCount == master)
        #expect(b.totalByteCount == p + p + 7 * p + 7 * 1_000_000_000 + master)
    }

    @Test(
        "optimizer state: 0, 1 and 2 copies of the parameters", arguments: [(OptimizerKind.sgd, 0), (.momentum, 1), (.adam, 2)])
    func optimizerState(kind: OptimizerKind, copies: Int) throws {
        let exact = try budget("fashion-mnist-mlp", optimizer: kind)
        #expect(exact.optimizerByteCount == copies * 940_584)
        #expect(exact.layers.map(\.optimizerByteCount).reduce(0, +) == exact.optimizerByteCount)
        let bound = try budget("quiz-300b", optimizer: kind)
        #expect(bound.optimizerByteCount == copies * 1_200_000_000_000)
    }

    @Test("per-layer bytes add up to the totals")
    func layersSum() throws {
        let b = try budget("multilabel", precision: .double, batch: 17, optimizer: .adam)
        #expect(b.layers.map(\.parameterByteCount).reduce(0, +) == b.parameterByteCount)
        #expect(b.layers.map(\.activationByteCount).reduce(0, +) == b.activationByteCount)
        #expect(b.layers.map(\.weightCount).reduce(0, +) == b.weightCount)
    }

    // MARK: - Overflow is an error, never a trap

    @Test("a batch whose bytes overflow Int is an error")
    func overflowBatch() throws {
        #expect(throws: BudgetError.self) { try budget("quiz-300b", precision: .double, batch: 4_000_000_000) }
        #expect(throws: BudgetError.self) { try budget("fashion-mnist-mlp", batch: Int.max / 2) }
    }

    @Test("a layer too wide to count is an error")
    func overflowWidth() throws {
        let model = try Model(name: "wide", widths: [Int.max / 2, 4], loss: .l2)
        #expect(throws: BudgetError.overflow(quantity: "buffer W1", context: "wide")) {
            try MemoryBudget.estimate(model)
        }
    }

    @Test("the biggest parameter count that fits still works")
    func nearLimit() throws {
        let bound = try BoundModel(name: "edge", parameterCount: Int.max / 16, sampleByteCount: 0, precision: .single)
        let b = try MemoryBudget.estimate(bound)
        #expect(b.parameterByteCount == (Int.max / 16) * 4)
        #expect(throws: BudgetError.self) { try MemoryBudget.estimate(try bound.with(precision: .double)) }
    }
}
