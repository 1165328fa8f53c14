// The trainer's face for the run, the benchmarks and the tests outside this module: no generics, so the step
// loop stays specialised inside MLPTrainer whichever module drives it.

import ArenaPlanner
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// A batch's summed loss and its correct predictions.
public struct StepResult: Sendable {
    public var loss: Double
    /// Correct predictions: samples (softmax), labels (sigmoid, hinge), or 0 for regression.
    public var correct: Int
    /// What `correct` counts out of.
    public var judged: Int
}

/// A model's step program running on its planned arena, at the model's precision (Float or Double inside).
///
///     let engine = try StepEngine(program: program, plan: plan, arena: arena, threads: 2)
///     try engine.load(loader)
///     engine.initializeParameters(seed: 42)
///     let result = engine.trainStep(orderStart: 0, rows: 128)
public final class StepEngine: TrainingEngine {
    let storage: PrecisionTrainer<Trainer<Float>, Trainer<Double>, MixedTrainer>
    /// The shuffle order (N Int32s in the arena); its tail is the validation set.
    public let order: UnsafeMutablePointer<Int32>

    /// Resolves the program's tensors in `arena` at the plan's offsets and attaches a pool of `threads` parts.
    ///
    /// - Parameter guardsLifetimes: poison and check every byte outside the live tensors around every op
    ///   (`lifetimeViolations`); slow, for tests and checks.
    /// - Throws: `TrainerError.unsupportedPrecision` for precisions without kernels.
    /// - Parameter ranks: this process's link to the other ranks and the strategy splitting the step over them; `plan`
    ///   is then the rank's (`StepProgram.rankBuffers`), its "ring chunk" the buffer the exchange receives into.
    public init(
        program: StepProgram, plan: ArenaPlan, arena: Arena, threads: Int, guardsLifetimes: Bool = false,
        ranks: (link: RankLink, strategy: ShardingStrategy)? = nil
    ) throws {
        let setup = EngineSetup(
            program: program, plan: plan, arena: arena, threads: threads, guardsLifetimes: guardsLifetimes, ranks: ranks)
        order = program.orderView(plan: plan, arena: arena)
        switch program.model.precision {
        case .single: storage = .single(StepEngine.trainer(setup))
        case .double: storage = .double(StepEngine.trainer(setup))
        case .bf16Mixed:
            if let reason = mixedTrainingRefusal(program.model) { throw TrainerError.unsupportedMixed(reason) }
            try setup.refuseRanksForMixed()
            let trainer = MixedTrainer(
                program: program, tensors: MixedTensors(program: program, plan: plan, arena: arena),
                lifetimeGuard: setup.lifetimeGuard)
            trainer.attach(setup.pool)
            storage = .mixed(trainer)
        default:  // estimate-only precisions (`Precision.isTrainable`)
            throw TrainerError.unsupportedPrecision(program.model.precision.rawValue)
        }
        super.init(setup: setup)
    }

    /// The fp32 or fp64 trainer on this rank's tensors.
    static func trainer<T: TrainingScalar>(_ setup: EngineSetup) -> Trainer<T> {
        let program = setup.program
        let tensors = ModelTensors<T>(program: program, plan: setup.plan, arena: setup.arena, sharding: setup.sharding)
        return setup.ready(Trainer(program: program, tensors: tensors, lifetimeGuard: setup.lifetimeGuard))
    }

    /// Decodes the loader's dataset into the arena's data buffers.
    public func load(_ loader: DatasetLoader) throws {
        switch storage {
        case .single(let trainer): try loader.load(into: trainer.tensors.data)
        case .double(let trainer): try loader.load(into: trainer.tensors.data)
        case .mixed(let trainer): try loader.load(into: trainer.tensors.data)
        }
    }

    /// Draws the first weights and zeroes biases and optimizer state.
    public func initializeParameters(seed: UInt64) {
        switch storage {
        case .single(let trainer): trainer.initializeParameters(seed: seed)
        case .double(let trainer): trainer.initializeParameters(seed: seed)
        case .mixed(let trainer): trainer.initializeParameters(seed: seed)
        }
    }

    /// One training step on training samples `order[orderStart ..< orderStart + rows]`: every op of the program.
    @inline(__always)
    public func trainStep(orderStart: Int, rows: Int) -> StepResult {
        let result: Kernels.LossResult
        switch storage {
        case .single(let trainer): result = trainer.trainStep(.training(orderStart: orderStart), rows: rows)
        case .double(let trainer): result = trainer.trainStep(.training(orderStart: orderStart), rows: rows)
        case .mixed(let trainer): result = trainer.trainStep(.training(orderStart: orderStart), rows: rows)
        }
        return StepResult(loss: result.loss, correct: result.correct, judged: result.judged)
    }

    /// One rank's step (`ranks` given at init): its `rows` of a global batch of `globalRows` from `order[orderStart...]`
    /// (0 rows: it only joins the exchange), gradients summed over ranks into the global batch's mean, then the update.
    /// Every rank calls it once per global step.
    @inline(__always)
    public func rankTrainStep(orderStart: Int, rows: Int, globalRows: Int) -> StepResult {
        let result: Kernels.LossResult
        switch storage {
        case .single(let trainer):
            result = trainer.rankStep(.training(orderStart: orderStart), rows: rows, globalRows: globalRows)
        case .double(let trainer):
            result = trainer.rankStep(.training(orderStart: orderStart), rows: rows, globalRows: globalRows)
        case .mixed: preconditionFailure("StepEngine: bf16-mixed runs in one process (init refuses ranks)")
        }
        return StepResult(loss: result.loss, correct: result.correct, judged: result.judged)
    }

    /// Seconds this rank has spent exchanging gradients and parameters with the others.
    public var exchangeSeconds: Double {
        switch storage {
        case .single(let trainer): Double(trainer.exchangeNanoseconds) / 1e9
        case .double(let trainer): Double(trainer.exchangeNanoseconds) / 1e9
        case .mixed: 0
        }
    }

    /// Loss and predictions on samples `order[orderStart ..< orderStart + rows]` (validation), parameters unchanged.
    public func evaluate(orderStart: Int, rows: Int) -> StepResult {
        evaluate(.training(orderStart: orderStart), rows: rows)
    }

    /// Loss and predictions on test samples `start ..< start + rows`, parameters unchanged.
    public func evaluateTest(start: Int, rows: Int) -> StepResult {
        evaluate(.test(start: start), rows: rows)
    }

    func evaluate(_ batch: StepBatch, rows: Int) -> StepResult {
        let result: Kernels.LossResult
        switch storage {
        case .single(let trainer): result = trainer.evaluate(batch, rows: rows)
        case .double(let trainer): result = trainer.evaluate(batch, rows: rows)
        case .mixed(let trainer): result = trainer.evaluate(batch, rows: rows)
        }
        return StepResult(loss: result.loss, correct: result.correct, judged: result.judged)
    }

    /// The test accuracy of always predicting the majority class of the training rows `order[0 ..< trainCount]`
    /// (`MajorityBaseline`); nil for regression.
    public func majorityBaselineAccuracy(trainCount: Int) -> Double? {
        switch storage {
        case .single(let trainer):
            MajorityBaseline.accuracy(trainer.tensors.data, order: order, trainCount: trainCount, loss: program.model.loss)
        case .double(let trainer):
            MajorityBaseline.accuracy(trainer.tensors.data, order: order, trainCount: trainCount, loss: program.model.loss)
        case .mixed(let trainer):
            MajorityBaseline.accuracy(trainer.tensors.data, order: order, trainCount: trainCount, loss: program.model.loss)
        }
    }

    /// Which kernels ran a bf16-mixed run's products (`throughput.gemm_kernels`): "memplan-amx-bf16" when AMX tiles
    /// ran every one, else "memplan-bf16-fp32" (the same bf16 values multiplied in fp32); nil for other precisions.
    public var mixedProductKernel: String? {
        guard case .mixed(let trainer) = storage else { return nil }
        let counts = trainer.productCounts
        return BF16.productKernels(amx: counts.all > 0 && counts.portable == 0)
    }
}
