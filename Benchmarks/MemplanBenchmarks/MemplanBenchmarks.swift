// Benchmarks: `swift package benchmark` (full), `swift package benchmark --filter … ` for one.
// Targets checked here, not by timed unit tests: see the README's "Benchmarks" section.

import Benchmark
import MemoryBudget
import ModelProfile

/// A profile with `layerCount` layers of 64 units, as YAML text.
func generatedProfile(layerCount: Int) -> String {
    var text = "name: deep-\(layerCount)\ninput: {features: 64}\nhidden:\n"
    text.reserveCapacity(layerCount * 36)
    for _ in 0..<(layerCount - 1) { text += "  - {units: 64, activation: relu}\n" }
    text += "output: {units: 10}\nloss: softmax-ce\nbatch: 128\n"
    return text
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        scalingFactor: .one,
        maxDuration: .seconds(10),
        maxIterations: 20
    )

    // Issue "Foundation": estimating a generated 100,000-layer profile takes < 1 s (parse + budget).
    let deepProfile = generatedProfile(layerCount: 100_000)
    Benchmark("estimate: parse + budget, 100,000-layer profile", configuration: .init(maxIterations: 10)) { benchmark in
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
    let mlp = try! ProfileParser.load(path: "profiles/fashion-mnist-mlp.yaml")
    Benchmark("estimate: fashion-mnist-mlp", configuration: .init(scalingFactor: .kilo)) { benchmark in
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
