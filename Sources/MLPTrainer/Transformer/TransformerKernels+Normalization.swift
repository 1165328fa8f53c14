// LayerNorm (GPT-2) and RMSNorm (Llama), forward and backward. The backward is two kernels: the input gradient,
// split by rows, and the parameter gradients, which sum over rows and are split by channels instead.

extension TransformerKernels {
    // MARK: - LayerNorm

    /// LayerNorm over each row's C channels, llm.c's `layernorm_forward`:
    /// μ = Σx/C, σ² = Σ(x − μ)²/C (biased), s = 1/√(σ² + ε), out = (x − μ)·s·w + b; saves μ and s for the backward.
    ///
    /// Split: by rows.
    static func layerNormForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B·T, C)
        mean: UnsafeMutablePointer<T>,  // (B·T)
        rstd: UnsafeMutablePointer<T>,  // (B·T)
        inp: UnsafePointer<T>,  // (B·T, C)
        weight: UnsafePointer<T>,  // (C)
        bias: UnsafePointer<T>,  // (C)
        channels: Int, rows: Range<Int>, epsilon: T = 1e-5
    ) {
        let count = T(channels)
        for r in rows {
            let x = inp + r * channels
            var m: T = 0
            for i in 0..<channels { m += x[i] }
            m /= count
            var v: T = 0
            for i in 0..<channels {
                let shifted = x[i] - m
                v += shifted * shifted
            }
            v /= count
            let s = 1 / (v + epsilon).squareRoot()
            let o = out + r * channels
            for i in 0..<channels { o[i] = (x[i] - m) * s * weight[i] + bias[i] }
            mean[r] = m
            rstd[r] = s
        }
    }

    /// LayerNorm's input gradient, llm.c's formula: with n = (x − μ)·s and g = w ⊙ dout,
    /// dinp (+)= s·(g − mean(g) − n·mean(g ⊙ n)), means over the row's C channels.
    ///
    /// Split: by rows.
    static func layerNormBackwardInput<T: TrainingScalar>(
        dinp: UnsafeMutablePointer<T>,  // (B·T, C)
        dout: UnsafePointer<T>,  // (B·T, C)
        inp: UnsafePointer<T>,  // (B·T, C)
        weight: UnsafePointer<T>,  // (C)
        mean: UnsafePointer<T>,  // (B·T)
        rstd: UnsafePointer<T>,  // (B·T)
        channels: Int, rows: Range<Int>, accumulate: Bool
    ) {
        let count = T(channels)
        for r in rows {
            let x = inp + r * channels
            let d = dout + r * channels
            let m = mean[r]
            let s = rstd[r]
            var gMean: T = 0
            var gnMean: T = 0
            for i in 0..<channels {
                let g = weight[i] * d[i]
                gMean += g
                gnMean += g * (x[i] - m) * s
            }
            gMean /= count
            gnMean /= count
            let dx = dinp + r * channels
            for i in 0..<channels {
                let value = (weight[i] * d[i] - gMean - (x[i] - m) * s * gnMean) * s
                dx[i] = accumulate ? dx[i] + value : value
            }
        }
    }

    /// LayerNorm's parameter gradients over all rows, for the channels in `columns`:
    /// dweight[c] (+)= Σ_r n[r, c]·dout[r, c] with n = (x − μ)·s, and dbias[c] (+)= Σ_r dout[r, c] (dbias nil: skipped).
    ///
    /// Split: by columns, never by rows (every row adds into every channel). Bit-identical under any column split.
    static func layerNormBackwardParameters<T: TrainingScalar>(
        dweight: UnsafeMutablePointer<T>,  // (C)
        dbias: UnsafeMutablePointer<T>?,  // (C), or nil
        dout: UnsafePointer<T>,  // (B·T, C)
        inp: UnsafePointer<T>,  // (B·T, C)
        mean: UnsafePointer<T>,  // (B·T)
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
            let m = mean[r]
            let s = rstd[r]
            for c in columns { dweight[c] += (x[c] - m) * s * d[c] }
            if let dbias { for c in columns { dbias[c] += d[c] } }
        }
    }

    // MARK: - RMSNorm

    /// RMSNorm over each row's C channels (Llama): s = 1/√(Σx²/C + ε), out = x·s·w; saves s for the backward.
    ///
    /// Split: by rows.
    static func rmsNormForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B·T, C)
        rstd: UnsafeMutablePointer<T>,  // (B·T)
        inp: UnsafePointer<T>,  // (B·T, C)
        weight: UnsafePointer<T>,  // (C)
        channels: Int, rows: Range<Int>, epsilon: T = 1e-5
    ) {
        let count = T(channels)
        for r in rows {
            let x = inp + r * channels
            var squares: T = 0
            for i in 0..<channels { squares += x[i] * x[i] }
            let s = 1 / (squares / count + epsilon).squareRoot()
            let o = out + r * channels
            for i in 0..<channels { o[i] = x[i] * s * weight[i] }
            rstd[r] = s
        }
    }

    /// RMSNorm's input gradient: with n = x·s and g = w ⊙ dout, dinp (+)= s·(g − n·mean(g ⊙ n)), the mean over C.
    ///
    /// Split: by rows.
    static func rmsNormBackwardInput<T: TrainingScalar>(
        dinp: UnsafeMutablePointer<T>,  // (B·T, C)
        dout: UnsafePointer<T>,  // (B·T, C)
        inp: UnsafePointer<T>,  // (B·T, C)
        weight: UnsafePointer<T>,  // (C)
        rstd: UnsafePointer<T>,  // (B·T)
        channels: Int, rows: Range<Int>, accumulate: Bool
    ) {
        let count = T(channels)
        for r in rows {
            let x = inp + r * channels
            let d = dout + r * channels
            let s = rstd[r]
            var gnMean: T = 0
            for i in 0..<channels { gnMean += weight[i] * d[i] * x[i] * s }
            gnMean /= count
            let dx = dinp + r * channels
            for i in 0..<channels {
                let value = (weight[i] * d[i] - x[i] * s * gnMean) * s
                dx[i] = accumulate ? dx[i] + value : value
            }
        }
    }

    /// RMSNorm's weight gradient over all rows, for the channels in `columns`: dweight[c] (+)= Σ_r x[r, c]·s[r]·dout[r, c].
    ///
    /// Split: by columns, never by rows. Bit-identical under any column split.
    static func rmsNormBackwardWeight<T: TrainingScalar>(
        dweight: UnsafeMutablePointer<T>,  // (C)
        dout: UnsafePointer<T>,  // (B·T, C)
        inp: UnsafePointer<T>,  // (B·T, C)
        rstd: UnsafePointer<T>,  // (B·T)
        channels: Int, rowCount: Int, columns: Range<Int>, accumulate: Bool
    ) {
        if !accumulate { for c in columns { dweight[c] = 0 } }
        for r in 0..<rowCount {
            let x = inp + r * channels
            let d = dout + r * channels
            let s = rstd[r]
            for c in columns { dweight[c] += x[c] * s * d[c] }
        }
    }
}
