// `memplan ceiling` (for bench/compare): the GEMM-only samples/s bound of a training step.

import ArgumentParser
import Foundation
import BenchSupport
import MLPTrainer
import ModelProfile
import NUMAArena
import Reports

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
        @Option(help: "single, double or bf16-mixed (memplan's bf16 kernels and split only).") var precision: Precision = .single
        @Option(help: "Threads.") var threads: Int = 2
        @Option(help: "Steps to time.") var steps: Int = 500

        func validate() throws {
            guard batch >= 1, threads >= 1, threads <= 256, steps >= 1 else {
                throw ValidationError("batch, threads and steps must be positive")
            }
            guard [.single, .double, .bf16Mixed].contains(precision) else {
                throw ValidationError("--precision: single, double or bf16-mixed")
            }
        }

        func run() throws {
            let widths = mlp.split(separator: ",").compactMap { Int($0) }
            guard widths.count >= 2, widths.allSatisfy({ $0 >= 1 }) else {
                throw CLIFailure.badInput("--mlp: give widths like 784,256,128,10")
            }
            // The ceiling allocates its buffers on the heap (activations and deltas per width, weights and gradients
            // per layer); an allocation larger than the machine would end the process instead of answering.
            var elements = 0
            var overflow = false
            func add(_ count: (Int, Bool)) {
                let sum = elements.addingReportingOverflow(count.0)
                elements = sum.partialValue
                overflow = overflow || count.1 || sum.overflow
            }
            for width in widths { add(width.multipliedReportingOverflow(by: batch.saturatingMultiplying(by: 2))) }
            for (inputs, outputs) in zip(widths.dropLast(), widths.dropFirst()) {
                add(inputs.multipliedReportingOverflow(by: outputs.saturatingMultiplying(by: 2)))
            }
            let (bytes, tooMany) = elements.multipliedReportingOverflow(by: precision.byteCount)
            let available = ProcessMemory.memoryInfo().available
            guard !overflow, !tooMany, bytes <= available else {
                throw CLIFailure(
                    message:
                        "ceiling: the buffers of --mlp \(mlp) at batch \(batch) need \(overflow || tooMany ? "more than 2⁶³" : "\(bytes)") bytes, "
                        + "and \(available) bytes are available; give smaller widths or a smaller batch",
                    exitCode: ExitStatus.missingResource)
            }
            var results: [String: Double] = [:]
            if precision == .bf16Mixed {
                results["memplan"] = GEMMCeiling.mixedSamplesPerSecond(
                    widths: widths, batch: batch, threads: threads, steps: steps)
            }
            for threading in GEMMCeiling.Threading.allCases where precision != .bf16Mixed {
                results[threading.rawValue] = try GEMMCeiling.samplesPerSecond(
                    widths: widths, batch: batch, precision: precision, threads: threads, threading: threading, steps: steps)
            }
            let best = results.values.max() ?? 0
            let flops = GEMMCeiling.flopsPerSample(widths: widths)
            let object: [String: Any] = [
                "precision": precision.rawValue, "batch": batch, "threads": threads, "widths": widths,
                "samples_per_second": results, "ceiling_samples_per_second": best, "flops_per_sample": flops,
                "gflops": best * flops / 1e9, "blas_core": BLASInfo.coreName,
                "gemm_kernels": precision == .bf16Mixed
                    ? BF16.productKernels(amx: BF16.amxEnabled) : BLASInfo.gemmKernels,
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
