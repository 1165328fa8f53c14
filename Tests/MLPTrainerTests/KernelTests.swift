@testable import MLPTrainer
import ModelProfile
import Testing

/// Kernels against naive triple loops.
@Suite("Kernels")
struct KernelTests {
    func random<T: TrainingScalar>(_ count: Int, _ generator: inout SplitMix64, as: T.Type = T.self) -> [T] {
        (0..<count).map { _ in T(generator.nextNormal()) }
    }

    /// `Kernels.linear` on arrays: x (rows, inputs), W (outputs, inputs), b (outputs) or nil; out starts as 7s,
    /// so a product that forgets to overwrite it shows.
    func linear<T: TrainingScalar>(_ x: [T], _ w: [T], bias b: [T]?, rows: Int, inputs: Int, outputs: Int) -> [T] {
        var out = [T](repeating: 7, count: rows * outputs)
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    func run(_ bias: UnsafePointer<T>?) {
                        Kernels.linear(
                            x: xp.baseAddress!, xStride: inputs, weights: wp.baseAddress!, bias: bias, out: op.baseAddress!,
                            outStride: outputs, rows: rows, inputs: inputs, outputs: outputs)
                    }
                    if let b { b.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
                }
            }
        }
        return out
    }

    func check<T: TrainingScalar>(_: T.Type, tolerance: Double) {
        var generator = SplitMix64(seed: 9)
        for (rows, inputs, outputs) in [(1, 7, 5), (4, 3, 6), (9, 17, 2), (32, 33, 31)] {
            let x: [T] = random(rows * inputs, &generator)
            let w: [T] = random(outputs * inputs, &generator)
            let b: [T] = random(outputs, &generator)
            // out = x·Wᵀ + b
            let out = linear(x, w, bias: b, rows: rows, inputs: inputs, outputs: outputs)
            for r in 0..<rows {
                for o in 0..<outputs {
                    var expected = Double(b[o])
                    for i in 0..<inputs { expected += Double(x[r * inputs + i]) * Double(w[o * inputs + i]) }
                    #expect(
                        abs(Double(out[r * outputs + o]) - expected) <= tolerance * max(1, abs(expected)),
                        "linear \(rows)×\(inputs)→\(outputs)")
                }
            }
            // dW = dzᵀ·x, db = Σ dz, dx = dz·W
            let dz: [T] = random(rows * outputs, &generator)
            var dW = [T](repeating: 7, count: outputs * inputs)
            var db = [T](repeating: 7, count: outputs)
            var dx = [T](repeating: 7, count: rows * inputs)
            dz.withUnsafeBufferPointer { dzp in
                x.withUnsafeBufferPointer { xp in
                    w.withUnsafeBufferPointer { wp in
                        dW.withUnsafeMutableBufferPointer { dWp in
                            Kernels.weightGradient(
                                dz: dzp.baseAddress!, dzStride: outputs, x: xp.baseAddress!, xStride: inputs,
                                dWeights: dWp.baseAddress!,
                                dWStride: inputs, batch: rows, outputs: outputs, inputs: inputs)
                        }
                        db.withUnsafeMutableBufferPointer { dbp in
                            Kernels.biasGradient(
                                dz: dzp.baseAddress!, dzStride: outputs, dBias: dbp.baseAddress!, batch: rows, outputs: outputs)
                        }
                        dx.withUnsafeMutableBufferPointer { dxp in
                            Kernels.inputGradient(
                                dz: dzp.baseAddress!, dzStride: outputs, weights: wp.baseAddress!, wStride: inputs,
                                dx: dxp.baseAddress!,
                                dxStride: inputs, rows: rows, outputs: outputs, inputs: inputs)
                        }
                    }
                }
            }
            for o in 0..<outputs {
                var bias = 0.0
                for r in 0..<rows { bias += Double(dz[r * outputs + o]) }
                #expect(abs(Double(db[o]) - bias) <= tolerance * max(1, abs(bias)))
                for i in 0..<inputs {
                    var expected = 0.0
                    for r in 0..<rows { expected += Double(dz[r * outputs + o]) * Double(x[r * inputs + i]) }
                    #expect(abs(Double(dW[o * inputs + i]) - expected) <= tolerance * max(1, abs(expected)))
                }
            }
            for r in 0..<rows {
                for i in 0..<inputs {
                    var expected = 0.0
                    for o in 0..<outputs { expected += Double(dz[r * outputs + o]) * Double(w[o * inputs + i]) }
                    #expect(abs(Double(dx[r * inputs + i]) - expected) <= tolerance * max(1, abs(expected)))
                }
            }
        }
    }

    @Test("products match naive loops in single precision") func single() { check(Float.self, tolerance: 1e-4) }
    @Test("products match naive loops in double precision") func double() { check(Double.self, tolerance: 1e-12) }

    @Test("activations and their derivatives from outputs")
    func activations() {
        let z: [Double] = [-2, -0.5, 0, 0.5, 3]
        func apply(_ activation: Activation) -> [Double] {
            var values = z
            values.withUnsafeMutableBufferPointer {
                Kernels.activate($0.baseAddress!, rows: 1, columns: 5, stride: 5, activation)
            }
            return values
        }
        #expect(apply(.identity) == z)
        #expect(apply(.step) == [0, 0, 0, 1, 1])
        #expect(apply(.relu) == [0, 0, 0, 0.5, 3])
        for (value, input) in zip(apply(.sigmoid), z) { #expect(abs(value - 1 / (1 + Foundation.exp(-input))) < 1e-15) }
        for (value, input) in zip(apply(.tanh), z) { #expect(abs(value - Foundation.tanh(input)) < 1e-15) }
        let softmax = apply(.softmax)
        #expect(abs(softmax.reduce(0, +) - 1) < 1e-15)
        #expect(softmax == softmax.sorted())
        // Derivatives from outputs agree with finite differences of the activation.
        for activation in [Activation.sigmoid, .tanh, .relu, .identity] {
            let a = apply(activation)
            var delta = [Double](repeating: 1, count: 5)
            a.withUnsafeBufferPointer { ap in
                delta.withUnsafeMutableBufferPointer {
                    Kernels.multiplyByDerivative(
                        $0.baseAddress!, output: ap.baseAddress!, rows: 1, columns: 5, stride: 5, activation)
                }
            }
            for (index, input) in z.enumerated() where input != 0 {
                var plus = [input + 1e-6]
                var minus = [input - 1e-6]
                plus.withUnsafeMutableBufferPointer {
                    Kernels.activate($0.baseAddress!, rows: 1, columns: 1, stride: 1, activation)
                }
                minus.withUnsafeMutableBufferPointer {
                    Kernels.activate($0.baseAddress!, rows: 1, columns: 1, stride: 1, activation)
                }
                let numeric = (plus[0] - minus[0]) / 2e-6
                #expect(abs(delta[index] - numeric) < 1e-6, "\(activation) at \(input)")
            }
        }
    }

    /// The trainer's forward pass for more than one row: the product with β = 0, then bias and activation
    /// in one pass (`addBiasRelu`'s SIMD lanes for relu), against the naive f(x·Wᵀ + b).
    func biasInActivation<T: TrainingScalar>(_: T.Type, tolerance: Double) {
        var generator = SplitMix64(seed: 21)
        for (rows, inputs, outputs) in [(2, 5, 3), (3, 9, 16), (5, 7, 37)] {
            let x: [T] = random(rows * inputs, &generator)
            let w: [T] = random(outputs * inputs, &generator)
            let b: [T] = random(outputs, &generator)
            for activation in [Activation.identity, .relu, .sigmoid, .tanh, .step, .softmax] {
                var out = linear(x, w, bias: nil, rows: rows, inputs: inputs, outputs: outputs)
                b.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { op in
                        Kernels.activate(
                            op.baseAddress!, rows: rows, columns: outputs, stride: outputs, bias: bp.baseAddress!, activation)
                    }
                }
                for r in 0..<rows {
                    var z = (0..<outputs).map { o in
                        (0..<inputs).reduce(Double(b[o])) { $0 + Double(x[r * inputs + $1]) * Double(w[o * inputs + $1]) }
                    }
                    switch activation {
                    case .identity: break
                    case .relu: z = z.map { max($0, 0) }
                    case .sigmoid: z = z.map { 1 / (1 + Foundation.exp(-$0)) }
                    case .tanh: z = z.map { Foundation.tanh($0) }
                    case .step: z = z.map { $0 > 0 ? 1 : 0 }
                    case .softmax:
                        let largest = z.max()!
                        let sum = z.reduce(0) { $0 + Foundation.exp($1 - largest) }
                        z = z.map { Foundation.exp($0 - largest) / sum }
                    }
                    for o in 0..<outputs {
                        let got = Double(out[r * outputs + o])
                        if activation == .step, abs(z[o]) < tolerance { continue }
                        #expect(
                            abs(got - z[o]) <= tolerance * max(1, abs(z[o])),
                            "\(activation) \(rows)×\(inputs)→\(outputs) [\(r), \(o)]")
                    }
                }
            }
        }
    }

    @Test("bias added in the activation's pass, single precision") func biasInActivationSingle() {
        biasInActivation(Float.self, tolerance: 1e-4)
    }
    @Test("bias added in the activation's pass, double precision") func biasInActivationDouble() {
        biasInActivation(Double.self, tolerance: 1e-12)
    }

    @Test("bytes scaled to Float and Double, SIMD body and scalar tail, bit-identical to T(byte) · scale")
    func scaleBytes() {
        func check<T: TrainingScalar>(_: T.Type) {
            let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            let scale = T(1) / 255
            for count in [0, 1, 7, 8, 15, 16, 17, 33, 300] {
                var out = [T](repeating: -1, count: count + 1)
                T.scaleBytes(bytes, by: scale, count: count, into: &out)
                #expect((0..<count).allSatisfy { out[$0] == T(bytes[$0]) * scale }, "\(T.self) count \(count)")
                #expect(out[count] == -1, "\(T.self) count \(count) wrote past its end")
            }
        }
        check(Float.self)
        check(Double.self)
    }

    @Test("sigmoid does not overflow at large |z|")
    func sigmoidRange() {
        #expect(Kernels.sigmoid(Float(-200)) == 0)
        #expect(Kernels.sigmoid(Float(200)) == 1)
        #expect(Kernels.sigmoid(Double(-1000)).isFinite)
    }
}

import Foundation

@Suite("BLAS in use")
struct BLASInfoTests {
    @Test("without MKL preloaded, the products run in OpenBLAS and say so")
    func openBLASUnlessMKLPreloaded() {
        // The test runner is never started under bench/with-mkl; under it, both would name MKL.
        guard ProcessInfo.processInfo.environment["LD_PRELOAD"]?.contains("libmkl") != true else { return }
        #expect(BLASInfo.mklVersion == nil)
        #expect(BLASInfo.provider == "system" || BLASInfo.provider == "scipy-openblas32")
        #expect(BLASInfo.coreName == BLASInfo.openBLASCoreName)
    }
}
