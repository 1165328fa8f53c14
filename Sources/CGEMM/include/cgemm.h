// memplan's own AVX-512 GEMM for the products of a training step (row-major C = α·op(A)·op(B) + β·C).
// The trainer calls these first and falls back to BLAS when they return 0: on a CPU without AVX-512F, when
// MEMPLAN_GEMM=blas is set, or for a shape they do not take (see memplan_gemm_takes).
#ifndef MEMPLAN_CGEMM_H
#define MEMPLAN_CGEMM_H

#include <stdint.h>
#include <string.h>

/// 1 when the AVX-512 kernels run on this CPU and MEMPLAN_GEMM is not "blas" (checked once per process).
int memplan_gemm_enabled(void);

/// 1 when the kernels take an (m, n, k) product: m ≥ 16, n ≥ 16 and k ≥ 16; thinner products stay in BLAS,
/// whose edge kernels are faster there.
int memplan_gemm_takes(int m, int n, int k);

/// Computes C and returns 1, or returns 0 without touching C (kernels disabled, or a shape they do not take).
/// Each thread packs op(B) into a workspace of its own (528 KiB, allocated on the thread's first call, freed
/// when the thread exits), so concurrent calls from different threads are safe.
int memplan_gemm_f32(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                     float beta, float *c, int ldc);
int memplan_gemm_f64(int transA, int transB, int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb,
                     double beta, double *c, int ldc);

/// The same product with work fused into the store of C's last k block, element by element: r = α·op(A)·op(B) + β·C,
/// then r += bias[j] (bias non-NULL: one value per column of C), then r = max(r, 0) (relu non-zero), then r = 0
/// where gate[i·ldg + j] ≤ 0 (gate non-NULL: ReLU's derivative, NaN gates keep r). Each step rounds as the separate
/// pass it replaces would, so the results are bit-identical to the product followed by those passes. Returns 0
/// without touching C when the kernels do not take the product; the caller then runs the passes itself.
int memplan_gemm_fused_f32(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                           float beta, float *c, int ldc, const float *bias, int relu, const float *gate, int ldg);
int memplan_gemm_fused_f64(int transA, int transB, int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb,
                           double beta, double *c, int ldc, const double *bias, int relu, const double *gate, int ldg);

/// GELU's tanh approximation, out[i] = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), for i < count, with tanh as a
/// vectorised rational function (AVX-512 when the CPU has it); within 3e-7 of libm's tanhf-based GELU.
void memplan_gelu_forward_f32(float *out, const float *inp, long count);
/// GELU's backward: dinp[i] (+)= dout[i]·GELU'(inp[i]) (accumulate non-zero: added to dinp).
void memplan_gelu_backward_f32(float *dinp, const float *inp, const float *dout, long count, int accumulate);
/// The rational tanh itself (for tests).
float memplan_tanh_f32(float x);

/// The MLP's elementwise kernels (exact operations: every vector width gives the same bits; AVX-512 when the CPU has
/// it). ReLU's backward mask: d[i] = 0 where out[i] ≤ 0, for i < count.
void memplan_relu_mask_f32(float *d, const float *out, long count);
void memplan_relu_mask_f64(double *d, const double *out, long count);
/// A forward layer's bias and ReLU in one pass: z[i] = max(z[i] + b[i], 0) (a NaN stays NaN).
void memplan_add_bias_relu_f32(float *z, const float *b, long count);
void memplan_add_bias_relu_f64(double *z, const double *b, long count);
/// Bytes to reals: d[i] = (T)bytes[i] · scale (pixels / 255).
void memplan_scale_bytes_f32(const unsigned char *bytes, float scale, long count, float *d);
void memplan_scale_bytes_f64(const unsigned char *bytes, double scale, long count, double *d);

/// fp32 → bf16 without special instructions: round to nearest even; NaN stays a (quiet) NaN. (The CPU's conversion
/// also flushes subnormal inputs to zero; this does not: their bf16 values are subnormal too, below 1.2e-38.)
static inline uint16_t memplan_bf16_narrow(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

/// bf16 → fp32, exactly.
static inline float memplan_bf16_value(uint16_t value) {
    uint32_t bits = (uint32_t)value << 16;
    float result;
    memcpy(&result, &bits, 4);
    return result;
}

/// 1 when this CPU runs the bf16 kernels (AVX-512 F, BW, VL and BF16; checked once per process).
int memplan_bf16_enabled(void);

/// fp32 → bfloat16 (the top 16 bits of the fp32 pattern), rounded to nearest even; NaN stays NaN. With the CPU's
/// instruction, subnormal inputs become ±0.
void memplan_bf16_round(const float *source, uint16_t *target, long count);
/// bfloat16 → fp32, exactly.
void memplan_bf16_widen(const uint16_t *source, float *target, long count);

/// Row-major C = α·op(A)·op(B) + β·C with A and B in bfloat16 and C in fp32, the products accumulated in fp32
/// (vdpbf16ps: pairs along k). Computes C and returns 1, or returns 0 without touching C when the CPU lacks
/// avx512_bf16. β = 0 does not read C. Each thread packs into a workspace of its own (260 KiB, allocated on its first
/// call, freed when the thread exits), so concurrent calls from different threads are safe.
int memplan_gemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const uint16_t *a, int lda, const uint16_t *b,
                      int ldb, float beta, float *c, int ldc);

/// What a bf16-mixed product does with each fp32 result acc(i, j) (`memplan_gemm_bf16_epilogue`).
enum {
    /// output(i, j) = bf16(f(acc + bias(j))): a forward layer's activation (bias may be NULL).
    MEMPLAN_EPILOGUE_BIAS_ACTIVATION = 1,
    /// output(i, j) = bf16(scale·acc · f′(derivativeOf(i, j))): a delta masked by the layer below's derivative, taken
    /// from its output (derivativeOf NULL: no mask), or a gradient.
    MEMPLAN_EPILOGUE_STORE = 2,
    /// master(i, j) += scale·acc; output(i, j) = bf16(master(i, j)): SGD's update (scale = −η) of the fp32 master
    /// weights and their bf16 compute copy.
    MEMPLAN_EPILOGUE_SGD = 3,
    /// output(i, j) = bf16(output(i, j) + scale·acc + bias(j)): a product added onto what the output holds (a residual
    /// stream, a gradient several heads share); bias may be NULL.
    MEMPLAN_EPILOGUE_ADD = 4,
};
/// The activations f of the epilogues (f′ from the output: relu a > 0, sigmoid a(1 − a), tanh 1 − a²).
enum { MEMPLAN_ACTIVATION_IDENTITY = 0, MEMPLAN_ACTIVATION_RELU = 1, MEMPLAN_ACTIVATION_SIGMOID = 2, MEMPLAN_ACTIVATION_TANH = 3 };

typedef struct {
    int kind;
    int activation;
    float scale;
    /// (n) bf16, or NULL
    const uint16_t *bias;
    /// (m, n) bf16 with row stride outputStride
    uint16_t *output;
    long outputStride;
    /// (m, n) bf16 with row stride outputStride, or NULL
    const uint16_t *derivativeOf;
    /// (m, n) fp32 with row stride masterStride (SGD)
    float *master;
    long masterStride;
} memplan_bf16_epilogue;

/// 1 when the AMX tile kernels run (amx_tile and amx_bf16, the tile state granted by the kernel, MEMPLAN_BF16 not
/// "portable"; checked once per process).
int memplan_bf16_amx_enabled(void);

/// target[i] = bf16(source[i] · scale), rounded to nearest even: a batch of byte features into bf16.
void memplan_bf16_from_bytes(const uint8_t *source, float scale, uint16_t *target, long count);

/// Makes this thread's workspace large enough for an (m, n, k) product now (the trainer calls it on every part before
/// the first step, so no product allocates in the step loop). Returns 0 when memory runs out.
int memplan_bf16_reserve(int m, int n, int k);

/// Lends this thread a packing workspace (`bytes` at `base`, 64-byte aligned: an arena slice) until the next call;
/// NULL takes it back. Products that fit it pack there (it is never freed here); a larger one uses the thread's own.
void memplan_bf16_use_workspace(void *base, size_t bytes);

/// op(A) (m, k) · op(B) (k, n), bf16 operands accumulated in fp32 over the whole k, each result passed through the
/// epilogue (no fp32 C exists). Returns 1 when the AMX kernel ran, 0 when the portable fp32 loop did (same results up
/// to the order of the fp32 sums). Each thread packs into the workspace lent to it (`memplan_bf16_use_workspace`) when
/// it is large enough, else into one of its own, (⌈m⌉₃₂·(⌈k⌉₃₂ + 32) + ⌈n⌉₃₂·⌈k⌉₃₂)·2 bytes, at
/// least 1 MiB, allocated on its first call and grown only for a larger product.
int memplan_gemm_bf16_epilogue(
    int transA, int transB, int m, int n, int k, const uint16_t *a, int lda, const uint16_t *b, int ldb,
    const memplan_bf16_epilogue *epilogue);

/// Asks for the 64-byte line at `address` to be brought toward the core (into L2) without waiting for it; never faults.
static inline void memplan_prefetch(const void *address) { __builtin_prefetch(address, 0, 2); }

#endif
