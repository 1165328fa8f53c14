import CGEMM
@testable import MLPTrainer
import ModelProfile
import Testing

/// memplan's own AVX-512 GEMM (CGEMM) against a naive triple loop accumulated in Double.
@Suite("Own GEMM kernels")
struct GEMMTests {
    /// Row-major C = α·op(A)·op(B) + β·C through `call`, compared with the reference element by element.
    /// C starts as NaN when β = 0 (the kernels must not read it) and as random values otherwise.
    func check<T: TrainingScalar>(
        _: T.Type, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T, beta: T, tolerance: Double,
        generator: inout SplitMix64,
        call: (
            Int32, Int32, Int32, Int32, Int32, T, UnsafePointer<T>, Int32, UnsafePointer<T>, Int32, T, UnsafeMutablePointer<T>,
            Int32
        ) -> Int32
    ) {
        // Leading dimensions wider than the matrices, so a kernel that assumes packed rows shows.
        let lda = (transA ? m : k) + 3
        let ldb = (transB ? k : n) + 5
        let ldc = n + 2
        let a = (0..<((transA ? k : m) * lda)).map { _ in T(generator.nextNormal()) }
        let b = (0..<((transB ? n : k) * ldb)).map { _ in T(generator.nextNormal()) }
        let start = (0..<(m * ldc)).map { _ in beta == 0 ? T.nan : T(generator.nextNormal()) }
        var c = start
        let taken = a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    call(
                        transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, ap.baseAddress!, Int32(lda),
                        bp.baseAddress!,
                        Int32(ldb), beta, cp.baseAddress!, Int32(ldc))
                }
            }
        }
        #expect(taken == 1, "m \(m) n \(n) k \(k)")
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = Double(transA ? a[p * lda + i] : a[i * lda + p])
                    let y = Double(transB ? b[j * ldb + p] : b[p * ldb + j])
                    sum += x * y
                }
                let expected = Double(alpha) * sum + (beta == 0 ? 0 : Double(beta) * Double(start[i * ldc + j]))
                worst = max(worst, Swift.abs(Double(c[i * ldc + j]) - expected) / (1 + Swift.abs(expected)))
            }
            // The padding between rows stays as it was.
            for j in n..<ldc { #expect(c[i * ldc + j].isNaN == start[i * ldc + j].isNaN) }
        }
        #expect(worst < tolerance, "transA \(transA) transB \(transB) m \(m) n \(n) k \(k) α \(alpha) β \(beta): error \(worst)")
    }

    /// Shapes around the register tile (8 × 32 float, 8 × 16 double), the 128-deep k block and the 512 KiB column
    /// block (1,024 float or 512 double columns), in all four transpose combinations.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (16, 16, 16), (17, 33, 19), (24, 47, 128), (31, 64, 129), (64, 100, 300), (40, 1_100, 20), (16, 600, 17),
    ]
    static let scalings: [(alpha: Double, beta: Double)] = [(1, 0), (-0.05, 1), (2, 0.5)]

    /// Every shape, transpose combination and scaling through `call`.
    func checkAll<T: TrainingScalar>(
        _: T.Type, seed: UInt64, tolerance: Double,
        call: (
            Int32, Int32, Int32, Int32, Int32, T, UnsafePointer<T>, Int32, UnsafePointer<T>, Int32, T, UnsafeMutablePointer<T>,
            Int32
        ) -> Int32
    ) {
        var generator = SplitMix64(seed: seed)
        for shape in Self.shapes {
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                for scaling in Self.scalings {
                    check(
                        T.self, transA: transA, transB: transB, m: shape.m, n: shape.n, k: shape.k, alpha: T(scaling.alpha),
                        beta: T(scaling.beta), tolerance: tolerance, generator: &generator, call: call)
                }
            }
        }
    }

    @Test("float kernels match the reference", .enabled(if: memplan_gemm_enabled() != 0, "this CPU has no AVX-512F"))
    func single() { checkAll(Float.self, seed: 31, tolerance: 1e-4, call: memplan_gemm_f32) }

    @Test("double kernels match the reference", .enabled(if: memplan_gemm_enabled() != 0, "this CPU has no AVX-512F"))
    func double() { checkAll(Double.self, seed: 32, tolerance: 1e-12, call: memplan_gemm_f64) }

    /// The fused store against the trainer's own passes after the plain product: forward (bias, then ReLU or
    /// nothing) and backward (ReLU's derivative from a gate matrix). Bias and gate carry NaN, ±0 and −∞, so a
    /// store that rounds, orders or treats signed zeros and NaN differently from the passes shows.
    func checkFused<T: TrainingScalar>(_: T.Type, seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        let specials: [T] = [.nan, 0, -0.0, -.infinity, 1, -1]
        for (m, n, k) in [(16, 16, 16), (17, 33, 19), (24, 47, 128), (31, 64, 300)] {
            let a = (0..<(m * k)).map { _ in T(generator.nextNormal()) }
            let b = (0..<(n * k)).map { _ in T(generator.nextNormal()) }  // W (n, k): the forward product x · Wᵀ
            let bias = (0..<n).map { j in j < specials.count ? specials[j] : T(generator.nextNormal()) }
            let gate = (0..<(m * n)).map { index in index < specials.count ? specials[index] : T(generator.nextNormal()) }
            for activation in [Activation.identity, .relu] {
                var plain = [T](repeating: .nan, count: m * n)
                var fused = [T](repeating: .nan, count: m * n)
                T.gemm(
                    transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 0,
                    c: &plain, ldc: n)
                plain.withUnsafeMutableBufferPointer {
                    Kernels.activate($0.baseAddress!, rows: m, columns: n, stride: n, bias: bias, activation)
                }
                let taken = T.fusedGEMM(
                    transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 0,
                    c: &fused, ldc: n,
                    bias: bias, relu: activation == .relu, gate: nil, ldg: 0)
                #expect(taken)
                let differing = zip(plain, fused).filter { !Self.identical($0) }.count
                #expect(differing == 0, "forward \(activation) m \(m) n \(n) k \(k)")
            }
            // Backward: dx (m, n) = dz (m, k) · W (k, n), then 0 where the gate is ≤ 0.
            var plain = [T](repeating: .nan, count: m * n)
            var fused = [T](repeating: .nan, count: m * n)
            T.gemm(
                transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, beta: 0, c: &plain,
                ldc: n)
            plain.withUnsafeMutableBufferPointer {
                Kernels.multiplyByDerivative($0.baseAddress!, output: gate, rows: m, columns: n, stride: n, .relu)
            }
            let taken = T.fusedGEMM(
                transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: n, beta: 0, c: &fused,
                ldc: n,
                bias: nil, relu: false, gate: gate, ldg: n)
            #expect(taken)
            let differing = zip(plain, fused).filter { !Self.identical($0) }.count
            #expect(differing == 0, "backward m \(m) n \(n) k \(k)")
        }
    }

    /// Same value and sign, or both NaN.
    static func identical<T: TrainingScalar>(_ pair: (T, T)) -> Bool {
        (pair.0.isNaN && pair.1.isNaN) || (pair.0 == pair.1 && pair.0.sign == pair.1.sign)
    }

    @Test(
        "fused bias, ReLU and ReLU' equal the separate passes bit for bit",
        .enabled(if: memplan_gemm_enabled() != 0, "this CPU has no AVX-512F"))
    func fused() {
        checkFused(Float.self, seed: 33)
        checkFused(Double.self, seed: 34)
    }

    @Test("thin products are left to BLAS, and C is untouched")
    func thinProductsDecline() {
        for (m, n, k) in [(15, 64, 64), (64, 15, 64), (64, 64, 15), (10, 128, 128)] {
            #expect(memplan_gemm_takes(Int32(m), Int32(n), Int32(k)) == 0)
            let a = [Float](repeating: 1, count: 64 * 128)
            let b = [Float](repeating: 1, count: 128 * 128)
            var c = [Float](repeating: 7, count: 64 * 128)
            let taken = memplan_gemm_f32(0, 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
            #expect(taken == 0)
            let fusedTaken = memplan_gemm_fused_f32(
                0, 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n), a, 1, nil, 0)
            #expect(fusedTaken == 0)
            #expect(c.allSatisfy { $0 == 7 })
        }
        #expect(memplan_gemm_takes(16, 16, 16) == 1)
    }

    @Test("BLASInfo names the kernels that run the products")
    func kernelsNamed() {
        #expect(BLASInfo.gemmKernels == (memplan_gemm_enabled() != 0 ? "memplan-avx512" : "blas"))
    }
}
