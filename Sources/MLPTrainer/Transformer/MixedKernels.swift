// The transformer's layers on bf16 storage (the bf16-mixed recipe): every tensor of the step holds bf16 patterns
// (`UInt16`), every kernel computes in fp32 and rounds once where it stores. Products go through CGEMM's bf16 epilogue
// GEMM (AMX tiles where the CPU has them, else the same values multiplied in fp32), each summed in fp32 over its whole
// k; sums over rows (parameter gradients, norm statistics) run in fp32 accumulators, in `work` where they span a row.
// Legend and split rules as `TransformerKernels` (same shapes, same splits); `work` is per part, `workCount` floats.

import CGEMM
import Foundation

/// Namespace for the bf16-storage transformer kernels.
enum MixedKernels {
    typealias Pointer = UnsafeMutablePointer<UInt16>
    typealias Source = UnsafePointer<UInt16>

    /// Floats of each part's fp32 work area: an embedding block (64 × 64), two rows of the widest tensor, or attention's
    /// T scores of a row.
    static func workCount(widest: Int) -> Int { max(64 * 64, 3 * widest) }

    @inline(__always) static func value(_ bits: UInt16) -> Float { memplan_bf16_value(bits) }
    @inline(__always) static func bf16(_ value: Float) -> UInt16 { memplan_bf16_narrow(value) }

    // MARK: - Products

    /// c (m, n) = bf16(scale·op(a)·op(b) + bias) (`adding` false), or c = bf16(c + scale·op(a)·op(b) + bias); bias (n)
    /// may be nil. Returns whether AMX ran it.
    @discardableResult @inline(__always)
    static func product(
        transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, a: Source, lda: Int, b: Source, ldb: Int,
        c: Pointer, ldc: Int, scale: Float = 1, bias: Source? = nil, adding: Bool = false
    ) -> Bool {
        var epilogue = memplan_bf16_epilogue()
        epilogue.kind = Int32(
            adding ? MEMPLAN_EPILOGUE_ADD : bias != nil ? MEMPLAN_EPILOGUE_BIAS_ACTIVATION : MEMPLAN_EPILOGUE_STORE)
        precondition(adding || bias == nil || scale == 1, "MixedKernels.product: a scaled product with a bias")
        epilogue.activation = Int32(MEMPLAN_ACTIVATION_IDENTITY)
        epilogue.scale = scale
        epilogue.bias = bias
        epilogue.output = c
        epilogue.outputStride = ldc
        return memplan_gemm_bf16_epilogue(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), &epilogue)
            != 0
    }

    /// out = inp · Wᵀ + bias for the rows in `rows`; with `residual`, out = residual + inp · Wᵀ + bias (the projections
    /// that close a residual branch). Split: by rows.
    static func linearForward(
        out: Pointer,  // (B·T, OC)
        inp: Source,  // (B·T, C)
        weight: Source,  // (OC, C)
        bias: Source?,  // (OC), or nil
        residual: Source?,  // (B·T, OC), or nil
        inputChannels: Int, outputChannels: Int, rows: Range<Int>
    ) {
        guard !rows.isEmpty, outputChannels > 0 else { return }
        let o = out + rows.lowerBound * outputChannels
        if let residual { o.update(from: residual + rows.lowerBound * outputChannels, count: rows.count * outputChannels) }
        product(
            transposeB: true, m: rows.count, n: outputChannels, k: inputChannels, a: inp + rows.lowerBound * inputChannels,
            lda: inputChannels, b: weight, ldb: inputChannels, c: o, ldc: outputChannels, bias: bias, adding: residual != nil)
    }

    /// dinp = dout · W for the rows in `rows` (overwrites). Split: by rows.
    static func linearBackwardInput(
        dinp: Pointer,  // (B·T, C)
        dout: Source,  // (B·T, OC)
        weight: Source,  // (OC, C)
        inputChannels: Int, outputChannels: Int, rows: Range<Int>
    ) {
        guard !rows.isEmpty, inputChannels > 0 else { return }
        product(
            m: rows.count, n: inputChannels, k: outputChannels, a: dout + rows.lowerBound * outputChannels, lda: outputChannels,
            b: weight, ldb: inputChannels, c: dinp + rows.lowerBound * inputChannels, ldc: inputChannels)
    }

    /// dW[o, :] = Σ_r dout[r, o]·inp[r, :] and dbias[o] = Σ_r dout[r, o] for the output channels in `outputs`
    /// (overwrites; the bias sums in fp32 in `work`). Split: by output channels.
    static func linearBackwardWeight(
        dweight: Pointer,  // (OC, C)
        dbias: Pointer?,  // (OC), or nil
        dout: Source,  // (B·T, OC)
        inp: Source,  // (B·T, C)
        inputChannels: Int, outputChannels: Int, rowCount: Int, outputs: Range<Int>, work: UnsafeMutablePointer<Float>
    ) {
        guard !outputs.isEmpty else { return }
        product(
            transposeA: true, m: outputs.count, n: inputChannels, k: rowCount, a: dout + outputs.lowerBound,
            lda: outputChannels, b: inp, ldb: inputChannels, c: dweight + outputs.lowerBound * inputChannels,
            ldc: inputChannels)
        if let dbias {
            let sums = work
            sums.update(repeating: 0, count: outputs.count)
            for r in 0..<rowCount {
                let d = dout + r * outputChannels + outputs.lowerBound
                for o in 0..<outputs.count { sums[o] += value(d[o]) }
            }
            for o in 0..<outputs.count { dbias[outputs.lowerBound + o] = bf16(sums[o]) }
        }
    }

    // MARK: - Elementwise

    /// GELU (tanh approximation) over `elements`, through the fp32 kernel in chunks of `chunk` floats (`work` holds
    /// three chunks: `workCount / 3`).
    static func geluForward(out: Pointer, inp: Source, elements: Range<Int>, work: UnsafeMutablePointer<Float>, chunk: Int) {
        var start = elements.lowerBound
        while start < elements.upperBound {
            let count = min(chunk, elements.upperBound - start)
            memplan_bf16_widen(inp + start, work, count)
            memplan_gelu_forward_f32(work + chunk, work, count)
            memplan_bf16_round(work + chunk, out + start, count)
            start += count
        }
    }

    /// GELU's backward, dinp = dout·gelu′(inp) (overwrites), in chunks as `geluForward`.
    static func geluBackward(
        dinp: Pointer, inp: Source, dout: Source, elements: Range<Int>, work: UnsafeMutablePointer<Float>, chunk: Int
    ) {
        var start = elements.lowerBound
        while start < elements.upperBound {
            let count = min(chunk, elements.upperBound - start)
            let (x, d, result) = (work, work + chunk, work + 2 * chunk)
            memplan_bf16_widen(inp + start, x, count)
            memplan_bf16_widen(dout + start, d, count)
            memplan_gelu_backward_f32(result, x, d, count, 0)
            memplan_bf16_round(result, dinp + start, count)
            start += count
        }
    }

    /// SwiGLU: out[r, j] = silu(gate)·up, rows `rows`. Split: by rows.
    static func swiGLUForward(out: Pointer, inp: Source, hidden: Int, rows: Range<Int>) {
        for r in rows {
            let (gate, o) = (inp + r * 2 * hidden, out + r * hidden)
            for j in 0..<hidden {
                let g = value(gate[j])
                o[j] = bf16(g * Kernels.sigmoid(g) * value(gate[hidden + j]))
            }
        }
    }

    /// SwiGLU's backward into [d gate | d up] (overwrites). Split: by rows.
    static func swiGLUBackward(dinp: Pointer, inp: Source, dout: Source, hidden: Int, rows: Range<Int>) {
        for r in rows {
            let (gate, dGate, d) = (inp + r * 2 * hidden, dinp + r * 2 * hidden, dout + r * hidden)
            for j in 0..<hidden {
                let (g, u, dj) = (value(gate[j]), value(gate[hidden + j]), value(d[j]))
                let s = Kernels.sigmoid(g)
                dGate[j] = bf16(dj * u * s * (1 + g * (1 - s)))
                dGate[hidden + j] = bf16(dj * g * s)
            }
        }
    }

    /// Rotates q and k heads of each row by sign·θ (`TransformerKernels.rotate`), in fp32. Split: by rows.
    static func rotate(
        _ data: Pointer, table: Source, sign: Float, sequenceLength: Int, heads: Int, kvHeads: Int, headSize: Int,
        rows: Range<Int>
    ) {
        precondition(headSize % 2 == 0, "rotary: head size \(headSize) is odd")
        let half = headSize / 2
        let width = (heads + 2 * kvHeads) * headSize
        for r in rows {
            let cosines = table + (r % sequenceLength) * headSize
            for head in 0..<(heads + kvHeads) {
                let x = data + r * width + head * headSize
                for i in 0..<half {
                    let (x1, x2, c, s) = (value(x[i]), value(x[half + i]), value(cosines[i]), sign * value(cosines[half + i]))
                    x[i] = bf16(x1 * c - x2 * s)
                    x[half + i] = bf16(x2 * c + x1 * s)
                }
            }
        }
    }

    // MARK: - Embedding

    /// out[r, :] = bf16(wte[tok[r], :] + wpe[r mod T, :]) for r in `rows`. Split: by rows.
    static func embeddingForward(
        out: Pointer, tokens: UnsafePointer<Int32>, wte: Source, wpe: Source?, vocabulary: Int, sequenceLength: Int,
        channels: Int, rows: Range<Int>
    ) {
        for r in rows {
            let token = Int(tokens[r])
            precondition(token >= 0 && token < vocabulary, "embeddingForward: token \(token) is outside 0..<\(vocabulary)")
            let (o, e) = (out + r * channels, wte + token * channels)
            if let wpe {
                let p = wpe + (r % sequenceLength) * channels
                for c in 0..<channels { o[c] = bf16(value(e[c]) + value(p[c])) }
            } else {
                o.update(from: e, count: channels)
            }
        }
    }

    /// dwte[v, c] (+)= Σ_{r: tok[r] = v} dout[r, c] and dwpe[t, c] = Σ_{r mod T = t} dout[r, c] (0 for T ≤ t < maxT),
    /// for c in `columns`:
    /// each sum in fp32 (blocks of 64 tokens × 64 columns in `work`), added to dwte once (`addsToTable`: the tied head's
    /// share is there; else dwte's columns are overwritten, 0 for tokens absent). Split: by columns.
    static func embeddingBackward(
        dwte: Pointer, dwpe: Pointer?, dout: Source, tokens: UnsafePointer<Int32>, paddedVocabulary: Int,
        sequenceLength: Int, contextLength: Int, channels: Int, rowCount: Int, columns: Range<Int>, addsToTable: Bool,
        work: UnsafeMutablePointer<Float>
    ) {
        var c0 = columns.lowerBound
        while c0 < columns.upperBound {
            let width = min(64, columns.upperBound - c0)
            var v0 = 0
            while v0 < paddedVocabulary {
                let height = min(64, paddedVocabulary - v0)
                work.update(repeating: 0, count: 64 * 64)
                for r in 0..<rowCount {
                    let v = Int(tokens[r]) - v0
                    guard v >= 0 && v < height else { continue }
                    let (d, sums) = (dout + r * channels + c0, work + v * 64)
                    for j in 0..<width { sums[j] += value(d[j]) }
                }
                for v in 0..<height {
                    let (row, sums) = (dwte + (v0 + v) * channels + c0, work + v * 64)
                    for j in 0..<width { row[j] = bf16(addsToTable ? value(row[j]) + sums[j] : sums[j]) }
                }
                v0 += height
            }
            c0 += width
        }
        guard let dwpe, !columns.isEmpty else { return }
        let sums = work
        for t in 0..<sequenceLength {
            sums.update(repeating: 0, count: columns.count)
            var r = t
            while r < rowCount {
                let d = dout + r * channels + columns.lowerBound
                for j in 0..<columns.count { sums[j] += value(d[j]) }
                r += sequenceLength
            }
            for j in 0..<columns.count { dwpe[t * channels + columns.lowerBound + j] = bf16(sums[j]) }
        }
        for t in sequenceLength..<max(sequenceLength, contextLength) {
            (dwpe + t * channels + columns.lowerBound).update(repeating: 0, count: columns.count)
        }
    }

    // MARK: - Loss

    /// Softmax cross-entropy over the first V of each row's Vp bf16 logits, in fp32: losses[r] = bf16(log Σ exp(z − m)
    /// + m − z[target]); with a gradient scale s the logits become bf16((p − 1[target])·s), 0 past V. Split: by rows.
    static func softmaxCrossEntropy(
        logits: Pointer, losses: Pointer, targets: UnsafePointer<Int32>, vocabulary: Int, paddedVocabulary: Int,
        rows: Range<Int>, gradientScale: Float?
    ) {
        for r in rows {
            let z = logits + r * paddedVocabulary
            let target = Int(targets[r])
            precondition(target >= 0 && target < vocabulary, "softmaxCrossEntropy: target \(target) is outside 0..<\(vocabulary)")
            var largest = value(z[0])
            for i in 1..<max(vocabulary, 1) { largest = max(largest, value(z[i])) }
            let targetLogit = value(z[target])
            var sum: Float = 0
            for i in 0..<vocabulary { sum += Foundation.exp(value(z[i]) - largest) }
            if let scale = gradientScale {
                let inverse = scale / sum
                for i in 0..<vocabulary {
                    let p = Foundation.exp(value(z[i]) - largest) * inverse
                    z[i] = bf16(i == target ? p - scale : p)
                }
                for i in vocabulary..<paddedVocabulary { z[i] = 0 }
            }
            losses[r] = bf16(Foundation.log(sum) + largest - targetLogit)
        }
    }
}
