// Float and Double behind one protocol: BLAS and libm entry points per precision.

import CBLAS
import CGEMM
import Foundation
import ModelProfile

#if canImport(Glibc)
    import Glibc
#endif

/// An element type the trainer has kernels for: `Float` (single) and `Double` (double).
public protocol TrainingScalar: BinaryFloatingPoint, Sendable {
    static var precision: Precision { get }

    /// Row-major `C = α·op(A)·op(B) + β·C`, C (m, n), op(A) (m, k), op(B) (k, n).
    /// memplan's own AVX-512 kernels (`memplan_gemm_f32`/`_f64` in CGEMM) take it when the CPU has AVX-512F
    /// and the product is at least 16 × 16 × 16; otherwise `cblas_sgemm`/`cblas_dgemm` (the shim's `memplan_sgemm`).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// `gemm` with work fused into the store of C, element by element: r = α·op(A)·op(B) + β·C, then r += bias[column]
    /// (bias non-nil), then max(0, r) (relu), then 0 where gate[row·ldg + column] ≤ 0 (gate non-nil: ReLU's derivative).
    /// Bit-identical to the product followed by those passes. Only memplan's own kernels fuse
    /// (`memplan_gemm_fused_f32`/`_f64`): returns false without touching C where they do not take the product.
    static func fusedGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int, bias: UnsafePointer<Self>?, relu: Bool, gate: UnsafePointer<Self>?,
        ldg: Int
    ) -> Bool

    /// The same product always in BLAS (`cblas_sgemm`/`cblas_dgemm`), for the ceiling's BLAS-only figures.
    static func blasGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// Row-major `y = α·op(A)·x + β·y` for A (m, n). The corresponding C functions are `cblas_sgemv` and `cblas_dgemv`.
    static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int, x: UnsafePointer<Self>,
        beta: Self, y: UnsafeMutablePointer<Self>)

    /// Row-major rank-1 update `A = α·x·yᵀ + A` for A (m, n).
    /// The corresponding C functions are `cblas_sger` and `cblas_dger`.
    static func ger(
        m: Int, n: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafePointer<Self>, a: UnsafeMutablePointer<Self>, lda: Int)

    /// d[i] = 0 where out[i] ≤ 0, with explicit SIMD lanes. Float and Double each spell the loop
    /// out with their concrete vector type: a generic helper over `V: SIMD` was measured to run
    /// unvectorised (21% of a step's cycles instead of under 1%).
    static func reluMask(_ d: UnsafeMutablePointer<Self>, output out: UnsafePointer<Self>, count: Int)

    /// z[i] = max(z[i] + b[i], 0): a forward layer's bias and ReLU in one pass, SIMD as `reluMask` is.
    static func addBiasRelu(_ z: UnsafeMutablePointer<Self>, bias b: UnsafePointer<Self>, count: Int)

    /// d[i] = Self(bytes[i]) · scale, SIMD as `reluMask` is; bit-identical to the scalar expression.
    static func scaleBytes(_ bytes: UnsafePointer<UInt8>, by scale: Self, count: Int, into d: UnsafeMutablePointer<Self>)

    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
}

extension Float: TrainingScalar {
    public static var precision: Precision { .single }

    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let ta: Int32 = transposeA ? 1 : 0
        let tb: Int32 = transposeB ? 1 : 0
        if memplan_gemm_f32(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc)) != 0 {
            return
        }
        blasGEMM(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
            beta: beta, c: c, ldc: ldc)
    }

    @inline(__always)
    public static func fusedGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, relu: Bool,
        gate: UnsafePointer<Float>?, ldg: Int
    ) -> Bool {
        memplan_gemm_fused_f32(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
            Int32(ldc),
            bias, relu ? 1 : 0, gate, Int32(ldg)) != 0
    }

    @inline(__always)
    public static func blasGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        memplan_sgemm(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
            Int32(ldc))
    }

    @inline(__always)
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        memplan_sgemv(transpose ? 1 : 0, Int32(m), Int32(n), alpha, a, Int32(lda), x, beta, y)
    }

    @inline(__always)
    public static func ger(
        m: Int, n: Int, alpha: Float, x: UnsafePointer<Float>, y: UnsafePointer<Float>, a: UnsafeMutablePointer<Float>, lda: Int
    ) {
        memplan_sger(Int32(m), Int32(n), alpha, x, y, a, Int32(lda))
    }

    @inline(__always)
    public static func scaleBytes(_ bytes: UnsafePointer<UInt8>, by scale: Float, count: Int, into d: UnsafeMutablePointer<Float>)
    {
        var index = 0
        while index + 16 <= count {
            let values = SIMD16<Float>(UnsafeRawPointer(bytes + index).loadUnaligned(as: SIMD16<UInt8>.self)) * scale
            UnsafeMutableRawPointer(d + index).storeBytes(of: values, as: SIMD16<Float>.self)
            index += 16
        }
        while index < count {
            d[index] = Float(bytes[index]) * scale
            index += 1
        }
    }

    @inline(__always)
    public static func addBiasRelu(_ z: UnsafeMutablePointer<Float>, bias b: UnsafePointer<Float>, count: Int) {
        var index = 0
        while index + 16 <= count {
            var values = UnsafeRawPointer(z + index).loadUnaligned(as: SIMD16<Float>.self)
            values += UnsafeRawPointer(b + index).loadUnaligned(as: SIMD16<Float>.self)
            values.replace(with: 0, where: values .< 0)
            UnsafeMutableRawPointer(z + index).storeBytes(of: values, as: SIMD16<Float>.self)
            index += 16
        }
        while index < count {
            z[index] = max(z[index] + b[index], 0)
            index += 1
        }
    }

    @inline(__always)
    public static func reluMask(_ d: UnsafeMutablePointer<Float>, output out: UnsafePointer<Float>, count: Int) {
        var index = 0
        while index + 16 <= count {
            let a = UnsafeRawPointer(out + index).loadUnaligned(as: SIMD16<Float>.self)
            var values = UnsafeRawPointer(d + index).loadUnaligned(as: SIMD16<Float>.self)
            values.replace(with: 0, where: a .<= 0)
            UnsafeMutableRawPointer(d + index).storeBytes(of: values, as: SIMD16<Float>.self)
            index += 16
        }
        while index < count {
            if out[index] <= 0 { d[index] = 0 }
            index += 1
        }
    }

    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
}

extension Double: TrainingScalar {
    public static var precision: Precision { .double }

    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        let ta: Int32 = transposeA ? 1 : 0
        let tb: Int32 = transposeB ? 1 : 0
        if memplan_gemm_f64(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc)) != 0 {
            return
        }
        blasGEMM(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
            beta: beta, c: c, ldc: ldc)
    }

    @inline(__always)
    public static func fusedGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int, bias: UnsafePointer<Double>?, relu: Bool,
        gate: UnsafePointer<Double>?, ldg: Int
    ) -> Bool {
        memplan_gemm_fused_f64(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
            Int32(ldc),
            bias, relu ? 1 : 0, gate, Int32(ldg)) != 0
    }

    @inline(__always)
    public static func blasGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Double, a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        memplan_dgemm(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
            Int32(ldc))
    }

    @inline(__always)
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int, x: UnsafePointer<Double>,
        beta: Double, y: UnsafeMutablePointer<Double>
    ) {
        memplan_dgemv(transpose ? 1 : 0, Int32(m), Int32(n), alpha, a, Int32(lda), x, beta, y)
    }

    @inline(__always)
    public static func ger(
        m: Int, n: Int, alpha: Double, x: UnsafePointer<Double>, y: UnsafePointer<Double>, a: UnsafeMutablePointer<Double>,
        lda: Int
    ) {
        memplan_dger(Int32(m), Int32(n), alpha, x, y, a, Int32(lda))
    }

    @inline(__always)
    public static func scaleBytes(
        _ bytes: UnsafePointer<UInt8>, by scale: Double, count: Int, into d: UnsafeMutablePointer<Double>
    ) {
        var index = 0
        while index + 8 <= count {
            let values = SIMD8<Double>(UnsafeRawPointer(bytes + index).loadUnaligned(as: SIMD8<UInt8>.self)) * scale
            UnsafeMutableRawPointer(d + index).storeBytes(of: values, as: SIMD8<Double>.self)
            index += 8
        }
        while index < count {
            d[index] = Double(bytes[index]) * scale
            index += 1
        }
    }

    @inline(__always)
    public static func addBiasRelu(_ z: UnsafeMutablePointer<Double>, bias b: UnsafePointer<Double>, count: Int) {
        var index = 0
        while index + 8 <= count {
            var values = UnsafeRawPointer(z + index).loadUnaligned(as: SIMD8<Double>.self)
            values += UnsafeRawPointer(b + index).loadUnaligned(as: SIMD8<Double>.self)
            values.replace(with: 0, where: values .< 0)
            UnsafeMutableRawPointer(z + index).storeBytes(of: values, as: SIMD8<Double>.self)
            index += 8
        }
        while index < count {
            z[index] = max(z[index] + b[index], 0)
            index += 1
        }
    }

    @inline(__always)
    public static func reluMask(_ d: UnsafeMutablePointer<Double>, output out: UnsafePointer<Double>, count: Int) {
        var index = 0
        while index + 8 <= count {
            let a = UnsafeRawPointer(out + index).loadUnaligned(as: SIMD8<Double>.self)
            var values = UnsafeRawPointer(d + index).loadUnaligned(as: SIMD8<Double>.self)
            values.replace(with: 0, where: a .<= 0)
            UnsafeMutableRawPointer(d + index).storeBytes(of: values, as: SIMD8<Double>.self)
            index += 8
        }
        while index < count {
            if out[index] <= 0 { d[index] = 0 }
            index += 1
        }
    }

    @inline(__always) public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
}
