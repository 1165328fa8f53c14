// LayerNorm (GPT-2) and RMSNorm (Llama), forward and backward. The backward is two kernels: the input gradient,
// split by rows, and the parameter gradients, which sum over rows and are split by channels instead.

extension TransformerKernels {
    // MARK: - LayerNorm and RMSNorm

    // One set of kernels for both norms: RMSNorm is LayerNorm without the mean and the shift (μ = 0, no b). With μ = +0
    // every expression below is RMSNorm's bit for bit: x − 0 is x, and g − 0 is g.

    /// LayerNorm (`mean` and `bias` given; llm.c's `layernorm_forward`) or RMSNorm (neither; Llama) over each row's C
    /// channels: μ = Σx/C (0 for RMSNorm), σ² = Σ(x − μ)²/C (biased), s = 1/√(σ² + ε), out = (x − μ)·s·w (+ b); saves
    /// μ and s for the backward.
    ///
    /// Split: by rows.
    static func normForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B·T, C)
        mean: UnsafeMutablePointer<T>? = nil,  // (B·T), LayerNorm only
        rstd: UnsafeMutablePointer<T>,  // (B·T)
        inp: UnsafePointer<T>,  // (B·T, C)
        weight: UnsafePointer<T>,  // (C)
        bias: UnsafePointer<T>? = nil,  // (C), LayerNorm only
        channels: Int, rows: Range<Int>, epsilon: T = 1e-5
    ) {
        let count = T(channels)
        for r in rows {
            let x = inp + r * channels
            var m: T = 0
            if let mean {
                for i in 0..<channels { m += x[i] }
                m /= count
                mean[r] = m
            }
            var v: T = 0
            for i in 0..<channels {
                let shifted = x[i] - m
                v += shifted * shifted
            }
            v /= count
            let s = 1 / (v + epsilon).squareRoot()
            let o = out + r * channels
            if let bias {
                for i in 0..<channels { o[i] = (x[i] - m) * s * weight[i] + bias[i] }
            } else {
                for i in 0..<channels { o[i] = (x[i] - m) * s * weight[i] }
            }
            rstd[r] = s
        }
    }

    /// A norm's input gradient, llm.c's formula: with n = (x − μ)·s and g = w ⊙ dout,
    /// dinp (+)= s·(g − mean(g) − n·mean(g ⊙ n)) for LayerNorm, s·(g − n·mean(g ⊙ n)) for RMSNorm (`mean` nil: μ = 0
    /// and no mean(g) term), means over the row's C channels.
    ///
    /// Split: by rows.
    static func normBackwardInput<T: TrainingScalar>(
        dinp: UnsafeMutablePointer<T>,  // (B·T, C)
        dout: UnsafePointer<T>,  // (B·T, C)
        inp: UnsafePointer<T>,  // (B·T, C)
        weight: UnsafePointer<T>,  // (C)
        mean: UnsafePointer<T>? = nil,  // (B·T), LayerNorm only
        rstd: UnsafePointer<T>,  // (B·T)
        channels: Int, rows: Range<Int>, accumulate: Bool
    ) {
        let count = T(channels)
        for r in rows {
            let x = inp + r * channels
            let d = dout + r * channels
            let m = mean?[r] ?? 0
            let s = rstd[r]
            var gMean: T = 0
            var gnMean: T = 0
            for i in 0..<channels {
                let g = weight[i] * d[i]
                gMean += g
                gnMean += g * (x[i] - m) * s
            }
            gMean = mean == nil ? 0 : gMean / count
            gnMean /= count
            let dx = dinp + r * channels
            for i in 0..<channels {
                let value = (weight[i] * d[i] - gMean - (x[i] - m) * s * gnMean) * s
                dx[i] = accumulate ? dx[i] + value : value
            }
        }
    }

    /// A norm's parameter gradients over all rows, for the channels in `columns`: dweight[c] (+)= Σ_r n[r, c]·dout[r, c]
    /// with n = (x − μ)·s (μ = 0 for RMSNorm, `mean` nil), and dbias[c] (+)= Σ_r dout[r, c] (dbias nil: skipped).
    ///
    /// Split: by columns, never by rows (every row adds into every channel). Bit-identical under any column split.
    static func normBackwardParameters<T: TrainingScalar>(
        dweight: UnsafeMutablePointer<T>,  // (C)
        dbias: UnsafeMutablePointer<T>? = nil,  // (C), or nil
        dout: UnsafePointer<T>,  // (B·T, C)
        inp: UnsafePointer<T>,  // (B·T, C)
        mean: UnsafePointer<T>? = nil,  // (B·T), LayerNorm only
        rstd: UnsafePointer<T>,  // (B·T)
        channels: Int, rowCount: Int, columns: Range<Int>, accumulate: Bool
    ) {
        if !accumulate {
            for c in columns { dweight[c] = 0 }
            if let dbias { for c in columns { dbias[c] = 0 } }
        }
        for r in 0..<rowCount {
            let x = inp + r * channels
            let d = dout + r * channels
            let m = mean?[r] ?? 0
            let s = rstd[r]
            for c in columns { dweight[c] += (x[c] - m) * s * d[c] }
            if let dbias { for c in columns { dbias[c] += d[c] } }
        }
    }
}
