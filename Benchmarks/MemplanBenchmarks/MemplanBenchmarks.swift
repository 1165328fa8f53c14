// Benchmarks: `swift package benchmark` (full), `swift package benchmark --filter … ` for one.
// Targets checked here, not by timed unit tests: see the README's "Benchmarks" section.

import ArenaPlanner
import BenchSupport
import Benchmark
import Foundation
import MLPTrainer
import MemoryBudget
import ModelImport
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
    importBenchmarks()
    gemmBenchmarks()

    let mlp = try! ProfileParser.load(path: "profiles/fashion-mnist-mlp.yaml")
    Benchmark("estimate: fashion-mnist-mlp", configuration: .init(scalingFactor: smoke ? .one : .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try MemoryBudget.estimate(mlp))
        }
    }
}

// MARK: - Model import: a safetensors header or a 70B index is read in < 100 ms and < 20 MB

/// Writes a safetensors file whose header lists `tensors` laid end to end, then extends it to its full size
/// as a hole (a sparse file: the data is never written, and the reader must never read it).
func writeSparseSafetensors(_ path: String, _ tensors: [(name: String, dtype: String, shape: [Int])]) throws {
    var entries: [String] = []
    var offset = 0
    for tensor in tensors {
        let bytes = tensor.shape.reduce(1, *) * (tensor.dtype == "F32" ? 4 : 2)
        let shape = tensor.shape.map(String.init).joined(separator: ",")
        entries.append(
            "\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + bytes)]}"
        )
        offset += bytes
    }
    let header = Array(("{\"__metadata__\":{\"format\":\"pt\"}," + entries.joined(separator: ",") + "}").utf8)
    let length = (0..<8).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) }
    guard FileManager.default.createFile(atPath: path, contents: Data(length + header)) else {
        throw CocoaError(.fileWriteUnknown)
    }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try handle.truncate(atOffset: UInt64(8 + header.count + offset))
    try handle.close()
}

/// GPT-2 (124M) as Hugging Face stores it: 548 MB of F32, including the 12 causal-mask buffers.
func gpt2Tensors() -> [(name: String, dtype: String, shape: [Int])] {
    var tensors: [(name: String, dtype: String, shape: [Int])] = [
        ("wte.weight", "F32", [50257, 768]), ("wpe.weight", "F32", [1024, 768]),
    ]
    for layer in 0..<12 {
        let prefix = "h.\(layer)."
        tensors += [
            (prefix + "ln_1.weight", "F32", [768]), (prefix + "ln_1.bias", "F32", [768]),
            (prefix + "attn.bias", "F32", [1, 1, 1024, 1024]),
            (prefix + "attn.c_attn.weight", "F32", [768, 2304]), (prefix + "attn.c_attn.bias", "F32", [2304]),
            (prefix + "attn.c_proj.weight", "F32", [768, 768]), (prefix + "attn.c_proj.bias", "F32", [768]),
            (prefix + "ln_2.weight", "F32", [768]), (prefix + "ln_2.bias", "F32", [768]),
            (prefix + "mlp.c_fc.weight", "F32", [768, 3072]), (prefix + "mlp.c_fc.bias", "F32", [3072]),
            (prefix + "mlp.c_proj.weight", "F32", [3072, 768]), (prefix + "mlp.c_proj.bias", "F32", [768]),
        ]
    }
    return tensors + [("ln_f.weight", "F32", [768]), ("ln_f.bias", "F32", [768])]
}

/// Llama-2-70B as Hugging Face shards it: 723 BF16 tensors (69 billion parameters, 138 GB) in 15 files.
func writeLlama70B(in directory: String) throws -> String {
    let (hidden, intermediate, keyValue, vocabulary) = (8192, 28672, 1024, 32000)
    var tensors: [(name: String, dtype: String, shape: [Int])] = [("model.embed_tokens.weight", "BF16", [vocabulary, hidden])]
    for layer in 0..<80 {
        let prefix = "model.layers.\(layer)."
        tensors += [
            (prefix + "input_layernorm.weight", "BF16", [hidden]), (prefix + "post_attention_layernorm.weight", "BF16", [hidden]),
            (prefix + "self_attn.q_proj.weight", "BF16", [hidden, hidden]),
            (prefix + "self_attn.k_proj.weight", "BF16", [keyValue, hidden]),
            (prefix + "self_attn.v_proj.weight", "BF16", [keyValue, hidden]),
            (prefix + "self_attn.o_proj.weight", "BF16", [hidden, hidden]),
            (prefix + "mlp.gate_proj.weight", "BF16", [intermediate, hidden]),
            (prefix + "mlp.up_proj.weight", "BF16", [intermediate, hidden]),
            (prefix + "mlp.down_proj.weight", "BF16", [hidden, intermediate]),
        ]
    }
    tensors += [("model.norm.weight", "BF16", [hidden]), ("lm_head.weight", "BF16", [vocabulary, hidden])]
    let shards = 15
    let perShard = (tensors.count + shards - 1) / shards
    var weightMap: [String] = []
    var totalSize = 0
    for shard in 0..<shards {
        let name = String(format: "model-%05d-of-%05d.safetensors", shard + 1, shards)
        let part = Array(tensors[min(shard * perShard, tensors.count)..<min((shard + 1) * perShard, tensors.count)])
        try writeSparseSafetensors(directory + "/" + name, part)
        weightMap += part.map { "\"\($0.name)\": \"\(name)\"" }
        totalSize += part.reduce(0) { $0 + $1.shape.reduce(2, *) }
    }
    let index = "{\"metadata\": {\"total_size\": \(totalSize)}, \"weight_map\": {" + weightMap.joined(separator: ", ") + "}}"
    let path = directory + "/model.safetensors.index.json"
    try index.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func importBenchmarks() {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("memplan-import-bench-\(getpid())").path
    let gpt2 = directory + "/gpt2/model.safetensors"
    let llama = directory + "/llama-2-70b/model.safetensors.index.json"
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident, .peakMemoryResidentDelta, .mallocCountTotal],
        maxDuration: .seconds(smoke ? 1 : 5),
        maxIterations: smoke ? 2 : 200)
    Benchmark(
        "import: safetensors header of GPT-2 (548 MB file, 160 tensors)", configuration: configuration,
        closure: { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try! SafetensorsFile.read(path: gpt2).parameterCount) }
        },
        setup: {
            try FileManager.default.createDirectory(atPath: directory + "/gpt2", withIntermediateDirectories: true)
            try writeSparseSafetensors(gpt2, gpt2Tensors())
        },
        teardown: { try? FileManager.default.removeItem(atPath: directory) })
    Benchmark(
        "import: sharded index of Llama-2-70B (15 shards, 723 tensors, 138 GB)", configuration: configuration,
        closure: { benchmark in
            for _ in benchmark.scaledIterations { blackHole(try! SafetensorsIndex.read(path: llama).parameterCount) }
        },
        setup: {
            try FileManager.default.createDirectory(atPath: directory + "/llama-2-70b", withIntermediateDirectories: true)
            _ = try writeLlama70B(in: directory + "/llama-2-70b")
        },
        teardown: { try? FileManager.default.removeItem(atPath: directory) })
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
