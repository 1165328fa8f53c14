// Issue "Mixed precision for real": the bf16 GEMM ceiling beside fp32's — one linear layer's forward product
// (B·T = 512 rows, 256 inputs, 1,024 outputs: out = inp·Wᵀ) on one thread, memplan's AVX-512 fp32 kernel against the
// bf16 kernels: vdpbf16ps with fp32 accumulation, and the bf16-mixed trainer's AMX tile kernel (fp32 sums, bf16 out).
// Compare the medians of one run; the operands are packed per call in all three.

import Benchmark
import MLPTrainer

func gemmBenchmarks() {
    let (m, n, k) = (512, 1024, 256)
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .mallocCountTotal], maxDuration: .seconds(smoke ? 1 : 5), maxIterations: smoke ? 2 : 200)
    let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    for index in 0..<(m * k) { a[index] = Float(index % 7) * 0.25 - 0.75 }
    for index in 0..<(n * k) { b[index] = Float(index % 5) * 0.5 - 1 }
    let a16 = UnsafeMutablePointer<UInt16>.allocate(capacity: m * k)
    let b16 = UnsafeMutablePointer<UInt16>.allocate(capacity: n * k)
    BF16.round(a, into: a16, count: m * k)
    BF16.round(b, into: b16, count: n * k)
    Benchmark("GEMM (512, 1024, 256) = inp·Wᵀ, one thread: fp32, memplan's kernels", configuration: configuration) {
        benchmark in
        for _ in benchmark.scaledIterations {
            Float.gemm(
                transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 0, c: c,
                ldc: n)
            blackHole(c[0])
        }
    }
    Benchmark(
        "GEMM (512, 1024, 256) = inp·Wᵀ, one thread: bf16 operands, fp32 accumulation (vdpbf16ps)",
        configuration: configuration
    ) { benchmark in
        guard BF16.kernelsEnabled else { return }
        for _ in benchmark.scaledIterations {
            _ = BF16.gemm(
                transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a16, lda: k, b: b16, ldb: k, beta: 0, c: c,
                ldc: n)
            blackHole(c[0])
        }
    }
    let c16 = UnsafeMutablePointer<UInt16>.allocate(capacity: m * n)
    Benchmark(
        "GEMM (512, 1024, 256) = inp·Wᵀ, one thread: bf16 operands, AMX tiles, fp32 sums, bf16 out", configuration: configuration
    ) { benchmark in
        guard BF16.amxEnabled else { return }
        for _ in benchmark.scaledIterations {
            _ = BF16.product(
                transposeA: false, transposeB: true, m: m, n: n, k: k, a: a16, lda: k, b: b16, ldb: k, c: c16, ldc: n)
            blackHole(c16[0])
        }
    }
}
