// Benchmarks: `swift package benchmark` (full), `swift package benchmark --filter … ` for one.
// Targets checked here, not by timed unit tests: see the README's "Benchmarks" section.

import ArenaPlanner
import BenchSupport
import Benchmark
import Foundation
import MLPTrainer
import MemoryBudget
import ModelProfile

/// `MEMPLAN_BENCH_SMOKE=1` (CI) runs every benchmark a couple of times only.
let smoke = ProcessInfo.processInfo.environment["MEMPLAN_BENCH_SMOKE"] != nil

/// A profile with `layerCount` layers of 64 units, as YAML text.
func generatedProfile(layerCount: Int) -> String {
    var text = "name: deep-\(layerCount)\ninput: {features: 64}\nhidden:\n"
    text.reserveCapacity(layerCount * 36)
    for _ in 0..<(layerCount - 1) { text += "  - {units: 64, activation: relu}\n" }
    text += "output: {units: 10}\nloss: softmax-ce\nbatch: 128\n"
    return text
}

let benchmarks: @Sendable () -> Void = {
    // The same OpenBLAS kernels `memplan` runs with (see BLASInfo).
    BLASInfo.reexecutingWithBetterKernelsIfNeeded()
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(smoke ? 1 : 10),
        maxIterations: smoke ? 2 : 20
    )

    // Issue "Foundation": estimating a generated 100,000-layer profile takes < 1 s (parse + budget).
    let deepProfile = generatedProfile(layerCount: 100_000)
    Benchmark("estimate: parse + budget, 100,000-layer profile", configuration: .init(maxIterations: smoke ? 1 : 10)) {
        benchmark in
        for _ in benchmark.scaledIterations {
            let profile = try ProfileParser.parse(deepProfile, file: "deep.yaml")
            blackHole(try MemoryBudget.estimate(profile))
        }
    }

    let deepModel = try! Model(
        name: "deep", widths: [64] + Array(repeating: 64, count: 99_999) + [10], loss: .softmaxCrossEntropy, batchSize: 128)
    Benchmark("estimate: budget only, 100,000 layers") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try MemoryBudget.estimate(deepModel))
        }
    }

    _ = yamlOnly

    // Issue "Benchmarks": one training step of the Fashion-MNIST MLP (784-256-128-10, relu, softmax
    // cross-entropy, SGD) at batch 1, 128 and 1024, fp32 and fp64, on 2 threads as `memplan train` runs it.
    for precision in [Precision.single, .double] {
        for batch in [1, 128, 1024] {
            let model = try! Model(
                name: "fashion-mnist-mlp", widths: [784, 256, 128, 10], loss: .softmaxCrossEntropy, precision: precision,
                batchSize: batch)
            let threads = min(2, ProcessInfo.processInfo.activeProcessorCount)
            // Planned, allocated and warmed once, before any measurement.
            let step = try! TrainingStep(model: model, threads: threads)
            for _ in 0..<5 { step.run() }
            Benchmark(
                "train step: fashion-mnist-mlp, batch \(batch), \(precision.shortName), \(threads) threads",
                // No resident-memory metric here: its sampling thread allocates and competes for the two
                // CPUs the step runs on. `memplan train` reports the run's memory itself.
                configuration: .init(
                    metrics: [.wallClock, .throughput, .mallocCountTotal],
                    scalingFactor: batch == 1 ? .kilo : .one, maxDuration: .seconds(smoke ? 1 : 5),
                    maxIterations: smoke ? 3 : 2000)
            ) { benchmark in
                for _ in benchmark.scaledIterations { step.run() }
            }
        }
    }

    // Issue "Arena planner": planning 100,000 buffers takes < 1 s.
    // (a) The training step of a 16,667-layer MLP with stored gradients: 6 buffers per layer (W, b, a, dz, dW, db) + x, y.
    let deepSchedule = try! StepProgram(
        model: try! Model(
            name: "deep", widths: Array(repeating: 32, count: 16_667) + [10], loss: .softmaxCrossEntropy, batchSize: 64),
        options: StepOptions(fusesUpdate: false))
    Benchmark(
        "plan: training step with \(deepSchedule.buffers.count) buffers (default planner)",
        configuration: .init(maxIterations: smoke ? 1 : 10)
    ) {
        benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try BestPlanner().plan(deepSchedule.buffers, alignment: 64))
        }
    }
    // (b) 100,000 random buffers, each live for up to 64 of 20,000 ops.
    var generator = SystemRandomNumberGenerator()
    let randomBuffers = (0..<100_000).map { index in
        let first = Int.random(in: 0..<20_000, using: &generator)
        return BufferRequest(
            name: "b\(index)", byteCount: 64 * Int.random(in: 1...16_384, using: &generator),
            lifetime: first...min(19_999, first + Int.random(in: 0..<64, using: &generator)))
    }
    Benchmark("plan: 100,000 random short-lived buffers (default planner)", configuration: .init(maxIterations: smoke ? 1 : 10)) {
        benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try BestPlanner().plan(randomBuffers, alignment: 64))
        }
    }
    let mlpSchedule = try! StepProgram(
        model: try! Model(name: "mlp", widths: [784, 256, 128, 10], loss: .softmaxCrossEntropy, batchSize: 128),
        options: StepOptions(fusesUpdate: false))
    Benchmark(
        "plan: fashion-mnist-mlp step (19 buffers, every strategy)", configuration: .init(scalingFactor: smoke ? .one : .kilo)
    ) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try BestPlanner().plan(mlpSchedule.buffers, alignment: 64))
        }
    }
    let mlp = try! ProfileParser.load(path: "profiles/fashion-mnist-mlp.yaml")
    Benchmark("estimate: fashion-mnist-mlp", configuration: .init(scalingFactor: smoke ? .one : .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try MemoryBudget.estimate(mlp))
        }
    }
}

import Yams
let yamlOnly: Void = {
    let text = generatedProfile(layerCount: 100_000)
    Benchmark("yaml compose only, 100,000-layer profile", configuration: .init(maxIterations: 10)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Yams.compose(yaml: text, .basic))
        }
    }
}()
