// GELU (the tanh approximation of GPT-2 and llm.c) over arrays of floats, with tanh as a rational function the
// compiler vectorises: libm's tanhf runs one element at a time and was a third of a small GPT's training step.
#include "cgemm.h"

// tanh(x) ≈ x·P(x²)/Q(x²) on |x| ≤ 7.905311 (clamped beyond, where tanh rounds to ±1 in float): the minimax
// rational approximation Eigen uses for float (degree 13/6). Max error against tanh in double measured over
// [-10, 10] by the kernel tests: below 3e-7 relative, ≤ 2e-7 absolute.
static inline float rational_tanh(float x) {
    const float bound = 7.90531110763549805f;
    // NaN fails both comparisons and passes through, so a diverging run still shows NaN.
    float c = x > bound ? bound : (x < -bound ? -bound : x);
    float x2 = c * c;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * c;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return p / q;
}

#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

#define GELU_FORWARD_BODY                                                                                            \
    for (long i = 0; i < count; i++) {                                                                               \
        float x = inp[i];                                                                                            \
        out[i] = 0.5f * x * (1.0f + rational_tanh(GELU_K * (x + GELU_C * x * x * x)));                               \
    }

#define GELU_BACKWARD_BODY                                                                                           \
    for (long i = 0; i < count; i++) {                                                                               \
        float x = inp[i];                                                                                            \
        float t = rational_tanh(GELU_K * (x + GELU_C * x * x * x));                                                  \
        float local = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * x * x);       \
        dinp[i] = accumulate ? dinp[i] + local * dout[i] : local * dout[i];                                          \
    }

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
__attribute__((target("avx512f,fma"))) static void gelu_forward_avx512(float *out, const float *inp, long count) {
    GELU_FORWARD_BODY
}
__attribute__((target("avx512f,fma"))) static void gelu_backward_avx512(
    float *dinp, const float *inp, const float *dout, long count, int accumulate) {
    GELU_BACKWARD_BODY
}
/// Whether the CPU has AVX-512F and FMA; asked once. Worker threads call it at once, so the cached answer is an
/// atomic (relaxed: every thread computes the same value).
static int has_avx512(void) {
    static int known = -1;
    int value = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (value < 0) {
        value = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
        __atomic_store_n(&known, value, __ATOMIC_RELAXED);
    }
    return value;
}
#endif

static void gelu_forward_portable(float *out, const float *inp, long count) { GELU_FORWARD_BODY }
static void gelu_backward_portable(float *dinp, const float *inp, const float *dout, long count, int accumulate) {
    GELU_BACKWARD_BODY
}

void memplan_gelu_forward_f32(float *out, const float *inp, long count) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (has_avx512()) {
        gelu_forward_avx512(out, inp, count);
        return;
    }
#endif
    gelu_forward_portable(out, inp, count);
}

void memplan_gelu_backward_f32(float *dinp, const float *inp, const float *dout, long count, int accumulate) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (has_avx512()) {
        gelu_backward_avx512(dinp, inp, dout, count, accumulate);
        return;
    }
#endif
    gelu_backward_portable(dinp, inp, dout, count, accumulate);
}

float memplan_tanh_f32(float x) { return rational_tanh(x); }

#define T float
#define F(name) name##_f32
#include "elementwise_impl.inc"
#undef T
#undef F

#define T double
#define F(name) name##_f64
#include "elementwise_impl.inc"
#undef T
#undef F
