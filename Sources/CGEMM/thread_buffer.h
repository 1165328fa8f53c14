// A per-thread scratch buffer behind a pthread key: how memplan's kernels keep their packing buffers.
#ifndef MEMPLAN_THREAD_BUFFER_H
#define MEMPLAN_THREAD_BUFFER_H

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

/// This thread's `bytes`-byte buffer under `key` (created with `free` as its destructor): allocated 64-byte aligned on
/// the thread's first call, freed when the thread exits; NULL when the allocation fails.
static inline void *memplan_thread_buffer(pthread_key_t key, size_t bytes) {
    void *buffer = pthread_getspecific(key);
    if (buffer == NULL) {
        buffer = aligned_alloc(64, bytes);
        if (buffer != NULL) pthread_setspecific(key, buffer);
    }
    return buffer;
}

#endif
