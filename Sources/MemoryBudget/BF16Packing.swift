// The packing workspace of a bf16-mixed transformer step's products, planned in the arena: CGEMM's AMX kernel packs
// each product's operands before multiplying them (`memplan_gemm_bf16_epilogue`), each part into its own slice.

import ModelProfile

extension TransformerModel {
    /// Every product of a bf16-mixed step as (m, n, k), at its largest (whole edges: one part could be handed all of
    /// them): each projection's forward (N, out, in), input gradient (N, in, out) and weight gradient (out, in, N), with
    /// N = B·T; attention's per-head scores and ∂P (T, T, HS) and the products with P or ∂S (T, HS, T).
    public var bf16ProductShapes: [(m: Int, n: Int, k: Int)] {
        let (c, n, t) = (spec.hiddenSize, batchSize * sequenceLength, sequenceLength)
        let fcWidth = spec.fcWidth
        var shapes: [(m: Int, n: Int, k: Int)] = [(t, t, spec.headSize), (t, spec.headSize, t)]
        for (inputs, outputs) in [
            (c, spec.qkvWidth), (c, c), (c, fcWidth), (spec.feedForwardSize, c), (c, spec.paddedVocabularySize),
        ] {
            shapes += [(n, outputs, inputs), (n, inputs, outputs), (outputs, inputs, n)]
        }
        return shapes
    }

    /// Bytes one part's packing workspace needs: the largest product's (⌈m⌉₃₂·(⌈k⌉₃₂ + 32) + ⌈n⌉₃₂·⌈k⌉₃₂)·2 — op(A)'s
    /// rows padded to 32 and 64 bytes apart, op(B)'s 16-column panels (`memplan_gemm_bf16_epilogue`'s layout).
    /// - Throws: `BudgetError.overflow` past `Int.max`.
    func bf16PackingBytes(_ checked: Checked) throws(BudgetError) -> Int {
        let what = "the bf16 packing workspace"
        func up(_ value: Int) throws(BudgetError) -> Int { try checked.add(value, 31, what: what) / 32 * 32 }
        var largest = 0
        for shape in bf16ProductShapes {
            let k = try up(shape.k)
            let a = try checked.multiply(try up(shape.m), try checked.add(k, 32, what: what), what: what)
            let b = try checked.multiply(try up(shape.n), k, what: what)
            largest = max(largest, try checked.multiply(try checked.add(a, b, what: what), 2, what: what))
        }
        return largest
    }
}
