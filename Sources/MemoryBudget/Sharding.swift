// One device's bytes when training is split over N devices: data parallelism, the three ZeRO stages, and tensor
// parallelism (estimate-only). The profile's batch is each device's micro-batch.

import ModelProfile

/// How training is split over devices (Rajbhandari et al. 2020, arXiv 1910.02054; Korthikanti et al. 2022).
public enum ShardingStrategy: String, CaseIterable, Sendable, Hashable {
    /// Data parallel: every device holds the whole model state and all-reduces the gradients.
    case dp
    /// ZeRO stage 1: the optimizer state and master weights are sharded.
    case zero1
    /// ZeRO stage 2: gradients too.
    case zero2
    /// ZeRO stage 3: parameters too; each layer's parameters are gathered before use.
    case zero3
    /// Tensor parallelism (Megatron): matrices and the activations inside a block split over devices.
    case tp

    /// One line for tables and `--help`.
    public var explanation: String {
        switch self {
        case .dp: "data parallel: whole model state on every device, gradients all-reduced"
        case .zero1: "ZeRO-1: optimizer state and master weights sharded"
        case .zero2: "ZeRO-2: optimizer state, master weights and gradients sharded"
        case .zero3: "ZeRO-3: all model state sharded, each layer gathered before use"
        case .tp: "tensor parallel: matrices and block activations split (transformers, estimate only)"
        }
    }

    /// Whether this strategy shards the model state byte by byte (the ZeRO stages).
    public var isZeRO: Bool { self == .zero1 || self == .zero2 || self == .zero3 }
}

/// One device's bytes under a strategy. With P stored parameters, M master weights, G gradients, O optimizer state
/// (the single-device budget's categories) and ⌈x/N⌉ a device's shard:
/// - **dp** P + M + G + O;
/// - **zero1** P + G + ⌈M/N⌉ + ⌈O/N⌉ (the paper's 4Ψ + KΨ/N for mixed-precision Adam, K = 12);
/// - **zero2** P + ⌈G/N⌉ + ⌈M/N⌉ + ⌈O/N⌉ (2Ψ + (2 + K)Ψ/N);
/// - **zero3** ⌈P/N⌉ + ⌈G/N⌉ + ⌈M/N⌉ + ⌈O/N⌉ ((4 + K)Ψ/N);
/// - **tp** every matrix (a tensor of rank ≥ 2) and its gradient, master copy and state split ⌈·/N⌉, vectors
///   replicated; activations, deltas and recomputed tensors scaled by Korthikanti's per-block bytes at t = N over
///   t = 1: s·b·h·(4p + 2 + 12p/t) + (2p + 1)·a·s²·b/t.
///
/// Activations, deltas, scratch, recomputed tensors and inputs are the device's own batch (not sharded by ZeRO).
/// **communication** is what the exchange needs beside the model state, as memplan's ring would hold it: dp and
/// zero1 a ring chunk of ⌈G/N⌉ rounded up to whole elements (reduce-scatter receives into it, all-gather writes in place); zero2 adds the bucket a
/// layer's whole gradient is formed in before it is reduce-scattered (the largest layer's gradient); zero3 adds the
/// gather buffer of the largest layer's parameters; tp a chunk of one block's all-reduce ⌈s·b·h·p/N⌉. One device
/// exchanges nothing. In bound mode the layers are unknown: no bucket or gather buffer is counted (`largestLayer…`
/// are nil) and the note says so.
public struct DeviceBudget: Sendable, Hashable {
    public var strategy: ShardingStrategy
    public var deviceCount: Int
    public var parameterByteCount: Int
    public var masterParameterByteCount: Int
    public var gradientByteCount: Int
    public var optimizerByteCount: Int
    public var activationByteCount: Int
    public var deltaByteCount: Int
    public var scratchByteCount: Int
    public var recomputedByteCount: Int
    public var inputByteCount: Int
    public var communicationByteCount: Int
    /// Parameters + master parameters + gradients + optimizer state on this device.
    public var modelStateByteCount: Int
    /// Every category above.
    public var totalByteCount: Int
    /// Samples of one step over all devices: N × the device's batch; tp's devices share one batch, so its own.
    public var globalBatchSize: Int
    /// The largest layer's parameter and gradient bytes (zero3's gather buffer, zero2's bucket); nil in bound mode.
    public var largestLayerParameterByteCount: Int?
    public var largestLayerGradientByteCount: Int?

    /// The largest device count memplan plans for.
    public static let maximumDeviceCount = 1 << 20

    /// One device's share of `budget` under `strategy` over `deviceCount` devices.
    ///
    /// `budget` must store its gradients when `deviceCount` > 1 (`StepOptions(fusesUpdate: false)`): an update fused
    /// into the backward pass cannot wait for the exchange.
    ///
    /// - Throws: `BudgetError.unshardable` for a device count out of range, more ZeRO devices than parameters, tensor
    ///   parallelism outside a transformer or over a device count that does not divide its heads;
    ///   `BudgetError.overflow` past `Int.max`.
    public init(_ budget: Budget, strategy: ShardingStrategy, deviceCount: Int) throws(BudgetError) {
        let n = deviceCount
        func refuse(_ reason: String, _ hint: String) -> BudgetError {
            .unshardable(strategy: strategy.rawValue, devices: n, reason: reason, hint: hint)
        }
        guard (1...Self.maximumDeviceCount).contains(n) else {
            throw refuse("the device count must be between 1 and \(Self.maximumDeviceCount)", "give --devices 1 … 1048576")
        }
        if strategy.isZeRO && n > budget.parameterCount {
            throw refuse(
                "\(budget.profileName) has \(budget.parameterCount) parameters: a ZeRO shard needs at least one per device",
                "use at most \(budget.parameterCount) devices, or --strategy dp")
        }
        let checked = Checked(context: budget.profileName)
        globalBatchSize =
            strategy == .tp
            ? budget.batchSize : try checked.multiply(budget.batchSize, n, what: "the global batch (devices × batch)")
        func shard(_ bytes: Int) -> Int { bytes / n + (bytes % n == 0 ? 0 : 1) }
        // A ring chunk holds whole gradient elements: ⌈elements/N⌉ of them.
        let element = max(1, budget.precision.byteCount)
        func chunk(_ bytes: Int) -> Int { shard(bytes / element) * element }
        self.strategy = strategy
        self.deviceCount = n
        let largestParameters = budget.layers.map(\.parameterByteCount).max()
        let largestGradients = budget.layers.map(\.gradientByteCount).max()
        largestLayerParameterByteCount = largestParameters
        largestLayerGradientByteCount = largestGradients
        (activationByteCount, deltaByteCount, recomputedByteCount) =
            (budget.activationByteCount, budget.deltaByteCount, budget.recomputedByteCount)
        (scratchByteCount, inputByteCount) = (budget.scratchByteCount, budget.inputByteCount)
        let (p, m, g, o) = (
            budget.parameterByteCount, budget.masterParameterByteCount, budget.gradientByteCount, budget.optimizerByteCount
        )
        var communication = 0
        switch strategy {
        case .dp:
            (parameterByteCount, masterParameterByteCount, gradientByteCount, optimizerByteCount) = (p, m, g, o)
            communication = n > 1 ? chunk(g) : 0
        case .zero1:
            (parameterByteCount, masterParameterByteCount, gradientByteCount, optimizerByteCount) = (p, shard(m), g, shard(o))
            communication = n > 1 ? chunk(g) : 0
        case .zero2, .zero3:
            let gathered = strategy == .zero3
            (parameterByteCount, masterParameterByteCount, gradientByteCount, optimizerByteCount) = (
                gathered ? shard(p) : p, shard(m), shard(g), shard(o)
            )
            if n > 1 {
                let bucket = largestGradients ?? 0
                communication = try checked.sum(
                    [bucket, chunk(bucket), gathered ? largestParameters ?? 0 : 0], what: "the exchange buffers")
            }
        case .tp:
            guard let model = budget.transformer else {
                throw refuse(
                    "tensor parallelism splits a transformer's matrices and attention heads; \(budget.profileName) is not a transformer",
                    "use --strategy dp or zero1|zero2|zero3")
            }
            let spec = model.spec
            // Each device takes whole heads: n must divide the query heads and the key-value heads (memplan does not
            // replicate key-value heads over devices, so n above the key-value heads is refused rather than split).
            guard spec.headCount % n == 0, spec.keyValueHeadCount % n == 0 else {
                let both = spec.keyValueHeadCount == spec.headCount
                throw refuse(
                    both
                        ? "\(n) devices do not divide the \(spec.headCount) attention heads"
                        : "each device takes whole heads, and \(n) does not divide both the \(spec.headCount) attention heads "
                            + "and the \(spec.keyValueHeadCount) key-value heads",
                    "give a device count that divides \(both ? spec.headCount : spec.keyValueHeadCount)")
            }
            var state = [BufferCategory: Int]()
            for tensor in budget.tensors
            where [.parameters, .masterParameters, .gradients, .optimizer].contains(tensor.category) {
                let bytes = tensor.shape.count >= 2 ? shard(tensor.byteCount) : tensor.byteCount
                state[tensor.category] = try checked.add(state[tensor.category] ?? 0, bytes, what: "a device's model state")
            }
            (parameterByteCount, masterParameterByteCount, gradientByteCount, optimizerByteCount) = (
                state[.parameters] ?? 0, state[.masterParameters] ?? 0, state[.gradients] ?? 0, state[.optimizer] ?? 0
            )
            let bytes = model.precision.byteCount
            let (s, b, h, a) = (
                Double(model.sequenceLength), Double(model.batchSize), Double(spec.hiddenSize), Double(spec.headCount)
            )
            func korthikanti(_ t: Double) -> Double {
                let p = Double(bytes)
                return s * b * h * (4 * p + 2 + 12 * p / t) + (2 * p + 1) * a * s * s * b / t
            }
            let ratio = korthikanti(Double(n)) / korthikanti(1)
            // ratio < 1 for n > 1, so the product stays below the value (and below Int.max).
            func scaled(_ value: Int) -> Int { n == 1 ? value : Int((Double(value) * ratio).rounded(.up)) }
            (activationByteCount, deltaByteCount, recomputedByteCount) = (
                scaled(activationByteCount), scaled(deltaByteCount), scaled(recomputedByteCount)
            )
            let blockOutput = try checked.multiply(
                try checked.multiply(model.sequenceLength, model.batchSize, spec.hiddenSize, what: "s·b·h"), bytes,
                what: "a block's output")
            communication = n > 1 ? shard(blockOutput / bytes) * bytes : 0
        }
        communicationByteCount = communication
        modelStateByteCount = try checked.sum(
            [parameterByteCount, masterParameterByteCount, gradientByteCount, optimizerByteCount],
            what: "a device's model state")
        totalByteCount = try checked.sum(
            [
                modelStateByteCount, activationByteCount, deltaByteCount, scratchByteCount, recomputedByteCount,
                inputByteCount, communicationByteCount,
            ], what: "a device's total")
    }
}
