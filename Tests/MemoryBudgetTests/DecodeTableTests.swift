// The decode table: generation's tensors, the KV cache's bytes per token against the published figures, and the
// parameters exactly as training declares them.

import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("Decode table")
struct DecodeTableTests {
    static func llama2(layers: Int, hidden: Int, heads: Int, kvHeads: Int, feedForward: Int) throws -> TransformerModel {
        let spec = TransformerSpec(
            vocabularySize: 32000, contextLength: 4096, layerCount: layers, headCount: heads, keyValueHeadCount: kvHeads,
            hiddenSize: hidden, feedForwardSize: feedForward, norm: .rms, feedForward: .swiglu, positions: .rotary,
            tiedEmbeddings: false, hasBiases: false)
        return try TransformerModel(name: "llama-2", spec: spec, batchSize: 1, sequenceLength: 16, precision: .half)
    }

    @Test("KV bytes per token = 2·L·NKV·HS·bytes: Llama-2 7B fp16 0.5 MiB (published), 70B with 8 kv heads 320 KiB")
    func publishedBytesPerToken() throws {
        let seven = try DecodeTable(model: try Self.llama2(layers: 32, hidden: 4096, heads: 32, kvHeads: 32, feedForward: 11008))
        #expect(seven.kvBytesPerToken == 512 * 1024)
        #expect(seven.kvCacheByteCount == 4096 * 512 * 1024)
        let seventy = try DecodeTable(model: try Self.llama2(layers: 80, hidden: 8192, heads: 64, kvHeads: 8, feedForward: 28672))
        #expect(seventy.kvBytesPerToken == 2 * 80 * 8 * 128 * 2)
    }

    @Test("bytes-gpt: 8 KiB of cache per token (2·4 blocks·256 channels·4 bytes), token-major (maxT, L, 2, NKV·HS)")
    func bytesGPT() throws {
        guard case .transformer(let model) = try ProfileParser.load(path: profilePath("bytes-gpt")) else {
            Issue.record("bytes-gpt is a transformer profile")
            return
        }
        let table = try DecodeTable(model: model)
        #expect(table.kvBytesPerToken == 8192)
        let cache = try #require(table.spec(table.id(.kvCache)))
        #expect(cache.shape == [128, 4, 2, 256])
        #expect(cache.category == .kvCache && cache.isPersistent)
        // One token's working set: the residual stream, the qkv row, every head's scores over the context, the logits.
        #expect(table.spec(table.id(.residual))?.shape == [256])
        #expect(table.spec(table.id(.qkv))?.shape == [768])
        #expect(table.spec(table.id(.scores))?.shape == [4, 128])
        #expect(table.spec(table.id(.logits))?.shape == [256])
        // The ops: embed, 8 sub-ops per block, lnf, logits, sample.
        #expect(table.ops.count == 1 + 8 * 4 + 3)
        #expect(table.ops.map(\.name).prefix(3) == ["embed", "h1.ln1", "h1.qkv"])
        #expect(table.ops.last?.name == "sample")
    }

    @Test("the parameters are the training table's: the same IDs, names, shapes and order", arguments: [false, true])
    func parametersAsTraining(llama: Bool) throws {
        let spec =
            llama
            ? TransformerSpec(
                vocabularySize: 40, contextLength: 16, layerCount: 2, headCount: 4, keyValueHeadCount: 2, hiddenSize: 32,
                feedForwardSize: 48, norm: .rms, feedForward: .swiglu, positions: .rotary, tiedEmbeddings: false,
                hasBiases: false)
            : TransformerSpec(
                vocabularySize: 64, paddedVocabularySize: 72, contextLength: 16, layerCount: 2, headCount: 4, hiddenSize: 32)
        let model = try TransformerModel(name: "t", spec: spec, batchSize: 3, sequenceLength: 12)
        let decode = try DecodeTable(model: model)
        let training = try StepTable(transformer: model)
        #expect(decode.parameterIDs == training.parameterIDs)
        for id in training.parameterIDs {
            #expect(decode.spec(id)?.name == training.spec(id)?.name)
            #expect(decode.spec(id)?.shape == training.spec(id)?.shape)
        }
        #expect(decode.bytes(of: .parameters) == (try training.bytes(of: .parameters)))
        #expect(decode.bytes(of: .gradients) == 0 && decode.bytes(of: .optimizer) == 0)
        // Rotary positions keep their table; LayerNorm its mean.
        #expect((decode.spec(TensorID(layer: 1, EmbeddingTensor.rotaryTable)) != nil) == llama)
        #expect((decode.spec(decode.id(.normMean)) != nil) == !llama)
        #expect(decode.kvBytesPerToken == 2 * 2 * (llama ? 2 : 4) * 8 * 4)
    }
}
