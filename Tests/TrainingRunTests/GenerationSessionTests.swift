// Generation end to end in the library: a checkpoint read into the decode arena, the KV cache's bytes per token
// measured by the kernel against 2·L·NKV·HS·4, and the errors a checkpoint or prompt can cause.

import ArenaPlanner
import Foundation
import MLPTrainer
import ModelProfile
import TestSupport
import Testing
@testable import TrainingRun

@Suite("Generation sessions", .serialized)
struct GenerationSessionTests {
    /// A byte-level GPT-2 of `layers` blocks, `hidden` channels and `context` positions.
    static func model(layers: Int, hidden: Int, heads: Int, context: Int) throws -> TransformerModel {
        let spec = TransformerSpec(
            vocabularySize: 256, contextLength: context, layerCount: layers, headCount: heads, hiddenSize: hidden)
        return try TransformerModel(name: "gen-\(layers)x\(hidden)", spec: spec, batchSize: 1, sequenceLength: context)
    }

    /// A checkpoint of random weights (N(0, 0.1²)) for `model`, in `directory`.
    static func checkpoint(_ model: TransformerModel, in directory: URL) throws -> String {
        let config = try GPT2Config(model.spec, model: model.name)
        var generator = SplitMix64(seed: 5)
        let parameters = (0..<(try config.parameterCount())).map { _ in Float(0.1 * generator.nextNormal()) }
        let path = directory.appendingPathComponent("\(model.name).bin").path
        try GPT2Checkpoint.writeAtomically(parameters, config: config, to: path)
        return path
    }

    /// 512 bytes per token (8 tokens to a page, the cache 64 tokens long) and 1,152 (32 tokens to 9 pages).
    static let shapes: [(layers: Int, hidden: Int, heads: Int, context: Int)] = [(2, 32, 2, 64), (3, 48, 4, 128)]

    @Test("the KV cache's bytes per token, counted by mincore at two token counts, equal 2·L·NKV·HS·4", arguments: shapes.indices)
    func kvBytesPerToken(index: Int) throws {
        let shape = Self.shapes[index]
        let model = try Self.model(layers: shape.layers, hidden: shape.hidden, heads: shape.heads, context: shape.context)
        let directory = try makeTemporaryDirectory("generation")
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = GenerationOptions(checkpointPath: try Self.checkpoint(model, in: directory))
        options.prompt = Array("The ".utf8)
        options.tokenCount = shape.context + 20  // past the window: it slides once
        let result = try GenerationSession.run(model, options: options)
        let predicted = 2 * shape.layers * shape.hidden * 4
        #expect(result.program.kvBytesPerToken == predicted)
        let kv = try #require(result.kvCache)
        #expect(kv.bytesPerToken == Double(predicted), "\(kv)")
        #expect(kv.releasedResidentBytes == 0)
        #expect(kv.secondTokens == shape.context)
        // The whole cache is resident at the end, and no more than its pages.
        #expect(kv.finalResidentBytes == shape.context * predicted / result.pageSize * result.pageSize)
        #expect(result.arenaMappedBytes == (result.plan.arenaByteCount + result.pageSize - 1) / result.pageSize * result.pageSize)
        #expect(result.generated.count == options.tokenCount)
        #expect(result.windowSlides == 1)
    }

    @Test("the same seed samples the same bytes; temperature 0 is deterministic whatever the seed")
    func deterministic() throws {
        let model = try Self.model(layers: 2, hidden: 32, heads: 2, context: 64)
        let directory = try makeTemporaryDirectory("generation")
        defer { try? FileManager.default.removeItem(at: directory) }
        var options = GenerationOptions(checkpointPath: try Self.checkpoint(model, in: directory))
        options.tokenCount = 30
        let first = try GenerationSession.run(model, options: options).generated
        #expect(try GenerationSession.run(model, options: options).generated == first)
        options.seed = 7
        #expect(try GenerationSession.run(model, options: options).generated != first)
        options.temperature = 0
        let greedy = try GenerationSession.run(model, options: options).generated
        options.seed = 8
        #expect(try GenerationSession.run(model, options: options).generated == greedy)
    }

    @Test("a checkpoint that disagrees with the profile, a missing one, a non-byte prompt: each its own error")
    func errors() throws {
        let model = try Self.model(layers: 2, hidden: 32, heads: 2, context: 64)
        let directory = try makeTemporaryDirectory("generation")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = try Self.checkpoint(model, in: directory)
        let deeper = try Self.model(layers: 3, hidden: 32, heads: 2, context: 64)
        #expect(
            throws: CheckpointShapeError.mismatch(
                path: path, field: "layers", checkpoint: 2, profile: deeper.name, profileValue: 3)
        ) { try GenerationSession.run(deeper, options: GenerationOptions(checkpointPath: path)) }
        let missing = directory.appendingPathComponent("missing.bin").path
        do {
            _ = try GenerationSession.run(model, options: GenerationOptions(checkpointPath: missing))
            Issue.record("a missing checkpoint must throw")
        } catch let error as GPT2CheckpointError {
            #expect(error.isMissingFile, "\(error)")
        }
        var small = model
        small.spec.vocabularySize = 100
        small.spec.paddedVocabularySize = 100
        var options = GenerationOptions(checkpointPath: path)
        options.prompt = Array("é".utf8)
        #expect(throws: GenerationError.promptOutsideVocabulary(byte: 0xC3, vocabulary: 100)) {
            try GenerationSession.run(small, options: options)
        }
    }
}
