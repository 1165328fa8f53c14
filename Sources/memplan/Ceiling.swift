// `memplan ceiling` (for bench/compare): the GEMM-only samples/s bound of a training step.

import ArgumentParser
import Foundation
import BenchSupport
import MLPTrainer
import ModelProfile

extension Memplan {
    struct Ceiling: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the GEMM-only ceiling of a training step (for bench/compare).",
            discussion: """
                Runs only the matrix products of one SGD step of an MLP, at their real shapes, many times, and prints the samples per second they alone would allow — with OpenBLAS's own threads ("openblas"), with memplan's split and the kernels the trainer uses ("memplan": its own AVX-512 kernels where the CPU has AVX-512F), and with memplan's split over BLAS alone ("blas-split") — as JSON. A trainer's throughput divided by this is the share of the machine's GEMM speed it reaches.
                """,
            shouldDisplay: false)

        @Option(help: "Layer widths.") var mlp: String = "784,256,128,10"
        @Option(help: "Batch size.") var batch: Int = 128
        @Option(help: "single or double.") var precision: Precision = .single
        @Option(help: "Threads.") var threads: Int = 2
        @Option(help: "Steps to time.") var steps: Int = 500

        func validate() throws {
            guard batch >= 1, threads >= 1, threads <= 256, steps >= 1 else {
                throw ValidationError("batch, threads and steps must be positive")
            }
            guard precision.isTrainable else { throw ValidationError("single or double") }
        }

        func run() throws {
            let widths = mlp.split(separator: ",").compactMap { Int($0) }
            guard widths.count >= 2, widths.allSatisfy({ $0 >= 1 }) else {
                throw CLIFailure.badInput("--mlp: give widths like 784,256,128,10")
            }
            var results: [String: Double] = [:]
            for threading in GEMMCeiling.Threading.allCases {
                results[threading.rawValue] = try GEMMCeiling.samplesPerSecond(
                    widths: widths, batch: batch, precision: precision, threads: threads, threading: threading, steps: steps)
            }
            let best = results.values.max() ?? 0
            let flops = GEMMCeiling.flopsPerSample(widths: widths)
            let object: [String: Any] = [
                "precision": precision.rawValue, "batch": batch, "threads": threads, "widths": widths,
                "samples_per_second": results, "ceiling_samples_per_second": best, "flops_per_sample": flops,
                "gflops": best * flops / 1e9, "blas_core": BLASInfo.coreName, "gemm_kernels": BLASInfo.gemmKernels,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
