// The GEMM-only ceiling of one GPT-2 training step in memplan's own kernels (Sources/CGEMM, compiled into this probe),
// split over threads as memplan splits the step's products: the same products as bench/peers/gemm_ceiling_gpt.py
// (per block: qkv, attproj, fc, fcproj forward; Q·Kᵀ and A·V per (batch, head) pair; the tied head; two products per
// linear and four per attention pair backward), nothing else. Forward products and input gradients are split by
// rows, weight gradients by output channels, attention by (batch, head) pairs; the threads meet at a barrier after
// every product, as memplan's workers meet after every op. Products under 16 on an edge run in OpenBLAS (one
// thread per caller), as in memplan. Timed like the Python ceilings: one block of steps after a warm-up.
//
// Build (bench/compare does):
//   clang -O2 -pthread -ISources/CGEMM/include bench/probes/gemm_ceiling_gpt.c -o .build-bench/gemm_ceiling_gpt -lopenblas -lm
// Run: gemm_ceiling_gpt B T L NH C V steps threads      prints one JSON line
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../../Sources/CGEMM/gemm.c"
// gemm.c leaves its double-precision macros defined; this file uses some of their names.
#undef T
#undef V
#undef L
#undef M
#undef F

typedef enum { RowMajor = 101 } Order;
typedef enum { NoTrans = 111, Trans = 112 } Transpose;
void cblas_sgemm(Order, Transpose, Transpose, int, int, int, float, const float *, int, const float *, int, float, float *, int);
void openblas_set_num_threads(int);

static int B, T, L, NH, C, V, N, HS, STEPS, THREADS;
static pthread_barrier_t barrier;
// Buffers: one set per linear shape, reused by every block (the same flops; a trainer's differ per block).
static float *W[4], *dW[4], *X[4], *Y[4], *dX[4];
static int OUT[4], IN[4];
static float *q, *k, *v, *dy, *scores, *dscores, *attended, *dq, *dk, *dv;
static float *wte, *dwte, *hidden, *dhidden, *logits;

static float *array(size_t count) {
    float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < count; i++) p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    return p;
}

static void gemm(int ta, int tb, int m, int n, int k, const float *a, int lda, const float *b, int ldb, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (memplan_gemm_f32(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)) return;
    cblas_sgemm(RowMajor, ta ? Trans : NoTrans, tb ? Trans : NoTrans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
}

static void share(int count, int part, int *first, int *last) {
    *first = (int)((long)count * part / THREADS);
    *last = (int)((long)count * (part + 1) / THREADS);
}

// out (N×o) = in (N×i) · Wᵀ, rows [r0, r1)
static void forward_rows(int part, const float *in, const float *w, float *out, int o, int i) {
    int r0, r1; share(N, part, &r0, &r1);
    gemm(0, 1, r1 - r0, o, i, in + (size_t)r0 * i, i, w, i, out + (size_t)r0 * o, o);
}
// dX (N×i) = dY (N×o) · W (o×i), rows [r0, r1)
static void input_rows(int part, const float *d, const float *w, float *dx, int o, int i) {
    int r0, r1; share(N, part, &r0, &r1);
    gemm(0, 0, r1 - r0, i, o, d + (size_t)r0 * o, o, w, i, dx + (size_t)r0 * i, i);
}
// dW (o×i) = dYᵀ · X, output channels [o0, o1)
static void weight_outputs(int part, const float *d, const float *x, float *dw, int o, int i) {
    int o0, o1; share(o, part, &o0, &o1);
    gemm(1, 0, o1 - o0, i, N, d + o0, o, x, i, dw + (size_t)o0 * i, i);
}

static void *worker(void *arg) {
    int part = (int)(long)arg;
    int pairs = B * NH, p0, p1;
    share(pairs, part, &p0, &p1);
    size_t tt = (size_t)T * T, th = (size_t)T * HS;
    for (int step = 0; step < STEPS; step++) {
        for (int l = 0; l < L; l++) {
            for (int j = 0; j < 4; j++) {
                forward_rows(part, X[j], W[j], Y[j], OUT[j], IN[j]);
                pthread_barrier_wait(&barrier);
                if (j == 0) {
                    for (int p = p0; p < p1; p++) gemm(0, 1, T, T, HS, q + p * th, HS, k + p * th, HS, scores + p * tt, T);
                    pthread_barrier_wait(&barrier);
                    for (int p = p0; p < p1; p++) gemm(0, 0, T, HS, T, scores + p * tt, T, v + p * th, HS, attended + p * th, HS);
                    pthread_barrier_wait(&barrier);
                }
            }
        }
        forward_rows(part, hidden, wte, logits, V, C);
        pthread_barrier_wait(&barrier);
        input_rows(part, logits, wte, dhidden, V, C);
        weight_outputs(part, logits, hidden, dwte, V, C);
        pthread_barrier_wait(&barrier);
        for (int l = 0; l < L; l++) {
            for (int j = 3; j >= 0; j--) {
                input_rows(part, Y[j], W[j], dX[j], OUT[j], IN[j]);
                weight_outputs(part, Y[j], X[j], dW[j], OUT[j], IN[j]);
                pthread_barrier_wait(&barrier);
                if (j == 1) {
                    for (int p = p0; p < p1; p++) {
                        gemm(0, 1, T, T, HS, dy + p * th, HS, v + p * th, HS, dscores + p * tt, T);
                        gemm(1, 0, T, HS, T, scores + p * tt, T, dy + p * th, HS, dv + p * th, HS);
                        gemm(0, 0, T, HS, T, dscores + p * tt, T, k + p * th, HS, dq + p * th, HS);
                        gemm(1, 0, T, HS, T, dscores + p * tt, T, q + p * th, HS, dk + p * th, HS);
                    }
                    pthread_barrier_wait(&barrier);
                }
            }
        }
    }
    return NULL;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static double run(int steps) {
    STEPS = steps;
    pthread_t threads[64];
    double start = now();
    for (int t = 1; t < THREADS; t++) pthread_create(&threads[t], NULL, worker, (void *)(long)t);
    worker((void *)0);
    for (int t = 1; t < THREADS; t++) pthread_join(threads[t], NULL);
    return now() - start;
}

int main(int argc, char **argv) {
    if (argc != 9) { fprintf(stderr, "usage: gemm_ceiling_gpt B T L NH C V steps threads\n"); return 2; }
    B = atoi(argv[1]); T = atoi(argv[2]); L = atoi(argv[3]); NH = atoi(argv[4]); C = atoi(argv[5]); V = atoi(argv[6]);
    int steps = atoi(argv[7]);
    THREADS = atoi(argv[8]);
    if (THREADS < 1 || THREADS > 64 || C % NH != 0) { fprintf(stderr, "gemm_ceiling_gpt: bad arguments\n"); return 2; }
    if (!memplan_gemm_enabled()) { fprintf(stderr, "gemm_ceiling_gpt: memplan's kernels are off on this CPU (no AVX-512F, or MEMPLAN_GEMM=blas)\n"); return 1; }
    openblas_set_num_threads(1);  // memplan runs OpenBLAS single-threaded inside its own split
    N = B * T; HS = C / NH;
    int out[4] = {3 * C, C, 4 * C, C}, in[4] = {C, C, C, 4 * C};
    for (int j = 0; j < 4; j++) {
        OUT[j] = out[j]; IN[j] = in[j];
        W[j] = array((size_t)out[j] * in[j]); dW[j] = array((size_t)out[j] * in[j]);
        X[j] = array((size_t)N * in[j]); dX[j] = array((size_t)N * in[j]); Y[j] = array((size_t)N * out[j]);
    }
    size_t th = (size_t)B * NH * T * HS, tt = (size_t)B * NH * T * T;
    q = array(th); k = array(th); v = array(th); dy = array(th); attended = array(th); dq = array(th); dk = array(th); dv = array(th);
    scores = array(tt); dscores = array(tt);
    wte = array((size_t)V * C); dwte = array((size_t)V * C); hidden = array((size_t)N * C); dhidden = array((size_t)N * C);
    logits = array((size_t)N * V);
    pthread_barrier_init(&barrier, NULL, THREADS);
    double flops = 0;
    for (int j = 0; j < 4; j++) flops += 3.0 * 2 * N * out[j] * in[j];
    flops = flops * L + 3.0 * 2 * N * (double)V * C + L * 6.0 * 2 * B * NH * (double)T * T * HS;
    run(steps / 10 > 2 ? steps / 10 : 2);
    double seconds = run(steps);
    printf("{\"library\": \"memplan\", \"batch\": %d, \"seq\": %d, \"steps\": %d, \"threads\": %d, \"flops_per_step\": %.0f, "
           "\"gflops_per_second\": %.3f, \"ceiling_tokens_per_second\": %.3f}\n",
           B, T, steps, THREADS, flops, flops * steps / seconds / 1e9, (double)steps * N / seconds);
    return 0;
}
