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

    /// The C functions behind this type's products (`ProductFunctions`); `gemm`, `fusedGEMM`, `blasGEMM`, `gemv` and
    /// `ger` call them.
    static var products: ProductFunctions<Self> { get }

    /// The functions behind this type's elementwise kernels (`ElementwiseFunctions`); `reluMask`, `addBiasRelu`,
    /// `scaleBytes`, `gelu` and `geluBackward` call them.
    static var elementwise: ElementwiseFunctions<Self> { get }

    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
}

/// √(2/π), GELU's tanh-approximation constant.
let geluScale = 0.797_884_560_802_865_4

extension TrainingScalar {
    /// The scalar GELU: out = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    @inline(__always)
    static func scalarGELU(_ out: UnsafeMutablePointer<Self>, _ inp: UnsafePointer<Self>, count: Int) {
        let k = Self(geluScale)
        for i in 0..<count {
            let x = inp[i]
            out[i] = 0.5 * x * (1 + tanh(k * (x + 0.044715 * x * x * x)))
        }
    }

    /// The scalar GELU backward: dinp (+)= dout·(½(1 + tanh u) + ½·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²)).
    @inline(__always)
    static func scalarGELUBackward(
        _ dinp: UnsafeMutablePointer<Self>, _ inp: UnsafePointer<Self>, _ dout: UnsafePointer<Self>, count: Int, accumulate: Bool
    ) {
        let k = Self(geluScale)
        for i in 0..<count {
            let x = inp[i]
            let t = tanh(k * (x + 0.044715 * x * x * x))
            let local = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
            dinp[i] = accumulate ? dinp[i] + local * dout[i] : local * dout[i]
        }
    }
}

extension Float: TrainingScalar {
    public static var precision: Precision { .single }

    public static let products = ProductFunctions<Float>(
        own: memplan_gemm_f32, fused: memplan_gemm_fused_f32, blas: memplan_sgemm, gemv: memplan_sgemv, ger: memplan_sger)

    /// GELU is memplan's vectorised C loop (a rational tanh within 3e-7).
    public static let elementwise = ElementwiseFunctions<Float>(
        reluMask: memplan_relu_mask_f32, addBiasRelu: memplan_add_bias_relu_f32, scaleBytes: memplan_scale_bytes_f32,
        gelu: memplan_gelu_forward_f32, geluBackward: memplan_gelu_backward_f32)

    @inline(__always) public static func exp(_ x: Float) -> Float { expf(x) }
    @inline(__always) public static func log(_ x: Float) -> Float { logf(x) }
    @inline(__always) public static func tanh(_ x: Float) -> Float { tanhf(x) }
}

extension Double: TrainingScalar {
    public static var precision: Precision { .double }

    public static let products = ProductFunctions<Double>(
        own: memplan_gemm_f64, fused: memplan_gemm_fused_f64, blas: memplan_dgemm, gemv: memplan_dgemv, ger: memplan_dger)

    /// GELU is the scalar loop on libm's tanh.
    public static let elementwise = ElementwiseFunctions<Double>(
        reluMask: memplan_relu_mask_f64, addBiasRelu: memplan_add_bias_relu_f64, scaleBytes: memplan_scale_bytes_f64,
        gelu: { scalarGELU($0, $1, count: $2) },
        geluBackward: { scalarGELUBackward($0, $1, $2, count: $3, accumulate: $4 != 0) })

    @inline(__always) public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
}

/// One element type's elementwise kernels. The ReLU and byte-scaling ones are CGEMM's (`memplan_relu_mask_f32`/`_f64`,
/// `memplan_add_bias_relu_*`, `memplan_scale_bytes_*`): exact operations, so their AVX-512 loops give the bits of the
/// scalar expressions. GELU's tanh approximation (`TransformerKernels.geluForward`) is whatever the type states.
public struct ElementwiseFunctions<T>: Sendable {
    let reluMask: @Sendable (UnsafeMutablePointer<T>, UnsafePointer<T>, Int) -> Void
    let addBiasRelu: @Sendable (UnsafeMutablePointer<T>, UnsafePointer<T>, Int) -> Void
    let scaleBytes: @Sendable (UnsafePointer<UInt8>, T, Int, UnsafeMutablePointer<T>) -> Void
    /// (out, inp, count).
    let gelu: @Sendable (UnsafeMutablePointer<T>, UnsafePointer<T>, Int) -> Void
    /// (dinp, inp, dout, count, accumulate: 0 overwrites dinp, 1 adds to it).
    let geluBackward: @Sendable (UnsafeMutablePointer<T>, UnsafePointer<T>, UnsafePointer<T>, Int, Int32) -> Void
}

extension TrainingScalar {
    /// d[i] = 0 where out[i] ≤ 0 (ReLU's backward mask), i < count.
    @inline(__always)
    public static func reluMask(_ d: UnsafeMutablePointer<Self>, output out: UnsafePointer<Self>, count: Int) {
        elementwise.reluMask(d, out, count)
    }

    /// z[i] = max(z[i] + b[i], 0): a forward layer's bias and ReLU in one pass.
    @inline(__always)
    public static func addBiasRelu(_ z: UnsafeMutablePointer<Self>, bias b: UnsafePointer<Self>, count: Int) {
        elementwise.addBiasRelu(z, b, count)
    }

    /// d[i] = Self(bytes[i]) · scale; bit-identical to the scalar expression.
    @inline(__always)
    public static func scaleBytes(_ bytes: UnsafePointer<UInt8>, by scale: Self, count: Int, into d: UnsafeMutablePointer<Self>) {
        elementwise.scaleBytes(bytes, scale, count, d)
    }

    /// out[i] = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), x = inp[i], i < count: GELU's tanh approximation.
    @inline(__always)
    public static func gelu(_ out: UnsafeMutablePointer<Self>, _ inp: UnsafePointer<Self>, count: Int) {
        elementwise.gelu(out, inp, count)
    }

    /// GELU's backward over `count` elements: dinp = (or +=, with `accumulate`) dout · GELU′(inp).
    @inline(__always)
    public static func geluBackward(
        _ dinp: UnsafeMutablePointer<Self>, _ inp: UnsafePointer<Self>, _ dout: UnsafePointer<Self>, count: Int, accumulate: Bool
    ) {
        elementwise.geluBackward(dinp, inp, dout, count, accumulate ? 1 : 0)
    }
}

/// One element type's product entry points: memplan's own AVX-512 kernels (`memplan_gemm_f32`/`_f64` and their fused
/// forms in CGEMM, which return 0 where they do not take a product) and BLAS through the CBLAS shim
/// (`memplan_sgemm`/`dgemm`, `sgemv`/`dgemv`, `sger`/`dger`). Arguments in C's order, dimensions as Int32.
public struct ProductFunctions<T>: Sendable {
    typealias GEMM =
        @Sendable (
            Int32, Int32, Int32, Int32, Int32, T, UnsafePointer<T>, Int32, UnsafePointer<T>, Int32, T, UnsafeMutablePointer<T>,
            Int32
        ) -> Void
    let own:
        @Sendable (
            Int32, Int32, Int32, Int32, Int32, T, UnsafePointer<T>, Int32, UnsafePointer<T>, Int32, T, UnsafeMutablePointer<T>,
            Int32
        ) -> Int32
    let fused:
        @Sendable (
            Int32, Int32, Int32, Int32, Int32, T, UnsafePointer<T>, Int32, UnsafePointer<T>, Int32, T, UnsafeMutablePointer<T>,
            Int32,
            UnsafePointer<T>?, Int32, UnsafePointer<T>?, Int32
        ) -> Int32
    let blas: GEMM
    let gemv: @Sendable (Int32, Int32, Int32, T, UnsafePointer<T>, Int32, UnsafePointer<T>, T, UnsafeMutablePointer<T>) -> Void
    let ger: @Sendable (Int32, Int32, T, UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>, Int32) -> Void
}

extension TrainingScalar {
    /// Row-major `C = α·op(A)·op(B) + β·C`, C (m, n), op(A) (m, k), op(B) (k, n).
    /// memplan's own AVX-512 kernels take it when the CPU has AVX-512F and the product is at least 16 × 16 × 16;
    /// otherwise BLAS (`cblas_sgemm`/`cblas_dgemm`).
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        let (ta, tb): (Int32, Int32) = (transposeA ? 1 : 0, transposeB ? 1 : 0)
        if products.own(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc)) != 0 {
            return
        }
        products.blas(ta, tb, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `gemm` with work fused into the store of C, element by element: r = α·op(A)·op(B) + β·C, then r += bias[column]
    /// (bias non-nil), then max(0, r) (relu), then 0 where gate[row·ldg + column] ≤ 0 (gate non-nil: ReLU's derivative).
    /// Bit-identical to the product followed by those passes. Only memplan's own kernels fuse: returns false without
    /// touching C where they do not take the product.
    @inline(__always)
    public static func fusedGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int, bias: UnsafePointer<Self>?, relu: Bool, gate: UnsafePointer<Self>?,
        ldg: Int
    ) -> Bool {
        products.fused(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
            Int32(ldc), bias, relu ? 1 : 0, gate, Int32(ldg)) != 0
    }

    /// The same product always in BLAS (`cblas_sgemm`/`cblas_dgemm`), for the ceiling's BLAS-only figures.
    @inline(__always)
    public static func blasGEMM(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        products.blas(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
            Int32(ldc))
    }

    /// Row-major `y = α·op(A)·x + β·y` for A (m, n). The corresponding C functions are `cblas_sgemv` and `cblas_dgemv`.
    @inline(__always)
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int, x: UnsafePointer<Self>,
        beta: Self, y: UnsafeMutablePointer<Self>
    ) {
        products.gemv(transpose ? 1 : 0, Int32(m), Int32(n), alpha, a, Int32(lda), x, beta, y)
    }

    /// Row-major rank-1 update `A = α·x·yᵀ + A` for A (m, n). The corresponding C functions are `cblas_sger` and
    /// `cblas_dger`.
    @inline(__always)
    public static func ger(
        m: Int, n: Int, alpha: Self, x: UnsafePointer<Self>, y: UnsafePointer<Self>, a: UnsafeMutablePointer<Self>, lda: Int
    ) {
        products.ger(Int32(m), Int32(n), alpha, x, y, a, Int32(lda))
    }
}
