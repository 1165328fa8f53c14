// One training step of a model as ordered ops and the buffers they touch, with lifetimes.
// The trainer runs exactly these ops on exactly these buffers: names here are its tensor names.

import MemoryBudget
import ModelProfile

/// One op of a training step.
public enum StepOp: Sendable, Hashable, CustomStringConvertible {
    /// Copy the batch's features into `x` and targets into `y`.
    case load
    /// Forward through layer `k` (1-based): `a_k = f(a_{k-1} · W_kᵀ + b_k)`, with `a_0 = x`.
    case forward(layer: Int)
    /// The loss of `a_L` against `y`; writes `dz_L = ∂L/∂z_L` in place of `a_L`.
    case loss
    /// Backward through layer `k`: `dW_k = dz_kᵀ · a_{k-1}`, `db_k = Σ_rows dz_k`, and for k > 1
    /// `dz_{k-1} = (dz_k · W_k) ⊙ f'(a_{k-1})`.
    case backward(layer: Int)
    /// The optimizer step on every parameter.
    case update

    public var description: String {
        switch self {
        case .load: "load"
        case .forward(let layer): "fwd\(layer)"
        case .loss: "loss"
        case .backward(let layer): "bwd\(layer)"
        case .update: "update"
        }
    }
}

/// How a dataset's features are kept in the arena.
public enum FeatureStorage: String, Sendable, Hashable, Codable {
    /// One element of the model's precision per feature (generated and CSV data).
    case precision
    /// One byte per feature, as image files store pixels (0–255); each batch's rows are scaled to the
    /// model's precision as they are gathered into `x`. A quarter of fp32's bytes, an eighth of fp64's.
    case byte
}

/// Sizes of the data a training run keeps in the arena (the dataset decoded once).
public struct DataShape: Sendable, Hashable, Codable {
    /// Samples available for training and validation (the validation part is a slice of them).
    public var trainCount: Int
    /// Samples of the untouched test set.
    public var testCount: Int
    /// Bytes per stored feature follow from this: 1 for `.byte`, the precision's size for `.precision`.
    public var featureStorage: FeatureStorage

    public init(trainCount: Int, testCount: Int, featureStorage: FeatureStorage = .precision) {
        self.trainCount = trainCount
        self.testCount = testCount
        self.featureStorage = featureStorage
    }

    /// Bytes of one stored feature at `precision`.
    public func featureByteCount(at precision: Precision) -> Int {
        featureStorage == .byte ? 1 : precision.byteCount
    }

    enum CodingKeys: String, CodingKey { case trainCount, testCount, featureStorage }

    /// Decodes shapes written before `featureStorage` existed as `.precision`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        trainCount = try container.decode(Int.self, forKey: .trainCount)
        testCount = try container.decode(Int.self, forKey: .testCount)
        featureStorage = try container.decodeIfPresent(FeatureStorage.self, forKey: .featureStorage) ?? .precision
    }
}

/// The ops and buffers of one training step.
///
/// Op numbering for an L-layer model (layers 1-based, as the lecture's w1, w2, w3):
///
///     0              load         x ← batch features, y ← batch targets
///     k              fwd k        a_k = f(a_{k-1} W_kᵀ + b_k)            k = 1 … L   (a_0 = x)
///     L+1            loss         dz_L written in place of a_L
///     2L+2−k         bwd k        dW_k, db_k; dz_{k-1} for k > 1         k = L … 1
///     2L+2           update       W_k −= η·dW_k … (optimizer state)
///
/// Lifetimes (inclusive): parameters and optimizer state live at every op and across steps;
/// x lives until bwd 1 (it is a_0 for dW_1), y until the loss; a_k (k < L) from fwd k until bwd k+1,
/// which reads it for dW_{k+1} and for f'(a_k); a_L until bwd L (holding dz_L after the loss);
/// dz_k (k < L) from bwd k+1 to bwd k; dW_k and db_k from bwd k to the update.
///
/// With `data`, the dataset (train and test features and targets) and the shuffle order are
/// added as buffers live at every op; features take `data.featureByteCount(at:)` bytes each.
public struct TrainingSchedule: Sendable {
    public let model: Model
    public let data: DataShape?
    public let ops: [StepOp]
    public let buffers: [BufferRequest]

    /// Builds the schedule for `model` at its precision, batch and optimizer.
    ///
    /// - Throws: `BudgetError.overflow` when a buffer's bytes exceed `Int.max`.
    public init(model: Model, data: DataShape? = nil) throws(BudgetError) {
        self.model = model
        self.data = data
        let layerCount = model.layers.count
        let s = model.precision.byteCount
        let batch = model.batchSize
        let checked = Checked(context: model.name)

        var ops: [StepOp] = [.load]
        for k in 1...layerCount { ops.append(.forward(layer: k)) }
        ops.append(.loss)
        for k in stride(from: layerCount, through: 1, by: -1) { ops.append(.backward(layer: k)) }
        ops.append(.update)
        self.ops = ops

        let last = 2 * layerCount + 2
        let all = 0...last
        func backward(_ k: Int) -> Int { 2 * layerCount + 2 - k }
        var buffers: [BufferRequest] = []
        func add(
            _ name: String, _ elements: Int, _ count: Int, _ lifetime: ClosedRange<Int>, _ category: BufferCategory, elementBytes: Int? = nil
        ) throws(BudgetError) {
            let bytes = try checked.multiply(elements, count, elementBytes ?? s, what: "buffer \(name)")
            buffers.append(BufferRequest(name: name, byteCount: bytes, lifetime: lifetime, category: category))
        }

        // Persistent: parameters and optimizer state.
        let stateNames: [String]
        switch model.optimizer.kind {
        case .sgd: stateNames = []
        case .momentum: stateNames = ["v"]
        case .adam: stateNames = ["m", "v"]
        }
        for (offset, layer) in model.layers.enumerated() {
            let k = offset + 1
            try add("W\(k)", layer.outputWidth, layer.inputWidth, all, .parameters)
            if layer.hasBias { try add("b\(k)", layer.outputWidth, 1, all, .parameters) }
            for state in stateNames {
                try add("\(state)W\(k)", layer.outputWidth, layer.inputWidth, all, .optimizer)
                if layer.hasBias { try add("\(state)b\(k)", layer.outputWidth, 1, all, .optimizer) }
            }
        }
        // The batch.
        try add("x", batch, model.inputWidth, 0...backward(1), .inputs)
        try add("y", batch, model.outputWidth, 0...(layerCount + 1), .inputs)
        // Forward activations, backward deltas, gradients.
        for (offset, layer) in model.layers.enumerated() {
            let k = offset + 1
            let lastUse = k == layerCount ? backward(layerCount) : backward(k + 1)
            try add("a\(k)", batch, layer.outputWidth, k...lastUse, .activations)
            if k < layerCount {
                try add("dz\(k)", batch, layer.outputWidth, backward(k + 1)...backward(k), .deltas)
            }
            try add("dW\(k)", layer.outputWidth, layer.inputWidth, backward(k)...last, .gradients)
            if layer.hasBias { try add("db\(k)", layer.outputWidth, 1, backward(k)...last, .gradients) }
        }
        // The dataset, decoded once (features as bytes when the files hold bytes), and the shuffle
        // order (4-byte sample indices).
        if let data {
            let featureBytes = data.featureByteCount(at: model.precision)
            try add("train.x", data.trainCount, model.inputWidth, all, .data, elementBytes: featureBytes)
            try add("train.y", data.trainCount, model.outputWidth, all, .data)
            try add("test.x", data.testCount, model.inputWidth, all, .data, elementBytes: featureBytes)
            try add("test.y", data.testCount, model.outputWidth, all, .data)
            let orderBytes = try checked.multiply(data.trainCount, 4, what: "buffer order")
            buffers.append(BufferRequest(name: "order", byteCount: orderBytes, lifetime: all, category: .data))
        }
        self.buffers = buffers
    }

    /// The buffer holding ∂L/∂z_k: `dz{k}` for hidden layers, `a{L}` (overwritten by the loss) for the output.
    public func preactivationGradientName(layer k: Int) -> String {
        k == model.layers.count ? "a\(k)" : "dz\(k)"
    }

    /// The lecture's naive sum for this step — parameters + gradients + activations + inputs
    /// (+ optimizer state) with no reuse, as `MemoryBudget` counts them — plus the data buffers.
    public func naiveByteCount() throws(BudgetError) -> Int {
        let budget = try MemoryBudget.estimate(model)
        let dataBytes = buffers.filter { $0.category == .data }.reduce(0) { $0 + $1.byteCount }
        return try Checked(context: model.name).add(budget.totalByteCount, dataBytes, what: "the naive sum")
    }
}
