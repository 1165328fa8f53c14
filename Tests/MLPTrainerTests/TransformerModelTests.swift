// The tiny GPT-2 and Llama compositions: their gradients against finite differences (fp64), their split against
// one part, and the GPT-2 step against the independent numpy implementation in bench/peers/numpy_gpt.py.

import Foundation
@testable import MLPTrainer
import ModelProfile
import Testing
import TestSupport

/// The GPT-2 the tests use: V = 60 real tokens padded to Vp = 64 (so the padding is exercised), maxT = 8, L = 2,
/// NH = 2, C = 16; B = 2, T = 8.
let tinyGPT2Config = GPT2Config(
    maxSequenceLength: 8, vocabularySize: 60, layerCount: 2, headCount: 2, channels: 16, paddedVocabularySize: 64)

/// Deterministic tokens in 0..<V: B·T + 1 of them, llm.c's batch (inputs are the first B·T, targets the next B·T).
func tinyTokens(count: Int, vocabulary: Int, seed: UInt64) -> [Int32] {
    var generator = SplitMix64(seed: seed)
    return (0..<count).map { _ in Int32(generator.next() % UInt64(vocabulary)) }
}

func makeTinyGPT2<T: TrainingScalar>(_: T.Type, parts: Int = 1, batch: Int = 2, sequence: Int = 8) throws -> TinyGPT2<T> {
    let model = try TinyGPT2<T>(config: tinyGPT2Config, batch: batch, sequence: sequence, parts: parts)
    model.randomize(seed: 7)
    let tokens = tinyTokens(count: batch * sequence + 1, vocabulary: tinyGPT2Config.vocabularySize, seed: 11)
    for i in 0..<(batch * sequence) {
        model.inputs[i] = tokens[i]
        model.targets[i] = tokens[i + 1]
    }
    return model
}

/// The Llama-style model the tests use: V = 60 padded to 64, maxT = 20, L = 2, NH = 4 query heads sharing NKV = 1
/// key/value head (HS = 4), C = 16, I = 24; B = 2, T = 17 (an odd T; heads of 4 take attention's loops).
let tinyLlamaConfig = TinyLlamaConfig(
    vocabulary: 60, paddedVocabulary: 64, maxSequence: 20, layers: 2, heads: 4, kvHeads: 1, channels: 16, hidden: 24)

func makeTinyLlama<T: TrainingScalar>(_: T.Type, parts: Int = 1, batch: Int = 2, sequence: Int = 17) -> TinyLlama<T> {
    let model = TinyLlama<T>(config: tinyLlamaConfig, batch: batch, sequence: sequence, parts: parts)
    model.randomize(seed: 5)
    let tokens = tinyTokens(count: batch * sequence + 1, vocabulary: tinyLlamaConfig.vocabulary, seed: 13)
    for i in 0..<(batch * sequence) {
        model.inputs[i] = tokens[i]
        model.targets[i] = tokens[i + 1]
    }
    return model
}

/// Runs `python3` with `arguments`; its exit status and what it wrote to stderr.
func runPython(_ arguments: [String]) throws -> (status: Int32, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    let errors = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = errors
    try process.run()
    let data = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Whether `python3 -c 'import numpy'` succeeds: the numpy comparison needs it and is skipped, saying so, without.
let numpyAvailable: Bool = (try? runPython(["-c", "import numpy"]).status == 0) ?? false

@Suite("Transformer models")
struct TransformerModelTests {
    /// Every parameter tensor of the tiny GPT-2 against fourth-order central differences.
    ///
    /// All of a small tensor, 40 elements spread over a large one, and wte's padded rows, whose gradient is exactly 0.
    /// Tolerance: |analytic − numeric| ≤ 1e-6 · max(|analytic| + |numeric|, 1e-3).
    @Test("GPT-2: every parameter's gradient matches finite differences (fp64)")
    func gpt2Gradients() throws {
        let model = try makeTinyGPT2(Double.self)
        model.forward(gradient: true)
        model.backward()
        let analytic = model.grads.doubles
        for (index, name) in GPT2Config.parameterNames.enumerated() {
            var indices = sampleIndices(model.sizes[index])
            if index == 0 { indices += [60 * 16, 63 * 16 + 15] }  // padded rows of wte
            let numeric = numericGradient(model.params, at: indices.map { model.offsets[index] + $0 }) {
                model.forward(gradient: false)
            }
            let error = worstRelativeError(indices.map { analytic[model.offsets[index] + $0] }, numeric)
            #expect(error < 1e-6, "\(name): worst relative error \(error)")
        }
        #expect((60 * 16..<64 * 16).allSatisfy { analytic[$0] == 0 }, "the padded rows of wte get no gradient")
    }

    /// The same check for the Llama-style model (RMSNorm, rotary, SwiGLU, GQA with NKV = 1, untied head).
    @Test("Llama: every parameter's gradient matches finite differences (fp64)")
    func llamaGradients() {
        let model = makeTinyLlama(Double.self)
        model.forward(gradient: true)
        model.backward()
        let analytic = model.grads.doubles
        for (index, name) in TinyLlama<Double>.names.enumerated() {
            let indices = sampleIndices(model.sizes[index])
            let numeric = numericGradient(model.params, at: indices.map { model.offsets[index] + $0 }) {
                model.forward(gradient: false)
            }
            let error = worstRelativeError(indices.map { analytic[model.offsets[index] + $0] }, numeric)
            #expect(error < 1e-6, "\(name): worst relative error \(error)")
        }
    }

    /// Both models, every kernel run as three complementary ranges, against one part.
    ///
    /// The ranges are uneven, some empty for small counts. Loop kernels and attention are bit-identical under any split; the linear layers' GEMMs see a different m
    /// per part and may round differently, so the comparison allows 1e-12 relative in fp64.
    @Test("a step split into three parts per kernel equals one part", arguments: [8, 17])
    func splitModels(sequence: Int) throws {
        if sequence <= tinyGPT2Config.maxSequenceLength {
            var results: [[Double]] = []
            var losses: [Double] = []
            for parts in [1, 3] {
                let model = try makeTinyGPT2(Double.self, parts: parts, sequence: sequence)
                losses.append(model.forward(gradient: true))
                model.backward()
                results.append(model.grads.doubles)
            }
            #expect(abs(losses[0] - losses[1]) <= 1e-12 * losses[0])
            #expect(normRelativeError(results[1], results[0]) <= 1e-12, "GPT-2 T = \(sequence)")
        }
        var results: [[Double]] = []
        var losses: [Double] = []
        for parts in [1, 3] {
            let model = makeTinyLlama(Double.self, parts: parts, sequence: sequence)
            losses.append(model.forward(gradient: true))
            model.backward()
            results.append(model.grads.doubles)
        }
        #expect(abs(losses[0] - losses[1]) <= 1e-12 * losses[0])
        #expect(normRelativeError(results[1], results[0]) <= 1e-12, "Llama T = \(sequence)")
    }

    /// Sanity of the compositions as trainers: at initialisation the loss is near ln V; plain SGD on one batch
    /// drives it down.
    @Test("SGD on one batch lowers both models' loss")
    func sgdLowersLoss() throws {
        let gpt2 = try makeTinyGPT2(Double.self)
        let llama = makeTinyLlama(Double.self)
        func train(_ step: () -> Double, _ params: Slab<Double>, _ grads: Slab<Double>) -> (Double, Double) {
            let first = step()
            var loss = first
            for _ in 0..<30 {
                for i in 0..<params.count { params[i] -= 0.5 * grads[i] }
                loss = step()
            }
            return (first, loss)
        }
        let (gpt2First, gpt2Last) = train(
            {
                let loss = gpt2.forward(gradient: true); gpt2.backward(); return loss
            }, gpt2.params, gpt2.grads)
        let (llamaFirst, llamaLast) = train(
            {
                let loss = llama.forward(gradient: true); llama.backward(); return loss
            }, llama.params, llama.grads)
        #expect(abs(gpt2First - log(60)) < 2, "GPT-2 starts at \(gpt2First)")
        #expect(gpt2Last < 0.5 * gpt2First, "GPT-2: \(gpt2First) → \(gpt2Last)")
        #expect(llamaLast < 0.5 * llamaFirst, "Llama: \(llamaFirst) → \(llamaLast)")
    }

    /// One tiny GPT-2 step against bench/peers/numpy_gpt.py.
    ///
    /// The same checkpoint (written by `GPT2Checkpoint`) and tokens on both sides; compared: the mean loss, and every parameter's gradient per tensor as max|swift − numpy| / max|numpy|.
    /// fp32 on both sides to 1e-4 (measured ≤ 5e-7; element by element, entries above 1e-3 of their tensor's largest
    /// differ by ≤ 1.2e-4 relative, from cancellation in the small ones); fp64 on both sides, from the same fp32
    /// parameters, to 1e-12 (measured ≤ 2e-15), which only the same computation meets.
    @Test(
        "the tiny GPT-2 step matches bench/peers/numpy_gpt.py",
        .enabled(if: numpyAvailable, "python3 cannot import numpy: the numpy comparison is skipped"),
        arguments: ["float32", "float64"])
    func numpyPeer(dtype: String) throws {
        let directory = try makeTemporaryDirectory("numpy-gpt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (checkpoint, tokensPath, outPath) = (
            directory.appendingPathComponent("model.bin").path, directory.appendingPathComponent("tokens.bin"),
            directory.appendingPathComponent("grads.bin").path
        )
        let (batch, sequence) = (2, 8)
        let single = try makeTinyGPT2(Float.self, batch: batch, sequence: sequence)
        try GPT2Checkpoint.write(single.params.array, config: tinyGPT2Config, to: checkpoint)
        let tokens = tinyTokens(count: batch * sequence + 1, vocabulary: tinyGPT2Config.vocabularySize, seed: 11)
        try tokens.withUnsafeBytes { Data($0) }.write(to: tokensPath)
        let script = packageRoot.appendingPathComponent("bench/peers/numpy_gpt.py").path
        let run = try runPython([
            script, "--checkpoint", checkpoint, "--tokens", tokensPath.path, "--batch", "\(batch)", "--seq", "\(sequence)",
            "--out", outPath,
            "--dtype", dtype,
        ])
        try #require(run.status == 0, "numpy_gpt.py failed: \(run.errors)")
        let output = try Data(contentsOf: URL(fileURLWithPath: outPath)).withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        try #require(output.count == 1 + single.params.count)

        let loss: Double
        let gradients: [Double]
        if dtype == "float32" {
            loss = single.forward(gradient: true)
            single.backward()
            gradients = single.grads.doubles
        } else {
            let double = try makeTinyGPT2(Double.self, batch: batch, sequence: sequence)
            for i in 0..<double.params.count { double.params[i] = Double(single.params[i]) }
            loss = double.forward(gradient: true)
            double.backward()
            gradients = double.grads.doubles
        }
        let tolerance = dtype == "float32" ? 1e-4 : 1e-12
        #expect(abs(loss - output[0]) <= tolerance * abs(output[0]), "\(dtype) loss: swift \(loss), numpy \(output[0])")
        for (index, name) in GPT2Config.parameterNames.enumerated() {
            let range = (1 + single.offsets[index])..<(1 + single.offsets[index] + single.sizes[index])
            let error = normRelativeError(Array(gradients[range.lowerBound - 1..<range.upperBound - 1]), Array(output[range]))
            #expect(error <= tolerance, "\(dtype) d\(name): max|swift − numpy| / max|numpy| = \(error)")
        }
    }
}
