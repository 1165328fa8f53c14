// Attention's causal products: the plain loops for small heads against the GEMM path on the same operands.

import Testing

@testable import MLPTrainer

@Suite("Attention's causal products")
struct TransformerCausalProductTests {
    typealias K = TransformerKernels

    /// Values in [-1, 1] from a fixed linear congruential sequence.
    static func values(_ count: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
        }
    }

    @Test(
        "loops and GEMM agree on every product, set and added; the scores' loops leave c above the diagonal alone",
        arguments: [K.CausalProduct.scores, .weighted, .weightedTransposed], [(1, 1), (5, 3), (17, 16), (20, 24)])
    func loopsMatchGEMM(product: K.CausalProduct, shape: (n: Int, headSize: Int)) {
        let (n, headSize) = shape
        // Leading dimensions wider than the rows, as the heads of qkv and out are.
        let (lda, ldb) = product == .scores ? (headSize + 3, headSize + 5) : (n + 2, headSize + 5)
        let ldc = product == .scores ? n + 1 : headSize + 7
        var a = Self.values(n * lda, seed: 1)
        if product != .scores {
            // The (T, T) operand is causal: zero above the diagonal, as P and dS are.
            for t in 0..<n { for t2 in (t + 1)..<n { a[t * lda + t2] = 0 } }
        }
        let b = Self.values(n * ldb, seed: 2)
        let start = Self.values(n * ldc, seed: 3)
        func run(gemm: Bool, adding: Bool) -> [Double] {
            var c = start
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        K.causalProduct(
                            product, gemm: gemm, sequenceLength: n, headSize: headSize, alpha: 0.375, a: a.baseAddress!,
                            lda: lda, b: b.baseAddress!, ldb: ldb, c: c.baseAddress!, ldc: ldc, adding: adding)
                    }
                }
            }
            return c
        }
        for adding in [false, true] {
            let loops = run(gemm: false, adding: adding)
            let gemm = run(gemm: true, adding: adding)
            for row in 0..<n {
                // The scores' loops write t2 ≤ t only; the GEMM writes the whole row.
                let columns = product == .scores ? 0...row : 0...(headSize - 1)
                for column in columns {
                    let index = row * ldc + column
                    #expect(abs(loops[index] - gemm[index]) <= 1e-12 * max(1, abs(gemm[index])), "c[\(row), \(column)]")
                }
                if product == .scores, row + 1 < n {
                    #expect(loops[(row * ldc + row + 1)..<(row * ldc + n)] == start[(row * ldc + row + 1)..<(row * ldc + n)])
                }
            }
        }
    }
}
