// The transformer kernels against naive loops written from the formulas, in fp64 (and fp32 for the products),
// with odd sizes: T not a multiple of 16, HS = 1, NKV = 1, a single row.

import Foundation
@testable import MLPTrainer
import CGEMM
import ModelProfile
import Testing

/// The worst |got − expected| / max(1, |expected|).
func worstError<T: TrainingScalar>(_ got: [T], _ expected: [Double]) -> Double {
    precondition(got.count == expected.count)
    return zip(got, expected).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? 0
}

/// Naive causal attention, llm.c's loops generalised to grouped-query heads, in Double.
///
/// Returns out (B, T, C) and att (B, NH, T, T).
func naiveAttention(_ qkv: [Double], B: Int, T: Int, NH: Int, NKV: Int, HS: Int) -> (out: [Double], att: [Double]) {
    let R = (NH + 2 * NKV) * HS
    let C = NH * HS
    var out = [Double](repeating: 0, count: B * T * C)
    var att = [Double](repeating: 0, count: B * NH * T * T)
    for b in 0..<B {
        for t in 0..<T {
            for h in 0..<NH {
                let g = h / (NH / NKV)
                var scores = [Double](repeating: 0, count: t + 1)
                for t2 in 0...t {
                    for i in 0..<HS {
                        scores[t2] += qkv[(b * T + t) * R + h * HS + i] * qkv[(b * T + t2) * R + (NH + g) * HS + i]
                    }
                    scores[t2] /= Double(HS).squareRoot()
                }
                let largest = scores.max()!
                let sum = scores.reduce(0) { $0 + exp($1 - largest) }
                for t2 in 0...t {
                    let p = exp(scores[t2] - largest) / sum
                    att[((b * NH + h) * T + t) * T + t2] = p
                    for i in 0..<HS { out[(b * T + t) * C + h * HS + i] += p * qkv[(b * T + t2) * R + (NH + NKV + g) * HS + i] }
                }
            }
        }
    }
    return (out, att)
}

/// Naive attention backward, llm.c's `attention_backward` loops generalised to grouped-query heads: dqkv (B, T, R).
func naiveAttentionBackward(_ qkv: [Double], _ att: [Double], _ dout: [Double], B: Int, T: Int, NH: Int, NKV: Int, HS: Int)
    -> [Double]
{
    let R = (NH + 2 * NKV) * HS
    let C = NH * HS
    let scale = 1 / Double(HS).squareRoot()
    var dqkv = [Double](repeating: 0, count: B * T * R)
    for b in 0..<B {
        for t in 0..<T {
            for h in 0..<NH {
                let g = h / (NH / NKV)
                let a = ((b * NH + h) * T + t) * T
                var datt = [Double](repeating: 0, count: t + 1)
                for t2 in 0...t {
                    for i in 0..<HS {
                        let d = dout[(b * T + t) * C + h * HS + i]
                        datt[t2] += qkv[(b * T + t2) * R + (NH + NKV + g) * HS + i] * d
                        dqkv[(b * T + t2) * R + (NH + NKV + g) * HS + i] += att[a + t2] * d
                    }
                }
                var dpre = [Double](repeating: 0, count: t + 1)
                for t2 in 0...t {
                    for t3 in 0...t { dpre[t3] += att[a + t2] * ((t2 == t3 ? 1 : 0) - att[a + t3]) * datt[t2] }
                }
                for t2 in 0...t {
                    for i in 0..<HS {
                        dqkv[(b * T + t) * R + h * HS + i] += qkv[(b * T + t2) * R + (NH + g) * HS + i] * dpre[t2] * scale
                        dqkv[(b * T + t2) * R + (NH + g) * HS + i] += qkv[(b * T + t) * R + h * HS + i] * dpre[t2] * scale
                    }
                }
            }
        }
    }
    return dqkv
}

/// (B, T, NH, NKV, HS): the loops (T < 16 or HS < 16: T not a multiple of 16, HS = 1, NKV = 1, MHA) and, from T = 16
/// with HS = 16, the GEMM path.
let attentionShapes = [
    (2, 5, 2, 2, 3), (1, 7, 4, 1, 1), (2, 16, 4, 2, 4), (1, 17, 3, 1, 2), (2, 33, 2, 2, 8), (1, 1, 2, 1, 2), (1, 20, 2, 1, 16),
]

@Suite("Transformer kernels")
struct TransformerKernelTests {
    @Test("embedding forward and backward, with and without positions")
    func embedding() {
        var generator = SplitMix64(seed: 1)
        let (B, T, C, V) = (2, 5, 3, 7)
        let tokens = Slab<Int32>([3, 1, 3, 0, 6, 6, 3, 2, 1, 1])
        let wte = Slab<Double>(normal: V * C, &generator)
        let wpe = Slab<Double>(normal: T * C, &generator)
        for withPositions in [true, false] {
            let out = Slab<Double>(B * T * C, repeating: .nan)
            K.embeddingForward(
                out: out.p, tokens: tokens.p, wte: wte.p, wpe: withPositions ? wpe.p : nil, vocabulary: V, sequenceLength: T,
                channels: C,
                rows: 0..<(B * T))
            var expected = [Double]()
            for r in 0..<(B * T) {
                for c in 0..<C { expected.append(wte[Int(tokens[r]) * C + c] + (withPositions ? wpe[(r % T) * C + c] : 0)) }
            }
            #expect(out.array == expected)
            // backward accumulates onto what is there
            let dout = Slab<Double>(normal: B * T * C, &generator)
            let dwte = Slab<Double>(V * C, repeating: 0.5)
            let dwpe = Slab<Double>(T * C, repeating: -0.25)
            K.embeddingBackward(
                dwte: dwte.p, dwpe: withPositions ? dwpe.p : nil, dout: dout.p, tokens: tokens.p, vocabulary: V,
                sequenceLength: T, channels: C,
                rowCount: B * T, columns: 0..<C)
            var expectedWTE = [Double](repeating: 0.5, count: V * C)
            var expectedWPE = [Double](repeating: -0.25, count: T * C)
            for r in 0..<(B * T) {
                for c in 0..<C {
                    expectedWTE[Int(tokens[r]) * C + c] += dout[r * C + c]
                    if withPositions { expectedWPE[(r % T) * C + c] += dout[r * C + c] }
                }
            }
            #expect(worstError(dwte.array, expectedWTE) < 1e-15)
            #expect(worstError(dwpe.array, expectedWPE) < 1e-15)
        }
    }

    @Test("LayerNorm and RMSNorm forward against two-pass formulas", arguments: [1, 7, 32])
    func norms(channels C: Int) {
        var generator = SplitMix64(seed: 2)
        let N = 5
        let x = Slab<Double>(normal: N * C, &generator, scale: 2, offset: 0.5)
        let w = Slab<Double>(normal: C, &generator, scale: 0.1, offset: 1)
        let b = Slab<Double>(normal: C, &generator, scale: 0.1)
        let out = Slab<Double>(N * C, repeating: .nan)
        let mean = Slab<Double>(N, repeating: .nan)
        let rstd = Slab<Double>(N, repeating: .nan)
        K.normForward(out: out.p, mean: mean.p, rstd: rstd.p, inp: x.p, weight: w.p, bias: b.p, channels: C, rows: 0..<N)
        var expected = [Double]()
        for r in 0..<N {
            let row = (0..<C).map { x[r * C + $0] }
            let m = row.reduce(0, +) / Double(C)
            let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(C)
            #expect(abs(mean[r] - m) < 1e-14 && abs(rstd[r] - 1 / (v + 1e-5).squareRoot()) < 1e-12 * rstd[r])
            expected += (0..<C).map { (row[$0] - m) / (v + 1e-5).squareRoot() * w[$0] + b[$0] }
        }
        #expect(worstError(out.array, expected) < 1e-13, "LayerNorm C = \(C)")
        K.normForward(out: out.p, rstd: rstd.p, inp: x.p, weight: w.p, channels: C, rows: 0..<N)
        expected = []
        for r in 0..<N {
            let row = (0..<C).map { x[r * C + $0] }
            let s = 1 / (row.reduce(0) { $0 + $1 * $1 } / Double(C) + 1e-5).squareRoot()
            #expect(abs(rstd[r] - s) < 1e-13 * s)
            expected += (0..<C).map { row[$0] * s * w[$0] }
        }
        #expect(worstError(out.array, expected) < 1e-13, "RMSNorm C = \(C)")
    }

    func linear<T: TrainingScalar>(_: T.Type, tolerance: Double) {
        var generator = SplitMix64(seed: 3)
        for (N, C, OC) in [(1, 7, 5), (4, 3, 6), (9, 17, 2), (33, 16, 31), (20, 1, 3)] {
            let x = Slab<T>(normal: N * C, &generator)
            let w = Slab<T>(normal: OC * C, &generator)
            let b = Slab<T>(normal: OC, &generator)
            let dout = Slab<T>(normal: N * OC, &generator)
            for withBias in [true, false] {
                let out = Slab<T>(N * OC, repeating: 7)
                K.linearForward(
                    out: out.p, inp: x.p, weight: w.p, bias: withBias ? b.p : nil, inputChannels: C, outputChannels: OC,
                    rows: 0..<N)
                var expected = [Double]()
                for r in 0..<N {
                    for o in 0..<OC {
                        expected.append(
                            (0..<C).reduce(withBias ? Double(b[o]) : 0) { $0 + Double(x[r * C + $1]) * Double(w[o * C + $1]) })
                    }
                }
                #expect(worstError(out.array, expected) < tolerance, "\(T.self) forward \(N)×\(C)→\(OC) bias \(withBias)")
            }
            for accumulate in [false, true] {
                let start = accumulate ? 0.75 : 0  // what an accumulating backward adds onto
                let dx = Slab<T>(N * C, repeating: accumulate ? T(start) : 7)
                let dw = Slab<T>(OC * C, repeating: accumulate ? T(start) : 7)
                let db = Slab<T>(OC, repeating: accumulate ? T(start) : 7)
                K.linearBackwardInput(
                    dinp: dx.p, dout: dout.p, weight: w.p, inputChannels: C, outputChannels: OC, rows: 0..<N,
                    accumulate: accumulate)
                K.linearBackwardWeight(
                    dweight: dw.p, dbias: db.p, dout: dout.p, inp: x.p, inputChannels: C, outputChannels: OC, rowCount: N,
                    outputs: 0..<OC,
                    accumulate: accumulate)
                var expectedX = [Double]()
                for r in 0..<N {
                    for i in 0..<C {
                        expectedX.append((0..<OC).reduce(start) { $0 + Double(dout[r * OC + $1]) * Double(w[$1 * C + i]) })
                    }
                }
                var expectedW = [Double]()
                var expectedB = [Double]()
                for o in 0..<OC {
                    for i in 0..<C {
                        expectedW.append((0..<N).reduce(start) { $0 + Double(dout[$1 * OC + o]) * Double(x[$1 * C + i]) })
                    }
                    expectedB.append((0..<N).reduce(start) { $0 + Double(dout[$1 * OC + o]) })
                }
                let label = "\(T.self) backward \(N)×\(C)→\(OC) accumulate \(accumulate)"
                #expect(worstError(dx.array, expectedX) < tolerance, "dinp \(label)")
                #expect(worstError(dw.array, expectedW) < tolerance, "dweight \(label)")
                #expect(worstError(db.array, expectedB) < tolerance, "dbias \(label)")
            }
        }
    }

    @Test("linear forward and backward against triple loops, fp64") func linearDouble() { linear(Double.self, tolerance: 1e-12) }
    @Test("linear forward and backward against triple loops, fp32") func linearSingle() { linear(Float.self, tolerance: 1e-4) }

    @Test("GELU and SwiGLU forward against their formulas")
    func activations() {
        var generator = SplitMix64(seed: 4)
        let (N, I) = (3, 5)
        let x = Slab<Double>(normal: N * 2 * I, &generator, scale: 3)
        let out = Slab<Double>(N * 2 * I, repeating: .nan)
        K.geluForward(out: out.p, inp: x.p, elements: 0..<(N * 2 * I))
        let gelu = x.array.map { 0.5 * $0 * (1 + tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * pow($0, 3)))) }
        #expect(worstError(out.array, gelu) < 1e-15)
        K.swiGLUForward(out: out.p, inp: x.p, hidden: I, rows: 0..<N)
        var swiGLU = [Double]()
        for r in 0..<N {
            for j in 0..<I {
                let g = x[r * 2 * I + j]
                swiGLU.append(g / (1 + exp(-g)) * x[r * 2 * I + I + j])
            }
        }
        #expect(worstError(Array(out.array[0..<(N * I)]), swiGLU) < 1e-15)
    }

    @Test("rotary: the rotate-half rotation, v untouched, and its backward is its transpose")
    func rotary() {
        var generator = SplitMix64(seed: 5)
        let (B, T, NH, NKV, HS, maxT) = (2, 5, 3, 1, 6, 9)
        let R = (NH + 2 * NKV) * HS
        let table = Slab<Double>(maxT * HS, repeating: .nan)
        K.rotaryTable(table.p, maxSequenceLength: maxT, headSize: HS)
        let x = Slab<Double>(normal: B * T * R, &generator)
        let y = x.copy()
        K.rotaryForward(qkv: y.p, table: table.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, rows: 0..<(B * T))
        var expected = x.array
        for r in 0..<(B * T) {
            for head in 0..<(NH + NKV) {
                for i in 0..<(HS / 2) {
                    let theta = Double(r % T) / pow(10_000, Double(2 * i) / Double(HS))
                    let (x1, x2) = (x[r * R + head * HS + i], x[r * R + head * HS + HS / 2 + i])
                    expected[r * R + head * HS + i] = x1 * cos(theta) - x2 * sin(theta)
                    expected[r * R + head * HS + HS / 2 + i] = x2 * cos(theta) + x1 * sin(theta)
                }
            }
        }
        #expect(worstError(y.array, expected) < 1e-14)
        // ⟨R x, z⟩ = ⟨x, Rᵀ z⟩ for a random z, and Rᵀ R x = x
        let z = Slab<Double>(normal: B * T * R, &generator)
        let zBack = z.copy()
        K.rotaryBackward(
            dqkv: zBack.p, table: table.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, rows: 0..<(B * T))
        let lhs = zip(y.array, z.array).reduce(0) { $0 + $1.0 * $1.1 }
        let rhs = zip(x.array, zBack.array).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(abs(lhs - rhs) < 1e-12 * abs(lhs))
        K.rotaryBackward(dqkv: y.p, table: table.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, rows: 0..<(B * T))
        #expect(worstError(y.array, x.array) < 1e-15)
    }

    func attention<T: TrainingScalar>(_: T.Type, tolerance: Double) {
        var generator = SplitMix64(seed: 6)
        for (B, T, NH, NKV, HS) in attentionShapes {
            let R = (NH + 2 * NKV) * HS
            let C = NH * HS
            let qkv = Slab<T>(normal: B * T * R, &generator)
            let out = Slab<T>(B * T * C, repeating: .nan)
            let att = Slab<T>(B * NH * T * T, repeating: .nan)
            K.attentionForward(
                out: out.p, att: att.p, qkv: qkv.p, sequenceLength: T, heads: NH, kvHeads: NKV, headSize: HS, pairs: 0..<(B * NH))
            let naive = naiveAttention(qkv.doubles, B: B, T: T, NH: NH, NKV: NKV, HS: HS)
            let label = "\(T.self) B \(B) T \(T) NH \(NH) NKV \(NKV) HS \(HS)"
            #expect(worstError(out.array, naive.out) < tolerance, "out \(label)")
            #expect(worstError(att.array, naive.att) < tolerance, "att \(label)")
            let dout = Slab<T>(normal: B * T * C, &generator)
            let expected = naiveAttentionBackward(qkv.doubles, naive.att, dout.doubles, B: B, T: T, NH: NH, NKV: NKV, HS: HS)
            let scratch = Slab<T>(T * T, repeating: .nan)
            for accumulate in [false, true] {
                let dqkv = Slab<T>(B * T * R, repeating: accumulate ? 0.5 : .nan)
                K.attentionBackward(
                    dqkv: dqkv.p, scratch: scratch.p, dout: dout.p, qkv: qkv.p, att: att.p, sequenceLength: T, heads: NH,
                    kvHeads: NKV,
                    headSize: HS, groups: 0..<(B * NKV), accumulate: accumulate)
                #expect(
                    worstError(dqkv.array, expected.map { $0 + (accumulate ? 0.5 : 0) }) < tolerance,
                    "dqkv \(label) accumulate \(accumulate)")
            }
        }
    }

    @Test("causal attention forward and backward against llm.c-style loops, fp64") func attentionDouble() {
        attention(Double.self, tolerance: 1e-12)
    }
    @Test("causal attention forward and backward against llm.c-style loops, fp32") func attentionSingle() {
        attention(Float.self, tolerance: 2e-5)
    }

    @Test("softmax cross-entropy: losses, dlogits = (p − onehot)/(B·T), padded columns 0")
    func crossEntropy() {
        var generator = SplitMix64(seed: 7)
        let (N, V, Vp) = (6, 11, 16)
        let logits = Slab<Double>(normal: N * Vp, &generator, scale: 3)
        let targets = Slab<Int32>((0..<N).map { Int32(($0 * 5 + 2) % V) })
        let losses = Slab<Double>(N, repeating: .nan)
        let untouched = logits.array
        K.softmaxCrossEntropy(
            logits: logits.p, losses: losses.p, targets: targets.p, vocabulary: V, paddedVocabulary: Vp, rows: 0..<N,
            gradientScale: nil)
        #expect(logits.array == untouched, "without a gradient scale the logits stay")
        var expectedLosses = [Double]()
        var expectedGradient = [Double]()
        for r in 0..<N {
            let z = (0..<V).map { untouched[r * Vp + $0] }
            let p = z.map { exp($0) / z.reduce(0) { $0 + exp($1) } }
            expectedLosses.append(-log(p[Int(targets[r])]))
            expectedGradient += (0..<Vp).map { $0 < V ? (p[$0] - ($0 == Int(targets[r]) ? 1 : 0)) / Double(N) : 0 }
        }
        #expect(worstError(losses.array, expectedLosses) < 1e-14)
        K.softmaxCrossEntropy(
            logits: logits.p, losses: losses.p, targets: targets.p, vocabulary: V, paddedVocabulary: Vp, rows: 0..<N,
            gradientScale: 1 / Double(N))
        #expect(worstError(losses.array, expectedLosses) < 1e-14)
        #expect(worstError(logits.array, expectedGradient) < 1e-16)
        #expect((0..<N).allSatisfy { r in (V..<Vp).allSatisfy { logits[r * Vp + $0] == 0 } })
    }

    @Test("residual add and its fan-out backward")
    func residual() {
        var generator = SplitMix64(seed: 8)
        let a = Slab<Double>(normal: 10, &generator)
        let b = Slab<Double>(normal: 10, &generator)
        let out = Slab<Double>(10, repeating: .nan)
        K.residualForward(out: out.p, a: a.p, b: b.p, elements: 0..<10)
        #expect(out.array == zip(a.array, b.array).map { $0 + $1 })
        K.residualBackward(da: a.p, db: b.p, dout: out.p, elements: 0..<10, accumulate: false)
        #expect(a.array == out.array && b.array == out.array)
        K.residualBackward(da: a.p, db: b.p, dout: out.p, elements: 3..<10, accumulate: true)
        let twice = out.array.enumerated().map { $0.offset < 3 ? $0.element : 2 * $0.element }
        #expect(a.array == twice && b.array == twice)
    }

    @Test("fp32 GELU's rational tanh against libm's tanh in double, and GELU forward and backward against the formula")
    func rationalTanh() {
        var worstTanh = 0.0
        for step in -120_000...120_000 {
            let x = Float(step) * 1e-4
            let error = abs(Double(memplan_tanh_f32(x)) - Foundation.tanh(Double(x)))
            worstTanh = max(worstTanh, error / max(abs(Foundation.tanh(Double(x))), 1e-30))
        }
        #expect(worstTanh < 4e-7, "tanh: worst relative error \(worstTanh)")
        #expect(memplan_tanh_f32(.infinity) == 1 && memplan_tanh_f32(-.infinity) == -1)
        #expect(memplan_tanh_f32(.nan).isNaN)
        #expect(memplan_tanh_f32(0) == 0)

        let inputs = (-40_000...40_000).map { Float($0) * 2.5e-4 } + [.nan]
        var out = [Float](repeating: 0, count: inputs.count)
        var dinp = [Float](repeating: 0, count: inputs.count)
        let dout = [Float](repeating: 1, count: inputs.count)
        Float.gelu(&out, inputs, count: inputs.count)
        Float.geluBackward(&dinp, inputs, dout, count: inputs.count, accumulate: false)
        var worstForward = 0.0
        var worstBackward = 0.0
        let k = (2 / Double.pi).squareRoot()
        for (i, x32) in inputs.enumerated().dropLast() {
            let x = Double(x32)
            let t = Foundation.tanh(k * (x + 0.044715 * x * x * x))
            let forward = 0.5 * x * (1 + t)
            let backward = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
            // In units of max(1, |x|): where GELU nears 0 for negative x, ½·x·(1 + tanh u) cancels and any fp32 tanh
            // (libm's too) leaves an error of about |x|·ε.
            worstForward = max(worstForward, abs(Double(out[i]) - forward) / max(1, abs(x)))
            worstBackward = max(worstBackward, abs(Double(dinp[i]) - backward) / max(1, abs(x)))
        }
        #expect(worstForward < 1e-6, "GELU forward: worst error \(worstForward)")
        #expect(worstBackward < 1e-6, "GELU backward: worst error \(worstBackward)")
        #expect(out.last!.isNaN && dinp.last!.isNaN)
    }
}
