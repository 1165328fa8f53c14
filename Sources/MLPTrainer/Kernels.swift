// The layers' forward and backward passes, the losses and the optimizer updates, over raw pointers.
// B = rows in this batch, I = a layer's input width, O = its output width, K = target width.
// Every matrix is row-major. Products go through `TrainingScalar.gemm` (memplan's own kernels, else BLAS), some with
// the activation fused into their store; the rest are plain loops the compiler vectorises.
// Nothing here allocates.

import ModelProfile

enum Kernels {
    // MARK: - Linear layers
    //
    // Each kernel works on a slice: `rows` rows and `outputs` (or `inputs`) columns of matrices
    // whose rows are `…Stride` elements apart, so a part of a split job passes offset pointers.

    /// out = x · Wᵀ + b for a slice of outputs, or out = x · Wᵀ when `bias` is nil.
    ///
    /// x (rows, inputs) stride xStride; W (outputs, inputs) stride inputs; b (outputs) or nil;
    /// out (rows, outputs) stride outStride. Without a bias the product runs with β = 0 (the trainer
    /// adds b in the pass that applies the activation, `activate(_:rows:columns:stride:bias:_:)`);
    /// with one, out starts from b and the product accumulates onto it with β = 1.
    @inline(__always)
    static func linear<T: TrainingScalar>(
        x: UnsafePointer<T>, xStride: Int, weights: UnsafePointer<T>, bias: UnsafePointer<T>?,
        out: UnsafeMutablePointer<T>, outStride: Int, rows: Int, inputs: Int, outputs: Int
    ) {
        guard rows > 0, outputs > 0 else { return }
        // out starts from b; with no bias it starts from nothing (β = 0), unless there is no product at all.
        if bias != nil || inputs == 0 {
            for row in 0..<rows {
                let target = out + row * outStride
                // (1, O)
                if let bias { target.update(from: bias, count: outputs) } else { target.update(repeating: 0, count: outputs) }
            }
        }
        guard inputs > 0 else { return }
        let beta: T = bias == nil ? 0 : 1
        if rows == 1 {
            // One sample: out = W·x + β·out, a matrix-vector product.
            T.gemv(transpose: false, m: outputs, n: inputs, alpha: 1, a: weights, lda: inputs, x: x, beta: beta, y: out)
        } else {
            T.gemm(
                transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs, alpha: 1, a: x, lda: xStride,
                b: weights, ldb: inputs, beta: beta, c: out, ldc: outStride)
        }
    }

    /// out = f(x · Wᵀ + b) in one pass over out, for f identity or ReLU and more than one row, where memplan's
    /// own kernels take the product: b and f are applied as the product's last k block is stored. Returns false
    /// without touching out otherwise; the caller then runs `linear` and `activate`. Shapes as in `linear`;
    /// bit-identical to them.
    @inline(__always)
    static func linearActivated<T: TrainingScalar>(
        x: UnsafePointer<T>, xStride: Int, weights: UnsafePointer<T>, bias: UnsafePointer<T>?,
        out: UnsafeMutablePointer<T>, outStride: Int, rows: Int, inputs: Int, outputs: Int, _ activation: Activation
    ) -> Bool {
        guard rows > 1, inputs > 0, outputs > 0, activation == .identity || activation == .relu else { return false }
        return T.fusedGEMM(
            transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs, alpha: 1, a: x, lda: xStride, b: weights,
            ldb: inputs,
            beta: 0, c: out, ldc: outStride, bias: bias, relu: activation == .relu, gate: nil, ldg: 0)  // (B, O)
    }

    /// dx = (dz · W) ⊙ f'(a) in one pass over dx for f = ReLU (dx = 0 where a ≤ 0) and more than one row, where
    /// memplan's own kernels take the product. Returns false without touching dx otherwise; the caller then runs
    /// `inputGradient` and `multiplyByDerivative`. Shapes as in `inputGradient`; a (rows, inputs) stride dxStride.
    @inline(__always)
    static func inputGradientTimesDerivative<T: TrainingScalar>(
        dz: UnsafePointer<T>, dzStride: Int, weights: UnsafePointer<T>, wStride: Int, dx: UnsafeMutablePointer<T>, dxStride: Int,
        output a: UnsafePointer<T>, rows: Int, outputs: Int, inputs: Int, _ activation: Activation
    ) -> Bool {
        guard rows > 1, inputs > 0, outputs > 0, activation == .relu else { return false }
        return T.fusedGEMM(
            transposeA: false, transposeB: false, m: rows, n: inputs, k: outputs, alpha: 1, a: dz, lda: dzStride, b: weights,
            ldb: wStride,
            beta: 0, c: dx, ldc: dxStride, bias: nil, relu: false, gate: a, ldg: dxStride)  // (B, I)
    }

    /// dW = dzᵀ · x for a slice of dW's rows (outputs) and columns (inputs).
    ///
    /// dz (batch, outputs) stride dzStride; x (batch, inputs) stride xStride; dW (outputs, inputs) stride dWStride.
    @inline(__always)
    static func weightGradient<T: TrainingScalar>(
        dz: UnsafePointer<T>, dzStride: Int, x: UnsafePointer<T>, xStride: Int, dWeights: UnsafeMutablePointer<T>,
        dWStride: Int, batch: Int, outputs: Int, inputs: Int
    ) {
        guard outputs > 0, inputs > 0 else { return }
        // With one row this is the outer product dz ⊗ x.
        T.gemm(
            transposeA: true, transposeB: false, m: outputs, n: inputs, k: batch, alpha: 1, a: dz, lda: dzStride,
            b: x, ldb: xStride, beta: 0, c: dWeights, ldc: dWStride)
    }

    /// W −= η·dzᵀ·x for a slice of W's columns: the SGD update fused into the backward pass, so
    /// dW is never written (one GEMM with β = 1; a rank-1 update for one row).
    ///
    /// dz (batch, outputs) stride dzStride; x (batch, inputs) stride xStride; W (outputs, inputs) stride wStride.
    @inline(__always)
    static func sgdWeightUpdate<T: TrainingScalar>(
        dz: UnsafePointer<T>, dzStride: Int, x: UnsafePointer<T>, xStride: Int, weights: UnsafeMutablePointer<T>, wStride: Int,
        batch: Int, outputs: Int, inputs: Int, learningRate: T
    ) {
        guard outputs > 0, inputs > 0, batch > 0 else { return }
        if batch == 1 {
            T.ger(m: outputs, n: inputs, alpha: -learningRate, x: dz, y: x, a: weights, lda: wStride)
        } else {
            T.gemm(
                transposeA: true, transposeB: false, m: outputs, n: inputs, k: batch, alpha: -learningRate, a: dz, lda: dzStride,
                b: x, ldb: xStride, beta: 1, c: weights, ldc: wStride)
        }
    }

    /// b −= η·Σ_rows dz for a slice of columns.  dz (batch, outputs) stride dzStride; b (outputs).
    @inline(__always)
    static func sgdBiasUpdate<T: TrainingScalar>(
        dz: UnsafePointer<T>, dzStride: Int, bias: UnsafeMutablePointer<T>, batch: Int, outputs: Int, learningRate: T
    ) {
        for row in 0..<batch {
            let source = dz + row * dzStride
            for column in 0..<outputs { bias[column] -= learningRate * source[column] }
        }
    }

    /// db = Σ_rows dz for a slice of columns.  dz (batch, outputs) stride dzStride; db (outputs).
    @inline(__always)
    static func biasGradient<T: TrainingScalar>(
        dz: UnsafePointer<T>, dzStride: Int, dBias: UnsafeMutablePointer<T>, batch: Int, outputs: Int
    ) {
        guard outputs > 0 else { return }
        dBias.update(from: dz, count: outputs)
        for row in 1..<max(batch, 1) {
            let source = dz + row * dzStride
            for column in 0..<outputs { dBias[column] += source[column] }
        }
    }

    /// dx = dz · W for a slice of dx's rows and columns.
    ///
    /// dz (rows, outputs) stride dzStride; W (outputs, inputs) stride wStride; dx (rows, inputs) stride dxStride.
    @inline(__always)
    static func inputGradient<T: TrainingScalar>(
        dz: UnsafePointer<T>, dzStride: Int, weights: UnsafePointer<T>, wStride: Int, dx: UnsafeMutablePointer<T>, dxStride: Int,
        rows: Int, outputs: Int, inputs: Int
    ) {
        guard rows > 0, inputs > 0 else { return }
        if rows == 1 {
            // dx = Wᵀ·dz
            T.gemv(transpose: true, m: outputs, n: inputs, alpha: 1, a: weights, lda: wStride, x: dz, beta: 0, y: dx)
        } else {
            T.gemm(
                transposeA: false, transposeB: false, m: rows, n: inputs, k: outputs, alpha: 1, a: dz, lda: dzStride,
                b: weights, ldb: wStride, beta: 0, c: dx, ldc: dxStride)
        }
    }

    // MARK: - Activations

    /// a = f(z + b) in place over a slice (rows, columns) of a matrix with rows `stride` apart, b (columns)
    /// or nil; softmax is row-wise and needs whole rows. Each row gets its bias and its activation while
    /// it is in L1, so adding b costs no pass of its own over the output.
    @inline(__always)
    static func activate<T: TrainingScalar>(
        _ values: UnsafeMutablePointer<T>, rows: Int, columns: Int, stride: Int, bias: UnsafePointer<T>? = nil,
        _ activation: Activation
    ) {
        guard activation != .identity || bias != nil else { return }
        for row in 0..<rows {
            let z = values + row * stride
            if let bias {
                if activation == .relu {
                    T.addBiasRelu(z, bias: bias, count: columns)
                    continue
                }
                for column in 0..<columns { z[column] += bias[column] }
            }
            switch activation {
            case .identity:
                break
            case .step:
                for column in 0..<columns { z[column] = z[column] > 0 ? 1 : 0 }
            case .relu:
                for column in 0..<columns { z[column] = max(z[column], 0) }
            case .sigmoid:
                for column in 0..<columns { z[column] = sigmoid(z[column]) }
            case .tanh:
                for column in 0..<columns { z[column] = T.tanh(z[column]) }
            case .softmax:
                var largest = z[0]
                for column in 1..<max(columns, 1) { largest = max(largest, z[column]) }
                var sum: T = 0
                for column in 0..<columns {
                    z[column] = T.exp(z[column] - largest)
                    sum += z[column]
                }
                let scale = 1 / sum
                for column in 0..<columns { z[column] *= scale }
            }
        }
    }

    /// σ(z), evaluated without overflow for large |z|.
    @inline(__always)
    static func sigmoid<T: TrainingScalar>(_ z: T) -> T {
        if z >= 0 { return 1 / (1 + T.exp(-z)) }
        let e = T.exp(z)
        return e / (1 + e)
    }

    /// delta *= f'(z), with f' computed from the activation's output a:
    /// relu 1[a > 0], sigmoid a(1−a), tanh 1−a², identity and step 1 (the perceptron rule).
    ///
    /// delta and a: a slice (rows, columns) of matrices with rows `stride` apart.
    @inline(__always)
    static func multiplyByDerivative<T: TrainingScalar>(
        _ delta: UnsafeMutablePointer<T>, output a: UnsafePointer<T>, rows: Int, columns: Int, stride: Int,
        _ activation: Activation
    ) {
        switch activation {
        case .identity, .step, .softmax:
            return
        case .relu, .sigmoid, .tanh:
            break
        }
        for row in 0..<rows {
            let d = delta + row * stride
            let out = a + row * stride
            switch activation {
            case .relu:
                reluMask(d, output: out, count: columns)
            case .sigmoid:
                for column in 0..<columns { d[column] *= out[column] * (1 - out[column]) }
            case .tanh:
                for column in 0..<columns { d[column] *= 1 - out[column] * out[column] }
            case .identity, .step, .softmax:
                break
            }
        }
    }

    /// d[i] = 0 where out[i] ≤ 0 (the pointers may alias as far as the compiler knows, so a plain
    /// loop stays scalar and branchy; each scalar type supplies a SIMD version).
    @inline(__always)
    static func reluMask<T: TrainingScalar>(_ d: UnsafeMutablePointer<T>, output out: UnsafePointer<T>, count: Int) {
        T.reluMask(d, output: out, count: count)
    }

    // MARK: - Losses

    /// The summed loss of a batch and how many of its predictions were right.
    struct LossResult {
        var loss: Double
        /// Correct predictions: samples (softmax), labels (sigmoid, hinge), or 0 for regression.
        var correct: Int
        /// What `correct` counts out of.
        var judged: Int
    }

    /// The loss of outputs `a` against targets `y`; when `writeGradient`, overwrites `a` with
    /// dz = ∂(mean loss)/∂z, the gradient the backward pass starts from.
    ///
    /// a (B, K), y (B, K). Losses are summed over outputs and averaged over the batch:
    /// softmax-ce and binary-ce give dz = (p − y)/B; l2 (ŷ − y)·f'/B; l1 sign(ŷ − y)·f'/B;
    /// hinge −y·1[y·ŷ < 1]·f'/B.
    @inline(__always)
    static func loss<T: TrainingScalar>(
        _ a: UnsafeMutablePointer<T>, targets y: UnsafePointer<T>, rows: Int, columns: Int, loss: Loss,
        outputActivation: Activation, writeGradient: Bool, gradientScale: T? = nil
    ) -> LossResult {
        let scale = gradientScale ?? 1 / T(rows)
        let count = rows * columns
        var total = 0.0
        var correct = 0
        var judged = 0
        switch loss {
        case .softmaxCrossEntropy:
            let tiny = T.leastNormalMagnitude
            for row in 0..<rows {
                let p = a + row * columns
                let target = y + row * columns
                var best = 0
                var truth = 0
                var rowLoss: T = 0
                for column in 0..<columns {
                    if target[column] != 0 { rowLoss -= target[column] * T.log(max(p[column], tiny)) }
                    if p[column] > p[best] { best = column }
                    if target[column] > target[truth] { truth = column }
                }
                total += Double(rowLoss)
                if best == truth { correct += 1 }
            }
            judged = rows
            if writeGradient { for index in 0..<count { a[index] = (a[index] - y[index]) * scale } }
        case .binaryCrossEntropy:
            let epsilon = T.ulpOfOne
            for index in 0..<count {
                let p = min(max(a[index], epsilon), 1 - epsilon)
                total -= Double(y[index] * T.log(p) + (1 - y[index]) * T.log(1 - p))
                if (a[index] >= 0.5) == (y[index] >= 0.5) { correct += 1 }
            }
            judged = count
            if writeGradient { for index in 0..<count { a[index] = (a[index] - y[index]) * scale } }
        case .l2:
            for index in 0..<count {
                let difference = a[index] - y[index]
                total += Double(difference * difference) / 2
            }
            if writeGradient {
                for index in 0..<count {
                    let derivative = derivativeFromOutput(a[index], outputActivation)
                    a[index] = (a[index] - y[index]) * derivative * scale
                }
            }
        case .l1:
            for index in 0..<count { total += Double(abs(a[index] - y[index])) }
            if writeGradient {
                for index in 0..<count {
                    let difference = a[index] - y[index]
                    let sign: T = difference > 0 ? 1 : (difference < 0 ? -1 : 0)
                    a[index] = sign * derivativeFromOutput(a[index], outputActivation) * scale
                }
            }
        case .hinge:
            for index in 0..<count {
                let margin = y[index] * a[index]
                total += Double(max(0, 1 - margin))
                if (a[index] > 0) == (y[index] > 0) { correct += 1 }
            }
            judged = count
            if writeGradient {
                for index in 0..<count {
                    let active: T = y[index] * a[index] < 1 ? -y[index] : 0
                    a[index] = active * derivativeFromOutput(a[index], outputActivation) * scale
                }
            }
        }
        return LossResult(loss: total, correct: correct, judged: judged)
    }

    @inline(__always)
    static func derivativeFromOutput<T: TrainingScalar>(_ a: T, _ activation: Activation) -> T {
        switch activation {
        case .identity, .step, .softmax: 1
        case .relu: a > 0 ? 1 : 0
        case .sigmoid: a * (1 - a)
        case .tanh: 1 - a * a
        }
    }
}
