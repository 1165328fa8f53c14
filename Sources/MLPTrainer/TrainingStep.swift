// One training step on its own, for benchmarks: a model planned and placed like `memplan train`
// does it, on synthetic data, stepping over the same batch again and again.

import ModelProfile

/// A model ready to step: its arena allocated, synthetic data loaded, parameters initialised.
///
///     let step = try TrainingStep(model: model, threads: 2)
///     for _ in 0..<1000 { step.run() }   // forward, loss, backward, update; no allocation
public final class TrainingStep {
    let runStep: () -> Void
    let keepAlive: [AnyObject]

    /// Prepares `model` (its layers, precision, batch and optimizer) with `samples` synthetic samples.
    public init(model: Model, threads: Int = 1, samples: Int? = nil) throws {
        var synthetic = model
        let count = samples ?? max(model.batchSize, 1)
        let task: SyntheticTask = model.loss == .softmaxCrossEntropy ? .classes : (model.loss.isClassification ? .binary : .regression)
        synthetic.data = .synthetic(task: task, count: count, testCount: 1, noise: 0.1, seed: 1)
        switch model.precision {
        case .single: (runStep, keepAlive) = try Self.make(synthetic, threads: threads, as: Float.self)
        case .double: (runStep, keepAlive) = try Self.make(synthetic, threads: threads, as: Double.self)
        case .half, .bfloat16: throw TrainerError.unsupportedPrecision(model.precision.rawValue)
        }
    }

    /// One step: forward, loss, backward, update on the first batch of the data.
    public func run() { runStep() }

    static func make<T: TrainingScalar>(_ model: Model, threads: Int, as: T.Type) throws -> (() -> Void, [AnyObject]) {
        let local = try LocalTrainer<T>(model: model, threads: threads)
        BLASInfo.setThreadCount(1)
        let trainer = local.trainer
        let rows = min(model.batchSize, local.trainCount)
        return ({
            trainer.gatherTraining(orderStart: 0, rows: rows)
            _ = trainer.step(rows: rows)
        }, [local])
    }
}
