// Every transformer kernel's backward against fourth-order central differences of its forward, in fp64.
// Each test differentiates the scalar Σ w ⊙ out for a fixed random w (so the backward runs with dout = w).
// Tolerance: |analytic − numeric| ≤ 1e-6 · max(|analytic| + |numeric|, 1e-3); measured errors are about 1e-10.

@testable import MLPTrainer
import ModelProfile
import Testing

/// Expects each input's analytic gradient to match finite differences of `loss`, at every element of a small
/// input and 40 spread elements of a larger one.
func expectGradients(
    _ label: String, _ inputs: [(name: String, values: Slab<Double>, analytic: [Double])], loss: () -> Double,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    for input in inputs {
        let indices = sampleIndices(input.values.count)
        let numeric = numericGradient(input.values, at: indices, loss)
        let error = worstRelativeError(indices.map { input.analytic[$0] }, numeric)
        #expect(error < 1e-6, "\(label) d\(input.name): worst relative error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Transformer kernel gradients")
struct TransformerGradientTests {
    @Test("embedding: dwte, dwpe")
    func embedding() {
        var generator = SplitMix64(seed: 21)
        let (N, T, C, V) = (6, 3, 4, 5)
        let tokens = Slab<Int32>([4, 0, 4, 2, 2, 1])
        let wte = Slab<Double>(normal: V * C, &generator)
        let wpe = Slab<Double>(normal: T * C, &generator)
        let w = Slab<Double>(normal: N * C, &generator)
        let out = Slab<Double>(N * C, repeating: 0)
        func loss() -> Double {
            K.embeddingForward(
                out: out.p, tokens: tokens.p, wte: wte.p, wpe: wpe.p, vocabulary: V, sequenceLength: T, channels: C, rows: 0..<N)
            return weightedSum(out.p, w)
        }
        let dwte = Slab<Double>(V * C, repeating: 0)
        let dwpe = Slab<Double>(T * C, repeating: 0)
        K.embeddingBackward(
            dwte: dwte.p, dwpe: dwpe.p, dout: w.p, tokens: tokens.p, vocabulary: V, sequenceLength: T, channels: C, rowCount: N,
            columns: 0..<C)
        expectGradients("embedding", [("wte", wte, dwte.array), ("wpe", wpe, dwpe.array)], loss: loss)
    }

    @Test("LayerNorm: dinp, dweight, dbias", arguments: [1, 5, 16])
    func layerNorm(channels C: Int) {
        var generator = SplitMix64(seed: 22)
        let N = 4
        let x = Slab<Double>(normal: N * C, &generator, offset: 0.3)
        let weight = Slab<Double>(normal: C, &generator, scale: 0.3, offset: 1)
        let bias = Slab<Double>(normal: C, &generator)
        let w = Slab<Double>(normal: N * C, &generator)
        let (out, mean, rstd) = (Slab<Double>(N * C, repeating: 0), Slab<Double>(N, repeating: 0), Slab<Double>(N, repeating: 0))
        func loss() -> Double {
            K.normForward(
                out: out.p, mean: mean.p, rstd: rstd.p, inp: x.p, weight: weight.p, bias: bias.p, channels: C, rows: 0..<N)
            return weightedSum(out.p, w)
        }
        _ = loss()
        let (dx, dweight, dbias) = (
            Slab<Double>(N * C, repeating: .nan), Slab<Double>(C, repeating: .nan), Slab<Double>(C, repeating: .nan)
        )
        K.normBackwardInput(
            dinp: dx.p, dout: w.p, inp: x.p, weight: weight.p, mean: mean.p, rstd: rstd.p, channels: C, rows: 0..<N,
            accumulate: false)
        K.normBackwardParameters(
            dweight: dweight.p, dbias: dbias.p, dout: w.p, inp: x.p, mean: mean.p, rstd: rstd.p, channels: C, rowCount: N,
            columns: 0..<C, accumulate: false)
        expectGradients(
            "LayerNorm C = \(C)", [("inp", x, dx.array), ("weight", weight, dweight.array), ("bias", bias, dbias.array)],
            loss: loss)
    }

    @Test("RMSNorm: dinp, dweight", arguments: [1, 5, 16])
    func rmsNorm(channels C: Int) {
        var generator = SplitMix64(seed: 23)
        let N = 4
        let x = Slab<Double>(normal: N * C, &generator, offset: 0.3)
        let weight = Slab<Double>(normal: C, &generator, scale: 0.3, offset: 1)
        let w = Slab<Double>(normal: N * C, &generator)
        let (out, rstd) = (Slab<Double>(N * C, repeating: 0), Slab<Double>(N, repeating: 0))
        func loss() -> Double {
            K.normForward(out: out.p, rstd: rstd.p, inp: x.p, weight: weight.p, channels: C, rows: 0..<N)
            return weightedSum(out.p, w)
        }
        _ = loss()
        let (dx, dweight) = (Slab<Double>(N * C, repeating: .nan), Slab<Double>(C, repeating: .nan))
        K.normBackwardInput(
            dinp: dx.p, dout: w.p, inp: x.p, weight: weight.p, rstd: rstd.p, channels: C, rows: 0..<N, accumulate: false)
        K.normBackwardParameters(
            dweight: dweight.p, dout: w.p, inp: x.p, rstd: rstd.p, channels: C, rowCount: N, columns: 0..<C, accumulate: false)
        expectGradients("RMSNorm C = \(C)", [("inp", x, dx.array), ("weight", weight, dweight.array)], loss: loss)
    }

    @Test("linear: dinp, dweight, dbias")
    func linear() {
        var generator = SplitMix64(seed: 24)
        let (N, C, OC) = (17, 5, 6)
        let x = Slab<Double>(normal: N * C, &generator)
        let weight = Slab<Double>(normal: OC * C, &generator)
        let bias = Slab<Double>(normal: OC, &generator)
        let w = Slab<Double>(normal: N * OC, &generator)
        let out = Slab<Double>(N * OC, repeating: 0)
        func loss() -> Double {
            K.linearForward(
                out: out.p, inp: x.p, weight: weight.p, bias: bias.p, inputChannels: C, outputChannels: OC, rows: 0..<N)
            return weightedSum(out.p, w)
        }
        let (dx, dweight, dbias) = (
            Slab<Double>(N * C, repeating: .nan), Slab<Double>(OC * C, repeating: .nan), Slab<Double>(OC, repeating: .nan)
        )
        K.linearBackwardInput(
            dinp: dx.p, dout: w.p, weight: weight.p, inputChannels: C, outputChannels: OC, rows: 0..<N, accumulate: false)
        K.linearBackwardWeight(
            dweight: dweight.p, dbias: dbias.p, dout: w.p, inp: x.p, inputChannels: C, outputChannels: OC, rowCount: N,
            outputs: 0..<OC, accumulate: false)
        expectGradients(
            "linear", [("inp", x, dx.array), ("weight", weight, dweight.array), ("bias", bias, dbias.array)], loss: loss)
    }

    @Test("GELU and SwiGLU: dinp")
    func activations() {
        var generator = SplitMix64(seed: 25)
        let (N, I) = (3, 7)
        let x = Slab<Double>(normal: N * 2 * I, &generator, scale: 2)
        let w = Slab<Double>(normal: N * 2 * I, &generator)
        let out = Slab<Double>(N * 2 * I, repeating: 0)
        let dx = Slab<Double>(N * 2 * I, repeating: .nan)
        K.geluBackward(dinp: dx.p, inp: x.p, dout: w.p, elements: 0..<(N * 2 * I), accumulate: false)
        expectGradients("GELU", [("inp", x, dx.array)]) {
            K.geluForward(out: out.p, inp: x.p, elements: 0..<(N * 2 * I))
            return weightedSum(out.p, w)
        }
        K.swiGLUBackward(dinp: dx.p, inp: x.p, dout: w.p, hidden: I, rows: 0..<N, accumulate: false)
        let wHalf = Slab(Array(w.array[0..<(N * I)]))
        expectGradients("SwiGLU", [("inp", x, dx.array)]) {
            K.swiGLUForward(out: out.p, inp: x.p, hidden: I, rows: 0..<N)
            return weightedSum(out.p, wHalf)
        }
    }

    @Test("rotary: dqkv")
    func rotary() {
        var generator = SplitMix64(seed: 26)
        let (N, T, NH, NKV, HS) = (6, 3, 2, 1, 4)
        let R = (NH + 2 * NKV) * HS
        let table = Slab<Double>(T * HS, repeating: 0)
        K.rotaryTable(table.p, maxSequenceLength: T, headSize: HS)
        let x = Slab<Double>(normal: N * R, &generator)
        let w = Slab<Double>(normal: N * R, &generator)
        let dx = w.copy()
        K.rotaryBackward(dqkv: dx.p, table: table.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, rows: 0..<N)
        expectGradients("rotary", [("qkv", x, dx.array)]) {
            let y = x.copy()
            K.rotaryForward(qkv: y.p, table: table.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, rows: 0..<N)
            return weightedSum(y.p, w)
        }
    }

    @Test("causal attention: dqkv", arguments: attentionShapes.indices)
    func attention(shape: Int) {
        let (B, T, NH, NKV, HS) = attentionShapes[shape]
        var generator = SplitMix64(seed: 27)
        let R = (NH + 2 * NKV) * HS
        let qkv = Slab<Double>(normal: B * T * R, &generator)
        let w = Slab<Double>(normal: B * T * NH * HS, &generator)
        let out = Slab<Double>(B * T * NH * HS, repeating: 0)
        let att = Slab<Double>(B * NH * T * T, repeating: 0)
        func loss() -> Double {
            K.attentionForward(
                out: out.p, att: att.p, qkv: qkv.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, pairs: 0..<(B * NH))
            return weightedSum(out.p, w)
        }
        _ = loss()
        let dqkv = Slab<Double>(B * T * R, repeating: .nan)
        let scratch = Slab<Double>(T * T, repeating: .nan)
        K.attentionBackward(
            dqkv: dqkv.p, scratch: scratch.p, dout: w.p, qkv: qkv.p, att: att.p, sequenceLength: T, heads: NH, kvHeads: NKV,
            headSize: HS,
            groups: 0..<(B * NKV), accumulate: false)
        expectGradients("attention B \(B) T \(T) NH \(NH) NKV \(NKV) HS \(HS)", [("qkv", qkv, dqkv.array)], loss: loss)
    }

    @Test("softmax cross-entropy: dlogits of the mean loss")
    func crossEntropy() {
        var generator = SplitMix64(seed: 28)
        let (N, V, Vp) = (5, 9, 12)
        let logits = Slab<Double>(normal: N * Vp, &generator, scale: 2)
        let targets = Slab<Int32>([0, 8, 3, 3, 5])
        let losses = Slab<Double>(N, repeating: 0)
        let dlogits = logits.copy()
        K.softmaxCrossEntropy(
            logits: dlogits.p, losses: losses.p, targets: targets.p, vocabulary: V, paddedVocabulary: Vp, rows: 0..<N,
            gradientScale: 1 / Double(N))
        expectGradients("cross-entropy", [("logits", logits, dlogits.array)]) {
            K.softmaxCrossEntropy(
                logits: logits.p, losses: losses.p, targets: targets.p, vocabulary: V, paddedVocabulary: Vp, rows: 0..<N,
                gradientScale: nil)
            return losses.array.reduce(0, +) / Double(N)
        }
    }
}
