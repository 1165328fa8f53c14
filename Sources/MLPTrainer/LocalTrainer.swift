// A trainer over its own planned arena, ready to step: what benchmarks and tests drive directly.

import ArenaPlanner
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// `model` planned for `threads` parts (best planner, 64-byte alignment) and placed on local memory, its data
/// loaded, the training order the file order, parameters initialised from the model's seed, and a worker pool
/// of `threads` parts attached. `TrainingSession` does the same with placement, measurement and errors for
/// users; this is the bare sequence.
final class LocalTrainer<T: TrainingScalar> {
    let arena: Arena
    let pool: WorkerPool
    let trainer: Trainer<T>
    let plan: ArenaPlan
    /// Training samples loaded (the rows `order` indexes).
    let trainCount: Int

    /// - Parameters:
    ///   - fusesUpdate: false plans stored gradients and an `update` op even for SGD (gradient checks).
    ///   - guardsLifetimes: poison and check the bytes outside the live tensors around every op (`LifetimeGuard`).
    ///   - planAdjustment: changes the plan before it is allocated (tests of the guard: a lifetime cut short).
    init(
        model: Model, threads: Int, fusesUpdate: Bool = true, guardsLifetimes: Bool = false,
        planAdjustment: ((StepProgram) throws -> ArenaPlan)? = nil
    ) throws {
        let loader = try DatasetLoader(model: model)
        let program = try StepProgram(
            model: model, options: StepOptions(parts: threads, fusesUpdate: fusesUpdate), data: loader.shape)
        plan = try planAdjustment?(program) ?? BestPlanner().plan(program.buffers, alignment: 64)
        arena = try Arena(byteCount: plan.arenaByteCount, placement: .local)
        let tensors = ModelTensors<T>(program: program, plan: plan, arena: arena)
        try loader.load(into: tensors.data)
        trainCount = loader.shape.trainCount
        for index in 0..<trainCount { tensors.data.order[index] = Int32(index) }
        let lifetimeGuard = guardsLifetimes ? LifetimeGuard(program: program, plan: plan, arena: arena) : nil
        trainer = Trainer(program: program, tensors: tensors, lifetimeGuard: lifetimeGuard)
        pool = WorkerPool(partCount: threads)
        trainer.attach(pool)
        trainer.initializeParameters(seed: model.seed)
    }
}
