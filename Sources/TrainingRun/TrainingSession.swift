// A whole training run, stage by stage: data shape → step program → plan (validated) → arena (measured) →
// data decoded into it → epochs → measurements (`RunMeter`).

import ArenaPlanner
import Foundation
import MLPTrainer
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// How to run.
public struct TrainingOptions {
    public var placement: Placement = .local
    /// Allocate even when the arena exceeds the free memory where it must go.
    public var force = false
    /// Overrides the profile's data path (a Fashion-MNIST directory or a CSV file).
    public var dataPath: String?
    /// Measures heap allocations in the step loop when set.
    public var allocationCounter: AllocationCounter?
    /// Called every `progressInterval` steps and at the end of each epoch, outside measured windows.
    public var progress: ((TrainingProgress) -> Void)?
    public var progressInterval = 20
    /// Checked after every step; when it returns true the run stops and its result is marked partial.
    public var shouldStop: (() -> Bool)?
    /// Transformers: stop after this many training steps in all (the epoch in progress still gets its validation
    /// loss); nil: every step of every epoch.
    public var maxSteps: Int?
    public var alignment = 64
    /// Threads that split each step (the caller plus workers). Default: the CPUs this process may
    /// run on (after `node:N` binding, that node's CPUs), or 1 for models too small to split.
    /// OpenBLAS itself runs single-threaded.
    public var threadCount: Int?
    /// k-fold cross-validation: hold out fold `fold` (0-based) of `folds` instead of the profile's
    /// validation fraction.
    public var crossValidationFold: (fold: Int, folds: Int)?
    /// Poison and check every arena byte outside the live tensors around every op (`StepEngine`); slow.
    public var guardsLifetimes = false
    /// Fault injection for tests: map this many pages fewer than the plan needs.
    public var arenaShortfallPages = 0
    /// Transformers: after training (and its measurements), write the parameters to this file as an llm.c GPT-2
    /// checkpoint, atomically (`TransformerEngine.saveGPT2Checkpoint`); nil: not saved.
    public var checkpointPath: String?
    /// Splits each global batch over ranks (`mpirun -np N memplan train --strategy S`): this process's link to the
    /// others and the strategy (dp, zero1, zero2 or zero3). The profile's batch is each rank's share; the arena is the rank's plan
    /// (`StepProgram.rankBuffers`). nil: one process.
    public var ranks: (link: RankLink, strategy: ShardingStrategy)?
    /// Transformers: called once everything before the first step is ready (text read, arena placed); a run over
    /// ranks agrees there that every rank got that far.
    public var afterPrepare: (() throws -> Void)?
    /// Fault injection for tests: rank `rank` of a run over ranks dies (SIGKILL) before global step `step` (1-based).
    public var rankDeath: (rank: Int, step: Int)?

    public init() {}
}

/// What a rank of a run over several processes did besides training.
public struct RankRun: Sendable {
    public var rank: Int
    public var ranks: Int
    public var strategy: ShardingStrategy
    /// The global batch: ranks × the profile's batch.
    public var globalBatch: Int
    /// Seconds this rank spent in the exchange (gradients summed, zero1's chunks gathered), and per step.
    public var exchangeSeconds: Double
    public var exchangeSecondsPerStep: Double
}

extension RankRun {
    /// This process's line of a run split over `ranks` that took `steps` global steps; nil for one process.
    init?(_ ranks: (link: RankLink, strategy: ShardingStrategy)?, globalBatch: Int, exchangeSeconds: Double, steps: Int) {
        guard let ranks else { return nil }
        self.init(
            rank: ranks.link.rank, ranks: ranks.link.size, strategy: ranks.strategy, globalBatch: globalBatch,
            exchangeSeconds: exchangeSeconds, exchangeSecondsPerStep: exchangeSeconds / Double(max(steps, 1)))
    }
}

/// Where a run is.
public struct TrainingProgress: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var steps: Int
    /// Mean loss per sample so far this epoch.
    public var trainLoss: Double
    public var samplesPerSecond: Double
    public var isEpochEnd: Bool
    public var epochMetrics: EpochMetrics?
}

/// Per-epoch results.
public struct EpochMetrics: Sendable, Codable, Equatable {
    public var epoch: Int
    /// Mean loss per sample over the epoch's training steps.
    public var trainLoss: Double
    /// Accuracy of the epoch's training predictions (classification only).
    public var trainAccuracy: Double?
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    public var seconds: Double
}

/// What a run predicted, measured and learned.
public struct TrainingResult: Sendable {
    /// What was trained: an MLP or a transformer.
    public var network: Network
    public var program: StepProgram
    public var plan: ArenaPlan
    public var budget: Budget
    public var dataSummary: String
    public var trainCount: Int
    public var validationCount: Int
    public var testCount: Int

    public var placement: Placement
    public var isNUMABacked: Bool
    /// The node the plan put the arena on: N for node:N, the thread's node for local, nil for interleave.
    public var plannedNode: Int?
    /// What the kernel and the allocation counter reported (`RunMeasurement`).
    public var measurement: RunMeasurement
    /// Violations the lifetime guard found (empty without it).
    public var lifetimeViolations: [String]

    public var epochs: [EpochMetrics]
    public var testLoss: Double?
    public var testAccuracy: Double?
    /// The test accuracy of always predicting the most frequent class of the training targets (nil for regression).
    public var majorityBaselineAccuracy: Double?
    /// Training samples (a transformer's: sequences) per second over the steps only (no evaluation).
    public var samplesPerSecond: Double
    /// A transformer's training tokens per second (B·T per step); nil for MLPs.
    public var tokensPerSecond: Double? = nil
    public var trainingSeconds: Double
    public var blasCore: String
    /// `memplan-avx512` when memplan's own kernels ran the large products, `blas` otherwise (`BLASInfo.gemmKernels`).
    public var gemmKernels: String
    /// Threads that ran each step (memplan's own split; OpenBLAS runs single-threaded inside each).
    public var blasThreads: Int
    /// True when the run was stopped early (SIGINT); metrics cover what ran.
    public var isPartial: Bool
    /// This process's rank when the run was split over ranks; nil for one process.
    public var rank: RankRun? = nil
}

/// Runs training end to end inside one planned arena: `prepare` does every check that can fail on the input or
/// the machine (data, batch, plan, arena, address space, data decoded), `PreparedRun.run()` trains.
public enum TrainingSession {
    /// The plan a run of `model` would use (data buffers included), without running it: the loader (which knows
    /// the data's shape), the step program for `threads` parts, and its validated plan.
    public static func plan(
        _ model: Model, dataPath: String? = nil, alignment: Int = 64, threads: Int = 1
    ) throws -> (DatasetLoader, StepProgram, ArenaPlan) {
        let loader = try DatasetLoader(model: model, dataPath: dataPath)
        let (program, plan) = try self.plan(model, loader: loader, alignment: alignment, threads: threads)
        return (loader, program, plan)
    }

    /// The program for `threads` parts and its validated plan; over `ranks`, one rank's (the update unfused, since the
    /// gradients are stored for the exchange; `StepProgram.rankBuffers`: sharded tensors, the exchange's buffers).
    static func plan(
        _ model: Model, loader: DatasetLoader, alignment: Int, threads: Int,
        ranks: (link: RankLink, strategy: ShardingStrategy)? = nil
    ) throws -> (StepProgram, ArenaPlan) {
        let program = try StepProgram(
            model: model, options: StepOptions(parts: threads, fusesUpdate: ranks == nil), data: loader.shape)
        let buffers = try ranks.map { try program.rankBuffers(strategy: $0.strategy, devices: $0.link.size) } ?? program.buffers
        return (program, try validatedPlan(buffers, alignment: alignment))
    }

    /// `buffers` placed by the best planner and checked for overlaps before any run uses them.
    static func validatedPlan(_ buffers: [BufferRequest], alignment: Int) throws -> ArenaPlan {
        let plan = try BestPlanner().plan(buffers, alignment: alignment)
        do {
            try plan.validate()
        } catch {
            throw RunError.invalidPlan(error.description)
        }
        return plan
    }

    /// Threads that split each step by default: the CPUs of the placement's node (or those this process may run
    /// on), or 1 for models too small to pay for handing parts to another thread.
    public static func defaultThreadCount(_ model: Model, placement: Placement) -> Int {
        guard isWorthSplitting(model) else { return 1 }
        if case .node(let node) = placement, let cpus = NUMATopology.current().node(node)?.cpus.count, cpus > 0 { return cpus }
        return ProcessMemory.allowedCPUCount()
    }

    /// Trains `model` on its data source and measures the run (`prepare`, then `run`).
    ///
    /// - Throws: what `prepare` and `PreparedRun.run` throw.
    public static func run(_ model: Model, options: TrainingOptions = TrainingOptions()) throws -> TrainingResult {
        try prepare(model, options: options).run()
    }

    /// Everything before the first step: the data's shape, the batch (clamped to the training set, with a warning),
    /// the plan, the arena, room for BLAS under an address-space limit, the data decoded and the weights drawn.
    ///
    /// - Throws: `DataError` (data), `RunError` (split, address space, a short arena), `TrainerError` (precision),
    ///   `NUMAError` (placement, memory), `BudgetError`/`PlanError` (sizes).
    public static func prepare(_ model: Model, options: TrainingOptions = TrainingOptions()) throws -> PreparedRun {
        guard model.precision.isTrainable else { throw TrainerError.unsupportedPrecision(model.precision.rawValue) }
        var model = model
        var warnings: [String] = []
        let loader = try DatasetLoader(model: model, dataPath: options.dataPath)
        let shape = loader.shape
        let validationCount: Int
        if let (fold, folds) = options.crossValidationFold {
            validationCount = WorkerPool.range(of: fold, parts: folds, count: shape.trainCount).count
        } else {
            validationCount = Int((Double(shape.trainCount) * model.split.validationFraction).rounded(.down))
        }
        let trainCount = shape.trainCount - validationCount
        guard trainCount >= 1 else {
            throw RunError.notEnoughSamples(
                reason:
                    "\(shape.trainCount) sample(s) with validation fraction \(model.split.validationFraction) leave none to train on"
            )
        }
        let rankCount = options.ranks?.link.size ?? 1
        let (globalBatch, globalOverflow) = model.batchSize.multipliedReportingOverflow(by: rankCount)
        if rankCount > 1, globalOverflow || globalBatch > trainCount {
            let share = max(1, trainCount / rankCount)
            warnings.append(
                "the global batch \(rankCount) × \(model.batchSize.groupedDigits) is larger than the \(trainCount.groupedDigits) "
                    + "training samples; each rank trains with batch \(share.groupedDigits), and the record says so")
            model = try model.with(batchSize: share)
        } else if model.batchSize > trainCount {
            warnings.append(
                "batch \(model.batchSize.groupedDigits) is larger than the \(trainCount.groupedDigits) training samples; "
                    + "training with batch \(trainCount.groupedDigits) (one step per epoch), and the record says so")
            model = try model.with(batchSize: trainCount)
        }
        let threads = max(1, options.threadCount ?? defaultThreadCount(model, placement: options.placement))
        let (program, plan) = try plan(
            model, loader: loader, alignment: options.alignment, threads: threads, ranks: options.ranks)
        let budget = try MemoryBudget.estimate(program.table)

        let placed = try RunArena(plan, options: options)
        let engine = try StepEngine(
            program: program, plan: plan, arena: placed.arena, threads: threads, guardsLifetimes: options.guardsLifetimes,
            ranks: options.ranks)
        try engine.load(loader)
        engine.initializeParameters(seed: model.seed)
        var generator = SplitMix64(seed: model.seed &+ 0x5EED)
        let order = engine.order
        for index in 0..<shape.trainCount { order[index] = Int32(index) }
        shuffle(order, count: shape.trainCount, using: &generator)  // the tail becomes the fixed validation set
        if let (fold, folds) = options.crossValidationFold {
            // Move fold `fold` of the shuffled order to the tail: it is the validation set.
            let held = WorkerPool.range(of: fold, parts: folds, count: shape.trainCount)
            rotateToEnd(order, range: held, count: shape.trainCount)
        }
        placed.meter.afterLoad()
        try AddressSpace.check(threads: threads)
        return PreparedRun(
            model: model, options: options, warnings: warnings, loader: loader, program: program, plan: plan, budget: budget,
            placed: placed, engine: engine, threads: threads, trainCount: trainCount, validationCount: validationCount,
            generator: generator,
            majorityBaselineAccuracy: engine.majorityBaselineAccuracy(trainCount: trainCount))
    }

    /// Mean loss per sample and accuracy over `count` samples, gathered batch by batch.
    static func evaluate(count: Int, batch: Int, step: (_ first: Int, _ rows: Int) -> StepResult) -> (
        loss: Double, accuracy: Double?
    ) {
        var loss = 0.0
        var correct = 0
        var judged = 0
        var first = 0
        while first < count {
            let rows = min(batch, count - first)
            let result = step(first, rows)
            loss += result.loss
            correct += result.correct
            judged += result.judged
            first += rows
        }
        return (loss / Double(max(count, 1)), judged > 0 ? Double(correct) / Double(judged) : nil)
    }

    /// Whether a step has enough arithmetic to pay for handing parts to other threads.
    public static func isWorthSplitting(_ model: Model) -> Bool {
        let weights = model.layers.reduce(0) { $0 + $1.inputWidth * $1.outputWidth }
        return weights.multipliedReportingOverflow(by: model.batchSize).partialValue >= 200_000
    }

    /// Moves `order[range]` to the end of `order[0 ..< count]`, keeping both parts' order.
    static func rotateToEnd(_ order: UnsafeMutablePointer<Int32>, range: Range<Int>, count: Int) {
        let held = Array(UnsafeBufferPointer(start: order + range.lowerBound, count: range.count))
        let after = Array(UnsafeBufferPointer(start: order + range.upperBound, count: count - range.upperBound))
        var position = range.lowerBound
        for value in after {
            order[position] = value
            position += 1
        }
        for value in held {
            order[position] = value
            position += 1
        }
    }

    /// Fisher–Yates over the first `count` entries, in place.
    static func shuffle(_ order: UnsafeMutablePointer<Int32>, count: Int, using generator: inout SplitMix64) {
        guard count > 1 else { return }
        for index in stride(from: count - 1, to: 0, by: -1) {
            let other = Int(generator.next() % UInt64(index + 1))
            let swap = order[index]
            order[index] = order[other]
            order[other] = swap
        }
    }
}
