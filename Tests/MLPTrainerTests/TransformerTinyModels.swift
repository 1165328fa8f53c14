// Test-only compositions of the transformer kernels: a GPT-2 (llm.c's gpt2_forward/gpt2_backward in miniature) and a
// Llama-style model (RMSNorm, rotary, SwiGLU, grouped-query attention, untied head, no biases). They allocate and run
// every kernel as `parts` complementary ranges one after another, which proves the split rules compose; they are
// not the trainer (the step program, arena and worker pool are a later issue's).

@testable import MLPTrainer
import ModelProfile

/// A GPT-2 with llm.c's parameter layout (`GPT2Config.parameterSizes()` order, the head tied to wte).
final class TinyGPT2<T: TrainingScalar> {
    let config: GPT2Config
    let batch: Int
    let sequence: Int
    let parts: Int
    let sizes: [Int]
    let offsets: [Int]
    let params: Slab<T>
    let grads: Slab<T>
    let inputs: Slab<Int32>
    let targets: Slab<Int32>
    // activations, llm.c's ActivationTensors without preatt and probs: (L, B, T, ·) per layer
    let encoded, ln1, ln1Mean, ln1Rstd, qkv, atty, att, attproj, residual2, ln2, ln2Mean, ln2Rstd: Slab<T>
    let fch, fchGelu, fcproj, residual3, lnf, lnfMean, lnfRstd, logits, losses: Slab<T>
    // activation gradients: the residual stream per layer, one layer's worth of the rest (reused, overwritten)
    let dencoded, dresidual3, dlnf, dln1, dqkv, datty, dattproj, dresidual2, dln2, dfch, dfchGelu, dfcproj: Slab<T>
    let scratch: Slab<T>

    init(config: GPT2Config, batch: Int, sequence: Int, parts: Int = 1) throws {
        self.config = config
        self.batch = batch
        self.sequence = sequence
        self.parts = parts
        let sizes = try config.parameterSizes()
        self.sizes = sizes
        offsets = sizes.indices.map { sizes[..<$0].reduce(0, +) }
        let count = sizes.reduce(0, +)
        params = Slab(count, repeating: 0)
        grads = Slab(count, repeating: 0)
        inputs = Slab(batch * sequence, repeating: 0)
        targets = Slab(batch * sequence, repeating: 0)
        let (L, C, N, NH) = (config.layerCount, config.channels, batch * sequence, config.headCount)
        func make(_ n: Int) -> Slab<T> { Slab(n, repeating: 0) }
        encoded = make(N * C)
        ln1 = make(L * N * C); ln1Mean = make(L * N); ln1Rstd = make(L * N)
        qkv = make(L * N * 3 * C); atty = make(L * N * C); att = make(L * batch * NH * sequence * sequence)
        attproj = make(L * N * C); residual2 = make(L * N * C)
        ln2 = make(L * N * C); ln2Mean = make(L * N); ln2Rstd = make(L * N)
        fch = make(L * N * 4 * C); fchGelu = make(L * N * 4 * C); fcproj = make(L * N * C); residual3 = make(L * N * C)
        lnf = make(N * C); lnfMean = make(N); lnfRstd = make(N)
        logits = make(N * config.paddedVocabularySize); losses = make(N)
        dencoded = make(N * C); dresidual3 = make(L * N * C); dlnf = make(N * C)
        dln1 = make(N * C); dqkv = make(N * 3 * C); datty = make(N * C); dattproj = make(N * C)
        dresidual2 = make(N * C); dln2 = make(N * C); dfch = make(N * 4 * C); dfchGelu = make(N * 4 * C); dfcproj = make(N * C)
        scratch = make(parts * sequence * sequence)
    }

    /// Parameter tensor `index` (llm.c's order), layer `layer`'s slice for the per-layer tensors 2...13.
    func param(_ index: Int, _ layer: Int = 0) -> UnsafeMutablePointer<T> {
        params.p + offsets[index] + ((2...13).contains(index) ? layer * sizes[index] / config.layerCount : 0)
    }

    func grad(_ index: Int, _ layer: Int = 0) -> UnsafeMutablePointer<T> {
        grads.p + offsets[index] + ((2...13).contains(index) ? layer * sizes[index] / config.layerCount : 0)
    }

    /// Weights N(0, 0.2²), wte and wpe N(0, 0.5²), LayerNorm weights 1 + N(0, 0.1²), biases N(0, 0.1²).
    func randomize(seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        for index in sizes.indices {
            let (scale, offset): (Double, Double) =
                switch index {
                case 0, 1: (0.5, 0)
                case 2, 8, 14: (0.1, 1)
                case 3, 5, 7, 9, 11, 13, 15: (0.1, 0)
                default: (0.2, 0)
                }
            for i in 0..<sizes[index] { params[offsets[index] + i] = T(offset + scale * generator.nextNormal()) }
        }
    }

    func split(_ count: Int) -> [Range<Int>] { MLPTrainerTests.split(count, parts: parts) }

    /// The mean loss over the B·T positions; with `gradient`, the logits then hold dlogits for `backward()`.
    @discardableResult
    func forward(gradient: Bool) -> Double {
        let (L, C, NH, V, Vp) = (
            config.layerCount, config.channels, config.headCount, config.vocabularySize, config.paddedVocabularySize
        )
        let N = batch * sequence
        for r in split(N) {
            K.embeddingForward(
                out: encoded.p, tokens: inputs.p, wte: param(0), wpe: param(1), vocabulary: V, sequenceLength: sequence,
                channels: C, rows: r)
        }
        for l in 0..<L {
            let residual = l == 0 ? encoded.p : residual3.p + (l - 1) * N * C
            let (ln1, mean1, rstd1) = (ln1.p + l * N * C, ln1Mean.p + l * N, ln1Rstd.p + l * N)
            let (qkv, atty, att) = (qkv.p + l * N * 3 * C, atty.p + l * N * C, att.p + l * batch * NH * sequence * sequence)
            let (attproj, residual2) = (attproj.p + l * N * C, residual2.p + l * N * C)
            let (ln2, mean2, rstd2) = (ln2.p + l * N * C, ln2Mean.p + l * N, ln2Rstd.p + l * N)
            let (fch, fchGelu, fcproj, residual3) = (
                fch.p + l * N * 4 * C, fchGelu.p + l * N * 4 * C, fcproj.p + l * N * C, residual3.p + l * N * C
            )
            for r in split(N) {
                K.normForward(
                    out: ln1, mean: mean1, rstd: rstd1, inp: residual, weight: param(2, l), bias: param(3, l), channels: C,
                    rows: r)
                K.linearForward(
                    out: qkv, inp: ln1, weight: param(4, l), bias: param(5, l), inputChannels: C, outputChannels: 3 * C, rows: r)
            }
            for pairs in split(batch * NH) {
                K.attentionForward(
                    out: atty, att: att, qkv: qkv, sequenceLength: sequence, heads: NH, kvHeads: NH, headSize: C / NH,
                    pairs: pairs)
            }
            for r in split(N) {
                K.linearForward(
                    out: attproj, inp: atty, weight: param(6, l), bias: param(7, l), inputChannels: C, outputChannels: C, rows: r)
                K.residualForward(out: residual2, a: residual, b: attproj, elements: elements(r, width: C))
                K.normForward(
                    out: ln2, mean: mean2, rstd: rstd2, inp: residual2, weight: param(8, l), bias: param(9, l), channels: C,
                    rows: r)
                K.linearForward(
                    out: fch, inp: ln2, weight: param(10, l), bias: param(11, l), inputChannels: C, outputChannels: 4 * C, rows: r
                )
                K.geluForward(out: fchGelu, inp: fch, elements: elements(r, width: 4 * C))
                K.linearForward(
                    out: fcproj, inp: fchGelu, weight: param(12, l), bias: param(13, l), inputChannels: 4 * C, outputChannels: C,
                    rows: r)
                K.residualForward(out: residual3, a: residual2, b: fcproj, elements: elements(r, width: C))
            }
        }
        let last = residual3.p + (L - 1) * N * C
        for r in split(N) {
            K.normForward(
                out: lnf.p, mean: lnfMean.p, rstd: lnfRstd.p, inp: last, weight: param(14), bias: param(15), channels: C, rows: r)
            K.linearForward(out: logits.p, inp: lnf.p, weight: param(0), bias: nil, inputChannels: C, outputChannels: Vp, rows: r)
            K.softmaxCrossEntropy(
                logits: logits.p, losses: losses.p, targets: targets.p, vocabulary: V, paddedVocabulary: Vp, rows: r,
                gradientScale: gradient ? 1 / T(N) : nil)
        }
        return losses.array.reduce(0) { $0 + Double($1) } / Double(N)
    }

    /// Every parameter's gradient into `grads`, after `forward(gradient: true)`.
    ///
    /// Overwrites: no zeroing needed,
    /// except dwpe, which only the embedding's accumulating backward writes.
    func backward() {
        let (L, C, NH, V, Vp) = (
            config.layerCount, config.channels, config.headCount, config.vocabularySize, config.paddedVocabularySize
        )
        let N = batch * sequence
        let last = residual3.p + (L - 1) * N * C
        let dlast = dresidual3.p + (L - 1) * N * C
        for r in split(N) {
            K.linearBackwardInput(
                dinp: dlnf.p, dout: logits.p, weight: param(0), inputChannels: C, outputChannels: Vp, rows: r, accumulate: false)
            K.normBackwardInput(
                dinp: dlast, dout: dlnf.p, inp: last, weight: param(14), mean: lnfMean.p, rstd: lnfRstd.p, channels: C, rows: r,
                accumulate: false)
        }
        for o in split(Vp) {
            K.linearBackwardWeight(
                dweight: grad(0), dbias: nil, dout: logits.p, inp: lnf.p, inputChannels: C, outputChannels: Vp, rowCount: N,
                outputs: o, accumulate: false)
        }
        for c in split(C) {
            K.normBackwardParameters(
                dweight: grad(14), dbias: grad(15), dout: dlnf.p, inp: last, mean: lnfMean.p, rstd: lnfRstd.p, channels: C,
                rowCount: N,
                columns: c, accumulate: false)
        }
        for l in (0..<L).reversed() {
            let residual = l == 0 ? encoded.p : residual3.p + (l - 1) * N * C
            let dresidual = l == 0 ? dencoded.p : dresidual3.p + (l - 1) * N * C
            let (ln1, mean1, rstd1) = (ln1.p + l * N * C, ln1Mean.p + l * N, ln1Rstd.p + l * N)
            let (qkv, atty, att) = (qkv.p + l * N * 3 * C, atty.p + l * N * C, att.p + l * batch * NH * sequence * sequence)
            let residual2 = residual2.p + l * N * C
            let (ln2, mean2, rstd2) = (ln2.p + l * N * C, ln2Mean.p + l * N, ln2Rstd.p + l * N)
            let (fch, fchGelu, dresidual3) = (fch.p + l * N * 4 * C, fchGelu.p + l * N * 4 * C, dresidual3.p + l * N * C)
            // the MLP block
            for r in split(N) {
                K.residualBackward(
                    da: dresidual2.p, db: dfcproj.p, dout: dresidual3, elements: elements(r, width: C), accumulate: false)
                K.linearBackwardInput(
                    dinp: dfchGelu.p, dout: dfcproj.p, weight: param(12, l), inputChannels: 4 * C, outputChannels: C, rows: r,
                    accumulate: false)
                K.geluBackward(dinp: dfch.p, inp: fch, dout: dfchGelu.p, elements: elements(r, width: 4 * C), accumulate: false)
                K.linearBackwardInput(
                    dinp: dln2.p, dout: dfch.p, weight: param(10, l), inputChannels: C, outputChannels: 4 * C, rows: r,
                    accumulate: false)
                K.normBackwardInput(
                    dinp: dresidual2.p, dout: dln2.p, inp: residual2, weight: param(8, l), mean: mean2, rstd: rstd2, channels: C,
                    rows: r,
                    accumulate: true)
            }
            for o in split(C) {
                K.linearBackwardWeight(
                    dweight: grad(12, l), dbias: grad(13, l), dout: dfcproj.p, inp: fchGelu, inputChannels: 4 * C,
                    outputChannels: C,
                    rowCount: N, outputs: o, accumulate: false)
            }
            for o in split(4 * C) {
                K.linearBackwardWeight(
                    dweight: grad(10, l), dbias: grad(11, l), dout: dfch.p, inp: ln2, inputChannels: C, outputChannels: 4 * C,
                    rowCount: N,
                    outputs: o, accumulate: false)
            }
            for c in split(C) {
                K.normBackwardParameters(
                    dweight: grad(8, l), dbias: grad(9, l), dout: dln2.p, inp: residual2, mean: mean2, rstd: rstd2, channels: C,
                    rowCount: N,
                    columns: c, accumulate: false)
            }
            // the attention block
            for r in split(N) {
                K.residualBackward(
                    da: dresidual, db: dattproj.p, dout: dresidual2.p, elements: elements(r, width: C), accumulate: false)
                K.linearBackwardInput(
                    dinp: datty.p, dout: dattproj.p, weight: param(6, l), inputChannels: C, outputChannels: C, rows: r,
                    accumulate: false)
            }
            for o in split(C) {
                K.linearBackwardWeight(
                    dweight: grad(6, l), dbias: grad(7, l), dout: dattproj.p, inp: atty, inputChannels: C, outputChannels: C,
                    rowCount: N,
                    outputs: o, accumulate: false)
            }
            for (part, groups) in split(batch * NH).enumerated() {
                K.attentionBackward(
                    dqkv: dqkv.p, scratch: scratch.p + part * sequence * sequence, dout: datty.p, qkv: qkv, att: att,
                    sequenceLength: sequence,
                    heads: NH, kvHeads: NH, headSize: C / NH, groups: groups, accumulate: false)
            }
            for r in split(N) {
                K.linearBackwardInput(
                    dinp: dln1.p, dout: dqkv.p, weight: param(4, l), inputChannels: C, outputChannels: 3 * C, rows: r,
                    accumulate: false)
                K.normBackwardInput(
                    dinp: dresidual, dout: dln1.p, inp: residual, weight: param(2, l), mean: mean1, rstd: rstd1, channels: C,
                    rows: r, accumulate: true)
            }
            for o in split(3 * C) {
                K.linearBackwardWeight(
                    dweight: grad(4, l), dbias: grad(5, l), dout: dqkv.p, inp: ln1, inputChannels: C, outputChannels: 3 * C,
                    rowCount: N,
                    outputs: o, accumulate: false)
            }
            for c in split(C) {
                K.normBackwardParameters(
                    dweight: grad(2, l), dbias: grad(3, l), dout: dln1.p, inp: residual, mean: mean1, rstd: rstd1, channels: C,
                    rowCount: N,
                    columns: c, accumulate: false)
            }
        }
        grad(1).update(repeating: 0, count: sizes[1])
        for c in split(C) {
            K.embeddingBackward(
                dwte: grad(0), dwpe: grad(1), dout: dencoded.p, tokens: inputs.p, vocabulary: V, sequenceLength: sequence,
                channels: C,
                rowCount: N, columns: c)
        }
    }
}
