// The layers of a decoder-only transformer (GPT-2 and Llama styles), forward and backward, over raw pointers.
// Modelled on llm.c's train_gpt2.c: stateless functions, one per layer and direction, a shape comment per pointer.
// Not a model: the step program, the arena and the worker pool that call these live elsewhere.
//
// Legend: B batch, T sequence length, C channels, NH query heads, NKV key/value heads (NKV divides NH),
// HS head size = C/NH, OC output channels, I SwiGLU hidden width, V vocabulary, Vp padded vocabulary (V ≤ Vp),
// N = B·T rows, R = (NH + 2·NKV)·HS the width of a qkv row. Every matrix is row-major, so (B, T, C) and (B·T, C)
// name the same bytes. `T` in code is the scalar type (Float or Double); the sequence length is `sequenceLength`.
//
// Splitting. Every kernel does a range of independent work, so a caller can hand complementary ranges to threads:
//   rows r0..<r1 of the N rows      embedding forward, norms (forward, input gradient), linear (forward, input
//                                    gradient), GELU/residual (as element ranges), SwiGLU, rotary, the loss
//   (b, h) pairs of B·NH             attention forward
//   (b, kv-head) groups of B·NKV     attention backward (a kv head's dk/dv sum over its NH/NKV query heads)
//   columns of a parameter           every parameter gradient that sums over rows: embedding tables, norm weight
//                                    and bias, linear weight and bias (a range of output channels)
// Parts given complementary ranges write disjoint bytes, and nothing a part writes is read by another part. Each
// output element is computed by the same operations in the same order whatever the split, so a split is
// bit-identical to one part, except where a product goes through `T.gemm` with a different shape (linear rows and
// output channels): the GEMM may block a smaller product differently and round differently, within its tolerance.
//
// Gradients. A backward kernel with `accumulate: true` adds into its gradient (β = 1, llm.c's `+=`, for a buffer
// the caller zeroed or that already holds another path's contribution); with `false` it overwrites (β = 0).
//
// Nothing here allocates or captures context; scratch memory is passed in, with its size stated as a formula.
// Precondition failures (a token outside the vocabulary, an odd head size for rotary) trap: they are caller bugs.

/// Namespace for the transformer kernels; see the file header for the legend and the split rules.
enum TransformerKernels {}
