// A trainer over its own planned arena, ready to step: what benchmarks and tests drive directly.

import ArenaPlanner
import ModelProfile
import NUMAArena

/// `model` planned (best planner, 64-byte alignment) and placed on local memory, its data loaded,
/// the training order the file order, parameters initialised from the model's seed, and a worker
/// pool of `threads` parts attached. `TrainingSession` does the same with placement, measurement
/// and errors for users; this is the bare sequence.
final class LocalTrainer<T: TrainingScalar> {
    let arena: Arena
    let pool: WorkerPool
    let trainer: Trainer<T>
    /// Training samples loaded (the rows `order` indexes).
    let trainCount: Int

    init(model: Model, threads: Int) throws {
        let loader = try DatasetLoader(model: model)
        let schedule = try TrainingSchedule(model: model, data: loader.shape)
        let plan = try BestPlanner().plan(schedule.buffers, alignment: 64)
        arena = try Arena(byteCount: plan.arenaByteCount, placement: .local)
        let tensors = ModelTensors<T>(schedule: schedule, plan: plan, arena: arena)
        try loader.load(into: tensors.data)
        trainCount = loader.shape.trainCount
        for index in 0..<trainCount { tensors.data.order[index] = Int32(index) }
        trainer = Trainer(model: model, tensors: tensors)
        pool = WorkerPool(partCount: threads)
        trainer.attach(pool)
        trainer.initializeParameters(seed: model.seed)
    }
}
