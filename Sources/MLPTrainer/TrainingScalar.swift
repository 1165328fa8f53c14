// Float and Double behind one protocol: BLAS and libm entry points per precision.

import CBLAS
import Foundation
import ModelProfile

#if canImport(Glibc)
    import Glibc
#endif

/// An element type the trainer has kernels for: `Float` (single) and `Double` (double).
public protocol TrainingScalar: BinaryFloatingPoint, Sendable {
    static var precision: Precision { get }

    /// Row-major `C = α·op(A)·op(B) + β·C`, C (m, n), op(A) (m, k), op(B) (k, n).
    /// The corresponding C functions are `cblas_sgemm` and `cblas_dgemm`.
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
        alpha: Self, a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    /// Row-major `y = α·op(A)·x + β·y` for A (m, n). The corresponding C functions are `cblas_sgemv` and `cblas_dgemv`.
    static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Self, a: UnsafePointer<Self>, lda: Int, x: UnsafePointer<Self>,
        beta: Self, y: UnsafeMutablePointer<Self>)

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
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inline(__always)
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
        beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        cblas_sgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
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
        cblas_dgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inline(__always)
    public static func gemv(
        transpose: Bool, m: Int, n: Int, alpha: Double, a: UnsafePointer<Double>, lda: Int, x: UnsafePointer<Double>,
        beta: Double, y: UnsafeMutablePointer<Double>
    ) {
        cblas_dgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }

    @inline(__always) public static func exp(_ x: Double) -> Double { Glibc.exp(x) }
    @inline(__always) public static func log(_ x: Double) -> Double { Glibc.log(x) }
    @inline(__always) public static func tanh(_ x: Double) -> Double { Glibc.tanh(x) }
}

/// OpenBLAS's thread count and the kernel it picked for this CPU.
public enum BLASInfo {
    /// The corresponding C function is `openblas_get_num_threads`.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }

    /// The corresponding C function is `openblas_set_num_threads`.
    public static func setThreadCount(_ count: Int) { openblas_set_num_threads(Int32(count)) }

    /// e.g. `Cooperlake`, `Haswell`. The corresponding C function is `openblas_get_corename`.
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// Kernels OpenBLAS falls back to when it does not recognise a CPU (Debian's 0.3.21 picks
    /// Prescott, SSE3 only, on CPU models newer than itself).
    static let fallbackCores: Set<String> = [
        "Prescott", "Katmai", "Coppermine", "Northwood", "Banias", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "unknown",
    ]

    /// The OpenBLAS core type this CPU supports, from its /proc/cpuinfo flags: SkylakeX with
    /// AVX-512 (F, BW, VL, DQ, CD), Haswell with AVX2 and FMA, nil otherwise.
    public static func supportedCoreType(cpuFlags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"].allSatisfy(cpuFlags.contains) { return "SkylakeX" }
        if cpuFlags.contains("avx2"), cpuFlags.contains("fma") { return "Haswell" }
        return nil
    }

    /// The core type to force when OpenBLAS picked a fallback kernel for a CPU that can do better;
    /// nil when its own choice stands.
    public static func betterCoreType(current: String, cpuFlags: Set<String>) -> String? {
        guard fallbackCores.contains(current) else { return nil }
        return supportedCoreType(cpuFlags: cpuFlags)
    }

    /// The flags of the first CPU in /proc/cpuinfo.
    public static func cpuFlags() -> Set<String> {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
