// OpenBLAS's CBLAS interface: cblas_sgemm, cblas_dgemm, openblas_set_num_threads, openblas_get_corename.
#include <cblas.h>
