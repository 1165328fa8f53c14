// Probe: one core's AVX-512 FMA peak, in GFLOP/s at fp32 and fp64: twelve independent chains of 512-bit FMAs in
// registers (enough to cover the FMA latency on two pipes), nothing loaded or stored. The GEMM-only ceiling in
// bench/RESULTS.md is a share of this: flops per sample (1,007,104 for W1) × samples/s ÷ this.
//   cc -O2 -mavx512f -mfma bench/probes/fma_peak.c -o .build-bench/fma_peak && .build-bench/fma_peak
// Check the loop kept twelve chains (`objdump -d .build-bench/fma_peak | grep -c 'vfmadd...ps'` prints 12):
// chains that start equal are merged by the compiler and the figure then reads low.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

enum { CHAINS = 12 };
static const long ITERATIONS = 200000000;

static double now(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return time.tv_sec + time.tv_nsec * 1e-9;
}

int main(void) {
    __m512 scale = _mm512_set1_ps(0.9999f), shift = _mm512_set1_ps(0.0001f), chain[CHAINS];
    __m512d scaleD = _mm512_set1_pd(0.9999), shiftD = _mm512_set1_pd(0.0001), chainD[CHAINS];
    for (int j = 0; j < CHAINS; j++) {
        chain[j] = _mm512_set1_ps(0.001f * (j + 1));
        chainD[j] = _mm512_set1_pd(0.001 * (j + 1));
    }
    double start = now();
    for (long i = 0; i < ITERATIONS; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++) chain[j] = _mm512_fmadd_ps(chain[j], scale, shift);
    }
    double seconds = now() - start;
    float sum = 0;
    for (int j = 0; j < CHAINS; j++) sum += _mm512_reduce_add_ps(chain[j]);
    printf("{\"fp32_gflops\": %.1f, ", ITERATIONS * (double)CHAINS * 32 / seconds / 1e9);
    start = now();
    for (long i = 0; i < ITERATIONS; i++) {
#pragma GCC unroll 12
        for (int j = 0; j < CHAINS; j++) chainD[j] = _mm512_fmadd_pd(chainD[j], scaleD, shiftD);
    }
    seconds = now() - start;
    double sumD = 0;
    for (int j = 0; j < CHAINS; j++) sumD += _mm512_reduce_add_pd(chainD[j]);
    printf("\"fp64_gflops\": %.1f, \"checksum\": %g}\n", ITERATIONS * (double)CHAINS * 16 / seconds / 1e9, sum + sumD);
    return 0;
}
