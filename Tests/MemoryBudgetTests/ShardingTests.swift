import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("One device's bytes under dp and the ZeRO stages")
struct ShardingTests {
    func bound(_ parameters: Int, _ precision: Precision, _ optimizer: OptimizerKind) throws -> Budget {
        try MemoryBudget.estimate(
            .bound(
                try BoundModel(
                    name: "bound", parameterCount: parameters, sampleByteCount: 0, precision: precision, optimizer: optimizer)))
    }

    func profile(_ name: String, devices: Int, precision: Precision? = nil, optimizer: OptimizerKind? = nil) throws -> Budget {
        let profile = try ProfileParser.load(path: profilePath(name)).with(
            precision: precision, batchSize: nil, optimizer: optimizer)
        return try MemoryBudget.estimate(profile, options: StepOptions(fusesUpdate: devices == 1))
    }

    @Test(
        "the ZeRO paper's example: Ψ = 7.5 B, N = 64, mixed-precision Adam → 120 / 31.4 / 16.6 / 1.9 GB per device",
        arguments: [
            (ShardingStrategy.dp, 120_000_000_000), (.zero1, 31_406_250_000), (.zero2, 16_640_625_000),
            (.zero3, 1_875_000_000),
        ])
    func paperExample(strategy: ShardingStrategy, expected: Int) throws {
        let budget = try bound(7_500_000_000, .bf16Mixed, .adam)
        let device = try DeviceBudget(budget, strategy: strategy, deviceCount: 64)
        // 16Ψ; 4Ψ + 12Ψ/N; 2Ψ + 14Ψ/N; 16Ψ/N — exact in bytes, as the paper's GB round them.
        #expect(device.modelStateByteCount == expected)
    }

    @Test(
        "fp32 Adam without a master copy: 16Ψ, 8Ψ + 8Ψ/N, 4Ψ + 12Ψ/N, 16Ψ/N",
        arguments: [ShardingStrategy.dp, .zero1, .zero2, .zero3])
    func fp32Forms(strategy: ShardingStrategy) throws {
        let psi = 1_000_000_000
        let n = 16
        let budget = try bound(psi, .single, .adam)
        let expected =
            switch strategy {
            case .dp: 16 * psi
            case .zero1: 8 * psi + 8 * psi / n
            case .zero2: 4 * psi + 12 * psi / n
            default: 16 * psi / n
            }
        #expect(try DeviceBudget(budget, strategy: strategy, deviceCount: n).modelStateByteCount == expected)
    }

    @Test("one device under dp is the single-device budget, byte for byte", arguments: ["fashion-mnist-mlp", "bytes-gpt"])
    func oneDevice(name: String) throws {
        let budget = try profile(name, devices: 1, optimizer: .adam)
        let device = try DeviceBudget(budget, strategy: .dp, deviceCount: 1)
        #expect(device.totalByteCount == budget.totalByteCount)
        #expect(device.communicationByteCount == 0)
    }

    @Test("zero3 counts the largest layer's gather buffer and gradient bucket; the stages only lower model state")
    func exchangeBuffers() throws {
        let budget = try profile("fashion-mnist-mlp", devices: 4, optimizer: .adam)
        let largest = try #require(budget.layers.map(\.parameterByteCount).max())
        #expect(largest == (784 * 256 + 256) * 4)
        let states = try [ShardingStrategy.dp, .zero1, .zero2, .zero3].map {
            try DeviceBudget(budget, strategy: $0, deviceCount: 4)
        }
        // A ring chunk of whole fp32 elements: ⌈235,146 / 4⌉ = 58,787 of them.
        #expect(states[0].communicationByteCount == (budget.gradientByteCount / 4 + 3) / 4 * 4)
        let gradientBucket = try #require(budget.layers.map(\.gradientByteCount).max())
        #expect(states[3].communicationByteCount == gradientBucket + (gradientBucket / 4 + 3) / 4 * 4 + largest)
        #expect(states[3].parameterByteCount == (budget.parameterByteCount + 3) / 4)
        for (lower, higher) in zip(states.dropFirst(), states) {
            #expect(lower.modelStateByteCount < higher.modelStateByteCount)
        }
        // Activations and inputs are the device's own batch: ZeRO does not shard them.
        #expect(states.allSatisfy { $0.activationByteCount == budget.activationByteCount })
    }

    @Test("tensor parallelism splits matrices and a block's activations by Korthikanti's t-dependence")
    func tensorParallel() throws {
        let budget = try profile("bytes-gpt", devices: 2, optimizer: .adamw)
        let device = try DeviceBudget(budget, strategy: .tp, deviceCount: 2)
        #expect(device.parameterByteCount < budget.parameterByteCount)
        #expect(device.parameterByteCount > budget.parameterByteCount / 2)  // norm gains and biases are replicated
        #expect(device.activationByteCount < budget.activationByteCount)
        #expect(device.activationByteCount > budget.activationByteCount / 2)  // 4p + 2 of 16p + 2 is replicated
    }

    @Test("splits the model cannot take are errors naming the reason")
    func refusals() throws {
        let tiny = try bound(10, .single, .adam)
        #expect(throws: BudgetError.self) { try DeviceBudget(tiny, strategy: .zero3, deviceCount: 11) }
        #expect(try DeviceBudget(tiny, strategy: .zero3, deviceCount: 10).parameterByteCount == 4)
        #expect(try DeviceBudget(tiny, strategy: .dp, deviceCount: 11).parameterByteCount == 40)
        #expect(throws: BudgetError.self) { try DeviceBudget(tiny, strategy: .tp, deviceCount: 2) }
        #expect(throws: BudgetError.self) { try DeviceBudget(tiny, strategy: .dp, deviceCount: 0) }
        let gpt = try profile("bytes-gpt", devices: 3)
        do {
            _ = try DeviceBudget(gpt, strategy: .tp, deviceCount: 3)
            Issue.record("3-way tensor parallelism of a model whose heads 3 does not divide was accepted")
        } catch {
            #expect(error.description.contains("heads"))
        }
    }
}
