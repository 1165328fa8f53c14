// A profile file's two kinds: an exact network, or the lecture's back-of-envelope bound.

/// The "bound" kind of profile: only a parameter count and the bytes of one input sample,
/// for the lecture's back-of-envelope question.
///
/// The bound (lecture, "3-minute quiz"): with s bytes per element, P parameters, batch B and
/// S bytes per sample,
///
///     total = P·s (parameters) + P·s (gradients, same shape) + B·P·s (activations, at most the
///             parameter bytes per sample) + B·S (input samples) + m·P·s (optimizer state)
///
/// where m is 0 for SGD (the lecture's case), 1 for momentum and 2 for Adam.
public struct BoundModel: Sendable, Codable, Hashable {
    public var name: String
    public var parameterCount: Int
    /// Bytes of one input sample as stored (not scaled by precision).
    public var sampleByteCount: Int
    public var precision: Precision
    public var batchSize: Int
    public var optimizer: OptimizerKind

    public init(
        name: String, parameterCount: Int, sampleByteCount: Int, precision: Precision = .single,
        batchSize: Int = 1, optimizer: OptimizerKind = .sgd
    ) throws(ModelError) {
        guard parameterCount >= 1 else {
            throw parameterCount < 0 ? .negativeWidth(what: "parameters", value: parameterCount) : .zeroWidth(what: "parameters")
        }
        guard sampleByteCount >= 0 else { throw .negativeWidth(what: "sample_bytes", value: sampleByteCount) }
        guard batchSize >= 1 else { throw .nonPositive(what: "batch", value: Double(batchSize)) }
        self.name = name
        self.parameterCount = parameterCount
        self.sampleByteCount = sampleByteCount
        self.precision = precision
        self.batchSize = batchSize
        self.optimizer = optimizer
    }

    /// The same bound with another precision, batch or optimizer.
    public func with(precision: Precision? = nil, batchSize: Int? = nil, optimizer: OptimizerKind? = nil) throws(ModelError)
        -> BoundModel
    {
        try BoundModel(
            name: name, parameterCount: parameterCount, sampleByteCount: sampleByteCount,
            precision: precision ?? self.precision, batchSize: batchSize ?? self.batchSize,
            optimizer: optimizer ?? self.optimizer)
    }
}

/// What every kind of profile states about its step: a name, the element precision and the batch.
public protocol ProfiledStep: Sendable {
    var name: String { get }
    var precision: Precision { get }
    var batchSize: Int { get }
}

/// A network memplan trains for real (an MLP or a transformer): also how, for how long, and from which seed.
public protocol TrainableNetwork: ProfiledStep {
    var optimizer: Optimizer { get }
    var epochs: Int { get }
    var seed: UInt64 { get }
    /// The profile's `loss_scaling`, nil for the precision's default.
    var lossScaling: LossScaling? { get }
}

extension TrainableNetwork {
    /// The loss scaling the step uses: the profile's, or the precision's default.
    public var effectiveLossScaling: LossScaling { lossScaling ?? .defaultScaling(for: precision) }
}

extension Model: TrainableNetwork {}
extension TransformerModel: TrainableNetwork {}
extension BoundModel: ProfiledStep {}

/// A parsed profile: an exact network, a transformer, or a bound.
public enum Profile: Sendable, Hashable {
    case exact(Model)
    case bound(BoundModel)
    case transformer(TransformerModel)

    /// The profile's model, whatever its kind.
    public var step: any ProfiledStep {
        switch self {
        case .exact(let model): model
        case .bound(let bound): bound
        case .transformer(let model): model
        }
    }

    public var name: String { step.name }
    public var precision: Precision { step.precision }
    public var batchSize: Int { step.batchSize }

    /// The same profile with CLI overrides applied.
    public func with(precision: Precision? = nil, batchSize: Int? = nil, optimizer: OptimizerKind? = nil) throws(ModelError)
        -> Profile
    {
        switch self {
        case .exact(let model): .exact(try model.with(precision: precision, batchSize: batchSize, optimizer: optimizer))
        case .bound(let bound): .bound(try bound.with(precision: precision, batchSize: batchSize, optimizer: optimizer))
        case .transformer(let model):
            .transformer(try model.with(precision: precision, batchSize: batchSize, optimizer: optimizer))
        }
    }
}
