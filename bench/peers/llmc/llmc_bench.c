// llm.c's CPU trainer (train_gpt2.c, unmodified, its main() compiled out with -DTESTING) driven for bench/compare:
// the same training step as train_gpt2.c's main() — next batch, gpt2_forward, gpt2_zero_grad, gpt2_backward,
// gpt2_update (AdamW) — for --steps steps over a token file, timed per step with CLOCK_MONOTONIC as main() times it.
//
// Inputs (bench/peers/gpt_data.py writes both): an llm.c checkpoint (version 3, fp32, random weights) and a token
// file in llm.c's data format (256 int32 header: magic 20240520, version 1, token count; then uint16 tokens).
// Batches are read as llm.c's data loader reads them: B*T + 1 consecutive tokens, advancing B*T, wrapping at the end.
//
// Prints one JSON line: tokens/s over every step (how memplan counts) and over the steps after --warmup, the first
// step's time, the mean loss of the first and last steps, and RSS as memplan measures its own: VmRSS once the
// checkpoint and tokens are loaded (VmHWM reset there through /proc/self/clear_refs), and VmHWM at the end.
//
// usage: llmc_bench --checkpoint model.bin --tokens train.bin --batch B --seq T --steps N
//                   [--lr 1e-3] [--beta1 0.9] [--beta2 0.999] [--eps 1e-8] [--weight-decay 0] [--warmup 2]
#define TESTING
#include "train_gpt2.c"

static long status_kib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) { return -1; }
    char line[256];
    long value = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') { value = strtol(line + n + 1, NULL, 10); break; }
    }
    fclose(f);
    return value;
}

// VmHWM back to the current RSS (as memplan's ProcessMemory.resetPeak does), so the peak read at the end is training's.
static void reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f != NULL) { fputs("5", f); fclose(f); }
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *checkpoint = NULL, *tokens_path = NULL;
    int B = 4, T = 64, steps = 10, warmup = 2;
    float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *key = argv[i], *value = argv[i + 1];
        if (!strcmp(key, "--checkpoint")) { checkpoint = value; }
        else if (!strcmp(key, "--tokens")) { tokens_path = value; }
        else if (!strcmp(key, "--batch")) { B = atoi(value); }
        else if (!strcmp(key, "--seq")) { T = atoi(value); }
        else if (!strcmp(key, "--steps")) { steps = atoi(value); }
        else if (!strcmp(key, "--warmup")) { warmup = atoi(value); }
        else if (!strcmp(key, "--lr")) { lr = strtof(value, NULL); }
        else if (!strcmp(key, "--beta1")) { beta1 = strtof(value, NULL); }
        else if (!strcmp(key, "--beta2")) { beta2 = strtof(value, NULL); }
        else if (!strcmp(key, "--eps")) { eps = strtof(value, NULL); }
        else if (!strcmp(key, "--weight-decay")) { weight_decay = strtof(value, NULL); }
        else { fprintf(stderr, "llmc_bench: unknown option %s\n", key); return 2; }
    }
    if (checkpoint == NULL || tokens_path == NULL || steps <= warmup) {
        fprintf(stderr, "usage: llmc_bench --checkpoint model.bin --tokens train.bin --batch B --seq T --steps N (N > --warmup)\n");
        return 2;
    }

    GPT2 model;
    gpt2_build_from_checkpoint(&model, checkpoint);
    if (T > model.config.max_seq_len) { fprintf(stderr, "llmc_bench: --seq %d > maxT %d\n", T, model.config.max_seq_len); return 2; }

    FILE *f = fopenCheck(tokens_path, "rb");
    int header[256];
    freadCheck(header, sizeof(int), 256, f);
    if (header[0] != 20240520 || header[1] != 1) { fprintf(stderr, "llmc_bench: %s is not an llm.c token file\n", tokens_path); return 2; }
    size_t count = (size_t)header[2];
    if (count < (size_t)B * T + 1) { fprintf(stderr, "llmc_bench: %zu tokens, a batch needs %d\n", count, B * T + 1); return 2; }
    uint16_t *stream = (uint16_t *)mallocCheck(count * sizeof(uint16_t));
    freadCheck(stream, sizeof(uint16_t), count, f);
    fcloseCheck(f);
    int *batch = (int *)mallocCheck(((size_t)B * T + 1) * sizeof(int));
    size_t position = 0;
    reset_peak();
    long rss_after_load = status_kib("VmRSS");

    double total = 0, steady = 0, first = 0;
    float first_loss = 0, last_loss = 0;
    for (int step = 0; step < steps; step++) {
        double start = now_seconds();
        if (position + (size_t)B * T + 1 > count) { position = 0; }
        for (size_t i = 0; i < (size_t)B * T + 1; i++) { batch[i] = stream[position + i]; }
        position += (size_t)B * T;
        gpt2_forward(&model, batch, batch + 1, B, T);
        gpt2_zero_grad(&model);
        gpt2_backward(&model);
        gpt2_update(&model, lr, beta1, beta2, eps, weight_decay, step + 1);
        double elapsed = now_seconds() - start;
        total += elapsed;
        if (step >= warmup) { steady += elapsed; }
        if (step == 0) { first = elapsed; first_loss = model.mean_loss; }
        last_loss = model.mean_loss;
    }
    long peak = status_kib("VmHWM");
    double tokens = (double)B * T;
#ifdef _OPENMP
    int threads = omp_get_max_threads();
#else
    int threads = 1;
#endif
    printf("{\"peer\": \"llm.c\", \"batch\": %d, \"seq\": %d, \"steps\": %d, \"warmup_steps\": %d, \"threads\": %d, "
           "\"vocabulary\": %d, \"padded_vocabulary\": %d, \"parameters\": %zu, "
           "\"tokens_per_second\": %.3f, \"steady_tokens_per_second\": %.3f, \"first_step_seconds\": %.6f, "
           "\"training_seconds\": %.6f, \"first_loss\": %.6f, \"last_loss\": %.6f, "
           "\"rss_after_load_bytes\": %ld, \"peak_rss_bytes\": %ld, \"rss_growth_bytes\": %ld}\n",
           B, T, steps, warmup, threads, model.config.vocab_size, model.config.padded_vocab_size, model.num_parameters,
           steps * tokens / total, (steps - warmup) * tokens / steady, first, total, first_loss, last_loss,
           rss_after_load * 1024, peak * 1024, (peak - rss_after_load) * 1024);
    gpt2_free(&model);
    free(stream);
    free(batch);
    return 0;
}
