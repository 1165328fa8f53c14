// The closed-form memory budget of one training step, per layer and in total.

import ModelProfile

/// Whether a budget was computed layer by layer or from the lecture's bound.
public enum BudgetMode: String, Sendable, Hashable {
    case exact
    case bound
}

/// One layer's counts and bytes: the sums of the tensors its kind declares (`StepTable`).
/// Shapes of the dense kind: W (outputWidth, inputWidth), b (outputWidth), a (batchSize, outputWidth).
public struct LayerBudget: Sendable, Hashable {
    /// 1-based, as in the lecture's w1, w2, w3.
    public var index: Int
    /// The layer's kind: `dense`, or a transformer's `embedding`, `block`, `head`.
    public var kind: String
    /// What reports call it: `1`, `embedding`, `h3`, `head`.
    public var name: String
    public var inputWidth: Int
    /// Neurons in this layer (a transformer layer's: its hidden size, or the vocabulary for the head).
    public var outputWidth: Int
    /// The activation's name (`relu`, …; a transformer block's feed-forward activation).
    public var activation: String
    /// Elements of the layer's weight tensor: inputWidth · outputWidth (a transformer's: of its matrices)
    public var weightCount: Int
    /// Elements of its bias: outputWidth, or 0 for a layer without bias (a transformer's: of its vectors, norm gains
    /// included)
    public var biasCount: Int
    /// Elements of all its parameter tensors
    public var parameterCount: Int
    /// Bytes of the layer's tensors by category (from the step table)
    public var parameterByteCount: Int
    /// 0 when SGD's update is fused into the backward pass (no gradient is stored)
    public var gradientByteCount: Int
    public var activationByteCount: Int
    public var deltaByteCount: Int
    public var scratchByteCount: Int
    public var optimizerByteCount: Int
}

/// The predicted bytes of one training step by category.
///
/// Exact mode sums the step's tensor table (`StepTable`), which each layer kind declares once; with
/// s bytes per element and batch B, for dense layers:
/// - **parameters** Σ (in·out + out)·s;
/// - **gradients** the same, one averaged copy — or 0 with plain SGD, whose update is fused into the
///   backward pass so each gradient is applied as it is formed and never stored;
/// - **activations** Σ B·out·s: each layer's output a_l, which the backward pass reads as the next layer's
///   input for dW_{l+1} = dz_{l+1}ᵀ·a_l and for f'(z_l), which every supported activation computes from its
///   output (relu: a > 0, sigmoid: a(1−a), tanh: 1−a², softmax with cross-entropy: p − y); z_l is
///   computed in place in a_l's buffer and not kept;
/// - **deltas** Σ B·out·s over hidden layers: dz_l = ∂L/∂z_l, written by layer l+1's backward;
/// - **scratch** the fused SGD backward's staged partial deltas when it is split over P > 1 parts;
/// - **inputs** the batch's features B·in·s plus its targets B·out·s (dense: one-hot for classes);
/// - **optimizer** m·P·s with m state tensors per parameter (`OptimizerKind.stateNames`).
///
/// `totalByteCount` sums them all: every tensor of the step with no reuse, so it is never below the plan's
/// lower bound (the most bytes live at one op). The lecture's bound mode is described on `BoundModel`.
public struct Budget: Sendable, Hashable {
    public var mode: BudgetMode
    public var profileName: String
    public var precision: Precision
    public var batchSize: Int
    public var optimizer: OptimizerKind
    /// Whether the update is fused into the backward pass (plain SGD): no gradients are stored.
    public var fusesUpdate: Bool

    public var parameterCount: Int
    public var weightCount: Int
    public var biasCount: Int
    public var neuronCount: Int

    public var parameterByteCount: Int
    public var gradientByteCount: Int
    public var activationByteCount: Int
    public var deltaByteCount: Int
    public var scratchByteCount: Int
    /// Features plus targets of one batch.
    public var inputByteCount: Int
    public var inputFeatureByteCount: Int
    public var inputTargetByteCount: Int
    public var optimizerByteCount: Int
    /// Sum of every category above.
    public var totalByteCount: Int

    /// Empty in bound mode.
    public var layers: [LayerBudget]
    /// Every tensor of the step (exact mode), in the table's order; empty in bound mode.
    public var tensors: [TensorSpec]
    /// The transformer the budget is of, and the published formulas' activation figures for it; nil otherwise.
    public var transformer: TransformerModel? = nil
    public var crossChecks: TransformerCrossChecks? = nil
    /// Activations a recompute op forms again in the backward pass (gradient checkpointing); 0 without it. Counted
    /// in the total like every other tensor: the total is each tensor once, with no reuse (the plan's arena reuses).
    public var recomputedByteCount = 0
    /// The fp32 master weights of a mixed-precision recipe (bf16-mixed, fp16-mixed); 0 otherwise. Parameters +
    /// master parameters + gradients + optimizer state is the model state.
    public var masterParameterByteCount = 0
    /// The recipe's loss scaling (the profile's `loss_scaling`, or the precision's default). A scalar: it adds no
    /// bytes to any category.
    public var lossScaling: LossScaling = .disabled
}

/// Computes budgets. Every product and sum is checked; an absurd profile is an error, not a trap.
public enum MemoryBudget {
    /// The budget of a profile at its own precision, batch and optimizer.
    public static func estimate(_ profile: Profile, options: StepOptions = StepOptions()) throws(BudgetError) -> Budget {
        switch profile {
        case .exact(let model): try estimate(model, options: options)
        case .bound(let bound): try estimate(bound)
        case .transformer(let model): try estimate(try StepTable(transformer: model, options: options))
        }
    }

    /// The sums of the step's tensor table; see `Budget` for what each category holds.
    public static func estimate(_ model: Model, options: StepOptions = StepOptions()) throws(BudgetError) -> Budget {
        try estimate(try StepTable(model: model, options: options))
    }

    /// The sums of a step table (its data tensors, if any, are not part of a step's budget).
    public static func estimate(_ table: StepTable) throws(BudgetError) -> Budget {
        let checked = Checked(context: table.name)
        // Loops, not filter + map: a 100,000-layer table has 600,000 tensors, and every copy retains their strings.
        func sum(_ tensors: [TensorSpec], _ category: BufferCategory, what: String) throws(BudgetError) -> Int {
            var total = 0
            for index in tensors.indices where tensors[index].category == category {
                total = try checked.add(total, tensors[index].byteCount, what: what)
            }
            return total
        }
        func elements(_ tensors: [TensorSpec], where keep: (TensorSpec) -> Bool) throws(BudgetError) -> Int {
            var total = 0
            for index in tensors.indices where tensors[index].category == .parameters && keep(tensors[index]) {
                total = try checked.add(total, tensors[index].elementCount, what: "a parameter count")
            }
            return total
        }
        // Each layer's tensors, grouped once: filtering the whole table per layer was quadratic (100,000 layers: 191 s).
        let tensorsByLayer = Dictionary(grouping: table.tensors, by: \.id.layer)
        // (index, kind, name, inputs, outputs, activation, weights, biases, neurons) per layer.
        var rows: [(Int, String, String, Int, Int, String, Int, Int, Int)] = []
        switch table.network {
        case .mlp(let model):
            for (offset, layer) in model.layers.enumerated() {
                let tensors = tensorsByLayer[offset + 1] ?? []
                let weights = try elements(tensors) { $0.id.role == DenseTensor.weight.rawValue }
                let biases = try elements(tensors) { $0.id.role == DenseTensor.bias.rawValue }
                rows.append(
                    (
                        offset + 1, "dense", String(offset + 1), layer.inputWidth, layer.outputWidth, layer.activation.rawValue,
                        weights,
                        biases, layer.outputWidth
                    ))
            }
        case .transformer(let model):
            let spec = model.spec
            for index in 1...(spec.layerCount + 2) {
                let tensors = tensorsByLayer[index] ?? []
                let (kind, name): (String, String) =
                    index == 1
                    ? ("embedding", "embedding") : index == spec.layerCount + 2 ? ("head", "head") : ("block", "h\(index - 1)")
                rows.append(
                    (
                        index, kind, name, spec.hiddenSize, kind == "head" ? spec.vocabularySize : spec.hiddenSize,
                        spec.feedForward.rawValue,
                        try elements(tensors) { $0.shape.count >= 2 }, try elements(tensors) { $0.shape.count < 2 }, 0
                    ))
            }
        }
        var layers: [LayerBudget] = []
        var totals = (parameters: 0, weights: 0, biases: 0, neurons: 0)
        for (index, kind, name, inputs, outputs, activation, weights, biases, neurons) in rows {
            let tensors = tensorsByLayer[index] ?? []
            let parameters = try elements(tensors) { _ in true }
            layers.append(
                LayerBudget(
                    index: index, kind: kind, name: name, inputWidth: inputs, outputWidth: outputs, activation: activation,
                    weightCount: weights, biasCount: biases, parameterCount: parameters,
                    parameterByteCount: try sum(tensors, .parameters, what: "the parameter bytes of layer \(name)"),
                    gradientByteCount: try sum(tensors, .gradients, what: "the gradient bytes of layer \(name)"),
                    activationByteCount: try sum(tensors, .activations, what: "the activation bytes of layer \(name)"),
                    deltaByteCount: try sum(tensors, .deltas, what: "the delta bytes of layer \(name)"),
                    scratchByteCount: try sum(tensors, .scratch, what: "the scratch bytes of layer \(name)"),
                    optimizerByteCount: try sum(tensors, .optimizer, what: "the optimizer state of layer \(name)")))
            totals.parameters = try checked.add(totals.parameters, parameters, what: "the parameter count")
            totals.weights = try checked.add(totals.weights, weights, what: "the weight count")
            totals.biases = try checked.add(totals.biases, biases, what: "the bias count")
            totals.neurons = try checked.add(totals.neurons, neurons, what: "the neuron count")
        }
        let step = table.tensors.filter { $0.category != .data }
        let featureBytes = table.spec(TensorID(.features))?.byteCount ?? 0
        let targetBytes = table.spec(TensorID(.targets))?.byteCount ?? 0
        let categories: [BufferCategory] = [
            .parameters, .masterParameters, .gradients, .activations, .deltas, .scratch, .recomputed, .inputs, .optimizer,
        ]
        var bytes: [BufferCategory: Int] = [:]
        for index in step.indices {
            let category = step[index].category
            bytes[category] = try checked.add(
                bytes[category] ?? 0, step[index].byteCount, what: "the \(category.rawValue) bytes")
        }
        let total = try checked.sum(categories.map { bytes[$0] ?? 0 }, what: "the total")
        return Budget(
            mode: .exact, profileName: table.name, precision: table.precision, batchSize: table.batchSize,
            optimizer: table.optimizerKind, fusesUpdate: table.fusesUpdate, parameterCount: totals.parameters,
            weightCount: totals.weights, biasCount: totals.biases, neuronCount: totals.neurons,
            parameterByteCount: bytes[.parameters] ?? 0, gradientByteCount: bytes[.gradients] ?? 0,
            activationByteCount: bytes[.activations] ?? 0, deltaByteCount: bytes[.deltas] ?? 0,
            scratchByteCount: bytes[.scratch] ?? 0,
            inputByteCount: bytes[.inputs] ?? 0, inputFeatureByteCount: featureBytes, inputTargetByteCount: targetBytes,
            optimizerByteCount: bytes[.optimizer] ?? 0, totalByteCount: total, layers: layers, tensors: step,
            transformer: table.transformer,
            crossChecks: try table.transformer.map { model throws(BudgetError) in try TransformerCrossChecks(model) },
            recomputedByteCount: bytes[.recomputed] ?? 0, masterParameterByteCount: bytes[.masterParameters] ?? 0,
            lossScaling: table.network.lossScaling)
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
        // A mixed recipe adds its fp32 master copy and keeps the optimizer state in fp32.
        let stateTensors = bound.optimizer.stateTensorsPerParameter
        let optimizerBytes =
            stateTensors == 0
            ? 0
            : try checked.multiply(
                try checked.multiply(
                    bound.parameterCount, bound.precision.optimizerPrecision.byteCount, what: "the optimizer state"),
                stateTensors, what: "the optimizer state")
        let masterBytes = try checked.multiply(
            bound.parameterCount, bound.precision.masterPrecision?.byteCount ?? 0, what: "the master weights")
        let total = try checked.sum(
            [parameterBytes, parameterBytes, activationBytes, inputBytes, optimizerBytes, masterBytes], what: "the total")
        return Budget(
            mode: .bound, profileName: bound.name, precision: bound.precision, batchSize: bound.batchSize,
            optimizer: bound.optimizer, fusesUpdate: false, parameterCount: bound.parameterCount,
            weightCount: bound.parameterCount,
            biasCount: 0, neuronCount: 0, parameterByteCount: parameterBytes, gradientByteCount: parameterBytes,
            activationByteCount: activationBytes, deltaByteCount: 0, scratchByteCount: 0, inputByteCount: inputBytes,
            inputFeatureByteCount: inputBytes, inputTargetByteCount: 0, optimizerByteCount: optimizerBytes, totalByteCount: total,
            layers: [], tensors: [], masterParameterByteCount: masterBytes,
            lossScaling: .defaultScaling(for: bound.precision))
    }
}
