import ArenaPlanner
import MemoryBudget
import ModelProfile
import TestSupport
import Testing

@Suite("Transformer budget")
struct TransformerBudgetTests {
    static func gpt2(layers: Int, hidden: Int, heads: Int) -> TransformerSpec {
        TransformerSpec(vocabularySize: 50257, contextLength: 1024, layerCount: layers, headCount: heads, hiddenSize: hidden)
    }

    static func llama2(layers: Int, hidden: Int, heads: Int, kvHeads: Int, feedForward: Int) -> TransformerSpec {
        TransformerSpec(
            vocabularySize: 32000, contextLength: 4096, layerCount: layers, headCount: heads, keyValueHeadCount: kvHeads,
            hiddenSize: hidden, feedForwardSize: feedForward, norm: .rms, feedForward: .swiglu, positions: .rotary,
            tiedEmbeddings: false, hasBiases: false)
    }

    /// The published totals (GPT-2: V·C + T·C + L·(12C² + 13C) + 2C; Llama-2: untied, SwiGLU, RMSNorm, GQA for 70B).
    static let published: [(String, TransformerSpec, Int)] = [
        ("GPT-2 124M", gpt2(layers: 12, hidden: 768, heads: 12), 124_439_808),
        ("GPT-2 355M", gpt2(layers: 24, hidden: 1024, heads: 16), 354_823_168),
        ("GPT-2 774M", gpt2(layers: 36, hidden: 1280, heads: 20), 774_030_080),
        ("GPT-2 1.5B", gpt2(layers: 48, hidden: 1600, heads: 25), 1_557_611_200),
        ("Llama-2 7B", llama2(layers: 32, hidden: 4096, heads: 32, kvHeads: 32, feedForward: 11008), 6_738_415_616),
        ("Llama-2 13B", llama2(layers: 40, hidden: 5120, heads: 40, kvHeads: 40, feedForward: 13824), 13_015_864_320),
        ("Llama-2 70B", llama2(layers: 80, hidden: 8192, heads: 64, kvHeads: 8, feedForward: 28672), 68_976_648_192),
    ]

    @Test("parameter counts equal the published ones for GPT-2 (4 sizes) and Llama-2 (3 sizes)", arguments: published.indices)
    func publishedCounts(index: Int) throws {
        let (name, spec, expected) = Self.published[index]
        let model = try TransformerModel(name: name, spec: spec, batchSize: 1, sequenceLength: 16)
        let budget = try MemoryBudget.estimate(try StepTable(transformer: model))
        #expect(budget.parameterCount == expected, "\(name)")
        // AdamW keeps two states per parameter; every parameter has a gradient.
        #expect(budget.optimizerByteCount == 2 * budget.parameterByteCount)
        #expect(budget.gradientByteCount == budget.parameterByteCount)
    }

    @Test("llm.c's activation count for GPT-2 124M at B = 4, T = 64: 73,347,840 floats (Vp = 50,304)")
    func llmcLayout() throws {
        let model = try TransformerModel(
            name: "gpt2", spec: Self.gpt2(layers: 12, hidden: 768, heads: 12), batchSize: 4, sequenceLength: 64)
        let checks = try TransformerCrossChecks(model)
        #expect(checks.llmcActivationFloats == 73_347_840)
        #expect(checks.llmcPaddedVocabulary == 50_304)
        // Korthikanti et al. at p = 4: 12 · (64·4·768·66 + 9·12·64²·4) bytes.
        #expect(checks.korthikantiBytes == 12 * (64 * 4 * 768 * 66 + 9 * 12 * 64 * 64 * 4))
    }

    @Test(
        "memplan's GPT-2 block keeps 16·B·T·C + B·NH·T² + 4·B·T floats (ln1 C, qkv 3C, atty C, residual2 C, ln2 C, fch 4C, its GELU 4C, output C): what its backward pass reads"
    )
    func blockActivations() throws {
        let model = try TransformerModel(
            name: "gpt2", spec: Self.gpt2(layers: 12, hidden: 768, heads: 12), batchSize: 4, sequenceLength: 64)
        let budget = try MemoryBudget.estimate(try StepTable(transformer: model))
        let (b, t, c, nh) = (4, 64, 768, 12)
        let block = try #require(budget.layers.first { $0.name == "h1" })
        #expect(block.activationByteCount == 4 * (16 * b * t * c + b * nh * t * t + 4 * b * t))
    }

    @Test("the total is never below the plan's lower bound: 60 seeded random transformers")
    func totalCoversLowerBound() throws {
        var generator = SplitMix64(seed: 3)
        func draw(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(generator.next() % UInt64(range.count)) }
        for trial in 0..<60 {
            let heads = [1, 2, 4][draw(0...2)]
            let spec = TransformerSpec(
                vocabularySize: draw(2...300), contextLength: 64, layerCount: draw(1...4), headCount: heads,
                keyValueHeadCount: [1, heads][draw(0...1)], hiddenSize: heads * 2 * draw(1...8), feedForwardSize: draw(1...64),
                norm: draw(0...1) == 0 ? .layer : .rms, feedForward: draw(0...1) == 0 ? .gelu : .swiglu,
                positions: draw(0...1) == 0 ? .learned : .rotary, tiedEmbeddings: draw(0...1) == 0, hasBiases: draw(0...1) == 0)
            let model = try TransformerModel(name: "random", spec: spec, batchSize: draw(1...8), sequenceLength: draw(1...64))
            let table = try StepTable(transformer: model, options: StepOptions(parts: draw(1...2)))
            let plan = try BestPlanner().plan(StepProgram(table: table).buffers, alignment: 64)
            try plan.validate()
            #expect(try MemoryBudget.estimate(table).totalByteCount >= plan.lowerBound, "trial \(trial)")
        }
    }

    @Test("bad shapes are errors naming the sizes")
    func badShapes() throws {
        let cases: [(TransformerSpec, String)] = [
            (
                TransformerSpec(vocabularySize: 256, contextLength: 8, layerCount: 1, headCount: 3, hiddenSize: 16),
                "heads (3) must divide hidden (16)"
            ),
            (
                TransformerSpec(
                    vocabularySize: 256, contextLength: 8, layerCount: 1, headCount: 4, keyValueHeadCount: 3, hiddenSize: 16),
                "kv_heads (3) must divide heads (4)"
            ),
            (
                TransformerSpec(vocabularySize: 256, contextLength: 0, layerCount: 1, headCount: 4, hiddenSize: 16),
                "context has 0 units"
            ),
        ]
        for (spec, message) in cases {
            do {
                _ = try TransformerModel(name: "bad", spec: spec, batchSize: 1, sequenceLength: 1)
                Issue.record("accepted: \(message)")
            } catch {
                #expect(error.description.contains(message), "\(error.description)")
            }
        }
    }
}
