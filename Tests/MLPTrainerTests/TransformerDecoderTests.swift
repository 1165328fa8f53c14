// The decoder with its KV cache against the training forward pass: same weights, same tokens, the same logits at
// every position. And the weights' way through llm.c's checkpoint: saved from a trainer, loaded into a decoder.

import ArenaPlanner
import Foundation
import MemoryBudget
@testable import MLPTrainer
import ModelProfile
import NUMAArena
import Testing
import TestSupport

/// A decoder in its own planned arena.
final class DecoderFixture<T: TrainingScalar> {
    let program: DecodeProgram
    let plan: ArenaPlan
    let arena: Arena
    let decoder: TransformerDecoder<T>

    init(_ model: TransformerModel, alignment: Int = 64) throws {
        program = try DecodeProgram(model: model)
        plan = try program.plan(alignment: alignment)
        arena = try Arena(byteCount: plan.arenaByteCount, placement: .local)
        decoder = TransformerDecoder(program: program, plan: plan, arena: arena)
    }

    /// Copies a trainer's parameters into the decoder's, tensor by tensor, by name.
    func copyParameters(from trainer: TransformerTrainer<T>) {
        let table = trainer.program.table
        for (index, id) in table.parameterIDs.enumerated() {
            let source = trainer.tensors.parameters[index]
            let target = decoder.tensors.parameters[table.spec(id)!.name]!
            precondition(target.count == source.count)
            target.baseAddress!.update(from: source.values, count: source.count)
        }
    }

    /// The logits (Vp) after the last decoded token.
    var logits: [T] { Array(UnsafeBufferPointer(start: decoder.tensors.logits, count: decoder.spec.paddedVocabularySize)) }
}

/// GPT-2's shape (V = 64 padded to 72, T = 16 and 2 heads of 16: attention's GEMM path in training) or Llama's (RMSNorm, SwiGLU, rotary,
/// grouped-query with 4 heads over 2 key/value heads, untied, no biases), fp32, two sequences of the whole context.
func decoderTestModel(llama: Bool) throws -> TransformerModel {
    let spec =
        llama
        ? TransformerSpec(
            vocabularySize: 40, contextLength: 16, layerCount: 2, headCount: 4, keyValueHeadCount: 2, hiddenSize: 32,
            feedForwardSize: 48, norm: .rms, feedForward: .swiglu, positions: .rotary, tiedEmbeddings: false, hasBiases: false)
        : TransformerSpec(
            vocabularySize: 64, paddedVocabularySize: 72, contextLength: 16, layerCount: 2, headCount: 2, hiddenSize: 32)
    return try TransformerModel(
        name: llama ? "decode-llama" : "decode-gpt2", spec: spec, batchSize: 2, sequenceLength: 16, precision: .single,
        data: .synthetic(count: 2_000, seed: 3))
}

@Suite("Transformer decoder")
struct TransformerDecoderTests {
    /// A trainer whose parameters are moved off their symmetric start (gains 1, biases 0), and its forward pass on
    /// batch 1: the tokens (B·T) and logits (B·T, Vp).
    static func forward(_ model: TransformerModel) throws -> (TransformerFixture<Float>, tokens: [Int32], logits: [Float]) {
        let fixture = try TransformerFixture<Float>(model)
        var generator = SplitMix64(seed: 21)
        for parameter in fixture.trainer.tensors.parameters {
            for index in 0..<parameter.count { parameter.values[index] += Float(0.05 * generator.nextNormal()) }
        }
        _ = fixture.trainer.evaluate(.training(start: 1))
        let rows = model.batchSize * model.sequenceLength
        let tokens = Array(UnsafeBufferPointer(start: fixture.trainer.tensors.tokens, count: rows))
        let logits = Array(
            UnsafeBufferPointer(start: fixture.trainer.tensors.logits, count: rows * model.spec.paddedVocabularySize))
        return (fixture, tokens, logits)
    }

    /// Decodes each sequence token by token and returns the worst norm-wise relative error of the logits against
    /// the forward pass's row, over every position.
    static func worstError(_ decoder: DecoderFixture<Float>, model: TransformerModel, tokens: [Int32], logits: [Float]) -> Double
    {
        let (t, vp) = (model.sequenceLength, model.spec.paddedVocabularySize)
        var worst = 0.0
        for b in 0..<model.batchSize {
            decoder.decoder.reset()
            for position in 0..<t {
                decoder.decoder.decode(tokens[b * t + position])
                let row = (b * t + position) * vp
                let expected = logits[row..<(row + vp)].map(Double.init)
                worst = max(worst, normRelativeError(decoder.logits.map(Double.init), expected))
            }
        }
        return worst
    }

    @Test("the decoder's logits at every position equal the training forward pass's (fp32, 1e-5)", arguments: [false, true])
    func matchesForward(llama: Bool) throws {
        let model = try decoderTestModel(llama: llama)
        let (fixture, tokens, logits) = try Self.forward(model)
        let decoder = try DecoderFixture<Float>(model)
        decoder.copyParameters(from: fixture.trainer)
        let error = Self.worstError(decoder, model: model, tokens: tokens, logits: logits)
        #expect(error <= 1e-5, "max|decoder − forward| / max|forward| = \(error)")
        #expect(decoder.decoder.position == model.sequenceLength)
    }

    @Test("a trainer's GPT-2 checkpoint loads into the decoder: the same parameters, the same logits")
    func checkpointRoundTrip() throws {
        let model = try decoderTestModel(llama: false)
        let (fixture, tokens, logits) = try Self.forward(model)
        let directory = try makeTemporaryDirectory("decoder-checkpoint")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.bin").path
        let config = try GPT2Config(model.spec, model: model.name)
        try GPT2Checkpoint.writeAtomically(fixture.trainer.gpt2Parameters(), config: config, to: path)
        // the same bytes llm.c's order gives (the numpy test's helper)
        let (read, values) = try GPT2Checkpoint.read(from: path)
        #expect(read == config)
        #expect(values == TransformerTrainerNumpyTests.llmcOrder(fixture, layers: 2, gradients: false))
        let remaining = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(remaining == ["model.bin"], "the temporary file was renamed away")

        let program = try DecodeProgram(model: model)
        let plan = try program.plan(alignment: 4096)
        let arena = try Arena(byteCount: plan.arenaByteCount, placement: .local)
        let engine = try DecodeEngine(program: program, plan: plan, arena: arena)
        #expect(try engine.loadGPT2Checkpoint(from: path) == config)
        for (index, id) in fixture.program.table.parameterIDs.enumerated() {
            let name = fixture.program.table.spec(id)!.name
            let source = fixture.trainer.tensors.parameters[index]
            let loaded = engine.decoder.tensors.parameters[name]!
            #expect(Array(loaded) == Array(UnsafeBufferPointer(start: source.values, count: source.count)), "\(name)")
        }
        let t = model.sequenceLength
        let vp = model.spec.paddedVocabularySize
        for position in 0..<t { engine.decode(tokens[position]) }
        let last = (t - 1) * vp
        let decoded = Array(UnsafeBufferPointer(start: engine.decoder.tensors.logits, count: vp)).map(Double.init)
        #expect(normRelativeError(decoded, logits[last..<(last + vp)].map(Double.init)) <= 1e-5)
    }

    @Test("a slid window decodes as a fresh one: the last k tokens again from position 0")
    func slide() throws {
        let model = try decoderTestModel(llama: false)
        let (fixture, tokens, _) = try Self.forward(model)
        let decoder = try DecoderFixture<Float>(model)
        decoder.copyParameters(from: fixture.trainer)
        for position in 0..<model.spec.contextLength { decoder.decoder.decode(tokens[position]) }
        decoder.decoder.slide(keep: 5)
        #expect(decoder.decoder.position == 5)
        let slid = decoder.logits
        decoder.decoder.reset()
        for token in tokens[11..<16] { decoder.decoder.decode(token) }
        #expect(decoder.logits == slid)
    }

    @Test("sampling: temperature 0 is the argmax over the first V logits; a draw follows the softmax's cumulative sums")
    func sampling() {
        let logits: [Float] = [0, 2, 1, 2, 9]  // V = 4: the padded 9 is never a token
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: 4)
        defer { probabilities.deallocate() }
        func draw(_ temperature: Double, _ uniform: Double) -> Int {
            TransformerKernels.sampleToken(
                logits: logits, probabilities: probabilities, vocabulary: 4, temperature: temperature, uniform: uniform)
        }
        #expect(draw(0, 0.99) == 1)
        // weights e^-2, 1, e^-1, 1 (sum 1.503): cumulative 0.090, 0.755, 1.0, 1.665 of 1.503
        let sum = exp(-2.0) + 1 + exp(-1.0) + 1
        #expect(draw(1, 0.05) == 0)
        #expect(draw(1, (exp(-2.0) + 0.5) / sum) == 1)
        #expect(draw(1, (exp(-2.0) + 1.1) / sum) == 2)
        #expect(draw(1, 0.999) == 3)
    }
}
