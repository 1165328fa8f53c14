// memplan's own AVX-512 GEMM: B packed into NR-wide panels per KC-deep block, A into MR-row panels, an MR × NR
// register tile of FMAs (8 × 32 for float, 8 × 16 for double). Built for every x86-64 CPU: the kernels carry
// target attributes and run only when the CPU reports AVX-512F (see memplan_gemm_enabled).
#include "cgemm.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "thread_buffer.h"

#define TARGET __attribute__((target("avx512f,fma")))
enum { KC = 128, WORKSPACE_B_BYTES = 512 * 1024, WORKSPACE_A_BYTES = 16 * 1024 };

/// r[i] holds row i on entry and column i on exit (16 × 16 floats).
TARGET static inline void transpose_f32(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        __m512d w = _mm512_castps_pd(t[4 * i]), x = _mm512_castps_pd(t[4 * i + 1]);
        __m512d y = _mm512_castps_pd(t[4 * i + 2]), z = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(w, y));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(w, y));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(x, z));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(x, z));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
}

/// r[i] holds row i on entry and column i on exit (8 × 8 doubles).
TARGET static inline void transpose_f64(__m512d r[8]) {
    __m512d t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_pd(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm512_shuffle_f64x2(t[4 * i], t[4 * i + 2], 0x88);
        u[4 * i + 1] = _mm512_shuffle_f64x2(t[4 * i + 1], t[4 * i + 3], 0x88);
        u[4 * i + 2] = _mm512_shuffle_f64x2(t[4 * i], t[4 * i + 2], 0xdd);
        u[4 * i + 3] = _mm512_shuffle_f64x2(t[4 * i + 1], t[4 * i + 3], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f64x2(u[i], u[i + 4], 0x88);
        r[i + 4] = _mm512_shuffle_f64x2(u[i], u[i + 4], 0xdd);
    }
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t workspaceKey;
static int enabled;

static void initialize(void) {
    const char *choice = getenv("MEMPLAN_GEMM");
    __builtin_cpu_init();
    enabled = __builtin_cpu_supports("avx512f") && !(choice != NULL && strcmp(choice, "blas") == 0);
    pthread_key_create(&workspaceKey, free);
}

int memplan_gemm_enabled(void) {
    pthread_once(&once, initialize);
    return enabled;
}

int memplan_gemm_takes(int m, int n, int k) { return m >= 16 && n >= 16 && k >= 16; }

/// This thread's packing buffer (`memplan_thread_buffer`).
static void *workspace(void) { return memplan_thread_buffer(workspaceKey, WORKSPACE_B_BYTES + WORKSPACE_A_BYTES); }

#define T float
#define V __m512
#define L 16
#define M __mmask16
#define F(name) name##_f32
#define V_LOAD _mm512_load_ps
#define V_LOADU _mm512_loadu_ps
#define V_MLOAD(mask, p) _mm512_maskz_loadu_ps(mask, p)
#define V_MSTORE(p, mask, v) _mm512_mask_storeu_ps(p, mask, v)
#define V_STORE _mm512_store_ps
#define V_SET1 _mm512_set1_ps
#define V_FMA _mm512_fmadd_ps
#define V_MUL _mm512_mul_ps
#define V_ADD _mm512_add_ps
#define V_MAX _mm512_max_ps
#define V_KEEP_ABOVE_ZERO(r, gate) _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(gate, _mm512_setzero_ps(), _CMP_NLE_UQ), r)
#define V_ZERO _mm512_setzero_ps
#define V_TRANSPOSE transpose_f32
#include "gemm_impl.inc"
#undef T
#undef V
#undef L
#undef M
#undef F
#undef V_LOAD
#undef V_LOADU
#undef V_MLOAD
#undef V_MSTORE
#undef V_STORE
#undef V_SET1
#undef V_FMA
#undef V_MUL
#undef V_ADD
#undef V_MAX
#undef V_KEEP_ABOVE_ZERO
#undef V_ZERO
#undef V_TRANSPOSE

#define T double
#define V __m512d
#define L 8
#define M __mmask8
#define F(name) name##_f64
#define V_LOAD _mm512_load_pd
#define V_LOADU _mm512_loadu_pd
#define V_MLOAD(mask, p) _mm512_maskz_loadu_pd(mask, p)
#define V_MSTORE(p, mask, v) _mm512_mask_storeu_pd(p, mask, v)
#define V_STORE _mm512_store_pd
#define V_SET1 _mm512_set1_pd
#define V_FMA _mm512_fmadd_pd
#define V_MUL _mm512_mul_pd
#define V_ADD _mm512_add_pd
#define V_MAX _mm512_max_pd
#define V_KEEP_ABOVE_ZERO(r, gate) _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(gate, _mm512_setzero_pd(), _CMP_NLE_UQ), r)
#define V_ZERO _mm512_setzero_pd
#define V_TRANSPOSE transpose_f64
#include "gemm_impl.inc"

#else  // not x86-64: BLAS does every product

int memplan_gemm_enabled(void) { return 0; }
int memplan_gemm_takes(int m, int n, int k) { (void)m; (void)n; (void)k; return 0; }
int memplan_gemm_f32(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                     float beta, float *c, int ldc) {
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return 0;
}
int memplan_gemm_f64(int transA, int transB, int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb,
                     double beta, double *c, int ldc) {
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda; (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return 0;
}
int memplan_gemm_fused_f32(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
                           float beta, float *c, int ldc, const float *bias, int relu, const float *gate, int ldg) {
    (void)bias; (void)relu; (void)gate; (void)ldg;
    return memplan_gemm_f32(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
int memplan_gemm_fused_f64(int transA, int transB, int m, int n, int k, double alpha, const double *a, int lda, const double *b, int ldb,
                           double beta, double *c, int ldc, const double *bias, int relu, const double *gate, int ldg) {
    (void)bias; (void)relu; (void)gate; (void)ldg;
    return memplan_gemm_f64(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
#endif
