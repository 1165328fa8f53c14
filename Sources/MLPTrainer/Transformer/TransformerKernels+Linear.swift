// The linear layer (every projection of a transformer) and the MLP block's activations: GELU (GPT-2) and
// SwiGLU (Llama). Products go through `TrainingScalar.gemm` (memplan's own kernels where they take the product,
// else BLAS); the activations are plain loops.

extension TransformerKernels {
    // MARK: - Linear

    /// The linear layer, llm.c's `matmul_forward`, for the rows in `rows`.
    ///
    /// out = inp · Wᵀ + bias (bias nil: out = inp · Wᵀ). One GEMM: out starts from the bias and the product accumulates onto it (β = 1), or overwrites it (β = 0).
    ///
    /// Split: by rows (a row range is a smaller m of the same product).
    static func linearForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B·T, OC)
        inp: UnsafePointer<T>,  // (B·T, C)
        weight: UnsafePointer<T>,  // (OC, C)
        bias: UnsafePointer<T>?,  // (OC), or nil
        inputChannels: Int, outputChannels: Int, rows: Range<Int>
    ) {
        guard !rows.isEmpty, outputChannels > 0 else { return }
        let o = out + rows.lowerBound * outputChannels
        if let bias {
            for r in 0..<rows.count { (o + r * outputChannels).update(from: bias, count: outputChannels) }
        }
        guard inputChannels > 0 else {
            if bias == nil { o.update(repeating: 0, count: rows.count * outputChannels) }
            return
        }
        T.gemm(
            transposeA: false, transposeB: true, m: rows.count, n: outputChannels, k: inputChannels,
            alpha: 1, a: inp + rows.lowerBound * inputChannels, lda: inputChannels, b: weight, ldb: inputChannels,
            beta: bias == nil ? 0 : 1, c: o, ldc: outputChannels)
    }

    /// The linear layer's input gradient, dinp (+)= dout · W, for the rows in `rows`.
    ///
    /// Split: by rows.
    static func linearBackwardInput<T: TrainingScalar>(
        dinp: UnsafeMutablePointer<T>,  // (B·T, C)
        dout: UnsafePointer<T>,  // (B·T, OC)
        weight: UnsafePointer<T>,  // (OC, C)
        inputChannels: Int, outputChannels: Int, rows: Range<Int>, accumulate: Bool
    ) {
        guard !rows.isEmpty, inputChannels > 0 else { return }
        let d = dinp + rows.lowerBound * inputChannels
        guard outputChannels > 0 else {
            if !accumulate { d.update(repeating: 0, count: rows.count * inputChannels) }
            return
        }
        T.gemm(
            transposeA: false, transposeB: false, m: rows.count, n: inputChannels, k: outputChannels,
            alpha: 1, a: dout + rows.lowerBound * outputChannels, lda: outputChannels, b: weight, ldb: inputChannels,
            beta: accumulate ? 1 : 0, c: d, ldc: inputChannels)
    }

    /// The linear layer's parameter gradients over all rows, for the output channels in `outputs`:
    /// dW[o, :] (+)= Σ_r dout[r, o]·inp[r, :] (dW (+)= doutᵀ · inp) and dbias[o] (+)= Σ_r dout[r, o] (dbias nil: skipped).
    ///
    /// Split: by output channels (rows of dW), never by the rows of dout: every row adds into every element.
    static func linearBackwardWeight<T: TrainingScalar>(
        dweight: UnsafeMutablePointer<T>,  // (OC, C)
        dbias: UnsafeMutablePointer<T>?,  // (OC), or nil
        dout: UnsafePointer<T>,  // (B·T, OC)
        inp: UnsafePointer<T>,  // (B·T, C)
        inputChannels: Int, outputChannels: Int, rowCount: Int, outputs: Range<Int>, accumulate: Bool
    ) {
        guard !outputs.isEmpty else { return }
        let dw = dweight + outputs.lowerBound * inputChannels
        if !accumulate {
            if let dbias { for o in outputs { dbias[o] = 0 } }
            if rowCount == 0 { dw.update(repeating: 0, count: outputs.count * inputChannels) }
        }
        guard rowCount > 0 else { return }
        if inputChannels > 0 {
            T.gemm(
                transposeA: true, transposeB: false, m: outputs.count, n: inputChannels, k: rowCount,
                alpha: 1, a: dout + outputs.lowerBound, lda: outputChannels, b: inp, ldb: inputChannels,
                beta: accumulate ? 1 : 0, c: dw, ldc: inputChannels)
        }
        if let dbias {
            for r in 0..<rowCount {
                let d = dout + r * outputChannels
                for o in outputs { dbias[o] += d[o] }
            }
        }
    }

    // MARK: - GELU

    /// GELU, the tanh approximation of GPT-2 and llm.c: out = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
    /// for i in `elements` (rows r0..<r1 of width 4C are r0·4C..<r1·4C). fp32 takes tanh from a vectorised rational
    /// function within 3e-7 of libm's (`memplan_gelu_forward_f32`); fp64 takes libm's tanh.
    ///
    /// Split: by elements.
    @inline(__always)
    static func geluForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B·T, 4C)
        inp: UnsafePointer<T>,  // (B·T, 4C)
        elements: Range<Int>
    ) {
        guard !elements.isEmpty else { return }
        T.gelu(out + elements.lowerBound, inp + elements.lowerBound, count: elements.count)
    }

    /// GELU's backward: with u = √(2/π)·(x + 0.044715·x³),
    /// dinp (+)= dout·(½(1 + tanh u) + ½·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)).
    /// (llm.c writes sech² u as 1/cosh² u; 1 − tanh² u is the same number without overflow for large |u|.)
    ///
    /// Split: by elements.
    @inline(__always)
    static func geluBackward<T: TrainingScalar>(
        dinp: UnsafeMutablePointer<T>,  // (B·T, 4C)
        inp: UnsafePointer<T>,  // (B·T, 4C)
        dout: UnsafePointer<T>,  // (B·T, 4C)
        elements: Range<Int>, accumulate: Bool
    ) {
        guard !elements.isEmpty else { return }
        let (lo, count) = (elements.lowerBound, elements.count)
        T.geluBackward(dinp + lo, inp + lo, dout + lo, count: count, accumulate: accumulate)
    }

    // MARK: - SwiGLU

    /// SwiGLU, Llama's MLP gate: out = silu(gate) ⊙ up, for the rows in `rows`.
    ///
    /// out[r, j] = silu(g)·u with g = inp[r, j] (the gate) and u = inp[r, I + j] (the up projection),
    /// silu(g) = g·σ(g). Each input row is [gate (I) | up (I)]: what one linear layer with the weights
    /// stacked as [W_gate; W_up] (2I, C) produces, so both projections are one GEMM.
    ///
    /// Split: by rows.
    @inline(__always)
    static func swiGLUForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B·T, I)
        inp: UnsafePointer<T>,  // (B·T, 2I): [gate | up]
        hidden: Int, rows: Range<Int>
    ) {
        for r in rows {
            let gate = inp + r * 2 * hidden
            let up = gate + hidden
            let o = out + r * hidden
            for j in 0..<hidden {
                let g = gate[j]
                o[j] = g * Kernels.sigmoid(g) * up[j]
            }
        }
    }

    /// SwiGLU's backward: with σ = σ(g), d gate (+)= dout·u·σ·(1 + g·(1 − σ)) (silu′) and d up (+)= dout·g·σ,
    /// into the matching halves of dinp's row [d gate (I) | d up (I)].
    ///
    /// Split: by rows.
    @inline(__always)
    static func swiGLUBackward<T: TrainingScalar>(
        dinp: UnsafeMutablePointer<T>,  // (B·T, 2I): [d gate | d up]
        inp: UnsafePointer<T>,  // (B·T, 2I): [gate | up]
        dout: UnsafePointer<T>,  // (B·T, I)
        hidden: Int, rows: Range<Int>, accumulate: Bool
    ) {
        for r in rows {
            let gate = inp + r * 2 * hidden
            let up = gate + hidden
            let dGate = dinp + r * 2 * hidden
            let dUp = dGate + hidden
            let d = dout + r * hidden
            for j in 0..<hidden {
                let g = gate[j]
                let s = Kernels.sigmoid(g)
                let gateValue = d[j] * up[j] * s * (1 + g * (1 - s))
                let upValue = d[j] * g * s
                dGate[j] = accumulate ? dGate[j] + gateValue : gateValue
                dUp[j] = accumulate ? dUp[j] + upValue : upValue
            }
        }
    }
}
