import Foundation
@testable import MLPTrainer
import ModelProfile
import TestSupport
import Testing

/// Backpropagated gradients against central finite differences, in double precision.
@Suite("Gradients")
struct GradientTests {
    static let cases: [(Loss, Activation?, Activation)] = [
        (.l2, .identity, .tanh), (.l2, .sigmoid, .sigmoid), (.l2, .tanh, .relu), (.l2, .identity, .identity),
        (.l1, .identity, .tanh), (.hinge, .identity, .tanh), (.binaryCrossEntropy, nil, .relu),
        (.binaryCrossEntropy, nil, .sigmoid), (.softmaxCrossEntropy, nil, .tanh), (.softmaxCrossEntropy, nil, .relu),
    ]

    @Test("∂L/∂θ matches finite differences", arguments: cases.indices)
    func finiteDifferences(caseIndex: Int) throws {
        let (loss, output, hidden) = Self.cases[caseIndex]
        for threads in [1, 2] {
            let model = try syntheticModel(widths: [4, 5, 3], hidden: hidden, loss: loss, output: output, batch: 6)
            let fixture = try Fixture<Double>(model, threads: threads, fusesUpdate: false)
            let trainer = fixture.trainer
            let rows = 6
            _ = trainer.computeGradients(.training(orderStart: 0), rows: rows)
            let analytic = fixture.parameters.map { Array(UnsafeBufferPointer(start: $0.gradient!, count: $0.count)) }
            func meanLoss() -> Double { trainer.evaluate(.training(orderStart: 0), rows: rows).loss / Double(rows) }
            let h = 1e-6
            var worst = 0.0
            for (tensor, parameter) in fixture.parameters.enumerated() {
                for index in 0..<parameter.count {
                    let saved = parameter.values[index]
                    parameter.values[index] = saved + h
                    let plus = meanLoss()
                    parameter.values[index] = saved - h
                    let minus = meanLoss()
                    parameter.values[index] = saved
                    let numeric = (plus - minus) / (2 * h)
                    let error = abs(numeric - analytic[tensor][index]) / max(1e-4, abs(numeric) + abs(analytic[tensor][index]))
                    worst = max(worst, error)
                }
            }
            #expect(
                worst < 1e-5,
                "\(loss) output \(String(describing: output)) hidden \(hidden), \(threads) threads: worst relative error \(worst)"
            )
        }
    }

    @Test("layer norm: ∂L/∂θ (W, b, γ, β) matches finite differences", arguments: [Activation.tanh, .sigmoid, .relu])
    func layerNormFiniteDifferences(hidden: Activation) throws {
        for threads in [1, 2] {
            let model = try syntheticModel(
                widths: [4, 6, 5, 3], hidden: hidden, loss: .softmaxCrossEntropy, batch: 7, norm: .layer)
            let fixture = try Fixture<Double>(model, threads: threads, fusesUpdate: false)
            #expect(fixture.parameters.count == 10, "W, b, γ, β for two norm layers; W, b for the output")
            let trainer = fixture.trainer
            // γ and β away from their first values, so their gradients are not a special case.
            var generator = SplitMix64(seed: 4)
            for parameter in fixture.parameters where parameter.count == 6 || parameter.count == 5 {
                for index in 0..<parameter.count { parameter.values[index] += 0.3 * generator.nextNormal() }
            }
            _ = trainer.computeGradients(.training(orderStart: 0), rows: 7)
            let analytic = fixture.parameters.map { Array(UnsafeBufferPointer(start: $0.gradient!, count: $0.count)) }
            func meanLoss() -> Double { trainer.evaluate(.training(orderStart: 0), rows: 7).loss / 7 }
            let h = 1e-6
            var worst = 0.0
            for (tensor, parameter) in fixture.parameters.enumerated() {
                for index in 0..<parameter.count {
                    let saved = parameter.values[index]
                    parameter.values[index] = saved + h
                    let plus = meanLoss()
                    parameter.values[index] = saved - h
                    let minus = meanLoss()
                    parameter.values[index] = saved
                    let numeric = (plus - minus) / (2 * h)
                    let error = abs(numeric - analytic[tensor][index]) / max(1e-4, abs(numeric) + abs(analytic[tensor][index]))
                    worst = max(worst, error)
                }
            }
            #expect(worst < 1e-5, "layer norm, hidden \(hidden), \(threads) threads: worst relative error \(worst)")
        }
    }

    @Test("one thread and two give the same step")
    func threadsAgree() throws {
        let model = try syntheticModel(widths: [6, 40, 3], hidden: .relu, loss: .softmaxCrossEntropy, batch: 32)
        var results: [[Double]] = []
        for threads in [1, 2, 3] {
            let fixture = try Fixture<Double>(model, threads: threads)
            // A shuffled order, so a part that gathers the wrong rows changes the step.
            let data = fixture.trainer.tensors.data
            for index in 0..<64 { data.order[index] = Int32((index * 37 + 11) % 64) }
            _ = fixture.trainer.evaluate(.training(orderStart: 0), rows: 32)  // load gathers x
            var stored = [Double](repeating: 0, count: 6)
            for row in [0, 17, 31] {
                data.trainFeatures.read(from: Int(data.order[row]) * 6, count: 6, into: &stored)
                for column in 0..<6 {
                    #expect(fixture.trainer.tensors.features[row * 6 + column] == stored[column])
                }
            }
            _ = fixture.trainer.trainStep(.training(orderStart: 0), rows: 32)
            _ = fixture.trainer.trainStep(.training(orderStart: 1), rows: 1)  // batch 1 splits by columns
            results.append(fixture.parameterValues)
        }
        for other in results.dropFirst() {
            let difference = zip(results[0], other).map { abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-12, "parameters differ by \(difference)")
        }
    }

    @Test("the optimizers move parameters against the gradient", arguments: OptimizerKind.allCases)
    func optimizers(kind: OptimizerKind) throws {
        let optimizer = Optimizer(kind: kind, learningRate: kind.defaultLearningRate == 0.001 ? 0.01 : 0.1)
        let model = try syntheticModel(widths: [3, 8, 1], loss: .l2, batch: 16, optimizer: optimizer, count: 256)
        let fixture = try Fixture<Double>(model)
        var losses: [Double] = []
        for step in 0..<200 {
            losses.append(fixture.trainer.trainStep(.training(orderStart: (step * 16) % 240), rows: 16).loss / 16)
        }
        let early = losses.prefix(20).reduce(0, +) / 20
        let late = losses.suffix(20).reduce(0, +) / 20
        #expect(late < early * 0.5, "\(kind): loss \(early) → \(late)")
    }

    @Test("AdamW's rule: θ·(1 − η·λ), then Adam's step with bias correction (two steps, against the formula)")
    func adamW() throws {
        let optimizer = Optimizer(kind: .adamw, learningRate: 0.01, beta1: 0.8, beta2: 0.95, epsilon: 1e-6, weightDecay: 0.2)
        var theta: [Double] = [0.5, -1.25, 2, 0]
        let gradients: [[Double]] = [[0.1, -0.3, 0.0, 2], [-0.2, 0.4, 1, -1]]
        var m = [Double](repeating: 0, count: 4)
        var v = [Double](repeating: 0, count: 4)
        var expected = theta
        var first = [Double](repeating: 0, count: 4)
        var second = [Double](repeating: 0, count: 4)
        for (step, g) in gradients.enumerated() {
            let t = Double(step + 1)
            for i in 0..<4 {
                expected[i] *= 1 - 0.01 * 0.2
                first[i] = 0.8 * first[i] + 0.2 * g[i]
                second[i] = 0.95 * second[i] + 0.05 * g[i] * g[i]
                let mHat = first[i] / (1 - pow(0.8, t))
                let vHat = second[i] / (1 - pow(0.95, t))
                expected[i] -= 0.01 * mHat / (vHat.squareRoot() + 1e-6)
            }
            let rule = OptimizerRule<Double>(optimizer, step: step + 1)
            theta.withUnsafeMutableBufferPointer { p in
                m.withUnsafeMutableBufferPointer { mp in
                    v.withUnsafeMutableBufferPointer { vp in
                        g.withUnsafeBufferPointer { gp in
                            rule.apply(
                                p.baseAddress!, gradient: gp.baseAddress!, states: [mp.baseAddress!, vp.baseAddress!],
                                range: 0..<4)
                        }
                    }
                }
            }
        }
        let error = zip(theta, expected).map { abs($0 - $1) / max(abs($1), 1e-12) }.max() ?? 1
        #expect(error < 1e-14, "AdamW after two steps: \(theta) vs \(expected)")
        #expect(OptimizerKind.adamw.stateNames == ["m", "v"] && !OptimizerKind.adamw.canFuseIntoBackward)
    }

    @Test("RMSprop's rule: s = ρs + (1−ρ)g², θ −= η·g/(√s + ε) (two steps, against the formula)")
    func rmsprop() throws {
        let optimizer = Optimizer(kind: .rmsprop, learningRate: 0.01, epsilon: 1e-6, rho: 0.9)
        var theta: [Double] = [0.5, -1.25, 2]
        var s = [Double](repeating: 0, count: 3)
        var expected = theta
        var square = [Double](repeating: 0, count: 3)
        for (step, g) in [[0.1, -0.3, 0.0], [-0.2, 0.4, 1.0]].enumerated() {
            for i in 0..<3 {
                square[i] = 0.9 * square[i] + 0.1 * g[i] * g[i]
                expected[i] -= 0.01 * g[i] / (square[i].squareRoot() + 1e-6)
            }
            let rule = OptimizerRule<Double>(optimizer, step: step + 1)
            theta.withUnsafeMutableBufferPointer { p in
                s.withUnsafeMutableBufferPointer { sp in
                    g.withUnsafeBufferPointer { gp in
                        rule.apply(p.baseAddress!, gradient: gp.baseAddress!, states: [sp.baseAddress!], range: 0..<3)
                    }
                }
            }
        }
        #expect(theta == expected, "RMSprop after two steps: \(theta) vs \(expected)")
        #expect(OptimizerKind.rmsprop.stateNames == ["s"] && !OptimizerKind.rmsprop.canFuseIntoBackward)
    }

    @Test("SGD is exactly θ − η·g, the lecture's update")
    func sgdExact() throws {
        let model = try syntheticModel(widths: [2, 1], loss: .l2, batch: 1, optimizer: Optimizer(kind: .sgd, learningRate: 0.25))
        let fixture = try Fixture<Double>(model)
        let trainer = fixture.trainer
        _ = trainer.evaluate(.training(orderStart: 0), rows: 1)  // load gathers x and y
        let w = fixture.parameters[0]
        let before = [w.values[0], w.values[1], fixture.parameters[1].values[0]]
        let x = [trainer.tensors.features[0], trainer.tensors.features[1]]
        let y = trainer.tensors.targets[0]
        let prediction = before[0] * x[0] + before[1] * x[1] + before[2]
        _ = trainer.trainStep(.training(orderStart: 0), rows: 1)
        // L = ½(ŷ − y)²: w_i ← w_i − η (ŷ − y) x_i = w_i + η (y − ŷ) x_i
        #expect(abs(w.values[0] - (before[0] + 0.25 * (y - prediction) * x[0])) < 1e-12)
        #expect(abs(w.values[1] - (before[1] + 0.25 * (y - prediction) * x[1])) < 1e-12)
        #expect(abs(fixture.parameters[1].values[0] - (before[2] + 0.25 * (y - prediction))) < 1e-12)
    }
}

@Suite("Fused SGD")
struct FusedSGDTests {
    @Test("the fused step equals gradients followed by θ − η·g, with and without layer norm", arguments: [1, 7, 32])
    func fusedMatchesSeparate(batch: Int) throws {
        for (threads, norm) in [(1, nil), (2, nil), (1, Normalization.layer), (2, .layer)] {
            let model = try syntheticModel(
                widths: [9, 12, 5, 3], hidden: .relu, loss: .softmaxCrossEntropy, batch: 32,
                optimizer: Optimizer(kind: .sgd, learningRate: 0.3))
            let fused = try Fixture<Double>(model, threads: threads)
            let separate = try Fixture<Double>(model, threads: threads, fusesUpdate: false)
            #expect(fused.trainer.program.ops.contains(.backwardUpdate(layer: 2)) && !fused.trainer.program.ops.contains(.update))
            for step in 0..<3 {
                _ = fused.trainer.trainStep(.training(orderStart: step), rows: batch)
                _ = separate.trainer.computeGradients(.training(orderStart: step), rows: batch)
                for parameter in separate.parameters {
                    for index in 0..<parameter.count { parameter.values[index] -= 0.3 * parameter.gradient![index] }
                }
            }
            let a = fused.parameterValues
            let b = separate.parameterValues
            let difference = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(difference < 1e-12, "batch \(batch), \(threads) threads: \(difference)")
        }
    }
}
