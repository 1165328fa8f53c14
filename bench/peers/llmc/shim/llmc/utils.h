// memplan's bench: the few helpers train_gpt2.c takes from llm.c's llmc/utils.h (fopenCheck, freadCheck,
// fcloseCheck, mallocCheck), written here so that only train_gpt2.c itself comes from llm.c. Each fails loudly,
// as llm.c's do.
#ifndef MEMPLAN_LLMC_UTILS_SHIM_H
#define MEMPLAN_LLMC_UTILS_SHIM_H
#include <stdio.h>
#include <stdlib.h>

static inline FILE *fopen_check(const char *path, const char *mode, const char *file, int line) {
    FILE *f = fopen(path, mode);
    if (f == NULL) { fprintf(stderr, "%s:%d: cannot open %s\n", file, line, path); exit(EXIT_FAILURE); }
    return f;
}
static inline void fread_check(void *ptr, size_t size, size_t count, FILE *f, const char *file, int line) {
    if (fread(ptr, size, count, f) != count) { fprintf(stderr, "%s:%d: short read\n", file, line); exit(EXIT_FAILURE); }
}
static inline void fclose_check(FILE *f, const char *file, int line) {
    if (fclose(f) != 0) { fprintf(stderr, "%s:%d: fclose failed\n", file, line); exit(EXIT_FAILURE); }
}
static inline void *malloc_check(size_t size, const char *file, int line) {
    void *p = malloc(size);
    if (p == NULL) { fprintf(stderr, "%s:%d: malloc(%zu) failed\n", file, line, size); exit(EXIT_FAILURE); }
    return p;
}
#define fopenCheck(path, mode) fopen_check(path, mode, __FILE__, __LINE__)
#define freadCheck(ptr, size, count, f) fread_check(ptr, size, count, f, __FILE__, __LINE__)
#define fcloseCheck(f) fclose_check(f, __FILE__, __LINE__)
#define mallocCheck(size) malloc_check(size, __FILE__, __LINE__)
#endif
