// Published closed forms for a transformer's activation memory, printed beside memplan's own per-tensor total as
// cross-checks (they describe other implementations, so they differ; the estimate says by how much).

import ModelProfile

/// Activation memory of a transformer by the formulas others publish. s sequence, b batch, h hidden, a heads, L blocks,
/// p bytes per activation element, Vp padded vocabulary.
public struct TransformerCrossChecks: Sendable, Hashable {
    /// Korthikanti et al. 2022 (arXiv 2205.05198) at p bytes per element and no dropout (EleutherAI's form):
    /// L · (s·b·h·(16p + 2) + (2p + 1)·a·s²·b) bytes — the blocks only.
    public var korthikantiBytes: Int
    /// llm.c's `train_gpt2.c` (fp32) layout: L·(18·BTC + 2·NH·B·T² + 4·BT) + 2·BTC + 2·BT + 2·B·T·Vp + BT floats
    /// (ln1, qkv, atty, preatt, att, attproj, residual2, ln2, fch, fch_gelu, fcproj, residual3 and the LayerNorm
    /// statistics per block; encoded, lnf and its statistics, logits, probs and losses). Vp: the profile's padded
    /// vocabulary, or V rounded up to a multiple of 128 as llm.c pads it.
    public var llmcActivationFloats: Int
    /// The Vp the llm.c count used.
    public var llmcPaddedVocabulary: Int

    /// The cross-checks of `model` at its batch and sequence length.
    ///
    /// - Throws: `BudgetError.overflow` when a product exceeds `Int.max`.
    public init(_ model: TransformerModel) throws(BudgetError) {
        let checked = Checked(context: model.name)
        let spec = model.spec
        let (s, b, h, a, layers) = (model.sequenceLength, model.batchSize, spec.hiddenSize, spec.headCount, spec.layerCount)
        let p = model.precision.byteCount
        let sbh = try checked.multiply(s, b, h, what: "s·b·h")
        let ass = try checked.multiply(try checked.multiply(a, s, s, what: "a·s²"), b, what: "a·s²·b")
        let perLayer = try checked.add(
            try checked.multiply(sbh, 16 * p + 2, what: "Korthikanti's first term"),
            try checked.multiply(ass, 2 * p + 1, what: "Korthikanti's second term"), what: "Korthikanti's bytes per layer")
        korthikantiBytes = try checked.multiply(perLayer, layers, what: "Korthikanti's bytes")
        let padded =
            spec.paddedVocabularySize > spec.vocabularySize ? spec.paddedVocabularySize : (spec.vocabularySize + 127) / 128 * 128
        llmcPaddedVocabulary = padded
        let bt = try checked.multiply(b, s, what: "B·T")
        let btc = try checked.multiply(bt, h, what: "B·T·C")
        let block = try checked.sum(
            [
                try checked.multiply(btc, 18, what: "18·BTC"), try checked.multiply(ass, 2, what: "2·NH·B·T²"),
                try checked.multiply(bt, 4, what: "4·BT"),
            ],
            what: "llm.c's floats per block")
        llmcActivationFloats = try checked.sum(
            [
                try checked.multiply(block, layers, what: "llm.c's block floats"), try checked.multiply(btc, 2, what: "2·BTC"),
                try checked.multiply(bt, 3, what: "3·BT"),
                try checked.multiply(try checked.multiply(bt, padded, what: "B·T·Vp"), 2, what: "2·B·T·Vp"),
            ], what: "llm.c's activation floats")
    }
}
