// memplan's bench: train_gpt2.c includes llmc/dataloader.h for its main(), which the bench compiles out (-DTESTING);
// llmc_bench.c reads its own inputs, so nothing of it is needed.
