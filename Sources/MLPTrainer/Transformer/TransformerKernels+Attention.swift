// Causal self-attention, multi-head and grouped-query, forward and backward; and rotary position embedding.
//
// A qkv row is [q (NH·HS) | k (NKV·HS) | v (NKV·HS)], width R = (NH + 2·NKV)·HS: llm.c's (B, T, 3C) when NKV = NH.
// Query head h reads key/value head h / (NH/NKV), Llama's `repeat_kv`. Only the softmax probabilities `att` are
// saved: the forward computes the scores into att and normalises them in place; the backward recovers the
// softmax's gradient from att alone.

import Foundation

/// Where attention's operands lie: a qkv row is [q (NH·HS) | k (NKV·HS) | v (NKV·HS)], R = (NH + 2·NKV)·HS wide; an
/// output row C = NH·HS; query head h reads key/value head g = h / (NH/NKV); the probabilities att are (B, NH, T, T).
/// Offsets in elements, so the fp32/fp64 kernels and the bf16-mixed ones (`MixedKernels`) read the same places.
struct AttentionLayout {
    /// T
    let sequenceLength: Int
    /// NH, NKV, HS
    let heads: Int
    let kvHeads: Int
    let headSize: Int
    /// R = (NH + 2·NKV)·HS, a qkv row.
    let width: Int
    /// C = NH·HS, an output row.
    let channels: Int
    /// NH/NKV, the query heads reading one key/value head.
    let group: Int

    /// - Precondition: NKV divides NH.
    init(sequenceLength: Int, heads: Int, kvHeads: Int, headSize: Int) {
        precondition(kvHeads > 0 && heads % kvHeads == 0, "attention: \(kvHeads) key/value heads do not divide \(heads) heads")
        self.sequenceLength = sequenceLength
        self.heads = heads
        self.kvHeads = kvHeads
        self.headSize = headSize
        width = (heads + 2 * kvHeads) * headSize
        channels = heads * headSize
        group = heads / kvHeads
    }

    /// The scores' scale, 1/√HS.
    @inline(__always)
    func scale<S: BinaryFloatingPoint>(_: S.Type) -> S { 1 / S(headSize).squareRoot() }

    /// Batch b's first qkv row: b·T·R.
    @inline(__always)
    func base(_ b: Int) -> Int { b * sequenceLength * width }

    /// Query head h of batch b's first row: b·T·R + h·HS.
    @inline(__always)
    func query(_ b: Int, head h: Int) -> Int { base(b) + h * headSize }

    /// Key head g of batch b's first row: b·T·R + (NH + g)·HS.
    @inline(__always)
    func key(_ b: Int, kvHead g: Int) -> Int { base(b) + (heads + g) * headSize }

    /// Value head g of batch b's first row: b·T·R + (NH + NKV + g)·HS.
    @inline(__always)
    func value(_ b: Int, kvHead g: Int) -> Int { base(b) + (heads + kvHeads + g) * headSize }

    /// Head h's columns of batch b's first output row: b·T·C + h·HS.
    @inline(__always)
    func output(_ b: Int, head h: Int) -> Int { b * sequenceLength * channels + h * headSize }

    /// Query head h's q in batch b's qkv rows, and k and v of the key/value head it reads.
    @inline(__always)
    func operands<E>(
        _ qkv: UnsafePointer<E>, batch b: Int, head h: Int
    ) -> (q: UnsafePointer<E>, k: UnsafePointer<E>, v: UnsafePointer<E>) {
        let g = h / group
        return (qkv + query(b, head: h), qkv + key(b, kvHead: g), qkv + value(b, kvHead: g))
    }

    /// att[b, h], a (T, T) matrix: (b·NH + h)·T·T.
    @inline(__always)
    func probabilities(_ b: Int, head h: Int) -> Int { (b * heads + h) * sequenceLength * sequenceLength }
}

extension TransformerKernels {
    // MARK: - Attention

    /// From T = 16 with heads of HS ≥ 16 the per-head products go through `T.gemm`, every edge (T or HS) at least 16,
    /// so memplan's own kernels take them on AVX-512F; otherwise plain loops over the causal triangle. (A head under 16
    /// wide would send them to BLAS, and Debian's OpenBLAS 0.3.21 allocates on every small product on some CPUs.)
    static var attentionGEMMThreshold: Int { 16 }

    /// Whether attention's products go through `T.gemm` (`attentionGEMMThreshold`).
    @inline(__always)
    static func attentionUsesGEMM(sequenceLength: Int, headSize: Int) -> Bool {
        sequenceLength >= attentionGEMMThreshold && headSize >= attentionGEMMThreshold
    }

    /// Causal self-attention for the (b, h) pairs in `pairs` (pair p = b·NH + h, 0 ≤ p < B·NH), with g = h/(NH/NKV):
    /// att[b, h, t, t2] = softmax_{t2 ≤ t}(q_t · k_t2 / √HS), 0 for t2 > t; out[b, t, h·HS ..< (h+1)·HS] = Σ_t2 att·v_t2.
    ///
    /// Split: by (b, h) pairs. A pair writes only its own att[b, h] (all of it, the zeros above the diagonal
    /// included, so att needs no clearing) and its head's columns of out.
    /// - Precondition: NKV divides NH.
    static func attentionForward<T: TrainingScalar>(
        out: UnsafeMutablePointer<T>,  // (B, T, C), C = NH·HS
        att: UnsafeMutablePointer<T>,  // (B, NH, T, T)
        qkv: UnsafePointer<T>,  // (B, T, R)
        sequenceLength: Int, heads: Int, kvHeads: Int, headSize: Int, pairs: Range<Int>
    ) {
        let layout = AttentionLayout(sequenceLength: sequenceLength, heads: heads, kvHeads: kvHeads, headSize: headSize)
        let (n, width, channels) = (sequenceLength, layout.width, layout.channels)
        let scale = layout.scale(T.self)
        let useGEMM = attentionUsesGEMM(sequenceLength: n, headSize: headSize)
        for pair in pairs {
            let (b, h) = (pair / heads, pair % heads)
            let (q, k, v) = layout.operands(qkv, batch: b, head: h)
            let (a, o) = (att + layout.probabilities(b, head: h), out + layout.output(b, head: h))
            // scores: a[t, t2] = scale·q_t·k_t2
            causalProduct(
                .scores, gemm: useGEMM, sequenceLength: n, headSize: headSize, alpha: scale, a: q, lda: width, b: k,
                ldb: width, c: a, ldc: n)
            // causal softmax in place
            for t in 0..<n {
                let row = a + t * n
                var largest = row[0]
                for t2 in 0...t { largest = max(largest, row[t2]) }
                var sum: T = 0
                for t2 in 0...t {
                    row[t2] = T.exp(row[t2] - largest)
                    sum += row[t2]
                }
                let inverse = 1 / sum
                for t2 in 0...t { row[t2] *= inverse }
                for t2 in (t + 1)..<n { row[t2] = 0 }
            }
            // out_t = Σ_t2 a[t, t2]·v_t2 (the zeros above the diagonal add nothing)
            causalProduct(
                .weighted, gemm: useGEMM, sequenceLength: n, headSize: headSize, alpha: 1, a: a, lda: n, b: v, ldb: width,
                c: o, ldc: channels)
        }
    }

    /// Attention's backward for the (b, kv-head) groups in `groups`, from the saved probabilities att alone.
    ///
    /// Group u = b·NKV + g (0 ≤ u < B·NKV) covers its NH/NKV query heads h. With P = att[b, h] and dO the head's dout:
    /// dP = dO·Vᵀ; dS[t, t2] = P[t, t2]·(dP[t, t2] − Σ_t3 P[t, t3]·dP[t, t3]) (softmax backward, t2 ≤ t, else 0);
    /// dQ (+)= dS·K/√HS; dK (+)= dSᵀ·Q/√HS; dV (+)= Pᵀ·dO.
    ///
    /// Split: by (b, kv-head) groups. A kv head's dk and dv sum over all NH/NKV query heads that read it, so the
    /// group is the smallest unit that writes its bytes alone: a group writes dq of its query heads and dk, dv of
    /// its kv head, in batch b, and nothing else (with NKV = NH a group is one (b, h) pair).
    /// - Parameter scratch: T·T elements, the dP/dS of one head at a time; each concurrently running part needs its own.
    /// - Precondition: NKV divides NH.
    static func attentionBackward<T: TrainingScalar>(
        dqkv: UnsafeMutablePointer<T>,  // (B, T, R)
        scratch: UnsafeMutablePointer<T>,  // (T, T)
        dout: UnsafePointer<T>,  // (B, T, C)
        qkv: UnsafePointer<T>,  // (B, T, R)
        att: UnsafePointer<T>,  // (B, NH, T, T)
        sequenceLength: Int, heads: Int, kvHeads: Int, headSize: Int, groups: Range<Int>, accumulate: Bool
    ) {
        let layout = AttentionLayout(sequenceLength: sequenceLength, heads: heads, kvHeads: kvHeads, headSize: headSize)
        let (n, width, channels, group) = (sequenceLength, layout.width, layout.channels, layout.group)
        let scale = layout.scale(T.self)
        let useGEMM = attentionUsesGEMM(sequenceLength: n, headSize: headSize)
        for unit in groups {
            let (b, g) = (unit / kvHeads, unit % kvHeads)
            let base = layout.base(b)
            let (k, dk) = (qkv + layout.key(b, kvHead: g), dqkv + layout.key(b, kvHead: g))
            let (v, dv) = (qkv + layout.value(b, kvHead: g), dqkv + layout.value(b, kvHead: g))
            if !accumulate {
                // Overwrite = zero this group's bytes, then accumulate every head into them.
                for t in 0..<n {
                    let row = dqkv + base + t * width
                    (row + g * group * headSize).update(repeating: 0, count: group * headSize)
                    (dk + t * width).update(repeating: 0, count: headSize)
                    (dv + t * width).update(repeating: 0, count: headSize)
                }
            }
            for h in (g * group)..<((g + 1) * group) {
                let (q, dq) = (qkv + layout.query(b, head: h), dqkv + layout.query(b, head: h))
                let p = att + layout.probabilities(b, head: h)
                let dO = dout + layout.output(b, head: h)
                // dP = dO·Vᵀ, and dV += Pᵀ·dO
                causalProduct(
                    .scores, gemm: useGEMM, sequenceLength: n, headSize: headSize, alpha: 1, a: dO, lda: channels, b: v,
                    ldb: width, c: scratch, ldc: n)
                causalProduct(
                    .weightedTransposed, gemm: useGEMM, sequenceLength: n, headSize: headSize, alpha: 1, a: p, lda: n,
                    b: dO, ldb: channels, c: dv, ldc: width, adding: true)
                // dS = P ⊙ (dP − rowsum(P ⊙ dP)), zero above the diagonal
                for t in 0..<n {
                    let row = scratch + t * n
                    let probabilities = p + t * n
                    var dot: T = 0
                    for t2 in 0...t { dot += probabilities[t2] * row[t2] }
                    for t2 in 0...t { row[t2] = probabilities[t2] * (row[t2] - dot) }
                    for t2 in (t + 1)..<n { row[t2] = 0 }
                }
                // dQ += dS·K·scale, dK += dSᵀ·Q·scale
                causalProduct(
                    .weighted, gemm: useGEMM, sequenceLength: n, headSize: headSize, alpha: scale, a: scratch, lda: n,
                    b: k, ldb: width, c: dq, ldc: width, adding: true)
                causalProduct(
                    .weightedTransposed, gemm: useGEMM, sequenceLength: n, headSize: headSize, alpha: scale, a: scratch,
                    lda: n, b: q, ldb: width, c: dk, ldc: width, adding: true)
            }
        }
    }

    /// The three products of one head's attention, each with one causal (T, T) operand, zero above the diagonal.
    enum CausalProduct {
        /// c[t, t2] = α·a_t·b_t2 for t2 ≤ t, a and b (T, HS): the (T, T) result; above the diagonal the loops leave c as it was (the GEMM writes it).
        case scores
        /// c_t (+)= α·Σ_{t2 ≤ t} a[t, t2]·b_t2, a (T, T) and b, c (T, HS).
        case weighted
        /// c_t2 (+)= α·Σ_{t ≥ t2} a[t, t2]·b_t, a (T, T) read transposed, and b, c (T, HS).
        case weightedTransposed
    }

    /// One causal product of attention (`CausalProduct`), c = α·op(a)·op(b), added to c when `adding`: through
    /// `T.gemm` when `gemm`, else plain loops over the causal triangle that skip its zeros. Each element of c sums
    /// its terms in the order of the loops below (t2, then t, ascending), the fallback's one rounding order.
    @inline(__always)
    static func causalProduct<T: TrainingScalar>(
        _ product: CausalProduct, gemm: Bool, sequenceLength n: Int, headSize: Int, alpha: T,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int, c: UnsafeMutablePointer<T>, ldc: Int,
        adding: Bool = false
    ) {
        let beta: T = adding ? 1 : 0
        if gemm {
            switch product {
            case .scores:
                T.gemm(
                    transposeA: false, transposeB: true, m: n, n: n, k: headSize, alpha: alpha, a: a, lda: lda, b: b,
                    ldb: ldb, beta: beta, c: c, ldc: ldc)
            case .weighted, .weightedTransposed:
                T.gemm(
                    transposeA: product == .weightedTransposed, transposeB: false, m: n, n: headSize, k: n, alpha: alpha,
                    a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            }
            return
        }
        if product != .scores, !adding {
            for t in 0..<n { (c + t * ldc).update(repeating: 0, count: headSize) }
        }
        for t in 0..<n {
            for t2 in 0...t {
                switch product {
                case .scores:
                    var dot: T = 0
                    for i in 0..<headSize { dot += a[t * lda + i] * b[t2 * ldb + i] }
                    c[t * ldc + t2] = adding ? c[t * ldc + t2] + dot * alpha : dot * alpha
                case .weighted:
                    let weight = a[t * lda + t2] * alpha
                    for i in 0..<headSize { c[t * ldc + i] += weight * b[t2 * ldb + i] }
                case .weightedTransposed:
                    let weight = a[t * lda + t2] * alpha
                    for i in 0..<headSize { c[t2 * ldc + i] += weight * b[t * ldb + i] }
                }
            }
        }
    }

    // MARK: - Rotary position embedding

    /// Fills the rotary table of cosines and sines, computed in Double; once per model, not per step.
    ///
    /// Row t = [cos θ(t, 0..<HS/2) | sin θ(t, 0..<HS/2)], θ(t, i) = t·base^(−2i/HS).
    ///
    /// - Precondition: HS is even.
    static func rotaryTable<T: TrainingScalar>(
        _ table: UnsafeMutablePointer<T>,  // (maxT, HS)
        maxSequenceLength: Int, headSize: Int, base: Double = 10_000
    ) {
        rotaryTable(table, maxSequenceLength: maxSequenceLength, headSize: headSize, base: base) { T($0) }
    }

    /// The rotary table with each value stored as `element(value)` (bf16-mixed stores bf16 patterns).
    static func rotaryTable<E>(
        _ table: UnsafeMutablePointer<E>,  // (maxT, HS)
        maxSequenceLength: Int, headSize: Int, base: Double = 10_000, element: (Double) -> E
    ) {
        precondition(headSize % 2 == 0, "rotaryTable: head size \(headSize) is odd")
        let half = headSize / 2
        for t in 0..<maxSequenceLength {
            let row = table + t * headSize
            for i in 0..<half {
                let angle = Double(t) * Foundation.pow(base, -2 * Double(i) / Double(headSize))
                row[i] = element(Foundation.cos(angle))
                row[half + i] = element(Foundation.sin(angle))
            }
        }
    }

    /// Rotary position embedding in place on the q and k heads of each row in `rows` (v is untouched), Llama's
    /// rotate-half convention: for t = r mod T, i < HS/2, x1 = x[i], x2 = x[i + HS/2]:
    /// x[i] ← x1·cos θ − x2·sin θ, x[i + HS/2] ← x2·cos θ + x1·sin θ, θ = θ(t, i) from `rotaryTable`.
    ///
    /// Split: by rows.
    static func rotaryForward<T: TrainingScalar>(
        qkv: UnsafeMutablePointer<T>,  // (B·T, R)
        table: UnsafePointer<T>,  // (maxT, HS), maxT ≥ T
        sequenceLength: Int, heads: Int, kvHeads: Int, headSize: Int, rows: Range<Int>
    ) {
        rotate(
            qkv, table: table, sign: 1, sequenceLength: sequenceLength, heads: heads, kvHeads: kvHeads, headSize: headSize,
            rows: rows)
    }

    /// Rotary's backward, in place on the dq and dk heads of dqkv.
    ///
    /// The rotation is orthogonal, so its transpose is the rotation by −θ: d1 ← d1·cos θ + d2·sin θ, d2 ← d2·cos θ − d1·sin θ. Overwrites (the gradient is
    /// transformed where it lies); dv is untouched.
    ///
    /// Split: by rows.
    static func rotaryBackward<T: TrainingScalar>(
        dqkv: UnsafeMutablePointer<T>,  // (B·T, R)
        table: UnsafePointer<T>,  // (maxT, HS)
        sequenceLength: Int, heads: Int, kvHeads: Int, headSize: Int, rows: Range<Int>
    ) {
        rotate(
            dqkv, table: table, sign: -1, sequenceLength: sequenceLength, heads: heads, kvHeads: kvHeads, headSize: headSize,
            rows: rows)
    }

    /// Rotates the first NH + NKV heads of each row (q then k, contiguous) by sign·θ.
    @inline(__always)
    static func rotate<T: TrainingScalar>(
        _ data: UnsafeMutablePointer<T>, table: UnsafePointer<T>, sign: T,
        sequenceLength: Int, heads: Int, kvHeads: Int, headSize: Int, rows: Range<Int>
    ) {
        precondition(headSize % 2 == 0, "rotary: head size \(headSize) is odd")
        let half = headSize / 2
        let width = (heads + 2 * kvHeads) * headSize
        for r in rows {
            let cosines = table + (r % sequenceLength) * headSize
            let sines = cosines + half
            for head in 0..<(heads + kvHeads) {
                let x = data + r * width + head * headSize
                for i in 0..<half {
                    let x1 = x[i]
                    let x2 = x[half + i]
                    let c = cosines[i]
                    let s = sign * sines[i]
                    x[i] = x1 * c - x2 * s
                    x[half + i] = x2 * c + x1 * s
                }
            }
        }
    }
}
