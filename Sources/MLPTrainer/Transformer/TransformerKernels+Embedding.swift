// Token and position embeddings, and the residual stream's add: the elementwise layers with no parameters of their own.

extension TransformerKernels {
    // MARK: - Embedding

    /// Token plus learned position embedding: out[r, :] = wte[tok[r], :] + wpe[r mod T, :] for r in `rows`;
    /// with `wpe` nil (Llama, whose positions come from rotary), out[r, :] = wte[tok[r], :].
    ///
    /// Split: by rows. A row writes only out[r, :].
    /// - Precondition: every token in `rows` is in 0..<vocabulary (it would otherwise read outside wte).
    @inline(__always)
    static func embeddingForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B·T, C)
        tokens: UnsafePointer<Int32>,  // (B·T)
        wte: UnsafePointer<T>,  // (V, C), the first V rows of a (Vp, C) table
        wpe: UnsafePointer<T>?,  // (maxT, C) with maxT ≥ T, or nil
        vocabulary: Int, sequenceLength: Int, channels: Int, rows: Range<Int>
    ) {
        for r in rows {
            let token = Int(tokens[r])
            precondition(
                token >= 0 && token < vocabulary, "embeddingForward: token \(token) at row \(r) is outside 0..<\(vocabulary)")
            let o = out + r * channels
            let e = wte + token * channels
            if let wpe {
                let p = wpe + (r % sequenceLength) * channels
                for c in 0..<channels { o[c] = e[c] + p[c] }
            } else {
                o.update(from: e, count: channels)
            }
        }
    }

    /// The embedding's backward, accumulated into the token and position tables for the channels in `columns`.
    ///
    /// dwte[tok[r], c] += dout[r, c] and dwpe[r mod T, c] += dout[r, c], for every row r in 0..<rowCount and
    /// every channel c in `columns`. Always accumulates: the caller zeroes dwte and dwpe (or, with a tied head,
    /// lets dwte hold the head's gradient first).
    ///
    /// Split: by columns only. Two rows with the same token, or the same position in two sequences, add into the
    /// same bytes, so a row split would race; a column split writes disjoint bytes and sums each element's rows in
    /// row order, bit-identical to one part.
    /// - Precondition: every token is in 0..<vocabulary.
    @inline(__always)
    static func embeddingBackward<T: TrainingScalar>(
        dwte: UnsafeMutablePointer<T>,  // (V, C)
        dwpe: UnsafeMutablePointer<T>?,  // (maxT, C), or nil
        dout: UnsafePointer<T>,  // (B·T, C)
        tokens: UnsafePointer<Int32>,  // (B·T)
        vocabulary: Int, sequenceLength: Int, channels: Int, rowCount: Int, columns: Range<Int>
    ) {
        for r in 0..<rowCount {
            let token = Int(tokens[r])
            precondition(
                token >= 0 && token < vocabulary, "embeddingBackward: token \(token) at row \(r) is outside 0..<\(vocabulary)")
            let d = dout + r * channels
            let e = dwte + token * channels
            for c in columns { e[c] += d[c] }
            if let dwpe {
                let p = dwpe + (r % sequenceLength) * channels
                for c in columns { p[c] += d[c] }
            }
        }
    }

    // MARK: - Residual

    /// The residual add: out[i] = a[i] + b[i] for i in `elements` (rows r0..<r1 of width C are r0·C..<r1·C).
    ///
    /// Split: by elements (or rows).
    @inline(__always)
    static func residualForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B·T, C)
        a: UnsafePointer<T>,  // (B·T, C)
        b: UnsafePointer<T>,  // (B·T, C)
        elements: Range<Int>
    ) {
        for i in elements { out[i] = a[i] + b[i] }
    }

    /// The residual add's backward, a fan-out: both summands receive the output's gradient unchanged,
    /// da[i] (+)= dout[i] and db[i] (+)= dout[i] for i in `elements` (`accumulate` false overwrites).
    ///
    /// Nothing is computed, so a planner may alias instead: give db the bytes of dout (the branch reads dout as
    /// its gradient) and let the residual stream keep accumulating into dout's buffer as da. This kernel is for a
    /// caller that keeps the buffers separate, as llm.c does.
    ///
    /// Split: by elements (or rows).
    @inline(__always)
    static func residualBackward<T: TrainingScalar>(
        da: UnsafeMutablePointer<T>,  // (B·T, C)
        db: UnsafeMutablePointer<T>,  // (B·T, C)
        dout: UnsafePointer<T>,  // (B·T, C)
        elements: Range<Int>, accumulate: Bool
    ) {
        if accumulate {
            for i in elements {
                da[i] += dout[i]
                db[i] += dout[i]
            }
        } else {
            for i in elements {
                da[i] = dout[i]
                db[i] = dout[i]
            }
        }
    }
}
