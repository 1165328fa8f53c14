// zlib for Swift: gzopen/gzread for the gzip IDX files of Fashion-MNIST.
#include <zlib.h>
