import ArenaPlanner
import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("One rank's buffers under dp and the ZeRO stages")
struct RankBufferTests {
    func program(_ name: String, optimizer: OptimizerKind) throws -> StepProgram {
        let profile = try ProfileParser.load(path: profilePath(name)).with(precision: nil, batchSize: nil, optimizer: optimizer)
        let options = StepOptions(fusesUpdate: false)
        switch profile {
        case .exact(let model): return StepProgram(table: try StepTable(model: model, options: options))
        case .transformer(let model): return StepProgram(table: try StepTable(transformer: model, options: options))
        case .bound: preconditionFailure("no layers to plan")
        }
    }

    @Test(
        "a rank's buffers sum to the estimate's per-device total, plan without overlap, and shrink with each stage",
        arguments: ["fashion-mnist-mlp", "bytes-gpt"], [2, 4])
    func rankPlans(name: String, devices: Int) throws {
        let program = try program(name, optimizer: .adamw)
        let budget = try MemoryBudget.estimate(program.table)
        var arenas: [ShardingStrategy: Int] = [:]
        for strategy in [ShardingStrategy.dp, .zero1, .zero2, .zero3] {
            let buffers = try program.rankBuffers(strategy: strategy, devices: devices)
            let device = try DeviceBudget(budget, strategy: strategy, deviceCount: devices)
            // Each tensor is split on its own (⌈elements/N⌉ each), the estimate splits each category's sum: the two
            // differ by less than one element per tensor.
            let sum = buffers.map(\.byteCount).reduce(0, +)
            let slack = program.table.tensors.count * 8
            #expect(abs(sum - device.totalByteCount) <= slack, "\(strategy): \(sum) vs \(device.totalByteCount)")
            let plan = try BestPlanner().plan(buffers, alignment: 64)
            try plan.validate()
            #expect(plan.lowerBound <= plan.arenaByteCount)
            #expect(plan.bytes(of: .communication) > 0)
            // Exchange buffers hold whole elements (fp32 here).
            #expect(buffers.filter { $0.category == .communication }.allSatisfy { $0.byteCount % 4 == 0 })
            arenas[strategy] = plan.arenaByteCount
        }
        // zero3's rank holds a slice of every parameter and the state: its arena is below dp's by at least the
        // parameters' and optimizer state's shards, less its gather buffer.
        #expect(arenas[.zero3]! < arenas[.dp]!, "\(arenas)")
        #expect(arenas[.zero1]! < arenas[.dp]!, "\(arenas)")
    }

    @Test(
        "tied embeddings without a position table: the bucket and ring chunk live until bwd embed, where wte's gradient is formed again"
    )
    func tiedRotaryBucket() throws {
        let profile = try ProfileParser.parse(
            """
            kind: transformer
            name: tied-rotary
            vocabulary: 20
            context: 8
            layers: 2
            heads: 2
            hidden: 8
            norm: rms
            activation: swiglu
            positions: rotary
            tied_embeddings: true
            biases: false
            batch: 2
            sequence: 6
            optimizer: {kind: adamw, learning_rate: 1e-3}
            """)
        guard case .transformer(let model) = profile else { throw PlanError.overflow(name: "not a transformer") }
        let program = StepProgram(table: try StepTable(transformer: model, options: StepOptions(fusesUpdate: false)))
        let embed = try #require(program.opNames.firstIndex(of: "bwd embed"))
        let logits = try #require(program.opNames.firstIndex(of: "bwd logits"))
        for strategy in [ShardingStrategy.zero2, .zero3] {
            let buffers = try program.rankBuffers(strategy: strategy, devices: 2)
            for name in ["gradient bucket", "ring chunk"] {
                let buffer = try #require(buffers.first { $0.name == name })
                #expect(buffer.lifetime == logits...embed, "\(strategy) \(name): \(buffer.lifetime), ops \(logits)...\(embed)")
            }
        }
    }

    @Test("one device is the program's own buffers")
    func oneDevice() throws {
        let program = try program("fashion-mnist-mlp", optimizer: .adam)
        #expect(try program.rankBuffers(strategy: .zero3, devices: 1) == program.buffers)
    }
}
