import ArenaPlanner
import Foundation
@testable import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena
import TestSupport
import Testing
import TrainingData

/// A bf16-mixed transformer step on its planned arena with synthetic text, as `TransformerFixture` for fp32.
final class MixedTransformerFixture {
    let program: StepProgram
    let arena: Arena
    let pool: WorkerPool
    let trainer: MixedTransformerTrainer

    init(_ model: TransformerModel, threads: Int = 1, guardsLifetimes: Bool = false) throws {
        let loader = try TextLoader(model: model)
        program = StepProgram(
            table: try StepTable(
                transformer: model, options: StepOptions(parts: threads, plansPacking: true),
                textBytes: (loader.trainCount, loader.validationCount)))
        let plan = try BestPlanner().plan(program.buffers, alignment: 64)
        try plan.validate()
        arena = try Arena(byteCount: plan.arenaByteCount, placement: .local)
        trainer = MixedTransformerTrainer(
            program: program, plan: plan, arena: arena,
            lifetimeGuard: guardsLifetimes ? LifetimeGuard(program: program, plan: plan, arena: arena) : nil)
        let tensors = trainer.tensors
        try loader.load(train: tensors.trainText, validation: tensors.validationText)
        for index in 0..<tensors.windowCount { tensors.order[index] = Int32((index * 7 + 3) % tensors.windowCount) }
        pool = WorkerPool(partCount: threads)
        trainer.attach(pool)
        trainer.initializeParameters(seed: model.seed)
    }

    /// Each parameter's gradient as fp64, in the table's order.
    var gradients: [[Double]] {
        trainer.tensors.parameters.map { p in (0..<p.count).map { Double(BF16.value(p.gradient[$0])) } }
    }

    /// The fp32 masters, in the table's order, flattened.
    var masterValues: [Double] {
        zip(trainer.masters, trainer.tensors.parameters).flatMap { master, p in (0..<p.count).map { Double(master[$0]) } }
    }
}

/// A transformer small enough to test, wide enough that bf16's rounding averages out as it does in real models:
/// GPT-2 (LayerNorm, GELU, learned positions, tied) or Llama (RMSNorm, SwiGLU, rotary, grouped-query); a context
/// longer than the sequence, so position rows past T exist (their gradient is 0, never what the bytes held before).
func mixedTestTransformer(llama: Bool, precision: Precision) throws -> TransformerModel {
    let spec =
        llama
        ? TransformerSpec(
            vocabularySize: 40, contextLength: 48, layerCount: 2, headCount: 4, keyValueHeadCount: 2, hiddenSize: 64,
            feedForwardSize: 96, norm: .rms, feedForward: .swiglu, positions: .rotary, tiedEmbeddings: false,
            hasBiases: false)
        : TransformerSpec(
            vocabularySize: 40, paddedVocabularySize: 48, contextLength: 48, layerCount: 2, headCount: 4, hiddenSize: 64)
    return try TransformerModel(
        name: llama ? "mixed-llama" : "mixed-gpt2", spec: spec, batchSize: 4, sequenceLength: 32, precision: precision,
        optimizer: Optimizer(kind: .adamw, learningRate: 3e-3, weightDecay: 0), data: .synthetic(count: 6_000, seed: 5))
}

@Suite("bf16-mixed transformer")
struct MixedTransformerTests {
    @Test(
        "every parameter's gradient matches the fp32 path's within bf16's precision (≤ 1e-2 relative per tensor)",
        arguments: [false, true])
    func gradientsMatchSingle(llama: Bool) throws {
        for threads in [1, 2] {
            let reference = try TransformerFixture<Float>(
                try mixedTestTransformer(llama: llama, precision: .single), threads: threads)
            _ = reference.trainer.computeGradients(.training(start: 0))
            let mixed = try MixedTransformerFixture(
                try mixedTestTransformer(llama: llama, precision: .bf16Mixed), threads: threads)
            _ = mixed.trainer.computeGradients(.training(start: 0))
            let found = mixed.gradients
            for (index, parameter) in reference.trainer.tensors.parameters.enumerated() {
                let expected = (0..<parameter.count).map { Double(parameter.gradient[$0]) }
                let name = reference.program.table.spec(parameter.id)!.name
                let error = relativeError(found[index], expected)
                #expect(error <= 1e-2, "\(llama ? "Llama" : "GPT-2"), \(threads) threads, \(name): relative error \(error)")
            }
        }
    }

    @Test("the masters start as the fp32 trainer's weights, and a step's loss is the fp32 step's within 1%")
    func sameStart() throws {
        let reference = try TransformerFixture<Float>(try mixedTestTransformer(llama: false, precision: .single))
        let mixed = try MixedTransformerFixture(try mixedTestTransformer(llama: false, precision: .bf16Mixed))
        #expect(mixed.masterValues == reference.parameterValues.map { Double($0) })
        let expected = reference.trainer.trainStep(.training(start: 0))
        let found = mixed.trainer.trainStep(.training(start: 0))
        #expect(abs(found - expected) <= 0.01 * expected, "loss \(found) against fp32's \(expected)")
    }

    @Test("trained 60 steps, the validation loss is within 3% of the fp32 run's", arguments: [false, true])
    func trainsLikeSingle(llama: Bool) throws {
        let reference = try TransformerFixture<Float>(try mixedTestTransformer(llama: llama, precision: .single))
        let mixed = try MixedTransformerFixture(try mixedTestTransformer(llama: llama, precision: .bf16Mixed))
        var first = 0.0
        for step in 0..<60 {
            let loss = mixed.trainer.trainStep(.training(start: (step * 4) % (mixed.trainer.tensors.windowCount - 4)))
            _ = reference.trainer.trainStep(.training(start: (step * 4) % (reference.trainer.tensors.windowCount - 4)))
            if step == 0 { first = loss }
        }
        let expected = reference.trainer.evaluate(.validation(start: 0))
        let found = mixed.trainer.evaluate(.validation(start: 0))
        #expect(found < 0.8 * first, "\(llama ? "Llama" : "GPT-2"): validation loss \(found) after a first step's \(first)")
        #expect(abs(found - expected) <= 0.03 * expected, "validation loss \(found) against fp32's \(expected)")
    }

    @Test(
        "the poisoned run (every dead byte NaN around each op) and the plain run agree bit for bit, every master; 1 and 2 threads too"
    )
    func lifetimes() throws {
        for llama in [false, true] {
            let model = try mixedTestTransformer(llama: llama, precision: .bf16Mixed)
            func run(_ fixture: MixedTransformerFixture) -> [Double] {
                var losses: [Double] = []
                for step in 0..<3 { losses.append(fixture.trainer.trainStep(.training(start: 4 * step))) }
                losses.append(fixture.trainer.evaluate(.validation(start: 0)))
                return losses + fixture.masterValues
            }
            let expected = run(try MixedTransformerFixture(model, threads: 1))
            for threads in [1, 2] {
                let guarded = try MixedTransformerFixture(model, threads: threads, guardsLifetimes: true)
                let observed = run(guarded)
                #expect(bitIdentical(observed, expected), "\(threads) threads: \(firstDifference(observed, expected))")
                #expect(guarded.trainer.lifetimeGuard?.violations == [])
            }
        }
    }
}
