// bfloat16 for mixed precision: memplan's conversions and GEMM on bf16 operands (CGEMM's bf16.c) under Swift names.

import CGEMM

/// bfloat16 values, stored as their 16-bit patterns (`UInt16`): the top half of the fp32 pattern, 8 bits of
/// significand. The products of a bf16-mixed step take bf16 operands and accumulate in fp32.
public enum BF16 {
    /// Whether this CPU runs memplan's bf16 GEMM (AVX-512 F, BW, VL and BF16); without it `gemm` returns false.
    public static var kernelsEnabled: Bool { memplan_bf16_enabled() != 0 }

    /// Whether bf16-mixed products run on AMX tiles here (amx_tile, amx_bf16, the tile state granted, MEMPLAN_BF16 not
    /// "portable"); otherwise they multiply the same bf16 values in fp32.
    public static var amxEnabled: Bool { memplan_bf16_amx_enabled() != 0 }

    /// target[i] = bf16(source[i]), rounded to nearest even (NaN stays NaN), for i < count.
    @inline(__always)
    public static func round(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<UInt16>, count: Int) {
        memplan_bf16_round(source, target, count)
    }

    /// target[i] = source[i] as fp32 (exact), for i < count.
    @inline(__always)
    public static func widen(_ source: UnsafePointer<UInt16>, into target: UnsafeMutablePointer<Float>, count: Int) {
        memplan_bf16_widen(source, target, count)
    }

    /// Row-major C = α·op(A)·op(B) + β·C, op(A) (m, k) and op(B) (k, n) in bf16, C (m, n) in fp32, each product
    /// accumulated in fp32 along k. Returns false without touching C when the CPU lacks the kernels. β = 0 does not
    /// read C.
    @inline(__always)
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<UInt16>, lda: Int,
        b: UnsafePointer<UInt16>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) -> Bool {
        memplan_gemm_bf16(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c,
            Int32(ldc)) != 0
    }

    /// Row-major C = op(A)·op(B) with A, B and C in bf16, each product summed in fp32 over the whole k and rounded
    /// once (the store epilogue of the bf16-mixed step's products). Returns true when AMX tiles ran it, false when the
    /// portable fp32 loop did.
    @inline(__always)
    public static func product(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, lda: Int,
        b: UnsafePointer<UInt16>, ldb: Int, c: UnsafeMutablePointer<UInt16>, ldc: Int
    ) -> Bool {
        var epilogue = memplan_bf16_epilogue()
        epilogue.kind = Int32(MEMPLAN_EPILOGUE_STORE)
        epilogue.scale = 1
        epilogue.output = c
        epilogue.outputStride = ldc
        return memplan_gemm_bf16_epilogue(
            transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), &epilogue)
            != 0
    }

    /// The record's name for the kernels that ran a bf16-mixed step's products (`throughput.gemm_kernels`):
    /// `memplan-amx-bf16` (AMX tiles) or `memplan-bf16-fp32` (the same bf16 values multiplied in fp32).
    public static func productKernels(amx: Bool) -> String { amx ? "memplan-amx-bf16" : "memplan-bf16-fp32" }

    /// The fp32 value of a bf16 pattern (exact).
    @inline(__always)
    public static func value(_ bits: UInt16) -> Float { memplan_bf16_value(bits) }

    /// bf16(value), rounded to nearest even; NaN stays a (quiet) NaN.
    @inline(__always)
    public static func rounded(_ value: Float) -> UInt16 { memplan_bf16_narrow(value) }
}
