import ArenaPlanner
import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("LoRA budget")
struct LoRABudgetTests {
    /// Llama-2 7B from its shipped profile, at batch 1 and a short sequence (the model state does not depend on them).
    static func llama2(lora: LoRA?, precision: Precision = .bf16Mixed, sequence: Int = 16) throws -> TransformerModel {
        guard case .transformer(var model) = try ProfileParser.load(path: profilePath("llama2-7b")) else {
            throw ModelError.transformerShape("llama2-7b is not a transformer profile")
        }
        model.lora = lora
        return try model.with(precision: precision, batchSize: 1, optimizer: .adamw, sequenceLength: sequence)
    }

    static let qv = LoRA(rank: 8, targets: [.q, .v])

    @Test("LoRA r = 8 on q and v of Llama-2 7B trains 32 × 2 × 8 × (4096 + 4096) = 4,194,304 parameters")
    func llama2Count() throws {
        let model = try Self.llama2(lora: Self.qv)
        let budget = try MemoryBudget.estimate(.transformer(model))
        #expect(budget.trainableParameterCount == 4_194_304)
        #expect(budget.trainableParameterCount == 32 * 2 * 8 * (4096 + 4096))
        #expect(Self.qv.trainableParameterCount(in: model.spec) == 4_194_304)
        #expect(budget.frozenParameterCount == 6_738_415_616)
        // The frozen base weights still count as parameters; the adapters add theirs.
        #expect(budget.parameterCount == 6_738_415_616 + 4_194_304)
    }

    @Test("bf16-mixed AdamW with LoRA: model state = 2 B × 6.74 B frozen + 16 B × 4.19 M adapters")
    func llama2Bytes() throws {
        let budget = try MemoryBudget.estimate(.transformer(try Self.llama2(lora: Self.qv)))
        let (frozen, adapters) = (6_738_415_616, 4_194_304)
        #expect(budget.parameterByteCount == 2 * (frozen + adapters))
        #expect(budget.masterParameterByteCount == 4 * adapters)
        #expect(budget.gradientByteCount == 2 * adapters)
        #expect(budget.optimizerByteCount == 8 * adapters)  // AdamW's m and v in fp32
        let modelState =
            budget.parameterByteCount + budget.masterParameterByteCount + budget.gradientByteCount + budget.optimizerByteCount
        #expect(modelState == 2 * frozen + 16 * adapters)
        #expect(modelState == 13_543_940_096)
        // Without LoRA the same recipe needs 16 bytes for every parameter.
        let full = try MemoryBudget.estimate(.transformer(try Self.llama2(lora: nil)))
        #expect(full.trainableParameterCount == frozen)
        #expect(full.frozenParameterCount == 0)
        #expect(full.gradientByteCount == 2 * frozen)
    }

    @Test("the adapters' activations: the rank-r intermediate u (B, T, r) per adapted projection, and its delta")
    func adapterActivations() throws {
        let (batch, sequence, rank) = (2, 16, 8)
        func budget(_ lora: LoRA?) throws -> Budget {
            var model = try Self.llama2(lora: lora, precision: .single, sequence: sequence)
            model.batchSize = batch
            return try MemoryBudget.estimate(.transformer(model))
        }
        let (adapted, full) = (try budget(Self.qv), try budget(nil))
        let perProjection = batch * sequence * rank * 4
        #expect(adapted.activationByteCount - full.activationByteCount == 32 * 2 * perProjection)
        #expect(adapted.deltaByteCount - full.deltaByteCount == 32 * 2 * perProjection)
    }

    @Test("frozen weights have no gradient, master copy or optimizer state; adapters have all three")
    func frozenTensors() throws {
        let table = try StepTable(transformer: try Self.llama2(lora: LoRA(rank: 4, targets: [.q, .o, .gate, .down])))
        let ids = Set(table.tensors.map(\.id))
        let parameters = table.tensors.filter { $0.category == .parameters }
        for tensor in parameters {
            let derived = [tensor.id.gradient, tensor.id.master, tensor.id.state(0), tensor.id.state(1)]
            if tensor.isFrozen {
                #expect(derived.allSatisfy { !ids.contains($0) }, "\(tensor.name)")
            } else {
                #expect(tensor.name.contains("lora_"), "\(tensor.name) trains")
                #expect(derived.allSatisfy(ids.contains), "\(tensor.name)")
            }
        }
        #expect(Set(table.parameterIDs) == Set(parameters.filter { !$0.isFrozen }.map(\.id)))
        // q: A (4, 4096), B (4096, 4); gate and down: (4, 4096) + (11008, 4) and (4, 11008) + (4096, 4).
        let perBlock = 4 * (4096 + 4096) * 2 + 4 * (4096 + 11008) * 2
        #expect(parameters.filter { !$0.isFrozen }.reduce(0) { $0 + $1.elementCount } == 32 * perBlock)
    }

    @Test("a LoRA step plans: every buffer placed without overlap, under each checkpoint mode", arguments: Recompute.allCases)
    func plans(recompute: Recompute) throws {
        let spec = TransformerSpec(
            vocabularySize: 64, contextLength: 16, layerCount: 3, headCount: 4, keyValueHeadCount: 2, hiddenSize: 32,
            feedForwardSize: 48, norm: .rms, feedForward: .swiglu, positions: .rotary, tiedEmbeddings: false, hasBiases: false)
        let lora = LoRA(rank: 2, targets: LoRATarget.allCases)
        let model = try TransformerModel(
            name: "tiny", spec: spec, batchSize: 2, sequenceLength: 16, recompute: recompute, lora: lora)
        let program = StepProgram(table: try StepTable(transformer: model))
        let plan = try BestPlanner().plan(program.buffers, alignment: 64)
        #expect(plan.overlappingPairs().isEmpty)
        let budget = try MemoryBudget.estimate(program.table)
        #expect(plan.arenaByteCount <= budget.totalByteCount)
        // 3 blocks × (q 32→32, k and v 32→16, o 32→32, gate and up 32→48, down 48→32) at rank 2.
        let perBlock = 2 * ((32 + 32) + 2 * (32 + 16) + (32 + 32) + 2 * (32 + 48) + (48 + 32))
        #expect(budget.trainableParameterCount == 3 * perBlock)
        #expect(lora.trainableParameterCount(in: spec) == 3 * perBlock)
        // Frozen embeddings: no backward op for them.
        #expect(!program.opNames.contains("bwd embed"))
    }

    @Test(
        "bad adapters are refused with the reason",
        arguments: [
            (LoRA(rank: 0, targets: [.q]), "at least 1"),
            (LoRA(rank: 4097, targets: [.q, .v]), "at most 4096"),
            (LoRA(rank: 8, targets: []), "nothing trains"),
        ])
    func refused(lora: LoRA, reason: String) throws {
        #expect {
            try Self.llama2(lora: lora)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test("gate needs SwiGLU; GPT-2's fc and projection are up and down")
    func gelu() throws {
        let spec = TransformerSpec(vocabularySize: 64, contextLength: 8, layerCount: 2, headCount: 4, hiddenSize: 32)
        #expect(throws: ModelError.self) { try LoRA(rank: 4, targets: [.gate]).validate(for: spec) }
        let lora = LoRA(rank: 4, targets: [.down, .up, .up])
        #expect(lora.targets == [.up, .down])
        #expect(lora.trainableParameterCount(in: spec) == 2 * 2 * 4 * (32 + 128))
        let budget = try MemoryBudget.estimate(
            .transformer(try TransformerModel(name: "g", spec: spec, batchSize: 1, sequenceLength: 8, lora: lora)))
        #expect(budget.trainableParameterCount == 2 * 2 * 4 * (32 + 128))
    }
}
