// The decode program: lifetimes from the decode table's ops, and a validated plan whose KV cache starts on a page.

import ArenaPlanner
import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("Decode program")
struct DecodeProgramTests {
    static func model() throws -> TransformerModel {
        let spec = TransformerSpec(
            vocabularySize: 256, contextLength: 32, layerCount: 3, headCount: 4, hiddenSize: 64)
        return try TransformerModel(name: "decode", spec: spec, batchSize: 8, sequenceLength: 32)
    }

    @Test("persistent tensors live at every op; activations from their first op to their last over all blocks")
    func lifetimes() throws {
        let program = try DecodeProgram(model: try Self.model())
        let last = program.opNames.count - 1
        let lifetime = { (role: DecodeTensor) in program.buffers[program.index(of: program.table.id(role))!].lifetime }
        #expect(lifetime(.kvCache) == 0...last)
        #expect(lifetime(.tokens) == 0...last)
        #expect(lifetime(.residual) == 0...(last - 2))  // embed … lnf
        #expect(lifetime(.qkv) == 2...(2 + 8 * 2 + 1))  // h1.qkv … h3.attn
        #expect(lifetime(.logits) == (last - 1)...last)
        #expect(lifetime(.probabilities) == last...last)
        let wte = program.buffers[program.index(of: TensorID(layer: 1, EmbeddingTensor.tokenTable))!]
        #expect(wte.lifetime == 0...last && wte.category == .parameters)
    }

    @Test("the plan validates, every buffer on its own page at 4 KiB alignment, the cache's pages its own")
    func pageAlignedPlan() throws {
        let program = try DecodeProgram(model: try Self.model())
        let plan = try program.plan(alignment: 4096)
        #expect(plan.overlappingPairs().isEmpty)
        let kv = program.kvCacheIndex
        #expect(plan.offsets[kv] % 4096 == 0)
        #expect(plan.requests[kv].byteCount == 32 * program.kvBytesPerToken)
        #expect(program.kvBytesPerToken == 2 * 3 * 64 * 4)
        // Nothing else shares the cache's pages.
        let cachePages = (plan.offsets[kv] / 4096)..<((plan.offsets[kv] + plan.requests[kv].byteCount + 4095) / 4096)
        for index in plan.requests.indices where index != kv && plan.requests[index].byteCount > 0 {
            let pages = (plan.offsets[index] / 4096)..<((plan.offsets[index] + plan.requests[index].byteCount + 4095) / 4096)
            #expect(!pages.overlaps(cachePages), "\(plan.requests[index].name)")
        }
        // The logits and probabilities reuse the blocks' working set: the plan is below the sum of its buffers.
        let sum = plan.requests.reduce(0) { $0 + ($1.byteCount + 63) / 64 * 64 }
        #expect(try program.plan(alignment: 64).arenaByteCount < sum)
    }
}
