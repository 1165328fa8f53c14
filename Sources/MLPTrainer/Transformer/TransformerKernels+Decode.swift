// Generating one token: attention of the token's query over the KV cache, and sampling the next token from the
// logits. The other layers of a decoded token are the training kernels with one row.

extension TransformerKernels {
    // MARK: - Attention over the cache

    /// Causal attention of one token at position t over the cached positions 0 … t (`positions` = t + 1), every head,
    /// with g = h/(NH/NKV): s[h, t2] = softmax_{t2 ≤ t}(q_h · k[t2, g] / √HS), out[h·HS ..< (h+1)·HS] = Σ_t2 s[h, t2]·v[t2, g].
    ///
    /// The cache is token-major: position t2's key row of this block starts at `keys + t2·rowStride` (its NKV heads
    /// side by side), and its value row at `values + t2·rowStride`. The softmax is computed as the training kernel's
    /// (the largest score subtracted, then normalised), over exactly the positions the training pass sees at row t.
    /// - Precondition: NKV divides NH; 1 ≤ positions ≤ the scores' row length.
    static func attentionDecode<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (C), C = NH·HS
        scores: UnsafeMutablePointer<T>,  // (NH, scoreStride)
        query: UnsafePointer<T>,  // (NH·HS)
        keys: UnsafePointer<T>,  // (positions, rowStride): NKV·HS keys per row
        values: UnsafePointer<T>,  // (positions, rowStride): NKV·HS values per row
        rowStride: Int, positions: Int, scoreStride: Int, heads: Int, kvHeads: Int, headSize: Int
    ) {
        precondition(kvHeads > 0 && heads % kvHeads == 0, "attention: \(kvHeads) key/value heads do not divide \(heads) heads")
        precondition(
            positions >= 1 && positions <= scoreStride, "attentionDecode: \(positions) positions, room for \(scoreStride)")
        let group = heads / kvHeads
        let scale = 1 / T(headSize).squareRoot()
        for h in 0..<heads {
            let g = h / group
            let q = query + h * headSize
            let s = scores + h * scoreStride
            var largest = -T.greatestFiniteMagnitude
            for t2 in 0..<positions {
                let k = keys + t2 * rowStride + g * headSize
                var dot: T = 0
                for i in 0..<headSize { dot += q[i] * k[i] }
                s[t2] = dot * scale
                largest = max(largest, s[t2])
            }
            var sum: T = 0
            for t2 in 0..<positions {
                s[t2] = T.exp(s[t2] - largest)
                sum += s[t2]
            }
            let inverse = 1 / sum
            let o = out + h * headSize
            o.update(repeating: 0, count: headSize)
            for t2 in 0..<positions {
                let weight = s[t2] * inverse
                s[t2] = weight
                let v = values + t2 * rowStride + g * headSize
                for i in 0..<headSize { o[i] += weight * v[i] }
            }
        }
    }

    // MARK: - Sampling

    /// The next token from the first V of the logits: with temperature τ > 0, token i with probability
    /// p_i = exp((z_i − max z)/τ) / Σ exp(…), chosen as the first i whose cumulative probability exceeds `uniform`
    /// (a draw from [0, 1)); with τ = 0 the most likely token (the first of equal ones).
    ///
    /// - Parameter probabilities: V elements of scratch; holds the unnormalised weights on return.
    /// - Precondition: 1 ≤ V; uniform in [0, 1).
    static func sampleToken<T: TrainingScalar>(
        logits: UnsafePointer<T>,  // (Vp)
        probabilities: UnsafeMutablePointer<T>,  // (V)
        vocabulary: Int, temperature: Double, uniform: Double
    ) -> Int {
        precondition(vocabulary >= 1, "sampleToken: empty vocabulary")
        var best = 0
        for i in 1..<vocabulary where logits[i] > logits[best] { best = i }
        guard temperature > 0 else { return best }
        let largest = logits[best]
        let inverse = T(1 / temperature)
        var sum: T = 0
        for i in 0..<vocabulary {
            probabilities[i] = T.exp((logits[i] - largest) * inverse)
            sum += probabilities[i]
        }
        let target = T(uniform) * sum
        var cumulative: T = 0
        for i in 0..<vocabulary {
            cumulative += probabilities[i]
            if target < cumulative { return i }
        }
        return best  // rounding left the draw past the last weight
    }
}
