// What fits: the largest batch per node and per machine by exact search over the planner's arena,
// and the largest model scale at the profile's batch.

import ArenaPlanner
import MemoryBudget
import ModelProfile

/// The arena a model needs at a batch size, from the plan (the dataset included when `data` is given).
public struct ArenaSizer: Sendable {
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
public struct TransformerSizer: Sendable {
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
        let batch = CapacitySearch.largest(upTo: 1 << 30) { try arenaBytes(batch: $0) <= limit }
        return (batch, batch > 0 ? try? arenaBytes(batch: batch) : nil)
    }
}
