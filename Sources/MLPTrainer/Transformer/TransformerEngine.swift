// The transformer trainer's face for the run and the tests outside this module: no generics, so the step loop stays
// specialised inside MLPTrainer.

import ArenaPlanner
import MemoryBudget
import ModelProfile
import NUMAArena
import TrainingData

/// A transformer's step program running on its planned arena, at the model's precision.
public final class TransformerEngine {
    public let program: StepProgram
    public let plan: ArenaPlan
    public let arena: Arena
    public let threads: Int
    enum Storage {
        case single(TransformerTrainer<Float>)
        case double(TransformerTrainer<Double>)
        case mixed(MixedTransformerTrainer)
    }
    let storage: Storage
    let pool: WorkerPool

    /// - Throws: `TrainerError.unsupportedPrecision` for precisions without kernels.
    /// - Parameter ranks: this process's link to the other ranks and the strategy (dp, zero1, zero2 or zero3); `plan` is then the
    ///   rank's (`StepProgram.rankBuffers`), its "ring chunk" the buffer the exchange receives into.
    public init(
        program: StepProgram, plan: ArenaPlan, arena: Arena, threads: Int, guardsLifetimes: Bool = false,
        ranks: (link: RankLink, strategy: ShardingStrategy)? = nil
    ) throws {
        guard let model = program.table.transformer else { preconditionFailure("TransformerEngine: not a transformer's program") }
        self.program = program
        self.plan = plan
        self.arena = arena
        self.threads = max(1, threads)
        pool = WorkerPool(partCount: self.threads)
        let lifetimeGuard = guardsLifetimes ? LifetimeGuard(program: program, plan: plan, arena: arena) : nil
        let sharding = ranks.map { (strategy: $0.strategy, shards: $0.link.size) }
        switch model.precision {
        case .single:
            let trainer = TransformerTrainer<Float>(
                program: program, tensors: TransformerTensors(program: program, plan: plan, arena: arena, sharding: sharding),
                lifetimeGuard: lifetimeGuard)
            trainer.ranks = RankSharding(ranks, plan: plan, arena: arena, trained: [.dp, .zero1, .zero2, .zero3])
            trainer.attach(pool)
            storage = .single(trainer)
        case .double:
            let trainer = TransformerTrainer<Double>(
                program: program, tensors: TransformerTensors(program: program, plan: plan, arena: arena, sharding: sharding),
                lifetimeGuard: lifetimeGuard)
            trainer.ranks = RankSharding(ranks, plan: plan, arena: arena, trained: [.dp, .zero1, .zero2, .zero3])
            trainer.attach(pool)
            storage = .double(trainer)
        case .bf16Mixed:
            guard ranks == nil else { throw TrainerError.unsupportedMixed("one process only (no --strategy over ranks yet)") }
            let trainer = MixedTransformerTrainer(program: program, plan: plan, arena: arena, lifetimeGuard: lifetimeGuard)
            trainer.attach(pool)
            storage = .mixed(trainer)
        default:
            throw TrainerError.unsupportedPrecision(model.precision.rawValue)
        }
    }

    /// Reads the loader's text into the arena.
    public func load(_ loader: TextLoader) throws {
        switch storage {
        case .single(let trainer): try loader.load(train: trainer.tensors.trainText, validation: trainer.tensors.validationText)
        case .double(let trainer): try loader.load(train: trainer.tensors.trainText, validation: trainer.tensors.validationText)
        case .mixed(let trainer): try loader.load(train: trainer.tensors.trainText, validation: trainer.tensors.validationText)
        }
    }

    /// The training windows' order (`windowCount` Int32s in the arena).
    public var order: UnsafeMutablePointer<Int32> {
        switch storage {
        case .single(let trainer): trainer.tensors.order
        case .double(let trainer): trainer.tensors.order
        case .mixed(let trainer): trainer.tensors.order
        }
    }

    /// Training windows (T + 1 tokens every T), and whole validation windows.
    public var windowCount: Int {
        switch storage {
        case .single(let trainer): trainer.tensors.windowCount
        case .double(let trainer): trainer.tensors.windowCount
        case .mixed(let trainer): trainer.tensors.windowCount
        }
    }

    public var validationWindowCount: Int {
        let t = program.table.transformer!.sequenceLength
        let count: Int
        switch storage {
        case .single(let trainer): count = trainer.tensors.validationCount
        case .double(let trainer): count = trainer.tensors.validationCount
        case .mixed(let trainer): count = trainer.tensors.validationCount
        }
        return StepTable.windowCount(count, sequence: t)
    }

    public func initializeParameters(seed: UInt64) {
        switch storage {
        case .single(let trainer): trainer.initializeParameters(seed: seed)
        case .double(let trainer): trainer.initializeParameters(seed: seed)
        case .mixed(let trainer): trainer.initializeParameters(seed: seed)
        }
    }

    /// One training step on windows `order[start ..< start + B]`; the batch's mean loss per token.
    public func trainStep(windowStart start: Int) -> Double {
        switch storage {
        case .single(let trainer): trainer.trainStep(.training(start: start))
        case .double(let trainer): trainer.trainStep(.training(start: start))
        case .mixed(let trainer): trainer.trainStep(.training(start: start))
        }
    }

    /// Seconds this rank has spent exchanging gradients and parameters with the others.
    public var exchangeSeconds: Double {
        switch storage {
        case .single(let trainer): Double(trainer.exchangeNanoseconds) / 1e9
        case .double(let trainer): Double(trainer.exchangeNanoseconds) / 1e9
        case .mixed: 0
        }
    }

    /// The mean loss per token of validation windows `start ..< start + B`, parameters unchanged.
    public func validationLoss(windowStart start: Int) -> Double {
        switch storage {
        case .single(let trainer): trainer.evaluate(.validation(start: start))
        case .double(let trainer): trainer.evaluate(.validation(start: start))
        case .mixed(let trainer): trainer.evaluate(.validation(start: start))
        }
    }

    /// Which kernels ran the products: `memplan-amx-bf16` or `memplan-bf16-fp32` for bf16-mixed (AMX tiles whenever
    /// CGEMM enables them: every product's workspace is reserved before the first step), nil otherwise.
    public var mixedProductKernel: String? {
        guard case .mixed = storage else { return nil }
        return BF16.productKernels(amx: BF16.amxEnabled)
    }

    /// What the lifetime guard found (empty without it).
    public var lifetimeViolations: [String] {
        switch storage {
        case .single(let trainer): trainer.lifetimeGuard?.violations ?? []
        case .double(let trainer): trainer.lifetimeGuard?.violations ?? []
        case .mixed(let trainer): trainer.lifetimeGuard?.violations ?? []
        }
    }
}
