// What fits: the largest batch per node and per machine by exact search over the planner's arena,
// and the largest model scale at the profile's batch.

import ArenaPlanner
import MemoryBudget
import ModelProfile

/// Sizes a model's planned arena by batch: what capacity searches over.
public protocol BatchSizing {
    /// The planned arena at batch `batch`, data included.
    func arenaBytes(batch: Int) throws -> Int
    /// The largest batch whose planned arena is at most `limit` bytes (0 when batch 1 does not fit), and that arena.
    func maximumBatch(limit: Int) -> (batch: Int, arenaBytes: Int?)
}

/// The arena a model needs at a batch size, from the plan (the dataset included when `data` is given).
public struct ArenaSizer: Sendable, BatchSizing {
    public let model: Model
    public let data: DataShape?
    public let alignment: Int

    public init(model: Model, data: DataShape?, alignment: Int = 64) {
        self.model = model
        self.data = data
        self.alignment = alignment
    }

    /// The planned arena at `batch`; throws when the sizes overflow.
    public func arenaBytes(batch: Int) throws -> Int {
        try arenaBytes(model: try model.with(batchSize: batch))
    }

    public func arenaBytes(model: Model) throws -> Int {
        let program = try StepProgram(model: model, data: data)
        return try BestPlanner().plan(program.buffers, alignment: alignment).arenaByteCount
    }

    /// The largest batch whose planned arena is ≤ `limit`, and its arena; 0 when batch 1 does not fit.
    public func maximumBatch(limit: Int) -> (batch: Int, arenaBytes: Int?) {
        let batch = CapacitySearch.largest(upTo: 1 << 40) { try arenaBytes(batch: $0) <= limit }
        return (batch, batch > 0 ? try? arenaBytes(batch: batch) : nil)
    }

    /// The profile's model with every hidden layer's width multiplied by `scale` (rounded, at least 1).
    public func scaled(by scale: Double) throws -> Model {
        var copy = model
        var previous = model.inputWidth
        for index in copy.layers.indices {
            let isHidden = index < copy.layers.count - 1
            if isHidden {
                let width = (Double(model.layers[index].outputWidth) * scale).rounded()
                guard width.isFinite, width < 1e15 else {
                    throw BudgetError.overflow(quantity: "a scaled width", context: model.name)
                }
                copy.layers[index].outputWidth = max(1, Int(width))
            }
            copy.layers[index].inputWidth = previous
            previous = copy.layers[index].outputWidth
        }
        try copy.validate()
        return copy
    }

    /// The largest hidden-width multiplier k (in hundredths) at the profile's batch whose arena fits,
    /// or nil for a model without hidden layers (nothing to scale).
    public func maximumScale(limit: Int) -> Double? {
        guard model.layers.count > 1 else { return nil }
        let hundredths = CapacitySearch.largest(upTo: 100_000_000) { h in
            try arenaBytes(model: try scaled(by: Double(h) / 100)) <= limit
        }
        return Double(hundredths) / 100
    }
}

/// The arena a transformer needs, from the plan of its step (`StepTable(transformer:)`), at a batch, a sequence length
/// or a depth.
public struct TransformerSizer: Sendable, BatchSizing {
    public let model: TransformerModel
    public let alignment: Int

    public init(model: TransformerModel, alignment: Int = 64) {
        self.model = model
        self.alignment = alignment
    }

    public func arenaBytes(model: TransformerModel) throws -> Int {
        let program = StepProgram(table: try StepTable(transformer: model))
        return try BestPlanner().plan(program.buffers, alignment: alignment).arenaByteCount
    }

    public func arenaBytes(batch: Int) throws -> Int { try arenaBytes(model: try model.with(batchSize: batch)) }

    /// The largest batch whose planned arena is ≤ `limit`, and its arena; 0 when batch 1 does not fit.
    public func maximumBatch(limit: Int) -> (batch: Int, arenaBytes: Int?) {
        let best = largest(.batch, limit: limit)
        return (best.value, best.arenaBytes)
    }

    /// The model with one dimension set to `value`: the batch; the context (and the sequence, trained at full
    /// length); or the number of blocks.
    public func model(_ dimension: TransformerDimension, _ value: Int) throws -> TransformerModel {
        var variant = model
        switch dimension {
        case .batch: variant.batchSize = value
        case .context:
            variant.spec.contextLength = value
            variant.sequenceLength = value
        case .layers: variant.spec.layerCount = value
        }
        try variant.validate()
        return variant
    }

    /// The largest value of `dimension` (the others as the profile has them) whose planned arena is ≤ `limit`, and that
    /// arena; 0 when 1 does not fit.
    ///
    /// The search runs on the step's peak live bytes (a sweep, no placement), which no plan beats, so it lands at or
    /// above the answer c₀. The planner confirms c₀, or else the search runs again for the peak under the limit less
    /// c₀'s placement overhead (alignment, fragmentation), landing at c₁ ≤ the answer, and plans bisect [c₁, c₀).
    /// Plans are the costly part; this takes one or two for a transformer step, which the planner packs to its peak.
    public func largest(_ dimension: TransformerDimension, limit: Int) -> (value: Int, arenaBytes: Int?) {
        func peak(_ value: Int) throws -> Int? {
            LowerBound.peakLiveBytes(StepProgram(table: try StepTable(transformer: try model(dimension, value))).buffers)
        }
        func planned(_ value: Int) -> Int? { try? arenaBytes(model: try model(dimension, value)) }
        let upper = CapacitySearch.largest(upTo: dimension.searchLimit, budget: limit, measure: peak)
        guard upper > 0, let upperPlan = planned(upper) else { return (0, nil) }
        if upperPlan <= limit { return (upper, upperPlan) }
        let overhead = upperPlan - ((try? peak(upper)) ?? nil ?? upperPlan)
        var lower = CapacitySearch.largest(upTo: upper - 1, budget: limit - overhead, measure: peak)
        while lower > 0, (planned(lower) ?? Int.max) > limit { lower /= 2 }  // rare: halve until a plan fits
        guard lower > 0 else { return (0, nil) }
        // lower fits, upper does not: bisect the values between them with plans.
        let offset = CapacitySearch.largest(upTo: upper - lower - 1) { (planned(lower + $0) ?? Int.max) <= limit }
        return (lower + offset, planned(lower + offset))
    }
}

/// What capacity searches over for a transformer.
public enum TransformerDimension: String, CaseIterable, Sendable {
    case batch, context, layers

    /// The largest value searched: 2³⁰ sequences, 2²⁴ tokens of context, 4,096 blocks (each probe plans a whole
    /// step, so a tiny model on a big machine would otherwise plan millions of blocks).
    var searchLimit: Int {
        switch self {
        case .batch: 1 << 30
        case .context: 1 << 24
        case .layers: 1 << 12
        }
    }
}
