// OpenBLAS's CBLAS interface, behind memplan_* wrappers so the library can be chosen at build time:
// - default: Debian's libopenblas (cblas_sgemm, …), linked through pkg-config "openblas";
// - -Xcc -DMEMPLAN_SCIPY_OPENBLAS: the newer OpenBLAS of PyPI's scipy-openblas32 wheel, whose symbols
//   carry a scipy_ prefix (bench/build-scipy-openblas links it; see the README's "Benchmarks");
// - at run time, Intel MKL preloaded over it (bench/with-mkl: LD_PRELOAD of MKL's lp64, sequential and core
//   libraries): its cblas_* come first in the global lookup scope, so every product runs in MKL. memplan_mkl_*
//   find MKL by its service functions, so the reports name the library that really ran.
#include <cblas.h>
#include <dlfcn.h>
#include <stddef.h>

#ifdef MEMPLAN_SCIPY_OPENBLAS
void scipy_openblas_set_num_threads(int num_threads);
int scipy_openblas_get_num_threads(void);
char *scipy_openblas_get_corename(void);
void scipy_cblas_sgemm(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float, const float *,
                       blasint, const float *, blasint, float, float *, blasint);
void scipy_cblas_dgemm(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint, blasint, double, const double *,
                       blasint, const double *, blasint, double, double *, blasint);
void scipy_cblas_sgemv(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, blasint, blasint, float, const float *, blasint, const float *, blasint,
                       float, float *, blasint);
void scipy_cblas_dgemv(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, blasint, blasint, double, const double *, blasint, const double *, blasint,
                       double, double *, blasint);
void scipy_cblas_sger(enum CBLAS_ORDER, blasint, blasint, float, const float *, blasint, const float *, blasint, float *, blasint);
void scipy_cblas_dger(enum CBLAS_ORDER, blasint, blasint, double, const double *, blasint, const double *, blasint, double *, blasint);
#define MEMPLAN_BLAS(name) scipy_##name
#define MEMPLAN_BLAS_PROVIDER "scipy-openblas32"
#else
#define MEMPLAN_BLAS(name) name
#define MEMPLAN_BLAS_PROVIDER "system"
#endif

/// MKL's version string ("Intel(R) oneAPI Math Kernel Library Version 2026.2 …") into `buffer` when MKL is loaded
/// in this process; returns 0 (and leaves `buffer` alone) when it is not.
static inline int memplan_mkl_version(char *buffer, int length) {
    void (*get)(char *, int) = (void (*)(char *, int))dlsym(RTLD_DEFAULT, "MKL_Get_Version_String");
    if (get == NULL) return 0;
    get(buffer, length);
    return 1;
}
static inline int memplan_mkl_loaded(void) { return dlsym(RTLD_DEFAULT, "MKL_Get_Version_String") != NULL; }

static inline const char *memplan_blas_provider(void) { return memplan_mkl_loaded() ? "mkl" : MEMPLAN_BLAS_PROVIDER; }
/// Sets OpenBLAS's threads and, when MKL is preloaded, MKL's too (its sequential layer ignores it; a threaded
/// layer would otherwise start its own threads inside memplan's split).
static inline void memplan_set_num_threads(int n) {
    MEMPLAN_BLAS(openblas_set_num_threads)(n);
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "MKL_Set_Num_Threads");
    if (set != NULL) set(n);
}
static inline int memplan_get_num_threads(void) {
    int (*get)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "MKL_Get_Max_Threads");
    return get != NULL ? get() : MEMPLAN_BLAS(openblas_get_num_threads)();
}
static inline const char *memplan_get_corename(void) { return MEMPLAN_BLAS(openblas_get_corename)(); }

static inline void memplan_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                                 int ldb, float beta, float *c, int ldc) {
    MEMPLAN_BLAS(cblas_sgemm)(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                              lda, b, ldb, beta, c, ldc);
}
static inline void memplan_dgemm(int transA, int transB, int m, int n, int k, double alpha, const double *a, int lda,
                                 const double *b, int ldb, double beta, double *c, int ldc) {
    MEMPLAN_BLAS(cblas_dgemm)(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                              lda, b, ldb, beta, c, ldc);
}
static inline void memplan_sgemv(int trans, int m, int n, float alpha, const float *a, int lda, const float *x, float beta, float *y) {
    MEMPLAN_BLAS(cblas_sgemv)(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, 1, beta, y, 1);
}
static inline void memplan_dgemv(int trans, int m, int n, double alpha, const double *a, int lda, const double *x, double beta,
                                 double *y) {
    MEMPLAN_BLAS(cblas_dgemv)(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, m, n, alpha, a, lda, x, 1, beta, y, 1);
}
static inline void memplan_sger(int m, int n, float alpha, const float *x, const float *y, float *a, int lda) {
    MEMPLAN_BLAS(cblas_sger)(CblasRowMajor, m, n, alpha, x, 1, y, 1, a, lda);
}
static inline void memplan_dger(int m, int n, double alpha, const double *x, const double *y, double *a, int lda) {
    MEMPLAN_BLAS(cblas_dger)(CblasRowMajor, m, n, alpha, x, 1, y, 1, a, lda);
}
