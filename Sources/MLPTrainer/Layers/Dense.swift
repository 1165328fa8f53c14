// The dense kind's ops over its planned tensors: fwd k, bwd k, and bwd k with plain SGD's update fused in.
// Each op is split into parts (`Splitter`); a part never writes bytes another part writes. Nothing allocates.

import MemoryBudget
import ModelProfile

/// One parameter tensor of a layer, for the optimizer's update: its values, gradient (nil when the update is fused),
/// the optimizer's state tensors for it, and its element count.
struct ParameterTensor<T: TrainingScalar> {
    /// θ and g as the optimizer reads them: the whole tensors, or a rank's stored chunk when they are sharded (zero3's
    /// values, zero2's and zero3's gradients).
    let values: UnsafeMutablePointer<T>
    let gradient: UnsafeMutablePointer<T>?
    /// θ and g as the layer's ops use them (count elements): the same tensors, or the zero3 gather buffer's and the
    /// zero2/zero3 gradient bucket's place for this tensor.
    let workingValues: UnsafeMutablePointer<T>
    let workingGradient: UnsafeMutablePointer<T>?
    let states: [UnsafeMutablePointer<T>]
    let count: Int
    /// Elements of each state tensor: `count`, or ⌈count/N⌉ when the state is sharded over N ranks (zero1).
    let stateCount: Int
}

/// One dense layer's tensors, resolved from the plan. Shapes: O = outputWidth, I = inputWidth, B = the batch capacity,
/// P = parts.
struct DenseLayer<T: TrainingScalar> {
    /// 0-based position in the model.
    let index: Int
    let inputWidth: Int
    let outputWidth: Int
    let activation: Activation
    /// x or a_{k−1} (B, I)
    let input: UnsafeMutablePointer<T>
    /// W (O, I)
    let weights: UnsafeMutablePointer<T>
    /// b (O), nil without bias
    let bias: UnsafeMutablePointer<T>?
    /// dW (O, I); nil when the update is fused (no gradient is stored)
    let dWeights: UnsafeMutablePointer<T>?
    /// db (O); nil without bias or when fused
    let dBias: UnsafeMutablePointer<T>?
    /// a (B, O): the layer's output
    let output: UnsafeMutablePointer<T>
    /// dz (B, O): ∂L/∂z; the output layer's is `output` itself, overwritten by the loss
    let delta: UnsafeMutablePointer<T>
    /// ((P − 1), I): partial dz_{k−1} of parts 1 … P − 1 in a fused backward split by outputs; nil when not planned
    let staging: UnsafeMutablePointer<T>?
    /// Optimizer state for W and b (`OptimizerKind.stateNames` order); empty for SGD.
    let weightState: [UnsafeMutablePointer<T>]
    let biasState: [UnsafeMutablePointer<T>]
    /// Layer norm (nil without): γ (O), β (O), their gradients (O) (fused: live during bwd k only), x̂ (B, O), r (B),
    /// μ (B).
    let gain: UnsafeMutablePointer<T>?
    let shift: UnsafeMutablePointer<T>?
    let dGain: UnsafeMutablePointer<T>?
    let dShift: UnsafeMutablePointer<T>?
    let normalized: UnsafeMutablePointer<T>?
    let inverseDeviation: UnsafeMutablePointer<T>?
    let mean: UnsafeMutablePointer<T>?

    /// Every parameter tensor (W, then b), for the optimizer's update.
    let parameters: [ParameterTensor<T>]

    var weightCount: Int { outputWidth * inputWidth }

    /// Resolves the layer's tensors (`DenseTensor`) through `resolve`, which gives the planned pointer of a tensor ID
    /// or nil when the program has no such tensor. Traps (a programmer error) when a tensor every dense layer has
    /// is missing. `stored`, when given, resolves the parameters and gradients the optimizer updates where `resolve`
    /// gives the buffers the ops use instead (a rank's shards against its gather buffer and gradient bucket).
    init(
        spec: LayerSpec, index: Int, isLast: Bool, input: UnsafeMutablePointer<T>, optimizer: OptimizerKind,
        stateShards: Int = 1, resolve: (TensorID) -> UnsafeMutablePointer<T>?,
        stored: ((TensorID) -> UnsafeMutablePointer<T>?)? = nil
    ) {
        func id(_ role: DenseTensor) -> TensorID { TensorID(layer: index + 1, role) }
        func required(_ tensor: TensorID) -> UnsafeMutablePointer<T> {
            guard let pointer = resolve(tensor) else { preconditionFailure("DenseLayer: the plan has no \(tensor)") }
            return pointer
        }
        func states(_ tensor: TensorID) -> [UnsafeMutablePointer<T>] {
            resolve(tensor) == nil ? [] : (0..<optimizer.stateTensorsPerParameter).map { required(tensor.state($0)) }
        }
        self.index = index
        inputWidth = spec.inputWidth
        outputWidth = spec.outputWidth
        activation = spec.activation
        self.input = input
        weights = required(id(.weight))
        bias = resolve(id(.bias))
        dWeights = resolve(id(.weight).gradient)
        dBias = resolve(id(.bias).gradient)
        output = required(id(.output))
        delta = isLast ? output : required(id(.delta))
        staging = resolve(id(.staging))
        weightState = states(id(.weight))
        biasState = states(id(.bias))
        gain = resolve(id(.gain))
        shift = resolve(id(.shift))
        dGain = resolve(id(.gain).gradient)
        dShift = resolve(id(.shift).gradient)
        normalized = resolve(id(.normalized))
        inverseDeviation = resolve(id(.inverseDeviation))
        mean = resolve(id(.mean))
        func tensor(
            _ role: DenseTensor, _ values: UnsafeMutablePointer<T>, _ gradient: UnsafeMutablePointer<T>?,
            _ states: [UnsafeMutablePointer<T>], count: Int
        ) -> ParameterTensor<T> {
            let shards = max(1, stateShards)
            return ParameterTensor(
                values: stored?(id(role)) ?? values, gradient: stored.map { $0(id(role).gradient) } ?? gradient,
                workingValues: values, workingGradient: gradient, states: states, count: count,
                stateCount: count / shards + (count % shards == 0 ? 0 : 1))
        }
        var parameters = [tensor(.weight, weights, dWeights, weightState, count: spec.inputWidth * spec.outputWidth)]
        if let bias { parameters.append(tensor(.bias, bias, dBias, biasState, count: spec.outputWidth)) }
        if let gain, let shift {
            parameters.append(tensor(.gain, gain, dGain, states(id(.gain)), count: spec.outputWidth))
            parameters.append(tensor(.shift, shift, dShift, states(id(.shift)), count: spec.outputWidth))
        }
        self.parameters = parameters
    }

    /// The first parameters: W drawn by `rule` (He normal: N(0, 2/I); Glorot uniform: U(±√(6/(I+O))); or zeros),
    /// b = 0, every optimizer state 0.
    func initialize(_ rule: WeightInit, generator: inout SplitMix64) {
        rule.draw(into: weights, inputWidth: inputWidth, outputWidth: outputWidth, generator: &generator)
        bias?.update(repeating: 0, count: outputWidth)
        gain?.update(repeating: 1, count: outputWidth)
        shift?.update(repeating: 0, count: outputWidth)
        for parameter in parameters {
            for state in parameter.states { state.update(repeating: 0, count: parameter.stateCount) }
        }
    }

    static var rowGranule: Int { SplitRules.rowGranule }
    static var columnGranule: Int { SplitRules.columnGranule(T.self) }

    // MARK: - fwd k

    /// Phases of fwd k and bwd k (the trainer joins the parts between phases).
    var forwardPhases: Int { 1 }
    /// With layer norm: dγ and dβ by columns, then ∂L/∂a → ∂L/∂z by rows, then the dense backward.
    var backwardPhases: Int { normalized == nil ? 1 : 3 }
    /// The phase that runs the dense backward (after layer norm's).
    var densePhase: Int { backwardPhases - 1 }

    /// fwd k for one part: a_k = f(a_{k−1}·W_kᵀ + b_k). Softmax needs whole rows: when the outputs are split,
    /// the caller applies it after the join (`needsSoftmaxAfterJoin`).
    @inline(__always)
    func forwardPart(rows: Int, part: Int, phase: Int, split: Splitter) {
        if normalized != nil { return normalizedForwardPart(rows: rows, part: part, split: split) }
        let x = input
        let inputs = inputWidth
        let outputs = outputWidth
        // One row: the bias goes in before the matrix-vector product. More: the product runs with
        // β = 0 and the bias is added in the activation's pass (one pass over out instead of two).
        if !SplitRules.forwardSplitsOutputs(rows: rows, outputs: outputs, parts: split.partCount) {
            let range = split.productShare(part, of: rows, granule: Self.rowGranule, edges: (inputs, outputs))
            let out = output + range.lowerBound * outputs
            if Kernels.linearActivated(
                x: x + range.lowerBound * inputs, xStride: inputs, weights: weights, bias: bias, out: out, outStride: outputs,
                rows: range.count, inputs: inputs, outputs: outputs, activation)
            {
                return
            }
            let biasFirst = range.count == 1 ? bias : nil
            Kernels.linear(
                x: x + range.lowerBound * inputs, xStride: inputs, weights: weights, bias: biasFirst, out: out,
                outStride: outputs,
                rows: range.count, inputs: inputs, outputs: outputs)  // (rows, O)
            Kernels.activate(
                out, rows: range.count, columns: outputs, stride: outputs, bias: biasFirst == nil ? bias : nil, activation)
        } else {
            let range = split.productShare(part, of: outputs, granule: Self.columnGranule, edges: (rows, inputs))
            let out = output + range.lowerBound
            let partBias = bias.map { UnsafePointer($0 + range.lowerBound) }
            let partActivation = activation == .softmax ? Activation.identity : activation
            if Kernels.linearActivated(
                x: x, xStride: inputs, weights: weights + range.lowerBound * inputs, bias: partBias, out: out, outStride: outputs,
                rows: rows, inputs: inputs, outputs: range.count, partActivation)
            {
                return
            }
            let biasFirst = rows == 1 ? partBias : nil
            Kernels.linear(
                x: x, xStride: inputs, weights: weights + range.lowerBound * inputs, bias: biasFirst,
                out: out, outStride: outputs, rows: rows, inputs: inputs, outputs: range.count)  // (B, share of O)
            Kernels.activate(
                out, rows: rows, columns: range.count, stride: outputs, bias: biasFirst == nil ? partBias : nil, partActivation)
        }
    }

    /// Whether fwd k left the softmax for after the join (its outputs were split).
    @inline(__always)
    func needsSoftmaxAfterJoin(rows: Int, parts: Int) -> Bool {
        activation == .softmax && SplitRules.forwardSplitsOutputs(rows: rows, outputs: outputWidth, parts: parts)
    }

    // MARK: - bwd k

    /// bwd k for one part: its share of dW_k and db_k (by output rows), and of dz_{k−1} (by rows,
    /// or by columns for small batches), which then gets multiplied by f'(a_{k−1}).
    @inline(__always)
    func backwardPart(rows: Int, part: Int, phase: Int, previous: DenseLayer<T>?, split: Splitter) {
        if phase < densePhase { return normalizationBackwardPart(rows: rows, part: part, phase: phase, split: split) }
        guard let dWeights else { preconditionFailure("DenseLayer: bwd without a planned dW (the program fuses the update)") }
        let x = input
        let inputs = inputWidth
        let outputs = outputWidth
        if outputs >= split.partCount {
            let range = split.productShare(part, of: outputs, granule: Self.rowGranule, edges: (inputs, rows))
            Kernels.weightGradient(
                dz: delta + range.lowerBound, dzStride: outputs, x: x, xStride: inputs,
                dWeights: dWeights + range.lowerBound * inputs, dWStride: inputs, batch: rows, outputs: range.count,
                inputs: inputs)
            if let dBias {
                Kernels.biasGradient(
                    dz: delta + range.lowerBound, dzStride: outputs, dBias: dBias + range.lowerBound, batch: rows,
                    outputs: range.count)
            }
        } else {
            let range = split.productShare(part, of: inputs, granule: Self.columnGranule, edges: (outputs, rows))
            Kernels.weightGradient(
                dz: delta, dzStride: outputs, x: x + range.lowerBound, xStride: inputs, dWeights: dWeights + range.lowerBound,
                dWStride: inputs, batch: rows, outputs: outputs, inputs: range.count)
            if part == 0, let dBias {
                Kernels.biasGradient(dz: delta, dzStride: outputs, dBias: dBias, batch: rows, outputs: outputs)
            }
        }
        guard let previous else { return }
        if rows >= split.partCount * SplitRules.minimumRowsPerPart || inputs < split.partCount {
            let range = split.productShare(part, of: rows, granule: Self.rowGranule, edges: (inputs, outputs))
            inputGradientTimesDerivative(
                previous: previous, dz: delta + range.lowerBound * outputs, weights: weights, offset: range.lowerBound * inputs,
                rows: range.count, columns: inputs)
        } else {
            let range = split.productShare(part, of: inputs, granule: Self.columnGranule, edges: (rows, outputs))
            inputGradientTimesDerivative(
                previous: previous, dz: delta, weights: weights + range.lowerBound, offset: range.lowerBound, rows: rows,
                columns: range.count)
        }
    }

    /// dz_{k−1} = (dz_k · W_k) ⊙ f'(a_{k−1}) for the block of `rows` × `columns` at `offset` into dz_{k−1} and a_{k−1}
    /// (rows `inputs` apart): one pass where the kernels fuse the ReLU mask into the product, else the product
    /// and then the derivative. dz (rows, outputs) stride outputs; `weights` at the block's first column.
    @inline(__always)
    func inputGradientTimesDerivative(
        previous: DenseLayer<T>, dz: UnsafePointer<T>, weights: UnsafePointer<T>, offset: Int, rows: Int, columns: Int
    ) {
        let inputs = inputWidth
        let outputs = outputWidth
        let dx = previous.delta + offset
        let a = UnsafePointer(previous.output + offset)
        if Kernels.inputGradientTimesDerivative(
            dz: dz, dzStride: outputs, weights: weights, wStride: inputs, dx: dx, dxStride: inputs, output: a, rows: rows,
            outputs: outputs, inputs: columns, previous.outputActivation)
        {
            return
        }
        Kernels.inputGradient(
            dz: dz, dzStride: outputs, weights: weights, wStride: inputs, dx: dx, dxStride: inputs, rows: rows, outputs: outputs,
            inputs: columns)  // (rows, columns)
        Kernels.multiplyByDerivative(dx, output: a, rows: rows, columns: columns, stride: inputs, previous.outputActivation)
    }

    // MARK: - bwd k with SGD fused

    /// Whether the fused bwd k splits W by rows (the layer's outputs) as fwd k does, so each thread
    /// keeps updating the rows of W it reads in the next forward pass and W never moves between
    /// the cores' caches. Two cases:
    /// - one sample, any layer: the parts' partial dz_{k−1} are summed after the join, parts 1 … P − 1
    ///   staging theirs in the planned `staging` buffer (`DenseTensor.staging`, live during bwd k only);
    /// - the first layer whenever its forward splits outputs: it has no dz_{k−1} to compute, so
    ///   nothing needs the old W. (W1 is the step's largest tensor; split by columns instead, half
    ///   of each core's share moved to the other core twice a step.)
    @inline(__always)
    func fusedSplitsByOutputs(rows: Int, parts: Int) -> Bool {
        guard parts > 1, outputWidth >= parts else { return false }
        return rows == 1 || (index == 0 && SplitRules.forwardSplitsOutputs(rows: rows, outputs: outputWidth, parts: parts))
    }

    /// bwd k with the SGD update fused in, for one part: the part owns a slice of W's columns (the
    /// layer's inputs), computes dz_{k−1} for those columns from the old W, then updates them.
    /// Where `fusedSplitsByOutputs` says so it owns a slice of W's rows instead.
    @inline(__always)
    func fusedBackwardPart(rows: Int, part: Int, phase: Int, previous: DenseLayer<T>?, learningRate: T, split: Splitter) {
        if phase < densePhase { return normalizationBackwardPart(rows: rows, part: part, phase: phase, split: split) }
        if let gain, let shift, let dGain, let dShift {
            // γ and β from the gradients phase 0 formed (phase 1 has read the old γ).
            let columns = split.share(part, of: outputWidth, records: false)
            for column in columns {
                gain[column] -= learningRate * dGain[column]
                shift[column] -= learningRate * dShift[column]
            }
        }
        let x = input
        let inputs = inputWidth
        let outputs = outputWidth
        if fusedSplitsByOutputs(rows: rows, parts: split.partCount) {
            // One sample: equal parts, so every part writes the partial dz_{k−1} the join sums.
            let range =
                rows == 1
                ? WorkerPool.range(of: part, parts: split.partCount, count: outputs)
                // as fwd 1 splits them
                : split.productShare(part, of: outputs, granule: Self.columnGranule, edges: (rows, inputs))
            if let previous {
                // dz_{k−1} partial = W[o0..<o1, :]ᵀ · dz[o0..<o1], from the rows this part is about to update.
                guard let staging else { preconditionFailure("DenseLayer: a split fused bwd without its planned staging buffer") }
                let target = part == 0 ? previous.delta : staging + (part - 1) * inputs
                T.gemv(
                    transpose: true, m: range.count, n: inputs, alpha: 1, a: weights + range.lowerBound * inputs, lda: inputs,
                    x: delta + range.lowerBound, beta: 0, y: target)  // (1, I)
            }
            Kernels.sgdWeightUpdate(
                dz: delta + range.lowerBound, dzStride: outputs, x: x, xStride: inputs,
                weights: weights + range.lowerBound * inputs,
                wStride: inputs, batch: rows, outputs: range.count, inputs: inputs, learningRate: learningRate)
            if let bias {
                Kernels.sgdBiasUpdate(
                    dz: delta + range.lowerBound, dzStride: outputs, bias: bias + range.lowerBound, batch: rows,
                    outputs: range.count,
                    learningRate: learningRate)
            }
            return
        }
        // dz_{k−1}'s product (rows × columns × outputs) and the update's (outputs × columns × rows).
        let columns = split.productShare(part, of: inputs, granule: Self.columnGranule, edges: (rows, outputs))
        if let previous {
            inputGradientTimesDerivative(
                previous: previous, dz: delta, weights: weights + columns.lowerBound, offset: columns.lowerBound, rows: rows,
                columns: columns.count)
        }
        Kernels.sgdWeightUpdate(
            dz: delta, dzStride: outputs, x: x + columns.lowerBound, xStride: inputs, weights: weights + columns.lowerBound,
            wStride: inputs, batch: rows, outputs: outputs, inputs: columns.count, learningRate: learningRate)
        if let bias {
            let biasColumns = split.share(part, of: outputs, records: false)
            Kernels.sgdBiasUpdate(
                dz: delta + biasColumns.lowerBound, dzStride: outputs, bias: bias + biasColumns.lowerBound, batch: rows,
                outputs: biasColumns.count, learningRate: learningRate)
        }
    }

    /// After a fused bwd k split by outputs (parts > 1, k > 1): dz_{k−1} += the staged partials, then ⊙ f'(a_{k−1}).
    @inline(__always)
    func joinStagedDelta(previous: DenseLayer<T>, parts: Int) {
        guard let staging else { return }
        let inputs = inputWidth
        for part in 1..<parts {
            let partial = staging + (part - 1) * inputs
            for column in 0..<inputs { previous.delta[column] += partial[column] }
        }
        Kernels.multiplyByDerivative(
            previous.delta, output: previous.output, rows: 1, columns: inputs, stride: inputs, previous.outputActivation)
    }

    // MARK: - Layer norm

    /// The activation whose derivative the next layer's backward applies to this layer's output: layer norm's output
    /// is linear in x̂, so the layer applies f′ itself (in `normalizationBackwardPart`), and the next layer none.
    var outputActivation: Activation { normalized == nil ? activation : .identity }

    /// fwd k with layer norm for one part, by rows: h = f(x·Wᵀ + b) into a's rows; then per row μ, σ², r = 1/√(σ² + ε),
    /// x̂ = (h − μ)·r, a = γ ⊙ x̂ + β.
    @inline(__always)
    func normalizedForwardPart(rows: Int, part: Int, split: Splitter) {
        guard let normalized, let inverseDeviation, let mean, let gain, let shift else { return }
        let range = split.productShare(part, of: rows, granule: Self.rowGranule, edges: (inputWidth, outputWidth))
        guard !range.isEmpty else { return }
        let (inputs, outputs) = (inputWidth, outputWidth)
        let h = output + range.lowerBound * outputs
        Kernels.linear(
            x: input + range.lowerBound * inputs, xStride: inputs, weights: weights, bias: nil, out: h, outStride: outputs,
            rows: range.count, inputs: inputs, outputs: outputs)  // (rows, O)
        Kernels.activate(h, rows: range.count, columns: outputs, stride: outputs, bias: bias, activation)
        Self.layerNormForward(
            h, normalized: normalized + range.lowerBound * outputs, inverseDeviation: inverseDeviation + range.lowerBound,
            mean: mean + range.lowerBound, gain: gain, shift: shift, rows: range.count, columns: outputs)
    }

    /// Per row of h (rows, columns): μ = Σh/O; σ² = Σ(h − μ)²/O; r = 1/√(σ² + ε); x̂ = (h − μ)·r; h ← γ ⊙ x̂ + β
    /// in place. ε = 1e-5. x̂ (rows, columns), r and μ (rows).
    static func layerNormForward(
        _ h: UnsafeMutablePointer<T>, normalized: UnsafeMutablePointer<T>, inverseDeviation: UnsafeMutablePointer<T>,
        mean: UnsafeMutablePointer<T>, gain: UnsafePointer<T>, shift: UnsafePointer<T>, rows: Int, columns: Int
    ) {
        let count = T(columns)
        for row in 0..<rows {
            let values = h + row * columns
            let xhat = normalized + row * columns
            var sum: T = 0
            for column in 0..<columns { sum += values[column] }
            let mu = sum / count
            var squares: T = 0
            for column in 0..<columns {
                let centred = values[column] - mu
                squares += centred * centred
            }
            let r = 1 / (squares / count + T(1e-5)).squareRoot()
            mean[row] = mu
            inverseDeviation[row] = r
            for column in 0..<columns {
                xhat[column] = (values[column] - mu) * r
                values[column] = gain[column] * xhat[column] + shift[column]
            }
        }
    }

    /// bwd k's layer-norm phases for one part, with da = ∂L/∂a in `delta`:
    /// - phase 0, by columns: dγ = Σ_rows da ⊙ x̂, dβ = Σ_rows da;
    /// - phase 1, by rows: dx̂ = da ⊙ γ; dh = r·(dx̂ − mean(dx̂) − x̂ · mean(dx̂ ⊙ x̂)); dz = dh ⊙ f′(h) with
    ///   h = x̂/r + μ, in place of da.
    @inline(__always)
    func normalizationBackwardPart(rows: Int, part: Int, phase: Int, split: Splitter) {
        guard let normalized, let inverseDeviation, let mean, let gain, let dGain, let dShift else { return }
        let outputs = outputWidth
        if phase == 0 {
            for column in split.share(part, of: outputs, records: false) {
                var g: T = 0
                var b: T = 0
                for row in 0..<rows {
                    let da = delta[row * outputs + column]
                    g += da * normalized[row * outputs + column]
                    b += da
                }
                dGain[column] = g
                dShift[column] = b
            }
            return
        }
        let count = T(outputs)
        for row in split.share(part, of: rows, records: false) {
            let da = delta + row * outputs
            let xhat = normalized + row * outputs
            var meanGradient: T = 0
            var meanProduct: T = 0
            for column in 0..<outputs {
                let dxhat = da[column] * gain[column]
                meanGradient += dxhat
                meanProduct += dxhat * xhat[column]
            }
            meanGradient /= count
            meanProduct /= count
            let (r, mu) = (inverseDeviation[row], mean[row])
            // ReLU's f′ is 1[h > 0]; h = 0 has x̂ = (0 − μ)·r exactly as computed here, so compare x̂ with it rather
            // than round h back (x̂/r + μ can land a hair above 0).
            let zeroLevel = (0 - mu) * r
            for column in 0..<outputs {
                let dh = r * (da[column] * gain[column] - meanGradient - xhat[column] * meanProduct)
                let slope: T =
                    activation == .relu
                    ? (xhat[column] > zeroLevel ? 1 : 0) : Kernels.derivativeFromOutput(xhat[column] / r + mu, activation)
                da[column] = dh * slope
            }
        }
    }
}

extension WeightInit {
    /// Draws W (O, I): He normal N(0, 2/I), Glorot uniform U(±√(6/(I+O))), or zeros (`.auto` is resolved by
    /// `Model.weightInit(for:)` before this). The same draws in the same order for every element type, so the fp32,
    /// fp64 and bf16-mixed trainers start from the same weights for a seed.
    func draw<T: BinaryFloatingPoint>(
        into weights: UnsafeMutablePointer<T>, inputWidth: Int, outputWidth: Int, generator: inout SplitMix64
    ) {
        let count = inputWidth * outputWidth
        let fanIn = Double(max(inputWidth, 1))
        let fanOut = Double(outputWidth)
        switch self {
        case .zeros, .auto:
            weights.update(repeating: 0, count: count)
        case .he:
            let deviation = (2 / fanIn).squareRoot()
            for index in 0..<count { weights[index] = T(generator.nextNormal() * deviation) }
        case .xavier:
            let limit = (6 / (fanIn + fanOut)).squareRoot()
            for index in 0..<count { weights[index] = T((2 * generator.nextUnit() - 1) * limit) }
        }
    }
}

extension Model {
    /// The rule that draws a layer's first weights: the profile's `init`, or with `auto` He for relu layers and
    /// Glorot otherwise.
    func weightInit(for activation: Activation) -> WeightInit {
        weightInit == .auto ? (activation == .relu ? .he : .xavier) : weightInit
    }
}
