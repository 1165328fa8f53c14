// Attention and the norms on bf16 storage: the per-head products through the bf16 epilogue GEMM, the softmax and the
// norms' statistics in fp32. Formulas as `TransformerKernels`' attention and norms; the saved statistics (μ, 1/σ) are
// stored in bf16 and both passes use the stored values, so the backward is the derivative of what the forward computed.

extension MixedKernels {
    // MARK: - Attention

    /// Causal self-attention for the (b, h) pairs in `pairs`: the scores scale·q·kᵀ into att (bf16), the causal softmax
    /// over each row in fp32 in place, out = att·v. Split: by (b, h) pairs.
    static func attentionForward(
        out: Pointer,  // (B, T, C)
        att: Pointer,  // (B, NH, T, T)
        qkv: Source,  // (B, T, R)
        sequenceLength n: Int, heads: Int, kvHeads: Int, headSize: Int, pairs: Range<Int>, work: UnsafeMutablePointer<Float>
    ) {
        let layout = AttentionLayout(sequenceLength: n, heads: heads, kvHeads: kvHeads, headSize: headSize)
        let (width, scale) = (layout.width, layout.scale(Float.self))
        for pair in pairs {
            let (b, h) = (pair / heads, pair % heads)
            let (q, k, v) = layout.operands(qkv, batch: b, head: h)
            let a = att + layout.probabilities(b, head: h)
            product(transposeB: true, m: n, n: n, k: headSize, a: q, lda: width, b: k, ldb: width, c: a, ldc: n, scale: scale)
            for t in 0..<n {
                let row = a + t * n
                var largest = value(row[0])
                for t2 in 0...t {
                    work[t2] = value(row[t2])
                    largest = max(largest, work[t2])
                }
                var sum: Float = 0
                for t2 in 0...t {
                    work[t2] = Float.exp(work[t2] - largest)
                    sum += work[t2]
                }
                let inverse = 1 / sum
                for t2 in 0...t { row[t2] = bf16(work[t2] * inverse) }
                (row + t + 1).update(repeating: 0, count: n - t - 1)
            }
            product(
                m: n, n: headSize, k: n, a: a, lda: n, b: v, ldb: width, c: out + layout.output(b, head: h),
                ldc: layout.channels)
        }
    }

    /// Attention's backward for the (b, kv-head) groups in `groups` (overwrites dqkv's bytes of the group): per query
    /// head dP = dO·vᵀ, dS = P ⊙ (dP − rowsum(P ⊙ dP)) in fp32, dq = scale·dS·k, and dk, dv summed over the group's heads
    /// (the first head stores, the others add). `scratch`: T·T bf16 of this part. Split: by (b, kv-head) groups.
    static func attentionBackward(
        dqkv: Pointer,  // (B, T, R)
        scratch: Pointer,  // (T, T)
        dout: Source,  // (B, T, C)
        qkv: Source,  // (B, T, R)
        att: Source,  // (B, NH, T, T)
        sequenceLength n: Int, heads: Int, kvHeads: Int, headSize: Int, groups: Range<Int>
    ) {
        let layout = AttentionLayout(sequenceLength: n, heads: heads, kvHeads: kvHeads, headSize: headSize)
        let (width, channels, group, scale) = (layout.width, layout.channels, layout.group, layout.scale(Float.self))
        for unit in groups {
            let (b, g) = (unit / kvHeads, unit % kvHeads)
            let (k, dk) = (qkv + layout.key(b, kvHead: g), dqkv + layout.key(b, kvHead: g))
            let (v, dv) = (qkv + layout.value(b, kvHead: g), dqkv + layout.value(b, kvHead: g))
            for h in (g * group)..<((g + 1) * group) {
                let adding = h != g * group
                let q = qkv + layout.query(b, head: h)
                let p = att + layout.probabilities(b, head: h)
                let dO = dout + layout.output(b, head: h)
                product(transposeB: true, m: n, n: n, k: headSize, a: dO, lda: channels, b: v, ldb: width, c: scratch, ldc: n)
                product(
                    transposeA: true, m: n, n: headSize, k: n, a: p, lda: n, b: dO, ldb: channels, c: dv, ldc: width,
                    adding: adding)
                for t in 0..<n {
                    let (row, probabilities) = (scratch + t * n, p + t * n)
                    var dot: Float = 0
                    for t2 in 0...t { dot += value(probabilities[t2]) * value(row[t2]) }
                    for t2 in 0...t { row[t2] = bf16(value(probabilities[t2]) * (value(row[t2]) - dot)) }
                    (row + t + 1).update(repeating: 0, count: n - t - 1)
                }
                product(
                    m: n, n: headSize, k: n, a: scratch, lda: n, b: k, ldb: width, c: dqkv + layout.query(b, head: h), ldc: width,
                    scale: scale)
                product(
                    transposeA: true, m: n, n: headSize, k: n, a: scratch, lda: n, b: q, ldb: width, c: dk, ldc: width,
                    scale: scale, adding: adding)
            }
        }
    }

    // MARK: - Norms

    /// LayerNorm (`mean` and `shift` given) or RMSNorm of each row in `rows`: statistics in fp32, stored in bf16, and
    /// out = bf16(n·w + b) with n = (x − μ)·s from the stored μ and s. Split: by rows.
    static func normForward(
        out: Pointer, mean: Pointer?, rstd: Pointer, inp: Source, weight: Source, shift: Source?, channels: Int,
        rows: Range<Int>, epsilon: Float = 1e-5
    ) {
        let count = Float(channels)
        for r in rows {
            let x = inp + r * channels
            var m: Float = 0
            if let mean {
                for i in 0..<channels { m += value(x[i]) }
                mean[r] = bf16(m / count)
                m = value(mean[r])
            }
            var squares: Float = 0
            for i in 0..<channels {
                let shifted = value(x[i]) - m
                squares += shifted * shifted
            }
            rstd[r] = bf16(1 / (squares / count + epsilon).squareRoot())
            let s = value(rstd[r])
            let o = out + r * channels
            for i in 0..<channels {
                let normalized = (value(x[i]) - m) * s * value(weight[i])
                o[i] = bf16(shift.map { normalized + value($0[i]) } ?? normalized)
            }
        }
    }

    /// A norm's input gradient into dinp (the residual stream's gradient; added when `accumulate`): with n = (x − μ)·s
    /// and g = w ⊙ dout, dinp (+)= s·(g − mean(g) − n·mean(g ⊙ n)) for LayerNorm, s·(g − n·mean(g ⊙ n)) for RMSNorm
    /// (μ = 0). Split: by rows.
    static func normBackwardInput(
        dinp: Pointer, dout: Source, inp: Source, weight: Source, mean: Source?, rstd: Source, channels: Int,
        rows: Range<Int>, accumulate: Bool
    ) {
        let count = Float(channels)
        for r in rows {
            let (x, d, dx) = (inp + r * channels, dout + r * channels, dinp + r * channels)
            let (m, s) = (mean.map { value($0[r]) } ?? 0, value(rstd[r]))
            var (gMean, gnMean): (Float, Float) = (0, 0)
            for i in 0..<channels {
                let gradient = value(weight[i]) * value(d[i])
                gMean += gradient
                gnMean += gradient * (value(x[i]) - m) * s
            }
            gMean = mean == nil ? 0 : gMean / count
            gnMean /= count
            for i in 0..<channels {
                let gradient = value(weight[i]) * value(d[i])
                let local = (gradient - gMean - (value(x[i]) - m) * s * gnMean) * s
                dx[i] = bf16(accumulate ? value(dx[i]) + local : local)
            }
        }
    }

    /// A norm's parameter gradients for the channels in `columns` (overwrites): dw[c] = Σ_r n[r, c]·dout[r, c],
    /// dshift[c] = Σ_r dout[r, c] (LayerNorm), summed in fp32 in `work` (2·|columns| floats). Split: by columns.
    static func normBackwardParameters(
        dweight: Pointer, dshift: Pointer?, dout: Source, inp: Source, mean: Source?, rstd: Source, channels: Int,
        rowCount: Int, columns: Range<Int>, work: UnsafeMutablePointer<Float>
    ) {
        guard !columns.isEmpty else { return }
        let (weightSums, shiftSums) = (work, work + columns.count)
        work.update(repeating: 0, count: 2 * columns.count)
        for r in 0..<rowCount {
            let x = inp + r * channels + columns.lowerBound
            let d = dout + r * channels + columns.lowerBound
            let (m, s) = (mean.map { value($0[r]) } ?? 0, value(rstd[r]))
            for j in 0..<columns.count {
                let dj = value(d[j])
                weightSums[j] += (value(x[j]) - m) * s * dj
                shiftSums[j] += dj
            }
        }
        for j in 0..<columns.count {
            dweight[columns.lowerBound + j] = bf16(weightSums[j])
            dshift?[columns.lowerBound + j] = bf16(shiftSums[j])
        }
    }
}
