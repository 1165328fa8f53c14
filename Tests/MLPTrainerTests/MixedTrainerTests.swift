import ArenaPlanner
import CGEMM
import Foundation
import MemoryBudget
@testable import MLPTrainer
import ModelProfile
import NUMAArena
import TestSupport
import Testing
import TrainingData

/// A bf16-mixed trainer over its own planned arena (as `LocalTrainer` for fp32): file order, parameters drawn.
final class LocalMixedTrainer {
    let arena: Arena
    let pool: WorkerPool
    let trainer: MixedTrainer

    init(model: Model, threads: Int, fusesUpdate: Bool = true, guardsLifetimes: Bool = false) throws {
        let loader = try DatasetLoader(model: model)
        let program = try StepProgram(
            model: model, options: StepOptions(parts: threads, fusesUpdate: fusesUpdate), data: loader.shape)
        let plan = try BestPlanner().plan(program.buffers, alignment: 64)
        arena = try Arena(byteCount: plan.arenaByteCount, placement: .local)
        let tensors = MixedTensors(program: program, plan: plan, arena: arena)
        try loader.load(into: tensors.data)
        for index in 0..<loader.shape.trainCount { tensors.data.order[index] = Int32(index) }
        trainer = MixedTrainer(
            program: program, tensors: tensors,
            lifetimeGuard: guardsLifetimes ? LifetimeGuard(program: program, plan: plan, arena: arena) : nil)
        pool = WorkerPool(partCount: threads)
        trainer.attach(pool)
        trainer.initializeParameters(seed: model.seed)
    }
}

/// ‖a − b‖₂ / ‖b‖₂.
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    let difference = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
    return difference / max(b.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-30)
}

@Suite("bf16-mixed training")
struct MixedTrainerTests {
    /// Smooth hidden activations: a relu's decision (z > 0) flips for the few units whose z is within bf16's rounding
    /// of 0 (13 of 32,768 in W1's first batch), and each flip changes a whole term of dW, so relu layers differ from the
    /// fp32 path by about √(flipped fraction), 2–3 %, whatever the arithmetic's precision; `reluAtOwnDecisions`
    /// checks relu's arithmetic.
    static let cases: [(Loss, Activation?, Activation)] = [
        (.softmaxCrossEntropy, nil, .tanh), (.binaryCrossEntropy, nil, .sigmoid), (.l2, .identity, .identity),
        (.softmaxCrossEntropy, nil, .identity),
    ]

    @Test(
        "the bf16 path's gradients match the fp32 path's within bf16's precision (≤ 1e-2 relative per tensor)",
        arguments: cases.indices)
    func gradientsMatchSingle(caseIndex: Int) throws {
        let (loss, output, hidden) = Self.cases[caseIndex]
        let adam = Optimizer(kind: .adam, learningRate: 0.001)
        for threads in [1, 2] {
            let widths = [40, 64, 48, loss == .l2 ? 3 : 10]
            let single = try syntheticModel(
                widths: widths, hidden: hidden, loss: loss, output: output, precision: .single, batch: 48, optimizer: adam,
                count: 96)
            var mixed = single
            mixed.precision = .bf16Mixed
            let reference = try Fixture<Float>(single, threads: threads, fusesUpdate: false)
            _ = reference.trainer.computeGradients(.training(orderStart: 0), rows: 48)
            let local = try LocalMixedTrainer(model: mixed, threads: threads, fusesUpdate: false)
            _ = local.trainer.computeGradients(.training(orderStart: 0), rows: 48)
            var expected: [[Double]] = []
            for parameter in reference.parameters {
                expected.append(UnsafeBufferPointer(start: parameter.gradient!, count: parameter.count).map(Double.init))
            }
            var found: [[Double]] = []
            for layer in local.trainer.tensors.layers {
                found.append(
                    UnsafeBufferPointer(start: layer.weightGradient!, count: layer.inputWidth * layer.outputWidth).map {
                        Double(BF16.value($0))
                    })
                found.append(
                    UnsafeBufferPointer(start: layer.biasGradient!, count: layer.outputWidth).map { Double(BF16.value($0)) })
            }
            #expect(found.count == expected.count)
            for (index, (a, b)) in zip(found, expected).enumerated() {
                let error = relativeError(a, b)
                #expect(error <= 1e-2, "\(loss) hidden \(hidden), \(threads) threads, tensor \(index): relative error \(error)")
                #expect(b.contains { $0 != 0 }, "tensor \(index) has a gradient to compare")
            }
        }
    }

    @Test("relu: the bf16 path's gradients match fp64 arithmetic at its own relu decisions within 1e-2 per tensor")
    func reluAtOwnDecisions() throws {
        let (rows, inputs, hidden, classes) = (48, 40, 64, 10)
        let model = try syntheticModel(
            widths: [inputs, hidden, classes], hidden: .relu, loss: .softmaxCrossEntropy, precision: .bf16Mixed, batch: rows,
            optimizer: Optimizer(kind: .adam, learningRate: 0.001), count: 96)
        let local = try LocalMixedTrainer(model: model, threads: 2, fusesUpdate: false)
        let trainer = local.trainer
        let (first, second) = (trainer.tensors.layers[0], trainer.tensors.layers[1])
        // The forward alone leaves x, y and a₁ as the step's forward makes them.
        _ = trainer.evaluate(.training(orderStart: 0), rows: rows)
        func values(_ pointer: UnsafePointer<UInt16>, _ count: Int) -> [Double] {
            UnsafeBufferPointer(start: pointer, count: count).map { Double(BF16.value($0)) }
        }
        let x = values(trainer.tensors.features, rows * inputs)
        let y = values(trainer.tensors.targets, rows * classes)
        let on = values(first.output, rows * hidden).map { $0 > 0 }
        let (w1, b1) = (values(first.weights, hidden * inputs), values(first.bias!, hidden))
        let (w2, b2) = (values(second.weights, classes * hidden), values(second.bias!, classes))
        _ = trainer.computeGradients(.training(orderStart: 0), rows: rows)
        // fp64 forward and backward through the bf16 path's relu decisions.
        var a1 = [Double](repeating: 0, count: rows * hidden)
        var dz2 = [Double](repeating: 0, count: rows * classes)
        for r in 0..<rows {
            for h in 0..<hidden where on[r * hidden + h] {
                a1[r * hidden + h] = b1[h] + (0..<inputs).reduce(0) { $0 + x[r * inputs + $1] * w1[h * inputs + $1] }
            }
            let z = (0..<classes).map { c in b2[c] + (0..<hidden).reduce(0) { $0 + a1[r * hidden + $1] * w2[c * hidden + $1] } }
            let largest = z.max()!
            let sum = z.reduce(0) { $0 + exp($1 - largest) }
            for c in 0..<classes { dz2[r * classes + c] = (exp(z[c] - largest) / sum - y[r * classes + c]) / Double(rows) }
        }
        var dz1 = [Double](repeating: 0, count: rows * hidden)
        for r in 0..<rows {
            for h in 0..<hidden where on[r * hidden + h] {
                dz1[r * hidden + h] = (0..<classes).reduce(0) { $0 + dz2[r * classes + $1] * w2[$1 * hidden + h] }
            }
        }
        func weightGradient(_ dz: [Double], _ input: [Double], outputs: Int, width: Int) -> [Double] {
            (0..<(outputs * width)).map { index in
                (0..<rows).reduce(0) { $0 + dz[$1 * outputs + index / width] * input[$1 * width + index % width] }
            }
        }
        func biasGradient(_ dz: [Double], outputs: Int) -> [Double] {
            (0..<outputs).map { o in (0..<rows).reduce(0) { $0 + dz[$1 * outputs + o] } }
        }
        let expected = [
            weightGradient(dz1, x, outputs: hidden, width: inputs), biasGradient(dz1, outputs: hidden),
            weightGradient(dz2, a1, outputs: classes, width: hidden), biasGradient(dz2, outputs: classes),
        ]
        let found = [
            values(first.weightGradient!, hidden * inputs), values(first.biasGradient!, hidden),
            values(second.weightGradient!, classes * hidden), values(second.biasGradient!, classes),
        ]
        #expect(on.contains(true) && on.contains(false), "the relu both passes and stops units")
        for (index, (a, b)) in zip(found, expected).enumerated() {
            let error = relativeError(a, b)
            #expect(error <= 1e-2, "tensor \(index): relative error \(error)")
        }
    }

    @Test("bf16-mixed SGD and Adam train like fp32: the loss falls as fp32's does, within 5% after 30 steps")
    func trainsLikeSingle() throws {
        for kind in [OptimizerKind.sgd, .adam] {
            let optimizer = Optimizer(kind: kind, learningRate: kind == .sgd ? 0.1 : 0.003)
            let single = try syntheticModel(
                widths: [20, 64, 10], hidden: .relu, loss: .softmaxCrossEntropy, precision: .single, batch: 32,
                optimizer: optimizer, count: 256)
            var mixed = single
            mixed.precision = .bf16Mixed
            let reference = try Fixture<Float>(single, threads: 2)
            let local = try LocalMixedTrainer(model: mixed, threads: 2)
            func meanLoss(_ evaluate: (Int) -> Double) -> Double {
                stride(from: 0, to: 256, by: 32).map(evaluate).reduce(0, +) / 256
            }
            let first = meanLoss { local.trainer.evaluate(.training(orderStart: $0), rows: 32).loss }
            for step in 0..<30 {
                let start = (step * 32) % 256
                _ = reference.trainer.trainStep(.training(orderStart: start), rows: 32)
                _ = local.trainer.trainStep(.training(orderStart: start), rows: 32)
            }
            let expected = meanLoss { reference.trainer.evaluate(.training(orderStart: $0), rows: 32).loss }
            let found = meanLoss { local.trainer.evaluate(.training(orderStart: $0), rows: 32).loss }
            #expect(found < 0.8 * first, "\(kind): the loss fell from \(first) to \(found)")
            #expect(abs(found - expected) <= 0.05 * expected, "\(kind): bf16-mixed \(found) against fp32 \(expected)")
        }
    }

    @Test("every op of a bf16-mixed step writes only its planned live buffers (lifetime guard), fused and unfused")
    func staysInsideThePlan() throws {
        for fusesUpdate in [true, false] {
            let model = try syntheticModel(
                widths: [12, 40, 24, 5], hidden: .relu, loss: .softmaxCrossEntropy, precision: .bf16Mixed, batch: 20,
                optimizer: Optimizer(kind: fusesUpdate ? .sgd : .adamw, learningRate: 0.01), count: 64)
            let local = try LocalMixedTrainer(model: model, threads: 2, fusesUpdate: fusesUpdate, guardsLifetimes: true)
            for step in 0..<3 { _ = local.trainer.trainStep(.training(orderStart: step * 20), rows: 20) }
            _ = local.trainer.evaluate(.training(orderStart: 0), rows: 20)
            #expect(local.trainer.lifetimeGuard?.violations == [], "fused \(fusesUpdate)")
        }
    }

    @Test("models the bf16-mixed step has no kernels for are refused with the reason")
    func refusals() throws {
        var model = try syntheticModel(widths: [4, 6, 3], loss: .softmaxCrossEntropy, precision: .bf16Mixed, norm: .layer)
        #expect(mixedTrainingRefusal(model)?.contains("layer norm") == true)
        model = try syntheticModel(widths: [4, 6, 3], hidden: .relu, loss: .hinge, output: .identity, precision: .bf16Mixed)
        #expect(mixedTrainingRefusal(model)?.contains("hinge") == true)
        model = try syntheticModel(widths: [4, 6, 3], hidden: .relu, loss: .softmaxCrossEntropy, precision: .bf16Mixed)
        #expect(mixedTrainingRefusal(model) == nil)
    }
}

@Suite("bf16 product epilogues")
struct BF16EpilogueTests {
    /// C = op(A)·op(B) in fp64 from bf16 values, (m, n).
    static func reference(
        _ a: [UInt16], _ b: [UInt16], transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int
    ) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * m + i] : a[i * k + p]
                    let y = transposeB ? b[j * k + p] : b[p * n + j]
                    sum += Double(BF16.value(x)) * Double(BF16.value(y))
                }
                c[i * n + j] = sum
            }
        }
        return c
    }

    @Test("bias + relu, masked delta and SGD epilogues equal their fp64 definitions, every transpose and edge")
    func epilogues() {
        var generator = SplitMix64(seed: 31)
        for (m, n, k) in [(1, 1, 1), (5, 17, 3), (33, 40, 65), (64, 16, 784), (17, 100, 31)] {
            for (transposeA, transposeB) in [(false, true), (false, false), (true, false), (true, true)] {
                let a = (0..<(m * k)).map { _ in BF16.rounded(Float(generator.nextNormal())) }
                let b = (0..<(k * n)).map { _ in BF16.rounded(Float(generator.nextNormal())) }
                let bias = (0..<n).map { _ in BF16.rounded(Float(generator.nextNormal())) }
                let below = (0..<(m * n)).map { _ in BF16.rounded(Float(generator.nextNormal())) }
                let master0 = (0..<(m * n)).map { _ in Float(generator.nextNormal()) }
                let c = Self.reference(a, b, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
                let bound = 2e-6 * Double(k)  // fp32 sums of k products of values near 1
                var output = [UInt16](repeating: 0, count: m * n)
                var master = master0
                for kind in [MEMPLAN_EPILOGUE_BIAS_ACTIVATION, MEMPLAN_EPILOGUE_STORE, MEMPLAN_EPILOGUE_SGD] {
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            bias.withUnsafeBufferPointer { bias in
                                below.withUnsafeBufferPointer { below in
                                    output.withUnsafeMutableBufferPointer { output in
                                        master.withUnsafeMutableBufferPointer { master in
                                            var e = memplan_bf16_epilogue()
                                            e.kind = Int32(kind)
                                            e.activation = Int32(MEMPLAN_ACTIVATION_RELU)
                                            e.scale = kind == MEMPLAN_EPILOGUE_SGD ? -0.5 : 2
                                            e.bias = bias.baseAddress
                                            e.output = output.baseAddress
                                            e.outputStride = n
                                            e.derivativeOf = kind == MEMPLAN_EPILOGUE_STORE ? below.baseAddress : nil
                                            e.master = master.baseAddress
                                            e.masterStride = n
                                            _ = memplan_gemm_bf16_epilogue(
                                                transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(m), Int32(n), Int32(k),
                                                a.baseAddress, Int32(transposeA ? m : k), b.baseAddress,
                                                Int32(transposeB ? k : n), &e)
                                        }
                                    }
                                }
                            }
                        }
                    }
                    var worst = 0.0
                    for index in 0..<(m * n) {
                        let j = index % n
                        let expected: Double
                        switch kind {
                        case MEMPLAN_EPILOGUE_BIAS_ACTIVATION: expected = max(c[index] + Double(BF16.value(bias[j])), 0)
                        case MEMPLAN_EPILOGUE_STORE: expected = BF16.value(below[index]) > 0 ? 2 * c[index] : 0
                        default:
                            expected = Double(master0[index]) - 0.5 * c[index]
                            worst = max(worst, abs(Double(master[index]) - expected) - bound)
                        }
                        // bf16 output: within half a bf16 ulp (2⁻⁹ relative) plus the fp32 sum's error.
                        let error = abs(Double(BF16.value(output[index])) - expected) - abs(expected) / 256 - bound
                        worst = max(worst, error)
                    }
                    #expect(worst <= 0, "(\(m), \(n), \(k)) transposes \(transposeA) \(transposeB) epilogue \(kind): \(worst)")
                }
            }
        }
    }

    @Test("sigmoid without bias, an unmasked store, both into a block of a wider matrix (the by-outputs split's stride)")
    func stridedEpilogues() {
        var generator = SplitMix64(seed: 32)
        let (m, n, k, stride, offset) = (19, 45, 70, 64, 7)
        let a = (0..<(m * k)).map { _ in BF16.rounded(Float(generator.nextNormal())) }
        let b = (0..<(n * k)).map { _ in BF16.rounded(Float(generator.nextNormal())) }
        let c = Self.reference(a, b, transposeA: false, transposeB: true, m: m, n: n, k: k)
        for kind in [MEMPLAN_EPILOGUE_BIAS_ACTIVATION, MEMPLAN_EPILOGUE_STORE] {
            var output = [UInt16](repeating: 0xffff, count: m * stride)
            output.withUnsafeMutableBufferPointer { output in
                var e = memplan_bf16_epilogue()
                e.kind = Int32(kind)
                e.activation = Int32(kind == MEMPLAN_EPILOGUE_STORE ? MEMPLAN_ACTIVATION_RELU : MEMPLAN_ACTIVATION_SIGMOID)
                e.scale = 1
                e.output = output.baseAddress! + offset
                e.outputStride = stride
                _ = memplan_gemm_bf16_epilogue(0, 1, Int32(m), Int32(n), Int32(k), a, Int32(k), b, Int32(k), &e)
            }
            for row in 0..<m {
                for column in 0..<stride {
                    let value = output[row * stride + column]
                    let inside = column >= offset && column < offset + n
                    guard inside else {
                        #expect(value == 0xffff, "kind \(kind) wrote outside its block at (\(row), \(column))")
                        continue
                    }
                    let z = c[row * n + column - offset]
                    // relu with no mask stores z as is; sigmoid without bias is σ(z).
                    let expected = kind == MEMPLAN_EPILOGUE_STORE ? z : 1 / (1 + exp(-z))
                    let error = abs(Double(BF16.value(value)) - expected) - abs(expected) / 256 - 2e-6 * Double(k)
                    #expect(error <= 0, "kind \(kind) at (\(row), \(column)): \(BF16.value(value)) against \(expected)")
                }
            }
        }
    }
}
