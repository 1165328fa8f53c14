// Test-only: a Llama-style model from the transformer kernels (RMSNorm, rotary, SwiGLU, grouped-query attention,
// untied head, no biases), run as `parts` complementary ranges per kernel like TinyGPT2.

@testable import MLPTrainer
import ModelProfile

/// The shape of a tiny Llama: V ≤ Vp, L layers, NH query heads over NKV key/value heads, C channels, I hidden.
struct TinyLlamaConfig {
    var vocabulary: Int
    var paddedVocabulary: Int
    var maxSequence: Int
    var layers: Int
    var heads: Int
    var kvHeads: Int
    var channels: Int
    var hidden: Int
    var headSize: Int { channels / heads }
    /// R, a qkv row.
    var qkvWidth: Int { (heads + 2 * kvHeads) * headSize }
}

/// A Llama-style model.
///
/// Parameters, in this order: wte (Vp, C); attnNorm (L, C); wqkv (L, R, C) = [Wq; Wk; Wv];
/// wo (L, C, C); ffnNorm (L, C); wGateUp (L, 2I, C) = [W_gate; W_up]; wDown (L, C, I); finalNorm (C); head (Vp, C).
final class TinyLlama<T: TrainingScalar> {
    static var names: [String] { ["wte", "attnNorm", "wqkv", "wo", "ffnNorm", "wGateUp", "wDown", "finalNorm", "head"] }
    let config: TinyLlamaConfig
    let batch: Int
    let sequence: Int
    let parts: Int
    let sizes: [Int]
    let offsets: [Int]
    let params: Slab<T>
    let grads: Slab<T>
    let inputs: Slab<Int32>
    let targets: Slab<Int32>
    let table: Slab<T>
    let encoded, n1, rstd1, qkv, atty, att, attproj, residual2, n2, rstd2, gateUp, hidden, ffn, residual3, nf, rstdf, logits,
        losses: Slab<T>
    let dencoded, dresidual3, dnf, dn1, dqkv, datty, dattproj, dresidual2, dn2, dgateUp, dhidden, dffn, scratch: Slab<T>

    init(config: TinyLlamaConfig, batch: Int, sequence: Int, parts: Int = 1) {
        self.config = config
        self.batch = batch
        self.sequence = sequence
        self.parts = parts
        let (L, C, I, R, Vp) = (config.layers, config.channels, config.hidden, config.qkvWidth, config.paddedVocabulary)
        let sizes = [Vp * C, L * C, L * R * C, L * C * C, L * C, L * 2 * I * C, L * C * I, C, Vp * C]
        self.sizes = sizes
        offsets = sizes.indices.map { sizes[..<$0].reduce(0, +) }
        params = Slab(sizes.reduce(0, +), repeating: 0)
        grads = Slab(sizes.reduce(0, +), repeating: 0)
        let N = batch * sequence
        inputs = Slab(N, repeating: 0)
        targets = Slab(N, repeating: 0)
        table = Slab(config.maxSequence * config.headSize, repeating: 0)
        K.rotaryTable(table.p, maxSequenceLength: config.maxSequence, headSize: config.headSize)
        func make(_ n: Int) -> Slab<T> { Slab(n, repeating: 0) }
        encoded = make(N * C)
        n1 = make(L * N * C); rstd1 = make(L * N); qkv = make(L * N * R); atty = make(L * N * C)
        att = make(L * batch * config.heads * sequence * sequence); attproj = make(L * N * C); residual2 = make(L * N * C)
        n2 = make(L * N * C); rstd2 = make(L * N); gateUp = make(L * N * 2 * I); hidden = make(L * N * I); ffn = make(L * N * C)
        residual3 = make(L * N * C); nf = make(N * C); rstdf = make(N); logits = make(N * Vp); losses = make(N)
        dencoded = make(N * C); dresidual3 = make(L * N * C); dnf = make(N * C); dn1 = make(N * C); dqkv = make(N * R)
        datty = make(N * C); dattproj = make(N * C); dresidual2 = make(N * C); dn2 = make(N * C); dgateUp = make(N * 2 * I)
        dhidden = make(N * I); dffn = make(N * C); scratch = make(parts * sequence * sequence)
    }

    func param(_ index: Int, _ layer: Int = 0) -> UnsafeMutablePointer<T> {
        params.p + offsets[index] + ((1...6).contains(index) ? layer * sizes[index] / config.layers : 0)
    }

    func grad(_ index: Int, _ layer: Int = 0) -> UnsafeMutablePointer<T> {
        grads.p + offsets[index] + ((1...6).contains(index) ? layer * sizes[index] / config.layers : 0)
    }

    /// Embedding and head N(0, 0.5²), norm weights 1 + N(0, 0.1²), projections N(0, 0.2²).
    func randomize(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for index in sizes.indices {
            let (scale, offset): (Double, Double) =
                [0, 8].contains(index) ? (0.5, 0) : [1, 4, 7].contains(index) ? (0.1, 1) : (0.2, 0)
            for i in 0..<sizes[index] { params[offsets[index] + i] = T(offset + scale * generator.nextNormal()) }
        }
    }

    func split(_ count: Int) -> [Range<Int>] { MLPTrainerTests.split(count, parts: parts) }

    @discardableResult
    func forward(gradient: Bool) -> Double {
        let (L, C, I, R, NH, NKV, HS) = (
            config.layers, config.channels, config.hidden, config.qkvWidth, config.heads, config.kvHeads, config.headSize
        )
        let (V, Vp, N) = (config.vocabulary, config.paddedVocabulary, batch * sequence)
        for r in split(N) {
            K.embeddingForward(
                out: encoded.p, tokens: inputs.p, wte: param(0), wpe: nil, vocabulary: V, sequenceLength: sequence, channels: C,
                rows: r)
        }
        for l in 0..<L {
            let residual = l == 0 ? encoded.p : residual3.p + (l - 1) * N * C
            let (n1, rstd1, qkv, atty) = (n1.p + l * N * C, rstd1.p + l * N, qkv.p + l * N * R, atty.p + l * N * C)
            let (att, attproj, residual2) = (
                att.p + l * batch * NH * sequence * sequence, attproj.p + l * N * C, residual2.p + l * N * C
            )
            let (n2, rstd2, gateUp, hidden) = (n2.p + l * N * C, rstd2.p + l * N, gateUp.p + l * N * 2 * I, hidden.p + l * N * I)
            let (ffn, residual3) = (ffn.p + l * N * C, residual3.p + l * N * C)
            for r in split(N) {
                K.normForward(out: n1, rstd: rstd1, inp: residual, weight: param(1, l), channels: C, rows: r)
                K.linearForward(out: qkv, inp: n1, weight: param(2, l), bias: nil, inputChannels: C, outputChannels: R, rows: r)
                K.rotaryForward(
                    qkv: qkv, table: table.p, sequenceLength: sequence, heads: NH, kvHeads: NKV, headSize: HS, rows: r)
            }
            for pairs in split(batch * NH) {
                K.attentionForward(
                    out: atty, att: att, qkv: qkv, sequenceLength: sequence, heads: NH, kvHeads: NKV, headSize: HS, pairs: pairs)
            }
            for r in split(N) {
                K.linearForward(
                    out: attproj, inp: atty, weight: param(3, l), bias: nil, inputChannels: C, outputChannels: C, rows: r)
                K.residualForward(out: residual2, a: residual, b: attproj, elements: elements(r, width: C))
                K.normForward(out: n2, rstd: rstd2, inp: residual2, weight: param(4, l), channels: C, rows: r)
                K.linearForward(
                    out: gateUp, inp: n2, weight: param(5, l), bias: nil, inputChannels: C, outputChannels: 2 * I, rows: r)
                K.swiGLUForward(out: hidden, inp: gateUp, hidden: I, rows: r)
                K.linearForward(
                    out: ffn, inp: hidden, weight: param(6, l), bias: nil, inputChannels: I, outputChannels: C, rows: r)
                K.residualForward(out: residual3, a: residual2, b: ffn, elements: elements(r, width: C))
            }
        }
        let last = residual3.p + (L - 1) * N * C
        for r in split(N) {
            K.normForward(out: nf.p, rstd: rstdf.p, inp: last, weight: param(7), channels: C, rows: r)
            K.linearForward(out: logits.p, inp: nf.p, weight: param(8), bias: nil, inputChannels: C, outputChannels: Vp, rows: r)
            K.softmaxCrossEntropy(
                logits: logits.p, losses: losses.p, targets: targets.p, vocabulary: V, paddedVocabulary: Vp, rows: r,
                gradientScale: gradient ? 1 / T(N) : nil)
        }
        return losses.array.reduce(0) { $0 + Double($1) } / Double(N)
    }

    /// Every parameter's gradient into `grads`, after `forward(gradient: true)`; only dwte is zeroed first.
    func backward() {
        let (L, C, I, R, NH, NKV, HS) = (
            config.layers, config.channels, config.hidden, config.qkvWidth, config.heads, config.kvHeads, config.headSize
        )
        let (V, Vp, N) = (config.vocabulary, config.paddedVocabulary, batch * sequence)
        let last = residual3.p + (L - 1) * N * C
        let dlast = dresidual3.p + (L - 1) * N * C
        for r in split(N) {
            K.linearBackwardInput(
                dinp: dnf.p, dout: logits.p, weight: param(8), inputChannels: C, outputChannels: Vp, rows: r, accumulate: false)
            K.normBackwardInput(
                dinp: dlast, dout: dnf.p, inp: last, weight: param(7), rstd: rstdf.p, channels: C, rows: r, accumulate: false)
        }
        for o in split(Vp) {
            K.linearBackwardWeight(
                dweight: grad(8), dbias: nil, dout: logits.p, inp: nf.p, inputChannels: C, outputChannels: Vp, rowCount: N,
                outputs: o, accumulate: false)
        }
        for c in split(C) {
            K.normBackwardParameters(
                dweight: grad(7), dout: dnf.p, inp: last, rstd: rstdf.p, channels: C, rowCount: N, columns: c, accumulate: false)
        }
        for l in (0..<L).reversed() {
            let residual = l == 0 ? encoded.p : residual3.p + (l - 1) * N * C
            let dresidual = l == 0 ? dencoded.p : dresidual3.p + (l - 1) * N * C
            let (n1, rstd1, qkv, atty) = (n1.p + l * N * C, rstd1.p + l * N, qkv.p + l * N * R, atty.p + l * N * C)
            let (att, residual2, dresidual3) = (
                att.p + l * batch * NH * sequence * sequence, residual2.p + l * N * C, dresidual3.p + l * N * C
            )
            let (n2, rstd2, gateUp, hidden) = (n2.p + l * N * C, rstd2.p + l * N, gateUp.p + l * N * 2 * I, hidden.p + l * N * I)
            for r in split(N) {
                K.residualBackward(
                    da: dresidual2.p, db: dffn.p, dout: dresidual3, elements: elements(r, width: C), accumulate: false)
                K.linearBackwardInput(
                    dinp: dhidden.p, dout: dffn.p, weight: param(6, l), inputChannels: I, outputChannels: C, rows: r,
                    accumulate: false)
                K.swiGLUBackward(dinp: dgateUp.p, inp: gateUp, dout: dhidden.p, hidden: I, rows: r, accumulate: false)
                K.linearBackwardInput(
                    dinp: dn2.p, dout: dgateUp.p, weight: param(5, l), inputChannels: C, outputChannels: 2 * I, rows: r,
                    accumulate: false)
                K.normBackwardInput(
                    dinp: dresidual2.p, dout: dn2.p, inp: residual2, weight: param(4, l), rstd: rstd2, channels: C, rows: r,
                    accumulate: true)
                K.residualBackward(
                    da: dresidual, db: dattproj.p, dout: dresidual2.p, elements: elements(r, width: C), accumulate: false)
                K.linearBackwardInput(
                    dinp: datty.p, dout: dattproj.p, weight: param(3, l), inputChannels: C, outputChannels: C, rows: r,
                    accumulate: false)
            }
            for o in split(C) {
                K.linearBackwardWeight(
                    dweight: grad(6, l), dbias: nil, dout: dffn.p, inp: hidden, inputChannels: I, outputChannels: C, rowCount: N,
                    outputs: o, accumulate: false)
                K.linearBackwardWeight(
                    dweight: grad(3, l), dbias: nil, dout: dattproj.p, inp: atty, inputChannels: C, outputChannels: C,
                    rowCount: N, outputs: o,
                    accumulate: false)
            }
            for o in split(2 * I) {
                K.linearBackwardWeight(
                    dweight: grad(5, l), dbias: nil, dout: dgateUp.p, inp: n2, inputChannels: C, outputChannels: 2 * I,
                    rowCount: N, outputs: o,
                    accumulate: false)
            }
            for c in split(C) {
                K.normBackwardParameters(
                    dweight: grad(4, l), dout: dn2.p, inp: residual2, rstd: rstd2, channels: C, rowCount: N, columns: c,
                    accumulate: false)
            }
            for (part, groups) in split(batch * NKV).enumerated() {
                K.attentionBackward(
                    dqkv: dqkv.p, scratch: scratch.p + part * sequence * sequence, dout: datty.p, qkv: qkv, att: att,
                    sequenceLength: sequence,
                    heads: NH, kvHeads: NKV, headSize: HS, groups: groups, accumulate: false)
            }
            for r in split(N) {
                K.rotaryBackward(
                    dqkv: dqkv.p, table: table.p, sequenceLength: sequence, heads: NH, kvHeads: NKV, headSize: HS, rows: r)
                K.linearBackwardInput(
                    dinp: dn1.p, dout: dqkv.p, weight: param(2, l), inputChannels: C, outputChannels: R, rows: r,
                    accumulate: false)
                K.normBackwardInput(
                    dinp: dresidual, dout: dn1.p, inp: residual, weight: param(1, l), rstd: rstd1, channels: C, rows: r,
                    accumulate: true)
            }
            for o in split(R) {
                K.linearBackwardWeight(
                    dweight: grad(2, l), dbias: nil, dout: dqkv.p, inp: n1, inputChannels: C, outputChannels: R, rowCount: N,
                    outputs: o, accumulate: false)
            }
            for c in split(C) {
                K.normBackwardParameters(
                    dweight: grad(1, l), dout: dn1.p, inp: residual, rstd: rstd1, channels: C, rowCount: N, columns: c,
                    accumulate: false)
            }
        }
        grad(0).update(repeating: 0, count: sizes[0])
        for c in split(C) {
            K.embeddingBackward(
                dwte: grad(0), dwpe: nil, dout: dencoded.p, tokens: inputs.p, vocabulary: V, sequenceLength: sequence,
                channels: C, rowCount: N, columns: c)
        }
    }
}
