// Probe: each of the W1 step's eight products (batch 128, MLP 784-256-128-10), timed in Debian's OpenBLAS, in MKL
// and in memplan's own AVX-512 kernels (Sources/CGEMM, compiled into this probe) inside one process, 1 thread,
// interleaved: 15 repetitions of 200 calls per product and implementation. Products the kernels do not take (an edge
// under 16) run in OpenBLAS in the "own" column, as in memplan. Prints the per-product medians and the median
// own ÷ MKL time ratio, so a difference is not the host's drift. Also compares each product's result with OpenBLAS's.
// Build and run (after bench/with-mkl has fetched MKL once; OPENBLAS_CORETYPE as memplan sets it):
//   clang -O2 -ISources/CGEMM/include bench/probes/gemm_products.c -o /tmp/gemm_products -lopenblas -ldl -lm -lpthread
//   OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 /tmp/gemm_products single   # or: double
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <math.h>
#include "../../Sources/CGEMM/gemm.c"
typedef enum { RowMajor = 101 } Order;
typedef enum { NoTrans = 111, Trans = 112 } Transpose;
typedef void (*sgemm_t)(Order, Transpose, Transpose, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*dgemm_t)(Order, Transpose, Transpose, int, int, int, double, const double *, int, const double *, int, double, double *, int);
void cblas_sgemm(Order, Transpose, Transpose, int, int, int, float, const float *, int, const float *, int, float, float *, int);
void cblas_dgemm(Order, Transpose, Transpose, int, int, int, double, const double *, int, const double *, int, double, double *, int);

enum { B = 128, REPS = 15, CALLS = 200 };
static const int width[4] = {784, 256, 128, 10};
static void *act[4], *del[4], *w[3], *g[3];
static int isDouble;
static sgemm_t sgemm[2];
static dgemm_t dgemm[2];

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static void gemm(int lib, Transpose ta, Transpose tb, int m, int n, int k, void *a, int lda, void *b, int ldb, void *c, int ldc) {
    if (lib == 2) {
        int done = isDouble ? memplan_gemm_f64(ta == Trans, tb == Trans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
                            : memplan_gemm_f32(ta == Trans, tb == Trans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
        if (done) return;
        lib = 0;
    }
    if (isDouble) dgemm[lib](RowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
    else sgemm[lib](RowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc);
}

// 0–2: forward k, (B, out) = (B, in)·Wᵀ; 3–5: weights of layer 3, 2, 1, (out, in) = dzᵀ·a; 6–7: inputs of layer 3, 2, (B, in) = dz·W.
static void product(int lib, int p) {
    if (p < 3) { int k = p; gemm(lib, NoTrans, Trans, B, width[k + 1], width[k], act[k], width[k], w[k], width[k], act[k + 1], width[k + 1]); }
    else if (p < 6) { int k = 5 - p, in = width[k], out = width[k + 1]; gemm(lib, Trans, NoTrans, out, in, B, del[k + 1], out, act[k], in, g[k], in); }
    else { int k = 8 - p, in = width[k], out = width[k + 1]; gemm(lib, NoTrans, NoTrans, B, in, out, del[k + 1], out, w[k], in, del[k], in); }
}

static void *filled(int count) {
    int size = isDouble ? 8 : 4;
    void *p = malloc((size_t)count * size);
    for (int j = 0; j < count; j++) {
        double v = (j % 97) / 97.0 - 0.5;
        if (isDouble) ((double *)p)[j] = v; else ((float *)p)[j] = (float)v;
    }
    return p;
}

static int compare(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }
static double median(double *v, int n) { qsort(v, n, sizeof *v, compare); return v[n / 2]; }

int main(int argc, char **argv) {
    isDouble = argc > 1 && strcmp(argv[1], "double") == 0;
    const char *dir = getenv("MKL_LIB") ? getenv("MKL_LIB") : ".build-blas/mkl/lib";
    const char *libs[3] = {"libmkl_core.so.3", "libmkl_sequential.so.3", "libmkl_intel_lp64.so.3"};
    void *handle = NULL;
    for (int i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, libs[i]);
        if (!(handle = dlopen(path, RTLD_LAZY | RTLD_GLOBAL))) { fprintf(stderr, "%s (run bench/with-mkl true first)\n", dlerror()); return 1; }
    }
    sgemm[0] = cblas_sgemm; dgemm[0] = cblas_dgemm;  // OpenBLAS: linked first, so these names bind to it
    sgemm[1] = (sgemm_t)dlsym(handle, "cblas_sgemm"); dgemm[1] = (dgemm_t)dlsym(handle, "cblas_dgemm");
    for (int i = 0; i < 4; i++) { act[i] = filled(B * width[i]); del[i] = filled(B * width[i]); }
    for (int i = 0; i < 3; i++) { w[i] = filled(width[i] * width[i + 1]); g[i] = filled(width[i] * width[i + 1]); }
    const char *names[8] = {"fwd1 (128,256)=(128,784)·Wᵀ", "fwd2 (128,128)=(128,256)·Wᵀ", "fwd3 (128,10)=(128,128)·Wᵀ",
                            "dW3 (10,128)=dzᵀ·a", "dW2 (128,256)=dzᵀ·a", "dW1 (256,784)=dzᵀ·a", "dx3 (128,128)=dz·W", "dx2 (128,256)=dz·W"};
        // Each product's result from memplan's kernels against OpenBLAS's (same inputs; the output buffer is restored).
    for (int p = 0; p < 8; p++) {
        product(0, p);
        void *ref = NULL; int cnt = 0;
        if (p < 3) { ref = act[p + 1]; cnt = B * width[p + 1]; } else if (p < 6) { int k = 5 - p; ref = g[k]; cnt = width[k] * width[k + 1]; } else { int k = 8 - p; ref = del[k]; cnt = B * width[k]; }
        int size = isDouble ? 8 : 4; void *copy = malloc((size_t)cnt * size); memcpy(copy, ref, (size_t)cnt * size);
        product(2, p);
        double err = 0, mag = 0;
        for (int j = 0; j < cnt; j++) { double x = isDouble ? ((double *)ref)[j] : ((float *)ref)[j], y = isDouble ? ((double *)copy)[j] : ((float *)copy)[j]; if (fabs(x - y) > err) err = fabs(x - y); if (fabs(y) > mag) mag = fabs(y); }
        printf("check %d: max |own - openblas| %.3g (max |value| %.3g)\n", p, err, mag);
        memcpy(ref, copy, (size_t)cnt * size); free(copy);
    }
    static double micros[3][8][REPS];
    for (int rep = 0; rep < REPS; rep++)
        for (int p = 0; p < 8; p++)
            for (int lib = 0; lib < 3; lib++) {
                for (int i = 0; i < 20; i++) product(lib, p);
                double start = now();
                for (int i = 0; i < CALLS; i++) product(lib, p);
                micros[lib][p][rep] = (now() - start) / CALLS * 1e6;
            }
    printf("%s, 1 thread, µs per call (median of %d)\n%-30s %10s %10s %10s %18s\n", isDouble ? "double" : "single", REPS, "product", "OpenBLAS", "MKL", "own",
           "own ÷ MKL");
    double total[3] = {0, 0, 0}, ratios[REPS];
    for (int p = 0; p < 8; p++) {
        for (int rep = 0; rep < REPS; rep++) ratios[rep] = micros[2][p][rep] / micros[1][p][rep];
        double low = 1e9, high = 0;
        for (int rep = 0; rep < REPS; rep++) { if (ratios[rep] < low) low = ratios[rep]; if (ratios[rep] > high) high = ratios[rep]; }
        double ratio = median(ratios, REPS), o = median(micros[0][p], REPS), m = median(micros[1][p], REPS), w = median(micros[2][p], REPS);
        total[0] += o; total[1] += m; total[2] += w;
        printf("%-30s %10.1f %10.1f %10.1f %8.2f (%.2f–%.2f)\n", names[p], o, m, w, ratio, low, high);
    }
    printf("%-30s %10.0f %10.0f %10.0f samples/s from the summed medians\n", "all eight", B / total[0] * 1e6, B / total[1] * 1e6, B / total[2] * 1e6);
    return 0;
}
