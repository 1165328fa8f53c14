// Splitting: every kernel run as two or three parts over complementary ranges gives the bytes of one part.
// In fp32, where a different summation order would show first.

@testable import MLPTrainer
import ModelProfile
import Testing

/// Runs `run` with the whole range and with it split into 2 and 3 uneven parts; expects bit-identical outputs
/// (`exact`), or outputs within 1e-6 of the largest (a product through T.gemm that a split makes smaller).
func expectSplitAgrees(
    _ label: String, count: Int, exact: Bool = true, sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ run: ([Range<Int>]) -> [Float]
) {
    let whole = run([0..<count])
    for parts in [2, 3] {
        let ranges = split(count, parts: parts)
        #expect(ranges.map(\.count).reduce(0, +) == count && ranges.count == parts, sourceLocation: sourceLocation)
        let pieces = run(ranges)
        if exact {
            #expect(bitIdentical(pieces, whole), "\(label): \(parts) parts differ from one", sourceLocation: sourceLocation)
        } else {
            let error = normRelativeError(pieces.map(Double.init), whole.map(Double.init))
            #expect(error <= 1e-6, "\(label): \(parts) parts differ from one by \(error)", sourceLocation: sourceLocation)
        }
    }
}

@Suite("Transformer kernel splits")
struct TransformerSplitTests {
    static let (B, T, C, V, I) = (3, 7, 12, 10, 9)
    static let N = B * T

    @Test("embedding: rows forward, columns backward")
    func embedding() {
        var generator = SplitMix64(seed: 31)
        let (N, T, C, V) = (Self.N, Self.T, Self.C, Self.V)
        let tokens = Slab<Int32>((0..<N).map { Int32(($0 * 7) % 4) })  // repeated tokens: a row split of the backward would race
        let wte = Slab<Float>(normal: V * C, &generator)
        let wpe = Slab<Float>(normal: T * C, &generator)
        let dout = Slab<Float>(normal: N * C, &generator)
        expectSplitAgrees("embeddingForward", count: N) { ranges in
            let out = Slab<Float>(N * C, repeating: .nan)
            for r in ranges {
                K.embeddingForward(
                    out: out.p, tokens: tokens.p, wte: wte.p, wpe: wpe.p, vocabulary: V, sequenceLength: T, channels: C, rows: r)
            }
            return out.array
        }
        expectSplitAgrees("embeddingBackward", count: C) { ranges in
            let (dwte, dwpe) = (Slab<Float>(V * C, repeating: 0), Slab<Float>(T * C, repeating: 0))
            for c in ranges {
                K.embeddingBackward(
                    dwte: dwte.p, dwpe: dwpe.p, dout: dout.p, tokens: tokens.p, vocabulary: V, sequenceLength: T, channels: C,
                    rowCount: N, columns: c)
            }
            return dwte.array + dwpe.array
        }
    }

    @Test("LayerNorm and RMSNorm: rows forward and input gradient, columns parameter gradients")
    func norms() {
        var generator = SplitMix64(seed: 32)
        let (N, C) = (Self.N, Self.C)
        let x = Slab<Float>(normal: N * C, &generator)
        let weight = Slab<Float>(normal: C, &generator, scale: 0.2, offset: 1)
        let bias = Slab<Float>(normal: C, &generator)
        let dout = Slab<Float>(normal: N * C, &generator)
        let (out, mean, rstd) = (Slab<Float>(N * C, repeating: 0), Slab<Float>(N, repeating: 0), Slab<Float>(N, repeating: 0))
        expectSplitAgrees("layerNormForward", count: N) { ranges in
            for r in ranges {
                K.normForward(
                    out: out.p, mean: mean.p, rstd: rstd.p, inp: x.p, weight: weight.p, bias: bias.p, channels: C, rows: r)
            }
            return out.array + mean.array + rstd.array
        }
        expectSplitAgrees("layerNormBackwardInput", count: N) { ranges in
            let dx = Slab<Float>(N * C, repeating: 0.5)
            for r in ranges {
                K.normBackwardInput(
                    dinp: dx.p, dout: dout.p, inp: x.p, weight: weight.p, mean: mean.p, rstd: rstd.p, channels: C, rows: r,
                    accumulate: true)
            }
            return dx.array
        }
        expectSplitAgrees("layerNormBackwardParameters", count: C) { ranges in
            let (dw, db) = (Slab<Float>(C, repeating: .nan), Slab<Float>(C, repeating: .nan))
            for c in ranges {
                K.normBackwardParameters(
                    dweight: dw.p, dbias: db.p, dout: dout.p, inp: x.p, mean: mean.p, rstd: rstd.p, channels: C, rowCount: N,
                    columns: c, accumulate: false)
            }
            return dw.array + db.array
        }
        expectSplitAgrees("rmsNormForward", count: N) { ranges in
            for r in ranges { K.normForward(out: out.p, rstd: rstd.p, inp: x.p, weight: weight.p, channels: C, rows: r) }
            return out.array + rstd.array
        }
        expectSplitAgrees("rmsNormBackwardInput", count: N) { ranges in
            let dx = Slab<Float>(N * C, repeating: .nan)
            for r in ranges {
                K.normBackwardInput(
                    dinp: dx.p, dout: dout.p, inp: x.p, weight: weight.p, rstd: rstd.p, channels: C, rows: r, accumulate: false)
            }
            return dx.array
        }
        expectSplitAgrees("rmsNormBackwardWeight", count: C) { ranges in
            let dw = Slab<Float>(C, repeating: 0.25)
            for c in ranges {
                K.normBackwardParameters(
                    dweight: dw.p, dout: dout.p, inp: x.p, rstd: rstd.p, channels: C, rowCount: N, columns: c, accumulate: true)
            }
            return dw.array
        }
    }

    /// Through T.gemm: a part is a smaller product, which the GEMM may block and round differently.
    @Test(
        "linear: rows forward and input gradient, output channels weight gradient (to GEMM rounding)",
        arguments: [(21, 12, 9), (48, 32, 40)])
    func linear(shape: (Int, Int, Int)) {
        var generator = SplitMix64(seed: 33)
        let (N, C, OC) = shape
        let x = Slab<Float>(normal: N * C, &generator)
        let w = Slab<Float>(normal: OC * C, &generator)
        let b = Slab<Float>(normal: OC, &generator)
        let dout = Slab<Float>(normal: N * OC, &generator)
        expectSplitAgrees("linearForward \(shape)", count: N, exact: false) { ranges in
            let out = Slab<Float>(N * OC, repeating: .nan)
            for r in ranges {
                K.linearForward(out: out.p, inp: x.p, weight: w.p, bias: b.p, inputChannels: C, outputChannels: OC, rows: r)
            }
            return out.array
        }
        expectSplitAgrees("linearBackwardInput \(shape)", count: N, exact: false) { ranges in
            let dx = Slab<Float>(N * C, repeating: .nan)
            for r in ranges {
                K.linearBackwardInput(
                    dinp: dx.p, dout: dout.p, weight: w.p, inputChannels: C, outputChannels: OC, rows: r, accumulate: false)
            }
            return dx.array
        }
        expectSplitAgrees("linearBackwardWeight \(shape)", count: OC, exact: false) { ranges in
            let (dw, db) = (Slab<Float>(OC * C, repeating: 1), Slab<Float>(OC, repeating: 1))
            for o in ranges {
                K.linearBackwardWeight(
                    dweight: dw.p, dbias: db.p, dout: dout.p, inp: x.p, inputChannels: C, outputChannels: OC, rowCount: N,
                    outputs: o, accumulate: true)
            }
            return dw.array + db.array
        }
    }

    @Test("GELU, SwiGLU, residual and rotary: element and row ranges")
    func elementwise() {
        var generator = SplitMix64(seed: 34)
        let (N, T, I) = (Self.N, Self.T, Self.I)
        let x = Slab<Float>(normal: N * 2 * I, &generator)
        let y = Slab<Float>(normal: N * 2 * I, &generator)
        let dout = Slab<Float>(normal: N * 2 * I, &generator)
        expectSplitAgrees("gelu", count: N) { ranges in
            let (out, dx) = (Slab<Float>(N * 2 * I, repeating: 0), Slab<Float>(N * 2 * I, repeating: 0))
            for r in ranges {
                K.geluForward(out: out.p, inp: x.p, elements: elements(r, width: 2 * I))
                K.geluBackward(dinp: dx.p, inp: x.p, dout: dout.p, elements: elements(r, width: 2 * I), accumulate: true)
            }
            return out.array + dx.array
        }
        expectSplitAgrees("swiGLU", count: N) { ranges in
            let (out, dx) = (Slab<Float>(N * I, repeating: 0), Slab<Float>(N * 2 * I, repeating: 0))
            for r in ranges {
                K.swiGLUForward(out: out.p, inp: x.p, hidden: I, rows: r)
                K.swiGLUBackward(dinp: dx.p, inp: x.p, dout: dout.p, hidden: I, rows: r, accumulate: false)
            }
            return out.array + dx.array
        }
        expectSplitAgrees("residual", count: N) { ranges in
            let (out, da, db) = (
                Slab<Float>(N * 2 * I, repeating: 0), Slab<Float>(N * 2 * I, repeating: 1), Slab<Float>(N * 2 * I, repeating: 2)
            )
            for r in ranges {
                K.residualForward(out: out.p, a: x.p, b: y.p, elements: elements(r, width: 2 * I))
                K.residualBackward(da: da.p, db: db.p, dout: dout.p, elements: elements(r, width: 2 * I), accumulate: true)
            }
            return out.array + da.array + db.array
        }
        let (NH, NKV, HS) = (4, 2, 6)
        let R = (NH + 2 * NKV) * HS
        let table = Slab<Float>(T * HS, repeating: 0)
        K.rotaryTable(table.p, maxSequenceLength: T, headSize: HS)
        let qkv = Slab<Float>(normal: N * R, &generator)
        expectSplitAgrees("rotary", count: N) { ranges in
            let (forward, backward) = (qkv.copy(), qkv.copy())
            for r in ranges {
                K.rotaryForward(qkv: forward.p, table: table.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, rows: r)
                K.rotaryBackward(
                    dqkv: backward.p, table: table.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, rows: r)
            }
            return forward.array + backward.array
        }
    }

    @Test("attention: (b, h) pairs forward, (b, kv-head) groups backward, GQA", arguments: [7, 20])
    func attention(sequence T: Int) {
        var generator = SplitMix64(seed: 35)
        let (B, NH, NKV, HS) = (3, 4, 2, 5)
        let R = (NH + 2 * NKV) * HS
        let qkv = Slab<Float>(normal: B * T * R, &generator)
        let dout = Slab<Float>(normal: B * T * NH * HS, &generator)
        let (out, att) = (Slab<Float>(B * T * NH * HS, repeating: .nan), Slab<Float>(B * NH * T * T, repeating: .nan))
        expectSplitAgrees("attentionForward T = \(T)", count: B * NH) { ranges in
            for pairs in ranges {
                K.attentionForward(
                    out: out.p, att: att.p, qkv: qkv.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, pairs: pairs)
            }
            return out.array + att.array
        }
        for accumulate in [false, true] {
            expectSplitAgrees("attentionBackward T = \(T) accumulate \(accumulate)", count: B * NKV) { ranges in
                let dqkv = Slab<Float>(B * T * R, repeating: accumulate ? 0.5 : .nan)
                let scratch = Slab<Float>(ranges.count * T * T, repeating: .nan)  // one (T, T) per part
                for (part, groups) in ranges.enumerated() {
                    K.attentionBackward(
                        dqkv: dqkv.p, scratch: scratch.p + part * T * T, dout: dout.p, qkv: qkv.p, att: att.p, sequenceLength: T,
                        heads: NH,
                        kvHeads: NKV, headSize: HS, groups: groups, accumulate: accumulate)
                }
                return dqkv.array
            }
        }
    }

    @Test("softmax cross-entropy: rows")
    func crossEntropy() {
        var generator = SplitMix64(seed: 36)
        let (N, V, Vp) = (Self.N, 13, 16)
        let logits = Slab<Float>(normal: N * Vp, &generator, scale: 2)
        let targets = Slab<Int32>((0..<N).map { Int32(($0 * 3) % V) })
        expectSplitAgrees("softmaxCrossEntropy", count: N) { ranges in
            let (z, losses) = (logits.copy(), Slab<Float>(N, repeating: .nan))
            for r in ranges {
                K.softmaxCrossEntropy(
                    logits: z.p, losses: losses.p, targets: targets.p, vocabulary: V, paddedVocabulary: Vp, rows: r,
                    gradientScale: 1 / Float(N))
            }
            return z.array + losses.array
        }
    }
}
