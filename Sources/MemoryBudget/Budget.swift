// The closed-form memory budget of one training step, per layer and in total.

import ModelProfile

/// Whether a budget was computed layer by layer or from the lecture's bound.
public enum BudgetMode: String, Sendable, Codable {
    case exact
    case bound
}

/// One layer's counts and bytes. Shapes: W (outputWidth, inputWidth), b (outputWidth),
/// activation a (batchSize, outputWidth).
public struct LayerBudget: Sendable, Codable, Hashable {
    /// 1-based, as in the lecture's w1, w2, w3.
    public var index: Int
    public var inputWidth: Int
    /// Neurons in this layer.
    public var outputWidth: Int
    public var activation: Activation
    /// inputWidth · outputWidth
    public var weightCount: Int
    /// outputWidth, or 0 for a layer without bias
    public var biasCount: Int
    /// weightCount + biasCount
    public var parameterCount: Int
    /// parameterCount · s
    public var parameterByteCount: Int
    /// parameterCount · s (one gradient per parameter: the batch average, not one per sample)
    public var gradientByteCount: Int
    /// batchSize · outputWidth · s (the layer's output a, kept for the backward pass)
    public var activationByteCount: Int
    /// m · parameterCount · s, m = optimizer state tensors per parameter
    public var optimizerByteCount: Int
}

/// The predicted bytes of one training step by category.
///
/// What a training step keeps (exact mode), with s bytes per element and batch B:
/// - **parameters** Σ (in·out + out)·s, **gradients** the same (one averaged copy);
/// - **activations** Σ B·out·s: each layer's output a_l, which the backward pass reads twice —
///   as the next layer's input for dW_{l+1} = dz_{l+1}ᵀ·a_l, and for f'(z_l), which every supported
///   activation computes from its output (relu: a > 0, sigmoid: a(1−a), tanh: 1−a², softmax with
///   cross-entropy: p − y). The pre-activation z_l is computed in place in a_l's buffer and not kept;
/// - **inputs** the batch's features B·in·s plus its targets B·out·s (dense: one-hot for classes);
/// - **optimizer** m·P·s with m = 0 (SGD), 1 (momentum), 2 (Adam).
///
/// Not counted here (the planner places them): the backward deltas dz_l, which live for one or
/// two ops. The lecture's bound mode is described on `BoundModel`.
public struct Budget: Sendable, Codable, Hashable {
    public var mode: BudgetMode
    public var profileName: String
    public var precision: Precision
    public var batchSize: Int
    public var optimizer: OptimizerKind

    public var parameterCount: Int
    public var weightCount: Int
    public var biasCount: Int
    public var neuronCount: Int

    public var parameterByteCount: Int
    public var gradientByteCount: Int
    public var activationByteCount: Int
    /// Features plus targets of one batch.
    public var inputByteCount: Int
    public var inputFeatureByteCount: Int
    public var inputTargetByteCount: Int
    public var optimizerByteCount: Int
    /// Sum of the five categories above.
    public var totalByteCount: Int

    /// Empty in bound mode.
    public var layers: [LayerBudget]
}

/// Computes budgets. Every product and sum is checked; an absurd profile is an error, not a trap.
public enum MemoryBudget {
    /// The budget of a profile at its own precision, batch and optimizer.
    public static func estimate(_ profile: Profile) throws(BudgetError) -> Budget {
        switch profile {
        case .exact(let model): try estimate(model)
        case .bound(let bound): try estimate(bound)
        }
    }

    /// Layer-by-layer budget of a network; see `Budget` for what each category holds.
    public static func estimate(_ model: Model) throws(BudgetError) -> Budget {
        let checked = Checked(context: model.name)
        let elementBytes = model.precision.byteCount
        let batch = model.batchSize
        let stateTensors = model.optimizer.kind.stateTensorsPerParameter
        var layers: [LayerBudget] = []
        layers.reserveCapacity(model.layers.count)
        var totals = (parameters: 0, weights: 0, biases: 0, neurons: 0, activationBytes: 0)
        for (offset, layer) in model.layers.enumerated() {
            let index = offset + 1
            let weights = try checked.multiply(layer.inputWidth, layer.outputWidth, what: "the weights of layer \(index)")
            let parameters = try checked.add(weights, layer.biasCount, what: "the parameters of layer \(index)")
            let parameterBytes = try checked.multiply(parameters, elementBytes, what: "the parameter bytes of layer \(index)")
            let activationBytes = try checked.multiply(
                batch, layer.outputWidth, elementBytes, what: "the activation bytes of layer \(index)")
            let optimizerBytes = try checked.multiply(parameterBytes, stateTensors, what: "the optimizer state of layer \(index)")
            layers.append(
                LayerBudget(
                    index: index, inputWidth: layer.inputWidth, outputWidth: layer.outputWidth, activation: layer.activation,
                    weightCount: weights, biasCount: layer.biasCount, parameterCount: parameters,
                    parameterByteCount: parameterBytes, gradientByteCount: parameterBytes,
                    activationByteCount: activationBytes, optimizerByteCount: optimizerBytes))
            totals.parameters = try checked.add(totals.parameters, parameters, what: "the parameter count")
            totals.weights = try checked.add(totals.weights, weights, what: "the weight count")
            totals.biases = try checked.add(totals.biases, layer.biasCount, what: "the bias count")
            totals.neurons = try checked.add(totals.neurons, layer.outputWidth, what: "the neuron count")
            totals.activationBytes = try checked.add(totals.activationBytes, activationBytes, what: "the activation bytes")
        }
        let parameterBytes = try checked.multiply(totals.parameters, elementBytes, what: "the parameter bytes")
        let featureBytes = try checked.multiply(batch, model.inputWidth, elementBytes, what: "the input batch")
        let targetBytes = try checked.multiply(batch, model.outputWidth, elementBytes, what: "the target batch")
        let inputBytes = try checked.add(featureBytes, targetBytes, what: "the input batch")
        let optimizerBytes = try checked.multiply(parameterBytes, stateTensors, what: "the optimizer state")
        let total = try checked.sum(
            [parameterBytes, parameterBytes, totals.activationBytes, inputBytes, optimizerBytes], what: "the total")
        return Budget(
            mode: .exact, profileName: model.name, precision: model.precision, batchSize: batch,
            optimizer: model.optimizer.kind, parameterCount: totals.parameters, weightCount: totals.weights,
            biasCount: totals.biases, neuronCount: totals.neurons, parameterByteCount: parameterBytes,
            gradientByteCount: parameterBytes, activationByteCount: totals.activationBytes, inputByteCount: inputBytes,
            inputFeatureByteCount: featureBytes, inputTargetByteCount: targetBytes, optimizerByteCount: optimizerBytes,
            totalByteCount: total, layers: layers)
    }

    /// The lecture's bound: parameters + gradients (same shape) + activations (at most the
    /// parameter bytes, one copy per sample) + input samples (+ optimizer state).
    ///
    ///     300e9 parameters, 1 GB per sample, fp32, batch 1:    1200 + 1200 + 1200 + 1 GB = 3,601 GB
    ///     fp64, batch 1000:  2400 + 2400 + 2400·1000 + 1·1000 GB = 2,405,800 GB
    public static func estimate(_ bound: BoundModel) throws(BudgetError) -> Budget {
        let checked = Checked(context: bound.name)
        let parameterBytes = try checked.multiply(bound.parameterCount, bound.precision.byteCount, what: "the parameter bytes")
        let activationBytes = try checked.multiply(parameterBytes, bound.batchSize, what: "the activation bound")
        let inputBytes = try checked.multiply(bound.sampleByteCount, bound.batchSize, what: "the input samples")
        let optimizerBytes = try checked.multiply(parameterBytes, bound.optimizer.stateTensorsPerParameter, what: "the optimizer state")
        let total = try checked.sum([parameterBytes, parameterBytes, activationBytes, inputBytes, optimizerBytes], what: "the total")
        return Budget(
            mode: .bound, profileName: bound.name, precision: bound.precision, batchSize: bound.batchSize,
            optimizer: bound.optimizer, parameterCount: bound.parameterCount, weightCount: bound.parameterCount,
            biasCount: 0, neuronCount: 0, parameterByteCount: parameterBytes, gradientByteCount: parameterBytes,
            activationByteCount: activationBytes, inputByteCount: inputBytes, inputFeatureByteCount: inputBytes,
            inputTargetByteCount: 0, optimizerByteCount: optimizerBytes, totalByteCount: total, layers: [])
    }
}
