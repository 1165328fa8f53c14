// One training step on its own, for benchmarks: a model planned and placed like `memplan train`
// does it, on synthetic data, stepping over the same batch again and again.

import ArenaPlanner
import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// A model ready to step: its arena allocated, synthetic data loaded, parameters initialised.
///
///     let step = try TrainingStep(model: model, threads: 2)
///     for _ in 0..<1000 { step.run() }   // every op of the step program; no allocation
public final class TrainingStep {
    let engine: StepEngine
    let rows: Int

    /// Prepares `model` (its layers, precision, batch and optimizer) with `samples` synthetic samples.
    public init(model: Model, threads: Int = 1, samples: Int? = nil) throws {
        var synthetic = model
        let count = samples ?? max(model.batchSize, 1)
        let task: SyntheticTask =
            model.loss == .softmaxCrossEntropy ? .classes : (model.loss.isClassification ? .binary : .regression)
        synthetic.data = .synthetic(task: task, count: count, testCount: 1, noise: 0.1, seed: 1)
        let loader = try DatasetLoader(model: synthetic)
        let program = try StepProgram(model: synthetic, options: StepOptions(parts: threads), data: loader.shape)
        let plan = try BestPlanner().plan(program.buffers, alignment: 64)
        let arena = try Arena(byteCount: plan.arenaByteCount, placement: .local)
        engine = try StepEngine(program: program, plan: plan, arena: arena, threads: threads)
        try engine.load(loader)
        for index in 0..<loader.shape.trainCount { engine.order[index] = Int32(index) }
        engine.initializeParameters(seed: synthetic.seed)
        BLASInfo.setThreadCount(1)
        rows = min(model.batchSize, loader.shape.trainCount)
    }

    /// One step: every op of the program on the first batch of the data.
    public func run() { _ = engine.trainStep(orderStart: 0, rows: rows) }
}
