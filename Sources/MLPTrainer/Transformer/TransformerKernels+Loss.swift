// The language-model head's loss: softmax and cross-entropy fused over the logits' first V columns.

extension TransformerKernels {
    /// Softmax cross-entropy over the first V of each row's Vp logits, for the rows in `rows`.
    ///
    /// With m = max_i<V z_i, losses[r] = log Σ_i<V exp(z_i − m) + m − z[target]; the padded columns V..<Vp are
    /// ignored.
    /// With a `gradientScale` s, also overwrites the logits with their gradient in place, llm.c's
    /// `crossentropy_softmax_backward`: dlogits[r, i] = (p_i − 1[i = target])·s for i < V, and 0 for V ≤ i < Vp.
    /// llm.c's mean loss over the B·T positions takes s = 1/(B·T).
    ///
    /// Split: by rows.
    /// - Precondition: every target in `rows` is in 0..<V.
    static func softmaxCrossEntropy<T: TrainingScalar>(
        logits: UnsafeMutablePointer<T>,  // (B·T, Vp); (B·T, Vp) dlogits on return when gradientScale is non-nil
        losses: UnsafeMutablePointer<T>,  // (B·T)
        targets: UnsafePointer<Int32>,  // (B·T)
        vocabulary: Int, paddedVocabulary: Int, rows: Range<Int>, gradientScale: T?
    ) {
        for r in rows {
            let z = logits + r * paddedVocabulary
            let target = Int(targets[r])
            precondition(
                target >= 0 && target < vocabulary,
                "softmaxCrossEntropy: target \(target) at row \(r) is outside 0..<\(vocabulary)")
            var largest = z[0]
            for i in 1..<max(vocabulary, 1) { largest = max(largest, z[i]) }
            let targetLogit = z[target]
            var sum: T = 0
            if let scale = gradientScale {
                for i in 0..<vocabulary {
                    z[i] = T.exp(z[i] - largest)
                    sum += z[i]
                }
                let inverse = 1 / sum
                for i in 0..<vocabulary { z[i] = z[i] * inverse * scale }
                z[target] -= scale
                for i in vocabulary..<paddedVocabulary { z[i] = 0 }
            } else {
                for i in 0..<vocabulary { sum += T.exp(z[i] - largest) }
            }
            losses[r] = T.log(sum) + largest - targetLogit
        }
    }
}
