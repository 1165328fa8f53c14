// bfloat16 for mixed precision: fp32 ↔ bf16 conversion and a GEMM on bf16 operands with fp32 accumulation through
// AVX-512 BF16's dot-product instruction (vdpbf16ps: each fp32 lane adds the products of one pair of bf16 values).
// Built for every x86-64 CPU: the kernels carry target attributes and run only when the CPU reports avx512_bf16 (with
// AVX-512 F, BW and VL); memplan_bf16_enabled says which.
//
// Layout. op(B) is packed per k block into panels of NR = 32 columns: for each pair of k values (2p, 2p + 1), two
// 64-byte vectors hold [B(2p, j), B(2p + 1, j)] for columns j = 0 … 15 and 16 … 31 (k odd: the last pair's second value
// is 0). op(A) is packed per MR = 8 rows: for each pair, 8 32-bit words (A(i, 2p), A(i, 2p + 1)). The micro-kernel
// broadcasts one row's pair over a vector and dot-products it with the two column vectors: an 8 × 32 tile of fp32
// accumulators, 16 vdpbf16ps per pair (64 multiply-adds each).
#include "cgemm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <pthread.h>

#include "thread_buffer.h"

#define TARGET_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
enum { BF16_MR = 8, BF16_NR = 32, BF16_KC = 256, BF16_NC = 512 };
enum { BF16_PACK_B_BYTES = BF16_NC * BF16_KC * 2, BF16_PACK_A_BYTES = BF16_MR * BF16_KC * 2 };

static pthread_once_t bf16Once = PTHREAD_ONCE_INIT;
static pthread_key_t bf16WorkspaceKey;
static int bf16Enabled;

static void bf16Initialize(void) {
    __builtin_cpu_init();
    bf16Enabled = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
    pthread_key_create(&bf16WorkspaceKey, free);
}

int memplan_bf16_enabled(void) {
    pthread_once(&bf16Once, bf16Initialize);
    return bf16Enabled;
}

/// This thread's packing buffers (B's panels, then A's): allocated on its first call, freed when the thread exits.
static uint16_t *bf16Workspace(void) { return memplan_thread_buffer(bf16WorkspaceKey, BF16_PACK_B_BYTES + BF16_PACK_A_BYTES); }

TARGET_BF16 static void bf16_round_avx512(const float *source, uint16_t *target, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m256bh packed = _mm512_cvtneps_pbh(_mm512_loadu_ps(source + i));
        _mm256_storeu_si256((__m256i *)(target + i), (__m256i)packed);
    }
    if (i < count) {
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        __m256bh packed = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, source + i));
        _mm256_mask_storeu_epi16(target + i, mask, (__m256i)packed);
    }
}

TARGET_BF16 static void bf16_widen_avx512(const uint16_t *source, float *target, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512i wide = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(source + i))), 16);
        _mm512_storeu_ps(target + i, _mm512_castsi512_ps(wide));
    }
    if (i < count) {
        __mmask16 mask = (__mmask16)((1u << (count - i)) - 1u);
        __m512i wide = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, source + i)), 16);
        _mm512_mask_storeu_ps(target + i, mask, _mm512_castsi512_ps(wide));
    }
}

/// op(X)(row, column) of a row-major matrix with leading dimension ld: X[row·ld + column], or X[column·ld + row]
/// when transposed.
static inline uint16_t element(const uint16_t *x, int transposed, long ld, long row, long column) {
    return transposed ? x[column * ld + row] : x[row * ld + column];
}

/// op(B)'s rows k0 … k0 + kc − 1 and columns j0 … j0 + nc − 1 as NR-wide panels of k pairs (zeros past the edges).
static void bf16_pack_b(uint16_t *packed, const uint16_t *b, int transB, long ldb, long k0, int kc, long j0, int nc) {
    int pairs = (kc + 1) / 2;
    for (int panel = 0; panel < nc; panel += BF16_NR) {
        for (int p = 0; p < pairs; p++) {
            for (int j = 0; j < BF16_NR; j++) {
                int column = panel + j;
                uint16_t first = 0, second = 0;
                if (column < nc) {
                    first = element(b, transB, ldb, k0 + 2 * p, j0 + column);
                    if (2 * p + 1 < kc) second = element(b, transB, ldb, k0 + 2 * p + 1, j0 + column);
                }
                // (pair, vector half, lane, element of the pair)
                *packed++ = first;
                *packed++ = second;
            }
        }
    }
}

/// op(A)'s rows i0 … i0 + rows − 1 (at most MR) over k0 … k0 + kc − 1 as MR 32-bit pairs per k pair (zeros past the
/// edges).
static void bf16_pack_a(uint16_t *packed, const uint16_t *a, int transA, long lda, long i0, int rows, long k0, int kc) {
    int pairs = (kc + 1) / 2;
    for (int p = 0; p < pairs; p++) {
        for (int i = 0; i < BF16_MR; i++) {
            uint16_t first = 0, second = 0;
            if (i < rows) {
                first = element(a, transA, lda, i0 + i, k0 + 2 * p);
                if (2 * p + 1 < kc) second = element(a, transA, lda, i0 + i, k0 + 2 * p + 1);
            }
            *packed++ = first;
            *packed++ = second;
        }
    }
}

/// The MR × NR tile: acc(i, j) = Σ_p A(i, pair p) · B(pair p, j), then C(i, j) = α·acc + (first ? β·C : C) for the
/// tile's `rows` × `columns` that lie inside C (β = 0 on the first block: C is not read). The 16 accumulators are
/// named, not an array, so that they stay in registers at any optimisation level.
TARGET_BF16 static void bf16_tile(
    const uint16_t *packedA, const uint16_t *packedB, int pairs, float alpha, float beta, int first, float *c, long ldc,
    int rows, int columns) {
#define BF16_ZERO(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
#define BF16_ROW(i)                                                                                                  \
    {                                                                                                                \
        __m512bh a = (__m512bh)_mm512_set1_epi32(pairsA[i]);                                                         \
        c##i##0 = _mm512_dpbf16_ps(c##i##0, a, b0);                                                                  \
        c##i##1 = _mm512_dpbf16_ps(c##i##1, a, b1);                                                                  \
    }
    BF16_ZERO(0) BF16_ZERO(1) BF16_ZERO(2) BF16_ZERO(3) BF16_ZERO(4) BF16_ZERO(5) BF16_ZERO(6) BF16_ZERO(7)
    const int32_t *pairsA = (const int32_t *)packedA;
    const uint16_t *panel = packedB;
    for (int p = 0; p < pairs; p++, pairsA += BF16_MR, panel += 2 * BF16_NR) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + BF16_NR);
        BF16_ROW(0) BF16_ROW(1) BF16_ROW(2) BF16_ROW(3) BF16_ROW(4) BF16_ROW(5) BF16_ROW(6) BF16_ROW(7)
    }
#undef BF16_ROW
#undef BF16_ZERO
    __m512 acc[BF16_MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    __m512 scale = _mm512_set1_ps(alpha), keep = _mm512_set1_ps(beta);
    for (int i = 0; i < rows; i++) {
        float *row = c + i * ldc;
        for (int half = 0; half < 2; half++) {
            int width = columns - 16 * half;
            if (width <= 0) break;
            __mmask16 mask = width >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << width) - 1u);
            __m512 result = _mm512_mul_ps(acc[i][half], scale);
            if (!first) {
                result = _mm512_add_ps(result, _mm512_maskz_loadu_ps(mask, row + 16 * half));
            } else if (beta != 0) {
                result = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(mask, row + 16 * half), result);
            }
            _mm512_mask_storeu_ps(row + 16 * half, mask, result);
        }
    }
}

int memplan_gemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const uint16_t *a, int lda, const uint16_t *b,
                      int ldb, float beta, float *c, int ldc) {
    if (!memplan_bf16_enabled()) return 0;
    if (m <= 0 || n <= 0) return 1;
    uint16_t *workspace = bf16Workspace();
    if (workspace == NULL) return 0;
    uint16_t *packedB = workspace, *packedA = workspace + BF16_PACK_B_BYTES / 2;
    if (k <= 0) {
        // C = β·C (no products): β = 0 writes zeros without reading C.
        for (long i = 0; i < m; i++) {
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        }
        return 1;
    }
    for (long k0 = 0; k0 < k; k0 += BF16_KC) {
        int kc = k - k0 < BF16_KC ? (int)(k - k0) : BF16_KC;
        int pairs = (kc + 1) / 2;
        for (long j0 = 0; j0 < n; j0 += BF16_NC) {
            int nc = n - j0 < BF16_NC ? (int)(n - j0) : BF16_NC;
            bf16_pack_b(packedB, b, transB, ldb, k0, kc, j0, nc);
            for (long i0 = 0; i0 < m; i0 += BF16_MR) {
                int rows = m - i0 < BF16_MR ? (int)(m - i0) : BF16_MR;
                bf16_pack_a(packedA, a, transA, lda, i0, rows, k0, kc);
                for (int panel = 0; panel < nc; panel += BF16_NR) {
                    int columns = nc - panel < BF16_NR ? nc - panel : BF16_NR;
                    bf16_tile(
                        packedA, packedB + (long)panel * pairs * 2, pairs, alpha, beta, k0 == 0, c + i0 * ldc + j0 + panel,
                        ldc, rows, columns);
                }
            }
        }
    }
    return 1;
}

void memplan_bf16_round(const float *source, uint16_t *target, long count) {
    if (memplan_bf16_enabled()) {
        bf16_round_avx512(source, target, count);
        return;
    }
    for (long i = 0; i < count; i++) target[i] = memplan_bf16_narrow(source[i]);
}

void memplan_bf16_widen(const uint16_t *source, float *target, long count) {
    if (memplan_bf16_enabled()) {
        bf16_widen_avx512(source, target, count);
        return;
    }
    for (long i = 0; i < count; i++) target[i] = memplan_bf16_value(source[i]);
}

#else
int memplan_bf16_enabled(void) { return 0; }
int memplan_gemm_bf16(int transA, int transB, int m, int n, int k, float alpha, const uint16_t *a, int lda, const uint16_t *b,
                      int ldb, float beta, float *c, int ldc) {
    return 0;
}
void memplan_bf16_round(const float *source, uint16_t *target, long count) {
    for (long i = 0; i < count; i++) target[i] = memplan_bf16_narrow(source[i]);
}
void memplan_bf16_widen(const uint16_t *source, float *target, long count) {
    for (long i = 0; i < count; i++) target[i] = memplan_bf16_value(source[i]);
}
#endif
