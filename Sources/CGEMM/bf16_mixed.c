// The products of a bf16-mixed training step: bf16 operands, fp32 accumulation over the whole k, and an epilogue
// that writes the result where the step wants it (a bf16 activation with bias and activation, a bf16 delta masked by
// the previous layer's derivative, a bf16 gradient, or SGD's update of the fp32 master weights and their bf16 copy).
// No fp32 C matrix exists: each 32 × 32 block of accumulators goes through the epilogue from the stack.
//
// Paths. AMX (amx_tile + amx_bf16, Sapphire Rapids and later): op(A) packed as rows of k padded to 32, op(B) as
// 16-column panels of k pairs (the tile's VNNI layout), a 32 × 32 block = 2 × 2 tiles of tdpbf16ps. Elsewhere the
// portable path: the same bf16 values widened to fp32 and multiplied in fp32 (identical memory, slower).
// MEMPLAN_BF16=portable forces the portable path.
#include "cgemm.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = 32 };

static inline uint16_t element(const uint16_t *x, int transposed, long ld, long row, long column) {
    return transposed ? x[column * ld + row] : x[row * ld + column];
}

/// f(z) for the forward epilogue.
static inline float activate(float z, int activation) {
    switch (activation) {
    case MEMPLAN_ACTIVATION_RELU: return z > 0 ? z : 0;
    case MEMPLAN_ACTIVATION_SIGMOID: return 1.0f / (1.0f + expf(-z));
    case MEMPLAN_ACTIVATION_TANH: return tanhf(z);
    default: return z;
    }
}

/// f′ as a function of the output a = f(z), for the delta epilogue.
static inline float derivative(float a, int activation) {
    switch (activation) {
    case MEMPLAN_ACTIVATION_RELU: return a > 0 ? 1.0f : 0.0f;
    case MEMPLAN_ACTIVATION_SIGMOID: return a * (1.0f - a);
    case MEMPLAN_ACTIVATION_TANH: return 1.0f - a * a;
    default: return 1.0f;
    }
}

/// Applies the epilogue to one block: acc (rows, columns), row stride BLOCK, at C's (i0, j0).
static void finish_block(const memplan_bf16_epilogue *e, const float *acc, long i0, long j0, int rows, int columns) {
    for (int i = 0; i < rows; i++) {
        const float *row = acc + i * BLOCK;
        long r = i0 + i;
        switch (e->kind) {
        case MEMPLAN_EPILOGUE_BIAS_ACTIVATION: {
            uint16_t *out = e->output + r * e->outputStride + j0;
            for (int j = 0; j < columns; j++) {
                float z = row[j] + (e->bias != NULL ? memplan_bf16_value(e->bias[j0 + j]) : 0.0f);
                out[j] = memplan_bf16_narrow(activate(z, e->activation));
            }
            break;
        }
        case MEMPLAN_EPILOGUE_STORE: {
            uint16_t *out = e->output + r * e->outputStride + j0;
            const uint16_t *mask = e->derivativeOf != NULL ? e->derivativeOf + r * e->outputStride + j0 : NULL;
            for (int j = 0; j < columns; j++) {
                float value = row[j] * e->scale;
                if (mask != NULL) value *= derivative(memplan_bf16_value(mask[j]), e->activation);
                out[j] = memplan_bf16_narrow(value);
            }
            break;
        }
        case MEMPLAN_EPILOGUE_ADD: {
            uint16_t *out = e->output + r * e->outputStride + j0;
            for (int j = 0; j < columns; j++) {
                float bias = e->bias != NULL ? memplan_bf16_value(e->bias[j0 + j]) : 0.0f;
                out[j] = memplan_bf16_narrow(memplan_bf16_value(out[j]) + e->scale * row[j] + bias);
            }
            break;
        }
        case MEMPLAN_EPILOGUE_SGD: {
            float *master = e->master + r * e->masterStride + j0;
            uint16_t *out = e->output + r * e->outputStride + j0;
            for (int j = 0; j < columns; j++) {
                master[j] += e->scale * row[j];
                out[j] = memplan_bf16_narrow(master[j]);
            }
            break;
        }
        default: break;
        }
    }
}

// MARK: - The portable path

static void gemm_portable(
    int transA, int transB, long m, long n, long k, const uint16_t *a, long lda, const uint16_t *b, long ldb,
    const memplan_bf16_epilogue *e) {
    float acc[BLOCK * BLOCK];
    for (long i0 = 0; i0 < m; i0 += BLOCK) {
        int rows = m - i0 < BLOCK ? (int)(m - i0) : BLOCK;
        for (long j0 = 0; j0 < n; j0 += BLOCK) {
            int columns = n - j0 < BLOCK ? (int)(n - j0) : BLOCK;
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < columns; j++) {
                    float sum = 0;
                    for (long p = 0; p < k; p++) {
                        sum += memplan_bf16_value(element(a, transA, lda, i0 + i, p)) *
                               memplan_bf16_value(element(b, transB, ldb, p, j0 + j));
                    }
                    acc[i * BLOCK + j] = sum;
                }
            }
            finish_block(e, acc, i0, j0, rows, columns);
        }
    }
}

// MARK: - The AMX path

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TARGET_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512bw,avx512vl,avx512bf16")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };

static pthread_once_t amxOnce = PTHREAD_ONCE_INIT;
static pthread_key_t amxWorkspaceKey;
static int amxEnabled;

/// AMX runs when CPUID reports amx_tile and amx_bf16, the kernel grants this process the tile data state, and
/// MEMPLAN_BF16 is not "portable".
static void amxInitialize(void) {
    pthread_key_create(&amxWorkspaceKey, free);
    const char *setting = getenv("MEMPLAN_BF16");
    if (setting != NULL && strcmp(setting, "portable") == 0) return;
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return;
    int tile = (edx >> 24) & 1, bf16 = (edx >> 22) & 1;
    if (!tile || !bf16) return;
    // The packing and epilogues use AVX-512 F, BW, VL and BF16 (a VM may expose AMX and hide those).
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") || !__builtin_cpu_supports("avx512vl") ||
        !__builtin_cpu_supports("avx512bf16"))
        return;
    amxEnabled = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

/// This thread's packing buffers: one the caller lent it (`memplan_bf16_use_workspace`, never freed here) and one it
/// allocated itself (registered under amxWorkspaceKey: freed when the thread exits or grows it).
static __thread uint16_t *lentWorkspace, *ownWorkspace;
static __thread size_t lentCapacity, ownCapacity;

/// A packing buffer of at least `bytes` for this thread: the lent one when it is large enough, else its own, allocated
/// (or grown) only when it has none that large. NULL when memory runs out.
static uint16_t *amxWorkspace(size_t bytes) {
    if (lentWorkspace != NULL && lentCapacity >= bytes) return lentWorkspace;
    if (ownWorkspace == NULL || ownCapacity < bytes) {
        size_t capacity = bytes < ((size_t)1 << 20) ? ((size_t)1 << 20) : bytes;
        uint16_t *grown = aligned_alloc(64, (capacity + 63) / 64 * 64);
        if (grown == NULL) return NULL;
        free(pthread_getspecific(amxWorkspaceKey));
        pthread_setspecific(amxWorkspaceKey, grown);
        ownWorkspace = grown;
        ownCapacity = capacity;
    }
    return ownWorkspace;
}

struct tile_config {
    uint8_t palette, startRow, reserved[14];
    uint16_t bytesPerRow[16];
    uint8_t rows[16];
};

/// op(A) = a (m, k) as rows of `stride` values, the first kPadded of them read (zeros past k), mPadded rows (zeros past
/// m). The stride is kPadded + 32: rows 64 bytes off a multiple of 4 KiB, so a tile's 16 rows do not share a cache set.
static void pack_a(uint16_t *packed, const uint16_t *a, long lda, long m, long k, long mPadded, long kPadded, long stride) {
    memset(packed + m * stride, 0, (size_t)((mPadded - m) * stride) * 2);
    for (long i = 0; i < m; i++) {
        memcpy(packed + i * stride, a + i * lda, (size_t)k * 2);
        memset(packed + i * stride + k, 0, (size_t)(kPadded - k) * 2);
    }
}

/// r[i][j] → r[j][i] for 16 vectors of 16 32-bit words: within 128-bit lanes (32-bit, then 64-bit interleaves), then
/// across lanes.
TARGET_AVX512 static inline void transpose16(__m512i r[16]) {
    __m512i t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int g = 0; g < 16; g += 4) {
        u[g] = _mm512_unpacklo_epi64(t[g], t[g + 2]);
        u[g + 1] = _mm512_unpackhi_epi64(t[g], t[g + 2]);
        u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
        u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
    }
    // u[4g + e] lane L holds element 4L + e of rows 4g … 4g + 3.
    for (int e = 0; e < 4; e++) {
        __m512i v0 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0x88), v1 = _mm512_shuffle_i32x4(u[e], u[4 + e], 0xdd);
        __m512i w0 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0x88), w1 = _mm512_shuffle_i32x4(u[8 + e], u[12 + e], 0xdd);
        r[e] = _mm512_shuffle_i32x4(v0, w0, 0x88);
        r[8 + e] = _mm512_shuffle_i32x4(v0, w0, 0xdd);
        r[4 + e] = _mm512_shuffle_i32x4(v1, w1, 0x88);
        r[12 + e] = _mm512_shuffle_i32x4(v1, w1, 0xdd);
    }
}

/// op(B) (k, n) as 16-column panels of k pairs: panel q, pair p, column j: [B(2p, 16q + j), B(2p + 1, 16q + j)]
/// (zeros past k and n): one AMX B tile is 16 pairs of one panel, 64 bytes a pair.
TARGET_AVX512 static void pack_b(
    uint16_t *packed, const uint16_t *b, int transB, long ldb, long k, long n, long nPadded, long kPadded) {
    long pairs = kPadded / 2, fullPairs = k / 2;
    uint32_t *words = (uint32_t *)packed;
    if (transB) {
        // B(2p, j), B(2p + 1, j) = b[j·ldb + 2p], b[j·ldb + 2p + 1]: one 32-bit word of row j of b, so a panel's 16 pairs
        // are a 16 × 16 transpose of 32-bit words (zeros past n and past k's last whole pair; an odd k's last pair after).
        for (long q = 0; q < nPadded / 16; q++) {
            uint32_t *panel = words + q * pairs * 16;
            for (long p0 = 0; p0 < pairs; p0 += 16) {
                long left = fullPairs - p0;
                __mmask16 mask = left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
                __m512i r[16];
                for (int j = 0; j < 16; j++) {
                    long column = 16 * q + j;
                    r[j] = column < n ? _mm512_maskz_loadu_epi32(mask, b + column * ldb + 2 * p0) : _mm512_setzero_si512();
                }
                transpose16(r);
                for (int i = 0; i < 16; i++) _mm512_storeu_si512(panel + (p0 + i) * 16, r[i]);
            }
            if (k % 2) {
                for (int j = 0; j < 16 && 16 * q + j < n; j++) panel[fullPairs * 16 + j] = b[(16 * q + j) * ldb + k - 1];
            }
        }
        return;
    }
    memset(packed, 0, (size_t)(nPadded * kPadded) * 2);
    // B(2p, j), B(2p + 1, j) = b[2p·ldb + j], b[(2p + 1)·ldb + j]: two rows of b interleaved, 16 columns at a time.
    for (long p = 0; p < (k + 1) / 2; p++) {
        const uint16_t *first = b + 2 * p * ldb, *second = 2 * p + 1 < k ? first + ldb : NULL;
        for (long j0 = 0; j0 < n; j0 += 16) {
            __mmask16 mask = n - j0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j0)) - 1u);
            __m512i low = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, first + j0));
            __m512i high = second ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, second + j0)) : _mm512_setzero_si512();
            _mm512_storeu_si512(words + (j0 / 16) * pairs * 16 + p * 16, _mm512_or_si512(low, _mm512_slli_epi32(high, 16)));
        }
    }
}

/// op(A) = aᵀ (m, k) packed as `pack_a` does, 16 columns of a by 16 pairs of its rows at a time: two rows interleaved
/// into 32-bit pairs (row 2p low, 2p + 1 high) are packed A's words, so a 16 × 16 word transpose puts 16 pairs of 16
/// rows of op(A) in place (zeros past k; rows past m zero).
TARGET_AVX512 static void pack_a_transposed(uint16_t *packed, const uint16_t *a, long lda, long m, long k, long mPadded,
                                            long kPadded, long stride) {
    memset(packed + m * stride, 0, (size_t)((mPadded - m) * stride) * 2);
    long pairs = kPadded / 2;
    uint32_t *words = (uint32_t *)packed;
    __m512i zero = _mm512_setzero_si512();
    for (long i0 = 0; i0 < m; i0 += 16) {
        int columns = m - i0 >= 16 ? 16 : (int)(m - i0);
        __mmask16 mask = columns == 16 ? (__mmask16)0xffff : (__mmask16)((1u << columns) - 1u);
        for (long p0 = 0; p0 < pairs; p0 += 16) {
            __m512i r[16];
            for (int q = 0; q < 16; q++) {
                long first = 2 * (p0 + q);
                __m512i low = first < k ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, a + first * lda + i0)) : zero;
                __m512i high =
                    first + 1 < k ? _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, a + (first + 1) * lda + i0)) : zero;
                r[q] = _mm512_or_si512(low, _mm512_slli_epi32(high, 16));
            }
            transpose16(r);
            for (int c = 0; c < columns; c++) _mm512_storeu_si512(words + (i0 + c) * (stride / 2) + p0, r[c]);
        }
    }
}

/// 16 bf16 values (mask's lanes; 0 elsewhere) widened to fp32.
TARGET_AVX512 static inline __m512 bf16_load(__mmask16 mask, const uint16_t *source) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, source)), 16));
}

/// The epilogue of one block with AVX-512 for the kinds and activations it covers (relu, identity); the others go to
/// `finish_block`.
TARGET_AVX512 static void finish_block_avx512(
    const memplan_bf16_epilogue *e, const float *acc, long i0, long j0, int rows, int columns) {
    int vectorised = e->activation == MEMPLAN_ACTIVATION_RELU || e->activation == MEMPLAN_ACTIVATION_IDENTITY ||
                     (e->kind == MEMPLAN_EPILOGUE_STORE && e->derivativeOf == NULL) || e->kind == MEMPLAN_EPILOGUE_SGD ||
                     e->kind == MEMPLAN_EPILOGUE_ADD;
    if (!vectorised) {
        finish_block(e, acc, i0, j0, rows, columns);
        return;
    }
    int relu = e->activation == MEMPLAN_ACTIVATION_RELU;
    __m512 zero = _mm512_setzero_ps(), scale = _mm512_set1_ps(e->scale);
    for (int i = 0; i < rows; i++) {
        long r = i0 + i;
        for (int half = 0; half < BLOCK / 16; half++) {
            int width = columns - 16 * half;
            if (width <= 0) break;
            __mmask16 mask = width >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << width) - 1u);
            long column = j0 + 16 * half;
            __m512 value = _mm512_load_ps(acc + i * BLOCK + 16 * half);
            uint16_t *out = e->output + r * e->outputStride + column;
            switch (e->kind) {
            case MEMPLAN_EPILOGUE_BIAS_ACTIVATION:
                if (e->bias != NULL) {
                    __m512i bias = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, e->bias + column));
                    value = _mm512_add_ps(value, _mm512_castsi512_ps(_mm512_slli_epi32(bias, 16)));
                }
                if (relu) value = _mm512_max_ps(value, zero);
                break;
            case MEMPLAN_EPILOGUE_STORE:
                value = _mm512_mul_ps(value, scale);
                if (e->derivativeOf != NULL && relu) {
                    __m512i below = _mm512_cvtepu16_epi32(
                        _mm256_maskz_loadu_epi16(mask, e->derivativeOf + r * e->outputStride + column));
                    __mmask16 positive = _mm512_cmp_ps_mask(_mm512_castsi512_ps(_mm512_slli_epi32(below, 16)), zero, _CMP_GT_OQ);
                    value = _mm512_maskz_mov_ps(positive, value);
                }
                break;
            case MEMPLAN_EPILOGUE_ADD: {
                value = _mm512_fmadd_ps(scale, value, bf16_load(mask, out));
                if (e->bias != NULL) value = _mm512_add_ps(value, bf16_load(mask, e->bias + column));
                break;
            }
            default: {  // SGD
                float *master = e->master + r * e->masterStride + column;
                value = _mm512_fmadd_ps(scale, value, _mm512_maskz_loadu_ps(mask, master));
                _mm512_mask_storeu_ps(master, mask, value);
            }
            }
            _mm256_mask_storeu_epi16(out, mask, (__m256i)_mm512_cvtneps_pbh(value));
        }
    }
}

TARGET_AMX static void gemm_amx(
    int transA, int transB, long m, long n, long k, const uint16_t *a, long lda, const uint16_t *b, long ldb,
    const memplan_bf16_epilogue *e, uint16_t *workspace) {
    long mPadded = (m + BLOCK - 1) / BLOCK * BLOCK, nPadded = (n + BLOCK - 1) / BLOCK * BLOCK;
    long kPadded = (k + 31) / 32 * 32, stride = kPadded + 32;
    uint16_t *packedA = workspace, *packedB = workspace + mPadded * stride;
    if (transA) {
        pack_a_transposed(packedA, a, lda, m, k, mPadded, kPadded, stride);
    } else {
        pack_a(packedA, a, lda, m, k, mPadded, kPadded, stride);
    }
    pack_b(packedB, b, transB, ldb, k, n, nPadded, kPadded);

    struct tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) {
        config.rows[t] = 16;
        config.bytesPerRow[t] = 64;
    }
    _tile_loadconfig(&config);
    float acc[BLOCK * BLOCK] __attribute__((aligned(64)));
    long pairs = kPadded / 2, aStride = stride * 2;
    // Super-blocks of mc rows of A and nc columns of B, each ≤ 512 KiB packed, so both stay in L2 while every 32 × 32
    // block between them is formed: A's is re-read once per nc columns and B's once per mc rows, not once per block.
    long blocksInL2 = (512L << 10) / (kPadded * 2 * BLOCK);
    long mc = (blocksInL2 > 1 ? blocksInL2 : 1) * BLOCK, nc = mc;
    for (long i1 = 0; i1 < m; i1 += mc) {
        long iEnd = i1 + mc < m ? i1 + mc : m;
        for (long j1 = 0; j1 < n; j1 += nc) {
            long jEnd = j1 + nc < n ? j1 + nc : n;
            for (long j0 = j1; j0 < jEnd; j0 += BLOCK) {
                const uint16_t *panel0 = packedB + (j0 / 16) * pairs * 32, *panel1 = panel0 + pairs * 32;
                for (long i0 = i1; i0 < iEnd; i0 += BLOCK) {
                    const uint16_t *rows0 = packedA + i0 * stride, *rows1 = rows0 + 16 * stride;
                    _tile_zero(0);
                    _tile_zero(1);
                    _tile_zero(2);
                    _tile_zero(3);
                    for (long p = 0; p < kPadded; p += 32) {
                        // tmm4, tmm5: 16 rows of A over k p … p + 31; tmm6, tmm7: 16 pairs of two panels.
                        _tile_loadd(4, rows0 + p, aStride);
                        _tile_loadd(5, rows1 + p, aStride);
                        _tile_loadd(6, panel0 + p * 16, 64);
                        _tile_loadd(7, panel1 + p * 16, 64);
                        _tile_dpbf16ps(0, 4, 6);
                        _tile_dpbf16ps(1, 4, 7);
                        _tile_dpbf16ps(2, 5, 6);
                        _tile_dpbf16ps(3, 5, 7);
                    }
                    _tile_stored(0, acc, BLOCK * 4);
                    _tile_stored(1, acc + 16, BLOCK * 4);
                    _tile_stored(2, acc + 16 * BLOCK, BLOCK * 4);
                    _tile_stored(3, acc + 16 * BLOCK + 16, BLOCK * 4);
                    int rows = m - i0 < BLOCK ? (int)(m - i0) : BLOCK, columns = n - j0 < BLOCK ? (int)(n - j0) : BLOCK;
                    finish_block_avx512(e, acc, i0, j0, rows, columns);
                }
            }
        }
    }
    _tile_release();
}

TARGET_AVX512 static void bytes_to_bf16_avx512(const uint8_t *source, float scale, uint16_t *target, long count) {
    __m512 factor = _mm512_set1_ps(scale);
    for (long i = 0; i < count; i += 16) {
        __mmask16 mask = count - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (count - i)) - 1u);
        __m512 value = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, source + i))), factor);
        _mm256_mask_storeu_epi16(target + i, mask, (__m256i)_mm512_cvtneps_pbh(value));
    }
}

int memplan_bf16_amx_enabled(void) {
    pthread_once(&amxOnce, amxInitialize);
    return amxEnabled;
}

/// The workspace an (m, n, k) product packs into.
static size_t workspaceBytes(int m, int n, int k) {
    size_t mPadded = ((size_t)m + BLOCK - 1) / BLOCK * BLOCK, nPadded = ((size_t)n + BLOCK - 1) / BLOCK * BLOCK;
    size_t kPadded = ((size_t)k + 31) / 32 * 32;
    return (mPadded * (kPadded + 32) + nPadded * kPadded) * 2;
}

int memplan_bf16_reserve(int m, int n, int k) {
    if (!memplan_bf16_amx_enabled() || m <= 0 || n <= 0 || k <= 0) return 1;
    return amxWorkspace(workspaceBytes(m, n, k)) != NULL;
}

void memplan_bf16_use_workspace(void *base, size_t bytes) {
    lentWorkspace = base;
    lentCapacity = base != NULL ? bytes : 0;
}

int memplan_gemm_bf16_epilogue(
    int transA, int transB, int m, int n, int k, const uint16_t *a, int lda, const uint16_t *b, int ldb,
    const memplan_bf16_epilogue *epilogue) {
    if (m <= 0 || n <= 0) return 1;
    if (k > 0 && memplan_bf16_amx_enabled()) {
        uint16_t *workspace = amxWorkspace(workspaceBytes(m, n, k));
        if (workspace != NULL) {
            gemm_amx(transA, transB, m, n, k, a, lda, b, ldb, epilogue, workspace);
            return 1;
        }
    }
    gemm_portable(transA, transB, m, n, k, a, lda, b, ldb, epilogue);
    return 0;
}

#else
int memplan_bf16_amx_enabled(void) { return 0; }

int memplan_bf16_reserve(int m, int n, int k) { return 1; }

void memplan_bf16_use_workspace(void *base, size_t bytes) {}

int memplan_gemm_bf16_epilogue(
    int transA, int transB, int m, int n, int k, const uint16_t *a, int lda, const uint16_t *b, int ldb,
    const memplan_bf16_epilogue *epilogue) {
    if (m > 0 && n > 0) gemm_portable(transA, transB, m, n, k, a, lda, b, ldb, epilogue);
    return 0;
}
#endif

void memplan_bf16_from_bytes(const uint8_t *source, float scale, uint16_t *target, long count) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (memplan_bf16_amx_enabled()) {  // AMX implies AVX-512 BF16
        bytes_to_bf16_avx512(source, scale, target, count);
        return;
    }
#endif
    for (long i = 0; i < count; i++) target[i] = memplan_bf16_narrow((float)source[i] * scale);
}
