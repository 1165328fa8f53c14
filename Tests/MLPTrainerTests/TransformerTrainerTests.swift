import ArenaPlanner
import Foundation
@testable import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena
import TestSupport
import Testing
import TrainingData

/// A transformer's step program on a planned arena with synthetic text, as `TransformerSession` assembles it.
final class TransformerFixture<T: TrainingScalar> {
    let program: StepProgram
    let arena: Arena
    let pool: WorkerPool
    let trainer: TransformerTrainer<T>

    init(_ model: TransformerModel, threads: Int = 1, guardsLifetimes: Bool = false) throws {
        let loader = try TextLoader(model: model)
        program = StepProgram(
            table: try StepTable(
                transformer: model, options: StepOptions(parts: threads), textBytes: (loader.trainCount, loader.validationCount)))
        let plan = try BestPlanner().plan(program.buffers, alignment: 64)
        try plan.validate()
        arena = try Arena(byteCount: plan.arenaByteCount, placement: .local)
        let tensors = TransformerTensors<T>(program: program, plan: plan, arena: arena)
        try loader.load(train: tensors.trainText, validation: tensors.validationText)
        for index in 0..<tensors.windowCount { tensors.order[index] = Int32((index * 7 + 3) % tensors.windowCount) }
        trainer = TransformerTrainer(
            program: program, tensors: tensors,
            lifetimeGuard: guardsLifetimes ? LifetimeGuard(program: program, plan: plan, arena: arena) : nil)
        pool = WorkerPool(partCount: threads)
        trainer.attach(pool)
        trainer.initializeParameters(seed: model.seed)
    }

    var parameterValues: [T] {
        trainer.tensors.parameters.flatMap { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) }
    }
}

/// Tiny GPT-2 and Llama shapes on a synthetic byte chain.
func tinyTransformer(
    llama: Bool, precision: Precision = .double, sequence: Int = 6, layers: Int = 2, recompute: Recompute = .none,
    qkvBias: Bool = false
) throws -> TransformerModel {
    let spec =
        llama
        ? TransformerSpec(
            vocabularySize: 20, contextLength: 8, layerCount: layers, headCount: 4, keyValueHeadCount: 2, hiddenSize: 8,
            feedForwardSize: 12,
            norm: .rms, feedForward: .swiglu, positions: .rotary, tiedEmbeddings: false, hasBiases: false, hasQKVBias: qkvBias)
        : TransformerSpec(
            vocabularySize: 20, paddedVocabularySize: 24, contextLength: 8, layerCount: layers, headCount: 2, hiddenSize: 8)
    return try TransformerModel(
        name: llama ? "tiny-llama" : "tiny-gpt2", spec: spec, batchSize: 2, sequenceLength: sequence, precision: precision,
        optimizer: Optimizer(kind: .adamw, learningRate: 1e-2, weightDecay: 0), recompute: recompute,
        data: .synthetic(count: 400, seed: 5))
}

/// Whether two runs' values are the same bits (a Bool, so a failure prints `firstDifference`, not both arrays).
func bitIdentical(_ observed: [Double], _ expected: [Double]) -> Bool {
    observed.map(\.bitPattern) == expected.map(\.bitPattern)
}

/// Where two runs' values (3 losses, then parameters in the table's order) first differ, for a failure's message.
func firstDifference(_ observed: [Double], _ expected: [Double]) -> String {
    let common = 0..<min(observed.count, expected.count)
    guard let index = common.first(where: { observed[$0].bitPattern != expected[$0].bitPattern }) else {
        return "lengths \(observed.count) and \(expected.count)"
    }
    let differing = zip(observed, expected).filter { $0.bitPattern != $1.bitPattern }.count
    return "\(differing) values differ, first at \(index): \(observed[index]) vs \(expected[index])"
}

@Suite("Transformer trainer")
struct TransformerTrainerTests {
    @Test("every parameter's gradient through the step program matches finite differences (fp64)", arguments: [false, true])
    func finiteDifferences(llama: Bool) throws {
        try checkGradients(try tinyTransformer(llama: llama), label: llama ? "Llama" : "GPT-2")
    }

    @Test("Qwen2's shape (a bias on q, k and v only): every gradient matches finite differences (fp64)")
    func qkvBiasGradients() throws {
        let model = try tinyTransformer(llama: true, qkvBias: true)
        #expect(model.spec.hasQKVBias && !model.spec.hasBiases)
        try checkGradients(model, label: "Qwen2")
    }

    func checkGradients(_ model: TransformerModel, label: String) throws {
        for threads in [1, 2] {
            let fixture = try TransformerFixture<Double>(model, threads: threads)
            // Away from the symmetric start (gains 1, biases 0), so every gradient is exercised.
            var generator = SplitMix64(seed: 8)
            for parameter in fixture.trainer.tensors.parameters {
                for index in 0..<parameter.count { parameter.values[index] += 0.05 * generator.nextNormal() }
            }
            let trainer = fixture.trainer
            _ = trainer.computeGradients(.training(start: 0))
            let parameters = trainer.tensors.parameters
            let analytic = parameters.map { Array(UnsafeBufferPointer(start: $0.gradient, count: $0.count)) }
            let h = 1e-6
            var worst = 0.0
            for (tensor, parameter) in parameters.enumerated() {
                for index in stride(from: 0, to: parameter.count, by: max(1, parameter.count / 24)) {
                    let saved = parameter.values[index]
                    parameter.values[index] = saved + h
                    let plus = trainer.evaluate(.training(start: 0))
                    parameter.values[index] = saved - h
                    let minus = trainer.evaluate(.training(start: 0))
                    parameter.values[index] = saved
                    let numeric = (plus - minus) / (2 * h)
                    // Relative to the larger of the two, floored at 1e-3: a gradient of 1e-5 has 1e-5 of finite-difference noise.
                    let error = abs(numeric - analytic[tensor][index]) / max(1e-3, abs(numeric) + abs(analytic[tensor][index]))
                    worst = max(worst, error)
                }
            }
            #expect(worst < 1e-5, "\(label) shape, \(threads) threads: worst relative error \(worst)")
        }
    }

    @Test("the poisoned run (every dead byte NaN around each op) and the plain run agree bit for bit", arguments: [false, true])
    func lifetimes(llama: Bool) throws {
        for threads in [1, 2] {
            let model = try tinyTransformer(llama: llama, precision: .single)
            let plain = try TransformerFixture<Float>(model, threads: threads)
            let guarded = try TransformerFixture<Float>(model, threads: threads, guardsLifetimes: true)
            func run(_ fixture: TransformerFixture<Float>) -> [Double] {
                var losses: [Double] = []
                for step in 0..<3 { losses.append(fixture.trainer.trainStep(.training(start: 2 * step))) }
                losses.append(fixture.trainer.evaluate(.validation(start: 0)))
                return losses + fixture.parameterValues.prefix(200).map { Double($0) }
            }
            let expected = run(plain)
            let observed = run(guarded)
            #expect(
                bitIdentical(observed, expected),
                "\(llama ? "Llama" : "GPT-2"), \(threads) threads: \(firstDifference(observed, expected))")
            #expect(guarded.trainer.lifetimeGuard?.violations == [])
        }
    }

    @Test("one thread and two give the same losses (each part writes its own rows, heads and columns)")
    func threadsAgree() throws {
        let model = try tinyTransformer(llama: false, precision: .double)
        var runs: [[Double]] = []
        for threads in [1, 2] {
            let fixture = try TransformerFixture<Double>(model, threads: threads)
            runs.append((0..<4).map { fixture.trainer.trainStep(.training(start: 2 * $0)) })
        }
        let difference = zip(runs[0], runs[1]).map { abs($0 - $1) }.max() ?? 1
        #expect(difference < 1e-12, "losses differ by \(difference)")
    }

    @Test(
        "recomputing (blocks, sqrt, selective) trains bit for bit as keeping everything, and reads no dead byte",
        arguments: [Recompute.blocks, .sqrt, .selective])
    func recompute(mode: Recompute) throws {
        for llama in [false, true] {
            let kept = try TransformerFixture<Float>(try tinyTransformer(llama: llama, precision: .single, layers: 5), threads: 2)
            let model = try tinyTransformer(llama: llama, precision: .single, layers: 5, recompute: mode)
            let recomputed = try TransformerFixture<Float>(model, threads: 2, guardsLifetimes: true)
            func run(_ fixture: TransformerFixture<Float>) -> [Double] {
                let losses = (0..<3).map { fixture.trainer.trainStep(.training(start: 2 * $0)) }
                return losses + fixture.parameterValues.map { Double($0) }
            }
            let (observed, expected) = (run(recomputed), run(kept))
            #expect(
                bitIdentical(observed, expected),
                "\(mode), \(llama ? "Llama" : "GPT-2"): \(firstDifference(observed, expected))")
            #expect(recomputed.trainer.lifetimeGuard?.violations == [])
            // The ops the planner inserted: 5 blocks of 8 sub-ops (sqrt: segments of 3 and 2); a segment's last block keeps its output.
            let recomputeOps = recomputed.program.ops.filter { if case .recomputePart = $0 { true } else { false } }.count
            let expectedOps = ["blocks": 5 * 7, "sqrt": 3 * 8 + 2 * 7, "selective": 5][mode.rawValue]
            #expect(recomputeOps == expectedOps, "\(mode): \(recomputeOps) recompute ops")
        }
    }
}

/// One full step of the step-program trainer against the independent numpy GPT-2 of bench/peers/numpy_gpt.py.
@Suite("Transformer trainer against numpy")
struct TransformerTrainerNumpyTests {
    /// The trainer's parameters in llm.c's order (each block tensor concatenated over the blocks), as `GPT2Checkpoint`
    /// writes them; `gradients` takes the gradients instead.
    static func llmcOrder(_ fixture: TransformerFixture<Float>, layers: Int, gradients: Bool) -> [Float] {
        let table = fixture.program.table
        var byName: [String: TransformerParameter<Float>] = [:]
        for (index, id) in table.parameterIDs.enumerated() {
            byName[table.spec(id)!.name] = fixture.trainer.tensors.parameters[index]
        }
        var values: [Float] = []
        for name in GPT2Config.parameterNames {
            let names = ["wte", "wpe", "lnfw", "lnfb"].contains(name) ? [name] : (1...layers).map { "h\($0).\(name)" }
            for tensorName in names {
                let parameter = byName[tensorName]!
                values += Array(
                    UnsafeBufferPointer(start: gradients ? parameter.gradient : parameter.values, count: parameter.count))
            }
        }
        return values
    }

    /// GPT-2 shape with a padded vocabulary (V = 64, Vp = 72), L = 2, NH = 4, C = 32, B = 3, T = 16 (heads of 8:
    /// attention's loops): the step program's loss and every gradient, fp32, against numpy in fp32, to 1e-4 relative
    /// (max|memplan − numpy| / max|numpy| per tensor; measured ≤ 4e-7).
    @Test(
        "one step's loss and gradients match bench/peers/numpy_gpt.py (fp32, 1e-4)",
        .enabled(if: numpyAvailable, "python3 cannot import numpy: the numpy comparison is skipped"))
    func fullStep() throws {
        let spec = TransformerSpec(
            vocabularySize: 64, paddedVocabularySize: 72, contextLength: 16, layerCount: 2, headCount: 4, hiddenSize: 32)
        let model = try TransformerModel(
            name: "numpy-step", spec: spec, batchSize: 3, sequenceLength: 16, precision: .single,
            data: .synthetic(count: 2_000, seed: 3))
        let fixture = try TransformerFixture<Float>(model, threads: 2)
        var generator = SplitMix64(seed: 21)
        for parameter in fixture.trainer.tensors.parameters {
            for index in 0..<parameter.count { parameter.values[index] += Float(0.05 * generator.nextNormal()) }
        }
        // The batch, read after the forward pass (the targets' bytes are reused once the loss has read them).
        _ = fixture.trainer.evaluate(.training(start: 1))
        let rows = model.batchSize * model.sequenceLength
        let tokens = Array(UnsafeBufferPointer(start: fixture.trainer.tensors.tokens, count: rows))
        let targets = Array(UnsafeBufferPointer(start: fixture.trainer.tensors.targets, count: rows))
        let loss = fixture.trainer.computeGradients(.training(start: 1))

        let directory = try makeTemporaryDirectory("numpy-step")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = { (name: String) in directory.appendingPathComponent(name).path }
        let config = GPT2Config(
            maxSequenceLength: 16, vocabularySize: 64, layerCount: 2, headCount: 4, channels: 32, paddedVocabularySize: 72)
        try GPT2Checkpoint.write(Self.llmcOrder(fixture, layers: 2, gradients: false), config: config, to: path("model.bin"))
        try tokens.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path("tokens.bin")))
        try targets.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: path("targets.bin")))
        let run = try runPython([
            packageRoot.appendingPathComponent("bench/peers/numpy_gpt.py").path, "--checkpoint", path("model.bin"),
            "--tokens", path("tokens.bin"), "--targets", path("targets.bin"), "--batch", "3", "--seq", "16",
            "--out", path("grads.bin"), "--dtype", "float32",
        ])
        try #require(run.status == 0, "numpy_gpt.py failed: \(run.errors)")
        let output = try Data(contentsOf: URL(fileURLWithPath: path("grads.bin"))).withUnsafeBytes {
            Array($0.bindMemory(to: Double.self))
        }
        let gradients = Self.llmcOrder(fixture, layers: 2, gradients: true).map(Double.init)
        try #require(output.count == 1 + gradients.count)
        #expect(abs(loss - output[0]) <= 1e-4 * abs(output[0]), "loss: memplan \(loss), numpy \(output[0])")
        let sizes = try config.parameterSizes()
        var offset = 0
        for (name, size) in zip(GPT2Config.parameterNames, sizes) {
            let error = normRelativeError(
                Array(gradients[offset..<(offset + size)]), Array(output[(1 + offset)..<(1 + offset + size)]))
            #expect(error <= 1e-4, "d\(name): max|memplan − numpy| / max|numpy| = \(error)")
            offset += size
        }
    }
}
